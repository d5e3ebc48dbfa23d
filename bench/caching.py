"""Cache policy trade-offs table and simulator throughput of ``merge.lab.caching``.

Run: ``python bench/caching.py`` (a few seconds).

1. The trade-offs table (docs/lab/caching.md): every policy and invalidation mode on one
   workload (200 reads/s and 20 writes/s over 20 keys, two cache nodes, a 5 s TTL, fills
   and deletes lost with probability 0.05 and delayed 10-50 ms, write-behind flushing every
   second, every node crashing at 7.25 s), 30 s simulated, averaged over seeds 0-4. The
   same seed gives every policy the same reads and writes.
2. Throughput: one 60 s cache-aside run (median of 5), in client operations per second and
   as a ratio to a floor measured in the same run: a bare heapq loop pushing and popping
   the same number of events.
3. The read side on the lab's EventLoop (median of 5 each): ``herd`` at 12,000 reads/s for
   600 simulated seconds under each protection (wall time, events, reads per wall second),
   ``ttl`` and ``invalidation`` with their defaults; each as events per second and as a
   ratio to a bare heapq event loop doing the same number of pushes and pops in the same
   run (each pop pushes a successor; 8 events pending).
   ``herd`` counts the reads of a cached key in closed form, so its events are the reads
   inside miss windows, the fills, retries and writes only.
"""

from __future__ import annotations

import heapq
import random
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

# the repository root first, so that this script (bench/caching.py) does not shadow the package
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _timing import median_seconds, report, scaled

from merge.lab import INVALIDATIONS, POLICIES, herd, simulate_cache, ttl
from merge.lab import invalidation as invalidation_scenario
from merge.sim import Faults

SEEDS = range(scaled(5))
WORKLOAD = dict(
    ttl_ms=5_000,
    read_rate=200.0,
    write_rate=20.0,
    keys=20,
    caches=2,
    faults=Faults(drop=0.05, delay=(1, 5)),
    flush_ms=1_000,
    crash_at_ms=7_250,
    duration_ms=scaled(30_000, minimum=1_000),
)
COLUMNS = (
    ("hit ratio", "hit_ratio", "{:.3f}"),
    ("stale reads", "stale_read_fraction", "{:.4f}"),
    ("p99 staleness ms", "staleness_p99_ms", "{:.0f}"),
    ("max staleness ms", "max_staleness_ms", "{:.0f}"),
    ("DB reads/s", "db_reads", "{:.1f}"),
    ("DB writes/s", "db_writes", "{:.1f}"),
    ("raced fills", "raced_fills", "{:.1f}"),
    ("acked writes lost", "acked_writes_lost", "{:.1f}"),
)
PER_SECOND = {"db_reads", "db_writes"}


def table() -> None:
    print("| policy | invalidation | " + " | ".join(name for name, _, _ in COLUMNS) + " |")
    print("|---|---|" + "---:|" * len(COLUMNS))
    seconds = WORKLOAD["duration_ms"] / 1000  # type: ignore[operator]
    for policy in POLICIES:
        for invalidation in INVALIDATIONS:
            runs = [
                simulate_cache(
                    policy=policy, invalidation=invalidation, seed=seed, **WORKLOAD
                ).as_dict()
                for seed in SEEDS
            ]
            cells = []
            for _, field, fmt in COLUMNS:
                mean = sum(run[field] for run in runs) / len(runs)
                cells.append(fmt.format(mean / seconds if field in PER_SECOND else mean))
            print(f"| {policy} | {invalidation} | " + " | ".join(cells) + " |")


def throughput() -> None:
    duration_ms = scaled(60_000, minimum=1_000)
    kwargs = dict(WORKLOAD, duration_ms=duration_ms, crash_at_ms=None)
    operations = simulate_cache(seed=0, **kwargs)  # type: ignore[arg-type]
    events = operations.reads + operations.writes + duration_ms // 10  # ops plus steps

    def bare() -> None:
        rng = random.Random(0)
        queue: list[tuple[float, int]] = []
        for index in range(events):
            heapq.heappush(queue, (rng.random(), index))
        while queue:
            heapq.heappop(queue)

    floor = median_seconds(bare, repeat=5)
    measured = median_seconds(lambda: simulate_cache(seed=0, **kwargs), repeat=5)  # type: ignore[arg-type]
    print(f"\n{events} events ({events / measured:,.0f} events/s)")
    report("simulate_cache, 60 s cache-aside, 2 nodes", measured, floor)


def bare_heap(events: int, pending: int = 8) -> Callable[[], None]:
    """A floor: a bare heapq event loop that pops ``events`` entries shaped like the
    EventLoop's, each pushing its successor at a random later time, with ``pending``
    events waiting (a simulator's heap holds a few: the next read, write, fills)."""

    def run() -> None:
        rng = random.Random(0)
        action = bare_heap
        queue = [(rng.random(), 0, index, action) for index in range(pending)]
        heapq.heapify(queue)
        for index in range(events):
            now = heapq.heappop(queue)[0]
            heapq.heappush(queue, (now + rng.random(), 0, pending + index, action))

    return run


def read_side() -> None:
    print()
    herd(duration_s=1)  # import numpy outside the timings
    runs: list[tuple[str, Callable[[], Any]]] = [
        (f"herd {protection}, 12,000 reads/s, 600 s", partial(herd, protection=protection))
        for protection in ("none", "lease", "single-flight")
    ]
    runs += [
        ("ttl, defaults (100 reads/s, 600 s)", ttl),
        ("invalidation, defaults", invalidation_scenario),
    ]
    for name, run in runs:
        result = run()
        events = result.events
        measured = median_seconds(run, repeat=5)
        floor = median_seconds(bare_heap(events), repeat=5)
        rate = f"{events / measured:,.0f} events/s"
        if hasattr(result, "skipped_reads"):
            rate += f", {result.reads / measured:,.0f} simulated reads/s"
        print(f"{name}: {measured:.2f} s wall, {events:,} events ({rate})")
        report(f"  {name}", measured, floor)


if __name__ == "__main__":
    table()
    throughput()
    read_side()
