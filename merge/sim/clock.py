"""Simulated time: a step counter, and hybrid logical clocks that read it.

Time advances in steps of :data:`STEP_MS` simulated milliseconds and only when the simulation
says so; no wall clock is ever read, so a seed reproduces a run exactly. Each replica's
:class:`~clocks.HLC` reads ``CLOCK_ORIGIN_MS + time + skew``.
"""

from __future__ import annotations

from clocks import HLC

__all__ = ["CLOCK_ORIGIN_MS", "STEP_MS", "SimulatedTime"]

#: Simulated milliseconds per step.
STEP_MS = 10
#: Replica clocks read ``CLOCK_ORIGIN_MS + network.time + skew`` (so negative skews are fine).
CLOCK_ORIGIN_MS = 1_000_000


class SimulatedTime:
    """A step counter shared by everything in one simulation.

    Examples:
        >>> time = SimulatedTime()
        >>> clock = time.clock("a", skew=-5)
        >>> _ = time.advance()
        >>> time.step, time.ms
        (1, 10)
        >>> clock.now().wall == CLOCK_ORIGIN_MS + 10 - 5
        True

    Cost: O(1) per reading.
    """

    __slots__ = ("step",)

    def __init__(self) -> None:
        self.step = 0

    @property
    def ms(self) -> int:
        """Simulated milliseconds since the start (``step * STEP_MS``)."""
        return self.step * STEP_MS

    def advance(self) -> int:
        """Move one step on; return the new step."""
        self.step += 1
        return self.step

    def clock(self, node: str, skew: int = 0) -> HLC:
        """A hybrid logical clock for ``node`` whose physical time is this simulated time
        plus ``skew`` milliseconds."""

        def physical() -> int:
            return CLOCK_ORIGIN_MS + self.step * STEP_MS + skew

        return HLC(node, now=physical)
