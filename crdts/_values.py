"""Validation of the values users store: elements, keys and register values.

Everything a CRDT stores must cross the wire unchanged, so it is checked when it enters
(at mutation time), not when it is first encoded on another machine.
"""

from __future__ import annotations

import math
import re
from copy import deepcopy
from typing import Any

__all__ = ["check_element", "check_replica", "check_text", "check_value"]

_INT_MIN = -(2**63)
_INT_MAX = 2**64 - 1


#: a UTF-16 surrogate code point: Python strs may hold one alone, UTF-8 cannot encode it
_SURROGATE = re.compile("[\ud800-\udfff]")


def check_text(text: str, what: str) -> str:
    """Return ``text`` if UTF-8 can encode it (it holds no lone surrogate), else raise
    ValueError. O(len(text)) for non-ASCII text, O(1) otherwise."""
    found = None if text.isascii() else _SURROGATE.search(text)
    if found is not None:
        raise ValueError(
            f"{what} holds a lone surrogate {found.group()!r} at index {found.start()}, which "
            f"UTF-8 cannot encode, so it could never cross the wire; store such text as bytes "
            f"(str.encode('utf-8', 'surrogatepass')) or clean it first"
        )
    return text


def _check_scalar(value: Any, what: str) -> bool:
    """Check a scalar; return False if ``value`` is not a scalar at all."""
    if isinstance(value, str):
        check_text(value, what)
        return True
    if value is None or isinstance(value, (bool, bytes)):
        return True
    if isinstance(value, int):
        if not _INT_MIN <= value <= _INT_MAX:
            raise ValueError(
                f"{what} {value!r} does not fit the wire format (ints must lie in "
                f"[-2**63, 2**64 - 1]); store it as a str or bytes instead"
            )
        return True
    if isinstance(value, float):
        if math.isnan(value):
            raise ValueError(f"{what} may not be NaN: NaN is not equal to itself")
        return True
    return False


#: how deeply tuples, lists and dicts may nest inside one value
MAX_DEPTH = 32


def _too_deep(what: str) -> ValueError:
    return ValueError(f"{what} nests deeper than {MAX_DEPTH} levels")


def check_element(element: Any, what: str = "element", _depth: int = 0) -> Any:
    """Return ``element`` if it may be a set element or map key, else raise.

    Allowed: None, bool, int (64-bit range), float (not NaN), str, bytes and tuples of those,
    nested at most ``MAX_DEPTH`` deep.

    Raises:
        TypeError: for any other type.
        ValueError: for an int out of range, a NaN or a str holding a lone surrogate.

    Cost: O(n) for an element of n nodes (each node is checked once).
    """
    if _check_scalar(element, what):
        return element
    if type(element) is tuple:
        if _depth >= MAX_DEPTH:
            raise _too_deep(what)
        for item in element:
            check_element(item, what, _depth + 1)
        return element
    raise TypeError(
        f"{what} {element!r} of type {type(element).__name__} is not supported; use None, "
        f"bool, int, float, str, bytes or a tuple of those"
    )


def check_value(value: Any, what: str = "register value", _depth: int = 0) -> Any:
    """Return ``value`` if a register may hold it, else raise.

    Registers also accept lists and dicts with str keys, nested to any depth.
    """
    if _check_scalar(value, what):
        return value
    if type(value) in (tuple, list, dict) and _depth >= MAX_DEPTH:
        raise _too_deep(what)
    if type(value) in (tuple, list):
        for item in value:
            check_value(item, what, _depth + 1)
        return value
    if type(value) is dict:
        for key, item in value.items():
            if type(key) is not str:
                raise TypeError(f"{what}: dict keys must be str, not {type(key).__name__}")
            check_text(key, f"{what}: dict key")
            check_value(item, what, _depth + 1)
        return value
    raise TypeError(
        f"{what} {value!r} of type {type(value).__name__} is not supported; use None, bool, "
        f"int, float, str, bytes, or tuples, lists and str-keyed dicts of those"
    )


def check_replica(replica: Any) -> str | None:
    """Return a valid replica id (a non-empty str) or None."""
    if replica is None:
        return None
    if type(replica) is not str:
        raise TypeError(f"replica must be a str, not {type(replica).__name__}")
    if not replica:
        raise ValueError("replica must be a non-empty str")
    return check_text(replica, "replica")


def own_value(value: Any) -> Any:
    """A private copy of a register value: lists and dicts (at any depth) are copied, so a
    value stored from a caller, or handed to one, shares nothing mutable with the state.
    Scalars and tuples of scalars come back as they are (deepcopy keeps immutables). O(size).
    """
    return deepcopy(value) if type(value) in (list, dict, tuple) else value
