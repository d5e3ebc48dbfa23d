"""The value model: what elements, keys and register values may be, and how they order.

Public home of the checks and orders the types use, for code built on top of ``crdts``
(``merge`` uses them for siblings, resolvers and its strategies):

* :func:`check_element` — an element or key: None, bool, int, float, str, bytes and tuples
  of those; returns it, or raises TypeError / ValueError saying what is allowed.
* :func:`check_value` — a register value: also lists and str-keyed dicts.
* :func:`check_replica` — a replica name (a non-empty str) or None.
* :func:`value_key` — bytes that totally order register values (the tie-break between
  writes with equal stamps); :func:`value_to_wire` / :func:`value_from_wire` — their
  canonical, lossless wire form.
* :func:`own_value` — a private copy of a register value (lists and dicts copied).
* :func:`name_of` — the replica name inside a writer id (``"a#3"`` -> ``"a"``).

Examples:
    >>> from crdts.values import check_element, name_of, value_key
    >>> check_element(("sku", 3))
    ('sku', 3)
    >>> check_element({"a": 1})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    TypeError: element {'a': 1} of type dict is not supported; use None, bool, ...
    >>> value_key(1) < value_key(2), name_of("a#3")
    (True, 'a')

Cost: each check and key is O(n) in the size of the value.
"""

from crdts._identity import name_of
from crdts._values import check_element, check_replica, check_value, own_value
from crdts._wire import value_from_wire, value_key, value_to_wire

__all__ = [
    "check_element",
    "check_replica",
    "check_value",
    "name_of",
    "own_value",
    "value_from_wire",
    "value_key",
    "value_to_wire",
]
