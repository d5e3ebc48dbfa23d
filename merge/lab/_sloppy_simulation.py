"""The event-by-event model behind :func:`~merge.lab.sloppy_quorum`: the nodes, the
coordinator, the partition and hinted handoff on an ``EventLoop``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Literal

from merge.lab.events import EventLoop
from merge.lab.latency import LatencyLaw
from merge.lab.sloppy_results import SloppyRead, SloppyResult

if TYPE_CHECKING:
    import numpy as np


#: Delays drawn from the latency law per numpy call (a batch is consumed message by message).
_DRAWS = 4096
# Priorities at equal times: the crash first, then message deliveries, then scans and new
# requests, so a crash at the heal precedes the first handoff scan.
_CRASH, _DELIVER, _START = -1, 0, 1


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


def _poisson(rng: np.random.Generator, per_s: float, end_ms: float) -> list[float]:
    """Arrival times (ms) of a Poisson process of ``per_s`` events per second in [0, end)."""
    times = []
    mean_gap = 1000.0 / per_s
    at = float(rng.exponential(mean_gap))
    while at < end_ms:
        times.append(at)
        at += float(rng.exponential(mean_gap))
    return times
