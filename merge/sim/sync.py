"""Sync protocols: how replicas tell each other what changed, chosen by name.

``"state"`` (:class:`StateGossip`)
    every ``interval`` steps each replica sends its full state to ``fanout`` random peers.
``"delta"`` (:class:`DeltaAntiEntropy`)
    the causal anti-entropy of Almeida, Shoker & Baquero (delta-state CRDTs, Algorithm 2).
    Each replica numbers, in a buffer (``seq -> delta``), the deltas it produces and those
    it receives that add something to its state, and remembers per peer the sequence
    number that peer last acknowledged. Every ``interval`` steps it sends each peer the
    deltas in ``[acknowledged, seq)`` — only the part past its previous message while that
    one may still be in flight, the whole interval again after ``retransmit_after`` steps
    without progress — as one joined group per origin, never a peer's own deltas. The
    receiver merges each group that adds something, buffers it for re-propagation, and
    acknowledges the end of the contiguous run of the sender's sequence it now holds (so
    an interval lost or overtaken is never acknowledged). Deltas acknowledged by every peer
    are garbage-collected. When a peer's interval is no longer in the buffer (evicted by
    ``buffer_limit``, or lost when the sender restarted) the sender ships its full state.
    Re-propagation makes delivery transitive (a partitioned pair converges through a third
    replica) at a price: in a full mesh a delta crosses each link about once.

A protocol is a class registered in :data:`SYNC_PROTOCOLS` under its ``name``; the network
calls its hooks and never asks which protocol it runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import crdts
from crdts import CRDT
from merge.sim.replica import Buffered, Replica, holds_own

if TYPE_CHECKING:
    from merge.sim.network import Network

__all__ = ["SYNC_PROTOCOLS", "DeltaAntiEntropy", "StateGossip", "SyncProtocol"]


class SyncProtocol:
    """The hooks a sync protocol gives the network; subclasses set ``name`` and register.

    Every hook but :meth:`round` does nothing by default.
    """

    name: ClassVar[str]

    def __init__(self, network: Network) -> None:
        self.network = network

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        SYNC_PROTOCOLS[cls.name] = cls

    def updated(self, replica: Replica, delta: CRDT, number: int) -> None:
        """``replica`` made update ``number`` whose delta is ``delta``."""

    def merged(
        self, replica: Replica, delta: CRDT, origin: str, updates: frozenset[int], epoch: int
    ) -> None:
        """``replica`` merged a group from ``origin`` that added something to its state."""

    def received(self, replica: Replica, sender: str, kind: str, span: Any) -> None:
        """``replica`` merged (or already held) every group of a message from ``sender``."""

    def acknowledged(self, replica: Replica, sender: str, span: int) -> None:
        """``replica`` got an ack from ``sender`` for its sequence up to ``span``."""

    def round(self, replica: Replica, peers: list[str]) -> None:
        """One anti-entropy round at ``replica`` towards ``peers``."""
        raise NotImplementedError

    def unsettled(self) -> list[str]:
        """Why this protocol still has something to send (empty when it has not)."""
        return []


#: Sync protocols by name (``Network(sync=name)``); a subclass registers itself.
SYNC_PROTOCOLS: dict[str, type[SyncProtocol]] = {}


class DeltaAntiEntropy(SyncProtocol):
    """Acknowledged delta intervals with re-propagation (Almeida et al., Algorithm 2).

    Cost: a round is O(p * b) for p peers and b unacknowledged buffered deltas.
    """

    name = "delta"

    def updated(self, replica: Replica, delta: CRDT, number: int) -> None:
        self.buffer(
            replica, delta.copy(replica=None), replica.id, frozenset((number,)), replica._epoch
        )

    def merged(
        self, replica: Replica, delta: CRDT, origin: str, updates: frozenset[int], epoch: int
    ) -> None:
        if self.network.config.relay:
            self.buffer(replica, delta, origin, updates, epoch)

    def received(self, replica: Replica, sender: str, kind: str, span: Any) -> None:
        self.network._wire.send(
            replica.id,
            sender,
            "ack",
            self._holds(replica, sender, kind, span),
            b"",
            (),
            (),
        )

    def acknowledged(self, replica: Replica, sender: str, span: int) -> None:
        acked = replica._acked.get(sender)
        if acked is None or span > acked:
            replica._acked[sender] = span
            replica._resent_at[sender] = self.network.steps  # progress: restart the timer
            self.collect(replica)

    def unsettled(self) -> list[str]:
        network = self.network
        waiting = sum(
            1
            for replica in network._replicas.values()
            if replica.up
            for peer in network.replicas
            if peer != replica.id and self.needs(replica, peer)
        )
        return [f"{waiting} replica pairs with unacknowledged deltas"] if waiting else []

    # -- the buffer ----------------------------------------------------------------------------

    def buffer(
        self, replica: Replica, delta: CRDT, origin: str, updates: frozenset[int], epoch: int
    ) -> None:
        """Number ``delta`` in ``replica``'s buffer for its peers."""
        replica._buffer[replica._seq] = Buffered(delta, origin, updates, epoch)
        replica._seq += 1
        self.collect(replica)

    def collect(self, replica: Replica) -> None:
        """Drop deltas every peer acknowledged, then any beyond ``buffer_limit``."""
        buffer, acked = replica._buffer, replica._acked
        peers = [peer for peer in self.network.replicas if peer != replica.id]
        floor = min((acked.get(peer, -1) for peer in peers), default=replica._seq)
        limit = self.network.config.buffer_limit
        while replica._low < replica._seq and (
            replica._low < floor or (limit is not None and len(buffer) > limit)
        ):
            del buffer[replica._low]
            replica._low += 1

    def needs(self, replica: Replica, peer: str) -> bool:
        """True if ``peer`` may lack something ``replica`` holds (per its acks)."""
        acked = replica._acked.get(peer)
        if acked is not None and acked >= replica._seq:
            return False
        if acked is None or acked < replica._low:
            return True
        buffer, epoch = replica._buffer, self.network._replicas[peer]._epoch
        return any(not holds_own(buffer[seq], peer, epoch) for seq in range(acked, replica._seq))

    def _holds(self, replica: Replica, sender: str, kind: str, span: Any) -> int:
        """Record that ``replica`` holds ``sender``'s deltas in ``span``; return what to ack.

        A full state (``span`` = the sender's sequence number) covers everything before it. A
        delta message covers ``[start, end)`` and says the receiver already acknowledged
        everything before ``base``; the ack is the end of the contiguous run held from there,
        so an interval lost or overtaken in transit is never acknowledged.
        """
        ranges = replica._ranges.setdefault(sender, [])
        held: int
        if kind == "state":
            held = max(replica._contiguous.get(sender, 0), span)
        else:
            base, start, end = span
            held = max(replica._contiguous.get(sender, base), base)
            ranges.append((start, end))
        progress = True
        while progress:
            progress = False
            for start, end in ranges:
                if start <= held:
                    held = max(held, end)
                    progress = True
            ranges[:] = [(start, end) for start, end in ranges if start > held]
        replica._contiguous[sender] = held
        return held

    # -- a round -------------------------------------------------------------------------------

    def round(self, replica: Replica, peers: list[str]) -> None:
        network = self.network
        wire = network._wire
        wait = network.config.retransmit_wait
        cache: dict[Any, tuple[Any, tuple[frozenset[int], ...], tuple[int, ...]]] = {}
        body: Any
        parts: tuple[frozenset[int], ...]
        seq, step = replica._seq, network.steps
        for peer in peers:
            acked = replica._acked.get(peer)
            if acked is not None and acked >= seq:
                continue
            resent_at = replica._resent_at.get(peer)
            timed_out = resent_at is None or step - resent_at >= wait
            sent_end = replica._sent_end.get(peer, -1)
            if acked is None or acked < replica._low:
                # the interval this peer needs is gone (evicted, or lost in a restart)
                if sent_end == seq and not timed_out:
                    continue
                if "state" not in cache:
                    cache["state"] = (
                        crdts.encode(replica._state),
                        (frozenset(replica._seen),),
                        (replica._epoch,),
                    )
                body, parts, _ = cache["state"]
                wire.send(replica.id, peer, "state", seq, body, parts, (replica._epoch,))
                replica._sent_end[peer] = seq
                replica._resent_at[peer] = step
                continue
            # what the peer has not acknowledged, or, while that is in flight, what is new
            # since; one joined group per origin, never echoing a peer's own deltas back
            start = acked if timed_out or sent_end <= acked else sent_end
            if start >= seq:
                continue
            by_origin: dict[str, list[Buffered]] = {}
            epoch = network._replicas[peer]._epoch
            for entry_seq in range(start, seq):
                entry = replica._buffer[entry_seq]
                if not holds_own(entry, peer, epoch):
                    by_origin.setdefault(entry.origin, []).append(entry)
            if not by_origin:
                if start == acked:
                    replica._acked[peer] = seq  # everything unacknowledged came from the peer
                    self.collect(replica)
                continue
            key = (start, peer if sum(map(len, by_origin.values())) < seq - start else None)
            if key not in cache:
                cache[key] = _groups(by_origin)
            body, parts, epochs = cache[key]
            wire.send(replica.id, peer, "delta", [acked, start, seq], body, parts, epochs)
            replica._sent_end[peer] = seq
            if start == acked:
                replica._resent_at[peer] = step


def _groups(
    by_origin: dict[str, list[Buffered]],
) -> tuple[list[Any], tuple[frozenset[int], ...], tuple[int, ...]]:
    """One joined, encoded group per origin, with the updates and oldest epoch of each."""
    body, part_list, epoch_list = [], [], []
    for origin in sorted(by_origin):
        entries = by_origin[origin]
        joined = entries[0].delta.copy()
        for entry in entries[1:]:
            joined.merge(entry.delta)
        body.append([origin, crdts.encode(joined)])
        part_list.append(frozenset().union(*(entry.updates for entry in entries)))
        # the oldest: a peer that went back since then may lack some of the group
        epoch_list.append(min(entry.epoch for entry in entries))
    return body, tuple(part_list), tuple(epoch_list)


class StateGossip(SyncProtocol):
    """Full-state gossip: every round, the whole state to ``fanout`` random peers.

    Cost: a round is O(f * s) for fanout f and encoded state size s.
    """

    name = "state"

    def round(self, replica: Replica, peers: list[str]) -> None:
        network = self.network
        chosen = network._rng.sample(peers, min(network.config.fanout, len(peers)))
        if chosen:
            payload = crdts.encode(replica._state)
            for peer in chosen:
                network._wire.send(
                    replica.id,
                    peer,
                    "state",
                    0,
                    payload,
                    (frozenset(replica._seen),),
                    (replica._epoch,),
                )
