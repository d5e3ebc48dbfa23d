"""CausalCounter: a counter that can be reset by removing it from an ORMap.

State: a dot store mapping each increment's dot to its signed amount, plus the causal
context. Join: the causal kernel's rule. Value: the sum of the live amounts.
"""

from __future__ import annotations

from typing import Any, Self

from crdts._base import locked
from crdts._causal import CausalCRDT, DotFun

__all__ = ["CausalCounter"]


#: each update's amount travels as a signed 64-bit int
_AMOUNT_LIMIT = 2**63


def _amount(by: int) -> int:
    if type(by) is not int:
        raise TypeError(f"by must be an int, not {type(by).__name__}")
    if not 0 <= by < _AMOUNT_LIMIT:
        raise ValueError(f"by must be in [0, 2**63), not {by}")
    return by


class CausalCounter(CausalCRDT, type_code=12):
    """A counter whose increments are causal facts, so a reset removes exactly what it saw.

    Each ``increment``/``decrement`` adds one dot carrying its amount. Inside an
    [`ORMap`][crdts.ORMap], removing the key retires the dots the remover observed: an increment
    made concurrently survives **alone**, with its own amount, not with the total it was
    added to (unlike the reference ``ccounter``, which keeps one cumulative dot per replica).

    Surprises:
        * State grows with every update until a reset retires it: use [`PNCounter`][crdts.PNCounter]
          for a counter that is never reset.
        * A decrement concurrent with a reset survives the reset, so a counter can read
          below zero (a shopping [`Cart`][crdts.Cart] hides such items).

    Examples:
        >>> from crdts import CausalCounter
        >>> a = CausalCounter(replica="a")
        >>> _ = a.increment(5); _ = a.decrement(2)
        >>> a.value
        3

    Merge cost: O(u) for u live updates. State size: O(u) plus the causal context.
    """

    __slots__ = ()

    @staticmethod
    def _payload_from_wire(data: Any) -> Any:
        if type(data) is not int or data == 0 or not -(2**63) <= data < 2**63:
            raise ValueError(f"a CausalCounter amount is a non-zero int64, not {data!r}")
        return data

    def __init__(self, *, replica: str | None = None) -> None:
        super().__init__(replica=replica)
        self._store: DotFun[int] = DotFun()

    @locked
    def increment(self, by: int = 1) -> Self:
        """Add ``by`` (>= 0); return the delta."""
        amount = _amount(by)
        return self._mutate(add=(amount,) if amount else ())

    @locked
    def decrement(self, by: int = 1) -> Self:
        """Subtract ``by`` (>= 0); return the delta."""
        amount = _amount(by)
        return self._mutate(add=(-amount,) if amount else ())

    def _check(self) -> None:
        super()._check()
        for dot, amount in self._store.items():
            # every live dot carries a non-zero int amount
            assert type(amount) is int and amount != 0, (dot, amount)

    @locked
    def _reset_to(self, amount: int) -> Self:
        """Retire every update observed here and record ``amount`` as one fresh update.

        What a concurrent update added survives beside it (used by ``Cart.remove``).
        """
        return self._mutate(list(self._store.dots()), (_amount(amount),) if amount else ())

    @property
    @locked
    def value(self) -> int:
        """The sum of the live increments and decrements."""
        return sum(amount for _, amount in self._store.items())
