"""Multi-writer caches: two regions accept writes, replicate asynchronously, and must merge.

Regions ``a`` and ``b`` each hold a cache of one key that accepts writes and acknowledges
them locally, so both stay available when the link between them is cut. After each write a
region pushes its whole state to the other, and every ``anti_entropy_ms`` it pushes it
again; each push is lost with probability ``loss``, else lands after an exponential delay
with mean ``delay_mean_ms``, and none crosses while the link is partitioned
(``partition_start_ms`` to ``partition_end_ms``: a push whose flight overlaps the window is
lost). After ``duration_ms`` the two exchange states once more, reliably, and converge.

The same writes, replayed with the same random draws, are resolved three ways:

* ``"lww"``: the value is one :class:`~crdts.LWWRegister` stamped by each region's
  :class:`~clocks.HLC`; a write reads the local value, changes it and assigns the result;
  the greatest stamp wins a merge;
* ``"siblings"``: the value is a :class:`~merge.Siblings`; a write reads the siblings, merges
  them with the application's merge below, changes the result and puts it with the context
  it read, so concurrent writes become siblings and nothing is discarded by the store;
* ``"crdt"``: the value is the crdtkit type (:class:`~crdts.Cart`, :class:`~crdts.ORSet` or
  :class:`~crdts.PNCounter`) and a write is its own operation.

The workload (``data``), each write one operation, ``update_rate`` per second per region:

* ``"cart"``: add one unit of an item from a catalogue of ``items``; with probability
  ``remove_fraction`` instead remove an item the region's shopper sees (all its units);
* ``"set"``: add a new element (each added once); or remove an element the region sees;
* ``"counter"``: add 1.

**When an acknowledged update is lost** (the final converged value does not reflect it),
judged against the updates' causal order (update ``u`` *observed* ``v`` if ``u``'s region
had received ``v`` when ``u`` was made):

* counter: the final value should be the number of increments; each one missing is lost;
* set: an add is lost if its element is absent at the end and no remove observed it; a
  remove is lost if its element is present at the end;
* cart: the expected quantity of an item is the number of its added units that no remove of
  the item observed (add-wins, observed-remove: what a shopper expects and what
  :class:`~crdts.Cart` implements); each unit missing from the final quantity is a lost add,
  each unit too many a lost (undone) remove.

The application's merge for siblings is the one plain values allow: the maximum for a
counter, the union for a set, the per-item maximum quantity for a cart (Dynamo's cart,
where deleted items can come back). It cannot do better without knowing what each sibling
had observed, which is what a CRDT records.

Two independent counts check the losses: ``lww_concurrent_overwrites`` replays LWW with
plain sets (each value carries the ids of the updates it reflects; the greater stamp's set
survives a merge) and counts the updates missing from the winner, equal to the counter's
lost updates; ``siblings_concurrent_heads`` counts the updates no other update observed,
equal to the number of siblings left at the end.

Reads (``read_rate`` per second per region) are stale when their region has not yet
received an update acknowledged elsewhere; their staleness is the age of the oldest such
update. That depends on the messages, not on the resolution.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

from merge.lab._multi_region_stores import (
    _DATA,
    _REGIONS,
    _STORES,
    _Data,
    _LWWStore,
    _SiblingsStore,
    _Store,
    _Update,
)
from merge.lab.catalog import scenario
from merge.lab.errors import LabConfigError
from merge.lab.events import EventLoop

__all__ = ["DATA_TYPES", "RESOLUTIONS", "MultiWriterResult", "multi_writer"]

#: The conflict resolutions compared, by name.
RESOLUTIONS = ("lww", "siblings", "crdt")
#: The workloads, by name.
DATA_TYPES = ("cart", "set", "counter")

DataType = Literal["cart", "set", "counter"]


@dataclass(frozen=True)
class MultiWriterResult:
    """What :func:`multi_writer` measured: per resolution, the acknowledged updates lost and
    the final converged value (``lost_acked_updates`` and ``final_values``, keyed by
    ``"lww"``, ``"siblings"``, ``"crdt"``), next to ``expected_value`` (every update
    reflected) and the independent counts ``lww_concurrent_overwrites`` and
    ``siblings_concurrent_heads`` (see :mod:`merge.lab.multi_region`). ``siblings_final``
    is how many siblings the converged store holds before the application merges them.
    Every update is acknowledged by its own region, so ``availability`` (acknowledged over
    attempted, during the partition too) is 1.0 for every resolution."""

    data: str
    seed: int
    acked_updates: int
    updates_during_partition: int
    availability: float
    reads: int
    stale_reads: int
    stale_read_fraction: float
    max_staleness_ms: float
    lost_acked_updates: dict[str, int]
    final_values: dict[str, Any]
    expected_value: Any
    lww_concurrent_overwrites: int
    siblings_concurrent_heads: int
    siblings_final: int
    store_writes: int
    messages_sent: int
    messages_dropped: int
    duration_ms: float = field(repr=False)

    def as_dict(self) -> dict[str, Any]:
        """The measurements as a plain dict (JSON-ready)."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    def report(self) -> str:
        """A table: one row per resolution, then the workload's figures."""
        lines = [
            f"{self.data}: {self.acked_updates} acknowledged updates "
            f"({self.updates_during_partition} during the partition)",
            "",
            f"{'resolution':<10} {'lost':>5}  final value",
        ]
        for resolution in RESOLUTIONS:
            lines.append(
                f"{resolution:<10} {self.lost_acked_updates[resolution]:>5}  "
                f"{self.final_values[resolution]}"
            )
        lines += [
            f"{'expected':<10} {0:>5}  {self.expected_value}",
            "",
            f"lww concurrent overwrites (independent count): {self.lww_concurrent_overwrites}",
            f"siblings left before the application merge: {self.siblings_final} "
            f"(updates no other observed: {self.siblings_concurrent_heads})",
            f"stale reads: {self.stale_read_fraction:.3f} of {self.reads}, "
            f"max staleness {self.max_staleness_ms:.0f} ms",
        ]
        return "\n".join(lines)


# -- the scenario ------------------------------------------------------------------------------


@scenario("multi-writer")
def multi_writer(
    *,
    data: DataType = "cart",
    update_rate: float = 2.0,
    read_rate: float = 10.0,
    duration_ms: float = 30_000.0,
    partition_start_ms: float = 10_000.0,
    partition_end_ms: float = 20_000.0,
    loss: float = 0.05,
    delay_mean_ms: float = 50.0,
    anti_entropy_ms: float = 1_000.0,
    items: int = 10,
    remove_fraction: float = 0.1,
    skew_ms: int = 0,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> MultiWriterResult:
    """Two regions' caches accept writes under a partition: lost updates per resolution.

    Runs the workload ``data`` (``"cart"``, ``"set"`` or ``"counter"``) once per resolution
    (``"lww"``, ``"siblings"``, ``"crdt"``) on the same writes, reads and message fates
    (see :mod:`merge.lab.multi_region` for the model and for when an update counts as lost).
    Region ``b``'s clock runs ``skew_ms`` ahead of ``a``'s (it only changes which of two
    concurrent LWW writes wins). The same arguments and seed give the same result.

    Examples:
        >>> result = multi_writer(data="counter", update_rate=2, duration_ms=10_000,
        ...                       partition_start_ms=2_000, partition_end_ms=8_000, seed=3)
        >>> result.lost_acked_updates["crdt"], result.final_values["crdt"] == result.acked_updates
        (0, True)
        >>> result.lost_acked_updates["lww"] == result.lww_concurrent_overwrites > 0
        True
        >>> result.siblings_final == result.siblings_concurrent_heads
        True

    Raises:
        LabConfigError: a parameter is out of range; nothing was run.

    Cost: O(u * s) for u updates and s the encoded state's size (each push carries the
    whole state), three times.
    """
    if data not in DATA_TYPES:
        raise LabConfigError("data", data, f"must be one of {list(DATA_TYPES)}")
    update_rate = _rate("update_rate", update_rate)
    read_rate = _rate("read_rate", read_rate, zero=True)
    duration_ms = _time("duration_ms", duration_ms, low=1e-9)
    partition_start_ms = _time("partition_start_ms", partition_start_ms)
    partition_end_ms = _time("partition_end_ms", partition_end_ms)
    if partition_end_ms < partition_start_ms:
        raise LabConfigError(
            "partition_end_ms", partition_end_ms, "must not be before partition_start_ms"
        )
    loss = _fraction("loss", loss)
    delay_mean_ms = _time("delay_mean_ms", delay_mean_ms, low=1e-9)
    anti_entropy_ms = _time("anti_entropy_ms", anti_entropy_ms, low=1e-9)
    remove_fraction = _fraction("remove_fraction", remove_fraction)
    for name, value in (("items", items), ("skew_ms", skew_ms), ("seed", seed)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise LabConfigError(name, value, "must be an int")
    if items < 1:
        raise LabConfigError("items", items, "must be >= 1")
    if skew_ms < 0:
        raise LabConfigError("skew_ms", skew_ms, "must be >= 0")

    kind = _DATA[data](items, remove_fraction)
    settings = _Settings(
        update_rate, read_rate, duration_ms, (partition_start_ms, partition_end_ms), loss,
        delay_mean_ms, anti_entropy_ms, skew_ms, seed,
    )  # fmt: skip
    runs = {}
    for done, resolution in enumerate(RESOLUTIONS, start=1):
        runs[resolution] = _Run(kind, resolution, settings).play()
        if progress is not None:
            progress(done, len(RESOLUTIONS))

    crdt = runs["crdt"]
    updates = crdt.updates
    lww_store = runs["lww"].stores[0]
    assert isinstance(lww_store, _LWWStore)
    siblings_store = runs["siblings"].stores[0]
    assert isinstance(siblings_store, _SiblingsStore)
    partition = settings.partition
    return MultiWriterResult(
        data=data,
        seed=seed,
        acked_updates=len(updates),
        updates_during_partition=sum(
            1 for u in updates if partition[0] <= u.time_ms < partition[1]
        ),
        availability=1.0,
        reads=crdt.reads,
        stale_reads=crdt.stale_reads,
        stale_read_fraction=crdt.stale_reads / crdt.reads if crdt.reads else 0.0,
        max_staleness_ms=crdt.max_staleness_ms,
        lost_acked_updates={name: kind.lost(run.final, run.updates) for name, run in runs.items()},
        final_values={name: _plain(run.final) for name, run in runs.items()},
        expected_value=_plain(kind.expected(updates)),
        lww_concurrent_overwrites=len(updates) - len(lww_store.reflects),
        siblings_concurrent_heads=sum(
            1 for u in updates if not any(other.saw(u) for other in updates)
        ),
        siblings_final=len(siblings_store.siblings.values),
        store_writes=crdt.store_writes,
        messages_sent=crdt.sent,
        messages_dropped=crdt.dropped,
        duration_ms=duration_ms,
    )


@dataclass(frozen=True)
class _Settings:
    update_rate: float
    read_rate: float
    duration_ms: float
    partition: tuple[float, float]
    loss: float
    delay_mean_ms: float
    anti_entropy_ms: float
    skew_ms: int
    seed: int


class _Run:
    """One resolution's replay of the seeded workload."""

    def __init__(self, data: _Data, resolution: str, settings: _Settings) -> None:
        self.data = data
        self.resolution = resolution
        self.settings = settings
        self.loop = EventLoop()
        # workload and wire draw from separate streams, so every resolution sees the same
        self.workload = random.Random(f"multi-writer:{settings.seed}")
        self.wire = random.Random(f"multi-writer-wire:{settings.seed}")
        self.stores: list[_Store] = [self._store(r) for r in range(2)]
        self.updates: list[_Update] = []
        self.by_region: list[list[_Update]] = [[], []]
        # known[r][s]: how many of region s's updates region r has received (a prefix:
        # every push carries the sender's whole state)
        self.known = [[0, 0], [0, 0]]
        self.reads = self.stale_reads = self.store_writes = self.sent = self.dropped = 0
        self.max_staleness_ms = 0.0
        self.final: Any = None

    def _store(self, region: int) -> _Store:
        skew = self.settings.skew_ms * region  # region b's clock runs skew_ms ahead
        store = _STORES[self.resolution]
        return store(_REGIONS[region], self.data, lambda: int(self.loop.now) + skew)

    def play(self) -> _Run:
        s, loop, rng = self.settings, self.loop, self.workload
        for region in range(2):
            loop.at(rng.expovariate(s.update_rate / 1000), partial(self._update, region))
            if s.read_rate:
                loop.at(rng.expovariate(s.read_rate / 1000), partial(self._read, region))
            loop.at(s.anti_entropy_ms, partial(self._anti_entropy, region), priority=1)
        loop.run(until_ms=s.duration_ms)
        # the final reliable exchange: both regions converge
        first, second = self.stores
        first.absorb(second.snapshot())
        second.absorb(first.snapshot())
        final = first.view()
        assert final == second.view(), "the regions did not converge"
        self.final = final
        return self

    def _update(self, region: int) -> None:
        s, rng, store = self.settings, self.workload, self.stores[region]
        draws = (rng.random(), rng.random())
        self.loop.after(rng.expovariate(s.update_rate / 1000), lambda: self._update(region))
        index = len(self.by_region[region])
        kind, target = self.data.choose(store.view(), region, index, draws)
        self.known[region][region] = index + 1
        update = _Update(
            len(self.updates), region, index, self.loop.now, kind, target,
            (self.known[region][0], self.known[region][1]),
        )  # fmt: skip
        self.updates.append(update)
        self.by_region[region].append(update)
        store.update(update)
        self.store_writes += 1
        self._push(region)

    def _read(self, region: int) -> None:
        s, rng = self.settings, self.workload
        self.loop.after(rng.expovariate(s.read_rate / 1000), lambda: self._read(region))
        self.reads += 1
        other = 1 - region
        seen = self.known[region][other]
        if seen < len(self.by_region[other]):
            self.stale_reads += 1
            age = self.loop.now - self.by_region[other][seen].time_ms
            self.max_staleness_ms = max(self.max_staleness_ms, age)

    def _anti_entropy(self, region: int) -> None:
        self._push(region)
        self.loop.after(
            self.settings.anti_entropy_ms, lambda: self._anti_entropy(region), priority=1
        )

    def _push(self, region: int) -> None:
        s, rng, now = self.settings, self.wire, self.loop.now
        self.sent += 1
        lost = rng.random() < s.loss
        arrival = now + rng.expovariate(1 / s.delay_mean_ms)
        start, end = s.partition
        if lost or (now < end and arrival >= start and end > start):
            self.dropped += 1
            return
        payload = self.stores[region].snapshot()
        count = self.known[region][region]
        other = 1 - region

        def deliver() -> None:
            self.stores[other].absorb(payload)
            self.known[other][region] = max(self.known[other][region], count)
            self.store_writes += 1

        if arrival <= s.duration_ms:
            self.loop.at(arrival, deliver)


def _plain(value: Any) -> Any:
    """A JSON-ready copy: tuples become lists."""
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in sorted(value.items())}
    return value


def _rate(parameter: str, value: object, *, zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isinf(value):
        raise LabConfigError(parameter, value, "must be a finite number of events per second")
    if not (value >= 0 if zero else value > 0):
        raise LabConfigError(parameter, value, f"must be {'>=' if zero else '>'} 0")
    return float(value)


def _time(parameter: str, value: object, *, low: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isinf(value):
        raise LabConfigError(parameter, value, "must be a finite number of milliseconds")
    if not value >= low:
        raise LabConfigError(parameter, value, f"must be >= {low:g}" if low else "must be >= 0")
    return float(value)


def _fraction(parameter: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise LabConfigError(parameter, value, "must be a probability between 0 and 1")
    return float(value)
