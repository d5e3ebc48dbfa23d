"""Event-driven invalidation over a lossy channel, retried from a log, watched Polaris-style.

* ``LossyChannel``: each message is lost with probability ``loss``, else delivered after an
  Exp(``delay_mean_ms``) delay, on an :class:`~merge.lab.EventLoop`;
* ``InvalidationLog``: a write's invalidation (a delete carrying the write's version) is
  sent to every cache at once and, with ``retry_ms``, resent from the log at r, 2r, ...
  after the write to each cache that has not applied it yet (the log learns of an applied
  invalidation at once: acknowledgements are not modelled as lossy), until ``give_up_ms``;
* ``PolarisObserver``: after each invalidation, polls every cache at each offset M, as Meta's
  Polaris does, and reports the share of writes still inconsistent — some cache serving a
  version older than the write's — "within M" as a fraction and as nines (-log10).

The ``invalidation`` scenario puts the three together on independent writes.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from merge.lab._support import number
from merge.lab.cache_node import CacheNode
from merge.lab.catalog import scenario
from merge.lab.errors import LabConfigError
from merge.lab.events import EventLoop

__all__ = [
    "InvalidationLog",
    "InvalidationResult",
    "LossyChannel",
    "PolarisObserver",
    "invalidation",
]


class LossyChannel:
    """Messages lost with probability ``loss``, else delivered after Exp(``delay_mean_ms``).

    Examples:
        >>> loop = EventLoop()
        >>> channel = LossyChannel(loop, loss=0.0, delay_mean_ms=5.0, rng=random.Random(1))
        >>> arrived = []
        >>> channel.send(lambda: arrived.append(loop.now))
        True
        >>> loop.run() and 0 < arrived[0] < 50
        True

    Cost: O(log E) per message, E the events pending.
    """

    def __init__(
        self, loop: EventLoop, *, loss: float, delay_mean_ms: float, rng: random.Random
    ) -> None:
        if isinstance(loss, bool) or not isinstance(loss, int | float) or not 0 <= loss <= 1:
            raise LabConfigError("loss", loss, "must be a probability in [0, 1]")
        self.loop = loop
        self.loss = float(loss)
        self.delay_mean_ms = number("delay_mean_ms", delay_mean_ms, strict=False)
        self.rng = rng
        #: Messages sent, and of those lost.
        self.sent = self.lost = 0

    def send(self, deliver: Callable[[], object]) -> bool:
        """Send one message; ``deliver`` runs on arrival. Returns False if it was lost."""
        self.sent += 1
        if self.rng.random() < self.loss:
            self.lost += 1
            return False
        self.loop.after(self.rng.expovariate(1.0) * self.delay_mean_ms, deliver)
        return True


class InvalidationLog:
    """Sends each write's invalidation to every cache and resends it from the log every
    ``retry_ms`` (None: never) to the caches that have not applied it, until ``give_up_ms``
    after the write.

    Cost: O(caches * (1 + resends)) messages per write.
    """

    def __init__(
        self,
        loop: EventLoop,
        channel: LossyChannel,
        caches: Sequence[CacheNode],
        *,
        retry_ms: float | None = None,
        give_up_ms: float = math.inf,
    ) -> None:
        if retry_ms is not None:
            number("retry_ms", retry_ms)
        self.loop = loop
        self.channel = channel
        self.caches = tuple(caches)
        self.retry_ms = retry_ms
        self.give_up_ms = give_up_ms
        #: Resends made.
        self.resends = 0

    def publish(self, key: Hashable, version: int) -> None:
        """A write of ``version`` to ``key`` committed now: invalidate it everywhere."""
        written = self.loop.now
        for cache in self.caches:
            applied = [False]

            def apply(cache: CacheNode = cache, applied: list[bool] = applied) -> None:
                applied[0] = True
                cache.delete(key, version=version)

            self.channel.send(apply)
            if self.retry_ms is not None:
                self._resend(written, 1, apply, applied)

    def _resend(
        self, written: float, attempt: int, apply: Callable[[], None], applied: list[bool]
    ) -> None:
        assert self.retry_ms is not None
        at = written + attempt * self.retry_ms
        if at - written > self.give_up_ms:
            return

        def resend() -> None:
            if not applied[0]:
                self.resends += 1
                self.channel.send(apply)
                self._resend(written, attempt + 1, apply, applied)

        self.loop.at(at, resend, priority=1)


class PolarisObserver:
    """Polls every cache ``at_ms`` after each invalidation it is told of and counts the
    writes some cache still contradicts (serves a version older than the write's).

    Examples:
        >>> loop = EventLoop()
        >>> cache = CacheNode(loop)
        >>> observer = PolarisObserver(loop, [cache], at_ms=[10.0])
        >>> cache.set("k", 0)
        True
        >>> observer.watch("k", 1)      # version 1 written; its invalidation never arrives
        >>> _ = loop.run()
        >>> observer.stale_fraction(), observer.nines()
        ({10.0: 1.0}, {10.0: 0.0})

    Cost: O(caches * offsets) per write watched.
    """

    def __init__(self, loop: EventLoop, caches: Sequence[CacheNode], *, at_ms: Sequence[float]):
        if not at_ms:
            raise LabConfigError("at_ms", at_ms, "must list at least one offset")
        self.offsets = tuple(number("at_ms", offset, strict=False) for offset in at_ms)
        self.loop = loop
        self.caches = tuple(caches)
        #: Writes watched.
        self.watched = 0
        #: Per offset, the writes still contradicted by some cache at that offset.
        self.inconsistent = dict.fromkeys(self.offsets, 0)

    def watch(self, key: Hashable, version: int) -> None:
        """``version`` of ``key`` was just written: poll every cache at each offset."""
        self.watched += 1
        for offset in self.offsets:

            def poll(offset: float = offset) -> None:
                for cache in self.caches:
                    held = cache.holds(key)
                    if held is not None and held < version:
                        self.inconsistent[offset] += 1
                        return

            # after anything else due at the same instant: a poll sees what landed by then
            self.loop.after(offset, poll, priority=2)

    def stale_fraction(self) -> dict[float, float]:
        """Offset → share of the watched writes inconsistent at it."""
        return {
            offset: count / self.watched if self.watched else 0.0
            for offset, count in self.inconsistent.items()
        }

    def nines(self) -> dict[float, float | None]:
        """Offset → -log10(stale fraction); None where no write was seen inconsistent (the
        resolution is log10 of the writes watched)."""
        return {
            offset: 0.0 - math.log10(count / self.watched) if count else None
            for offset, count in self.inconsistent.items()
        }


@dataclass(frozen=True)
class InvalidationResult:
    """What one ``invalidation`` run measured: per offset, ``stale_fraction`` and ``nines``
    (None where no write was still stale: fewer than 1 in ``writes``)."""

    writes: int
    loss: float
    delay_mean_ms: float
    retry_ms: float | None
    seed: int
    stale_fraction: dict[float, float]
    nines: dict[float, float | None]
    messages: int
    lost: int
    events: int

    def expected(self, offset: float) -> float:
        """The model's stale fraction at ``offset``: the product, over the sends at 0, r,
        2r, ... ≤ offset, of P(lost, or delayed past the offset)."""
        sends = [0.0]
        if self.retry_ms is not None:
            sends += [k * self.retry_ms for k in range(1, int(offset // self.retry_ms) + 1)]
        fraction = 1.0
        for sent in sends:
            late = math.exp(-(offset - sent) / self.delay_mean_ms) if self.delay_mean_ms else 0.0
            fraction *= self.loss + (1 - self.loss) * (late if offset > sent else 1.0)
        return fraction

    def as_dict(self) -> dict[str, Any]:
        """``stale_fraction`` and ``nines``, each a mapping offset (ms) → value."""
        return {"stale_fraction": dict(self.stale_fraction), "nines": dict(self.nines)}

    def report(self) -> str:
        """A table of offsets, measured and modelled."""
        retry = "no retry" if self.retry_ms is None else f"retry every {self.retry_ms:g} ms"
        lines = [
            f"invalidation: {self.writes:,} writes, loss {self.loss:g}, delay mean "
            f"{self.delay_mean_ms:g} ms, {retry}",
            f"{'within ms':>10} {'stale fraction':>15} {'model':>12} {'nines':>7}",
        ]
        for offset, fraction in self.stale_fraction.items():
            nines = self.nines[offset]
            shown = f">{math.log10(self.writes):.1f}" if nines is None else f"{nines:.2f}"
            lines.append(
                f"{offset:>10g} {fraction:>15.6f} {self.expected(offset):>12.6f} {shown:>7}"
            )
        return "\n".join(lines)

    def plot(self, path: str) -> None:
        """Save nines against the offset: measured points and the model's curve."""
        from merge.lab._plotting import pyplot

        plt = pyplot()
        figure, axes = plt.subplots(figsize=(7, 3.8))
        offsets = sorted(self.stale_fraction)
        top = max(offsets)
        grid = [top * k / 400 for k in range(1, 401)]
        model = [self.expected(t) for t in grid]
        axes.plot(grid, [-math.log10(m) if m > 0 else math.nan for m in model], "-", label="model")
        measured = [(t, n) for t, n in self.nines.items() if n is not None]
        axes.plot([t for t, _ in measured], [n for _, n in measured], "o", label="simulated")
        axes.set_xlabel("ms after the write")
        axes.set_ylabel("nines consistent (-log10 stale)")
        retry = "no retry" if self.retry_ms is None else f"retry every {self.retry_ms:g} ms"
        axes.set_title(f"loss {self.loss:g}, delay mean {self.delay_mean_ms:g} ms, {retry}")
        axes.legend()
        figure.tight_layout()
        figure.savefig(path, dpi=100)
        plt.close(figure)


@scenario("invalidation")
def invalidation(
    *,
    writes: int = 20_000,
    loss: float = 0.01,
    delay_mean_ms: float = 10.0,
    retry_ms: float | None = None,
    at_ms: Sequence[float] = (10.0, 100.0, 1_000.0, 10_000.0),
    seed: int = 0,
    progress: Callable[[int, int], object] | None = None,
) -> InvalidationResult:
    """Event-driven invalidation over a lossy channel, with optional retry from a log: the
    share of writes still stale ``at_ms`` after them, and its nines.

    Each of ``writes`` independent writes (one key each, one every ms) invalidates a cache
    holding the key; the message is lost with probability ``loss``, else delivered after
    Exp(``delay_mean_ms``); with ``retry_ms`` the log resends it at r, 2r, ... until it is
    applied (or the last offset has passed). A Polaris observer polls the cache at each
    offset after each write.

    Examples:
        >>> result = invalidation(writes=2_000, loss=0.1, retry_ms=100, at_ms=[50, 250])
        >>> round(result.stale_fraction[50.0], 2), result.stale_fraction[250.0] < 0.01
        (0.11, True)

    Raises:
        LabConfigError: a parameter is out of range; nothing was run.

    Cost: O(writes * (offsets + 1 + resends)) events.
    """
    if isinstance(writes, bool) or not isinstance(writes, int) or writes < 1:
        raise LabConfigError("writes", writes, "must be an int >= 1")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise LabConfigError("seed", seed, "must be an int")
    if isinstance(at_ms, str | bytes) or not isinstance(at_ms, Sequence):
        raise LabConfigError("at_ms", at_ms, "must be a list of offsets in ms")
    loop = EventLoop()
    rng = random.Random(seed)
    channel = LossyChannel(loop, loss=loss, delay_mean_ms=delay_mean_ms, rng=rng)
    cache = CacheNode(loop)
    observer = PolarisObserver(loop, [cache], at_ms=at_ms)
    log = InvalidationLog(
        loop, channel, [cache], retry_ms=retry_ms, give_up_ms=max(observer.offsets)
    )
    done = [0]
    tick = max(1, writes // 100)

    def write() -> None:
        key = done[0]
        cache.set(key, 0)  # the cache holds the key's old version
        log.publish(key, 1)
        observer.watch(key, 1)
        done[0] += 1
        if progress is not None and done[0] % tick == 0:
            progress(done[0], writes)
        if done[0] < writes:
            loop.after(1.0, write)

    loop.at(0.0, write)
    loop.run()
    shares = observer.stale_fraction()
    return InvalidationResult(
        writes=writes,
        loss=channel.loss,
        delay_mean_ms=channel.delay_mean_ms,
        retry_ms=None if retry_ms is None else float(retry_ms),
        seed=seed,
        stale_fraction=shares,
        nines=observer.nines(),
        messages=channel.sent,
        lost=channel.lost,
        events=loop.processed,
    )
