"""Messages and the wire they travel on: bytes through faults and partitions.

A message is a msgpack frame ``[kind, sender, span, body]`` whose body holds ``crdts.encode``
of a state or of delta groups, so the wire format is exercised and bytes are counted. The
:class:`Wire` draws every fault from the simulation's seeded ``random.Random``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgpack

import crdts
from merge.sim.clock import SimulatedTime
from merge.sim.faults import REORDER_MAX_STEPS, Faults

__all__ = ["COUNTERS", "Message", "Wire", "payloads"]

#: The wire's counters (see :class:`~merge.sim.metrics.Metrics`).
COUNTERS = (
    "sent",
    "delivered",
    "dropped",
    "duplicated",
    "bytes",
    "acks",
    "full_states",
    "drift_retries",
)


@dataclass(frozen=True)
class Message:
    """A message in flight (see :attr:`Network.in_flight`).

    ``frame`` is the bytes on the wire; ``kind`` is ``"delta"``, ``"state"`` or ``"ack"``;
    ``due`` is the step at which it arrives. ``parts`` is bookkeeping outside the bytes:
    for each state or delta group in the payload, the numbers of the updates it carries.
    ``epochs`` is too: for each group, its origin's epoch (how many stale restarts the origin
    had been through) when it made what the group carries. A real transport sends the
    origin's writer id (``name#incarnation``) in each group to the same end: a replica that
    went back to a stale snapshot lacks what its earlier self sent, so its peers must not
    count those deltas as already held by it.
    """

    id: int
    sender: str
    receiver: str
    kind: str
    frame: bytes = field(repr=False)
    due: int
    parts: tuple[frozenset[int], ...] = field(repr=False, default=())
    epochs: tuple[int, ...] = field(repr=False, default=())

    @property
    def size(self) -> int:
        """Bytes on the wire."""
        return len(self.frame)

    @property
    def updates(self) -> frozenset[int]:
        """The numbers of all the updates the payload carries."""
        return frozenset().union(*self.parts)

    def unpack(self) -> tuple[str, str, Any, Any]:
        """The frame's ``(kind, sender, span, body)``."""
        kind, sender, span, body = msgpack.unpackb(self.frame, raw=False)
        return kind, sender, span, body


def payloads(message: Message) -> list[Any]:
    """The CRDT states a message carries (none for an ack)."""
    kind, _, _, body = message.unpack()
    if kind == "delta":
        return [crdts.decode(payload) for _, payload in body]
    return [crdts.decode(body)] if kind == "state" else []


class Wire:
    """The messages in flight between replicas, with faults, partitions and counters.

    Examples:
        >>> import random
        >>> wire = Wire(Faults(), random.Random(0), SimulatedTime())
        >>> wire.send("a", "b", "ack", 3, b"", ())
        >>> [(m.sender, m.receiver, m.kind, m.due) for m in wire.in_flight]
        [('a', 'b', 'ack', 1)]
        >>> wire.counts["sent"], wire.counts["acks"]
        (1, 1)

    Cost: a send is O(frame size); :meth:`due` is O(m log m) for m messages in flight.
    """

    def __init__(self, faults: Faults, rng: random.Random, time: SimulatedTime) -> None:
        self.faults = faults
        self.rng = rng
        self.time = time
        self.flight: dict[int, Message] = {}
        self.counts: dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self._groups: dict[str, int] | None = None
        self._next = 0

    @property
    def partitioned(self) -> bool:
        """True while a partition is in force."""
        return self._groups is not None

    def partition(self, groups: dict[str, int] | None) -> None:
        """Let messages pass only between ids of the same group (None: heal)."""
        self._groups = groups

    def separated(self, sender: str, receiver: str) -> bool:
        """True if a partition stands between ``sender`` and ``receiver``."""
        groups = self._groups
        return groups is not None and groups[sender] != groups[receiver]

    @property
    def in_flight(self) -> tuple[Message, ...]:
        """The messages on the wire, in delivery order."""
        return tuple(sorted(self.flight.values(), key=lambda m: (m.due, m.id)))

    def send(
        self,
        sender: str,
        receiver: str,
        kind: str,
        span: int | list[int],
        body: Any,
        parts: tuple[frozenset[int], ...],
        epochs: tuple[int, ...] = (),
    ) -> None:
        """Put ``[kind, sender, span, body]`` on the wire to ``receiver``, through the faults.

        ``span`` is an ack's sequence number, a full state's sequence number, or a delta
        message's ``[base, start, end]``.
        """
        frame: bytes = msgpack.packb([kind, sender, span, body], use_bin_type=True)
        counts = self.counts
        counts["sent"] += 1
        counts["bytes"] += len(frame)
        if kind == "ack":
            counts["acks"] += 1
        elif kind == "state":
            counts["full_states"] += 1
        faults, rng = self.faults, self.rng
        if self.separated(sender, receiver) or rng.random() < faults.drop:
            counts["dropped"] += 1
            return
        copies = 1
        if rng.random() < faults.duplicate:
            copies = 2
            counts["duplicated"] += 1
        latency = faults.latency
        for _ in range(copies):
            if latency is None:
                due = self.time.step + rng.randint(*faults.delay)
            else:
                steps = latency(sender, receiver, kind)
                if type(steps) is not int or steps < 1:
                    raise ValueError(f"Faults.latency must return an int >= 1, not {steps!r}")
                due = self.time.step + steps
            if rng.random() < faults.reorder:
                due += rng.randint(1, REORDER_MAX_STEPS)
            message = Message(self._next, sender, receiver, kind, frame, due, parts, epochs)
            self._next += 1
            self.flight[message.id] = message

    def take(self, message_id: int, *, keep: bool) -> Message:
        """The message ``message_id``, removed from the wire unless ``keep``."""
        try:
            return self.flight[message_id] if keep else self.flight.pop(message_id)
        except KeyError:
            raise KeyError(f"no message {message_id} in flight") from None

    def due(self) -> list[Message]:
        """The messages due by now, in delivery order (still on the wire)."""
        step = self.time.step
        return sorted(
            (m for m in self.flight.values() if m.due <= step), key=lambda m: (m.due, m.id)
        )

    def discard(self, lost: Callable[[Message], bool]) -> None:
        """Lose every message in flight for which ``lost`` is true (counted as dropped)."""
        for message in [m for m in self.flight.values() if lost(m)]:
            del self.flight[message.id]
            self.counts["dropped"] += 1
