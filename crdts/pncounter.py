"""Counter that goes up and down (Shapiro et al. 2011, Specification 7).

A ``PNCounter`` stores two grow-only tallies per replica: the total it has incremented by
and the total it has decremented by. Two counters merge by keeping, for each replica, the
larger increment total and the larger decrement total. The value is the sum of the increment
totals minus the sum of the decrement totals.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Self

from crdts._base import CRDT, lock_of, locked
from crdts.errors import UnboundReplicaError
from crdts.gcounter import (
    _MAX_TOTAL,
    _check_amount,
    _check_totals,
    _fold_totals,
    _join_totals,
    _raise_total,
)

__all__ = ["PNCounter"]

_LOW = 2**64 - 1


class PNCounter(CRDT, type_code=2):
    """A counter with increments and decrements: a pair of grow-only counters.

    ``increment(by)`` raises this replica's increment total, ``decrement(by)`` its
    decrement total; both totals only grow, so ``merge`` (the larger of each, per replica)
    counts every operation exactly once under duplication and reordering. The value is all
    increments minus all decrements, and may be negative.

    Surprises: a decrement is not "lowering my entry" — that would be undone by the next
    merge with a replica that saw the higher entry (the pointwise maximum brings it back), so
    decrements are counted separately and the state never shrinks, even when the value
    returns to zero. The counter has no lower bound: two replicas that each decrement the
    last item concurrently both succeed, and the value goes below zero (enforcing a bound
    needs coordination). Two replicas sharing an id lose operations silently.

    Examples:
        >>> from crdts.pncounter import PNCounter
        >>> a, b = PNCounter(replica="a"), PNCounter(replica="b")
        >>> b.merge(a.increment(5))
        >>> delta = a.decrement(2)
        >>> a.merge(b)  # b's older view of a does not bring back the 5
        >>> a.value
        3
        >>> b.merge(delta)
        >>> b == a, b.value
        (True, 3)

    Merge cost: O(r) for r replicas in the merged state. State size: O(r).
    """

    __slots__ = ("_decrements", "_increments")

    def __init__(self, *, replica: str | None = None) -> None:
        super().__init__(replica=replica)
        self._increments: dict[str, int] = {}
        self._decrements: dict[str, int] = {}

    @property
    @locked
    def value(self) -> int:
        """Sum of increments minus sum of decrements (O(r))."""
        return sum(self._increments.values()) - sum(self._decrements.values())

    def increment(self, by: int = 1) -> Self:
        """Add ``by`` (an int >= 0); return the delta.

        Raises:
            UnboundReplicaError: this instance has no replica id.
            TypeError: ``by`` is not an int (bools are refused too).
            ValueError: ``by`` is negative (use ``decrement``), or this replica's increment
                total would not fit the wire format.
        """
        # a hot path: it takes the lock itself, by its methods (see ORSet.add)
        lock = self._lock or lock_of(self)
        lock.acquire()
        try:
            return self._count(by, down=False)
        finally:
            lock.release()

    def decrement(self, by: int = 1) -> Self:
        """Subtract ``by`` (an int >= 0); return the delta.

        Raises:
            UnboundReplicaError: this instance has no replica id.
            TypeError: ``by`` is not an int (bools are refused too).
            ValueError: ``by`` is negative (use ``increment``), or this replica's decrement
                total would not fit the wire format.
        """
        lock = self._lock or lock_of(self)
        lock.acquire()
        try:
            return self._count(by, down=True)
        finally:
            lock.release()

    @locked
    def increment_many(self, amounts: Iterable[int]) -> Self:
        """Add every amount of ``amounts`` (ints >= 0); return ONE delta.

        The delta equals the join of the single ``increment`` deltas. Every amount, and the
        new total, is checked before anything changes.

        Examples:
            >>> from crdts import PNCounter
            >>> stock = PNCounter(replica="shop")
            >>> _ = stock.increment_many([10, 5])
            >>> _ = stock.decrement_many([2, 2, 1])
            >>> stock.value
            10

        Raises:
            UnboundReplicaError: this instance has no replica id.
            TypeError: an amount is not an int (bools are refused too); nothing changes.
            ValueError: an amount is negative (use ``decrement_many``), or the increment
                total would not fit the wire format; nothing changes.

        Cost: O(b) for b amounts; the delta holds one entry.
        """
        return self._count_many(amounts, down=False)

    @locked
    def decrement_many(self, amounts: Iterable[int]) -> Self:
        """Subtract every amount of ``amounts`` (ints >= 0); return ONE delta.

        The batch form of ``decrement``, checked whole before anything changes (see
        ``increment_many``).

        Raises:
            UnboundReplicaError: this instance has no replica id.
            TypeError: an amount is not an int (bools are refused too); nothing changes.
            ValueError: an amount is negative (use ``increment_many``), or the decrement
                total would not fit the wire format; nothing changes.

        Cost: O(b) for b amounts; the delta holds one entry.
        """
        return self._count_many(amounts, down=True)

    def _count_many(self, amounts: Iterable[object], *, down: bool) -> Self:
        self._writer()
        if down:
            checked = [
                _check_amount(by, "decrement", "use increment to count up") for by in amounts
            ]
        else:
            checked = [
                _check_amount(by, "increment", "use decrement to count down") for by in amounts
            ]
        return self._count(sum(checked), down=down)

    def _count(self, by: object, *, down: bool) -> Self:
        """``increment`` or ``decrement``, with the lock held."""
        replica = self._replica
        if replica is None:
            raise UnboundReplicaError(self)
        if type(by) is not int or by < 0:
            if down:
                by = _check_amount(by, "decrement", "use increment to count up")
            else:
                by = _check_amount(by, "increment", "use decrement to count down")
        tallies = self._decrements if down else self._increments
        total = tallies.get(replica, 0) + by
        if total > _MAX_TOTAL or not total:
            total = _raise_total(tallies, replica, by)  # raises, or leaves a zero unstored
        else:
            tallies[replica] = total
        # the delta, filled directly (cheaper than _empty() on this hot path)
        delta = self._blank()
        entry = {replica: total} if total else {}
        if down:
            delta._increments, delta._decrements = {}, entry
        else:
            delta._increments, delta._decrements = entry, {}
        return delta

    def _merge(self, other: Self) -> None:
        _join_totals(self._increments, other._increments)
        _join_totals(self._decrements, other._decrements)

    # -- writer lifecycle: both of a departed writer's totals move into the folding writer --

    def _writers(self) -> Iterable[str]:
        return self._increments.keys() | self._decrements.keys()

    def _high_water(self, writer: str) -> int:
        # both totals in one int (a delta carries one half: compare them one by one)
        return (self._increments.get(writer, 0) << 64) | self._decrements.get(writer, 0)

    def _mark_repr(self, mark: int) -> Any:
        return (mark >> 64, mark & _LOW)  # (increments, decrements)

    def _exceeds(self, writer: str, mark: int) -> bool:
        return (
            self._increments.get(writer, 0) > mark >> 64
            or self._decrements.get(writer, 0) > mark & _LOW
        )

    def _fold(self, writers: list[str]) -> Self:
        me, delta = self._writer(), self._empty()
        # fold into copies so that an overflow in the second half changes nothing
        increments, decrements = dict(self._increments), dict(self._decrements)
        _fold_totals(increments, delta._increments, me, writers)
        _fold_totals(decrements, delta._decrements, me, writers)
        self._increments, self._decrements = increments, decrements
        return delta

    def _drop(self, writer: str) -> None:
        self._increments.pop(writer, None)
        self._decrements.pop(writer, None)

    def _state(self) -> Any:
        return self._increments, self._decrements

    def _copy(self) -> Self:
        result = self._empty()
        result._increments = dict(self._increments)
        result._decrements = dict(self._decrements)
        return result

    def _check(self) -> None:
        # each half is a well-formed grow-only tally (positive totals, no zero entries)
        _check_totals(self._increments)
        _check_totals(self._decrements)

    def _to_wire(self) -> Any:
        """``[[replica, increments, decrements], ...]`` sorted by replica (one row per
        replica that ever counted, so each id is written once)."""
        rows = []
        for replica in sorted(self._increments.keys() | self._decrements.keys()):
            rows.append(
                [replica, self._increments.get(replica, 0), self._decrements.get(replica, 0)]
            )
        return rows

    @classmethod
    def _from_wire(cls, data: Any) -> Self:
        """An unbound counter from ``_to_wire``'s structure; ValueError if malformed."""
        if type(data) not in (list, tuple):
            raise ValueError(f"a PNCounter is [[replica, increments, decrements], ...]: {data!r}")
        result = cls()
        previous = ""
        for row in data:
            if type(row) not in (list, tuple) or len(row) != 3:
                raise ValueError(f"a PNCounter row is [replica, increments, decrements]: {row!r}")
            replica, up, down = row
            if type(replica) is not str or replica <= previous:
                raise ValueError("PNCounter replica ids must be sorted, unique, non-empty strs")
            previous = replica
            for total in (up, down):
                if type(total) is not int or not 0 <= total < 2**64:
                    raise ValueError(f"a PNCounter total must be an int in [0, 2**64): {total!r}")
            if not up and not down:
                raise ValueError(f"replica {replica!r} has no counts: omit the row")
            if up:
                result._increments[replica] = up
            if down:
                result._decrements[replica] = down
        return result
