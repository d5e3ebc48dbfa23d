"""The ``ttl`` scenario: how stale a TTL-only cache gets, with a fixed or a sliding TTL.

Cache-aside on one key with no invalidation at all: Poisson reads at ``read_rate`` per
second, Poisson writes at ``write_rate`` per second committed to the database only. A
reader that misses reads the database and its fill lands ``fill_ms`` later (a plain set:
every miss in the window fills). An entry lives ``ttl_s`` from its fill (fixed), or from its
last read (``sliding=True``).

A value read from the database at time r is superseded at some w ≥ r, lands by r + fill
and (fixed TTL) is gone by r + fill + TTL, so no read is staler than TTL + fill window.
A sliding TTL has no such bound: on a key read more often than once per TTL the entry
never expires, and the cache serves the value it first held for as long as reads keep
coming. The **stale window** of a write is the total time, after it commits, the cache
serves a version older than it; it is measured from the cache's entries, exactly.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any

from merge.lab._support import number, report_progress
from merge.lab.cache_node import CacheNode
from merge.lab.catalog import scenario
from merge.lab.errors import LabConfigError
from merge.lab.events import EventLoop

__all__ = ["TTLResult", "ttl"]

_KEY = "key"


@dataclass(frozen=True)
class TTLResult:
    """What one TTL run measured.

    ``max_staleness_ms``: the largest staleness of any read (the time since the version
    after the one it got was committed; 0 for a fresh read); ``mean_stale_window_ms``: the
    mean over writes of each write's stale window. ``read_staleness`` holds ``(time_ms,
    staleness_ms)`` for every read, for plotting; ``events`` the event loop's events.
    """

    ttl_s: float
    sliding: bool
    read_rate: float
    write_rate: float
    fill_ms: float
    duration_s: float
    seed: int
    reads: int
    writes: int
    db_reads: int
    stale_reads: int
    max_staleness_ms: float
    mean_stale_window_ms: float
    events: int
    read_staleness: tuple[tuple[float, float], ...] = field(repr=False)

    def as_dict(self) -> dict[str, Any]:
        """``max_staleness_ms`` and ``mean_stale_window_ms``."""
        return {
            "max_staleness_ms": self.max_staleness_ms,
            "mean_stale_window_ms": self.mean_stale_window_ms,
        }

    def report(self) -> str:
        """A few lines for a terminal."""
        kind = "sliding" if self.sliding else "fixed"
        return "\n".join(
            [
                f"TTL only, {kind} TTL {self.ttl_s:g} s, fill {self.fill_ms:g} ms: "
                f"{self.read_rate:g} reads/s, {self.write_rate:g} writes/s, {self.duration_s:g} s",
                f"max staleness {self.max_staleness_ms:,.0f} ms (fixed-TTL bound: "
                f"{self.ttl_s * 1000 + self.fill_ms:,.0f} ms); mean stale window per write "
                f"{self.mean_stale_window_ms:,.0f} ms (TTL/2 = {self.ttl_s * 500:,.0f} ms)",
                f"{self.reads:,} reads, {self.stale_reads:,} stale; {self.db_reads:,} "
                f"database reads; {self.writes:,} writes",
            ]
        )

    def plot(self, path: str) -> None:
        """Save the staleness of each read over time (the first 60 s), with the fixed-TTL
        bound TTL + fill window drawn across."""
        from merge.lab._plotting import pyplot

        plt = pyplot()
        figure, axes = plt.subplots(figsize=(8, 3.6))
        shown = [(t / 1000, s / 1000) for t, s in self.read_staleness if t <= 60_000]
        axes.plot([t for t, _ in shown], [s for _, s in shown], ".", markersize=2)
        axes.axhline(
            (self.ttl_s * 1000 + self.fill_ms) / 1000,
            color="black",
            linestyle="--",
            label="TTL + fill window",
        )
        highest = max([bound for _, bound in shown], default=0.0)
        axes.set_ylim(0, 1.25 * max(highest, (self.ttl_s * 1000 + self.fill_ms) / 1000))
        axes.set_xlabel("simulated time (s)")
        axes.set_ylabel("staleness of the read (s)")
        axes.legend(loc="upper left")
        kind = "sliding" if self.sliding else "fixed"
        axes.set_title(
            f"{kind} TTL {self.ttl_s:g} s, {self.read_rate:g} reads/s, {self.write_rate:g} writes/s"
        )
        figure.tight_layout()
        figure.savefig(path, dpi=100)
        plt.close(figure)


def _stale_windows(history: list[tuple[Any, int, float, float]], commits: list[float]) -> float:
    """The sum over writes of the time after each write the cache served an older version.

    ``commits[v]`` is when version v was committed (v ≥ 1 are the writes). An entry of
    version v from s to e is stale for write w > v committed at t_w < e for e - max(s, t_w);
    prefix sums of commit times make that O(log W) per entry.
    """
    times = commits[1:]  # write k (version k + 1) at times[k]
    prefix = [0.0, *accumulate(times)]
    total = 0.0
    for _key, version, start, end in history:
        first = version  # index in times of version + 1
        last = bisect.bisect_left(times, end)  # writes committed before the entry ended
        if last <= first:
            continue
        split = max(first, bisect.bisect_right(times, start))  # writes after the entry began
        total += (split - first) * (end - start)
        total += (last - split) * end - (prefix[last] - prefix[split])
    return total


@scenario("ttl")
def ttl(
    *,
    ttl_s: float = 5.0,
    sliding: bool = False,
    read_rate: float = 100.0,
    write_rate: float = 1.0,
    fill_ms: float = 5.0,
    duration_s: float = 600.0,
    seed: int = 0,
    progress: Callable[[int, int], object] | None = None,
) -> TTLResult:
    """TTL-only cache-aside on one key: how stale reads get with a fixed or sliding TTL.

    Examples:
        >>> fixed = ttl(ttl_s=1.0, duration_s=60, seed=2)
        >>> fixed.max_staleness_ms <= 1_000 + 5   # TTL + fill window
        True
        >>> ttl(ttl_s=1.0, sliding=True, duration_s=60, seed=2).max_staleness_ms > 10_000
        True

    Raises:
        LabConfigError: a parameter is out of range; nothing was run.

    Cost: O((read_rate + write_rate) * duration_s) events, plus O(log writes) per cache entry.
    """
    ttl_ms = number("ttl_s", ttl_s) * 1000.0
    read_rate = number("read_rate", read_rate)
    write_rate = number("write_rate", write_rate)
    fill_ms = number("fill_ms", fill_ms, strict=False)
    duration_s = number("duration_s", duration_s)
    if not isinstance(sliding, bool):
        raise LabConfigError("sliding", sliding, "must be a bool")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise LabConfigError("seed", seed, "must be an int")
    loop = EventLoop()
    cache = CacheNode(loop, ttl_ms=ttl_ms, sliding=sliding, record=True)
    rng = random.Random(seed)
    horizon = duration_s * 1000.0
    commits = [0.0]  # commits[v]: when version v was committed
    read_staleness: list[tuple[float, float]] = []
    counts = {"db_reads": 0, "stale": 0}

    def read() -> None:
        version = cache.get(_KEY).version
        if version is None:  # a miss: read the database, fill after the fill window
            counts["db_reads"] += 1
            version = len(commits) - 1
            loop.after(fill_ms, lambda: cache.set(_KEY, version))
        staleness = loop.now - commits[version + 1] if version + 1 < len(commits) else 0.0
        counts["stale"] += staleness > 0
        read_staleness.append((loop.now, staleness))
        following = loop.now + rng.expovariate(read_rate / 1000.0)
        if following < horizon:
            loop.at(following, read)

    def write() -> None:
        commits.append(loop.now)
        following = loop.now + rng.expovariate(write_rate / 1000.0)
        if following < horizon:
            loop.at(following, write)

    loop.at(rng.expovariate(read_rate / 1000.0), read)
    loop.at(rng.expovariate(write_rate / 1000.0), write)
    report_progress(loop, horizon, progress)
    loop.run(until_ms=horizon)
    cache.close()
    assert cache.history is not None
    writes = len(commits) - 1
    return TTLResult(
        ttl_s=float(ttl_s),
        sliding=sliding,
        read_rate=read_rate,
        write_rate=write_rate,
        fill_ms=fill_ms,
        duration_s=duration_s,
        seed=seed,
        reads=len(read_staleness),
        writes=writes,
        db_reads=counts["db_reads"],
        stale_reads=counts["stale"],
        max_staleness_ms=max((s for _, s in read_staleness), default=0.0),
        mean_stale_window_ms=_stale_windows(cache.history, commits) / writes if writes else 0.0,
        events=loop.processed,
        read_staleness=tuple(read_staleness),
    )
