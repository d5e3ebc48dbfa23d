"""Sloppy quorums with hinted handoff (Dynamo, SOSP 2007, section 4.6), event by event.

One key lives on ``n`` home replicas, the first ``n`` nodes of its preference list; the
next nodes are fallbacks. A coordinator writes to ``n`` nodes and answers after ``w``
acknowledgements, and reads from ``n`` and answers with the newest of the first ``r``
replies. A partition then cuts the coordinator off from ``cut`` of the home replicas for
``partition_s`` seconds:

* a **strict** quorum keeps writing to the home replicas only, so with fewer than ``w`` of
  them reachable every write fails (the reachable homes still store it, unacknowledged);
* a **sloppy** quorum writes to the first ``n`` *reachable* nodes of the preference list:
  each fallback that stands in for an unreachable home keeps the write in a separate store
  with a **hint** naming that home, and the write succeeds with ``w`` acknowledgements
  from any of them.

After the heal, reads go to the home replicas again. Until every hint has been handed off,
a read whose ``r`` replies all come from homes that missed the writes is stale, even with
``r + w > n``. Each fallback scans its hints every ``handoff_interval_s`` and sends each one
whose home is reachable; the home applies it and acknowledges, and the fallback deletes the
hint. A fallback that crashes first loses its hints: its home stays behind until
anti-entropy (Merkle trees in Dynamo, not modelled here) repairs it, and a write that only
fallbacks held is gone.

The model: one key whose versions are 1, 2, ... (a newer version replaces an older one;
a node that never got a write answers version 0, the key's initial absence). Writes arrive
during the partition only, reads throughout, both as Poisson processes. Every one-way
message draws its delay from one latency law. The coordinator knows which nodes it can
reach (a perfect failure detector); a message to a node it cannot reach is lost, and a
write or read that has not gathered its quorum ``timeout_ms`` after it started fails.
A read is stale when the version it returns is older than the newest write acknowledged
before the read started. The simulation runs on an [`EventLoop`][merge.lab.EventLoop].
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from merge.lab._numpy import require_numpy
from merge.lab.catalog import scenario
from merge.lab.errors import LabConfigError
from merge.lab.events import EventLoop
from merge.lab.follower import _law_with_mean
from merge.lab.latency import Exponential, LatencyLaw
from merge.lab.staleness import _count, _quorums

if TYPE_CHECKING:
    import numpy as np

__all__ = ["SloppyRead", "SloppyResult", "sloppy_quorum"]

Phase = Literal["partition", "before_handoff", "after_handoff"]

#: Delays drawn from the latency law per numpy call (a batch is consumed message by message).
_DRAWS = 4096
# Priorities at equal times: the crash first, then message deliveries, then scans and new
# requests, so a crash at the heal precedes the first handoff scan.
_CRASH, _DELIVER, _START = -1, 0, 1


class SloppyRead(NamedTuple):
    """One read: when it started, whether it asked the home replicas only, what happened."""

    started_ms: float
    home_only: bool
    outcome: Literal["fresh", "stale", "failed"]
    seen: int
    """The newest version among the first ``r`` replies (-1 if the read failed)."""
    latest: int
    """The newest version acknowledged to a writer before the read started."""


@dataclass(frozen=True, slots=True)
class SloppyResult:
    """The outcome of ``sloppy_quorum``: availability, staleness by phase, and losses.

    Phases of a read, by its start: ``"partition"`` (before the heal),
    ``"before_handoff"`` (after the heal, before every surviving hint reached its home) and
    ``"after_handoff"``. ``handoff_done_ms`` is None if the handoff never finished within
    the run. ``handoffs_ms`` lists when each handoff reached its home.
    """

    n: int
    r: int
    w: int
    sloppy: bool
    cut: int
    seed: int
    heal_ms: float
    writes: int
    """Writes issued (all during the partition)."""
    writes_acknowledged: int
    """Writes that gathered ``w`` acknowledgements in time (from any of their targets)."""
    writes_home_acknowledged: int
    """Writes that ``w`` home replicas acknowledged in time: what a strict quorum gets."""
    reads: tuple[SloppyRead, ...]
    handoffs_ms: tuple[float, ...]
    handoff_done_ms: float | None
    crashed_fallback: int | None
    hints_lost: int
    """Hinted copies (one per home per fallback) destroyed by the fallback's crash."""
    acknowledged_writes_lost: int
    """Acknowledged writes whose version (or a newer one) no live node holds at the end."""
    homes_missing_latest: int
    """Home replicas without the newest acknowledged write at the end."""
    messages: int

    def phase(self, read: SloppyRead) -> Phase:
        """Which phase ``read`` started in."""
        if read.started_ms < self.heal_ms:
            return "partition"
        if self.handoff_done_ms is None or read.started_ms < self.handoff_done_ms:
            return "before_handoff"
        return "after_handoff"

    def stale_fraction(self, phase: Phase, *, home_only: bool | None = None) -> float | None:
        """The fraction of answered reads started in ``phase`` that were stale (None if no
        read was answered then); ``home_only`` keeps only reads of the home replicas
        (True) or only sloppy reads (False). Cost: O(reads)."""
        answered = [
            read
            for read in self.reads
            if self.phase(read) == phase
            and read.outcome != "failed"
            and (home_only is None or read.home_only == home_only)
        ]
        if not answered:
            return None
        return sum(read.outcome == "stale" for read in answered) / len(answered)

    @property
    def write_availability(self) -> dict[str, float | None]:
        """The fraction of writes acknowledged: ``"strict"`` counts home replicas' acks
        only, ``"sloppy"`` any target's (None when this run was strict and contacted no
        fallback)."""
        total = self.writes or 1
        return {
            "strict": self.writes_home_acknowledged / total if self.writes else None,
            "sloppy": self.writes_acknowledged / total if self.sloppy and self.writes else None,
        }

    def read_availability(self, phase: Phase) -> float | None:
        """The fraction of reads started in ``phase`` that gathered ``r`` replies in time."""
        started = [read for read in self.reads if self.phase(read) == phase]
        if not started:
            return None
        return sum(read.outcome != "failed" for read in started) / len(started)

    def as_dict(self) -> dict[str, Any]:
        """The measurements as plain values (fractions may be None when nothing was measured)."""
        handoff = None if self.handoff_done_ms is None else self.handoff_done_ms - self.heal_ms
        return {
            "n": self.n,
            "r": self.r,
            "w": self.w,
            "sloppy": self.sloppy,
            "cut": self.cut,
            "seed": self.seed,
            "partition_s": self.heal_ms / 1000,
            "writes": self.writes,
            "write_availability": self.write_availability,
            "read_availability_during_partition": self.read_availability("partition"),
            "stale_reads_during_partition": self.stale_fraction("partition"),
            "stale_home_reads_before_handoff": self.stale_fraction("before_handoff"),
            "stale_reads_after_handoff": self.stale_fraction("after_handoff"),
            "handoff_ms_after_heal": handoff,
            "fallback_crash": {
                "crashed_fallback": self.crashed_fallback,
                "hints_lost": self.hints_lost,
                "acknowledged_writes_lost": self.acknowledged_writes_lost,
                "homes_missing_latest": self.homes_missing_latest,
            },
            "reads": len(self.reads),
            "messages": self.messages,
        }

    def report(self) -> str:
        """A few lines for a terminal: availability, staleness by phase, crash losses."""

        def share(value: float | None) -> str:
            return "-" if value is None else f"{value:.1%}"

        mode = "sloppy" if self.sloppy else "strict"
        availability = self.write_availability
        handoff = (
            "never finished"
            if self.handoff_done_ms is None
            else f"{self.handoff_done_ms - self.heal_ms:.0f} ms after the heal"
        )
        lines = [
            f"{mode} quorum N={self.n} R={self.r} W={self.w}, {self.cut} home(s) cut off for "
            f"{self.heal_ms / 1000:g} s (seed {self.seed})",
            f"  writes acknowledged during the partition: strict {share(availability['strict'])}"
            f", sloppy {share(availability['sloppy'])} of {self.writes}",
            f"  stale reads: during the partition {share(self.stale_fraction('partition'))}, "
            f"home reads before handoff {share(self.stale_fraction('before_handoff'))}, "
            f"after handoff {share(self.stale_fraction('after_handoff'))}",
            f"  handoff: {handoff}",
        ]
        if self.crashed_fallback is not None:
            lines.append(
                f"  fallback {self.crashed_fallback} crashed: {self.hints_lost} hint(s) lost, "
                f"{self.acknowledged_writes_lost} acknowledged write(s) lost, "
                f"{self.homes_missing_latest} home(s) missing the latest write"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        mode = "sloppy" if self.sloppy else "strict"
        return (
            f"<SloppyResult {mode} n={self.n} r={self.r} w={self.w} cut={self.cut}: "
            f"writes {self.writes_acknowledged}/{self.writes} acknowledged, "
            f"stale home reads before handoff={self.stale_fraction('before_handoff')}>"
        )


class _Delays:
    """One-way delays from a latency law, drawn in numpy batches and handed out one by one."""

    __slots__ = ("_law", "_pending", "_rng")

    def __init__(self, law: LatencyLaw, rng: np.random.Generator) -> None:
        self._law, self._rng = law, rng
        self._pending: list[float] = []

    def __call__(self) -> float:
        if not self._pending:
            self._pending = self._law.sample(self._rng, _DRAWS).tolist()
            self._pending.reverse()
        return self._pending.pop()


class _Request:
    """A write or read in flight at the coordinator."""

    __slots__ = ("done", "home_replies", "latest", "replies", "seen", "started", "version")

    def __init__(self, started: float, version: int, latest: int) -> None:
        self.started = started
        self.version = version  # the version written (writes) or 0 (reads)
        self.latest = latest  # reads: newest acknowledged version when the read started
        self.replies = 0
        self.home_replies = 0
        self.seen = 0
        self.done = False


class _SloppyQuorum:
    """The nodes, the coordinator and the partition; ``run`` plays the scenario out."""

    def __init__(
        self,
        *,
        n: int,
        r: int,
        w: int,
        sloppy: bool,
        cut: int,
        heal_ms: float,
        end_ms: float,
        handoff_interval_ms: float,
        timeout_ms: float,
        crash_fallback: bool,
        delay: Callable[[], float],
    ) -> None:
        self.n, self.r, self.w, self.sloppy, self.cut = n, r, w, sloppy, cut
        self.heal_ms, self.end_ms = heal_ms, end_ms
        self.handoff_interval_ms, self.timeout_ms = handoff_interval_ms, timeout_ms
        self.crash_fallback = crash_fallback
        self.delay = delay
        self.loop = EventLoop()
        # nodes 0..n-1 are the homes, the last `cut` of them unreachable during the
        # partition; nodes n..n+cut-1 are the fallbacks that stand in for them, in order
        self.cut_homes = frozenset(range(n - cut, n))
        self.fallbacks = range(n, n + cut)
        self.version = [0] * n  # each home's newest version
        self.hints: dict[int, dict[int, int]] = {f: {} for f in self.fallbacks}
        self.in_flight: set[tuple[int, int, int]] = set()  # (fallback, home, version)
        self.alive = [True] * (n + cut)
        self.acknowledged: list[int] = []  # versions, in the order they were acknowledged
        # acknowledgements can complete out of version order: keep the newest separately
        self.newest = 0
        self.writes: list[_Request] = []
        self.home_acknowledged = 0
        self.reads: list[tuple[_Request, bool]] = []
        self.handoffs: list[float] = []
        self.handoff_done: float | None = None
        self.crashed: int | None = None
        self.hints_lost = 0
        self.messages = 0

    # -- the network ------------------------------------------------------------------------

    def reachable(self, node: int) -> bool:
        """Whether a message to or from ``node`` gets through now."""
        if not self.alive[node]:
            return False
        return not (node in self.cut_homes and self.loop.now < self.heal_ms)

    def send(self, node: int, action: Callable[[], object]) -> None:
        """A message between the coordinator (or a fallback) and ``node``: lost if ``node``
        is unreachable when it is sent, else ``action`` runs after one delay."""
        self.messages += 1
        if self.reachable(node):
            self.loop.after(self.delay(), action, priority=_DELIVER)

    def newest_acknowledged(self) -> int:
        return self.newest

    # -- writes -----------------------------------------------------------------------------

    def targets(self) -> list[tuple[int, int | None]]:
        """(node, home it stands in for) for a request now: homes only when strict or
        healed; during the partition a sloppy quorum takes the first n reachable nodes of
        the preference list, each fallback standing in for the next unreachable home."""
        homes: list[tuple[int, int | None]] = [(home, None) for home in range(self.n)]
        if not self.sloppy or self.loop.now >= self.heal_ms:
            return homes
        reachable: list[tuple[int, int | None]] = [
            (home, None) for home in range(self.n) if self.reachable(home)
        ]
        missing = [home for home in range(self.n) if not self.reachable(home)]
        stand_ins = [fallback for fallback in self.fallbacks if self.reachable(fallback)]
        return reachable + list(zip(stand_ins, missing, strict=False))

    def write(self) -> None:
        request = _Request(self.loop.now, len(self.writes) + 1, 0)
        self.writes.append(request)
        for node, home in self.targets():
            self.send(node, partial(self.store, request, node, home))

    def store(self, request: _Request, node: int, home: int | None) -> None:
        if home is None:
            self.version[node] = max(self.version[node], request.version)
        else:
            hints = self.hints[node]
            hints[home] = max(hints.get(home, 0), request.version)
        self.send(node, lambda: self.acknowledge(request, home_ack=home is None))

    def acknowledge(self, request: _Request, *, home_ack: bool) -> None:
        if self.loop.now - request.started > self.timeout_ms:
            return  # too late: the coordinator already reported the write as failed
        request.replies += 1
        request.home_replies += home_ack
        if home_ack and request.home_replies == self.w:
            self.home_acknowledged += 1
        if request.replies == self.w:
            self.acknowledged.append(request.version)
            self.newest = max(self.newest, request.version)

    # -- reads ------------------------------------------------------------------------------

    def read(self) -> None:
        targets = self.targets()
        request = _Request(self.loop.now, 0, self.newest_acknowledged())
        self.reads.append((request, all(home is None for _, home in targets)))
        for node, home in targets:
            self.send(node, partial(self.serve, request, node, home))

    def serve(self, request: _Request, node: int, home: int | None) -> None:
        version = self.version[node] if home is None else self.hints[node].get(home, 0)
        self.send(node, lambda: self.reply(request, version))

    def reply(self, request: _Request, version: int) -> None:
        if request.done or self.loop.now - request.started > self.timeout_ms:
            return
        request.replies += 1
        request.seen = max(request.seen, version)
        request.done = request.replies == self.r

    # -- hinted handoff and the crash -------------------------------------------------------

    def scan(self, fallback: int) -> None:
        if not self.alive[fallback]:
            return
        for home, version in self.hints[fallback].items():
            key = (fallback, home, version)
            if key not in self.in_flight and self.reachable(home):
                self.in_flight.add(key)
                self.send(home, partial(self.hand_off, *key))
        self.loop.after(self.handoff_interval_ms, lambda: self.scan(fallback), priority=_START)

    def hand_off(self, fallback: int, home: int, version: int) -> None:
        self.version[home] = max(self.version[home], version)
        self.handoffs.append(self.loop.now)
        self.send(fallback, lambda: self.handed_off(fallback, home, version))
        self.check_handoff_done()

    def handed_off(self, fallback: int, home: int, version: int) -> None:
        self.in_flight.discard((fallback, home, version))
        if self.hints[fallback].get(home) == version:
            del self.hints[fallback][home]

    def check_handoff_done(self) -> None:
        """Handoff is done once every hint a live fallback holds has reached its home."""
        if self.handoff_done is not None or self.loop.now < self.heal_ms:
            return
        for fallback in self.fallbacks:
            if self.alive[fallback]:
                for home, version in self.hints[fallback].items():
                    if self.version[home] < version:
                        return
        self.handoff_done = self.loop.now

    def crash(self) -> None:
        """The first fallback that holds hints (else the first fallback) crashes for good."""
        holding = [fallback for fallback in self.fallbacks if self.hints[fallback]]
        victim = holding[0] if holding else self.fallbacks[0]
        self.crashed = victim
        self.alive[victim] = False
        self.hints_lost = sum(
            self.version[home] < version for home, version in self.hints[victim].items()
        )
        self.hints[victim] = {}
        self.check_handoff_done()

    # -- the run ----------------------------------------------------------------------------

    def run(
        self, write_times: list[float], read_times: list[float], rng: np.random.Generator
    ) -> None:
        loop = self.loop
        for at in write_times:
            loop.at(at, self.write, priority=_START)
        for at in read_times:
            loop.at(at, self.read, priority=_START)
        for fallback in self.fallbacks:
            # each fallback scans on its own phase, every handoff_interval_ms
            offset = float(rng.random()) * self.handoff_interval_ms
            loop.at(offset, partial(self.scan, fallback), priority=_START)
        if self.crash_fallback:
            loop.at(self.heal_ms, self.crash, priority=_CRASH)
        loop.at(self.heal_ms, self.check_handoff_done, priority=_START)
        loop.run(self.end_ms + self.timeout_ms)

    def losses(self) -> tuple[int, int]:
        """(acknowledged writes no live node holds, homes without the newest one)."""
        held = max(
            [self.version[home] for home in range(self.n)]
            + [
                max(self.hints[fallback].values(), default=0)
                for fallback in self.fallbacks
                if self.alive[fallback]
            ]
        )
        lost = sum(version > held for version in self.acknowledged)
        newest = self.newest_acknowledged()
        return lost, sum(self.version[home] < newest for home in range(self.n))

    def result(self, seed: int) -> SloppyResult:
        reads = []
        for request, home_only in self.reads:
            if not request.done:
                outcome: Literal["fresh", "stale", "failed"] = "failed"
            else:
                outcome = "stale" if request.seen < request.latest else "fresh"
            seen = request.seen if request.done else -1
            reads.append(SloppyRead(request.started, home_only, outcome, seen, request.latest))
        lost, missing = self.losses()
        return SloppyResult(
            n=self.n,
            r=self.r,
            w=self.w,
            sloppy=self.sloppy,
            cut=self.cut,
            seed=seed,
            heal_ms=self.heal_ms,
            writes=len(self.writes),
            writes_acknowledged=len(self.acknowledged),
            writes_home_acknowledged=self.home_acknowledged,
            reads=tuple(reads),
            handoffs_ms=tuple(self.handoffs),
            handoff_done_ms=self.handoff_done,
            crashed_fallback=self.crashed,
            hints_lost=self.hints_lost,
            acknowledged_writes_lost=lost,
            homes_missing_latest=missing,
            messages=self.messages,
        )


def _seconds(parameter: str, value: object, *, zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise LabConfigError(parameter, value, "must be a finite number")
    if value < 0 or (value == 0 and not zero):
        raise LabConfigError(parameter, value, "must be >= 0" if zero else "must be > 0")
    return float(value)


def _poisson(rng: np.random.Generator, per_s: float, end_ms: float) -> list[float]:
    """Arrival times (ms) of a Poisson process of ``per_s`` events per second in [0, end)."""
    times = []
    mean_gap = 1000.0 / per_s
    at = float(rng.exponential(mean_gap))
    while at < end_ms:
        times.append(at)
        at += float(rng.exponential(mean_gap))
    return times


def sloppy_quorum(
    n: int = 3,
    r: int = 2,
    w: int = 2,
    *,
    sloppy: bool = True,
    partition_s: float = 5.0,
    cut: int | None = None,
    latency: LatencyLaw | None = None,
    writes_per_s: float = 10.0,
    reads_per_s: float = 50.0,
    handoff_interval_s: float = 1.0,
    after_s: float = 5.0,
    timeout_ms: float = 100.0,
    crash_fallback: bool = False,
    seed: int = 0,
) -> SloppyResult:
    """Partition a coordinator from ``cut`` home replicas for ``partition_s`` s, then heal.

    ``cut`` defaults to ``n - w + 1``, the fewest unreachable homes that leave a strict
    quorum short of ``w`` acknowledgements. Writes arrive at ``writes_per_s`` during the
    partition, reads at ``reads_per_s`` until ``after_s`` seconds after the heal; every
    message takes a delay from ``latency`` (default ``Exponential(1.0)``). With ``sloppy``
    the coordinator writes to fallbacks with hints, which they hand off every
    ``handoff_interval_s`` once the home is back; ``crash_fallback`` crashes the first
    fallback holding hints at the heal, before it can hand them off. See the module
    docstring for the model; ``as_dict()`` reports write availability strict and sloppy,
    stale reads by phase and what the crash lost.

    Examples:
        >>> result = sloppy_quorum(3, 2, 2, partition_s=2.0, handoff_interval_s=2.0,
        ...                        reads_per_s=200, seed=0)
        >>> result.write_availability          # two of three homes cut: only sloppy writes
        {'strict': 0.0, 'sloppy': 1.0}
        >>> round(result.stale_fraction("before_handoff"), 2)   # R + W > N, yet stale
        0.27
        >>> result.stale_fraction("after_handoff")
        0.0
        >>> strict = sloppy_quorum(3, 2, 2, sloppy=False, partition_s=2.0, seed=1)
        >>> strict.write_availability, strict.stale_fraction("before_handoff")
        ({'strict': 0.0, 'sloppy': None}, None)
        >>> crashed = sloppy_quorum(3, 1, 1, cut=3, partition_s=2.0, crash_fallback=True)
        >>> crashed.hints_lost, crashed.homes_missing_latest
        (1, 1)

    Cost: O(E log E) for E events, about ``(writes + reads) * 4 * n`` messages, in pure
    Python on an ``EventLoop``.
    """
    require_numpy()
    import numpy as np

    n, r, w = _quorums(n, r, w)
    cut = n - w + 1 if cut is None else _count("cut", cut, high=n)
    law = Exponential(1.0) if latency is None else latency
    if not isinstance(law, LatencyLaw):
        raise LabConfigError("latency", latency, "must be a latency law or None")
    partition_ms = _seconds("partition_s", partition_s) * 1000
    after_ms = _seconds("after_s", after_s, zero=True) * 1000
    interval_ms = _seconds("handoff_interval_s", handoff_interval_s) * 1000
    timeout_ms = _seconds("timeout_ms", timeout_ms)
    writes_per_s = _seconds("writes_per_s", writes_per_s)
    reads_per_s = _seconds("reads_per_s", reads_per_s)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise LabConfigError("seed", seed, "must be an int >= 0")
    rng = np.random.default_rng(seed)
    write_times = _poisson(rng, writes_per_s, partition_ms)
    read_times = _poisson(rng, reads_per_s, partition_ms + after_ms)
    model = _SloppyQuorum(
        n=n,
        r=r,
        w=w,
        sloppy=bool(sloppy),
        cut=cut,
        heal_ms=partition_ms,
        end_ms=partition_ms + after_ms,
        handoff_interval_ms=interval_ms,
        timeout_ms=timeout_ms,
        crash_fallback=bool(crash_fallback),
        delay=_Delays(law, rng),
    )
    model.run(write_times, read_times, rng)
    return model.result(seed)


@scenario("sloppy")
def _sloppy_scenario(
    *,
    n: int = 3,
    r: int = 2,
    w: int = 2,
    sloppy: bool = True,
    partition_s: float = 5.0,
    cut: int | None = None,
    latency_mean_ms: float = 1.0,
    law: Literal["exponential", "pareto"] = "exponential",
    alpha: float = 2.5,
    writes_per_s: float = 10.0,
    reads_per_s: float = 50.0,
    handoff_interval_s: float = 1.0,
    after_s: float = 5.0,
    timeout_ms: float = 100.0,
    crash_fallback: bool = False,
    seed: int = 0,
) -> SloppyResult:
    """Sloppy quorum and hinted handoff (Dynamo 4.6) through a partition and its heal.

    Message delays are exponential or Pareto (tail ``alpha``) with mean ``latency_mean_ms``.
    """
    return sloppy_quorum(
        n,
        r,
        w,
        sloppy=sloppy,
        partition_s=partition_s,
        cut=cut,
        latency=_law_with_mean(law, latency_mean_ms, alpha),
        writes_per_s=writes_per_s,
        reads_per_s=reads_per_s,
        handoff_interval_s=handoff_interval_s,
        after_s=after_s,
        timeout_ms=timeout_ms,
        crash_fallback=crash_fallback,
        seed=seed,
    )
