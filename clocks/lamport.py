"""Lamport clocks: one counter that orders events consistently with causality.

A ``LamportClock`` stores a single integer time. Observing a remote time moves it to one past
the larger of the two, so a message is always stamped earlier than its receipt. The value is
a total order consistent with happened-before, though equal or ordered times do not prove
causality (use ``VectorClock`` for that).
"""

from threading import Lock

__all__ = ["LamportClock"]


def _check_time(value: object, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < 0:
        raise ValueError(f"{name} is {value}; Lamport times count events and must be >= 0")
    return int(value)


class LamportClock:
    """A mutable Lamport clock (Lamport 1978).

    Args:
        time: The starting time, a non-negative ``int``.

    Raises:
        TypeError: ``time`` is not an ``int``.
        ValueError: ``time`` is negative.

    Examples:
        >>> from clocks import LamportClock
        >>> clock = LamportClock()
        >>> clock.tick()
        1
        >>> clock.observe(7)
        8
        >>> clock.observe(3)
        9
        >>> clock
        LamportClock(time=9)

    Merge cost: O(1). State size: O(1).
    """

    __slots__ = ("_lock", "_time")

    def __init__(self, time: int = 0) -> None:
        self._time = _check_time(time, "time")
        # threads sharing a clock take turns: no two get the same time
        self._lock = Lock()

    def __getstate__(self) -> int:
        return self._time

    def __setstate__(self, state: int) -> None:
        self._time = state
        self._lock = Lock()

    @property
    def time(self) -> int:
        """The current time: the stamp of the latest local or observed event."""
        return self._time

    def tick(self) -> int:
        """Advance by one for a local event or a send, and return the new time.

        Examples:
            >>> from clocks import LamportClock
            >>> LamportClock(4).tick()
            5

        Cost: O(1).
        """
        with self._lock:
            self._time += 1
            return self._time

    def observe(self, remote: int) -> int:
        """Account for receiving a message stamped ``remote``; return the new time.

        The new time is ``max(time, remote) + 1``.

        Args:
            remote: The remote time carried by the message.

        Raises:
            TypeError: ``remote`` is not an ``int``.
            ValueError: ``remote`` is negative.

        Examples:
            >>> from clocks import LamportClock
            >>> LamportClock(2).observe(10)
            11

        Cost: O(1).
        """
        remote = _check_time(remote, "remote")
        with self._lock:
            self._time = max(self._time, remote) + 1
            return self._time

    def __repr__(self) -> str:
        return f"LamportClock(time={self._time})"
