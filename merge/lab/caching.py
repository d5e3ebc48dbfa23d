"""The caching lab: cache policies, TTLs and invalidation on simulated time over a lossy wire.

A database, one or more cache nodes and clients. Clients read through their cache node and
fill it on a miss; how a write reaches the cache and the database is the **policy**:

* ``"cache-aside"``: the client commits to the database; the cache is filled lazily on misses;
* ``"write-through"``: the client writes to its cache node, which writes the database and
  stores the value before acknowledging (ack after cache and database);
* ``"write-behind"``: the cache node stores the value and acknowledges at once; every
  ``flush_ms`` it flushes its buffered writes to the database in one batch; a crash loses
  what is unflushed.

Every entry lives ``ttl_ms`` from when it was stored (a fixed TTL; None: forever). The
**invalidation** mode is ``"ttl"`` (nothing but the TTL) or ``"delete-on-write"`` (a write
sends a delete to each cache node that may hold the key; the delete travels over the lossy
wire, so it can be late, lost, duplicated or overtaken).

Time and faults are the simulation core's: a :class:`~merge.sim.SimulatedTime` advanced in
steps of :data:`~merge.sim.STEP_MS` ms, and a :class:`~merge.sim.Wire` that applies a
:class:`~merge.sim.Faults` to each fill and delete, all drawing from one seeded
``random.Random``. The :class:`~merge.sim.Network` is not used: it replicates one CRDT
between peers that all run the same sync protocol, while a cache tier is asymmetric (a
database, caches that only store what they are sent, clients that only send). What the wire
does not carry (client timers, write-behind flushes) waits in a small heap on the same step
clock.

Reads and writes of the database by clients are immediate (they are counted as load, not
delayed); a fill is a memcache ``add``: stored only if the node holds no live entry, so a
slow fill never overwrites a newer write-through value. A value is a version number; the
database keeps, per key, every version it committed and when.
"""

from __future__ import annotations

import bisect
import heapq
import math
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from merge.lab.errors import LabConfigError
from merge.sim.clock import STEP_MS, SimulatedTime
from merge.sim.faults import Faults
from merge.sim.wire import Wire

__all__ = [
    "INVALIDATIONS",
    "POLICIES",
    "CacheResult",
    "CacheSimulation",
    "simulate_cache",
]

#: The cache policies, by name.
POLICIES = ("cache-aside", "write-through", "write-behind")
#: The invalidation modes, by name.
INVALIDATIONS = ("ttl", "delete-on-write")


@dataclass(frozen=True)
class CacheResult:
    """What one run of :func:`simulate_cache` measured.

    ``stale_reads`` counts reads that returned a version older than the database's latest
    committed one at read time; the staleness of such a read is how long ago the first newer
    version was committed (a fresh read has staleness 0). ``staleness_p99_ms`` is over all
    reads. ``raced_fills`` counts fills stored while the database already held a newer
    version (the stale-set race); ``race_stale_reads`` the stale reads they served.
    ``acked_writes_lost`` counts write-behind writes acknowledged and never flushed because
    a crash came first.
    """

    policy: str
    invalidation: str
    ttl_ms: int | None
    seed: int
    reads: int
    writes: int
    hits: int
    hit_ratio: float
    stale_reads: int
    stale_read_fraction: float
    max_staleness_ms: int
    staleness_p99_ms: int
    db_reads: int
    db_writes: int
    acked_writes_lost: int
    raced_fills: int
    race_stale_reads: int
    messages_sent: int
    messages_dropped: int

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (JSON-ready)."""
        return asdict(self)


@dataclass
class _Entry:
    version: int
    expires_ms: float
    raced: bool


class CacheSimulation:
    """A database and ``caches`` cache nodes on one simulated clock; drive it by hand.

    :func:`simulate_cache` drives it with Poisson traffic; tests script it to replay a race.
    Keys are ints, values are versions (0: the initial value of every key, committed at 0 ms).

    Examples:
        The stale-set race: A misses and reads version 0; B commits version 1 and its delete
        reaches the empty cache; A's fill of version 0 lands afterwards and stays.

        >>> from merge.sim import Faults
        >>> sim = CacheSimulation(policy="cache-aside", invalidation="delete-on-write",
        ...                       ttl_ms=None, faults=Faults(delay=(1, 1)), fill_ms=50)
        >>> sim.read(0, key=7)  # a miss: version 0 from the database, fill sent in 50 ms
        0
        >>> sim.advance(10)
        >>> sim.write(0, key=7)  # version 1 committed; the delete lands at 30 ms
        1
        >>> sim.advance(100)
        >>> sim.read(0, key=7), sim.raced_fills, sim.stale_reads
        (0, 1, 1)

    Cost: O(1) per read, write and delivered message, plus O(log v) per stale read for v
    versions of the key; a step is O(m log m) for m messages in flight.
    """

    def __init__(
        self,
        *,
        policy: str = "cache-aside",
        invalidation: str = "delete-on-write",
        ttl_ms: int | None = 60_000,
        faults: Faults | None = None,
        caches: int = 1,
        flush_ms: int = 1_000,
        fill_ms: int = 0,
        seed: int = 0,
    ) -> None:
        if policy not in POLICIES:
            raise LabConfigError("policy", policy, f"must be one of {list(POLICIES)}")
        if invalidation not in INVALIDATIONS:
            raise LabConfigError(
                "invalidation", invalidation, f"must be one of {list(INVALIDATIONS)}"
            )
        if ttl_ms is not None:
            _positive_int("ttl_ms", ttl_ms)
        if faults is None:
            faults = Faults()
        elif not isinstance(faults, Faults):
            raise LabConfigError("faults", faults, "must be a merge.sim.Faults")
        _positive_int("caches", caches)
        _positive_int("flush_ms", flush_ms)
        _positive_int("fill_ms", fill_ms, low=0)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise LabConfigError("seed", seed, "must be an int")
        self.policy = policy
        self.invalidation = invalidation
        self.ttl_ms = ttl_ms
        self.caches = caches
        self.flush_ms = flush_ms
        self.fill_ms = fill_ms
        self.seed = seed
        # the wire's draws are seeded apart from the workload's, so that every policy run
        # with one seed sees the same reads and writes at the same times
        self.rng = random.Random(f"wire:{seed}")
        self.time = SimulatedTime()
        self.wire = Wire(faults, self.rng, self.time)
        self._nodes: list[dict[int, _Entry]] = [{} for _ in range(caches)]
        # write-behind: per node, the versions acknowledged and not yet flushed, per key
        self._pending: list[dict[int, list[int]]] = [{} for _ in range(caches)]
        # the database: per key, the versions committed (ascending) and when
        self._versions: dict[int, list[int]] = {}
        self._commits: dict[int, list[int]] = {}
        self._timers: list[tuple[int, int, Callable[[], None]]] = []
        self._timer_seq = 0
        self._next_version = 1
        self.reads = self.writes = self.hits = 0
        self.stale_reads = self.race_stale_reads = self.raced_fills = 0
        self.db_reads = self.db_writes = self.acked_writes_lost = 0
        self.staleness: list[int] = []
        if policy == "write-behind":
            self._at(flush_ms, self._flush_all)

    # -- the database ----------------------------------------------------------------------

    def latest(self, key: int) -> int:
        """The newest version of ``key`` the database has committed."""
        versions = self._versions.get(key)
        return versions[-1] if versions else 0

    def _commit(self, key: int, version: int) -> None:
        # writes carry their version: the database keeps the newest (a late write-behind
        # flush of an older version changes nothing)
        self.db_writes += 1
        if version > self.latest(key):
            self._versions.setdefault(key, []).append(version)
            self._commits.setdefault(key, []).append(self.time.ms)

    def _staleness(self, key: int, version: int) -> int:
        """Milliseconds since a version newer than ``version`` was committed (0: fresh)."""
        versions = self._versions.get(key, [])
        index = bisect.bisect_right(versions, version)
        if index == len(versions):
            return 0
        return self.time.ms - self._commits[key][index]

    # -- clients ---------------------------------------------------------------------------

    def read(self, node: int, key: int) -> int:
        """A client of cache node ``node`` reads ``key``; returns the version it got."""
        self.reads += 1
        entry = self._live(node, key)
        if entry is not None:
            self.hits += 1
            version = entry.version
        else:
            self.db_reads += 1
            version = self.latest(key)
            self._after(self.fill_ms, lambda: self._send(node, "set", key, version))
        staleness = self._staleness(key, version)
        if staleness or version < self.latest(key):
            self.stale_reads += 1
            if entry is not None and entry.raced:
                self.race_stale_reads += 1
        self.staleness.append(staleness)
        return version

    def write(self, node: int, key: int) -> int:
        """A client of cache node ``node`` writes ``key``; returns the new version, which is
        acknowledged when this returns."""
        self.writes += 1
        version = self._next_version
        self._next_version += 1
        if self.policy == "cache-aside":
            self._commit(key, version)
            self._invalidate(key, others_of=None)
        elif self.policy == "write-through":
            self._commit(key, version)
            self._store(node, key, version)
            self._invalidate(key, others_of=node)
        else:  # write-behind
            self._store(node, key, version)
            self._pending[node].setdefault(key, []).append(version)
        return version

    # -- cache nodes -----------------------------------------------------------------------

    def _live(self, node: int, key: int) -> _Entry | None:
        entry = self._nodes[node].get(key)
        if entry is not None and entry.expires_ms <= self.time.ms:
            del self._nodes[node][key]
            return None
        return entry

    def _store(self, node: int, key: int, version: int, *, raced: bool = False) -> None:
        expires = math.inf if self.ttl_ms is None else self.time.ms + self.ttl_ms
        self._nodes[node][key] = _Entry(version, expires, raced)

    def _invalidate(self, key: int, *, others_of: int | None) -> None:
        if self.invalidation != "delete-on-write":
            return
        for node in range(self.caches):
            if node != others_of:
                self._send(node, "delete", key, 0)

    def _send(self, node: int, kind: str, key: int, version: int) -> None:
        self.wire.send("client", f"cache{node}", kind, 0, [key, version], ())

    def _deliver(self, node: int, kind: str, key: int, version: int) -> None:
        if kind == "delete":
            self._nodes[node].pop(key, None)
        elif self._live(node, key) is None:  # a fill is an add: only into an empty slot
            raced = version < self.latest(key)
            self.raced_fills += raced
            self._store(node, key, version, raced=raced)

    def _flush_all(self) -> None:
        for node in range(self.caches):
            batch = self._pending[node]
            self._pending[node] = {}
            for key, versions in batch.items():
                self._commit(key, versions[-1])
                self._invalidate(key, others_of=node)
        self._after(self.flush_ms, self._flush_all)

    def crash(self) -> int:
        """Every cache node loses its entries and its unflushed writes; returns how many
        acknowledged writes were lost."""
        lost = sum(len(v) for pending in self._pending for v in pending.values())
        self.acked_writes_lost += lost
        self._nodes = [{} for _ in range(self.caches)]
        self._pending = [{} for _ in range(self.caches)]
        return lost

    # -- time ------------------------------------------------------------------------------

    def _at(self, ms: int, action: Callable[[], None]) -> None:
        self._timer_seq += 1
        heapq.heappush(self._timers, (ms // STEP_MS, self._timer_seq, action))

    def _after(self, ms: int, action: Callable[[], None]) -> None:
        if ms == 0:
            action()
        else:
            self._at(self.time.ms + ms, action)

    def step(self) -> None:
        """Advance one step: deliver the messages due, then run the timers due."""
        self.time.advance()
        wire = self.wire
        for message in wire.due():
            wire.take(message.id, keep=False)
            wire.counts["delivered"] += 1
            _, _, _, (key, version) = message.unpack()
            self._deliver(int(message.receiver[5:]), message.kind, key, version)
        timers = self._timers
        while timers and timers[0][0] <= self.time.step:
            heapq.heappop(timers)[2]()

    def advance(self, ms: int) -> None:
        """Advance ``ms`` simulated milliseconds (rounded down to whole steps)."""
        for _ in range(ms // STEP_MS):
            self.step()

    def result(self) -> CacheResult:
        """What has been measured so far."""
        reads = self.reads
        ranked = sorted(self.staleness)
        p99 = ranked[max(0, math.ceil(0.99 * len(ranked)) - 1)] if ranked else 0
        return CacheResult(
            policy=self.policy,
            invalidation=self.invalidation,
            ttl_ms=self.ttl_ms,
            seed=self.seed,
            reads=reads,
            writes=self.writes,
            hits=self.hits,
            hit_ratio=self.hits / reads if reads else 0.0,
            stale_reads=self.stale_reads,
            stale_read_fraction=self.stale_reads / reads if reads else 0.0,
            max_staleness_ms=ranked[-1] if ranked else 0,
            staleness_p99_ms=p99,
            db_reads=self.db_reads,
            db_writes=self.db_writes,
            acked_writes_lost=self.acked_writes_lost,
            raced_fills=self.raced_fills,
            race_stale_reads=self.race_stale_reads,
            messages_sent=self.wire.counts["sent"],
            messages_dropped=self.wire.counts["dropped"],
        )


def _positive_int(parameter: str, value: object, *, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise LabConfigError(parameter, value, f"must be an int >= {low}")
    return value


def _rate(parameter: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise LabConfigError(parameter, value, "must be a number of events per second >= 0")
    if math.isinf(value):
        raise LabConfigError(parameter, value, "must be finite")
    return float(value)


def simulate_cache(
    *,
    policy: str = "cache-aside",
    ttl_ms: int | None = 60_000,
    invalidation: str = "delete-on-write",
    read_rate: float = 200.0,
    write_rate: float = 20.0,
    keys: int = 20,
    caches: int = 1,
    faults: Faults | None = None,
    flush_ms: int = 1_000,
    fill_ms: int = 0,
    crash_at_ms: int | None = None,
    duration_ms: int = 10_000,
    seed: int = 0,
) -> CacheResult:
    """Run one seeded cache workload and measure it.

    Reads and writes arrive as Poisson processes (``read_rate`` and ``write_rate`` per
    second in total), each on a key drawn uniformly from ``keys`` and through a cache node
    drawn uniformly from ``caches``. Fills and deletes cross the wire with ``faults``
    (delays are in steps of :data:`~merge.sim.STEP_MS` ms); a filling client waits
    ``fill_ms`` between its database read and sending the fill. With ``crash_at_ms``, every
    cache node crashes at that time (write-behind loses its unflushed writes). The same
    arguments and seed give the same result.

    Examples:
        >>> from merge.sim import Faults
        >>> aside = simulate_cache(policy="cache-aside", ttl_ms=5_000, seed=1,
        ...                        faults=Faults(drop=0.05, delay=(1, 5)))
        >>> behind = simulate_cache(policy="write-behind", ttl_ms=5_000, seed=1,
        ...                         crash_at_ms=4_500)
        >>> aside.hit_ratio > 0.5, aside.stale_reads > 0, behind.acked_writes_lost > 0
        (True, True, True)
        >>> aside.as_dict()["policy"], round(aside.hit_ratio, 2)
        ('cache-aside', 0.89)

    Raises:
        LabConfigError: a parameter is out of range; nothing was run.

    Cost: O((read_rate + write_rate) * duration) events plus one step per
    :data:`~merge.sim.STEP_MS` simulated ms.
    """
    read_rate = _rate("read_rate", read_rate)
    write_rate = _rate("write_rate", write_rate)
    _positive_int("keys", keys)
    _positive_int("duration_ms", duration_ms)
    if crash_at_ms is not None:
        _positive_int("crash_at_ms", crash_at_ms, low=0)
    sim = CacheSimulation(
        policy=policy,
        invalidation=invalidation,
        ttl_ms=ttl_ms,
        faults=faults,
        caches=caches,
        flush_ms=flush_ms,
        fill_ms=fill_ms,
        seed=seed,
    )
    rng = random.Random(seed)

    def gap(rate: float) -> float:
        return rng.expovariate(rate / 1000.0) if rate > 0 else math.inf

    next_read, next_write = gap(read_rate), gap(write_rate)
    crash_step = None if crash_at_ms is None else crash_at_ms // STEP_MS
    for step in range(duration_ms // STEP_MS):
        end = (step + 1) * STEP_MS
        if step == crash_step:
            sim.crash()
        while min(next_read, next_write) < end:
            if next_read <= next_write:
                sim.read(rng.randrange(caches), rng.randrange(keys))
                next_read += gap(read_rate)
            else:
                sim.write(rng.randrange(caches), rng.randrange(keys))
                next_write += gap(write_rate)
        sim.step()
    return sim.result()
