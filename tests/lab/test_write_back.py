"""write_back: write-behind loses what was acknowledged since the last flush; write-through
and Dynamo's replicated write-behind lose nothing acknowledged.

Tolerances come from the model's standard error. With crash offsets U = C mod F (uniform
on [0, F) when the duration is a multiple of F), the writes lost in one trial are Poisson
with mean rate * U, so their variance is rate * E[U] + rate**2 * Var(U) = rate * F / 2 +
(rate * F)**2 / 12; the mean over n trials is checked to within 4 standard errors
(sqrt(variance / n)): a false failure about 1 time in 16,000.
"""

from __future__ import annotations

import inspect
import json
import math
from pathlib import Path

import pytest

from merge.lab import LabConfigError, WriteBackResult, scenarios, write_back


def four_standard_errors(rate_per_ms: float, flush_ms: float, trials: int) -> float:
    variance = rate_per_ms * flush_ms / 2 + (rate_per_ms * flush_ms) ** 2 / 12
    return 4 * math.sqrt(variance / trials)


@pytest.mark.parametrize(("write_rate", "flush_ms", "seed"), [(50, 1_000, 0), (200, 250, 1)])
def test_write_behind_loses_write_rate_times_half_the_flush_interval(
    write_rate: float, flush_ms: float, seed: int
) -> None:
    trials = 300
    result = write_back(
        policy="write-behind",
        write_rate=write_rate,
        flush_ms=flush_ms,
        duration_ms=10 * flush_ms,
        trials=trials,
        seed=seed,
    )
    expected = write_rate / 1000 * flush_ms / 2
    assert result.expected_lost_acked_writes == pytest.approx(expected)
    tolerance = four_standard_errors(write_rate / 1000, flush_ms, trials)
    assert abs(result.lost_acked_writes_mean - expected) <= tolerance
    # the sample's own standard error agrees with the model's (within a third)
    assert result.lost_acked_writes_se == pytest.approx(tolerance / 4, rel=0.33)


def test_a_duration_that_is_not_a_multiple_of_the_flush_interval_is_accounted_for() -> None:
    # C uniform on [0, 2500), F = 1000: E[C mod F] = (2 * 1000**2 / 2 + 500**2 / 2) / 2500
    result = write_back(
        policy="write-behind", write_rate=100, flush_ms=1_000, duration_ms=2_500, trials=300
    )
    assert result.expected_lost_acked_writes == pytest.approx(100 / 1000 * 450)
    # a looser bound than the uniform case: 4 standard errors of the uniform model at F
    tolerance = four_standard_errors(0.1, 1_000, 300)
    assert abs(result.lost_acked_writes_mean - 45) <= tolerance


def test_each_trials_loss_is_at_most_what_arrived_since_the_last_flush() -> None:
    result = write_back(policy="write-behind", write_rate=100, trials=50, seed=4)
    assert all(0 <= since < result.flush_ms for since in result.since_flush_ms)
    assert len(result.lost) == 50 and max(result.lost) == result.lost_acked_writes_max


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("policy", ["write-through", "write-behind-replicated"])
def test_write_through_and_replicated_write_behind_lose_no_acknowledged_write(
    policy: str, seed: int
) -> None:
    result = write_back(policy=policy, write_rate=100, trials=20, seed=seed)
    assert result.acked_writes > 0
    assert result.lost_acked_writes_mean == 0 and result.lost_acked_writes_max == 0


def test_the_replica_adds_no_latency_and_write_through_pays_the_database() -> None:
    behind = write_back(policy="write-behind", trials=30, seed=2)
    replicated = write_back(policy="write-behind-replicated", trials=30, seed=2)
    through = write_back(policy="write-through", trials=30, seed=2)
    # one seed, the same writes and crashes: the replicated variant acknowledges identically
    assert (replicated.ack_p50_ms, replicated.ack_p999_ms) == (
        behind.ack_p50_ms,
        behind.ack_p999_ms,
    )
    # exponential cache (mean 0.2 ms) and database (mean 5 ms) latencies
    assert through.ack_p50_ms > 10 * behind.ack_p50_ms
    assert through.ack_p999_ms > 10 * behind.ack_p999_ms
    # write-behind coalesces repeated writes to a key within a flush
    hot = write_back(policy="write-behind", keys=10, trials=30, seed=2)
    assert hot.db_writes_per_s < 20 < through.db_writes_per_s


def test_a_seed_reproduces_a_run_and_as_dict_is_json() -> None:
    first = write_back(trials=20, seed=7)
    assert first == write_back(trials=20, seed=7)
    assert first != write_back(trials=20, seed=8)
    data = json.loads(json.dumps(first.as_dict()))
    assert data["lost_acked_writes_mean"] == first.lost_acked_writes_mean
    assert {"ack_p50_ms", "ack_p99_ms", "ack_p999_ms"} <= set(data)
    assert "lost" not in data and "since_flush_ms" not in data


def test_progress_is_reported_per_trial() -> None:
    seen: list[tuple[int, int]] = []
    write_back(trials=5, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(n, 5) for n in range(1, 6)]


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("policy", "write-around"),
        ("write_rate", 0),
        ("flush_ms", -1.0),
        ("duration_ms", math.inf),
        ("trials", 1),
        ("keys", 0),
        ("seed", "0"),
        ("cache_ms", True),
    ],
)
def test_a_bad_parameter_raises_and_names_itself(parameter: str, value: object) -> None:
    with pytest.raises(LabConfigError) as caught:
        write_back(**{parameter: value})  # type: ignore[arg-type]
    assert caught.value.parameter == parameter


def test_it_is_the_write_back_scenario() -> None:
    entry = {s.name: s for s in scenarios()}["write-back"]
    assert entry.function is write_back
    for name, parameter in entry.signature.parameters.items():
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY, name
        assert parameter.default is not inspect.Parameter.empty, name


def test_plot_draws_lost_writes_against_the_time_since_the_flush(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    result: WriteBackResult = write_back(trials=20, seed=1)
    path = tmp_path / "write-back.png"
    result.plot(str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
