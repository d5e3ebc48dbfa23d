"""Ready-made resolution functions for ``MVRegister.resolve`` and ``Siblings.resolve``.

Every resolver has one shape: called with the tuple of concurrent values (the siblings), it
returns one value, so each is passed as it is: ``store.resolve(resolvers.maximum)``. Those that
choose by order take a key with ``.by(key)``, which returns another resolver:
``store.resolve(resolvers.maximum.by(lambda value: value["at"]))`` keeps the value written
last by a timestamp field (last writer wins).

They are deterministic — siblings are listed in the same order on every replica, and one tie
rule holds for all: **among equals, the value listed first wins** — and their results are
register values, so they can be stored back (``union`` returns a sorted tuple, not a set,
for that reason).

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
from typing import Any, Final

from crdts.values import value_key

__all__ = ["Extremum", "maximum", "minimum", "union"]

_COLLECTIONS = (set, frozenset, list, tuple)


class Extremum:
    """A resolver that keeps the largest (``maximum``) or smallest (``minimum``) value, or the
    one with the largest or smallest ``key(value)`` when built with ``by``.

    Ties go to the value listed first (as with Python's ``max`` and ``min``).

    Raises (when called):
        ValueError: there are no values.
        TypeError: the values (or their keys) cannot be compared with each other.

    Examples:
        >>> from merge import Siblings
        >>> from merge.resolvers import maximum
        >>> maximum((3, 11, 7))
        11
        >>> latest = maximum.by(lambda value: value["at"])
        >>> latest
        maximum.by(<lambda>)
        >>> store = Siblings()
        >>> store.put({"at": 2}, context=None, replica="s1")
        >>> store.put({"at": 1}, context=None, replica="s2")
        >>> store.resolve(latest); store.values
        ({'at': 2},)
        >>> maximum.by(len)(("ab", "cd", "e"))   # a tie: the first listed wins
        'ab'

    Cost: O(n) comparisons and O(n) calls of ``key`` for n values.
    """

    __slots__ = ("_key", "_largest")

    def __init__(self, *, largest: bool, key: Callable[[Any], Any] | None = None) -> None:
        if key is not None and not callable(key):
            raise TypeError(f"key must be a function of one value, not {key!r}")
        self._largest = largest
        self._key = key

    def by(self, key: Callable[[Any], Any]) -> Extremum:
        """This resolver choosing by ``key(value)`` instead of by the values themselves."""
        return Extremum(largest=self._largest, key=key)

    def __call__(self, values: Sequence[Any]) -> Any:
        if not values:
            raise ValueError(f"{self!r} needs at least one value to choose from")
        key = self._key
        best = values[0]
        best_key = best if key is None else key(best)
        for value in values[1:]:
            candidate = value if key is None else key(value)
            # strictly better only: an equal value listed later never displaces the first
            if candidate > best_key if self._largest else candidate < best_key:
                best, best_key = value, candidate
        return best

    def __repr__(self) -> str:
        name = "maximum" if self._largest else "minimum"
        if self._key is None:
            return name
        return f"{name}.by({getattr(self._key, '__qualname__', self._key)!s})"


#: The largest value; ``maximum.by(key)`` for the value with the largest key.
maximum: Final = Extremum(largest=True)
#: The smallest value; ``minimum.by(key)`` for the value with the smallest key.
minimum: Final = Extremum(largest=False)


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
