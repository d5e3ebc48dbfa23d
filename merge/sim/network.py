"""The simulated network: replicas of one CRDT, a sync protocol, faults and time.

A :class:`Network` holds one replica of a CRDT per id and the :class:`~merge.sim.wire.Wire`
between them. Time advances in steps of :data:`~merge.sim.clock.STEP_MS` simulated
milliseconds; in each step deferred merges that are due are retried, due messages are
delivered, and each replica's periodic anti-entropy round (its sync protocol, see
:mod:`merge.sim.sync`) runs. Every random choice comes from ``random.Random(seed)``, so a
seed reproduces a run exactly.

A merge that raises ``ClockDriftError`` (a stamp too far ahead of the receiver's clock) is
deferred until simulated time has caught up, then retried; the deferrals are counted.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Unpack

import crdts
from clocks import ClockDriftError
from merge.sim.clock import STEP_MS, SimulatedTime
from merge.sim.config import SimConfig, SimOptions, replica_ids, template_of
from merge.sim.faults import Faults
from merge.sim.metrics import Metrics, SettleError, Staleness, check_count
from merge.sim.replica import Replica
from merge.sim.restarts import Restarts
from merge.sim.retirement import Retirements
from merge.sim.sync import SYNC_PROTOCOLS, SyncProtocol
from merge.sim.wire import Message, Wire

__all__ = ["Network"]


class Network:
    """Replicas of one CRDT type on a simulated, faulty, deterministic network.

    Args:
        crdt_type: a CRDT class (``ORSet``), or an unbound instance used as a template
            (``ORMap(ORSet)``; every replica starts as a copy of it).
        replicas: a count (ids ``"r0"``, ``"r1"``, ...) or a list of ids.
        config: a :class:`~merge.sim.config.SimConfig`; or pass its fields as keywords:
            ``sync`` (``"delta"``: acknowledged delta intervals, or ``"state"``: full-state
            gossip), ``faults``, ``seed``, ``clock_skew``, ``interval``, ``fanout``,
            ``buffer_limit``, ``retransmit_after`` and ``relay`` (re-propagate received
            deltas; ``False`` ships only each replica's own deltas, so in a full mesh a
            delta crosses each link from its origin once, and delivery rests on the origin's
            own retransmissions and on full states after a restart).

    Examples:
        >>> from crdts import ORSet
        >>> net = Network(ORSet, replicas=["a", "b", "c"], faults=Faults(drop=0.3), seed=1)
        >>> _ = net.update("a", lambda s: s.add("apple"))
        >>> net.partition(["a", "b"], ["c"])
        >>> _ = net.update("c", lambda s: s.add("cherry"))
        >>> net.run(10)
        >>> sorted(net.replica("b").state.value), sorted(net.replica("c").state.value)
        (['apple'], ['cherry'])
        >>> net.heal()
        >>> _ = net.settle()
        >>> net.converged(), sorted(net.replica("b").state.value)
        (True, ['apple', 'cherry'])

    Cost: a step is O(m) in the messages it delivers plus the merges they cause; a delta
    round is O(p * b) for p peers and b unacknowledged buffered deltas.
    """

    def __init__(
        self,
        crdt_type: Any,
        replicas: int | Sequence[str] = 3,
        *,
        config: SimConfig | None = None,
        **options: Unpack[SimOptions],
    ) -> None:
        if config is None:
            config = SimConfig(**options)
        elif options:
            raise TypeError("pass either config= or its fields as keywords, not both")
        self.config = config
        self._template = template_of(crdt_type)
        self._stamped = hasattr(self._template, "clock")
        self._ids = replica_ids(replicas)
        for replica_id in config.clock_skew:
            if replica_id not in self._ids:
                raise ValueError(f"clock_skew names unknown replica {replica_id!r}")
        self._rng = random.Random(config.seed)
        self._time = SimulatedTime()
        self._replicas: dict[str, Replica] = {}
        self._restarts = Restarts(self)
        for replica_id in self._ids:
            replica = Replica(replica_id, config.clock_skew.get(replica_id, 0))
            replica._clock = self._time.clock(replica.id, replica.skew) if self._stamped else None
            replica._state = self._restarts.bind(self._template, replica)
            # every replica starts from the template, so each peer has "seen" sequence 0
            replica._acked = {peer: 0 for peer in self._ids if peer != replica_id}
            self._replicas[replica_id] = replica
        # stagger the anti-entropy rounds so replicas do not all send in the same step
        self._offsets = {rid: self._rng.randrange(config.interval) for rid in self._ids}
        self._wire = Wire(config.faults, self._rng, self._time)
        self._staleness = Staleness(self._ids, self._time)
        self._protocol: SyncProtocol = SYNC_PROTOCOLS[config.sync](self)
        self._retirements = Retirements(self)

    # -- configuration (read-only views of ``config``) -------------------------------------

    @property
    def sync(self) -> str:
        """The sync protocol's name (``"delta"`` or ``"state"``)."""
        return self.config.sync

    @property
    def protocol(self) -> SyncProtocol:
        """The sync protocol object this network runs."""
        return self._protocol

    @property
    def faults(self) -> Faults:
        """What the network does to messages."""
        return self.config.faults

    @property
    def interval(self) -> int:
        """Steps between a replica's anti-entropy rounds."""
        return self.config.interval

    @property
    def fanout(self) -> int:
        """Peers each replica gossips its state to per round (state sync)."""
        return self.config.fanout

    @property
    def buffer_limit(self) -> int | None:
        """Most deltas a replica buffers (delta sync; None: unbounded)."""
        return self.config.buffer_limit

    @property
    def retransmit_after(self) -> int | None:
        """Steps to wait for an ack before re-sending (delta sync; None: the default)."""
        return self.config.retransmit_after

    @property
    def relay(self) -> bool:
        """True if received deltas are re-propagated (delta sync)."""
        return self.config.relay

    # -- reading ---------------------------------------------------------------------------

    @property
    def replicas(self) -> tuple[str, ...]:
        """The replica ids, in order."""
        return tuple(self._ids)

    @property
    def time(self) -> int:
        """Simulated milliseconds since the start (``steps * STEP_MS``)."""
        return self._time.ms

    @property
    def steps(self) -> int:
        """Steps simulated so far."""
        return self._time.step

    @property
    def template(self) -> Any:
        """An unbound copy of the state every replica started from."""
        return self._template.copy()

    def replica(self, replica_id: str) -> Replica:
        """The replica named ``replica_id`` (``KeyError`` if there is none)."""
        try:
            return self._replicas[replica_id]
        except KeyError:
            raise KeyError(
                f"no replica {replica_id!r}; this network has {list(self._ids)!r}"
            ) from None

    @property
    def in_flight(self) -> tuple[Message, ...]:
        """The messages on the wire, in delivery order."""
        return self._wire.in_flight

    def converged(self) -> bool:
        """True if every replica's state is equal to every other's, metadata included.

        A crashed replica takes part with its persisted state.
        """
        states = [replica._state for replica in self._replicas.values()]
        return all(state == states[0] for state in states[1:])

    def quiescent(self) -> bool:
        """True if all replicas are up, have received every update, and are equal.

        In delta sync it also needs every peer to have acknowledged every buffered delta; in
        state sync, gossip never stops, but once this holds it carries no news.
        """
        return not self._unsettled()

    def lag(self, replica: str) -> int:
        """How stale ``replica`` is now: the age in ms of the oldest update it lacks (0: none).

        Cost: O(u) for u updates made so far.
        """
        oldest = self._staleness.oldest_unseen(self.replica(replica))
        updates = self._staleness.updates
        return self.time - updates[oldest][0] if oldest < len(updates) else 0

    @property
    def metrics(self) -> Metrics:
        """A snapshot of the counters (see :class:`~merge.sim.metrics.Metrics`)."""
        return self._staleness.metrics(self._replicas, self._wire.counts)

    @property
    def _updates(self) -> list[tuple[int, str]]:
        """Every update made so far: ``(created_ms, origin)``, in the order made."""
        return self._staleness.updates

    # -- acting ----------------------------------------------------------------------------

    def update(self, replica: str, fn: Callable[[Any], Any]) -> Any:
        """Run ``fn(state)`` at ``replica``; ``fn`` calls a mutator and returns its delta.

        Returns the delta, or None if ``fn`` returned None without changing the state (a
        no-op, e.g. a guarded remove). The update is numbered (see
        :attr:`Replica.seen_updates`) and, in delta sync, buffered for its peers.

        Raises:
            RuntimeError: the replica is crashed.
            TypeError: ``fn`` returned something other than a delta of this type, or None
                after changing the state (the change is undone).
            ValueError: the delta does not account for everything ``fn`` changed (the
                change is undone). If ``fn`` raises, its change is undone too.
        """
        target = self._live(replica)
        delta = target.apply(fn)
        if delta is None:
            return None
        number = self._staleness.record(target)
        self._protocol.updated(target, delta, number)
        return delta

    def partition(self, *groups: Iterable[str]) -> None:
        """Split the network: messages pass only between replicas of the same group.

        Replicas not named form one more group. A new partition replaces the current one;
        messages already in flight across the split are lost on arrival.
        """
        if not groups:
            raise ValueError("partition needs at least one group of replica ids")
        assigned: dict[str, int] = {}
        for index, group in enumerate(groups):
            if isinstance(group, str):
                raise TypeError(f"each group must be a list of replica ids, not the str {group!r}")
            for replica_id in group:
                self.replica(replica_id)
                if replica_id in assigned:
                    raise ValueError(f"replica {replica_id!r} is in two groups")
                assigned[replica_id] = index
        rest = len(groups)
        self._wire.partition({rid: assigned.get(rid, rest) for rid in self._ids})

    def heal(self) -> None:
        """Remove the partition; ``metrics.steps_to_converge`` counts from here."""
        self._wire.partition(None)
        self._staleness.heal(self._replicas.values())

    def crash(self, replica: str) -> None:
        """Stop ``replica``: it loses its delta buffer, acks and deferred messages.

        Its state was persisted after every local update and applied merge (the snapshot is
        encoded here: the simulation cannot crash between an update and its persistence, so
        the bytes are the same). Messages to it are lost until :meth:`restart`.
        """
        self._restarts.crash(replica)

    def checkpoint(self, replica: str) -> None:
        """Save ``replica``'s current state as an older snapshot for ``restart(stale=True)``.

        Models a backup or a periodic snapshot: restarting from it loses whatever the replica
        did after it (its own updates that reached no peer are lost for good; see
        :attr:`lost_updates`).
        """
        self._restarts.checkpoint(replica)

    def restart(self, replica: str, *, stale: bool = False) -> None:
        """Bring a crashed ``replica`` back from its persisted snapshot.

        It decodes its state and clock (with ``stale=True``, from its last
        :meth:`checkpoint`, or its initial empty state if it never took one) as a new
        writer — the next incarnation of its name — so nothing it writes next can collide
        with what its previous incarnation wrote. With no buffer and no acks, its next
        anti-entropy round ships its full state to every peer. Its delta sequence counter
        is durable and never goes back.
        """
        self._restarts.restart(replica, stale=stale)

    @property
    def lost_updates(self) -> frozenset[int]:
        """Updates no replica holds any more (only a stale restart can lose one: its own
        updates that had reached no peer, nor any message still on the wire). O(u·r)."""
        return self._restarts.lost_updates

    def retire(self, replica: str) -> None:
        """Retire the writers ``replica`` no longer writes as: its earlier incarnations.

        Runs the retirement protocol of :mod:`merge.sim.retirement` (after Akka's
        ``RemovedNodePruning``) over the simulated network, advancing with :meth:`step`:
        *initiated* (the coordinator, ``replica`` itself, waits until it has seen
        everything anyone holds of the departed writers), *performed* (it folds them into
        its own writer with ``state.retire(...)``, shipped as an ordinary update) and
        *forgotten* (once every replica and every message holds the retirement, the records
        are dropped and older checkpoints replaced).

        Raises:
            KeyError: no such replica.
        """
        self._retirements.start(replica)

    @property
    def retirements(self) -> tuple[tuple[frozenset[str], str], ...]:
        """Each retirement run so far: its writers and its phase (``"initiated"``,
        ``"performed"`` or ``"forgotten"``)."""
        return tuple((run.writers, run.phase) for run in self._retirements.runs)

    def step(self) -> int:
        """Advance one step: retry deferred merges, deliver due messages, run anti-entropy.

        Returns the number of messages delivered.
        """
        step = self._time.advance()
        delivered = 0
        for replica in self._replicas.values():
            if replica.up and replica._held:
                for message in replica.due_retries(step):
                    self._process(replica, message)
        flight = self._wire.flight
        for message in self._wire.due():
            del flight[message.id]
            delivered += self._arrive(message)
        if self._retirements.in_progress:
            self._retirements.advance()  # before anti-entropy: dropped records stay dropped
        interval = self.config.interval
        for replica_id, replica in self._replicas.items():
            if replica.up and (step + self._offsets[replica_id]) % interval == 0:
                self._anti_entropy(replica)
        self._staleness.track(self._replicas.values())
        return delivered

    def run(self, steps: int) -> None:
        """Advance ``steps`` steps (an int >= 0)."""
        check_count("steps", steps)
        for _ in range(steps):
            self.step()

    def settle(self, max_steps: int = 2_000) -> int:
        """Step until the replicas converge and have nothing left to send; return the steps.

        Faults stay in force: anti-entropy must get through them.

        Raises:
            SettleError: not settled after ``max_steps`` steps (a replica is crashed, the
                network is partitioned, every message is dropped, ...).
        """
        check_count("max_steps", max_steps)
        for taken in range(max_steps + 1):
            if not self._unsettled():
                return taken
            if taken < max_steps:
                self.step()
        raise SettleError(max_steps, self._unsettled())

    def gossip(self, *replicas: str) -> None:
        """Run an anti-entropy round now at ``replicas`` (default: every live replica).

        The round is the one ``step`` runs every ``interval`` steps, without advancing time.
        """
        targets = [self.replica(rid) for rid in replicas] or list(self._replicas.values())
        for replica in targets:
            if replica.up:
                self._anti_entropy(replica)

    def deliver(self, message_id: int, *, keep: bool = False) -> bool:
        """Deliver the in-flight message ``message_id`` now (``keep``: deliver a copy).

        Partitions and crashes still apply. Returns True if the message was processed.
        """
        return bool(self._arrive(self._wire.take(message_id, keep=keep)))

    def drop(self, message_id: int) -> None:
        """Lose the in-flight message ``message_id``."""
        self._wire.take(message_id, keep=False)
        self._wire.counts["dropped"] += 1

    def __repr__(self) -> str:
        return (
            f"Network({type(self._template).__name__}, replicas={list(self._ids)!r}, "
            f"sync={self.sync!r}, step={self.steps})"
        )

    # -- internals -------------------------------------------------------------------------

    def _messages(self) -> Iterator[Message]:
        """Messages not yet merged: on the wire, or deferred by clock drift."""
        yield from self._wire.flight.values()
        for replica in self._replicas.values():
            for _, message in replica._held.values():
                yield message

    def _anti_entropy(self, replica: Replica) -> None:
        self._protocol.round(replica, [peer for peer in self._ids if peer != replica.id])

    def _arrive(self, message: Message) -> int:
        receiver = self._replicas[message.receiver]
        if not receiver.up or self._wire.separated(message.sender, message.receiver):
            self._wire.counts["dropped"] += 1
            return 0
        self._wire.counts["delivered"] += 1
        self._process(receiver, message)
        return 1

    def _process(self, replica: Replica, message: Message) -> None:
        kind, sender, span, body = message.unpack()
        protocol = self._protocol
        if kind == "ack":
            protocol.acknowledged(replica, sender, span)
            return
        # a delta message holds one group per origin; a state message is one group
        groups = body if kind == "delta" else [[sender, body]]
        wait = 0
        for (origin, payload), updates, epoch in zip(
            groups, message.parts, message.epochs, strict=True
        ):
            incoming = crdts.decode(payload)
            if incoming.leq(replica._state):
                self._staleness.see(replica, updates)  # nothing new: not buffered again
                continue
            try:
                replica._state.merge(incoming)
            except ClockDriftError as error:
                # a stamp too far ahead of this replica's clock: retry once time catches up
                assert error.max_offset is not None
                wait = max(wait, error.remote.wall - error.max_offset - error.physical, 1)
                continue
            self._staleness.see(replica, updates)
            protocol.merged(replica, incoming, origin, updates, epoch)
        if wait:
            self._wire.counts["drift_retries"] += 1
            replica.hold(message, self.steps + -(-wait // STEP_MS))
        else:
            protocol.received(replica, sender, kind, span)

    def _unsettled(self) -> list[str]:
        """Why the network is not quiescent (empty when it is)."""
        reasons = []
        down = [rid for rid, replica in self._replicas.items() if not replica.up]
        if down:
            reasons.append(f"crashed: {', '.join(down)} (restart them)")
        if self._wire.partitioned:
            reasons.append("the network is partitioned (heal it)")
        held = sum(len(replica._held) for replica in self._replicas.values())
        if held:
            reasons.append(f"{held} merges deferred by clock drift")
        reasons.extend(self._protocol.unsettled())
        behind = self._restarts.behind()
        if self._retirements.in_progress:
            reasons.append("a retirement is in progress")
        if behind:
            reasons.append(f"not every update has reached {', '.join(behind)}")
        if not self.converged():
            reasons.append("replica states differ")
        return reasons

    def _live(self, replica_id: str) -> Replica:
        replica = self.replica(replica_id)
        if not replica.up:
            raise RuntimeError(f"replica {replica_id!r} is crashed; call restart({replica_id!r})")
        return replica
