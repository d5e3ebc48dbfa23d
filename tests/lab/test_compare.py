"""compare: the strategies side by side; each row agrees with the model it comes from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from merge.lab import (
    STRATEGIES,
    CompareResult,
    LabConfigError,
    compare,
    multi_writer,
    scenarios,
    simulate_cache,
)
from merge.sim import Faults

SMALL = {
    "keys": 4,
    "duration_ms": 6_000,
    "crash_at_ms": 2_500,
    "partition_start_ms": 2_000,
    "partition_end_ms": 4_000,
}


@pytest.fixture(scope="module")
def result() -> CompareResult:
    return compare(seed=1, **SMALL)


def test_every_strategy_has_a_row_with_every_column(result: CompareResult) -> None:
    rows = result.as_dict()["strategies"]
    assert list(rows) == [name for name, _, _ in STRATEGIES]
    columns = {
        "stale_read_fraction",
        "max_staleness_ms",
        "lost_acked_writes",
        "db_load_per_s",
        "write_availability_in_partition",
    }
    assert all(set(row) == columns for row in rows.values())
    json.dumps(result.as_dict())


def test_what_each_strategy_loses_and_whether_it_takes_writes_in_a_partition(
    result: CompareResult,
) -> None:
    rows = result.strategies
    for name in ("cache-aside + TTL", "cache-aside + delete-on-write", "write-through"):
        assert rows[name]["lost_acked_writes"] == 0
        assert rows[name]["write_availability_in_partition"] == 0.0
    assert rows["write-behind"]["lost_acked_writes"] > 0
    assert rows["multi-writer CRDT"]["lost_acked_writes"] == 0
    assert rows["multi-writer LWW"]["lost_acked_writes"] > 0
    for name in ("write-behind", "multi-writer LWW", "multi-writer siblings", "multi-writer CRDT"):
        assert rows[name]["write_availability_in_partition"] == 1.0
    # invalidating on write is what keeps a cache-aside cache fresh
    assert (
        rows["cache-aside + delete-on-write"]["stale_read_fraction"]
        < rows["cache-aside + TTL"]["stale_read_fraction"]
    )


def test_rows_are_the_models_own_figures(result: CompareResult) -> None:
    direct = simulate_cache(
        policy="write-behind", invalidation="delete-on-write", ttl_ms=5_000, read_rate=200,
        write_rate=20, keys=4, caches=2, faults=Faults(drop=0.05, delay=(1, 5)),
        flush_ms=1_000, crash_at_ms=2_500, duration_ms=6_000, seed=1,
    )  # fmt: skip
    assert result.strategies["write-behind"]["lost_acked_writes"] == direct.acked_writes_lost
    assert result.strategies["write-behind"]["stale_read_fraction"] == direct.stale_read_fraction
    lww = sum(
        multi_writer(
            data="counter", update_rate=20 / 4 / 2, read_rate=200 / 4 / 2, duration_ms=6_000,
            partition_start_ms=2_000, partition_end_ms=4_000, loss=0.05, delay_mean_ms=30,
            seed=1 * 4 + key,
        ).lost_acked_updates["lww"]
        for key in range(4)
    )  # fmt: skip
    assert result.strategies["multi-writer LWW"]["lost_acked_writes"] == lww


def test_report_is_a_markdown_table(result: CompareResult) -> None:
    lines = result.report().splitlines()
    assert len(lines) == 2 + len(STRATEGIES)
    assert all(line.startswith("|") and line.endswith("|") for line in lines)
    assert lines[2].startswith("| cache-aside + TTL |")


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("keys", 0),
        ("loss", 2.0),
        ("crash_at_ms", 6_000),
        ("partition_end_ms", 1_000),
        ("write_rate", 0),
        ("duration_ms", 1.5),
    ],
)
def test_a_bad_parameter_raises_and_names_itself(parameter: str, value: object) -> None:
    with pytest.raises(LabConfigError) as caught:
        compare(**{**SMALL, parameter: value})  # type: ignore[arg-type]
    assert caught.value.parameter == parameter


def test_it_is_the_compare_scenario() -> None:
    assert {s.name: s for s in scenarios()}["compare"].function is compare


def test_the_docs_table_is_what_compare_prints() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "lab" / "caching.md").read_text()
    start = page.index("| strategy | stale reads |")
    table = page[start : page.index("\n\n", start)]
    assert table == compare(seed=0).report()
