"""RWORSet: the remove-wins observed-remove set.

State: a dot store mapping each operation's dot to ``(element, is_add)`` tokens, plus the
causal context. Join: the causal kernel's rule. Value: the elements whose live tokens are
all adds — one concurrent remove token is enough to hide an element.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from operator import itemgetter
from typing import Any, Self

from crdts import _wire
from crdts._base import locked
from crdts._causal import CausalCRDT, DotFun
from crdts._values import check_element

__all__ = ["RWORSet"]


class RWORSet(CausalCRDT, type_code=9):
    """A remove-wins observed-remove set.

    Every ``add`` and ``remove`` retires the tokens it observed for the element and leaves
    one token of its own. An element is present when it has live tokens and all of them are
    adds, so a remove concurrent with an add **wins**.

    Surprises:
        * After a remove, one remove token per element stays until a later add observes
          it: remove-wins needs to remember removals that concurrent adds have not seen.
          (Add-wins [`ORSet`][crdts.ORSet] keeps nothing for a removed element.)
        * A remove made concurrently with *any* add hides the element, even an add that
          happened much later in wall-clock time.

    Examples:
        >>> from crdts import RWORSet
        >>> alice, bob = RWORSet(replica="alice"), RWORSet(replica="bob")
        >>> bob.merge(alice.add("milk"))
        >>> _ = bob.remove("milk")
        >>> _ = alice.add("milk")         # concurrent with bob's remove
        >>> alice.merge(bob); sorted(alice)
        []

    Merge cost: as [`ORSet`][crdts.ORSet]. State size: O(n + r) tokens for n present and r removed
    elements, plus the causal context.
    """

    __slots__ = ()

    @staticmethod
    def _payload_to_wire(payload: Any) -> Any:
        return [_wire.element_to_wire(payload[0]), payload[1]]

    @staticmethod
    def _payload_from_wire(data: Any) -> Any:
        if type(data) is not list or len(data) != 2 or type(data[1]) is not bool:
            raise ValueError(f"an RWORSet token is [element, is_add], not {data!r}")
        return (_wire.element_from_wire(data[0]), data[1])

    def __init__(self, *, replica: str | None = None) -> None:
        super().__init__(replica=replica)
        self._store: DotFun[tuple[Any, bool]] = DotFun(itemgetter(0))

    def _present(self, element: Any) -> bool:
        tokens = self._store.dots_of(element)
        if not tokens:
            return False
        by_replica = self._store.by_replica
        return all(by_replica[r][c][1] for r, c in tokens)

    # -- mutators --------------------------------------------------------------------------

    @locked
    def add(self, element: Hashable) -> Self:
        """Add ``element``; return the delta."""
        check_element(element)
        return self._mutate(self._store.dots_of(element), ((element, True),))

    @locked
    def remove(self, element: Hashable) -> Self:
        """Remove ``element``; return the delta.

        Raises:
            KeyError: the element is not in this replica's set (use ``discard``).
        """
        self._writer()
        if not self._present(element):
            raise KeyError(element)
        return self._mutate(self._store.dots_of(element), ((element, False),))

    @locked
    def discard(self, element: Hashable) -> Self:
        """Remove ``element`` if present; return the (possibly empty) delta."""
        if not self._present(element):
            return self._mutate()
        return self._mutate(self._store.dots_of(element), ((element, False),))

    @locked
    def clear(self) -> Self:
        """Remove every element present here; return the delta."""
        present = [e for e in self._elements() if self._present(e)]
        retire = [dot for e in present for dot in self._store.dots_of(e)]
        return self._mutate(retire, [(e, False) for e in present])

    # -- reading ---------------------------------------------------------------------------

    def _elements(self) -> Iterator[Any]:
        assert self._store.index is not None
        return iter(self._store.index)

    @property
    @locked
    def value(self) -> frozenset[Any]:
        """The present elements, as a frozenset."""
        return frozenset(e for e in self._elements() if self._present(e))

    @locked
    def __contains__(self, element: object) -> bool:
        try:
            return self._present(element)
        except TypeError:
            return False

    @locked
    def __len__(self) -> int:
        return sum(1 for e in self._elements() if self._present(e))

    def __iter__(self) -> Iterator[Any]:
        return iter(self.value)
