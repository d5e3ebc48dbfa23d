"""The one registry of wire identities: which msgpack ext code and payload version each
encodable class has, filled when the class is created.

``CRDT`` subclasses register from their class statement (``type_code=``); other encodable
values (clock values) call ``register`` beside their definition. A
code that is taken, reserved or out of range fails there, naming the owner, instead of at the
first ``encode`` or, worse, by decoding someone else's bytes as the wrong type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "OWN_CODES",
    "USER_CODES",
    "WireType",
    "by_class",
    "by_code",
    "exact_version",
    "register",
    "registered",
]

#: Ext codes reserved for crdtkit's own types (its packages ``clocks``, ``crdts``, ``merge``).
OWN_CODES = range(0, 64)
#: Ext codes free for users' own types.
USER_CODES = range(64, 128)
_OWN_PACKAGES = frozenset({"clocks", "crdts", "merge"})


@dataclass(frozen=True)
class WireType:
    """A registered class: its code, payload version and conversion functions."""

    cls: type
    code: int
    version: int
    to_wire: Callable[[Any], Any]
    from_wire: Callable[[int, Any], Any]


_BY_CODE: dict[int, WireType] = {}
_BY_CLASS: dict[type, WireType] = {}


def _same(a: type, b: type) -> bool:
    # a class defined again under the same name (a reloaded module, a re-run notebook cell)
    # takes its code back; anything else claiming it is a clash
    return (a.__module__, a.__qualname__) == (b.__module__, b.__qualname__)


def register(
    cls: type,
    *,
    code: int,
    version: int,
    to_wire: Callable[[Any], Any],
    from_wire: Callable[[int, Any], Any],
) -> None:
    """Give ``cls`` a wire identity (``CRDT`` subclasses do this from ``type_code=``).

    Codes 0..63 are reserved for crdtkit's own types; 64..127 are free for yours. Each code
    belongs to one class.

    ``to_wire(obj)`` returns canonical msgpack-ready data; ``from_wire(version, state)``
    rebuilds an object, raising ``ValueError`` for anything malformed.

    Raises:
        TypeError: ``code`` or ``version`` is not an int.
        ValueError: ``code`` is out of range, reserved, or taken by another class.

    Cost: O(1).
    """
    if type(code) is not int or type(version) is not int:
        raise TypeError(f"code and version must be ints, not {code!r} and {version!r}")
    if code not in OWN_CODES and code not in USER_CODES:
        raise ValueError(f"ext code must be in 0..127, not {code}")
    if code in OWN_CODES and cls.__module__.partition(".")[0] not in _OWN_PACKAGES:
        raise ValueError(
            f"ext code {code} is reserved for crdtkit's own types (0..63); give "
            f"{cls.__qualname__} a code in 64..127"
        )
    taken = _BY_CODE.get(code)
    if taken is not None and not _same(taken.cls, cls):
        raise ValueError(
            f"ext code {code} is taken by {taken.cls.__module__}.{taken.cls.__qualname__}; "
            f"give {cls.__qualname__} a free code in 64..127 (taken there: "
            f"{sorted(c for c in _BY_CODE if c in USER_CODES) or 'none'})"
        )
    entry = WireType(cls, code, version, to_wire, from_wire)
    if taken is not None:
        _BY_CLASS.pop(taken.cls, None)
    _BY_CODE[code] = entry
    _BY_CLASS[cls] = entry


def exact_version(cls: type, version: int, read: Callable[[Any], Any]) -> Callable[[int, Any], Any]:
    """A ``from_wire`` for :func:`register` that reads payloads of ``version`` only, with
    ``read(state)``, and refuses any other version with ``ValueError``. O(1) plus ``read``."""

    def from_wire(found: int, state: Any) -> Any:
        if found != version:
            raise ValueError(
                f"{cls.__name__} format version {found} is not supported "
                f"(this crdtkit reads version {version})"
            )
        return read(state)

    return from_wire


def by_class(cls: type) -> WireType | None:
    """The wire identity registered for exactly ``cls``, or None. O(1)."""
    return _BY_CLASS.get(cls)


def by_code(code: int) -> WireType | None:
    """The wire identity registered under ``code``, or None. O(1)."""
    return _BY_CODE.get(code)


def registered() -> dict[int, type]:
    """Every registered class by code (a copy). O(k)."""
    return {code: entry.cls for code, entry in sorted(_BY_CODE.items())}
