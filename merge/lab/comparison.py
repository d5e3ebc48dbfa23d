"""The caching strategies side by side on one workload.

Reads at ``read_rate`` and writes at ``write_rate`` per second spread uniformly over
``keys`` keys for ``duration_ms``, messages lost with probability ``loss``. Seven strategies:

* four single-database caches, run by :func:`~merge.lab.simulate_cache` on two cache nodes
  with a ``ttl_ms`` TTL, fills and deletes delayed 10-50 ms, every node crashing at
  ``crash_at_ms``: cache-aside with TTL-only invalidation, cache-aside with
  delete-on-write, write-through and write-behind (flushing every ``flush_ms``), the last
  two with delete-on-write;
* three two-region multi-writer caches, run by :func:`~merge.lab.multi_writer` once per key
  (each region taking half of the key's reads and writes, the link partitioned from
  ``partition_start_ms`` to ``partition_end_ms``, pushes delayed 30 ms on average),
  resolving conflicts by LWW, by siblings or by a crdtkit type (``data`` picks the
  workload; a counter by default, where every update is an increment).

Columns: the stale-read fraction and the maximum staleness (ms; see each model for its
definition), acknowledged writes lost (to the crash, or to conflict resolution), the
database load (database reads and writes per second for the single-database caches; state
writes per second, local updates plus merges of pushes, summed over both regions, for the
multi-writer ones), and **write availability during a partition**: the fraction of writes
acknowledged in a region cut off from the database (single-database caches; by design:
cache-aside and write-through must reach the database, write-behind acknowledges at the
cache) or from the other region (multi-writer caches; measured).

The single-database runs do not model the partition itself: their staleness is measured
without it, while the multi-writer runs' staleness includes the partition, during which
each region cannot see the other's writes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import inf
from typing import Any, Literal

from merge.lab.caching import simulate_cache
from merge.lab.catalog import scenario
from merge.lab.errors import LabConfigError
from merge.lab.multi_region import RESOLUTIONS, multi_writer
from merge.sim.faults import Faults

__all__ = ["STRATEGIES", "CompareResult", "compare"]

#: The strategies compared, in table order: (name, policy or resolution, invalidation).
STRATEGIES = (
    ("cache-aside + TTL", "cache-aside", "ttl"),
    ("cache-aside + delete-on-write", "cache-aside", "delete-on-write"),
    ("write-through", "write-through", "delete-on-write"),
    ("write-behind", "write-behind", "delete-on-write"),
    ("multi-writer LWW", "lww", ""),
    ("multi-writer siblings", "siblings", ""),
    ("multi-writer CRDT", "crdt", ""),
)

#: Write availability during a partition, by single-database policy (by design).
_WRITES_WITHOUT_DATABASE = {"cache-aside": 0.0, "write-through": 0.0, "write-behind": 1.0}

_COLUMNS = (
    ("stale_read_fraction", "stale reads", "{:.4f}"),
    ("max_staleness_ms", "max staleness ms", "{:.0f}"),
    ("lost_acked_writes", "lost acked writes", "{}"),
    ("db_load_per_s", "DB load /s", "{:.1f}"),
    ("write_availability_in_partition", "writes available in partition", "{:.2f}"),
)


@dataclass(frozen=True)
class CompareResult:
    """One row per strategy (``strategies``: name → the columns of
    :mod:`merge.lab.comparison`), and the workload it ran (``workload``)."""

    strategies: dict[str, dict[str, Any]]
    workload: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """The rows and the workload as a plain dict (JSON-ready)."""
        return {"strategies": self.strategies, "workload": self.workload}

    def report(self) -> str:
        """The rows as a Markdown table."""
        header = "| strategy | " + " | ".join(title for _, title, _ in _COLUMNS) + " |"
        rule = "|---|" + "---:|" * len(_COLUMNS)
        lines = [header, rule]
        for name, row in self.strategies.items():
            cells = [form.format(row[key]) for key, _, form in _COLUMNS]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        return "\n".join(lines)


@scenario("compare")
def compare(
    *,
    read_rate: float = 200.0,
    write_rate: float = 20.0,
    keys: int = 20,
    ttl_ms: int = 5_000,
    loss: float = 0.05,
    flush_ms: int = 1_000,
    crash_at_ms: int = 7_250,
    duration_ms: int = 30_000,
    partition_start_ms: int = 10_000,
    partition_end_ms: int = 20_000,
    data: Literal["counter", "cart", "set"] = "counter",
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> CompareResult:
    """Cache strategies side by side: staleness, lost writes, DB load, partition availability.

    See :mod:`merge.lab.comparison` for the workload and what each column measures.

    Examples:
        >>> result = compare(keys=4, duration_ms=6_000, crash_at_ms=2_500,
        ...                  partition_start_ms=2_000, partition_end_ms=4_000, seed=1)
        >>> rows = result.as_dict()["strategies"]
        >>> rows["write-behind"]["lost_acked_writes"] > 0
        True
        >>> [rows[name]["lost_acked_writes"] > 0 for name in
        ...  ("write-through", "multi-writer LWW", "multi-writer CRDT")]
        [False, True, False]
        >>> [rows[name]["write_availability_in_partition"] for name in
        ...  ("cache-aside + TTL", "write-behind", "multi-writer LWW")]
        [0.0, 1.0, 1.0]

    Raises:
        LabConfigError: a parameter is out of range; nothing was run.

    Cost: the sum of one :func:`~merge.lab.simulate_cache` run per single-database strategy
    and ``keys`` :func:`~merge.lab.multi_writer` runs.
    """
    if isinstance(keys, bool) or not isinstance(keys, int) or keys < 1:
        raise LabConfigError("keys", keys, "must be an int >= 1")
    if isinstance(loss, bool) or not isinstance(loss, int | float) or not 0 <= loss <= 1:
        raise LabConfigError("loss", loss, "must be a probability between 0 and 1")
    for name, value in (
        ("duration_ms", duration_ms),
        ("crash_at_ms", crash_at_ms),
        ("partition_start_ms", partition_start_ms),
        ("partition_end_ms", partition_end_ms),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise LabConfigError(name, value, "must be an int number of milliseconds >= 0")
    if not crash_at_ms < duration_ms:
        raise LabConfigError("crash_at_ms", crash_at_ms, "must be before duration_ms")
    if partition_end_ms < partition_start_ms:
        raise LabConfigError(
            "partition_end_ms", partition_end_ms, "must not be before partition_start_ms"
        )
    for name, rate in (("read_rate", read_rate), ("write_rate", write_rate)):
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate < inf:
            raise LabConfigError(name, rate, "must be a finite number of events per second > 0")
    faults = Faults(drop=loss, delay=(1, 5))
    total = len(STRATEGIES) - len(RESOLUTIONS) + keys
    done = 0
    rows: dict[str, dict[str, Any]] = {}
    for name, policy, invalidation in STRATEGIES[: -len(RESOLUTIONS)]:
        run = simulate_cache(
            policy=policy,
            invalidation=invalidation,
            ttl_ms=ttl_ms,
            read_rate=read_rate,
            write_rate=write_rate,
            keys=keys,
            caches=2,
            faults=faults,
            flush_ms=flush_ms,
            crash_at_ms=crash_at_ms,
            duration_ms=duration_ms,
            seed=seed,
        )
        rows[name] = {
            "stale_read_fraction": run.stale_read_fraction,
            "max_staleness_ms": float(run.max_staleness_ms),
            "lost_acked_writes": run.acked_writes_lost,
            "db_load_per_s": (run.db_reads + run.db_writes) / duration_ms * 1000,
            "write_availability_in_partition": _WRITES_WITHOUT_DATABASE[policy],
        }
        done += 1
        if progress is not None:
            progress(done, total)

    # the multi-writer caches: one two-region run per key, each region with half its traffic
    lost = dict.fromkeys(RESOLUTIONS, 0)
    reads = stale = store_writes = 0
    staleness, availability = 0.0, 1.0
    for key in range(keys):
        run_key = multi_writer(
            data=data,
            update_rate=write_rate / keys / 2,
            read_rate=read_rate / keys / 2,
            duration_ms=duration_ms,
            partition_start_ms=partition_start_ms,
            partition_end_ms=partition_end_ms,
            loss=loss,
            delay_mean_ms=30.0,
            seed=seed * keys + key,
        )
        for resolution in RESOLUTIONS:
            lost[resolution] += run_key.lost_acked_updates[resolution]
        reads += run_key.reads
        stale += run_key.stale_reads
        staleness = max(staleness, run_key.max_staleness_ms)
        store_writes += run_key.store_writes
        availability = min(availability, run_key.availability)
        done += 1
        if progress is not None:
            progress(done, total)
    for name, resolution, _ in STRATEGIES[-len(RESOLUTIONS) :]:
        rows[name] = {
            "stale_read_fraction": stale / reads if reads else 0.0,
            "max_staleness_ms": staleness,
            "lost_acked_writes": lost[resolution],
            "db_load_per_s": store_writes / duration_ms * 1000,
            "write_availability_in_partition": availability,
        }
    workload = {
        "read_rate": read_rate,
        "write_rate": write_rate,
        "keys": keys,
        "ttl_ms": ttl_ms,
        "loss": loss,
        "flush_ms": flush_ms,
        "crash_at_ms": crash_at_ms,
        "duration_ms": duration_ms,
        "partition_ms": [partition_start_ms, partition_end_ms],
        "data": data,
        "seed": seed,
    }
    return CompareResult(rows, workload)
