"""Lamport clocks: ticks count local events, and a receipt jumps past the sender's time."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clocks import LamportClock


def test_a_new_clock_starts_at_zero_unless_told_otherwise() -> None:
    assert LamportClock().time == 0
    assert LamportClock(7).time == 7
    assert LamportClock(time=3).time == 3


def test_tick_advances_by_one_and_returns_the_new_time() -> None:
    clock = LamportClock()
    assert [clock.tick(), clock.tick(), clock.tick()] == [1, 2, 3]
    assert clock.time == 3


def test_observing_a_later_remote_time_jumps_one_past_it() -> None:
    clock = LamportClock(2)
    assert clock.observe(10) == 11
    assert clock.time == 11


def test_observing_an_earlier_or_equal_remote_time_still_ticks() -> None:
    clock = LamportClock(10)
    assert clock.observe(3) == 11
    assert clock.observe(11) == 12


def test_a_message_is_always_stamped_before_its_receipt() -> None:
    sender, receiver = LamportClock(), LamportClock(5)
    sent = sender.tick()
    received = receiver.observe(sent)
    assert sent < received
    assert receiver.tick() > received


def test_the_time_cannot_be_assigned() -> None:
    clock = LamportClock()
    with pytest.raises(AttributeError):
        clock.time = 5  # type: ignore[misc]


@pytest.mark.parametrize("bad", [1.5, "1", None, True])
def test_a_time_that_is_not_an_int_is_a_type_error(bad: object) -> None:
    with pytest.raises(TypeError, match="must be an int"):
        LamportClock(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be an int"):
        LamportClock().observe(bad)  # type: ignore[arg-type]


def test_a_negative_time_is_a_value_error_and_changes_nothing() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        LamportClock(-1)
    clock = LamportClock(4)
    with pytest.raises(ValueError, match=">= 0"):
        clock.observe(-1)
    assert clock.time == 4


def test_repr_shows_the_time() -> None:
    assert repr(LamportClock(9)) == "LamportClock(time=9)"


@given(st.lists(st.one_of(st.none(), st.integers(0, 1_000))))
def test_every_event_gets_a_strictly_larger_time_than_everything_seen(
    events: list[int | None],
) -> None:
    """``None`` is a local tick; an integer is a received remote time."""
    clock = LamportClock()
    seen = 0
    for remote in events:
        time = clock.tick() if remote is None else clock.observe(remote)
        assert time > seen
        assert time == clock.time
        seen = max(time, remote or 0)
