"""The ``herd`` scenario: database reads per invalidation on a hot key (issue 14, item 3).

Unprotected, the readers that miss in one invalidation are the first plus a Poisson
number with mean read_rate * fill window, so DB reads per invalidation have mean
1 + read_rate * fill and variance read_rate * fill; over n invalidations the standard error
of the mean is sqrt(read_rate * fill / n). Tolerances are 4 standard errors (a seeded run
outside them would be a 1-in-15,000 event, not noise).
"""

from __future__ import annotations

import math

import pytest

from merge.lab import LabConfigError, herd, simulate_herd


@pytest.mark.parametrize(("read_rate", "fill_ms"), [(12_000.0, 1.0), (3_000.0, 1.0), (600.0, 5.0)])
def test_without_protection_db_reads_per_invalidation_are_one_plus_read_rate_times_fill(
    read_rate: float, fill_ms: float
) -> None:
    result = herd(
        protection="none", read_rate=read_rate, fill_ms=fill_ms, write_rate=2, duration_s=300
    )
    load = read_rate * fill_ms / 1000
    standard_error = math.sqrt(load / result.invalidations)
    assert result.invalidations > 500
    assert abs(result.db_reads_per_invalidation - (1 + load)) <= 4 * standard_error


def test_facebooks_herd_is_about_13x_at_read_rate_times_fill_12() -> None:
    """NSDI 2013: peak DB load fell about 13x with leases; here the mean per invalidation
    does, at the paper's read_rate * fill = 12 (12,000 reads/s, 1 ms fill)."""
    runs = {p: herd(protection=p, duration_s=300, seed=1) for p in ("none", "lease")}
    ratio = runs["none"].db_reads_per_invalidation / runs["lease"].db_reads_per_invalidation
    standard_error = math.sqrt(12 / runs["none"].invalidations)
    assert abs(ratio - 13) <= 4 * standard_error + 0.02  # + lease's few voided fills
    assert runs["none"].peak_db_reads_per_s > 5 * runs["lease"].peak_db_reads_per_s


@pytest.mark.parametrize("protection", ["lease", "single-flight"])
def test_a_lease_or_single_flight_makes_one_db_read_per_miss_episode(protection: str) -> None:
    """A miss episode is the stretch from an invalidation to the fill that ends it; a write
    inside a fill window (probability about write_rate * fill = 0.002 per invalidation)
    restarts a lease's episode (one more read) and, under single-flight, folds two
    invalidations into one flight (one fewer)."""
    result = herd(protection=protection, write_rate=2, duration_s=300, seed=2)
    assert set(result.per_invalidation) <= {0, 1, 2}
    odd = sum(reads != 1 for reads in result.per_invalidation)
    expected = result.invalidations * 2 * 0.001
    assert odd <= expected + 4 * math.sqrt(expected) + 1
    assert abs(result.db_reads_per_invalidation - 1) <= odd / result.invalidations


def test_reads_of_a_cached_key_are_counted_not_simulated() -> None:
    """The performance claim of the module docstring: about read_rate * fill read events
    per invalidation, however many reads hit."""
    result = herd(protection="none", duration_s=120, seed=4)
    assert result.reads == pytest.approx(12_000 * 120, rel=0.01)
    assert result.skipped_reads > 0.99 * result.reads
    assert result.events < 40 * result.invalidations


def test_waiting_clients_take_the_stale_value_when_stale_serving_is_on() -> None:
    result = simulate_herd(protection="lease", stale_ms=50, duration_s=60, seed=5)
    assert result.stale_served > 5 * result.invalidations
    assert result.db_reads_per_invalidation == pytest.approx(1, abs=0.02)


def test_a_seed_reproduces_a_run_and_progress_reaches_the_end() -> None:
    seen: list[tuple[int, int]] = []
    first = herd(duration_s=30, seed=9, progress=lambda done, total: seen.append((done, total)))
    assert first == herd(duration_s=30, seed=9, progress=lambda done, total: None)
    assert seen[-1] == (100, 100) and len(seen) == 100
    assert set(first.as_dict()) == {"db_reads_per_invalidation", "peak_db_reads_per_s"}
    assert "database reads per invalidation" in first.report()


@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("protection", "mutex"),
        ("read_rate", 0),
        ("fill_ms", -1),
        ("write_rate", float("inf")),
        ("duration_s", float("nan")),
        ("seed", "1"),
    ],
)
def test_bad_parameters_raise_lab_config_error(argument: str, value: object) -> None:
    with pytest.raises(LabConfigError) as caught:
        herd(**{argument: value})  # type: ignore[arg-type]
    assert caught.value.parameter == argument
