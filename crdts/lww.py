"""Last-writer-wins register, element set and map, stamped by a hybrid logical clock.

An ``LWWRegister`` stores one ``(timestamp, value)`` write, an ``LWWElementSet`` the latest
add and latest remove timestamp of each element, and an ``LWWMap`` the latest
``(timestamp, value or removal)`` write of each key. Two states merge by keeping, for each
of these, the write with the larger timestamp (a fixed order on the values breaks a tie
between equal timestamps), after observing the largest incoming timestamp into the local
clock. The value is the winning writes: the register's value, the elements whose latest add
is newer than their latest removal, the keys whose latest write is not a removal.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Self

from clocks import HLC, Timestamp
from crdts._base import locked
from crdts._lww_map import LWWMap
from crdts._lww_set import LWWElementSet
from crdts._stamped import _check_stamp, _Stamped
from crdts._values import check_value, own_value
from crdts._wire import (
    timestamp_from_wire,
    timestamp_to_wire,
    value_from_wire,
    value_key,
    value_to_wire,
)

__all__ = ["LWWElementSet", "LWWMap", "LWWRegister"]


class LWWRegister(_Stamped, type_code=3):
    """A single value where the write with the latest timestamp wins.

    ``assign(value)`` stamps the value with this replica's hybrid logical clock;
    ``merge`` keeps the write with the larger timestamp. Timestamps order as
    ``(wall, logical, node)``, so writes by different replicas never tie; should one replica
    reuse a stamp for two different values, a fixed order on the values picks the same
    winner everywhere. Merging first observes the incoming timestamp into the clock, so a
    write made after reading another replica's write is ordered after it. ``value`` is
    ``None`` and ``timestamp`` is ``None`` until the first write.

    Surprises: concurrent writes are not kept — one silently replaces the other (use an
    ``MVRegister`` to see both), and "latest" means latest by the clocks, which may differ
    from real time by up to the clocks' skew. A timestamp more than the clock's
    ``max_offset`` ahead of local physical time makes ``merge`` raise ``ClockDriftError``
    with nothing changed; the same merge succeeds once physical time has caught up. Merge
    stays all-or-nothing: a state holding one such stamp is refused whole, other entries
    included (applying only the acceptable ones would make the result depend on the
    receiver's physical time and break the join laws). So a writer cannot mint one: an
    explicit ``timestamp=`` must fit ``Timestamp.pack`` (wall below 2**48, logical at most
    0xFFFF; ``ValueError``) and be at most the clock's ``max_offset`` ahead of its physical
    time (``ClockDriftError``, nothing changed); ``decode`` refuses a stamp outside the pack
    bounds (``DecodeError``). Such a stamp can then only come from a peer whose clock runs
    ahead, and waits for physical time. An explicit ``timestamp=`` does not move the clock,
    so a later unstamped write may lose to it. ``value`` returns the stored object: lists and dicts
    must not be mutated in place (assign copies what it is given).

    Examples:
        >>> from clocks import HLC
        >>> from crdts.lww import LWWRegister
        >>> a = LWWRegister(replica="a", clock=HLC("a", now=lambda: 1_000))
        >>> b = LWWRegister(replica="b", clock=HLC("b", now=lambda: 900))
        >>> delta = a.assign("red")
        >>> b.merge(delta)  # b's clock jumps to a's stamp, so its next write wins
        >>> a.merge(b.assign("blue"))
        >>> a.value, a.timestamp
        ('blue', Timestamp(wall=1000, logical=2, node='b'))

    Merge cost: O(1) (O(v) to break a tie between values of size v). State size: O(1) plus
    the value.
    """

    __slots__ = ("_timestamp", "_value")

    def __init__(self, *, replica: str | None = None, clock: HLC | None = None) -> None:
        super().__init__(replica=replica, clock=clock)
        self._timestamp: Timestamp | None = None
        self._value: Any = None

    @property
    @locked
    def value(self) -> Any:
        """The winning value, or None before any write (a copy if it holds lists or dicts)."""
        return own_value(self._value)

    @property
    @locked
    def timestamp(self) -> Timestamp | None:
        """The winning write's timestamp, or None before any write."""
        return self._timestamp

    @locked
    def assign(self, value: Any, *, timestamp: Timestamp | None = None) -> Self:
        """Write ``value``, stamped now (or with ``timestamp``); return the delta.

        The write takes effect here only if its stamp beats the current one, which an
        unstamped write always does unless an explicit later ``timestamp`` was assigned.

        Raises:
            UnboundReplicaError: this instance has no replica id.
            TypeError, ValueError: ``value`` is not a supported register value, or
                ``timestamp`` is not a valid ``Timestamp`` (its wall must fit 48 bits and
                its logical 16).
            ClockDriftError: ``timestamp`` is more than the clock's ``max_offset`` ahead of
                its physical time.
        """
        self._writer()
        value = own_value(check_value(value))
        stamp = self._stamp(timestamp)
        delta = self._empty()
        delta._timestamp, delta._value = stamp, value
        if self._wins(stamp, value):
            self._timestamp, self._value = stamp, value
        return delta

    def _wins(self, stamp: Timestamp, value: Any) -> bool:
        """True if the write ``(stamp, value)`` beats the current one."""
        mine = self._timestamp
        if mine is None or stamp > mine:
            return True
        return stamp == mine and value_key(value) > value_key(self._value)

    def _merge(self, other: Self) -> None:
        stamp = other._timestamp
        if stamp is None:
            return
        self._observe((stamp,))
        if self._wins(stamp, other._value):
            self._timestamp, self._value = stamp, own_value(other._value)

    def _stamps(self) -> Iterable[Timestamp]:
        return () if self._timestamp is None else (self._timestamp,)

    def _state(self) -> Any:
        return self._timestamp, value_key(self._value)

    def _copy(self) -> Self:
        result = self._empty()
        result._timestamp, result._value = self._timestamp, own_value(self._value)
        return result

    def _check(self) -> None:
        if self._timestamp is None:
            # no write yet: no value either
            assert self._value is None, self._value
        else:
            _check_stamp(self._timestamp)
            # the value is a supported register value
            check_value(self._value)

    def _to_wire(self) -> Any:
        """``None`` before any write, else ``[timestamp, value]`` (see ``value_to_wire``)."""
        if self._timestamp is None:
            return None
        return [timestamp_to_wire(self._timestamp), value_to_wire(self._value)]

    @classmethod
    def _from_wire(cls, data: Any) -> Self:
        """An unbound register from ``_to_wire``'s structure; ValueError if malformed."""
        result = cls()
        if data is None:
            return result
        if type(data) not in (list, tuple) or len(data) != 2:
            raise ValueError(f"an LWWRegister is None or [timestamp, value], not {data!r}")
        result._timestamp = timestamp_from_wire(data[0])
        result._value = value_from_wire(data[1])
        return result


# -- LWWElementSet ---------------------------------------------------------------------------
