"""The ``race`` scenario: memcache's stale set, scripted, with and without protection.

The schedule (Nishtala et al., NSDI 2013, §3.2.1; Meta's *Cache made consistent*, 2022):
reader A misses at 0 ms and reads v1 from the database at 1 ms; writer B commits v2 at
2 ms and deletes the key at 3 ms, while the cache is empty; A's set of v1 lands at 5 ms.
Unprotected, the cache now serves v1 until its TTL ends, or forever. A **lease** refuses
the set (B's delete voided A's token); a **versioned** fill refuses it (the delete carried
v2, and v1 is older). Either way the next reader misses and fills v2: one extra database
read.

A second reader polls the key every ``poll_ms`` (from ``poll_ms`` on, up to ``horizon_ms``)
and fills it at once on a miss; it counts the stale reads a client would see (with
``poll_ms`` < 5 it polls inside the scripted window and becomes part of the race). The stale
window is measured exactly, from the cache's entries, not from the polls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from merge.lab.cache_node import CacheNode
from merge.lab.catalog import scenario
from merge.lab.errors import LabConfigError
from merge.lab.events import EventLoop

__all__ = ["RaceResult", "race"]

_PROTECTIONS = ("none", "lease", "version")


@dataclass(frozen=True)
class RaceResult:
    """What one scripted race measured.

    ``stale_window_ms``: total time within the horizon the cache served a value older than
    the database's; ``stale_reads``: polls that got such a value; ``db_reads``: database
    reads by A and the poller; ``stale_at_horizon``: the cache still serves v1 at the end;
    ``timeline``: the cache's entries as ``(version, start_ms, end_ms)``.
    """

    protection: str
    ttl_ms: float | None
    horizon_ms: float
    poll_ms: float
    stale_window_ms: float
    stale_reads: int
    db_reads: int
    stale_at_horizon: bool
    timeline: tuple[tuple[int, float, float], ...] = field(repr=False)

    def as_dict(self) -> dict[str, Any]:
        """``stale_window_ms``, ``stale_reads`` and ``db_reads``."""
        return {
            "stale_window_ms": self.stale_window_ms,
            "stale_reads": self.stale_reads,
            "db_reads": self.db_reads,
        }

    def report(self) -> str:
        """A few lines for a terminal."""
        ttl = "no TTL" if self.ttl_ms is None else f"TTL {self.ttl_ms:g} ms"
        lines = [f"stale-set race, protection {self.protection}, {ttl}:"]
        for version, start, end in self.timeline:
            lines.append(f"  cache serves v{version} from {start:g} ms to {end:g} ms")
        lines += [
            f"stale window {self.stale_window_ms:g} ms; {self.db_reads} database reads",
            f"{self.stale_reads} stale reads (one poll every {self.poll_ms:g} ms)",
        ]
        if self.stale_at_horizon:
            lines.append("still stale at the horizon")
        return "\n".join(lines)


@scenario("race")
def race(
    *,
    protection: Literal["none", "lease", "version"] = "none",
    ttl_ms: float | None = 60_000.0,
    horizon_ms: float = 120_000.0,
    poll_ms: float = 100.0,
    seed: int = 0,
) -> RaceResult:
    """The stale-set race, scripted: a delete overtaken by a slow fill, and what stops it.

    ``protection`` is ``"none"``, ``"lease"`` (memcache leases: B's delete voids A's
    token, so A's set is refused) or ``"version"`` (versioned fills: the delete carries v2
    and A's v1 is refused as older). ``ttl_ms`` is the entries' fixed TTL (None: none).
    The script is deterministic; ``seed`` is accepted so every scenario takes one.

    Examples:
        >>> race(protection="none", ttl_ms=60_000).as_dict()
        {'stale_window_ms': 60000.0, 'stale_reads': 600, 'db_reads': 2}
        >>> race(protection="lease", ttl_ms=None).as_dict()
        {'stale_window_ms': 0.0, 'stale_reads': 0, 'db_reads': 2}

    Raises:
        LabConfigError: a parameter is out of range; nothing was run.

    Cost: O(horizon_ms / poll_ms).
    """
    if protection not in _PROTECTIONS:
        raise LabConfigError("protection", protection, f"must be one of {list(_PROTECTIONS)}")
    if ttl_ms is not None and not (isinstance(ttl_ms, int | float) and 0 < ttl_ms < math.inf):
        raise LabConfigError("ttl_ms", ttl_ms, "must be a finite number of ms > 0, or None")
    for name, value in (("horizon_ms", horizon_ms), ("poll_ms", poll_ms)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise LabConfigError(name, value, "must be a number of ms > 0")
        if math.isinf(value):
            raise LabConfigError(name, value, "must be finite")
    if horizon_ms < 5:
        raise LabConfigError("horizon_ms", horizon_ms, "must reach A's set at 5 ms")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise LabConfigError("seed", seed, "must be an int")

    loop = EventLoop()
    cache = CacheNode(
        loop,
        ttl_ms=ttl_ms,
        leases=protection == "lease",
        versioned=protection == "version",
        record=True,
    )
    database = {"version": 1}
    commits = {1: 0.0}  # version -> commit time
    counts = {"db_reads": 0, "stale_reads": 0}
    a_token: list[int | None] = [None]
    a_read: list[int] = [0]

    def a_misses() -> None:
        a_token[0] = cache.get("k").token

    def a_reads_db() -> None:
        counts["db_reads"] += 1
        a_read[0] = database["version"]

    def b_commits() -> None:
        database["version"] = 2
        commits[2] = loop.now

    def b_deletes() -> None:
        cache.delete("k", version=database["version"] if protection == "version" else None)

    def a_sets() -> None:
        cache.set("k", a_read[0], token=a_token[0])

    polls = [1]

    def poll() -> None:
        lookup = cache.get("k")
        if lookup.version is not None:
            counts["stale_reads"] += lookup.version < database["version"]
        elif not lookup.wait:  # a miss: read the database and fill at once
            counts["db_reads"] += 1
            cache.set("k", database["version"], token=lookup.token)
        polls[0] += 1
        if polls[0] * poll_ms <= horizon_ms:  # by count, so float sums do not drift
            loop.at(polls[0] * poll_ms, poll, priority=1)

    # a poll at the same instant as a step of the script runs after it (priority 1)
    loop.at(0.0, a_misses)
    loop.at(1.0, a_reads_db)
    loop.at(2.0, b_commits)
    loop.at(3.0, b_deletes)
    loop.at(5.0, a_sets)
    if poll_ms <= horizon_ms:
        loop.at(float(poll_ms), poll, priority=1)
    loop.run(until_ms=horizon_ms)
    stale_at_horizon = (cache.holds("k") or 2) < database["version"]
    cache.close()
    assert cache.history is not None
    timeline = tuple((version, start, end) for _key, version, start, end in cache.history)
    stale = sum(
        max(0.0, end - max(start, commits[version + 1]))
        for version, start, end in timeline
        if version + 1 in commits
    )
    return RaceResult(
        protection=protection,
        ttl_ms=None if ttl_ms is None else float(ttl_ms),
        horizon_ms=float(horizon_ms),
        poll_ms=float(poll_ms),
        stale_window_ms=float(stale),
        stale_reads=counts["stale_reads"],
        db_reads=counts["db_reads"],
        stale_at_horizon=stale_at_horizon,
        timeline=timeline,
    )
