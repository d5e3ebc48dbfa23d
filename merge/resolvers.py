"""Ready-made resolution functions for ``MVRegister.resolve`` and ``Siblings.resolve``.

Each takes the tuple of concurrent values (the siblings) and returns one value. They are
deterministic — the same siblings in the same order give the same result on every replica —
and their results are register values, so they can be stored back (``union`` returns a
sorted tuple, not a set, for that reason).

Examples:
    >>> from crdts import MVRegister
    >>> from merge import resolvers
    >>> a, b = MVRegister(replica="a"), MVRegister(replica="b")
    >>> _ = a.assign(("milk",)); _ = b.assign(("eggs", "milk"))
    >>> a.merge(b); a.values
    (('milk',), ('eggs', 'milk'))
    >>> _ = a.resolve(resolvers.union); a.values
    (('eggs', 'milk'),)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

from crdts._wire import value_key

__all__ = ["lww", "maximum", "minimum", "union"]

_COLLECTIONS = (set, frozenset, list, tuple)


def lww(key: Callable[[Any], Any]) -> Callable[[Sequence[Any]], Any]:
    """Last writer wins by ``key``: a resolver that keeps the value with the largest
    ``key(value)`` (a timestamp field, a version number, ...).

    Ties go to the value listed last (siblings are listed in the same order on every
    replica, so the choice is deterministic). The resolver raises ``ValueError`` when given
    no values.

    Examples:
        >>> from merge import Siblings
        >>> from merge.resolvers import lww
        >>> by_time = lww(lambda value: value["at"])
        >>> by_time(({"at": 3, "name": "x"}, {"at": 7, "name": "y"}))
        {'at': 7, 'name': 'y'}
        >>> store = Siblings()
        >>> store.put({"at": 2}, context=None, replica="s1")
        >>> store.put({"at": 1}, context=None, replica="s2")
        >>> store.resolve(by_time); store.values
        ({'at': 2},)

    Cost: O(n) calls of ``key`` for n values.
    """

    def resolve(values: Sequence[Any]) -> Any:
        if not values:
            raise ValueError("lww needs at least one value to choose from")
        best = max(range(len(values)), key=lambda index: (key(values[index]), index))
        return values[best]

    resolve.__qualname__ = resolve.__name__ = f"lww({getattr(key, '__qualname__', key)!s})"
    return resolve


def union(values: Sequence[Any]) -> tuple[Any, ...]:
    """The union of collections (sets, frozensets, lists or tuples), as a sorted tuple.

    Duplicates are removed and the elements sorted — by their natural order when they are
    comparable, else by their wire encoding — so every replica computes the same tuple.
    The result is a tuple rather than a frozenset because registers store tuples, not sets.

    Surprises: union never forgets, so an element one sibling removed comes back if another
    sibling still holds it — the Dynamo shopping-cart anomaly. Use an ``ORSet`` (or a
    ``Cart``) when removals must stick.

    Raises:
        TypeError: a value is not a set, frozenset, list or tuple (wrap single values in a
            tuple).

    Examples:
        >>> from merge.resolvers import union
        >>> union((("pear", "apple"), ["apple", "fig"], frozenset({"kiwi"})))
        ('apple', 'fig', 'kiwi', 'pear')
        >>> union(((2, "a"), (1,)))       # not comparable: sorted by wire encoding
        (1, 2, 'a')

    Cost: O(m log m) for m elements in total.
    """
    unique: dict[bytes, Any] = {}
    for collection in values:
        if not isinstance(collection, _COLLECTIONS):
            raise TypeError(
                f"union resolves collections (set, frozenset, list or tuple), not "
                f"{type(collection).__name__} {collection!r}; wrap single values in a tuple"
            )
        for element in collection:
            unique.setdefault(value_key(element), element)
    pairs = sorted(unique.items(), key=lambda pair: pair[0])
    # natural order when the elements are comparable (equal elements of different types,
    # such as 1 and 1.0, keep their wire-encoding order); else the wire-encoding order
    with contextlib.suppress(TypeError):
        pairs = sorted(pairs, key=lambda pair: pair[1])
    return tuple(element for _, element in pairs)


def maximum(values: Sequence[Any]) -> Any:
    """The largest value (Python's ``max``; the first one listed wins a tie).

    Examples:
        >>> from merge.resolvers import maximum
        >>> maximum((3, 11, 7))
        11

    Raises:
        ValueError: there are no values.
        TypeError: the values cannot be compared with each other.
    """
    return max(values)


def minimum(values: Sequence[Any]) -> Any:
    """The smallest value (Python's ``min``; the first one listed wins a tie).

    Examples:
        >>> from merge.resolvers import minimum
        >>> minimum(("b", "a", "c"))
        'a'

    Raises:
        ValueError: there are no values.
        TypeError: the values cannot be compared with each other.
    """
    return min(values)
