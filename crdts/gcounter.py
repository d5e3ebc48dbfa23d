"""Grow-only counter (Shapiro et al. 2011, Specification 6).

A ``GCounter`` stores, for every replica that has incremented it, that replica's running
total. Two counters merge by keeping the larger total of each replica (pointwise maximum).
The value is the sum of the totals.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Self

from crdts._base import CRDT, lock_of, locked
from crdts.errors import UnboundReplicaError

__all__ = ["GCounter"]

#: The largest total the wire format carries (msgpack's unsigned 64-bit integers).
_MAX_TOTAL = 2**64 - 1

_GROWS_ONLY = "a GCounter only grows; use a PNCounter to count down"


def _check_amount(by: object, verb: str, instead: str) -> int:
    """Return ``by`` as a plain int if it is a valid amount to ``verb`` by, else raise."""
    if type(by) is int and by >= 0:  # the common case, checked cheaply
        return by
    if isinstance(by, bool) or not isinstance(by, int):
        raise TypeError(f"{verb} by an int, not {type(by).__name__} {by!r}")
    if by < 0:
        raise ValueError(f"cannot {verb} by {by}: amounts are >= 0; {instead}")
    return int(by)


def _raise_total(totals: dict[str, int], replica: str, by: int) -> int:
    """Add ``by`` to ``replica``'s total and return the new total (unchanged on error)."""
    total = totals.get(replica, 0) + by
    if total > _MAX_TOTAL:
        raise ValueError(
            f"the total of replica {replica!r} would reach {total}, more than the wire "
            f"format carries (2**64 - 1); split the count over several counters"
        )
    if total:
        totals[replica] = total
    return total


def _join_totals(mine: dict[str, int], theirs: dict[str, int]) -> None:
    """Pointwise maximum, in place."""
    for replica, total in theirs.items():
        if total > mine.get(replica, 0):
            mine[replica] = total


def _fold_totals(
    totals: dict[str, int], delta: dict[str, int], writer: str, departed: list[str]
) -> None:
    """Add the departed writers' totals into ``writer``'s, recording it in ``delta``."""
    moved = sum(totals.get(gone, 0) for gone in departed)
    if moved:
        delta[writer] = _raise_total(totals, writer, moved)


def _check_totals(totals: dict[str, int]) -> None:
    for replica, total in totals.items():
        # every key is a replica id: a non-empty str
        assert type(replica) is str and replica, replica
        # totals are positive ints that fit the wire; zeros are never stored, so two states
        # with the same totals compare equal
        assert type(total) is int and 0 < total <= _MAX_TOTAL, (replica, total)


def _totals_to_wire(totals: dict[str, int]) -> list[list[Any]]:
    """``[[replica, total], ...]`` sorted by replica id."""
    return [[replica, total] for replica, total in sorted(totals.items())]


def _totals_from_wire(data: Any) -> dict[str, int]:
    """Rebuild the totals written by ``_totals_to_wire``; ValueError if malformed."""
    if type(data) not in (list, tuple):
        raise ValueError(f"counter totals must be an array of [replica, total], not {data!r}")
    totals: dict[str, int] = {}
    for entry in data:
        if type(entry) not in (list, tuple) or len(entry) != 2:
            raise ValueError(f"a counter entry must be [replica, total], not {entry!r}")
        replica, total = entry
        if type(replica) is not str or not replica:
            raise ValueError(f"a counter's replica id must be a non-empty str, not {replica!r}")
        if type(total) is not int or not 0 < total <= _MAX_TOTAL:
            raise ValueError(f"the total of replica {replica!r} must be a positive int: {total!r}")
        if replica in totals:
            raise ValueError(f"replica {replica!r} appears twice in a counter")
        totals[replica] = total
    return totals


class GCounter(CRDT, type_code=1):
    """A counter that only goes up: each replica counts its own increments.

    ``increment(by)`` raises this replica's own total; ``merge`` keeps the larger total of
    each replica, so increments made anywhere are counted exactly once, however often and
    in whatever order the states or deltas arrive. The value is the sum of all totals.

    Surprises: there is no decrement, and a negative ``by`` is refused — lowering a total
    would be undone by the next merge with a replica that saw the higher total (use
    [`PNCounter`][crdts.PNCounter]). The state holds one entry per replica that ever
    incremented, and it never shrinks. Two replicas sharing an id lose increments silently:
    their totals are maxed, not added.

    Examples:
        >>> from crdts.gcounter import GCounter
        >>> a, b = GCounter(replica="a"), GCounter(replica="b")
        >>> delta = a.increment(2)
        >>> b.increment()
        GCounter(replica=None, value=1)
        >>> b.merge(delta)
        >>> b.merge(delta)  # a duplicate changes nothing
        >>> b.value, (a | b).value
        (3, 3)

    Merge cost: O(r) for r replicas in the merged state. State size: O(r).
    """

    __slots__ = ("_totals",)

    def __init__(self, *, replica: str | None = None) -> None:
        super().__init__(replica=replica)
        self._totals: dict[str, int] = {}

    @property
    @locked
    def value(self) -> int:
        """The sum of every replica's total (O(r))."""
        return sum(self._totals.values())

    def increment(self, by: int = 1) -> Self:
        """Add ``by`` (an int >= 0) to this replica's total; return the delta.

        Raises:
            UnboundReplicaError: this instance has no replica id.
            TypeError: ``by`` is not an int (bools are refused too).
            ValueError: ``by`` is negative, or the total would not fit the wire format.
        """
        # a hot path: it takes the lock itself, by its methods (see ORSet.add)
        lock = self._lock or lock_of(self)
        lock.acquire()
        try:
            return self._increment(by)
        finally:
            lock.release()

    def _increment(self, by: int) -> Self:
        """``increment``, with the lock held."""
        replica = self._replica
        if replica is None:
            raise UnboundReplicaError(self)
        if type(by) is not int or by < 0:
            by = _check_amount(by, "increment", _GROWS_ONLY)
        totals = self._totals
        total = totals.get(replica, 0) + by
        if total > _MAX_TOTAL or not total:
            total = _raise_total(totals, replica, by)  # raises, or leaves a zero unstored
        else:
            totals[replica] = total
        # the delta, filled directly (cheaper than _empty() on this hot path)
        delta = self._blank()
        delta._totals = {replica: total} if total else {}
        return delta

    @locked
    def increment_many(self, amounts: Iterable[int]) -> Self:
        """Add every amount of ``amounts`` (ints >= 0); return ONE delta.

        The delta equals the join of the deltas ``increment`` would return one amount at a
        time: a batch of counted events in one message. Every amount is checked, and the
        new total too, before anything changes.

        Examples:
            >>> from crdts import GCounter
            >>> views = GCounter(replica="web-1")
            >>> delta = views.increment_many([3, 1, 4])
            >>> peer = GCounter(replica="web-2"); peer.merge(delta)
            >>> peer.value
            8

        Raises:
            UnboundReplicaError: this instance has no replica id.
            TypeError: an amount is not an int (bools are refused too); nothing changes.
            ValueError: an amount is negative, or the total would not fit the wire format;
                nothing changes.

        Cost: O(b) for b amounts; the delta holds one entry.
        """
        replica = self._writer()
        by = sum([_check_amount(amount, "increment", _GROWS_ONLY) for amount in amounts])
        total = _raise_total(self._totals, replica, by)
        delta = self._empty()
        if total:
            delta._totals[replica] = total
        return delta

    def _merge(self, other: Self) -> None:
        _join_totals(self._totals, other._totals)

    # -- writer lifecycle: a departed writer's total moves into the folding writer's --------

    def _writers(self) -> Iterable[str]:
        return self._totals.keys()

    def _high_water(self, writer: str) -> int:
        return self._totals.get(writer, 0)

    def _fold(self, writers: list[str]) -> Self:
        delta = self._empty()
        _fold_totals(self._totals, delta._totals, self._writer(), writers)
        return delta

    def _drop(self, writer: str) -> None:
        self._totals.pop(writer, None)

    def _state(self) -> Any:
        return self._totals

    def _copy(self) -> Self:
        result = self._empty()
        result._totals = dict(self._totals)
        return result

    def _check(self) -> None:
        _check_totals(self._totals)

    def _to_wire(self) -> Any:
        """``[[replica, total], ...]`` sorted by replica id."""
        return _totals_to_wire(self._totals)

    @classmethod
    def _from_wire(cls, data: Any) -> Self:
        """An unbound counter from ``_to_wire``'s structure; ValueError if malformed."""
        result = cls()
        result._totals = _totals_from_wire(data)
        return result
