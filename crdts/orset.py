"""ORSet: the add-wins observed-remove set, without tombstones.

State: a dot store mapping each add's dot to its element, plus the causal context of every
dot seen. Join: the causal kernel's rule — a dot survives unless the other side has seen it
and no longer holds it. Value: the elements that still have at least one live dot.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator
from typing import Any, Self

from crdts import _wire
from crdts._base import lock_of, locked
from crdts._causal import CausalCRDT, DotFun
from crdts._values import check_element

__all__ = ["ORSet"]


class ORSet(CausalCRDT, type_code=8):
    """An add-wins observed-remove set (OR-Set, "ORSWOT").

    ``add`` tags the element with a fresh dot; ``remove`` retires only the dots this
    replica has observed. A concurrent add carries a dot the remover never saw, so it
    survives: **add wins**. Removed elements leave no tombstone: the causal context alone
    remembers that their dots were seen.

    Surprises:
        * A remove only cancels what it observed: an add made concurrently elsewhere
          brings the element back after the merge (use [`RWORSet`][crdts.RWORSet] for remove-wins).
        * ``remove`` of an element this replica has not (yet) seen raises ``KeyError``,
          even if another replica holds it; ``discard`` is the quiet form.

    Examples:
        >>> from crdts import ORSet
        >>> alice, bob = ORSet(replica="alice"), ORSet(replica="bob")
        >>> bob.merge(alice.add("milk"))
        >>> _ = bob.remove("milk")        # bob removes the milk he saw...
        >>> _ = alice.add("milk")         # ...while alice adds it again
        >>> alice.merge(bob); bob.merge(alice)
        >>> sorted(alice), alice == bob   # the concurrent add wins
        (['milk'], True)

    Merge cost: O(d) for a delta or state of d dots, plus O(min(n, s)) per replica the other
    side has seen s dots of (n live dots here). State size: O(n) live dots plus the causal
    context (one int per replica once compact).
    """

    __slots__ = ()

    @staticmethod
    def _payload_to_wire(payload: Any) -> Any:
        return _wire.element_to_wire(payload)

    @classmethod
    def _payloads_to_wire(cls, payloads: list[Any]) -> list[Any]:
        return _wire.element_list_to_wire(payloads)

    @staticmethod
    def _payload_from_wire(data: Any) -> Any:
        return _wire.element_from_wire(data)

    @classmethod
    def _payloads_from_wire(cls, data: list[Any]) -> list[Any]:
        return _wire.element_list_from_wire(data)

    def __init__(self, *, replica: str | None = None) -> None:
        super().__init__(replica=replica)
        self._store: DotFun[Any] = DotFun(indexed=True)

    @property
    def _index(self) -> dict[Any, Any]:
        """The element index, built now if it was not (``bench/lifecycle.py`` builds it
        outside its timing)."""
        index = self._store.index
        assert index is not None
        return index

    # -- mutators --------------------------------------------------------------------------

    def add(self, element: Hashable) -> Self:
        """Add ``element``; return the delta. Re-adding refreshes its dot."""
        # the hot path takes the lock itself, by its methods (cheaper than a decorator's
        # extra call, and than a with statement): bench/threads.py times the shapes
        if type(element) is not str or not element.isascii():
            check_element(element)  # the common case, an ASCII str, needs no check
        lock = self._lock or lock_of(self)
        lock.acquire()
        try:
            return self._add_replacing(element)
        finally:
            lock.release()

    def _add(self, element: Hashable) -> Self:
        """``add`` without taking the lock (``bench/threads.py`` times the lock's shapes)."""
        if type(element) is not str or not element.isascii():
            check_element(element)
        return self._add_replacing(element)

    def update(self, elements: Iterable[Hashable]) -> Self:
        """Add every element of ``elements`` (in order); return ONE delta.

        The delta equals the join of the deltas ``add`` would return one element at a time,
        and merging it anywhere has the same effect: a bulk load in one message. Every
        element is checked before any is added, so on bad input nothing changes.

        Examples:
            >>> from crdts import ORSet
            >>> cart = ORSet(replica="a")
            >>> delta = cart.update(["milk", "eggs", "bread"])
            >>> peer = ORSet(replica="b"); peer.merge(delta)
            >>> sorted(peer)
            ['bread', 'eggs', 'milk']

        Raises:
            UnboundReplicaError: this instance has no replica id.
            TypeError, ValueError: an element is not a supported element; nothing changes.

        Cost: O(b) for b elements, plus O(k) per element already present with k dots; one
        delta of b dots whose context is a single run of this replica's counters.
        """
        batch: list[Any] = list(elements)
        if not ({str}.issuperset(map(type, batch)) and all(map(str.isascii, batch))):
            for element in batch:  # not all ASCII strs, which need no check
                check_element(element)
        with self._lock or lock_of(self):
            return self._add_replacing_many(batch)

    def difference_update(self, elements: Iterable[Hashable]) -> Self:
        """Remove every element of ``elements`` that is present here; return ONE delta.

        The batch form of ``discard`` (absent elements are skipped): the delta equals the
        join of the single ``discard`` deltas. Every element is checked to be hashable
        before anything is removed, so on bad input nothing changes.

        Examples:
            >>> from crdts import ORSet
            >>> s = ORSet(replica="a"); _ = s.update(["a", "b", "c"])
            >>> delta = s.difference_update(["a", "c", "not there"])
            >>> sorted(s), len(delta.value)
            (['b'], 0)

        Raises:
            UnboundReplicaError: this instance has no replica id.
            TypeError: an element is unhashable; nothing changes.

        Cost: O(b + k) for b elements holding k dots here.
        """
        batch = list(elements)
        for element in batch:
            hash(element)  # an unhashable element raises TypeError before any change
        with self._lock or lock_of(self):
            self._writer()
            store = self._store
            retire = {dot for element in batch for dot in store.dots_of(element)}
            return self._mutate(sorted(retire))

    @locked
    def remove(self, element: Hashable) -> Self:
        """Remove ``element`` as observed here; return the delta.

        Raises:
            KeyError: the element is not in this replica's set (use ``discard``).
        """
        self._writer()
        dots = self._store.dots_of(element)
        if not dots:
            raise KeyError(element)
        return self._mutate(dots)

    @locked
    def discard(self, element: Hashable) -> Self:
        """Remove ``element`` if present; return the (possibly empty) delta."""
        return self._mutate(self._store.dots_of(element))

    @locked
    def clear(self) -> Self:
        """Remove every element this replica has observed; return the delta."""
        return self._mutate(list(self._store.dots()))

    # -- reading ---------------------------------------------------------------------------

    @property
    @locked
    def value(self) -> frozenset[Any]:
        """The elements, as a frozenset."""
        return frozenset(self._store.keys())

    def __contains__(self, element: object) -> bool:
        try:
            return self._store.holds(element)
        except TypeError:  # unhashable: cannot be an element
            return False

    def __len__(self) -> int:
        return len(self._store.keys())

    def __iter__(self) -> Iterator[Any]:
        """Iterate over a snapshot of the elements (taken under the lock)."""
        return iter(self.value)
