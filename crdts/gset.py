"""Grow-only set (Shapiro et al. 2011, Specification 11).

A ``GSet`` stores the set of elements ever added. Two sets merge by union. The value is that
set, as a frozenset.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, Self

from crdts._base import CRDT, locked
from crdts._values import check_element
from crdts._wire import elements_from_wire, elements_to_wire

__all__ = ["GSet"]


class GSet(CRDT, type_code=5):
    """A set that only grows: elements can be added, never removed.

    ``add(e)`` inserts an element; ``merge`` is set union, so every element added anywhere
    ends up everywhere. The value is a frozenset; the set also supports ``in``, ``len`` and
    iteration (in no particular order).

    Surprises: nothing can be removed, ever — use a [`TwoPSet`][crdts.TwoPSet] (remove
    once, for good), an ``LWWElementSet`` or an ``ORSet``. It is the one set without
    ``remove`` and ``discard``: calling either raises ``AttributeError`` saying so.
    Elements that Python considers equal are one element: ``1``, ``1.0`` and ``True``
    collapse into whichever arrived first.

    Examples:
        >>> from crdts.gset import GSet
        >>> a, b = GSet(replica="a"), GSet(replica="b")
        >>> delta = a.add("apple")
        >>> b.add(("pear", 2))
        GSet(replica=None, value=frozenset({('pear', 2)}))
        >>> b.merge(delta)
        >>> sorted(b, key=str), "apple" in b, len(b)
        ([('pear', 2), 'apple'], True, 2)

    Merge cost: O(m) for m elements in the merged-in state. State size: O(n) for n elements.
    """

    __slots__ = ("_elements",)

    if not TYPE_CHECKING:  # at run time only, so that type checkers still flag the call

        def __getattr__(self, name: str) -> Any:
            if name in ("remove", "discard", "clear"):
                raise AttributeError(
                    f"a GSet only grows: it has no {name}(); use a TwoPSet (remove once), "
                    f"an ORSet or an LWWElementSet to remove elements"
                )
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __init__(self, *, replica: str | None = None) -> None:
        super().__init__(replica=replica)
        self._elements: set[Any] = set()

    @property
    @locked
    def value(self) -> frozenset[Any]:
        """The elements, as a frozenset (O(n) copy)."""
        return frozenset(self._elements)

    def __contains__(self, element: object) -> bool:
        try:
            return element in self._elements
        except TypeError:  # unhashable: cannot be an element
            return False

    def __len__(self) -> int:
        return len(self._elements)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.value)

    @locked
    def add(self, element: Any) -> Self:
        """Add ``element``; return the delta (a GSet holding just ``element``).

        Raises:
            UnboundReplicaError: this instance has no replica id.
            TypeError, ValueError: ``element`` is not a supported element (see ``crdts``).
        """
        self._writer()
        check_element(element)
        self._elements.add(element)
        delta = self._empty()
        delta._elements.add(element)
        return delta

    @locked
    def update(self, elements: Iterable[Any]) -> Self:
        """Add every element of ``elements``; return ONE delta (a GSet holding them).

        The delta equals the join of the single ``add`` deltas. Every element is checked
        before any is added, so on bad input nothing changes.

        Examples:
            >>> from crdts import GSet
            >>> tags = GSet(replica="a")
            >>> sorted(tags.update(["red", "blue", "red"]).value)
            ['blue', 'red']

        Raises:
            UnboundReplicaError: this instance has no replica id.
            TypeError, ValueError: an element is not a supported element; nothing changes.

        Cost: O(b) for b elements.
        """
        self._writer()
        batch = set(map(check_element, elements))
        self._elements |= batch
        delta = self._empty()
        delta._elements = batch
        return delta

    def _merge(self, other: Self) -> None:
        self._elements |= other._elements

    def _state(self) -> Any:
        return self._elements

    def _copy(self) -> Self:
        result = self._empty()
        result._elements = set(self._elements)
        return result

    def _check(self) -> None:
        for element in self._elements:
            # every element is a supported element (it crosses the wire unchanged)
            assert check_element(element) is element, element

    def _to_wire(self) -> Any:
        """The elements as an array sorted by their msgpack encoding (tuples as arrays)."""
        return elements_to_wire(self._elements)

    @classmethod
    def _from_wire(cls, data: Any) -> Self:
        """An unbound GSet from ``_to_wire``'s structure; ValueError if malformed."""
        result = cls()
        result._elements = elements_from_wire(data)
        return result
