"""The lab's event loop: time order, ties by priority then scheduling order, no past."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from merge.lab import EventLoop, LabConfigError


@given(st.lists(st.tuples(st.integers(0, 5).map(float), st.integers(-1, 1)), max_size=40))
def test_events_run_by_time_then_priority_then_scheduling_order(
    events: list[tuple[float, int]],
) -> None:
    loop = EventLoop()
    ran: list[tuple[float, int, int]] = []
    for index, (time_ms, priority) in enumerate(events):
        loop.at(
            time_ms,
            lambda t=time_ms, p=priority, i=index: ran.append((t, p, i)),
            priority=priority,
        )
    assert loop.run() == len(events) == loop.processed
    assert ran == sorted((t, p, i) for i, (t, p) in enumerate(events))


def test_an_event_may_schedule_more_and_run_stops_at_its_bound() -> None:
    loop = EventLoop()
    times: list[float] = []

    def tick() -> None:
        times.append(loop.now)
        loop.after(2.5, tick)

    loop.at(1.0, tick)
    assert loop.run(until_ms=8.0) == 3 and times == [1.0, 3.5, 6.0]
    assert loop.now == 8.0  # time passes to the bound even with nothing to do


@pytest.mark.parametrize("when", [0.5, math.nan, math.inf])  # the loop starts at 1.0
def test_the_past_and_non_finite_times_are_refused_and_nothing_is_scheduled(
    when: float,
) -> None:
    loop = EventLoop(start_ms=1.0)
    with pytest.raises(LabConfigError):
        loop.at(when, lambda: None)
    assert loop.run() == 0
