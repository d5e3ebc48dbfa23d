"""Hybrid logical clocks (Kulkarni, Demirbas, Madappa, Avva, Leone 2014).

An ``HLC`` stores the last ``Timestamp`` it issued: ``wall``, the largest physical time the
node has heard of, and ``logical``, a counter that orders events sharing that wall time.
Receiving a remote stamp joins it in (the larger wall time wins, and the counter moves past
both), so every stamp is greater than every stamp it causally follows. The value is a total
order, ``(wall, logical, node)``, that stays within ``max_offset`` of physical time and never
goes backwards, even when the physical clock does.
"""

from __future__ import annotations

from collections.abc import Callable
from threading import Lock
from time import time_ns

from clocks.errors import ClockDriftError
from clocks.timestamp import _LOGICAL_MAX, Timestamp

__all__ = ["HLC", "Timestamp"]

# Building the tuple directly skips the Python-level ``Timestamp.__new__`` frame on the hot
# path; the fields are already known to be valid there.
_new_tuple = tuple.__new__


def _not_int(physical: object) -> TypeError:
    return TypeError(
        f"the physical clock returned {type(physical).__name__} {physical!r}; it must "
        f"return an int (e.g. milliseconds: lambda: time.time_ns() // 1_000_000)"
    )


def _wall_clock_ms() -> int:
    """Read the system wall clock in integer milliseconds since the Unix epoch."""
    return time_ns() // 1_000_000


class HLC:
    """A hybrid logical clock for one node.

    ``now()`` stamps a local event or a send; ``update(remote)`` stamps the receipt of a
    message carrying ``remote``. Every stamp is strictly greater than the previous one, even
    when the physical clock steps backwards, and greater than any remote stamp it has
    received. When ``logical`` would pass 0xFFFF the stamp carries into the wall time,
    ``(wall + 1, 0)``, rather than wrapping.

    Args:
        node: This node's id, stamped into every ``Timestamp``.
        now: The physical clock, returning an ``int``; milliseconds since the Unix epoch by
            default. Inject one to test with controlled time.
        max_offset: How far, in the unit of ``now``, a remote wall time may be ahead of local
            physical time before ``update`` rejects it; ``None`` disables the check.

    Raises:
        TypeError: ``node`` is not a ``str``, ``now`` is not callable or ``max_offset`` is not
            an ``int`` or ``None``.
        ValueError: ``max_offset`` is negative.

    Examples:
        >>> from clocks import HLC, Timestamp
        >>> physical = iter([100, 100, 90, 95]).__next__
        >>> clock = HLC("a", now=physical)
        >>> clock.now()
        Timestamp(wall=100, logical=0, node='a')
        >>> clock.now()
        Timestamp(wall=100, logical=1, node='a')
        >>> clock.now()  # the physical clock went back: the stamp still moves forward
        Timestamp(wall=100, logical=2, node='a')
        >>> clock.update(Timestamp(120, 4, "b"))
        Timestamp(wall=120, logical=5, node='a')

    Merge cost (``update``): O(1). State size: O(1).
    """

    __slots__ = ("_clock", "_last", "_lock", "_max_offset", "_node")

    def __init__(
        self,
        node: str,
        *,
        now: Callable[[], int] | None = None,
        max_offset: int | None = 500,
    ) -> None:
        if not isinstance(node, str):
            raise TypeError(f"node must be a str, got {type(node).__name__} {node!r}")
        if now is None:
            now = _wall_clock_ms
        elif not callable(now):
            raise TypeError(
                f"now must be a callable returning the physical time as an int, "
                f"got {type(now).__name__} {now!r}"
            )
        if max_offset is not None:
            if not isinstance(max_offset, int) or isinstance(max_offset, bool):
                raise TypeError(
                    f"max_offset must be an int or None, got {type(max_offset).__name__} "
                    f"{max_offset!r}"
                )
            if max_offset < 0:
                raise ValueError(
                    f"max_offset is {max_offset}; it must be >= 0 (pass None to disable the check)"
                )
        self._node = node
        self._clock = now
        self._max_offset = max_offset
        self._last = Timestamp(0, 0, node)
        # threads sharing a clock take turns to issue stamps: no two get the same one
        self._lock = Lock()

    def __getstate__(self) -> dict[str, object]:
        with self._lock:
            return {
                "node": self._node,
                "clock": self._clock,
                "max_offset": self._max_offset,
                "last": self._last,
            }

    def __setstate__(self, state: dict[str, object]) -> None:
        self._node, self._clock = state["node"], state["clock"]  # type: ignore[assignment]
        self._max_offset, self._last = state["max_offset"], state["last"]  # type: ignore[assignment]
        self._lock = Lock()

    @property
    def node(self) -> str:
        """This node's id."""
        return self._node

    @property
    def last(self) -> Timestamp:
        """The latest timestamp issued; ``Timestamp(0, 0, node)`` before the first."""
        return self._last

    @property
    def max_offset(self) -> int | None:
        """The bound ``update`` enforces on remote wall times, or ``None`` when disabled."""
        return self._max_offset

    def fork(self, node: str) -> HLC:
        """A new clock for ``node`` reading the same physical clock, with the same bound.

        Used when a replica is forked (``crdt.copy(replica="b")``): the new writer keeps the
        time source, so a simulated or injected clock stays in force.

        Examples:
            >>> from clocks import HLC
            >>> HLC("a", now=lambda: 7).fork("b").now()
            Timestamp(wall=7, logical=0, node='b')

        Cost: O(1).
        """
        return HLC(node, now=self._clock, max_offset=self._max_offset)

    def advance(self, past: Timestamp) -> None:
        """Make every later stamp greater than ``past`` (a stamp this node already holds).

        For restoring a replica: its state's newest stamp may be ahead of this clock (the old
        process's clock ran fast, or it observed a fast peer), and a write stamped below it
        would lose to it. Unlike ``update`` this does not tick and applies no
        ``max_offset`` check: the stamp was accepted when it entered the state. A stamp whose
        ``logical`` is past 0xFFFF moves the clock to the next wall time.

        Examples:
            >>> from clocks import HLC, Timestamp
            >>> clock = HLC("a", now=lambda: 100)
            >>> clock.advance(Timestamp(400, 2, "a"))
            >>> clock.now()
            Timestamp(wall=400, logical=3, node='a')

        Raises:
            TypeError: ``past`` is not a ``Timestamp`` with int parts.

        Cost: O(1).
        """
        if not isinstance(past, Timestamp) or type(past.wall) is not int:
            raise TypeError(f"past must be a Timestamp, not {past!r}")
        if type(past.logical) is not int:
            raise TypeError(f"past must be a Timestamp, not {past!r}")
        wall, logical = past.wall, past.logical
        if logical > _LOGICAL_MAX:
            wall, logical = wall + 1, 0
        with self._lock:
            last = self._last
            if (wall, logical) > (last.wall, last.logical):
                self._last = _new_tuple(Timestamp, (wall, logical, self._node))

    def check_drift(self, stamp: Timestamp) -> None:
        """Raise ``ClockDriftError`` if ``stamp`` is more than ``max_offset`` ahead of physical
        time, the check ``update`` applies; change nothing either way.

        For a stamp this node is asked to write with (an explicit ``timestamp=``): one that
        this clock would refuse from a peer would be refused by every peer whose physical
        time agrees with ours, so it must not be minted. Nothing is checked when
        ``max_offset`` is ``None``.

        Examples:
            >>> from clocks import HLC, ClockDriftError, Timestamp
            >>> clock = HLC("a", now=lambda: 1_000, max_offset=500)
            >>> clock.check_drift(Timestamp(1_500, 0, "a"))
            >>> try:
            ...     clock.check_drift(Timestamp(1_501, 0, "a"))
            ... except ClockDriftError as error:
            ...     print(error.remote.wall - error.physical)
            501

        Raises:
            TypeError: ``stamp`` is not a ``Timestamp`` with an ``int`` wall, or the physical
                clock did not return an ``int``.
            ClockDriftError: as described.

        Cost: O(1).
        """
        if not isinstance(stamp, Timestamp) or type(stamp.wall) is not int:
            raise TypeError(f"stamp must be a Timestamp with an int wall, not {stamp!r}")
        max_offset = self._max_offset
        if max_offset is None:
            return
        physical = self._clock()
        if type(physical) is not int:
            raise _not_int(physical)
        if stamp.wall - physical > max_offset:
            raise ClockDriftError(stamp, physical, max_offset)

    def now(self) -> Timestamp:
        """Stamp a local event or a send (the paper's send rule).

        The wall time becomes ``max(last.wall, physical)``; the counter increments when the
        wall time did not move and resets to 0 when it did. A counter at 0xFFFF carries
        instead: the stamp becomes ``(last.wall + 1, 0)``.

        Examples:
            >>> from clocks import HLC
            >>> clock = HLC("a", now=lambda: 42)
            >>> clock.now(), clock.now()
            (Timestamp(wall=42, logical=0, node='a'), Timestamp(wall=42, logical=1, node='a'))

        Cost: O(1).
        """
        clock = self._clock
        if clock is _wall_clock_ms:
            physical = time_ns() // 1_000_000  # the default clock, inlined: an int
        else:
            physical = clock()
            if type(physical) is not int:
                raise _not_int(physical)
        lock = self._lock
        lock.acquire()  # the lock's methods: cheaper than a with statement
        try:
            wall, logical, node = self._last
            if physical > wall:
                stamp: Timestamp = _new_tuple(Timestamp, (physical, 0, node))
            elif logical < _LOGICAL_MAX:
                stamp = _new_tuple(Timestamp, (wall, logical + 1, node))
            else:
                stamp = _new_tuple(Timestamp, (wall + 1, 0, node))
            self._last = stamp
        finally:
            lock.release()
        return stamp

    def update(self, remote: Timestamp) -> Timestamp:
        """Stamp the receipt of a message carrying ``remote`` (the paper's receive rule).

        The wall time becomes ``max(last.wall, remote.wall, physical)``; the counter moves one
        past the largest counter among those that had that wall time, or resets to 0 when
        physical time alone is largest. Like the paper, and unlike CockroachDB's
        ``Update``, this ticks: the result is greater than both ``last`` and ``remote``.

        Args:
            remote: The timestamp carried by the received message.

        Raises:
            TypeError: ``remote`` is not a ``Timestamp`` with ``int`` wall and logical parts.
            ValueError: ``remote.wall`` is negative or ``remote.logical`` is outside
                [0, 0xFFFF] (the clock is unchanged).
            ClockDriftError: ``max_offset`` is set and ``remote.wall`` is more than
                ``max_offset`` ahead of physical time; the clock is left unchanged.

        Examples:
            >>> from clocks import HLC, Timestamp
            >>> clock = HLC("a", now=lambda: 10)
            >>> clock.update(Timestamp(10, 7, "b"))
            Timestamp(wall=10, logical=8, node='a')
            >>> clock.update(Timestamp(3, 99, "b"))
            Timestamp(wall=10, logical=9, node='a')

        Cost: O(1).
        """
        if not isinstance(remote, Timestamp):
            raise TypeError(
                f"remote must be a Timestamp, got {type(remote).__name__} {remote!r}; "
                "rebuild it with Timestamp(wall, logical, node) or Timestamp.unpack(packed, node)"
            )
        remote_wall, remote_logical = remote.wall, remote.logical
        if type(remote_wall) is not int or type(remote_logical) is not int:
            raise TypeError(f"remote wall and logical must be ints, got {remote!r}")
        if remote_wall < 0 or not 0 <= remote_logical <= _LOGICAL_MAX:
            raise ValueError(
                f"remote {remote!r} is out of range: wall must be >= 0 and logical in "
                f"[0, {_LOGICAL_MAX}]"
            )
        physical = self._clock()
        if type(physical) is not int:
            raise _not_int(physical)
        max_offset = self._max_offset
        if max_offset is not None and remote_wall - physical > max_offset:
            raise ClockDriftError(remote, physical, max_offset)
        with self._lock:
            old_wall, old_logical, node = self._last
            wall = max(old_wall, remote_wall, physical)
            if wall == old_wall and wall == remote_wall:
                logical = max(old_logical, remote_logical) + 1
            elif wall == old_wall:
                logical = old_logical + 1
            elif wall == remote_wall:
                logical = remote_logical + 1
            else:
                logical = 0
            if logical > _LOGICAL_MAX:
                wall, logical = wall + 1, 0
            stamp: Timestamp = _new_tuple(Timestamp, (wall, logical, node))
            self._last = stamp
        return stamp

    def __repr__(self) -> str:
        return f"HLC(node={self._node!r}, last={self._last!r}, max_offset={self._max_offset!r})"
