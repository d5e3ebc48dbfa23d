"""The ``race`` scenario: memcache's stale-set race, scripted (issue 14, item 3).

The script is deterministic, so every assertion is exact: no tolerance is needed.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from merge.lab import LabConfigError, race


def test_without_protection_and_a_60_s_ttl_the_stale_window_is_the_ttl() -> None:
    result = race(protection="none", ttl_ms=60_000, horizon_ms=120_000, poll_ms=100)
    assert result.stale_window_ms == 60_000
    assert result.timeline[0] == (1, 5.0, 60_005.0)  # A's v1 from its set to its expiry
    assert result.stale_reads == 600  # the polls at 100, 200, ..., 60000 ms
    assert not result.stale_at_horizon


def test_without_protection_and_no_ttl_the_key_is_still_stale_at_the_horizon() -> None:
    result = race(protection="none", ttl_ms=None, horizon_ms=30_000, poll_ms=100)
    assert result.stale_at_horizon
    assert result.stale_window_ms == 30_000 - 5
    assert result.stale_reads == 300 and result.db_reads == 1


@pytest.mark.parametrize("ttl_ms", [None, 60_000.0])
def test_a_lease_refuses_the_set_no_stale_reads_exactly_one_extra_db_read(
    ttl_ms: float | None,
) -> None:
    unprotected = race(protection="none", ttl_ms=None, horizon_ms=50_000)
    leased = race(protection="lease", ttl_ms=ttl_ms, horizon_ms=50_000)
    assert all(version == 2 for version, _, _ in leased.timeline)  # v1 was never stored
    assert leased.stale_reads == 0 and leased.stale_window_ms == 0
    assert leased.db_reads == unprotected.db_reads + 1


def test_versioned_fills_also_give_zero_stale_reads() -> None:
    result = race(protection="version", ttl_ms=None)
    assert result.stale_reads == 0 and result.stale_window_ms == 0
    assert all(version == 2 for version, _, _ in result.timeline)


@settings(max_examples=30, deadline=None)
@given(
    protection=st.sampled_from(["none", "lease", "version"]),
    ttl_ms=st.none() | st.floats(1, 50_000),
    horizon_ms=st.floats(5, 20_000),
    poll_ms=st.floats(5, 5_000),  # a faster poller would take part in the race itself
)
def test_only_the_unprotected_cache_is_ever_stale_and_then_for_the_ttl(
    protection: str, ttl_ms: float | None, horizon_ms: float, poll_ms: float
) -> None:
    """The poller stays out of the scripted 0-5 ms window; the stale window is then A's
    set of v1 at 5 ms until its TTL or the horizon."""
    result = race(protection=protection, ttl_ms=ttl_ms, horizon_ms=horizon_ms, poll_ms=poll_ms)
    if protection != "none":
        assert result.stale_window_ms == result.stale_reads == 0
    else:
        expected = horizon_ms - 5 if ttl_ms is None else min(ttl_ms, horizon_ms - 5)
        assert result.stale_window_ms == pytest.approx(expected)


def test_as_dict_has_exactly_the_issues_keys() -> None:
    assert set(race().as_dict()) == {"stale_window_ms", "stale_reads", "db_reads"}
    assert "v1 from 5 ms to 60005 ms" in race().report()


@pytest.mark.parametrize(
    ("argument", "value"),
    [("protection", "token"), ("ttl_ms", 0), ("horizon_ms", 4), ("poll_ms", 0), ("seed", 1.5)],
)
def test_bad_parameters_raise_lab_config_error(argument: str, value: object) -> None:
    with pytest.raises(LabConfigError) as caught:
        race(**{argument: value})  # type: ignore[arg-type]
    assert caught.value.parameter == argument


def test_a_poller_inside_the_race_window_joins_the_race() -> None:
    """Polling every ms, the poller fills v1 at 1 ms (stale from B's commit at 2 ms until
    B's delete at 3 ms), refills v2 at 3 ms, and A's unprotected set overwrites it at 5."""
    result = race(protection="none", ttl_ms=None, horizon_ms=10, poll_ms=1)
    assert [version for version, _, _ in result.timeline] == [1, 2, 1]
    assert result.stale_window_ms == 1 + 5
