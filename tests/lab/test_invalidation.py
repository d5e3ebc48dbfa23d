"""The ``invalidation`` scenario and the Polaris observer (issue 14, item 3).

Each write is independent, so the number still stale at an offset is Binomial(n, p) and the
measured fraction has standard error sqrt(p (1 - p) / n). Tolerances are 4 standard errors.
"""

from __future__ import annotations

import math

import pytest

from merge.lab import CacheNode, EventLoop, LabConfigError, PolarisObserver, invalidation


def within(measured: float, expected: float, writes: int) -> bool:
    return abs(measured - expected) <= 4 * math.sqrt(expected * (1 - expected) / writes)


def test_without_retry_the_stale_fraction_after_1_s_is_the_loss_rate() -> None:
    """A delivered invalidation lands after Exp(10 ms): by 1 s all have (e^-100 late)."""
    result = invalidation(writes=20_000, loss=0.1, delay_mean_ms=10, at_ms=[1_000], seed=1)
    assert within(result.stale_fraction[1_000], 0.1, 20_000)
    assert result.nines[1_000] == pytest.approx(-math.log10(result.stale_fraction[1_000]))


def test_with_retry_the_stale_fraction_falls_like_loss_to_the_1_plus_t_over_r() -> None:
    """Sends at 0, r, 2r, ...: all floor(T/r) + 1 of them must be lost (delays of 1 ms on
    average are negligible next to T - kr >= 50 ms)."""
    offsets = [50.0, 150.0, 250.0]
    result = invalidation(
        writes=20_000, loss=0.2, delay_mean_ms=1, retry_ms=100, at_ms=offsets, seed=2
    )
    for offset in offsets:
        expected = 0.2 ** (1 + math.floor(offset / 100))
        assert within(result.stale_fraction[offset], expected, 20_000), offset
        assert result.expected(offset) == pytest.approx(expected, rel=1e-6)


def test_the_model_includes_late_deliveries() -> None:
    result = invalidation(writes=20_000, loss=0.05, delay_mean_ms=20, at_ms=[10, 40], seed=3)
    for offset in (10.0, 40.0):
        expected = 0.05 + 0.95 * math.exp(-offset / 20)
        assert result.expected(offset) == pytest.approx(expected)
        assert within(result.stale_fraction[offset], expected, 20_000)


def test_no_stale_write_means_no_nines_figure_rather_than_infinity() -> None:
    result = invalidation(writes=500, loss=0.0, delay_mean_ms=1, at_ms=[1_000], seed=4)
    assert result.stale_fraction == {1_000.0: 0.0} and result.nines == {1_000.0: None}
    assert ">2.7" in result.report()


def test_the_observer_counts_a_write_once_if_any_cache_contradicts_it() -> None:
    loop = EventLoop()
    caches = [CacheNode(loop), CacheNode(loop)]
    observer = PolarisObserver(loop, caches, at_ms=[5.0, 20.0])
    for key in ("a", "b"):
        for cache in caches:
            cache.set(key, 0)
    observer.watch("a", 1)
    observer.watch("b", 1)
    caches[0].delete("b")  # b is consistent in one cache only
    loop.at(10.0, lambda: caches[1].delete("b"))
    loop.run()
    assert observer.stale_fraction() == {5.0: 1.0, 20.0: 0.5}


def test_a_seed_reproduces_a_run_and_as_dict_has_the_issues_keys() -> None:
    first = invalidation(writes=1_000, retry_ms=50, seed=7)
    assert first == invalidation(writes=1_000, retry_ms=50, seed=7)
    assert set(first.as_dict()) == {"stale_fraction", "nines"}
    assert set(first.as_dict()["nines"]) == {10.0, 100.0, 1_000.0, 10_000.0}


@pytest.mark.parametrize(
    ("argument", "value"),
    [("writes", 0), ("loss", 1.5), ("delay_mean_ms", -1), ("retry_ms", 0), ("at_ms", [])],
)
def test_bad_parameters_raise_lab_config_error(argument: str, value: object) -> None:
    with pytest.raises(LabConfigError) as caught:
        invalidation(**{argument: value})  # type: ignore[arg-type]
    assert caught.value.parameter == argument
