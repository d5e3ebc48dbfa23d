"""Crashes, checkpoints and restarts of a simulated network's replicas.

:class:`Restarts` holds what :class:`~merge.sim.network.Network` needs to crash a replica,
save an older snapshot of it and bring it back as a new writer: the initial snapshot a
stale restart without a checkpoint falls back to, and the count of stale restarts (only
one of those can lose an update for good, see :attr:`Restarts.lost_updates`).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import crdts
from clocks import ClockDriftError, Timestamp
from merge.sim.replica import Replica, Snapshot

if TYPE_CHECKING:
    from merge.sim.network import Network

__all__ = ["Restarts"]


class Restarts:
    """The crash, checkpoint and restart machinery of one network (see :meth:`Network.crash`,
    :meth:`Network.checkpoint`, :meth:`Network.restart`).

    Cost: a crash or checkpoint encodes one snapshot; a restart decodes one, and a stale one
    also walks the replicas and the wire once.
    """

    def __init__(self, network: Network) -> None:
        self.network = network
        self.stale = 0  # stale restarts so far
        self.initial = Snapshot(crdts.encode(network._template), 0, None, frozenset())

    def crash(self, replica: str) -> None:
        """Stop ``replica``, persisting its state (see :meth:`Network.crash`)."""
        target = self.network._live(replica)
        target._snapshot = target.snapshot()
        target.up = False
        target.lose_volatile()

    def checkpoint(self, replica: str) -> None:
        """Save ``replica``'s state as an older snapshot (see :meth:`Network.checkpoint`)."""
        target = self.network._live(replica)
        target._checkpoint = target.snapshot()

    def restart(self, replica: str, *, stale: bool = False) -> None:
        """Bring a crashed ``replica`` back as a new writer (see :meth:`Network.restart`)."""
        network = self.network
        target = network.replica(replica)
        if target.up:
            raise RuntimeError(f"replica {replica!r} is not crashed")
        snapshot = target._snapshot
        assert snapshot is not None  # set by crash()
        if stale:
            self.stale += 1
            target._epoch += 1  # its own deltas buffered at peers are no longer its own
            seq = snapshot.seq
            snapshot = target._checkpoint or self.initial
            snapshot = Snapshot(snapshot.state, seq, snapshot.clock, snapshot.seen)
            # the new incarnation's first contact tells peers it went back: they forget its
            # acknowledgements and ship it their full state, as to a replica never heard of
            for peer in network._replicas.values():
                peer.forget_peer(replica)
            # messages on their way to the previous incarnation claim acknowledgements it
            # gave and the restored state lacks, and so do the acks it sent: both are refused
            # (their senders resend); its deltas and states on the wire are still good data
            network._wire.discard(
                lambda m: m.receiver == replica or (m.sender == replica and m.kind == "ack")
            )
        if network._stamped:
            target._clock = network._time.clock(target.id, target.skew)
            if snapshot.clock is not None:
                last = crdts.decode(snapshot.clock)
                assert isinstance(last, Timestamp)
                # physical time never goes back, so this cannot drift; never fail a restart
                with contextlib.suppress(ClockDriftError):
                    target._clock.update(last)
        target._state = self.bind(crdts.decode(snapshot.state), target)
        target._seq = target._low = snapshot.seq
        target._seen = set(snapshot.seen)
        target._unseen_from = 0
        target.up = True

    def bind(self, state: Any, replica: Replica) -> Any:
        """A copy of ``state`` bound to ``replica`` as its next incarnation's writer."""
        # a new writer per binding (start and each restart), numbered so a seed replays
        replica._incarnation += 1
        incarnation = str(replica._incarnation)
        if self.network._stamped:
            return state.copy(replica=replica.id, incarnation=incarnation, clock=replica._clock)
        return state.copy(replica=replica.id, incarnation=incarnation)

    @property
    def lost_updates(self) -> frozenset[int]:
        """Updates no replica holds any more (see :attr:`Network.lost_updates`). O(u·r)."""
        if not self.stale:
            return frozenset()
        network = self.network
        held: set[int] = set()
        for replica in network._replicas.values():
            held |= replica._seen
        for message in network._wire.flight.values():
            for part in message.parts:
                held |= part
        return frozenset(range(len(network._updates))) - held

    def behind(self) -> list[str]:
        """The replicas still waiting for an update that can reach them."""
        network = self.network
        made = len(network._updates)
        replicas = network._replicas
        behind = [rid for rid, replica in replicas.items() if len(replica._seen) < made]
        if behind and self.stale:
            # updates a stale restart lost everywhere can never arrive: do not wait for them;
            # nor for the record of updates that changed nothing (an origin that lost its own
            # record of one is never sent it back) once the states are equal
            expected = set(range(made)) - self.lost_updates
            behind = [rid for rid in behind if expected - replicas[rid]._seen]
            if behind and network.converged():
                behind = []
        return behind
