"""Asynchronous and synchronous followers: P(stale at t) against the lag law's tail.

Tolerance: a probability p estimated from n trials has standard error sqrt(p(1 - p) / n);
each check allows Z = 4 standard errors (plus 1e-12 for float rounding). With the seeds
fixed the verdicts never change; a correct simulation misses such a band for a given seed
about once in 16,000 comparisons.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

np = pytest.importorskip(
    "numpy", reason="the consistency lab needs numpy: pip install crdtkit[lab]"
)

from merge.lab import (  # noqa: E402
    Exponential,
    FollowerResult,
    LabConfigError,
    Mixture,
    Pareto,
    async_follower,
    scenarios,
)

TRIALS = 200_000
Z = 4


def band(p: float, trials: int = TRIALS) -> float:
    return Z * math.sqrt(p * (1 - p) / trials) + 1e-12


@pytest.fixture(scope="module")
def exponential() -> FollowerResult:
    return async_follower(Exponential(10.0), trials=TRIALS, seed=2012)


@pytest.mark.parametrize("t_ms", [0.0, 1.0, 5.0, 10.0, 20.0, 40.0, 69.0])
def test_p_stale_of_an_exponential_lag_is_its_tail(
    exponential: FollowerResult, t_ms: float
) -> None:
    """P(stale at t) = e^(-t/L) for a lag of mean L = 10 ms, within 4 standard errors."""
    expected = math.exp(-t_ms / 10.0)
    assert abs(exponential.p_stale(t_ms) - expected) <= band(expected)


@pytest.mark.parametrize("t_ms", [2.0, 3.0, 6.0])
def test_p_stale_of_a_pareto_lag_is_its_tail(t_ms: float) -> None:
    result = async_follower(Pareto(2.0, 2.5), trials=50_000, seed=3)
    expected = (2.0 / t_ms) ** 2.5
    assert abs(result.p_stale(t_ms) - expected) <= band(expected, 50_000)


def test_t_visibility_is_where_p_stale_drops_below_one_minus_p(
    exponential: FollowerResult,
) -> None:
    t = exponential.t_visibility(0.999)
    assert exponential.p_stale(t) <= 0.001
    assert abs(t - 10.0 * math.log(1000)) < 3.0  # the exponential's quantile, loosely
    assert exponential.t_visibility(0) == float(exponential.lag_ms[0])


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.floats(0, 200, allow_nan=False), min_size=2, max_size=6),
    st.integers(0, 2**16),
)
def test_p_stale_never_increases_with_time(times: list[float], seed: int) -> None:
    result = async_follower(
        Mixture([(0.9, Exponential(1.0)), (0.1, Pareto(5.0, 1.5))]), trials=2_000, seed=seed
    )
    staleness = [result.p_stale(t) for t in sorted(times)]
    assert staleness == sorted(staleness, reverse=True)


def test_synchronous_replication_is_never_stale_and_pays_the_lag_in_commit_latency() -> None:
    lag = Exponential(10.0)
    sync = async_follower(lag, trials=20_000, seed=1, synchronous=True)
    assert all(sync.p_stale(t) == 0.0 for t in (0, 0.5, 1, 10, 100))
    assert sync.t_visibility(0.999) == 0.0
    # the commit waits for lag + ack: at least the lag's own quantile
    assert sync.commit_ms(0.5) >= float(np.median(sync.lag_ms))
    assert async_follower(lag, trials=20_000, seed=1).commit_ms(0.999) == 0.0


def test_the_same_seed_gives_the_same_result() -> None:
    first = async_follower(Exponential(3.0), trials=5_000, seed=7).as_dict()
    assert first == async_follower(Exponential(3.0), trials=5_000, seed=7).as_dict()
    json.dumps(first)


@pytest.mark.parametrize(
    ("arguments", "parameter"),
    [
        ({"lag": 10.0}, "lag"),
        ({"lag": Exponential(1.0), "trials": 0}, "trials"),
        ({"lag": Exponential(1.0), "seed": -1}, "seed"),
        ({"lag": Exponential(1.0), "ack": "fast"}, "ack"),
    ],
)
def test_bad_parameters_raise_lab_config_error(arguments: dict, parameter: str) -> None:
    with pytest.raises(LabConfigError) as raised:
        async_follower(**arguments)
    assert raised.value.parameter == parameter


def test_p_stale_rejects_negative_times(exponential: FollowerResult) -> None:
    with pytest.raises(LabConfigError):
        exponential.p_stale(-1)


def test_the_async_scenario_builds_the_law_from_its_mean() -> None:
    entry = {entry.name: entry for entry in scenarios()}["async"]
    result = entry.run(lag_mean_ms=5.0, law="pareto", alpha=3.0, trials=20_000, seed=1)
    assert isinstance(result, FollowerResult)
    assert result.lag == Pareto(5.0 * 2 / 3, 3.0)
    assert abs(result.lag.mean_ms - 5.0) < 1e-12
    assert set(result.as_dict()) >= {"p_stale", "t_visibility_ms", "mean_lag_ms"}
    assert "P(stale)" in result.report()
    with pytest.raises(LabConfigError):
        entry.run(law="pareto", alpha=1.0)


def test_plot_writes_an_image(tmp_path, exponential: FollowerResult) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "follower.png"
    exponential.plot(str(path))
    assert path.stat().st_size > 0
