"""Hybrid logical clock: each rule of Kulkarni et al. 2014, the drift guard, the overflow carry,
packing, and the paper's invariants under arbitrary interleavings of events."""

import pickle
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clocks import HLC, ClockDriftError, ClockError, Timestamp


class ManualClock:
    """A physical clock that reads whatever time the test sets, and counts its reads."""

    def __init__(self, time: int = 1_000) -> None:
        self.time = time
        self.reads = 0

    def __call__(self) -> int:
        self.reads += 1
        return self.time


def make_clock(time: int = 1_000, max_offset: int | None = 500) -> tuple[HLC, ManualClock]:
    physical = ManualClock(time)
    return HLC("a", now=physical, max_offset=max_offset), physical


def advanced_to(wall: int, logical: int, time: int) -> tuple[HLC, ManualClock]:
    """A clock whose last stamp is ``(wall, logical)``, physical time then reading ``time``.

    It gets there through the public rule: receiving ``(wall, logical - 1)`` while physical
    time is not ahead of ``wall``.
    """
    clock, physical = make_clock(min(wall, time), max_offset=None)
    assert clock.update(Timestamp(wall, logical - 1, "x")) == Timestamp(wall, logical, "a")
    physical.time = time
    return clock, physical


# -- construction --------------------------------------------------------------------------


def test_a_new_clock_starts_at_zero_with_its_node_and_default_offset() -> None:
    clock = HLC("n1")
    assert clock.node == "n1"
    assert clock.last == Timestamp(0, 0, "n1")
    assert clock.max_offset == 500


def test_the_default_physical_clock_is_the_wall_clock_in_milliseconds() -> None:
    before = time.time_ns() // 1_000_000
    stamp = HLC("a").now()
    after = time.time_ns() // 1_000_000
    assert before <= stamp.wall <= after
    assert stamp.logical == 0


@pytest.mark.parametrize("node", [None, 1, b"a"])
def test_a_node_id_that_is_not_a_str_is_a_type_error(node: object) -> None:
    with pytest.raises(TypeError, match="node must be a str"):
        HLC(node)  # type: ignore[arg-type]


def test_a_physical_clock_that_is_not_callable_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="now must be a callable"):
        HLC("a", now=5)  # type: ignore[arg-type]


def test_max_offset_must_be_a_non_negative_int_or_none() -> None:
    with pytest.raises(TypeError):
        HLC("a", max_offset=0.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=">= 0"):
        HLC("a", max_offset=-1)
    assert HLC("a", max_offset=None).max_offset is None
    assert HLC("a", max_offset=0).max_offset == 0


# -- the local / send rule -----------------------------------------------------------------


def test_a_stalled_physical_clock_makes_the_logical_counter_increment() -> None:
    clock, _ = make_clock(1_000)
    assert clock.now() == Timestamp(1_000, 0, "a")
    assert clock.now() == Timestamp(1_000, 1, "a")
    assert clock.now() == Timestamp(1_000, 2, "a")
    assert clock.last == Timestamp(1_000, 2, "a")


def test_when_physical_time_advances_the_logical_counter_resets_to_zero() -> None:
    clock, physical = make_clock(1_000)
    clock.now()
    clock.now()
    physical.time = 1_001
    assert clock.now() == Timestamp(1_001, 0, "a")


def test_a_backwards_wall_clock_jump_keeps_stamps_strictly_increasing() -> None:
    clock, physical = make_clock(1_000)
    first = clock.now()
    physical.time = 400  # NTP stepped the clock back by 600 ms
    second = clock.now()
    third = clock.now()
    assert first < second < third
    assert second == Timestamp(1_000, 1, "a")
    assert third == Timestamp(1_000, 2, "a")
    physical.time = 1_000
    assert clock.now() == Timestamp(1_000, 3, "a")
    physical.time = 1_001
    assert clock.now() == Timestamp(1_001, 0, "a")


def test_now_reads_the_physical_clock_exactly_once() -> None:
    clock, physical = make_clock()
    clock.now()
    assert physical.reads == 1


# -- the receive rule (it ticks, as in the paper) -------------------------------------------


def test_receive_with_the_remote_ahead_takes_its_wall_and_ticks_its_counter() -> None:
    clock, _ = advanced_to(1_000, 5, time=1_000)
    assert clock.update(Timestamp(1_200, 3, "b")) == Timestamp(1_200, 4, "a")


def test_receive_with_the_local_clock_ahead_ticks_the_local_counter() -> None:
    clock, _ = advanced_to(1_300, 5, time=1_000)
    assert clock.update(Timestamp(1_200, 9, "b")) == Timestamp(1_300, 6, "a")


def test_receive_with_physical_time_ahead_of_both_resets_the_counter() -> None:
    clock, _ = advanced_to(1_300, 5, time=2_000)
    assert clock.update(Timestamp(1_200, 9, "b")) == Timestamp(2_000, 0, "a")


@pytest.mark.parametrize(("local", "remote", "expected"), [(5, 9, 10), (9, 5, 10), (7, 7, 8)])
def test_receive_with_local_and_remote_walls_equal_ticks_past_the_larger_counter(
    local: int, remote: int, expected: int
) -> None:
    clock, _ = advanced_to(1_000, local, time=1_000)
    assert clock.update(Timestamp(1_000, remote, "b")) == Timestamp(1_000, expected, "a")


def test_receive_on_a_fresh_clock_with_everything_equal_ticks_once() -> None:
    clock, _ = make_clock(0)
    assert clock.update(Timestamp(0, 0, "b")) == Timestamp(0, 1, "a")


def test_receive_with_remote_and_physical_equal_and_local_behind_ticks_the_remote_counter() -> None:
    clock, _ = advanced_to(1_000, 50, time=1_200)
    assert clock.update(Timestamp(1_200, 3, "b")) == Timestamp(1_200, 4, "a")


def test_receive_with_local_and_physical_equal_and_remote_behind_ticks_the_local_counter() -> None:
    clock, _ = advanced_to(1_000, 2, time=1_000)
    assert clock.update(Timestamp(900, 40, "b")) == Timestamp(1_000, 3, "a")


def test_update_reads_the_physical_clock_exactly_once() -> None:
    clock, physical = make_clock()
    clock.update(Timestamp(1_000, 0, "b"))
    assert physical.reads == 1


@pytest.mark.parametrize("remote", [(1_000, 0, "b"), 1_000, None, "1000"])
def test_a_remote_that_is_not_a_timestamp_is_a_type_error(remote: object) -> None:
    clock, _ = make_clock()
    with pytest.raises(TypeError, match="remote must be a Timestamp"):
        clock.update(remote)  # type: ignore[arg-type]
    assert clock.last == Timestamp(0, 0, "a")


def test_a_timestamp_with_non_int_parts_is_a_type_error_and_changes_nothing() -> None:
    clock, _ = make_clock()
    with pytest.raises(TypeError):
        clock.update(Timestamp(1_000.5, 0, "b"))  # type: ignore[arg-type]
    assert clock.last == Timestamp(0, 0, "a")


# -- the drift guard (clock poisoning) -------------------------------------------------------


def test_a_remote_below_the_drift_bound_is_accepted() -> None:
    clock, _ = make_clock(1_000, max_offset=500)
    assert clock.update(Timestamp(1_499, 0, "b")) == Timestamp(1_499, 1, "a")


def test_a_remote_exactly_at_the_drift_bound_is_accepted() -> None:
    clock, _ = make_clock(1_000, max_offset=500)
    assert clock.update(Timestamp(1_500, 7, "b")) == Timestamp(1_500, 8, "a")


def test_a_remote_above_the_drift_bound_raises_and_leaves_the_clock_unchanged() -> None:
    clock, physical = make_clock(1_000, max_offset=500)
    before = clock.now()
    remote = Timestamp(1_501, 0, "b")
    with pytest.raises(ClockDriftError) as raised:
        clock.update(remote)
    error = raised.value
    assert error.remote == remote
    assert error.physical == 1_000
    assert error.max_offset == 500
    assert clock.last == before
    assert physical.reads == 2  # one per call: the guard uses the same reading as the rule
    assert clock.now() == Timestamp(1_000, 1, "a")


def test_the_drift_error_is_a_clock_error_and_a_value_error_that_says_what_to_do() -> None:
    clock, _ = make_clock(1_000, max_offset=500)
    with pytest.raises(ClockError) as raised:
        clock.update(Timestamp(3_000, 0, "b"))
    assert isinstance(raised.value, ValueError)
    message = str(raised.value)
    assert "2000 ms ahead" in message
    assert "'b'" in message
    assert "max_offset" in message
    assert "clock" in message


def test_the_drift_error_survives_pickling_with_its_evidence() -> None:
    error = ClockDriftError(Timestamp(3_000, 1, "b"), 1_000, 500)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.remote, copy.physical, copy.max_offset) == (error.remote, 1_000, 500)
    assert str(copy) == str(error)


def test_a_zero_max_offset_rejects_any_remote_from_the_future() -> None:
    clock, _ = make_clock(1_000, max_offset=0)
    assert clock.update(Timestamp(1_000, 0, "b")) == Timestamp(1_000, 1, "a")
    with pytest.raises(ClockDriftError):
        clock.update(Timestamp(1_001, 0, "b"))


def test_max_offset_none_disables_the_drift_guard() -> None:
    clock, _ = make_clock(1_000, max_offset=None)
    far = Timestamp(10**12, 3, "b")
    assert clock.update(far) == Timestamp(10**12, 4, "a")


def test_a_remote_far_in_the_past_is_never_rejected() -> None:
    clock, _ = make_clock(10**9, max_offset=500)
    assert clock.update(Timestamp(1, 0, "b")) == Timestamp(10**9, 0, "a")


# -- overflow of the logical counter carries into the wall time -----------------------------


def test_now_at_logical_0xffff_carries_into_the_wall_time() -> None:
    clock, _ = advanced_to(1_000, 0xFFFE, time=1_000)
    assert clock.now() == Timestamp(1_000, 0xFFFF, "a")
    assert clock.now() == Timestamp(1_001, 0, "a")
    assert clock.now() == Timestamp(1_001, 1, "a")


def test_update_at_logical_0xffff_carries_into_the_wall_time() -> None:
    clock, _ = advanced_to(1_000, 0xFFFF, time=1_000)
    assert clock.update(Timestamp(1_000, 3, "b")) == Timestamp(1_001, 0, "a")


def test_update_from_a_remote_at_logical_0xffff_carries_into_the_wall_time() -> None:
    clock, _ = make_clock(1_000)
    remote = Timestamp(1_200, 0xFFFF, "b")
    stamp = clock.update(remote)
    assert stamp == Timestamp(1_201, 0, "a")
    assert stamp[:2] > remote[:2]
    assert stamp.pack() > remote.pack()


# -- Timestamp order and the packed form ----------------------------------------------------


def test_timestamps_order_by_wall_then_logical_then_node() -> None:
    stamps = [
        Timestamp(2, 0, "a"),
        Timestamp(1, 5, "b"),
        Timestamp(1, 5, "a"),
        Timestamp(1, 0, "z"),
    ]
    assert sorted(stamps) == [stamps[3], stamps[2], stamps[1], stamps[0]]


@pytest.mark.parametrize(
    "stamp",
    [
        Timestamp(0, 0, "a"),
        Timestamp(1_700_000_000_000, 12, "n1"),
        Timestamp(2**48 - 1, 0xFFFF, ""),
    ],
)
def test_pack_then_unpack_restores_the_timestamp(stamp: Timestamp) -> None:
    assert Timestamp.unpack(stamp.pack(), stamp.node) == stamp


def test_unpack_defaults_to_an_empty_node() -> None:
    assert Timestamp.unpack(Timestamp(3, 4, "x").pack()) == Timestamp(3, 4, "")


@pytest.mark.parametrize(
    "stamp", [Timestamp(2**48, 0, "a"), Timestamp(-1, 0, "a"), Timestamp(0, 2**16, "a")]
)
def test_pack_rejects_parts_that_do_not_fit(stamp: Timestamp) -> None:
    with pytest.raises(ValueError, match="does not fit"):
        stamp.pack()


def test_pack_rejects_a_negative_logical_counter() -> None:
    with pytest.raises(ValueError):
        Timestamp(0, -1, "a").pack()


@pytest.mark.parametrize("packed", [-1, 2**64, 2**70])
def test_unpack_rejects_integers_outside_64_bits(packed: int) -> None:
    with pytest.raises(ValueError, match=r"2\*\*64"):
        Timestamp.unpack(packed)


def test_unpack_rejects_a_non_integer() -> None:
    with pytest.raises(TypeError):
        Timestamp.unpack("12")  # type: ignore[arg-type]


walls = st.integers(0, 2**48 - 1)
logicals = st.integers(0, 0xFFFF)
nodes = st.text(max_size=3)


@given(walls, logicals, nodes)
def test_unpack_inverts_pack(wall: int, logical: int, node: str) -> None:
    stamp = Timestamp(wall, logical, node)
    assert Timestamp.unpack(stamp.pack(), node) == stamp


@given(walls, logicals, walls, logicals)
def test_packed_integer_order_equals_wall_logical_order(
    wall_1: int, logical_1: int, wall_2: int, logical_2: int
) -> None:
    first, second = Timestamp(wall_1, logical_1, "a"), Timestamp(wall_2, logical_2, "a")
    assert (first.pack() < second.pack()) == (first < second)
    assert (first.pack() == second.pack()) == (first == second)


# -- the paper's invariants under arbitrary interleavings ----------------------------------

MAX_OFFSET = 500

# Each step is (kind, amount, logical): a local event; the receipt of a remote stamp whose wall
# is ``amount`` away from physical time (within the bound); or a wall-clock jump by ``amount``.
Step = tuple[str, int, int]
local_event = st.tuples(st.just("local"), st.just(0), st.just(0))
# Counters near 0xFFFF are drawn often, so that carries into the wall time happen in the runs.
remote_logicals = st.one_of(st.integers(0, 0xFFFF), st.sampled_from([0xFFFD, 0xFFFE, 0xFFFF]))
receive = st.tuples(st.just("receive"), st.integers(-5_000, MAX_OFFSET), remote_logicals)
jump = st.tuples(st.just("jump"), st.integers(-3_000, 3_000), st.just(0))


@given(st.lists(st.one_of(local_event, receive, jump), max_size=60))
def test_interleaved_events_keep_the_hlc_monotonic_ahead_of_physical_time_and_of_remotes(
    script: list[Step],
) -> None:
    """Strictly increasing stamps, never behind physical time, every receipt after its remote."""
    clock, physical = make_clock(1_000_000, max_offset=MAX_OFFSET)
    previous = clock.last
    for kind, amount, logical in script:
        if kind == "jump":
            physical.time = max(0, physical.time + amount)
            continue
        if kind == "local":
            stamp = clock.now()
        else:
            remote = Timestamp(max(0, physical.time + amount), logical, "b")
            stamp = clock.update(remote)
            assert stamp[:2] > remote[:2]
        assert stamp[:2] > previous[:2]
        assert stamp.wall >= physical.time
        assert stamp == clock.last
        assert stamp.node == "a"
        assert 0 <= stamp.logical <= 0xFFFF
        previous = stamp


@given(st.lists(st.one_of(local_event, receive, jump), max_size=20), st.integers(1, 10**9))
def test_a_remote_beyond_the_drift_bound_changes_nothing(history: list[Step], beyond: int) -> None:
    clock, physical = make_clock(1_000_000, max_offset=MAX_OFFSET)
    for kind, amount, logical in history:
        if kind == "jump":
            physical.time = max(0, physical.time + amount)
        elif kind == "local":
            clock.now()
        else:
            clock.update(Timestamp(max(0, physical.time + amount), logical, "b"))
    before = clock.last
    remote = Timestamp(physical.time + MAX_OFFSET + beyond, 0, "b")
    with pytest.raises(ClockDriftError) as raised:
        clock.update(remote)
    assert raised.value.remote == remote
    assert raised.value.physical == physical.time
    assert raised.value.max_offset == MAX_OFFSET
    assert clock.last == before


@pytest.mark.parametrize(
    "remote", [Timestamp(5, -10, "b"), Timestamp(-1, 0, "b"), Timestamp(5, 0x10000, "b")]
)
def test_update_refuses_an_out_of_range_remote_and_changes_nothing(remote: Timestamp) -> None:
    """Regression (found in review): a negative logical part was taken in, giving a stamp
    that pack() later refused."""
    clock = HLC("a", now=lambda: 10)
    before = clock.now()
    with pytest.raises(ValueError, match="out of range"):
        clock.update(remote)
    assert clock.last == before


def test_a_physical_clock_returning_a_float_is_refused() -> None:
    """Regression (found in review): now=time.time gave float stamps that LWW types and
    the wire format later rejected far from the cause."""
    clock = HLC("a", now=time.time)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must return an int"):
        clock.now()
    with pytest.raises(TypeError, match="must return an int"):
        clock.update(Timestamp(1, 0, "b"))
    assert clock.last == Timestamp(0, 0, "a")
