"""multi_writer: two regions accept writes under a partition; LWW loses concurrent
updates, siblings keep them (until the application merges), crdtkit types lose none.

The counts are exact for every seed: the LWW loss equals an independent replay of LWW with
plain sets, and the siblings left equal the updates no other update observed. Hypothesis
draws seeds and workloads to check them.
"""

from __future__ import annotations

import inspect
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from merge.lab import DATA_TYPES, LabConfigError, multi_writer, scenarios

SHORT = {"duration_ms": 8_000.0, "partition_start_ms": 2_000.0, "partition_end_ms": 6_000.0}


@pytest.mark.parametrize("seed", range(4))
def test_lww_loses_exactly_the_concurrently_overwritten_increments(seed: int) -> None:
    result = multi_writer(data="counter", seed=seed, **SHORT)
    assert result.lost_acked_updates["lww"] == result.lww_concurrent_overwrites > 0
    assert result.final_values["lww"] == result.acked_updates - result.lww_concurrent_overwrites


@pytest.mark.parametrize("data", DATA_TYPES)
@pytest.mark.parametrize("seed", range(3))
def test_the_crdt_loses_no_acknowledged_update(data: str, seed: int) -> None:
    result = multi_writer(data=data, seed=seed, **SHORT)  # type: ignore[arg-type]
    assert result.lost_acked_updates["crdt"] == 0
    assert result.final_values["crdt"] == result.expected_value
    assert result.lost_acked_updates["lww"] > 0


def test_a_partition_until_the_end_leaves_each_regions_last_write_as_a_sibling() -> None:
    result = multi_writer(
        data="cart", duration_ms=6_000, partition_start_ms=3_000, partition_end_ms=6_000, seed=1
    )
    assert result.siblings_final == result.siblings_concurrent_heads == 2


def test_siblings_lose_only_through_the_applications_merge() -> None:
    # the store keeps every concurrent write; max-merging counter siblings drops the
    # increments of all but one of them
    result = multi_writer(data="counter", seed=2, **SHORT)
    assert 0 < result.lost_acked_updates["siblings"] <= result.lww_concurrent_overwrites
    # union-merging set siblings brings removed elements back
    result = multi_writer(data="set", remove_fraction=0.5, seed=2, **SHORT)
    assert result.lost_acked_updates["siblings"] > 0
    assert set(result.final_values["siblings"]) > set(result.expected_value)


@settings(max_examples=15, deadline=None)
@given(
    data=st.sampled_from(DATA_TYPES),
    seed=st.integers(0, 10_000),
    update_rate=st.floats(0.5, 6),
    loss=st.floats(0, 0.5),
    partition=st.tuples(st.floats(0, 4_000), st.floats(0, 4_000)).map(sorted),
    skew_ms=st.integers(0, 2_000),
)
def test_the_counts_hold_for_any_workload(
    data: str,
    seed: int,
    update_rate: float,
    loss: float,
    partition: list[float],
    skew_ms: int,
) -> None:
    result = multi_writer(
        data=data,  # type: ignore[arg-type]
        seed=seed,
        update_rate=update_rate,
        loss=loss,
        duration_ms=4_000,
        partition_start_ms=partition[0],
        partition_end_ms=partition[1],
        skew_ms=skew_ms,
    )
    assert result.lost_acked_updates["crdt"] == 0
    assert result.siblings_final == result.siblings_concurrent_heads
    if data == "counter":
        assert result.lost_acked_updates["lww"] == result.lww_concurrent_overwrites
    if data == "set":
        # a lost set update was overwritten; an overwritten remove can be redone elsewhere
        assert result.lost_acked_updates["lww"] <= result.lww_concurrent_overwrites


def test_without_concurrency_nothing_is_lost() -> None:
    # one write every 20 s on average and pushes that land within ~50 ms: no two updates
    # are concurrent for these seeds, so no resolution loses anything
    for seed in range(3):
        result = multi_writer(
            data="cart", update_rate=0.05, loss=0, partition_start_ms=0, partition_end_ms=0,
            duration_ms=60_000, seed=seed,
        )  # fmt: skip
        assert result.lww_concurrent_overwrites == 0
        assert result.lost_acked_updates == {"lww": 0, "siblings": 0, "crdt": 0}


def test_staleness_covers_the_partition() -> None:
    result = multi_writer(data="counter", seed=0, **SHORT)
    assert result.stale_reads > 0
    assert 3_000 < result.max_staleness_ms < 8_000
    assert result.availability == 1.0 and result.updates_during_partition > 0


def test_a_seed_reproduces_a_run_and_as_dict_is_json() -> None:
    first = multi_writer(seed=5, **SHORT)
    assert first == multi_writer(seed=5, **SHORT)
    assert first != multi_writer(seed=6, **SHORT)
    data = json.loads(json.dumps(first.as_dict()))
    assert set(data["lost_acked_updates"]) == {"lww", "siblings", "crdt"}
    assert "expected" in first.report()


def test_progress_is_reported_per_resolution() -> None:
    seen: list[tuple[int, int]] = []
    multi_writer(progress=lambda done, total: seen.append((done, total)), **SHORT)
    assert seen == [(1, 3), (2, 3), (3, 3)]


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("data", "map"),
        ("update_rate", 0),
        ("read_rate", -1.0),
        ("loss", 1.5),
        ("partition_end_ms", 1_000.0),
        ("items", 0),
        ("skew_ms", -5),
        ("seed", 1.0),
    ],
)
def test_a_bad_parameter_raises_and_names_itself(parameter: str, value: object) -> None:
    with pytest.raises(LabConfigError) as caught:
        multi_writer(**{parameter: value})  # type: ignore[arg-type]
    assert caught.value.parameter == parameter


def test_it_is_the_multi_writer_scenario() -> None:
    entry = {s.name: s for s in scenarios()}["multi-writer"]
    assert entry.function is multi_writer
    for name, parameter in entry.signature.parameters.items():
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY, name
        assert parameter.default is not inspect.Parameter.empty, name
