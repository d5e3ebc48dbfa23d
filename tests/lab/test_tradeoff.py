"""The N/R/W trade-off table: each row is ``pbs`` on shared draws, so it is exact and
monotone (no statistical tolerance needed)."""

from __future__ import annotations

import itertools
import json

import pytest

pytest.importorskip("numpy", reason="the consistency lab needs numpy: pip install crdtkit[lab]")

from merge.lab import (
    WARS,
    Exponential,
    LabConfigError,
    TradeoffResult,
    pbs,
    scenarios,
    tradeoff,
)

TRIALS = 20_000


@pytest.fixture(scope="module")
def table() -> TradeoffResult:
    return tradeoff("lnkd-disk", replicas=(3, 5), trials=TRIALS, seed=4)


def test_every_configuration_up_to_n_is_measured(table: TradeoffResult) -> None:
    assert table.replicas == (3, 5)
    assert [(row.n, row.r, row.w) for row in table.rows] == [
        (n, r, w) for n in (3, 5) for r in range(1, n + 1) for w in range(1, n + 1)
    ]


@pytest.mark.parametrize(("n", "r", "w"), [(3, 1, 1), (3, 2, 1), (5, 2, 2), (5, 1, 4)])
def test_each_row_is_pbs_with_the_same_seed(table: TradeoffResult, n: int, r: int, w: int) -> None:
    row = table.row(n, r, w)
    alone = pbs(n, r, w, "lnkd-disk", trials=TRIALS, seed=4)
    assert row.p_consistent_0 == alone.p_consistent(0)
    assert row.t_visibility_999_ms == alone.t_visibility(0.999)
    assert row.read_p999_ms == alone.latency_ms("read", 0.999)
    assert row.write_p999_ms == alone.latency_ms("write", 0.999)


def test_strict_quorums_are_consistent_at_once(table: TradeoffResult) -> None:
    for row in table.rows:
        assert row.strict == (row.r + row.w > row.n)
        if row.strict:
            assert row.p_consistent_0 == 1.0
            assert row.t_visibility_999_ms == 0.0
        else:
            assert row.p_consistent_0 < 1.0


def test_a_larger_quorum_is_slower_and_never_staler(table: TradeoffResult) -> None:
    """On shared draws: more replies or acks to wait for never makes the wait shorter, and
    never makes the read staler."""
    for n in table.replicas:
        for r, w in itertools.product(range(1, n), range(1, n + 1)):
            smaller, larger = table.row(n, r, w), table.row(n, r + 1, w)
            assert larger.read_p999_ms >= smaller.read_p999_ms
            assert larger.p_consistent_0 >= smaller.p_consistent_0
            smaller, larger = table.row(n, w, r), table.row(n, w, r + 1)
            assert larger.write_p999_ms >= smaller.write_p999_ms
            assert larger.p_consistent_0 >= smaller.p_consistent_0


def test_progress_reports_each_configuration() -> None:
    calls: list[tuple[int, int]] = []
    tradeoff(
        WARS(Exponential(2.0), Exponential(1.0), Exponential(1.0), Exponential(1.0)),
        replicas=[2],
        trials=1_000,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_report_and_as_dict(table: TradeoffResult) -> None:
    assert "| 3 | 1 | 1 | no |" in table.report()
    summary = table.as_dict()
    assert len(summary["rows"]) == 9 + 25
    json.dumps(summary)
    with pytest.raises(LookupError):
        table.row(4, 1, 1)


@pytest.mark.parametrize(
    ("arguments", "parameter"),
    [
        ({"fit": "lnkd-hdd"}, "name"),
        ({"fit": 3}, "fit"),
        ({"replicas": []}, "replicas"),
        ({"replicas": [0]}, "replicas"),
        ({"trials": 0}, "trials"),
        ({"seed": -2}, "seed"),
    ],
)
def test_bad_parameters_raise_lab_config_error(arguments: dict, parameter: str) -> None:
    with pytest.raises(LabConfigError) as raised:
        tradeoff(**{"fit": "lnkd-ssd", "trials": 100, **arguments})
    assert raised.value.parameter == parameter


def test_the_tradeoff_scenario_and_its_plot(tmp_path) -> None:
    entry = {entry.name: entry for entry in scenarios()}["tradeoff"]
    result = entry.run(fit="lnkd-ssd", replicas=[3], trials=2_000, seed=1)
    assert isinstance(result, TradeoffResult)
    assert result.fit == "lnkd-ssd"
    pytest.importorskip("matplotlib")
    result.plot(str(tmp_path / "tradeoff.png"))
    assert (tmp_path / "tradeoff.png").stat().st_size > 0
