"""Continuous simulated time for the lab: one event loop every lab model runs on.

The simulation core's clock (:class:`merge.sim.SimulatedTime`) steps in
:data:`~merge.sim.STEP_MS` ms, which is right for anti-entropy rounds and far too coarse for
a cache fill that lands 2 ms after a delete or a replica reply 0.3 ms after a request. The
lab's models therefore schedule callbacks at float millisecond times on an ``EventLoop``: a
binary heap ordered by ``(time, priority, sequence)``. Equal times run in ``priority`` order
(lower first), then in the order they were scheduled, so a seeded model replays exactly.

Examples:
    >>> loop = EventLoop()
    >>> seen = []
    >>> loop.at(5.0, lambda: seen.append(("set", loop.now)))
    >>> loop.at(2.0, lambda: seen.append(("commit", loop.now)))
    >>> loop.at(2.0, lambda: seen.append(("delete", loop.now)), priority=1)
    >>> loop.run()
    3
    >>> seen
    [('commit', 2.0), ('delete', 2.0), ('set', 5.0)]

Cost: O(log E) per scheduled event, E the events pending.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable

from merge.lab.errors import LabConfigError

__all__ = ["EventLoop"]


class EventLoop:
    """A clock in float milliseconds and the callbacks waiting on it.

    ``now`` is the time of the event being run (0.0 before the first). Callbacks may
    schedule further events; scheduling into the past raises
    :class:`~merge.lab.LabConfigError` and schedules nothing.
    """

    __slots__ = ("_events", "_sequence", "now", "processed")

    def __init__(self, start_ms: float = 0.0) -> None:
        self.now = float(start_ms)
        #: Events run so far.
        self.processed = 0
        self._sequence = 0
        self._events: list[tuple[float, int, int, Callable[[], object]]] = []

    def at(self, time_ms: float, action: Callable[[], object], *, priority: int = 0) -> None:
        """Run ``action`` at ``time_ms`` (not before ``now``); ties run by ``priority``."""
        if not time_ms >= self.now or math.isinf(time_ms):
            raise LabConfigError(
                "time_ms", time_ms, f"an event must be at a finite time not before now={self.now}"
            )
        self._sequence += 1
        heapq.heappush(self._events, (time_ms, priority, self._sequence, action))

    def after(self, delay_ms: float, action: Callable[[], object], *, priority: int = 0) -> None:
        """Run ``action`` ``delay_ms`` after ``now`` (``delay_ms`` ≥ 0)."""
        self.at(self.now + delay_ms, action, priority=priority)

    def run(self, until_ms: float = math.inf) -> int:
        """Run events in time order up to and including ``until_ms``; return how many ran.

        Afterwards ``now`` is ``until_ms`` when finite (time passes even with nothing to do),
        else the time of the last event run.
        """
        ran = 0
        events = self._events
        while events and events[0][0] <= until_ms:
            time_ms, _priority, _sequence, action = heapq.heappop(events)
            self.now = time_ms
            action()
            ran += 1
        self.processed += ran
        if until_ms != math.inf and until_ms > self.now:
            self.now = until_ms
        return ran
