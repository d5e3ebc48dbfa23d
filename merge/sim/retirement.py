"""The retirement protocol: departed writers folded into a live one, then forgotten.

Every restart leaves the previous incarnation's id in every state (a counter entry, a
context entry). :class:`Retirements` runs the pruning protocol (after Akka's
``RemovedNodePruning``) over the simulated network, one step at a time:

1. *initiated*: the coordinator waits until it has seen everything any replica — up or
   crashed, or any message on the wire — holds of the departed writers;
2. *performed*: it calls ``state.retire(...)``, folding their contributions into its own
   writer; the delta travels as an ordinary update, so loss, duplication, reordering and
   crashes are handled by anti-entropy, and every replica that merges it drops the ids;
3. *forgotten*: once every replica holds the retirement (in its state and its persisted
   snapshots) and nothing on the wire predates it, every replica drops the retirement
   records; older checkpoints are replaced by current ones, since restoring a snapshot from
   before a forgotten retirement would bring the departed writers back.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import crdts
from crdts.values import name_of
from merge.sim.wire import payloads

if TYPE_CHECKING:
    from merge.sim.network import Network

__all__ = ["Retirement", "Retirements"]


@dataclass
class Retirement:
    """One run of the retirement protocol (see :meth:`Network.retire`)."""

    writers: frozenset[str]
    coordinator: str
    started: int  # step
    performed: int | None = None  # step the coordinator folded the writers
    dropping: int | None = None  # step the replicas started dropping the records
    forgotten: int | None = None  # step the last record left the network

    @property
    def phase(self) -> str:
        """``"initiated"``, ``"performed"`` or ``"forgotten"``."""
        if self.forgotten is not None:
            return "forgotten"
        return "performed" if self.performed is not None else "initiated"


class Retirements:
    """Every retirement run of one network, advanced by :meth:`advance` each step.

    Cost: each check is O(s) merges' worth of reads over the s states a merge could still
    meet (replicas, checkpoints, buffered deltas, messages on the wire).
    """

    def __init__(self, network: Network) -> None:
        self.network = network
        self.runs: list[Retirement] = []

    @property
    def in_progress(self) -> bool:
        """True while some run is not yet forgotten."""
        return any(run.forgotten is None for run in self.runs)

    def start(self, replica: str) -> None:
        """Retire the writers ``replica`` no longer writes as: its earlier incarnations."""
        network = self.network
        current = network.replica(replica).writer
        departed = {
            writer
            for state in self.states()  # states, checkpoints, buffers, the wire
            for writer in state.writers()
            if writer != current and name_of(writer) == replica
        }
        departed -= {w for run in self.runs if run.forgotten is None for w in run.writers}
        if departed:
            self.runs.append(Retirement(frozenset(departed), replica, network.steps))
            self.advance()

    def advance(self) -> None:
        """Move every unfinished run on as far as it can go now."""
        for run in self.runs:
            if run.forgotten is not None:
                continue
            if run.performed is None:
                self._perform(run)
            else:
                self._forget(run)

    def states(self) -> list[Any]:
        """Every CRDT state a merge could still meet (all replicas are up): the replicas'
        states and checkpoints, and the payloads of messages on the wire."""
        replicas = self.network._replicas.values()
        states = [replica._state for replica in replicas]
        for replica in replicas:
            if replica._checkpoint is not None:
                states.append(crdts.decode(replica._checkpoint.state))
        states.extend(self._traveling())
        return states

    def _traveling(self) -> Iterator[Any]:
        """Every state on its way somewhere: buffered deltas and messages not yet merged."""
        for replica in self.network._replicas.values():
            for entry in replica._buffer.values():
                yield entry.delta
        for message in self.network._messages():
            yield from payloads(message)

    def _perform(self, run: Retirement) -> None:
        network = self.network
        if not all(replica.up for replica in network._replicas.values()):
            return  # a crashed replica's persisted state may hold what nobody else has
        state = network._replicas[run.coordinator]._state
        marks = {writer: state._high_water(writer) for writer in run.writers}
        for other in self.states():
            if any(other._exceeds(writer, mark) for writer, mark in marks.items()):
                return  # not yet seen by the coordinator: wait for anti-entropy
        network.update(run.coordinator, lambda s: s.retire(*sorted(run.writers)))
        run.performed = network.steps

    def _forget(self, run: Retirement) -> None:
        """Drop the records once nothing that predates the retirement is left; repeated
        (records re-added by messages still on the wire are dropped again) until no
        message carries them either."""
        network = self.network
        replicas = network._replicas.values()
        if not all(replica.up for replica in replicas):
            return
        writers = run.writers
        if run.dropping is None:
            if not any(writers & state.retired.keys() for state in self.states()):
                # the retirement itself was lost (the coordinator restarted from a snapshot
                # older than it before shipping it): perform it again
                run.performed = None
                return
            if not all(writers <= r._state.retired.keys() for r in replicas):
                return  # not merged everywhere yet
            if not all(writers <= state.retired.keys() for state in self._traveling()):
                return  # a message that predates the retirement is still on the wire
            run.dropping = network.steps
        for replica in replicas:
            replica._state.forget_retired(*writers)
            for entry in replica._buffer.values():  # deltas still to be shipped
                entry.delta.forget_retired(*writers)
            if replica._checkpoint is not None and run.dropping == network.steps:
                network.checkpoint(replica.id)  # an older backup would resurrect the writers
        if not any(writers & state.retired.keys() for state in self._traveling()):
            run.forgotten = network.steps
