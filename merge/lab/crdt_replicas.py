"""CRDT replicas under the PBS latency laws: never lost, never in conflict, only late.

A quorum store makes a write wait for ``W`` acknowledgements and a read for ``R`` replies, and
a partial quorum can still read a stale version. CRDT replicas take the other corner: an
update is applied at the replica the client talks to and acknowledged at once (``W = 1``), a
read answers from that replica (``R = 1``), and the update reaches the others by
anti-entropy. Concurrent updates merge, so no replica is ever *inconsistent* in the sense of
holding a version that must be thrown away, and no acknowledged update is ever lost; a
replica is only *late*. How late is t-visibility: the probability that ``t`` ms after an
update was made, every replica (``p_all``) or a replica picked at random (``p_one``) holds it.

``simulate_crdt_replicas`` runs ``n`` replicas of a crdtkit type on the simulation core
([`merge.sim.Network`][merge.sim.Network]) with its own sync protocols, delta anti-entropy
(``"delta"``) or full-state gossip (``"state"``), and its codec: every message is the bytes
``crdts.encode`` makes. Only the delays come from the lab: each message carrying state (a
delta or a full state) draws the fit's ``W`` law, as a write reaching a replica does in PBS,
and each acknowledgement its ``A`` law; with the ``"wan"`` fit every replica is in a data
centre of its own, so every message also takes ``remote_ms`` (75 ms) longer. The core's time
advances in steps, so each step stands for ``tick_ms`` of simulated time here and a delay is
rounded up to whole ticks (at least one): visibility times are overestimated by less than a
tick per hop, and are multiples of ``tick_ms``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import crdts
from merge.lab._numpy import require_numpy
from merge.lab.catalog import scenario
from merge.lab.errors import LabConfigError
from merge.lab.latency import FITS, WARS, LatencyLaw
from merge.lab.staleness import _count, _probability, _quantile, _time
from merge.sim import Faults, Network

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

# ``crdt_replicas`` is filed as the "crdt-replicas" scenario (merge.lab.scenarios())
__all__ = ["CRDTReplicasResult", "simulate_crdt_replicas"]


@dataclass(frozen=True)
class _Workload:
    """A type and the update a client makes with it (``k`` numbers the update)."""

    template: Callable[[], crdts.CRDT]
    update: Callable[[int], Callable[[Any], Any]]
    expected: Callable[[int], Any]  # the value every replica must end with after u updates


def _increment(_: int) -> Callable[[Any], Any]:
    return lambda counter: counter.increment(1)


def _add(k: int) -> Callable[[Any], Any]:
    return lambda items: items.add(f"item-{k}")


#: The types a run can replicate, by name: a counter incremented by one per update, and an
#: add-wins set that gains one element per update (so a full state grows with the run).
WORKLOADS: Mapping[str, _Workload] = {
    "gcounter": _Workload(crdts.GCounter, _increment, lambda made: made),
    "orset": _Workload(crdts.ORSet, _add, lambda made: {f"item-{k}" for k in range(made)}),
}

#: Delays drawn per numpy call (the draws for one seed do not depend on how many are used).
_BATCH = 4096


class _LawDelays:
    """``Faults.latency`` from a WARS fit: W's law for state, A's for acks, in ticks."""

    def __init__(self, fit: WARS, tick_ms: float, rng: np.random.Generator) -> None:
        self.tick_ms, self.remote_ms, self.rng = tick_ms, fit.remote_ms, rng
        self.laws: dict[bool, tuple[LatencyLaw, list[float]]] = {
            False: (fit.w, []),  # a delta or a full state: a write reaching a replica
            True: (fit.a, []),  # an acknowledgement
        }

    def __call__(self, sender: str, receiver: str, kind: str) -> int:
        law, pending = self.laws[kind == "ack"]
        if not pending:
            pending.extend(law.sample(self.rng, _BATCH).tolist()[::-1])
        delay = pending.pop()
        if sender != receiver:  # every replica in its own data centre (no-op unless WAN)
            delay += self.remote_ms
        return max(1, math.ceil(delay / self.tick_ms))


class CRDTReplicasResult:
    """How late each update reached each replica, and what spreading them cost.

    ``visible_after_ms[k, i]`` is how long after update ``k`` was made replica ``i`` held it
    (0 at the replica that made it). ``messages``, ``bytes`` and ``full_states`` count what
    was sent until every replica held every update; ``lost_updates`` is how many updates some
    replica never got (always 0: the run fails loudly otherwise) and ``converged`` whether
    all replicas ended equal.
    """

    __slots__ = (
        "bytes",
        "converged",
        "crdt",
        "fit",
        "full_states",
        "interval_ms",
        "loss",
        "lost_updates",
        "messages",
        "n",
        "sync",
        "tick_ms",
        "visible_after_ms",
    )

    def __init__(
        self,
        *,
        crdt: str,
        sync: str,
        fit: str | WARS,
        n: int,
        tick_ms: float,
        interval_ms: float,
        loss: float,
        visible_after_ms: NDArray[np.float64],
        messages: int,
        bytes: int,  # the natural name of the figure
        full_states: int,
        lost_updates: int,
        converged: bool,
    ) -> None:
        self.crdt, self.sync, self.fit, self.n = crdt, sync, fit, n
        self.tick_ms, self.interval_ms, self.loss = tick_ms, interval_ms, loss
        self.visible_after_ms = visible_after_ms
        visible_after_ms.flags.writeable = False
        self.messages, self.bytes, self.full_states = messages, bytes, full_states
        self.lost_updates, self.converged = lost_updates, converged

    @property
    def updates(self) -> int:
        """How many updates were made."""
        return int(self.visible_after_ms.shape[0])

    @property
    def bytes_per_update(self) -> float:
        """Bytes sent per update made, until every replica held every update."""
        return self.bytes / self.updates

    @property
    def messages_per_update(self) -> float:
        """Messages sent per update made, until every replica held every update."""
        return self.messages / self.updates

    def p_all(self, t_ms: float) -> float:
        """P(every replica holds an update ``t_ms`` after it was made). Cost: O(u * n)."""
        t_ms = _time("t_ms", t_ms)
        return float((self.visible_after_ms.max(axis=1) <= t_ms).mean())

    def p_one(self, t_ms: float) -> float:
        """P(a replica picked uniformly at random, the origin included, holds an update
        ``t_ms`` after it was made): a read at a random replica sees it. Cost: O(u * n)."""
        t_ms = _time("t_ms", t_ms)
        return float((self.visible_after_ms <= t_ms).mean())

    def t_visibility(self, p: float, *, at: Literal["all", "one"] = "all") -> float:
        """The smallest t (ms) with ``p_all(t) >= p`` (or ``p_one`` with ``at="one"``)."""
        import numpy as np

        p = _probability("p", p)
        if at == "all":
            values = self.visible_after_ms.max(axis=1)
        elif at == "one":
            values = self.visible_after_ms.ravel()
        else:
            raise LabConfigError("at", at, "must be 'all' or 'one'")
        return _quantile(np.sort(values), p)

    def as_dict(
        self,
        *,
        t_ms: Iterable[float] = (0, 10, 100, 1000),
        p: Iterable[float] = (0.5, 0.99, 0.999),
    ) -> dict[str, Any]:
        """A JSON-friendly summary: P(all) and P(one) at each ``t_ms``, t-visibility of all
        replicas at each ``p``, and the cost per update."""
        times = list(t_ms)
        fit = self.fit.as_dict() if isinstance(self.fit, WARS) else self.fit
        return {
            "crdt": self.crdt,
            "sync": self.sync,
            "fit": fit,
            "n": self.n,
            "updates": self.updates,
            "loss": self.loss,
            "tick_ms": self.tick_ms,
            "interval_ms": self.interval_ms,
            "p_all": {str(t): self.p_all(t) for t in times},
            "p_one": {str(t): self.p_one(t) for t in times},
            "t_visibility_all_ms": {str(prob): self.t_visibility(prob) for prob in p},
            "messages": self.messages,
            "bytes": self.bytes,
            "full_states": self.full_states,
            "messages_per_update": self.messages_per_update,
            "bytes_per_update": self.bytes_per_update,
            "lost_updates": self.lost_updates,
            "converged": self.converged,
        }

    def __repr__(self) -> str:
        return (
            f"<CRDTReplicasResult {self.crdt} n={self.n} sync={self.sync!r} "
            f"updates={self.updates}: t99.9(all)={self.t_visibility(0.999):g} ms, "
            f"{self.bytes_per_update:.0f} bytes/update>"
        )


def simulate_crdt_replicas(
    crdt: Literal["gcounter", "orset"] = "gcounter",
    *,
    n: int = 3,
    sync: Literal["delta", "state"] = "delta",
    fit: str | WARS = "lnkd-disk",
    updates: int = 200,
    update_every_ms: float = 20.0,
    interval_ms: float = 10.0,
    tick_ms: float = 1.0,
    loss: float = 0.0,
    retransmit_ms: float = 250.0,
    fanout: int = 1,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> CRDTReplicasResult:
    """Make ``updates`` updates at random replicas and time their spread under ``fit``.

    ``n`` replicas of ``crdt`` (a name in ``WORKLOADS``) sync with ``sync`` every
    ``interval_ms``; updates arrive as a Poisson process, one every ``update_every_ms`` on
    average (so they fall at every phase of the rounds), each at a replica picked uniformly.
    Messages are lost with probability ``loss``; delta anti-entropy resends an
    unacknowledged interval after ``retransmit_ms``, and state gossip sends to ``fanout``
    peers per round. The run continues until every replica holds every update, then until
    the network settles; it fails with AssertionError if an update is lost or the replicas
    end unequal (neither can happen: that would be a bug in crdtkit). ``seed`` fixes every
    draw. ``progress(done, total)`` counts updates made.

    Examples:
        >>> delta = simulate_crdt_replicas("gcounter", updates=40, seed=1)
        >>> state = simulate_crdt_replicas("gcounter", updates=40, sync="state", seed=1)
        >>> delta.lost_updates, delta.converged, delta.p_one(0) >= 1 / 3
        (0, True, True)
        >>> delta.p_all(40), state.p_all(40) < delta.p_all(40)
        (1.0, True)

    Cost: O(steps * (n + m)) in pure Python for about ``updates * update_every_ms /
    tick_ms`` steps and m messages in flight, plus the merges.
    """
    require_numpy()
    import numpy as np

    workload = WORKLOADS.get(crdt) if isinstance(crdt, str) else None
    if workload is None:
        raise LabConfigError("crdt", crdt, f"must be one of {sorted(WORKLOADS)}")
    if sync not in ("delta", "state"):
        raise LabConfigError("sync", sync, "must be 'delta' or 'state'")
    model = WARS.fit(fit) if isinstance(fit, str) else fit
    if not isinstance(model, WARS):
        raise LabConfigError("fit", fit, f"must be a WARS model or one of {sorted(FITS)}")
    n = _count("n", n, low=2)
    updates = _count("updates", updates)
    fanout = _count("fanout", fanout, high=n - 1)
    loss = _probability("loss", loss)
    if loss >= 1:
        raise LabConfigError("loss", loss, "must be < 1: with every message lost nothing spreads")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise LabConfigError("seed", seed, "must be an int >= 0")
    tick_ms = _time("tick_ms", tick_ms)
    if tick_ms <= 0:
        raise LabConfigError("tick_ms", tick_ms, "must be > 0")
    every = _time("update_every_ms", update_every_ms) / tick_ms
    if every <= 0:
        raise LabConfigError("update_every_ms", update_every_ms, "must be > 0")
    interval, retransmit = (
        _ticks(name, value, tick_ms)
        for name, value in (("interval_ms", interval_ms), ("retransmit_ms", retransmit_ms))
    )
    network = Network(
        workload.template(),
        n,
        sync=sync,
        faults=Faults(drop=loss, latency=_LawDelays(model, tick_ms, np.random.default_rng(seed))),
        seed=seed,
        interval=interval,
        fanout=fanout,
        retransmit_after=retransmit,
    )
    ids = network.replicas
    origins = random.Random(seed)
    made_at: list[int] = []
    seen_at = np.zeros((updates, n), dtype=np.int64)
    known: list[frozenset[int]] = [frozenset()] * n
    unseen = updates * n  # (update, replica) pairs not yet seen, the origin's included
    next_update = 0.0  # in ticks: the first update at once, the next after exponential gaps
    while unseen:
        while len(made_at) < updates and network.steps >= next_update:
            number = len(made_at)
            origin = origins.randrange(n)
            network.update(ids[origin], workload.update(number))
            made_at.append(network.steps)
            seen_at[number, origin] = network.steps  # the origin holds it at once
            known[origin] = known[origin] | {number}
            unseen -= 1
            next_update += origins.expovariate(1.0 / every)
            if progress is not None and (number + 1) % 16 == 0:
                progress(number + 1, updates)
        if not network.step():
            continue  # only a delivery makes a replica see an update
        for index, replica in enumerate(ids):
            seen = network.replica(replica).seen_updates
            if len(seen) != len(known[index]):
                for number in seen - known[index]:
                    seen_at[number, index] = network.steps
                unseen -= len(seen) - len(known[index])
                known[index] = seen
    traffic = network.metrics  # what it took until every replica held every update
    if progress is not None:
        progress(updates, updates)
    network.settle(max_steps=1_000_000)
    final = [network.replica(replica).state for replica in ids]
    lost = updates - min(len(network.replica(replica).seen_updates) for replica in ids)
    converged = network.converged()
    if lost or not converged or any(state.value != workload.expected(updates) for state in final):
        raise AssertionError(
            f"crdtkit bug: {lost} updates lost, converged={converged}, values "
            f"{[state.value for state in final]!r}"
        )
    made = np.asarray(made_at, dtype=np.int64)[:, None]
    visible = (seen_at - made) * tick_ms
    return CRDTReplicasResult(
        crdt=crdt,
        sync=sync,
        fit=fit,
        n=n,
        tick_ms=tick_ms,
        interval_ms=interval * tick_ms,
        loss=loss,
        visible_after_ms=visible.astype(np.float64),
        messages=traffic.messages_sent,
        bytes=traffic.bytes_sent,
        full_states=traffic.full_states_sent,
        lost_updates=lost,
        converged=converged,
    )


def _ticks(parameter: str, value: object, tick_ms: float) -> int:
    """``value`` ms as a whole number of ticks, at least one."""
    return max(1, round(_time(parameter, value) / tick_ms))


@scenario("crdt-replicas")
def crdt_replicas(
    *,
    crdt: Literal["gcounter", "orset"] = "gcounter",
    n: int = 3,
    sync: Literal["delta", "state"] = "delta",
    fit: Literal["lnkd-ssd", "lnkd-disk", "ymmr", "wan"] = "lnkd-disk",
    updates: int = 200,
    update_every_ms: float = 20.0,
    interval_ms: float = 10.0,
    tick_ms: float = 1.0,
    loss: float = 0.0,
    retransmit_ms: float = 250.0,
    fanout: int = 1,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> CRDTReplicasResult:
    """CRDT replicas syncing by delta anti-entropy or state gossip under a PBS latency fit.

    The parameters are those of ``simulate_crdt_replicas``.

    Examples:
        >>> crdt_replicas(updates=20).as_dict()["lost_updates"]
        0

    Cost: that of ``simulate_crdt_replicas``.
    """
    return simulate_crdt_replicas(
        crdt,
        n=n,
        sync=sync,
        fit=fit,
        updates=updates,
        update_every_ms=update_every_ms,
        interval_ms=interval_ms,
        tick_ms=tick_ms,
        loss=loss,
        retransmit_ms=retransmit_ms,
        fanout=fanout,
        seed=seed,
        progress=progress,
    )
