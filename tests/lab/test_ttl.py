"""The ``ttl`` scenario: TTL-only cache-aside on one key (issue 14, item 3).

A write's stale window under a fixed TTL is the rest of the current entry's life: the write
falls at a uniform point of entries that last the TTL, so the window is about Uniform(0,
TTL), with mean TTL/2 and standard deviation TTL/sqrt(12); writes are Poisson, so the
windows are independent and the mean over n writes has standard error TTL/sqrt(12 n).
Tolerances are 4 standard errors, plus the known small bias: a write in the gap between an
expiry and the refill (about 1/read_rate + fill) has no window, which pulls the mean down
by about that gap over 2.
"""

from __future__ import annotations

import math

import pytest

from merge.lab import LabConfigError, ttl


@pytest.mark.parametrize("seed", range(3))
def test_max_staleness_is_at_most_ttl_plus_the_fill_window(seed: int) -> None:
    result = ttl(ttl_s=1.0, fill_ms=20, read_rate=200, write_rate=5, duration_s=60, seed=seed)
    assert result.stale_reads > 100  # the bound is exercised
    assert result.max_staleness_ms <= 1_000 + 20
    assert result.max_staleness_ms > 0.9 * 1_000


def test_the_mean_stale_window_per_write_is_about_half_the_ttl() -> None:
    result = ttl(ttl_s=2.0, fill_ms=5, read_rate=100, write_rate=2, duration_s=300, seed=1)
    standard_error = 2_000 / math.sqrt(12 * result.writes)
    gap = 1_000 / 100 + 5
    assert result.writes > 500
    assert abs(result.mean_stale_window_ms - (1_000 - gap / 2)) <= 4 * standard_error


def test_a_sliding_ttl_on_a_hot_key_breaks_the_bound() -> None:
    """Read every 10 ms on average with a 1 s sliding TTL, the entry never expires: the
    first value stays for the whole run, however many writes commit behind it."""
    fixed = ttl(ttl_s=1.0, read_rate=100, write_rate=1, duration_s=60, seed=3)
    sliding = ttl(ttl_s=1.0, sliding=True, read_rate=100, write_rate=1, duration_s=60, seed=3)
    assert fixed.max_staleness_ms <= 1_000 + 5
    assert sliding.max_staleness_ms > 40 * (1_000 + 5)
    assert sliding.db_reads <= 2 < fixed.db_reads


def test_a_sliding_ttl_on_a_cold_key_still_expires() -> None:
    """Read about once per 5 TTLs, a sliding TTL rarely gets the chance to slide."""
    result = ttl(ttl_s=0.2, sliding=True, read_rate=1, write_rate=1, duration_s=120, seed=4)
    assert result.max_staleness_ms <= 200 + 5


def test_a_seed_reproduces_a_run_and_as_dict_has_the_issues_keys() -> None:
    first = ttl(duration_s=20, seed=6)
    assert first == ttl(duration_s=20, seed=6)
    assert set(first.as_dict()) == {"max_staleness_ms", "mean_stale_window_ms"}
    assert "mean stale window per write" in first.report()


@pytest.mark.parametrize(
    ("argument", "value"),
    [("ttl_s", 0), ("sliding", "yes"), ("read_rate", -1), ("fill_ms", float("inf"))],
)
def test_bad_parameters_raise_lab_config_error(argument: str, value: object) -> None:
    with pytest.raises(LabConfigError) as caught:
        ttl(**{argument: value})  # type: ignore[arg-type]
    assert caught.value.parameter == argument
