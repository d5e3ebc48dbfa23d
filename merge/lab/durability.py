"""Write-back: what a cache that acknowledges before the database loses in a crash.

One cache node in front of a database takes Poisson writes at ``write_rate`` per second on
``keys`` keys, until it crashes at a time drawn uniformly from ``[0, duration_ms)``; each
of ``trials`` independent trials draws its own writes and crash. The **policy** says when a
write is acknowledged and when it becomes durable:

* ``"write-through"``: the node stores the write, writes the database and acknowledges when
  the database has committed. Acknowledgement latency: cache + database. A crash loses no
  acknowledged write (one still waiting on the database was never acknowledged).
* ``"write-behind"``: the node stores the write in its buffer and acknowledges at once; at
  every multiple of ``flush_ms`` it writes the buffer to the database in one batch (one
  database write per distinct key). A crash loses what was acknowledged since the last
  flush: on average ``write_rate * E[crash time mod flush_ms]``, which is
  ``write_rate * flush_ms / 2`` when ``duration_ms`` is a multiple of ``flush_ms``.
* ``"write-behind-replicated"``: as write-behind, and when it acknowledges the node also
  sends the write to one durable replica (Dynamo's buffered writes, DeCandia et al. 2007,
  §6.1), without waiting for it: the acknowledgement latency is write-behind's. The crash
  takes the cache node only; a write already sent is persisted by the replica when it
  lands, so no acknowledged write is lost. The replica link is reliable here; the model
  does not cover a replica that fails with the node.

Latencies are exponential: the cache's with mean ``cache_ms``, the database commit's with
mean ``db_ms``, the replica's with mean ``replica_ms``. Time is an
:class:`~merge.lab.EventLoop`'s float milliseconds; a trial stops at its crash.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from merge.lab.catalog import scenario
from merge.lab.errors import LabConfigError
from merge.lab.events import EventLoop

__all__ = ["WRITE_BACK_POLICIES", "WriteBackResult", "write_back"]

#: The write-back policies, by name.
WRITE_BACK_POLICIES = ("write-through", "write-behind", "write-behind-replicated")

WriteBackPolicy = Literal["write-through", "write-behind", "write-behind-replicated"]


@dataclass(frozen=True)
class WriteBackResult:
    """What :func:`write_back` measured over its trials.

    ``lost_acked_writes_mean`` is the mean over trials of the writes acknowledged and never
    made durable, with its standard error ``lost_acked_writes_se`` (sample standard
    deviation over √trials); ``expected_lost_acked_writes`` is the model's mean
    (``write_rate * E[crash mod flush_ms]`` for write-behind, 0 otherwise). Acknowledgement
    latencies are percentiles over every write acknowledged before its trial's crash.
    ``db_writes_per_s`` is the database's write rate before the crashes (write-behind
    coalesces repeated writes of a key within a flush). ``lost`` and ``since_flush_ms`` hold
    each trial's lost writes and the time from its last flush to its crash (for
    :meth:`plot`); they are not in :meth:`as_dict`.
    """

    policy: str
    write_rate: float
    flush_ms: float
    duration_ms: float
    trials: int
    seed: int
    acked_writes: int
    lost_acked_writes_mean: float
    lost_acked_writes_se: float
    lost_acked_writes_max: int
    expected_lost_acked_writes: float
    ack_p50_ms: float
    ack_p99_ms: float
    ack_p999_ms: float
    db_writes_per_s: float
    lost: tuple[int, ...] = field(repr=False)
    since_flush_ms: tuple[float, ...] = field(repr=False)

    def as_dict(self) -> dict[str, Any]:
        """The measurements as a plain dict (JSON-ready), without the per-trial series."""
        return {
            name: getattr(self, name)
            for name in self.__dataclass_fields__
            if name not in ("lost", "since_flush_ms")
        }

    def report(self) -> str:
        """The measurements as aligned text lines."""
        return "\n".join(f"{name}: {value}" for name, value in self.as_dict().items())

    def plot(self, path: str) -> None:
        """Save a figure to ``path``: each trial's lost writes against the time from its last
        flush to its crash, with the model's line ``write_rate * time`` and the means.
        Needs matplotlib (the ``plot`` extra)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(figsize=(7, 4))
        axes.scatter(self.since_flush_ms, self.lost, s=8, alpha=0.5, label="one trial")
        if self.policy == "write-behind":
            axes.plot(
                [0, self.flush_ms],
                [0, self.write_rate * self.flush_ms / 1000],
                color="tab:red",
                label="write_rate * time since flush",
            )
        axes.axhline(
            self.lost_acked_writes_mean,
            color="tab:green",
            linestyle="--",
            label=f"mean lost: {self.lost_acked_writes_mean:.1f} "
            f"(model {self.expected_lost_acked_writes:.1f})",
        )
        axes.set_xlabel("time from the last flush to the crash (ms)")
        axes.set_ylabel("acknowledged writes lost")
        axes.set_title(
            f"{self.policy}: {self.write_rate:g} writes/s, flush every {self.flush_ms:g} ms"
        )
        axes.legend(loc="upper left", fontsize="small")
        figure.tight_layout()
        figure.savefig(path, dpi=100)
        plt.close(figure)


@scenario("write-back")
def write_back(
    *,
    policy: WriteBackPolicy = "write-behind",
    write_rate: float = 100.0,
    flush_ms: float = 1_000.0,
    duration_ms: float = 10_000.0,
    trials: int = 200,
    keys: int = 1_000,
    cache_ms: float = 0.2,
    db_ms: float = 5.0,
    replica_ms: float = 2.0,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> WriteBackResult:
    """Acknowledged writes a crash loses, and acknowledgement latency, per write policy.

    Each trial runs Poisson writes at ``write_rate`` per second on ``keys`` keys until a
    crash at a uniform time in ``[0, duration_ms)``; the policy (``"write-through"``,
    ``"write-behind"`` or ``"write-behind-replicated"``) decides when a write is
    acknowledged and when it is durable (see :mod:`merge.lab.durability`). The same seed
    gives every policy the same writes and crash times.

    Examples:
        >>> behind = write_back(policy="write-behind", write_rate=100, flush_ms=1_000,
        ...                     trials=50, seed=1)
        >>> round(behind.expected_lost_acked_writes), 30 < behind.lost_acked_writes_mean < 70
        (50, True)
        >>> replicated = write_back(policy="write-behind-replicated", trials=50, seed=1)
        >>> through = write_back(policy="write-through", trials=50, seed=1)
        >>> replicated.lost_acked_writes_mean, through.lost_acked_writes_mean
        (0.0, 0.0)
        >>> through.ack_p999_ms > 10 * replicated.ack_p999_ms
        True

    Raises:
        LabConfigError: a parameter is out of range; nothing was run.

    Cost: O(write_rate * duration_ms / 2 * log) per trial (a trial ends at its crash).
    """
    if policy not in WRITE_BACK_POLICIES:
        raise LabConfigError("policy", policy, f"must be one of {list(WRITE_BACK_POLICIES)}")
    write_rate = _positive("write_rate", write_rate)
    flush_ms = _positive("flush_ms", flush_ms)
    duration_ms = _positive("duration_ms", duration_ms)
    cache_ms = _positive("cache_ms", cache_ms)
    db_ms = _positive("db_ms", db_ms)
    replica_ms = _positive("replica_ms", replica_ms)
    _count("trials", trials, low=2)
    _count("keys", keys, low=1)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise LabConfigError("seed", seed, "must be an int")

    lost: list[int] = []
    since_flush: list[float] = []
    latencies: list[float] = []
    db_writes = 0
    lived_ms = 0.0
    for trial in range(trials):
        outcome = _trial(
            policy, write_rate, flush_ms, duration_ms, keys, cache_ms, db_ms, replica_ms,
            random.Random(f"write-back:{seed}:{trial}"),
        )  # fmt: skip
        lost.append(outcome.lost)
        since_flush.append(outcome.crash_ms % flush_ms)
        latencies += outcome.latencies
        db_writes += outcome.db_writes
        lived_ms += outcome.crash_ms
        if progress is not None:
            progress(trial + 1, trials)

    mean = sum(lost) / trials
    variance = sum((x - mean) ** 2 for x in lost) / (trials - 1)
    latencies.sort()
    expected = 0.0
    if policy == "write-behind":
        expected = write_rate / 1000 * _mean_mod(duration_ms, flush_ms)
    return WriteBackResult(
        policy=policy,
        write_rate=write_rate,
        flush_ms=flush_ms,
        duration_ms=duration_ms,
        trials=trials,
        seed=seed,
        acked_writes=len(latencies),
        lost_acked_writes_mean=mean,
        lost_acked_writes_se=math.sqrt(variance / trials),
        lost_acked_writes_max=max(lost),
        expected_lost_acked_writes=expected,
        ack_p50_ms=_percentile(latencies, 0.5),
        ack_p99_ms=_percentile(latencies, 0.99),
        ack_p999_ms=_percentile(latencies, 0.999),
        db_writes_per_s=db_writes / lived_ms * 1000 if lived_ms else 0.0,
        lost=tuple(lost),
        since_flush_ms=tuple(since_flush),
    )


@dataclass
class _Trial:
    crash_ms: float
    lost: int = 0
    db_writes: int = 0
    latencies: list[float] = field(default_factory=list)


def _trial(
    policy: str,
    write_rate: float,
    flush_ms: float,
    duration_ms: float,
    keys: int,
    cache_ms: float,
    db_ms: float,
    replica_ms: float,
    rng: random.Random,
) -> _Trial:
    """One trial, run up to its crash."""
    outcome = _Trial(crash_ms=rng.uniform(0, duration_ms))
    loop = EventLoop()
    buffered: dict[int, int] = {}  # write id -> key, acknowledged and not yet flushed
    durable: set[int] = set()  # write ids the replica has persisted or has in flight
    gap_mean = 1000 / write_rate
    behind = policy != "write-through"
    replicated = policy == "write-behind-replicated"
    next_id = 0

    def acknowledge(write: int, key: int, arrived: float) -> None:
        outcome.latencies.append(loop.now - arrived)
        if behind:
            buffered[write] = key
            if replicated:
                # sent before the acknowledgement; the replica persists it when it lands,
                # whatever happens to this node
                durable.add(write)
        else:
            outcome.db_writes += 1

    def arrive() -> None:
        nonlocal next_id
        write, key, arrived = next_id, rng.randrange(keys), loop.now
        next_id += 1
        # every policy draws all three delays, so one seed gives each the same writes
        delay = rng.expovariate(1 / cache_ms)
        database, _replica = rng.expovariate(1 / db_ms), rng.expovariate(1 / replica_ms)
        if not behind:
            delay += database
        loop.after(delay, lambda: acknowledge(write, key, arrived))
        loop.after(rng.expovariate(1 / gap_mean), arrive)

    def flush() -> None:
        outcome.db_writes += len(set(buffered.values()))
        buffered.clear()
        loop.after(flush_ms, flush)

    loop.after(rng.expovariate(1 / gap_mean), arrive)
    if behind:
        # flushes run after acknowledgements due at the same instant
        loop.at(flush_ms, flush, priority=1)
    loop.run(until_ms=outcome.crash_ms)
    outcome.lost = sum(1 for write in buffered if write not in durable)
    return outcome


def _mean_mod(duration_ms: float, flush_ms: float) -> float:
    """E[C mod F] for C uniform on [0, D): whole periods contribute F/2 each, the
    remainder r contributes r/2 over its share r/D."""
    whole, rest = divmod(duration_ms, flush_ms)
    return (whole * flush_ms * flush_ms / 2 + rest * rest / 2) / duration_ms


def _percentile(ranked: list[float], q: float) -> float:
    """The nearest-rank q-quantile of an ascending list (0.0 if empty)."""
    if not ranked:
        return 0.0
    return ranked[max(0, math.ceil(q * len(ranked)) - 1)]


def _positive(parameter: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LabConfigError(parameter, value, "must be a number > 0")
    if not 0 < value < math.inf:
        raise LabConfigError(parameter, value, "must be a finite number > 0")
    return float(value)


def _count(parameter: str, value: object, *, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise LabConfigError(parameter, value, f"must be an int >= {low}")
    return value
