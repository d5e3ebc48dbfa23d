"""The caching lab: determinism, the bounds each policy promises, and the stale-set race.

Every run is seeded; the properties below are exact (they hold for every seed), so they are
checked over a handful of seeds and, where Hypothesis fits, over generated parameters.
"""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from merge.lab import LabConfigError
from merge.lab.caching import CacheSimulation, simulate_cache
from merge.sim import STEP_MS, Faults

LOSSY = Faults(drop=0.1, duplicate=0.05, reorder=0.1, delay=(1, 8))


def test_a_seed_reproduces_a_run_exactly() -> None:
    runs = [
        simulate_cache(policy="cache-aside", faults=LOSSY, caches=2, seed=5, duration_ms=3_000)
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    other = simulate_cache(policy="cache-aside", faults=LOSSY, caches=2, seed=6, duration_ms=3_000)
    assert other != runs[0]


def test_every_policy_sees_the_same_workload_for_one_seed() -> None:
    results = [
        simulate_cache(policy=policy, faults=LOSSY, seed=3, duration_ms=3_000)
        for policy in ("cache-aside", "write-through", "write-behind")
    ]
    assert len({(r.reads, r.writes) for r in results}) == 1


def test_as_dict_holds_every_field() -> None:
    result = simulate_cache(seed=0, duration_ms=1_000)
    data = result.as_dict()
    assert data["policy"] == "cache-aside" and data["reads"] == result.reads
    assert set(data) >= {
        "hit_ratio",
        "stale_read_fraction",
        "max_staleness_ms",
        "staleness_p99_ms",
        "db_reads",
        "db_writes",
        "acked_writes_lost",
    }


@pytest.mark.parametrize("seed", range(5))
def test_write_through_with_one_node_and_deletes_never_reads_stale(seed: int) -> None:
    """The cache is updated with the database before the ack, and a fill only fills an
    empty slot, so a late fill cannot overwrite a newer write."""
    result = simulate_cache(
        policy="write-through",
        invalidation="delete-on-write",
        ttl_ms=2_000,
        faults=Faults(delay=(1, 8), reorder=0.2, duplicate=0.1),
        fill_ms=30,
        seed=seed,
        duration_ms=5_000,
    )
    assert result.reads > 500 and result.hits > 0
    assert result.stale_reads == 0


def test_without_loss_delete_on_write_is_stale_only_while_the_delete_is_in_flight() -> None:
    """Cache-aside, no TTL, deletes never lost: a read is stale only until the delete
    lands (at most the largest delay), unless a raced fill put the old value back."""
    delay = (1, 4)
    checked = 0
    for seed in range(10):
        result = simulate_cache(
            policy="cache-aside",
            invalidation="delete-on-write",
            ttl_ms=None,
            faults=Faults(delay=delay),
            read_rate=100,
            write_rate=5,
            caches=2,
            seed=seed,
            duration_ms=5_000,
        )
        if result.raced_fills == 0:
            assert result.max_staleness_ms <= delay[1] * STEP_MS
            checked += result.stale_reads > 0
    assert checked >= 3  # the bound was exercised, not vacuous


@settings(max_examples=15, deadline=None)
@given(
    ttl_ms=st.integers(50, 3_000),
    delay_max=st.integers(1, 20),
    fill_ms=st.integers(0, 100),
    policy=st.sampled_from(["cache-aside", "write-through"]),
    seed=st.integers(0, 2**16),
)
def test_ttl_bounds_staleness(
    ttl_ms: int, delay_max: int, fill_ms: int, policy: str, seed: int
) -> None:
    """TTL only: a value is read from the database no earlier than the version that
    supersedes it, lands at most fill + delay later, and is served for at most the TTL."""
    result = simulate_cache(
        policy=policy,
        invalidation="ttl",
        ttl_ms=ttl_ms,
        faults=Faults(drop=0.2, reorder=0.2, delay=(1, delay_max)),
        fill_ms=fill_ms,
        caches=2,
        seed=seed,
        duration_ms=3_000,
    )
    bound = ttl_ms + fill_ms + (delay_max + 5) * STEP_MS  # reorder holds back <= 5 steps
    assert result.max_staleness_ms <= bound


def test_ttl_staleness_bound_is_reached_without_invalidation() -> None:
    result = simulate_cache(
        policy="cache-aside", invalidation="ttl", ttl_ms=1_000, seed=2, duration_ms=5_000
    )
    assert 500 < result.max_staleness_ms <= 1_000 + STEP_MS


@pytest.mark.parametrize("seed", range(4))
def test_write_behind_loses_acknowledged_writes_only_if_a_crash_beats_the_flush(
    seed: int,
) -> None:
    def run(crash_at_ms: int | None) -> int:
        return simulate_cache(
            policy="write-behind",
            flush_ms=500,
            write_rate=50,
            crash_at_ms=crash_at_ms,
            duration_ms=4_000,
            seed=seed,
        ).acked_writes_lost

    assert run(None) == 0
    assert run(2_500) == 0  # the crash comes just after the flush at 2500 ms
    assert 0 < run(2_730) <= 50 * 0.23 * 4  # about 50/s * 230 ms lost; generous cap


def test_a_crash_loses_the_writes_since_the_last_flush_and_nothing_else() -> None:
    sim = CacheSimulation(policy="write-behind", flush_ms=100, seed=0)
    for key in range(3):
        sim.write(0, key)
    sim.advance(100)  # flushed at 100 ms
    assert sim.db_writes == 3 and sim.latest(2) == 3
    sim.write(0, key=0)
    sim.write(0, key=0)
    sim.write(0, key=5)
    sim.advance(50)
    assert sim.crash() == 3
    assert sim.acked_writes_lost == 3
    assert sim.latest(0) == 1 and sim.latest(5) == 0
    # after a crash with nothing buffered, nothing more is lost
    sim.advance(100)
    assert sim.crash() == 0


def test_write_through_and_cache_aside_lose_nothing_in_a_crash() -> None:
    for policy in ("write-through", "cache-aside"):
        result = simulate_cache(policy=policy, crash_at_ms=2_345, seed=1, duration_ms=4_000)
        assert result.acked_writes_lost == 0


@pytest.mark.parametrize("seed", range(3))
def test_cache_aside_hit_ratio_rises_with_ttl(seed: int) -> None:
    ratios = [
        simulate_cache(
            policy="cache-aside",
            invalidation="ttl",
            ttl_ms=ttl_ms,
            read_rate=100,
            keys=50,
            seed=seed,
            duration_ms=10_000,
        ).hit_ratio
        for ttl_ms in (50, 500, 5_000)
    ]
    assert ratios[0] < ratios[1] < ratios[2]


def test_the_stale_set_race_is_reproduced_and_counted() -> None:
    """Memcache's stale set (lab.md §2): A misses and reads v0; B commits v1 and deletes
    the key while the cache is empty; A's fill of v0 lands afterwards and stays until the
    TTL (here: forever)."""
    sim = CacheSimulation(
        policy="cache-aside",
        invalidation="delete-on-write",
        ttl_ms=None,
        faults=Faults(delay=(1, 1)),
        fill_ms=40,
    )
    assert sim.read(0, key=1) == 0  # t=0: miss, database read, fill leaves at 40 ms
    sim.advance(10)
    assert sim.write(0, key=1) == 1  # t=10: commit v1, delete lands at 20 ms (no entry)
    sim.advance(40)  # fill of v0 lands at 50 ms
    assert sim.raced_fills == 1
    sim.advance(10_000)
    assert [sim.read(0, key=1) for _ in range(3)] == [0, 0, 0]
    result = sim.result()
    assert result.stale_reads == result.race_stale_reads == 3
    assert result.max_staleness_ms == 10_050 - 10
    assert result.db_reads == 1


def test_the_race_needs_the_delete_inside_the_fill_window() -> None:
    """The same schedule with the delete landing after the fill: the delete removes v0."""
    sim = CacheSimulation(policy="cache-aside", ttl_ms=None, faults=Faults(delay=(1, 1)), fill_ms=0)
    sim.read(0, key=1)
    sim.advance(30)  # fill landed at 10 ms
    sim.write(0, key=1)
    sim.advance(30)
    assert sim.read(0, key=1) == 1
    assert sim.raced_fills == 0 and sim.stale_reads == 0


@pytest.mark.parametrize(
    ("argument", "value"),
    [
        ("policy", "write-around"),
        ("invalidation", "versioned"),
        ("ttl_ms", 0),
        ("read_rate", -1),
        ("write_rate", float("inf")),
        ("caches", 0),
        ("faults", (1, 2)),
        ("duration_ms", 0),
        ("flush_ms", True),
        ("seed", "x"),
    ],
)
def test_bad_parameters_raise_lab_config_error(argument: str, value: object) -> None:
    with pytest.raises(LabConfigError) as caught:
        simulate_cache(**{argument: value})  # type: ignore[arg-type]
    assert caught.value.parameter == argument
    assert isinstance(caught.value, ValueError)
    assert pickle.loads(pickle.dumps(caught.value)).parameter == argument
