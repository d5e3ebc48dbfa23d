"""One simulated replica: its CRDT state, what it persisted, and its protocol state.

The simulation (:class:`~merge.sim.network.Network`) and its sync protocol
(:mod:`merge.sim.sync`) drive a replica; a user only reads it (``state``, ``seen_updates``).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import crdts
from clocks import HLC
from crdts import CRDT
from merge.sim.wire import Message

__all__ = ["Buffered", "Replica", "Snapshot", "holds_own"]


@dataclass
class Buffered:
    """One entry of a delta buffer: the delta, who it came from, the updates it carries,
    and the origin's epoch when it made them (see :attr:`Message.epochs`)."""

    delta: CRDT
    origin: str
    updates: frozenset[int]
    epoch: int


def holds_own(entry: Buffered, peer: str, epoch: int) -> bool:
    """True if ``entry`` came from ``peer`` since its last stale restart (``epoch``): what a
    replica made and has kept needs no echo back to it."""
    return entry.origin == peer and entry.epoch == epoch


@dataclass(frozen=True)
class Snapshot:
    """What a replica persists: encoded state, sequence counter, clock, seen updates."""

    state: bytes
    seq: int
    clock: bytes | None
    seen: frozenset[int]


class Replica:
    """One replica in a :class:`Network`: its CRDT ``state`` and its protocol state.

    Change ``state`` only through :meth:`Network.update` so that the delta is recorded and
    shipped; reading it is fine.
    """

    def __init__(self, replica_id: str, skew: int) -> None:
        self.id = replica_id
        self.skew = skew
        self.up = True
        self._state: Any = None
        self._clock: HLC | None = None
        self._seen: set[int] = set()
        # delta sync (Algorithm 2): durable seq; volatile buffer, acks, deferred messages
        self._seq = 0
        self._low = 0
        self._buffer: dict[int, Buffered] = {}
        self._acked: dict[str, int] = {}
        self._sent_end: dict[str, int] = {}  # per peer: end of the last interval sent
        self._resent_at: dict[str, int] = {}  # per peer: step of the last send from its ack
        self._contiguous: dict[str, int] = {}  # per sender: its deltas held contiguously
        self._ranges: dict[str, list[tuple[int, int]]] = {}  # per sender: held beyond that
        # merges deferred by clock drift, at most one per (sender, kind, span): the newest
        # copy, with the step to retry it at; the heap orders the retries, O(log n) each,
        # and may hold stale entries (replaced or cleared) that are skipped when popped
        self._held: dict[tuple[Any, ...], tuple[int, Message]] = {}
        self._retries: list[tuple[int, int, tuple[Any, ...]]] = []  # (step, message id, key)
        self._unseen_from = 0  # every update numbered below this has been seen here
        self._snapshot: Snapshot | None = None
        self._incarnation = 0  # how many writers this replica has been bound to
        self._epoch = 0  # how many stale restarts: what it sent before, it may not hold
        self._checkpoint: Snapshot | None = None  # an older snapshot (see Network.checkpoint)

    @property
    def state(self) -> Any:
        """The replica's CRDT (the persisted one while it is crashed)."""
        return self._state

    @property
    def seen_updates(self) -> frozenset[int]:
        """The updates whose effect this state holds, numbered in the order made.

        An update counts once its delta (alone, joined into a group, or inside a full state)
        has been merged here, or found already included. This is the harness's bookkeeping:
        it travels beside the bytes, not in them.
        """
        return frozenset(self._seen)

    @property
    def writer(self) -> str | None:
        """The writer id the replica writes as now (a new incarnation after each restart)."""
        return None if self._state is None else self._state.writer

    @property
    def buffered(self) -> int:
        """How many deltas the replica's delta buffer holds."""
        return len(self._buffer)

    def __repr__(self) -> str:
        status = "up" if self.up else "crashed"
        return f"Replica({self.id!r}, {status}, state={self._state!r})"

    # -- driven by the simulation ------------------------------------------------------------

    def apply(self, fn: Callable[[Any], Any]) -> Any:
        """Run ``fn(state)`` and return the delta it returns (see :meth:`Network.update`).

        Nothing of ``fn`` is applied if it raises, returns something other than a delta of
        this type, returns None after changing the state, or changes more than its delta
        shows.
        """
        before = self._state._clone()
        try:
            delta = fn(self._state)
        except BaseException:
            self._state = before  # fn failed: nothing of it is applied
            raise
        if delta is None:
            if self._state != before:
                self._state = before
                raise TypeError(
                    "fn changed the state but returned None: return the mutator's delta, "
                    "e.g. lambda state: state.add(x); the change was undone"
                )
            return None
        if type(delta) is not type(self._state):
            self._state = before
            raise TypeError(
                f"fn must return the delta of a {type(self._state).__name__} mutator, "
                f"not {type(delta).__name__}; the change was undone"
            )
        if before | delta != self._state:
            self._state = before
            raise ValueError(
                "fn changed more than the delta it returned shows (did it call several "
                "mutators? return their join: lambda s: s.add(x) | s.add(y)); the change "
                "was undone"
            )
        return delta

    def snapshot(self) -> Snapshot:
        """What this replica would persist now (encoded state and clock)."""
        clock = None if self._clock is None else crdts.encode(self._clock.last)
        return Snapshot(crdts.encode(self._state), self._seq, clock, frozenset(self._seen))

    def lose_volatile(self) -> None:
        """Forget what a crash loses: the delta buffer, acks, intervals, deferred merges."""
        self._buffer.clear()
        self._low = self._seq
        self._acked.clear()
        for volatile in (self._sent_end, self._resent_at, self._contiguous, self._ranges):
            volatile.clear()
        self._held.clear()
        self._retries.clear()

    def forget_peer(self, peer: str) -> None:
        """Forget ``peer``'s acknowledgements and what was sent to it (it went back)."""
        for volatile in (self._acked, self._sent_end, self._resent_at):
            volatile.pop(peer, None)

    def hold(self, message: Message, retry_at: int) -> None:
        """Defer ``message`` until step ``retry_at``. O(log n).

        One copy per ``(sender, kind, span)`` is kept, the newest: a retransmission or a
        duplicate of a deferred message replaces it rather than piling up beside it (a
        sender whose clock runs ahead retransmits every timeout until it is acknowledged).
        """
        kind, sender, span, _ = message.unpack()
        key = (sender, kind, tuple(span) if isinstance(span, list) else span)
        self._held[key] = (retry_at, message)
        heapq.heappush(self._retries, (retry_at, message.id, key))

    def due_retries(self, step: int) -> list[Message]:
        """Take the deferred merges due by ``step``, oldest retry first: O(log n) per entry
        popped, nothing for those not yet due."""
        retries, held = self._retries, self._held
        due = []
        while retries and retries[0][0] <= step:
            _, message_id, key = heapq.heappop(retries)
            entry = held.get(key)
            if entry is not None and entry[1].id == message_id:  # not replaced since
                del held[key]
                due.append(entry[1])
        return due
