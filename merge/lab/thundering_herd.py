"""The ``herd`` scenario: a hot key invalidated again and again, with and without fill protection.

One hot key in one cache node, read by Poisson arrivals at ``read_rate`` per second and
invalidated by Poisson writes at ``write_rate`` per second (each commits a new version to
the database and deletes the key). A reader that misses reads the database and its fill
lands ``fill_ms`` later; until then every other reader misses too. ``protection``:

* ``"none"``: every reader that misses reads the database: on average 1 + read_rate *
  fill window database reads per invalidation (Nishtala et al. 2013: ≈13* at 12);
* ``"lease"``: memcache leases (:class:`~merge.lab.CacheNode` with ``leases=True``): the
  first reader gets a token and fills; the others wait ``retry_ms`` and retry (or, with
  ``stale_ms``, take the just-deleted value marked stale); a write during the fill voids the
  token and the next reader starts over;
* ``"single-flight"``: readers that miss while a database read for the key is in flight
  join it and get its result (one process's request coalescing; no token, so a write during
  the flight does not stop its fill from landing).

**How 12,000 reads/s for 600 s runs in well under a second.** Between a fill landing and the
next write the key is in the cache and no read can miss, so nothing a read does there can
change what is measured. When an arrival finds the key cached, the read process is parked;
the next write draws how many reads the parked stretch held, Poisson(read_rate * its
length), counts them as hits, and restarts arrivals at the write (Poisson arrivals are
memoryless, so the restarted process has the same law as the one that was parked). Only the
reads inside miss windows — about read_rate * fill window per invalidation — are events.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from merge.lab._numpy import require_numpy
from merge.lab._support import number, report_progress
from merge.lab.cache_node import CacheNode
from merge.lab.catalog import scenario
from merge.lab.errors import LabConfigError
from merge.lab.events import EventLoop

__all__ = ["HerdResult", "herd", "simulate_herd"]

_PROTECTIONS = ("none", "lease", "single-flight")
_KEY = "hot"


@dataclass(frozen=True)
class HerdResult:
    """What one herd run measured.

    ``db_reads_per_invalidation`` is database reads divided by invalidating writes;
    ``peak_db_reads_per_s`` the most database reads in any whole simulated second.
    ``per_invalidation`` holds the database reads between each write and the next;
    ``db_reads_by_second`` the database reads in each second. ``reads`` counts every read
    (``skipped_reads`` of them counted in closed form, never simulated); ``stale_served``
    the waits answered with a just-deleted value; ``events`` the event loop's events.
    """

    protection: str
    read_rate: float
    fill_ms: float
    write_rate: float
    duration_s: float
    seed: int
    reads: int
    skipped_reads: int
    db_reads: int
    invalidations: int
    stale_served: int
    events: int
    db_reads_per_invalidation: float
    peak_db_reads_per_s: int
    per_invalidation: tuple[int, ...] = field(repr=False)
    db_reads_by_second: tuple[int, ...] = field(repr=False)

    def as_dict(self) -> dict[str, Any]:
        """``db_reads_per_invalidation`` and ``peak_db_reads_per_s``."""
        return {
            "db_reads_per_invalidation": self.db_reads_per_invalidation,
            "peak_db_reads_per_s": self.peak_db_reads_per_s,
        }

    def report(self) -> str:
        """A few lines for a terminal."""
        load = self.read_rate * self.fill_ms / 1000
        return "\n".join(
            [
                f"herd, protection {self.protection}: {self.read_rate:g} reads/s, fill "
                f"{self.fill_ms:g} ms (read_rate x fill = {load:g}), {self.write_rate:g} "
                f"writes/s, {self.duration_s:g} s",
                f"database reads per invalidation {self.db_reads_per_invalidation:.3f} "
                f"(unprotected model: {1 + load:g})",
                f"peak database reads/s {self.peak_db_reads_per_s}; {self.invalidations} "
                f"invalidations; {self.reads:,} reads ({self.skipped_reads:,} counted in "
                f"closed form); {self.events:,} events",
            ]
        )

    def plot(self, path: str) -> None:
        """Save a histogram of database reads per invalidation, with the unprotected model
        1 + Poisson(read_rate * fill) beside it, and database reads per second over time."""
        from merge.lab._plotting import pyplot

        plt = pyplot()
        load = self.read_rate * self.fill_ms / 1000
        figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
        counts: dict[int, int] = {}
        for reads in self.per_invalidation:
            counts[reads] = counts.get(reads, 0) + 1
        total = max(1, len(self.per_invalidation))
        xs = sorted(counts)
        left.bar(xs, [counts[x] / total for x in xs], label=f"simulated ({self.protection})")
        if self.protection == "none":
            top = max(xs) + 3
            model = [
                math.exp(-load) * load ** (k - 1) / math.factorial(k - 1) for k in range(1, top)
            ]
            left.plot(range(1, top), model, "o-", color="black", label="1 + Poisson(λ·fill)")
        left.set_xlabel("database reads per invalidation")
        left.set_ylabel("fraction of invalidations")
        left.legend()
        seconds = self.db_reads_by_second[:120]
        right.step(range(len(seconds)), seconds, where="post")
        right.set_xlabel("simulated time (s)")
        right.set_ylabel("database reads in that second")
        figure.suptitle(
            f"herd: {self.read_rate:g} reads/s, fill {self.fill_ms:g} ms, "
            f"{self.write_rate:g} writes/s, protection {self.protection}"
        )
        figure.tight_layout()
        figure.savefig(path, dpi=100)
        plt.close(figure)


@dataclass
class _HerdState:
    version: int = 0
    reads: int = 0
    skipped: int = 0
    db_reads: int = 0
    stale_served: int = 0
    parked: bool = True  # arrivals begin at the first write
    parked_at: float = 0.0
    in_flight: bool = False  # single-flight: a database read for the key is in flight


def simulate_herd(
    *,
    read_rate: float = 12_000.0,
    fill_ms: float = 1.0,
    write_rate: float = 1.0,
    duration_s: float = 600.0,
    protection: str = "none",
    retry_ms: float = 2.0,
    lease_ms: float = 10_000.0,
    stale_ms: float = 0.0,
    seed: int = 0,
    progress: Callable[[int, int], object] | None = None,
) -> HerdResult:
    """The herd model with every knob: :func:`herd` plus the lease's ``retry_ms`` (how long
    a waiting client sleeps before it retries), ``lease_ms`` (one token per key per lease
    interval; memcache: 10 s) and ``stale_ms`` (how long a deleted value may be served to
    waiting clients, marked stale; 0: never).

    Examples:
        >>> result = simulate_herd(protection="lease", stale_ms=100, duration_s=30, seed=1)
        >>> result.db_reads_per_invalidation, result.stale_served > 0
        (1.0, True)

    Raises:
        LabConfigError: a parameter is out of range; nothing was run.

    Cost: O(invalidations * (1 + read_rate * fill window)) events; the reads that hit a
    cached key cost O(1) per invalidation in total.
    """
    require_numpy()
    import numpy

    read_rate = number("read_rate", read_rate)
    fill_ms = number("fill_ms", fill_ms, strict=False)
    write_rate = number("write_rate", write_rate)
    duration_s = number("duration_s", duration_s)
    retry_ms = number("retry_ms", retry_ms)
    if protection not in _PROTECTIONS:
        raise LabConfigError("protection", protection, f"must be one of {list(_PROTECTIONS)}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise LabConfigError("seed", seed, "must be an int")
    loop = EventLoop()
    cache = CacheNode(loop, leases=protection == "lease", lease_ms=lease_ms, stale_ms=stale_ms)
    rng = random.Random(seed)
    counts_rng = numpy.random.default_rng(seed)
    horizon = duration_s * 1000.0
    read_gap = 1000.0 / read_rate
    write_gap = 1000.0 / write_rate
    db_by_second = [0] * (math.ceil(duration_s) + 1)
    marks: list[int] = []  # database reads so far, at each write
    state = _HerdState()
    cache.set(_KEY, 0, token=cache.get(_KEY).token)  # the key starts cached

    def read_database() -> int:
        state.db_reads += 1
        db_by_second[int(loop.now // 1000.0)] += 1
        return state.version

    def fill(version: int, token: int | None) -> None:
        cache.set(_KEY, version, token=token)
        state.in_flight = False

    def attempt() -> None:
        """One read or retry."""
        lookup = cache.get(_KEY)
        if lookup.version is not None:
            state.stale_served += lookup.stale
        elif lookup.wait:
            loop.after(retry_ms, attempt)
        elif not (protection == "single-flight" and state.in_flight):
            # (a single-flight reader that finds a read in flight joins it instead)
            state.in_flight = True
            version, token = read_database(), lookup.token
            loop.after(fill_ms, lambda: fill(version, token))

    def arrival() -> None:
        state.reads += 1
        if cache.holds(_KEY) is not None:
            attempt()  # a hit: park arrivals until the next write
            state.parked, state.parked_at = True, loop.now
            return
        attempt()
        loop.after(rng.expovariate(1.0) * read_gap, arrival)

    def unpark(now: float) -> None:
        skipped = int(counts_rng.poisson(read_rate * (now - state.parked_at) / 1000))
        state.reads += skipped
        state.skipped += skipped
        state.parked = False

    def write() -> None:
        if state.parked:
            unpark(loop.now)
            loop.after(rng.expovariate(1.0) * read_gap, arrival)
        marks.append(state.db_reads)
        state.version += 1
        cache.delete(_KEY)
        following = loop.now + rng.expovariate(1.0) * write_gap
        if following < horizon:
            loop.at(following, write)

    first = rng.expovariate(1.0) * write_gap
    if first < horizon:
        loop.at(first, write)
    report_progress(loop, horizon, progress)
    loop.run(until_ms=horizon)
    if state.parked:
        unpark(horizon)
    marks.append(state.db_reads)
    episodes = tuple(marks[i + 1] - marks[i] for i in range(len(marks) - 1))
    invalidations = len(episodes)
    return HerdResult(
        protection=protection,
        read_rate=read_rate,
        fill_ms=fill_ms,
        write_rate=write_rate,
        duration_s=duration_s,
        seed=seed,
        reads=state.reads,
        skipped_reads=state.skipped,
        db_reads=state.db_reads,
        invalidations=invalidations,
        stale_served=state.stale_served,
        events=loop.processed,
        db_reads_per_invalidation=state.db_reads / invalidations if invalidations else 0.0,
        peak_db_reads_per_s=max(db_by_second[: max(1, math.floor(duration_s))]),
        per_invalidation=episodes,
        db_reads_by_second=tuple(db_by_second[: math.ceil(duration_s)]),
    )


@scenario("herd")
def herd(
    *,
    read_rate: float = 12_000.0,
    fill_ms: float = 1.0,
    write_rate: float = 1.0,
    duration_s: float = 600.0,
    protection: Literal["none", "lease", "single-flight"] = "none",
    seed: int = 0,
    progress: Callable[[int, int], object] | None = None,
) -> HerdResult:
    """A thundering herd on one hot key: database reads per invalidation, with and without
    leases or single-flight.

    Poisson reads at ``read_rate`` per second, a fill window of ``fill_ms``, invalidating
    writes at ``write_rate`` per second, for ``duration_s`` simulated seconds. Reads of a
    cached key are counted in closed form, not simulated (see the module docstring), so the
    default 12,000 reads/s for 600 s takes a fraction of a second. Leases retry every 2 ms;
    :func:`simulate_herd` sets that, the lease interval and stale serving.

    Examples:
        >>> unprotected = herd(protection="none", duration_s=60, seed=3)
        >>> 12 < unprotected.db_reads_per_invalidation < 14   # 1 + 12000/s x 1 ms
        True
        >>> herd(protection="lease", duration_s=60, seed=3).db_reads_per_invalidation
        1.0

    Raises:
        LabConfigError: a parameter is out of range; nothing was run.

    Cost: as :func:`simulate_herd`.
    """
    return simulate_herd(
        read_rate=read_rate,
        fill_ms=fill_ms,
        write_rate=write_rate,
        duration_s=duration_s,
        protection=protection,
        seed=seed,
        progress=progress,
    )
