"""Two-phase set (Shapiro et al. 2011, Specification 12).

A ``TwoPSet`` stores two grow-only sets: the elements ever added and, among them, the
elements ever removed. Two sets merge by taking the union of each. The value is the added
elements that were never removed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Self

from crdts._base import CRDT, locked
from crdts._values import check_element
from crdts._wire import elements_from_wire, elements_to_wire

__all__ = ["TwoPSet"]


class TwoPSet(CRDT, type_code=6):
    """A set where an element can be added, then removed once and for all.

    ``add(e)`` inserts an element; ``remove(e)`` removes a present element for good,
    recording it as removed (a tombstone). ``merge`` unions both the added and the removed
    elements, so a removal wins over any add of the same element, concurrent or not. The
    value is a frozenset; the set also supports ``in``, ``len`` and iteration (in no
    particular order).

    Surprises: a removed element can never come back — ``add`` refuses it with
    ``ValueError`` once this replica knows of the removal, and an add made elsewhere (before
    hearing of the removal) is silently overruled by it. Removed elements stay in the state
    as tombstones forever. ``remove`` raises ``KeyError`` for an element that is not present
    here, even if another replica has it: use ``discard`` to remove only if present.

    Examples:
        >>> from crdts.twopset import TwoPSet
        >>> a, b = TwoPSet(replica="a"), TwoPSet(replica="b")
        >>> b.merge(a.add("milk"))
        >>> delta = a.remove("milk")
        >>> b.add("milk")  # b has not heard of the removal yet: accepted
        TwoPSet(replica=None, value=frozenset({'milk'}))
        >>> b.merge(delta)  # the removal wins
        >>> "milk" in b, len(b)
        (False, 0)
        >>> b.add("milk")
        Traceback (most recent call last):
            ...
        ValueError: 'milk' was removed from this TwoPSet and can never be re-added; ...

    Merge cost: O(m) for m added and removed elements in the merged-in state. State size: O(n)
    for n elements ever added (removed ones included).
    """

    __slots__ = ("_added", "_removed")

    def __init__(self, *, replica: str | None = None) -> None:
        super().__init__(replica=replica)
        self._added: set[Any] = set()
        self._removed: set[Any] = set()

    @property
    @locked
    def value(self) -> frozenset[Any]:
        """The elements added and never removed, as a frozenset (O(n))."""
        return frozenset(self._added - self._removed)

    @locked
    def __contains__(self, element: object) -> bool:
        try:
            return element in self._added and element not in self._removed
        except TypeError:  # unhashable: cannot be an element
            return False

    @locked
    def __len__(self) -> int:
        # removed is a subset of added (see _check)
        return len(self._added) - len(self._removed)

    def __iter__(self) -> Iterator[Any]:
        """Iterate over a snapshot of the elements (taken under the lock)."""
        return iter(self.value)

    @locked
    def add(self, element: Any) -> Self:
        """Add ``element``; return the delta.

        Raises:
            UnboundReplicaError: this instance has no replica id.
            TypeError, ValueError: ``element`` is not a supported element (see ``crdts``).
            ValueError: ``element`` was removed: a TwoPSet never re-adds (use an ORSet or an
                LWWElementSet for that).
        """
        self._writer()
        check_element(element)
        if element in self._removed:
            raise ValueError(
                f"{element!r} was removed from this TwoPSet and can never be re-added; "
                f"use an ORSet or an LWWElementSet if elements must come back"
            )
        self._added.add(element)
        delta = self._empty()
        delta._added.add(element)
        return delta

    @locked
    def remove(self, element: Any) -> Self:
        """Remove ``element`` for good; return the delta.

        Raises:
            UnboundReplicaError: this instance has no replica id.
            KeyError: ``element`` is not present (use ``discard`` to ignore that).
        """
        self._writer()
        if element not in self:
            raise KeyError(element)
        return self._remove(element)

    @locked
    def discard(self, element: Any) -> Self:
        """Remove ``element`` if present; return the delta (empty if it was absent).

        Raises:
            UnboundReplicaError: this instance has no replica id.
        """
        self._writer()
        if element not in self:
            return self._empty()
        return self._remove(element)

    def _remove(self, element: Any) -> Self:
        self._removed.add(element)
        # the delta carries the add too, so that it is a valid state (removed within added)
        delta = self._empty()
        delta._added.add(element)
        delta._removed.add(element)
        return delta

    def _merge(self, other: Self) -> None:
        self._added |= other._added
        self._removed |= other._removed

    def _state(self) -> Any:
        return self._added, self._removed

    def _copy(self) -> Self:
        result = self._empty()
        result._added = set(self._added)
        result._removed = set(self._removed)
        return result

    def _check(self) -> None:
        for element in self._added:
            # every element is a supported element (it crosses the wire unchanged)
            assert check_element(element) is element, element
        # an element is removed only after it was added: removed is a subset of added
        assert self._removed <= self._added, self._removed - self._added

    def _to_wire(self) -> Any:
        """``[present, removed]``: two disjoint, canonically sorted arrays of elements.

        The added elements are ``present`` plus ``removed``, so none is written twice.
        """
        return [
            elements_to_wire(self._added - self._removed),
            elements_to_wire(self._removed),
        ]

    @classmethod
    def _from_wire(cls, data: Any) -> Self:
        """An unbound TwoPSet from ``_to_wire``'s structure; ValueError if malformed."""
        if type(data) not in (list, tuple) or len(data) != 2:
            raise ValueError(f"a TwoPSet is [present, removed], not {data!r}")
        present = elements_from_wire(data[0])
        removed = elements_from_wire(data[1])
        if not present.isdisjoint(removed):
            raise ValueError("an element of a TwoPSet is both present and removed")
        result = cls()
        result._added = present | removed
        result._removed = removed
        return result
