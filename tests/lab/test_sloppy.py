"""Sloppy quorum with hinted handoff (Dynamo section 4.6) through a partition and its heal.

The claims checked are Dynamo's: a sloppy quorum keeps accepting writes when the home
replicas are cut off (a strict one does not); reads of the home replicas after the heal are
stale until the hints are handed off, and never after; a fallback that crashes first loses
its hints. Message delays are exponential with a 1 ms mean and the timeout is 100 ms, so a
reachable node misses the timeout with probability e^-50 per message: the availability
figures below are exact, not statistical.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("numpy", reason="the consistency lab needs numpy: pip install crdtkit[lab]")

from merge.lab import (
    Exponential,
    LabConfigError,
    Pareto,
    SloppyResult,
    scenarios,
    sloppy_quorum,
)

QUICK = {"partition_s": 1.0, "after_s": 2.0, "handoff_interval_s": 0.5}


def test_sloppy_writes_stay_available_during_the_partition_and_strict_ones_do_not() -> None:
    sloppy = sloppy_quorum(3, 2, 2, seed=1, **QUICK)  # cut defaults to n - w + 1 = 2 homes
    assert sloppy.writes > 0
    assert sloppy.write_availability == {"strict": 0.0, "sloppy": 1.0}
    strict = sloppy_quorum(3, 2, 2, sloppy=False, seed=1, **QUICK)
    assert strict.writes_acknowledged == 0
    assert strict.write_availability == {"strict": 0.0, "sloppy": None}


def test_a_strict_quorum_that_reaches_w_homes_keeps_writing() -> None:
    result = sloppy_quorum(5, 3, 3, sloppy=False, cut=2, seed=2, **QUICK)
    assert result.write_availability["strict"] == 1.0


@pytest.mark.parametrize("seed", range(4))
def test_home_reads_are_stale_until_the_handoff_then_never(seed: int) -> None:
    """With every home cut off, only fallbacks hold the writes: every home read answered
    before the first hint arrives is stale, and every read after the handoff is fresh."""
    result = sloppy_quorum(
        3, 1, 1, cut=3, seed=seed, reads_per_s=200, partition_s=1.0, handoff_interval_s=2.0
    )
    first_handoff = result.handoffs_ms[0]
    early = [
        read
        for read in result.reads
        if result.heal_ms <= read.started_ms and read.started_ms + 100 < first_handoff
    ]
    assert early, "the scan interval leaves a window before the first handoff"
    assert all(read.home_only and read.outcome == "stale" for read in early)
    assert result.handoff_done_ms is not None
    late = [read for read in result.reads if result.phase(read) == "after_handoff"]
    assert late and all(read.home_only and read.outcome == "fresh" for read in late)
    assert result.stale_fraction("after_handoff") == 0.0


def test_even_r_plus_w_above_n_reads_stale_home_replicas_before_the_handoff() -> None:
    result = sloppy_quorum(
        3, 2, 2, partition_s=2.0, handoff_interval_s=2.0, reads_per_s=200, seed=0
    )
    before = result.stale_fraction("before_handoff")
    assert before is not None and before > 0.1
    assert result.stale_fraction("after_handoff") == 0.0
    # during the partition the sloppy members themselves overlap: R + W > N holds there
    assert result.stale_fraction("partition") == 0.0


@pytest.mark.parametrize("seed", range(3))
def test_a_strict_quorum_never_reads_stale(seed: int) -> None:
    result = sloppy_quorum(3, 2, 2, sloppy=False, cut=1, seed=seed, **QUICK)
    for phase in ("partition", "before_handoff", "after_handoff"):
        assert result.stale_fraction(phase) in (0.0, None)
    assert result.write_availability["strict"] == 1.0


def test_a_fallback_that_crashes_before_handing_off_loses_its_hints() -> None:
    result = sloppy_quorum(3, 1, 1, cut=3, crash_fallback=True, seed=4, **QUICK)
    assert result.crashed_fallback == 3
    assert result.hints_lost == 1
    assert result.homes_missing_latest == 1  # until anti-entropy, which is not modelled
    assert result.acknowledged_writes_lost == 0  # the other fallbacks still held the writes
    stale = result.stale_fraction("after_handoff")
    assert stale is not None and 0 < stale < 1  # R = 1 reads hit the stale home sometimes
    crash = result.as_dict()["fallback_crash"]
    assert crash["hints_lost"] == 1
    assert "fallback 3 crashed: 1 hint(s) lost" in result.report()


def test_a_write_held_by_one_fallback_is_lost_with_it() -> None:
    result = sloppy_quorum(1, 1, 1, crash_fallback=True, seed=5, **QUICK)
    assert result.writes_acknowledged > 0
    assert result.acknowledged_writes_lost == result.writes_acknowledged
    assert result.homes_missing_latest == 1
    assert result.handoffs_ms == ()


@settings(max_examples=15, deadline=None)
@given(st.data())
def test_invariants_of_any_configuration(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 4), label="n")
    r = data.draw(st.integers(1, n), label="r")
    w = data.draw(st.integers(1, n), label="w")
    cut = data.draw(st.integers(1, n), label="cut")
    sloppy = data.draw(st.booleans(), label="sloppy")
    seed = data.draw(st.integers(0, 1000), label="seed")
    result = sloppy_quorum(
        n,
        r,
        w,
        cut=cut,
        sloppy=sloppy,
        seed=seed,
        partition_s=0.5,
        after_s=1.5,
        handoff_interval_s=0.4,
    )
    availability = result.write_availability
    if result.writes:
        assert availability["strict"] == (1.0 if n - cut >= w else 0.0)
        if sloppy:
            assert availability["sloppy"] == 1.0
    # without a crash nothing acknowledged is lost, and once the hints are handed off no
    # read is stale; a strict quorum has no hints, so its cut homes stay behind (until
    # anti-entropy) and only overlapping quorums are sure to read fresh
    assert result.acknowledged_writes_lost == 0
    if sloppy:
        assert result.homes_missing_latest == 0
    if sloppy or r + w > n:
        assert result.stale_fraction("after_handoff") in (0.0, None)
    if r + w > n and not sloppy:
        assert result.stale_fraction("before_handoff") in (0.0, None)


def test_the_same_seed_replays_exactly() -> None:
    first = sloppy_quorum(3, 2, 2, seed=9, **QUICK)
    second = sloppy_quorum(3, 2, 2, seed=9, **QUICK)
    assert first == second
    json.dumps(first.as_dict())
    assert "sloppy quorum N=3 R=2 W=2" in first.report()
    assert "sloppy n=3" in repr(first)


@pytest.mark.parametrize(
    ("arguments", "parameter"),
    [
        ({"cut": 4}, "cut"),
        ({"r": 4}, "r"),
        ({"partition_s": 0}, "partition_s"),
        ({"latency": 1.0}, "latency"),
        ({"timeout_ms": -1}, "timeout_ms"),
        ({"reads_per_s": 0}, "reads_per_s"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_parameters_raise_lab_config_error(arguments: dict, parameter: str) -> None:
    with pytest.raises(LabConfigError) as raised:
        sloppy_quorum(**{"n": 3, "r": 2, "w": 2, **arguments})
    assert raised.value.parameter == parameter


def test_the_sloppy_scenario_runs_with_its_defaults_changed() -> None:
    entry = {entry.name: entry for entry in scenarios()}["sloppy"]
    result = entry.run(partition_s=1.0, after_s=1.0, latency_mean_ms=2.0, seed=3)
    assert isinstance(result, SloppyResult)
    summary = result.as_dict()
    assert set(summary) >= {
        "write_availability",
        "stale_home_reads_before_handoff",
        "stale_reads_after_handoff",
        "fallback_crash",
    }
    other = sloppy_quorum(partition_s=1.0, after_s=1.0, latency=Exponential(2.0), seed=3)
    assert other == result


def test_the_newest_acknowledged_version_never_goes_back_when_acks_arrive_out_of_order() -> None:
    """Regression (found in review): the newest acknowledged write was the last one
    acknowledged, so a slow write completing after a newer one made reads look fresh
    against an older version."""
    result = sloppy_quorum(
        3, 1, 2, latency=Pareto(0.5, 1.2), writes_per_s=300, reads_per_s=300, seed=6, **QUICK
    )
    latest = [read.latest for read in sorted(result.reads)]
    assert latest == sorted(latest)
