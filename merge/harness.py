"""A deterministic simulated network of replicas, to watch and test convergence.

A :class:`Network` holds one replica of a CRDT per id and a message queue. Time advances in
steps of :data:`STEP_MS` simulated milliseconds; in each step the due messages are delivered
and each replica's periodic anti-entropy runs. Every random choice (loss, duplication, delay,
gossip peers) comes from ``random.Random(seed)``, and no wall clock is read, so a seed
reproduces a run exactly.

Messages travel as bytes: a msgpack frame ``[kind, sender, span, body]`` whose body holds
``crdts.encode`` of a state or of delta groups, decoded with ``crdts.decode`` on receipt —
so the wire format is exercised and bytes on the wire are counted.

Two sync modes:

``"state"``
    every ``interval`` steps each replica sends its full state to ``fanout`` random peers.
``"delta"``
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

Faults (:class:`Faults`): message loss, duplication, delay and reordering; partitions
(``partition``/``heal``); crashes (``crash``/``restart``: a replica restarts from its last
persisted encoded snapshot and loses its delta buffer, acknowledgements and deferred
messages); and clock skew (each replica's HLC reads simulated time plus its skew). A merge
that raises ``ClockDriftError`` (a stamp too far ahead of the receiver's clock) is deferred
until simulated time has caught up, then retried; the deferrals are counted. A replica keeps
one deferred copy per sender, message kind and span (a retransmission replaces it), in a heap
by retry step, so a step costs nothing for deferred messages not yet due.
"""

from __future__ import annotations

import contextlib
import copyreg
import heapq
import random
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import msgpack

import crdts
from clocks import HLC, ClockDriftError, Timestamp
from crdts import CRDT
from crdts._identity import name_of as _name_of

__all__ = ["STEP_MS", "Faults", "Message", "Metrics", "Network", "Replica", "SettleError"]

#: Simulated milliseconds per step.
STEP_MS = 10
#: Replica clocks read ``CLOCK_ORIGIN_MS + network.time + skew`` (so negative skews are fine).
CLOCK_ORIGIN_MS = 1_000_000
#: A reordered message is held back by 1 to this many extra steps.
REORDER_MAX_STEPS = 5

Sync = Literal["delta", "state"]


# -- configuration ----------------------------------------------------------------------------


def _check_probability(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a probability (a float), not {type(value).__name__}")
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be between 0.0 and 1.0, not {value!r}")
    return float(value)


@dataclass(frozen=True)
class Faults:
    """What the network does to messages; probabilities apply to each message independently.

    Args:
        drop: probability that a message is lost.
        duplicate: probability that a message is delivered twice (each copy has its own delay).
        reorder: probability that a message is held back 1 to :data:`REORDER_MAX_STEPS`
            extra steps, so that later messages overtake it.
        delay: ``(min, max)`` steps between sending and delivery, drawn uniformly (``min >= 1``).

    Examples:
        >>> Faults(drop=0.1, delay=(1, 3))
        Faults(drop=0.1, duplicate=0.0, reorder=0.0, delay=(1, 3))
        >>> Faults(drop=2)
        Traceback (most recent call last):
        ...
        ValueError: drop must be between 0.0 and 1.0, not 2
    """

    drop: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    delay: tuple[int, int] = (1, 1)

    def __post_init__(self) -> None:
        for name in ("drop", "duplicate", "reorder"):
            _check_probability(name, getattr(self, name))
        delay = self.delay
        if (
            not isinstance(delay, tuple)
            or len(delay) != 2
            or not all(type(bound) is int for bound in delay)
        ):
            raise TypeError(f"delay must be a (min, max) tuple of ints, not {delay!r}")
        if not 1 <= delay[0] <= delay[1]:
            raise ValueError(f"delay must satisfy 1 <= min <= max (in steps), not {delay!r}")


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


def _check_count(name: str, value: object) -> None:
    if type(value) is not int or value < 0:
        raise ValueError(f"{name} must be an int >= 0, not {value!r}")


@dataclass(frozen=True)
class Metrics:
    """Counters of a run (a snapshot: :attr:`Network.metrics` builds a new one each time).

    Staleness is measured per update: the simulated time from an update's creation at one
    replica to the moment another replica's state includes it. ``staleness_max_ms`` and
    ``staleness_mean_ms`` give, per replica, the worst and mean lag over updates made
    elsewhere; an update not yet visible there counts with its age so far.
    ``steps_to_converge`` counts steps from the last ``heal()`` until every replica includes
    every update made before it — with no updates after the heal, until all replicas are
    equal (None before a heal, and until then). Bytes are counted once per message
    sent, duplicates not included. ``drift_retries`` counts deliveries deferred because a
    stamp was too far ahead of the receiver's clock (each is retried once it has caught up).
    """

    steps: int
    time_ms: int
    updates: int
    messages_sent: int
    messages_delivered: int
    messages_dropped: int
    messages_duplicated: int
    bytes_sent: int
    acks_sent: int
    full_states_sent: int
    drift_retries: int
    steps_to_converge: int | None
    staleness_max_ms: dict[str, int]
    staleness_mean_ms: dict[str, float]

    @property
    def max_staleness_ms(self) -> int:
        """The worst lag of any update at any replica."""
        return max(self.staleness_max_ms.values(), default=0)

    @property
    def bytes_per_update(self) -> float:
        """Bytes on the wire per update made (0.0 when there were none)."""
        return self.bytes_sent / self.updates if self.updates else 0.0

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field and the two derived figures."""
        result = asdict(self)
        result["max_staleness_ms"] = self.max_staleness_ms
        result["bytes_per_update"] = round(self.bytes_per_update, 2)
        return result


class SettleError(RuntimeError):
    """``Network.settle`` ran out of steps before the replicas converged and went quiet.

    ``steps`` is how many steps it ran and ``reasons`` what stood in the way.
    """

    def __init__(self, steps: int, reasons: Sequence[str]) -> None:
        self.steps = steps
        self.reasons = tuple(reasons)
        why = "; ".join(self.reasons) or "anti-entropy did not finish"
        super().__init__(f"replicas did not settle within {steps} steps: {why}")

    def __reduce__(self) -> tuple[Any, ...]:
        # pickles with its attributes (the default would call __init__ with the message)
        newobj = copyreg.__newobj__  # type: ignore[attr-defined]  # not in typeshed
        return (newobj, (type(self), *self.args), self.__dict__)


# -- replicas ---------------------------------------------------------------------------------


def _holds_own(entry: _Buffered, peer: str, epoch: int) -> bool:
    """True if ``entry`` came from ``peer`` since its last stale restart (``epoch``): what a
    replica made and has kept needs no echo back to it."""
    return entry.origin == peer and entry.epoch == epoch


@dataclass
class _Buffered:
    """One entry of a delta buffer: the delta, who it came from, the updates it carries,
    and the origin's epoch when it made them (see :attr:`Message.epochs`)."""

    delta: CRDT
    origin: str
    updates: frozenset[int]
    epoch: int


@dataclass(frozen=True)
class _Snapshot:
    """What a replica persists: encoded state, sequence counter, clock, seen updates."""

    state: bytes
    seq: int
    clock: bytes | None
    seen: frozenset[int]


@dataclass
class _Retirement:
    """One run of the retirement protocol (see :meth:`Network.retire`)."""

    writers: frozenset[str]
    coordinator: str
    started: int  # step
    performed: int | None = None  # step the coordinator folded the writers
    dropping: int | None = None  # step the replicas started dropping the records
    forgotten: int | None = None  # step the last record left the network


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
        self._buffer: dict[int, _Buffered] = {}
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
        self._snapshot: _Snapshot | None = None
        self._incarnation = 0  # how many writers this replica has been bound to
        self._epoch = 0  # how many stale restarts: what it sent before, it may not hold
        self._checkpoint: _Snapshot | None = None  # an older snapshot (see Network.checkpoint)

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


# -- the network ------------------------------------------------------------------------------


def _payloads(message: Message) -> list[Any]:
    """The CRDT states a message carries (none for an ack)."""
    kind, _, _, body = msgpack.unpackb(message.frame, raw=False)
    if kind == "delta":
        return [crdts.decode(payload) for _, payload in body]
    return [crdts.decode(body)] if kind == "state" else []


def _template_of(crdt_type: Any) -> CRDT:
    if isinstance(crdt_type, CRDT):
        return crdt_type.copy(replica=None)
    if isinstance(crdt_type, type) and issubclass(crdt_type, CRDT):
        try:
            return crdt_type()
        except TypeError as error:
            raise TypeError(
                f"{crdt_type.__name__} needs configuration: pass an unbound instance as a "
                f"template, e.g. Network(ORMap(ORSet)) ({error})"
            ) from None
    raise TypeError(
        f"crdt_type must be a CRDT class or an unbound CRDT instance, not {crdt_type!r}"
    )


def _replica_ids(replicas: int | Sequence[str]) -> list[str]:
    if isinstance(replicas, bool):
        raise TypeError("replicas must be a count or a list of replica ids")
    if isinstance(replicas, int):
        if replicas < 1:
            raise ValueError(f"replicas must be at least 1, not {replicas}")
        return [f"r{index}" for index in range(replicas)]
    if isinstance(replicas, str) or not isinstance(replicas, Sequence):
        raise TypeError("replicas must be a count or a list of replica ids, e.g. ['a', 'b']")
    ids = list(replicas)
    if not ids:
        raise ValueError("replicas must name at least one replica")
    for replica_id in ids:
        if not isinstance(replica_id, str) or not replica_id:
            raise TypeError(f"replica ids must be non-empty strings, not {replica_id!r}")
    if len(set(ids)) != len(ids):
        raise ValueError(f"replica ids must be distinct: {ids!r}")
    return ids


class Network:
    """Replicas of one CRDT type on a simulated, faulty, deterministic network.

    Args:
        crdt_type: a CRDT class (``ORSet``), or an unbound instance used as a template
            (``ORMap(ORSet)``; every replica starts as a copy of it).
        replicas: a count (ids ``"r0"``, ``"r1"``, ...) or a list of ids.
        sync: ``"delta"`` (acknowledged delta intervals) or ``"state"`` (full-state gossip).
        faults: what happens to messages (default: nothing, one step of delay).
        seed: seeds every random choice.
        clock_skew: ``{replica: milliseconds}`` added to that replica's clock reading.
        interval: steps between a replica's anti-entropy rounds.
        fanout: peers each replica gossips its state to per round (state sync).
        buffer_limit: most deltas a replica buffers (delta sync); older ones are evicted and
            a peer that still needs them gets the full state. None: unbounded.
        retransmit_after: steps to wait for an ack before re-sending an unchanged interval
            (delta sync). Default: ``2 * faults.delay[1] + interval``.
        relay: re-propagate received deltas (delta sync; Algorithm 2). ``False`` ships only
            each replica's own deltas: in a full mesh a delta then crosses each link from its
            origin once instead of every link, and delivery rests on the origin's own
            retransmissions (and on full states after a restart).

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
        sync: Sync = "delta",
        faults: Faults | None = None,
        seed: int = 0,
        clock_skew: Mapping[str, int] | None = None,
        interval: int = 2,
        fanout: int = 1,
        buffer_limit: int | None = None,
        retransmit_after: int | None = None,
        relay: bool = True,
    ) -> None:
        if sync not in ("delta", "state"):
            raise ValueError(f"sync must be 'delta' or 'state', not {sync!r}")
        self._template = _template_of(crdt_type)
        self._stamped = hasattr(self._template, "clock")
        self._ids = _replica_ids(replicas)
        self.sync: Sync = sync
        self.faults = faults if faults is not None else Faults()
        if not isinstance(self.faults, Faults):
            raise TypeError(f"faults must be a Faults, not {type(self.faults).__name__}")
        for name, number, least in (("interval", interval, 1), ("fanout", fanout, 1)):
            if type(number) is not int or number < least:
                raise ValueError(f"{name} must be an int >= {least}, not {number!r}")
        if buffer_limit is not None and (type(buffer_limit) is not int or buffer_limit < 1):
            raise ValueError(f"buffer_limit must be None or an int >= 1, not {buffer_limit!r}")
        if retransmit_after is not None and (
            type(retransmit_after) is not int or retransmit_after < 1
        ):
            raise ValueError(
                f"retransmit_after must be None or an int >= 1, not {retransmit_after!r}"
            )
        self.interval = interval
        self.fanout = fanout
        self.buffer_limit = buffer_limit
        self.retransmit_after = retransmit_after
        self.relay = bool(relay)
        skews = dict(clock_skew or {})
        for replica_id, skew in skews.items():
            if replica_id not in self._ids:
                raise ValueError(f"clock_skew names unknown replica {replica_id!r}")
            if type(skew) is not int or abs(skew) > CLOCK_ORIGIN_MS:
                raise ValueError(
                    f"clock skew must be an int of milliseconds within "
                    f"±{CLOCK_ORIGIN_MS}, not {skew!r}"
                )
        if type(seed) is not int:
            # random.Random(None) would seed from the OS: the run would not be reproducible
            raise TypeError(f"seed must be an int, not {type(seed).__name__}")
        self._rng = random.Random(seed)
        self._step = 0
        self._replicas: dict[str, Replica] = {}
        for replica_id in self._ids:
            replica = Replica(replica_id, skews.get(replica_id, 0))
            replica._clock = self._new_clock(replica) if self._stamped else None
            replica._state = self._bind(self._template, replica)
            # every replica starts from the template, so each peer has "seen" sequence 0
            replica._acked = {peer: 0 for peer in self._ids if peer != replica_id}
            self._replicas[replica_id] = replica
        # stagger the anti-entropy rounds so replicas do not all send in the same step
        self._offsets = {rid: self._rng.randrange(interval) for rid in self._ids}
        self._groups: dict[str, int] | None = None
        self._flight: dict[int, Message] = {}
        self._next_message = 0
        # updates: (creation time, origin); staleness per replica
        self._updates: list[tuple[int, str]] = []
        self._lag_max: dict[str, int] = dict.fromkeys(self._ids, 0)
        self._lag_sum: dict[str, int] = dict.fromkeys(self._ids, 0)
        self._lag_count: dict[str, int] = dict.fromkeys(self._ids, 0)
        self._counts: dict[str, int] = dict.fromkeys(
            (
                "sent",
                "delivered",
                "dropped",
                "duplicated",
                "bytes",
                "acks",
                "full_states",
                "drift_retries",
            ),
            0,
        )
        self._healed_at: int | None = None
        self._healed_at_updates = 0
        self._retirements: list[_Retirement] = []
        self._stale_restarts = 0
        self._initial = _Snapshot(crdts.encode(self._template), 0, None, frozenset())
        self._steps_to_converge: int | None = None

    # -- reading ---------------------------------------------------------------------------

    @property
    def replicas(self) -> tuple[str, ...]:
        """The replica ids, in order."""
        return tuple(self._ids)

    @property
    def time(self) -> int:
        """Simulated milliseconds since the start (``steps * STEP_MS``)."""
        return self._step * STEP_MS

    @property
    def steps(self) -> int:
        """Steps simulated so far."""
        return self._step

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
        return tuple(sorted(self._flight.values(), key=lambda m: (m.due, m.id)))

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
        oldest = self._oldest_unseen(self.replica(replica))
        return self.time - self._updates[oldest][0] if oldest < len(self._updates) else 0

    @property
    def metrics(self) -> Metrics:
        """A snapshot of the counters (see :class:`Metrics`)."""
        counts = self._counts
        now = self.time
        worst: dict[str, int] = {}
        mean: dict[str, float] = {}
        for replica_id, replica in self._replicas.items():
            lag_max = self._lag_max[replica_id]
            lag_sum = self._lag_sum[replica_id]
            lag_count = self._lag_count[replica_id]
            for number in range(self._oldest_unseen(replica), len(self._updates)):
                created, origin = self._updates[number]
                if origin != replica_id and number not in replica._seen:
                    age = now - created
                    lag_max = max(lag_max, age)
                    lag_sum += age
                    lag_count += 1
            worst[replica_id] = lag_max
            mean[replica_id] = round(lag_sum / lag_count, 3) if lag_count else 0.0
        return Metrics(
            steps=self._step,
            time_ms=now,
            updates=len(self._updates),
            messages_sent=counts["sent"],
            messages_delivered=counts["delivered"],
            messages_dropped=counts["dropped"],
            messages_duplicated=counts["duplicated"],
            bytes_sent=counts["bytes"],
            acks_sent=counts["acks"],
            full_states_sent=counts["full_states"],
            drift_retries=counts["drift_retries"],
            steps_to_converge=self._steps_to_converge,
            staleness_max_ms=worst,
            staleness_mean_ms=mean,
        )

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
        before = target._state._clone()
        try:
            delta = fn(target._state)
        except BaseException:
            target._state = before  # fn failed: nothing of it is applied
            raise
        if delta is None:
            if target._state != before:
                target._state = before
                raise TypeError(
                    "fn changed the state but returned None: return the mutator's delta, "
                    "e.g. lambda state: state.add(x); the change was undone"
                )
            return None
        if type(delta) is not type(target._state):
            target._state = before
            raise TypeError(
                f"fn must return the delta of a {type(target._state).__name__} mutator, "
                f"not {type(delta).__name__}; the change was undone"
            )
        if before | delta != target._state:
            target._state = before
            raise ValueError(
                "fn changed more than the delta it returned shows (did it call several "
                "mutators? return their join: lambda s: s.add(x) | s.add(y)); the change "
                "was undone"
            )
        number = len(self._updates)
        self._updates.append((self.time, target.id))
        target._seen.add(number)
        if self.sync == "delta":
            self._buffer(
                target, delta.copy(replica=None), target.id, frozenset((number,)), target._epoch
            )
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
        self._groups = {rid: assigned.get(rid, rest) for rid in self._ids}

    def heal(self) -> None:
        """Remove the partition; ``metrics.steps_to_converge`` counts from here."""
        self._groups = None
        self._healed_at = self._step
        self._healed_at_updates = len(self._updates)
        self._steps_to_converge = None
        self._track_convergence()

    def crash(self, replica: str) -> None:
        """Stop ``replica``: it loses its delta buffer, acks and deferred messages.

        Its state was persisted after every local update and applied merge (the snapshot is
        encoded here: the simulation cannot crash between an update and its persistence, so
        the bytes are the same). Messages to it are lost until :meth:`restart`.
        """
        target = self._live(replica)
        clock = None if target._clock is None else crdts.encode(target._clock.last)
        target._snapshot = _Snapshot(
            crdts.encode(target._state), target._seq, clock, frozenset(target._seen)
        )
        target.up = False
        target._buffer.clear()
        target._low = target._seq
        target._acked.clear()
        for volatile in (
            target._sent_end,
            target._resent_at,
            target._contiguous,
            target._ranges,
        ):
            volatile.clear()
        target._held.clear()
        target._retries.clear()

    def checkpoint(self, replica: str) -> None:
        """Save ``replica``'s current state as an older snapshot for ``restart(stale=True)``.

        Models a backup or a periodic snapshot: restarting from it loses whatever the replica
        did after it (its own updates that reached no peer are lost for good; see
        :attr:`lost_updates`).
        """
        target = self._live(replica)
        clock = None if target._clock is None else crdts.encode(target._clock.last)
        target._checkpoint = _Snapshot(
            crdts.encode(target._state), target._seq, clock, frozenset(target._seen)
        )

    def restart(self, replica: str, *, stale: bool = False) -> None:
        """Bring a crashed ``replica`` back from its persisted snapshot.

        It decodes its state and clock (with ``stale=True``, from its last
        :meth:`checkpoint`, or its initial empty state if it never took one) as a new
        writer — the next incarnation of its name — so nothing it writes next can collide
        with what its previous incarnation wrote. With no buffer and no acks, its next
        anti-entropy round ships its full state to every peer. Its delta sequence counter
        is durable and never goes back.
        """
        target = self.replica(replica)
        if target.up:
            raise RuntimeError(f"replica {replica!r} is not crashed")
        snapshot = target._snapshot
        assert snapshot is not None  # set by crash()
        if stale:
            self._stale_restarts += 1
            target._epoch += 1  # its own deltas buffered at peers are no longer its own
            seq = snapshot.seq
            snapshot = target._checkpoint or self._initial
            snapshot = _Snapshot(snapshot.state, seq, snapshot.clock, snapshot.seen)
            # the new incarnation's first contact tells peers it went back: they forget its
            # acknowledgements and ship it their full state, as to a replica never heard of
            for peer in self._replicas.values():
                for volatile in (peer._acked, peer._sent_end, peer._resent_at):
                    volatile.pop(replica, None)
            # messages on their way to the previous incarnation claim acknowledgements it
            # gave and the restored state lacks, and so do the acks it sent: both are refused
            # (their senders resend); its deltas and states on the wire are still good data
            for message in [
                m
                for m in self._flight.values()
                if m.receiver == replica or (m.sender == replica and m.kind == "ack")
            ]:
                del self._flight[message.id]
                self._counts["dropped"] += 1
        if self._stamped:
            target._clock = self._new_clock(target)
            if snapshot.clock is not None:
                last = crdts.decode(snapshot.clock)
                assert isinstance(last, Timestamp)
                # physical time never goes back, so this cannot drift; never fail a restart
                with contextlib.suppress(ClockDriftError):
                    target._clock.update(last)
        target._state = self._bind(crdts.decode(snapshot.state), target)
        target._seq = target._low = snapshot.seq
        target._seen = set(snapshot.seen)
        target._unseen_from = 0
        target.up = True

    @property
    def lost_updates(self) -> frozenset[int]:
        """Updates no replica holds any more (only a stale restart can lose one: its own
        updates that had reached no peer, nor any message still on the wire). O(u·r)."""
        if not self._stale_restarts:
            return frozenset()
        held: set[int] = set()
        for replica in self._replicas.values():
            held |= replica._seen
        for message in self._flight.values():
            for part in message.parts:
                held |= part
        return frozenset(range(len(self._updates))) - held

    def retire(self, replica: str) -> None:
        """Retire the writers ``replica`` no longer writes as: its earlier incarnations.

        Every restart leaves the previous incarnation's id in every state (a counter entry,
        a context entry). This runs the pruning protocol (after Akka's
        ``RemovedNodePruning``) over the simulated network, advancing with :meth:`step`:

        1. *initiated*: the coordinator (``replica`` itself, else the first live replica)
           waits until it has seen everything any replica — up or crashed, or any message
           on the wire — holds of the departed writers;
        2. *performed*: it calls ``state.retire(...)``, folding their contributions into its
           own writer; the delta travels as an ordinary update, so loss, duplication,
           reordering and crashes are handled by anti-entropy, and every replica that
           merges it drops the departed ids;
        3. *forgotten*: once every replica holds the retirement (in its state and its
           persisted snapshots) and nothing on the wire predates it, every replica drops the
           retirement records; older checkpoints are replaced by current ones, since
           restoring a snapshot from before a forgotten retirement would bring the departed
           writers back.

        Raises:
            KeyError: no such replica.
        """
        target = self.replica(replica)
        current = target.writer
        departed = {
            writer
            for state in self._wire_states()  # states, checkpoints, buffers, the wire
            for writer in state.writers()
            if writer != current and _name_of(writer) == replica
        }
        departed -= {w for run in self._retirements if run.forgotten is None for w in run.writers}
        if departed:
            self._retirements.append(_Retirement(frozenset(departed), replica, self._step))
            self._advance_retirements()

    @property
    def retirements(self) -> tuple[tuple[frozenset[str], str], ...]:
        """Each retirement run so far: its writers and its phase (``"initiated"``,
        ``"performed"`` or ``"forgotten"``)."""
        return tuple(
            (
                run.writers,
                "forgotten"
                if run.forgotten is not None
                else "performed"
                if run.performed is not None
                else "initiated",
            )
            for run in self._retirements
        )

    def step(self) -> int:
        """Advance one step: retry deferred merges, deliver due messages, run anti-entropy.

        Returns the number of messages delivered.
        """
        self._step += 1
        delivered = 0
        for replica in self._replicas.values():
            if replica.up and replica._held:
                self._retry_due(replica)
        due = sorted(
            (m for m in self._flight.values() if m.due <= self._step), key=lambda m: (m.due, m.id)
        )
        for message in due:
            del self._flight[message.id]
            delivered += self._arrive(message)
        if any(run.forgotten is None for run in self._retirements):
            self._advance_retirements()  # before anti-entropy: dropped records stay dropped
        for replica_id, replica in self._replicas.items():
            if replica.up and (self._step + self._offsets[replica_id]) % self.interval == 0:
                self._anti_entropy(replica)
        self._track_convergence()
        return delivered

    def run(self, steps: int) -> None:
        """Advance ``steps`` steps (an int >= 0)."""
        _check_count("steps", steps)
        for _ in range(steps):
            self.step()

    def settle(self, max_steps: int = 2_000) -> int:
        """Step until the replicas converge and have nothing left to send; return the steps.

        Faults stay in force: anti-entropy must get through them.

        Raises:
            SettleError: not settled after ``max_steps`` steps (a replica is crashed, the
                network is partitioned, every message is dropped, ...).
        """
        _check_count("max_steps", max_steps)
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
        message = self._take(message_id, keep=keep)
        return bool(self._arrive(message))

    def drop(self, message_id: int) -> None:
        """Lose the in-flight message ``message_id``."""
        self._take(message_id, keep=False)
        self._counts["dropped"] += 1

    def __repr__(self) -> str:
        return (
            f"Network({type(self._template).__name__}, replicas={list(self._ids)!r}, "
            f"sync={self.sync!r}, step={self._step})"
        )

    # -- internals: the retirement protocol -------------------------------------------------

    def _wire_states(self) -> list[Any]:
        """Every CRDT state a merge could still meet (all replicas are up): the replicas'
        states and checkpoints, and the payloads of messages on the wire."""
        states = [replica._state for replica in self._replicas.values()]
        for replica in self._replicas.values():
            if replica._checkpoint is not None:
                states.append(crdts.decode(replica._checkpoint.state))
        states.extend(self._messages_states())
        return states

    def _messages(self) -> Iterator[Message]:
        """Messages not yet merged: on the wire, or deferred by clock drift."""
        yield from self._flight.values()
        for replica in self._replicas.values():
            for _, message in replica._held.values():
                yield message

    def _advance_retirements(self) -> None:
        for run in self._retirements:
            if run.forgotten is not None:
                continue
            if run.performed is None:
                self._perform(run)
            else:
                self._forget(run)

    def _perform(self, run: _Retirement) -> None:
        if not all(replica.up for replica in self._replicas.values()):
            return  # a crashed replica's persisted state may hold what nobody else has
        coordinator = self._replicas[run.coordinator]
        state = coordinator._state
        marks = {writer: state._high_water(writer) for writer in run.writers}
        for other in self._wire_states():
            if any(other._exceeds(writer, mark) for writer, mark in marks.items()):
                return  # not yet seen by the coordinator: wait for anti-entropy
        self.update(run.coordinator, lambda s: s.retire(*sorted(run.writers)))
        run.performed = self._step

    def _forget(self, run: _Retirement) -> None:
        """Drop the records once nothing that predates the retirement is left; repeated
        (records re-added by messages still on the wire are dropped again) until no
        message carries them either."""
        if not all(replica.up for replica in self._replicas.values()):
            return
        writers = run.writers
        if run.dropping is None:
            if not any(writers & state.retired.keys() for state in self._wire_states()):
                # the retirement itself was lost (the coordinator restarted from a snapshot
                # older than it before shipping it): perform it again
                run.performed = None
                return
            if not all(writers <= r._state.retired.keys() for r in self._replicas.values()):
                return  # not merged everywhere yet
            if not all(writers <= state.retired.keys() for state in self._messages_states()):
                return  # a message that predates the retirement is still on the wire
            run.dropping = self._step
        for replica in self._replicas.values():
            replica._state.forget_retired(*writers)
            for entry in replica._buffer.values():  # deltas still to be shipped
                entry.delta.forget_retired(*writers)
            if replica._checkpoint is not None and run.dropping == self._step:
                self.checkpoint(replica.id)  # an older backup would resurrect the writers
        if not any(writers & state.retired.keys() for state in self._messages_states()):
            run.forgotten = self._step

    def _messages_states(self) -> Iterator[Any]:
        """Every state on its way somewhere: buffered deltas and messages not yet merged."""
        for replica in self._replicas.values():
            for entry in replica._buffer.values():
                yield entry.delta
        for message in self._messages():
            yield from _payloads(message)

    # -- internals: replicas and clocks ----------------------------------------------------

    def _new_clock(self, replica: Replica) -> HLC:
        skew = replica.skew

        def physical() -> int:
            return CLOCK_ORIGIN_MS + self._step * STEP_MS + skew

        return HLC(replica.id, now=physical)

    def _bind(self, state: Any, replica: Replica) -> Any:
        # a new writer per binding (start and each restart), numbered so a seed replays
        replica._incarnation += 1
        incarnation = str(replica._incarnation)
        if self._stamped:
            return state.copy(replica=replica.id, incarnation=incarnation, clock=replica._clock)
        return state.copy(replica=replica.id, incarnation=incarnation)

    def _live(self, replica_id: str) -> Replica:
        replica = self.replica(replica_id)
        if not replica.up:
            raise RuntimeError(f"replica {replica_id!r} is crashed; call restart({replica_id!r})")
        return replica

    def _oldest_unseen(self, replica: Replica) -> int:
        """The lowest update number ``replica`` has not seen (``len(updates)`` if none)."""
        seen, number, made = replica._seen, replica._unseen_from, len(self._updates)
        while number < made and number in seen:
            number += 1
        replica._unseen_from = number  # seen sets only grow: never look below this again
        return number

    def _see(self, replica: Replica, updates: frozenset[int]) -> None:
        new = updates - replica._seen
        if not new:
            return
        replica._seen |= new
        now = self.time
        rid = replica.id
        for number in new:
            created, origin = self._updates[number]
            if origin == rid:
                continue
            lag = now - created
            if lag > self._lag_max[rid]:
                self._lag_max[rid] = lag
            self._lag_sum[rid] += lag
            self._lag_count[rid] += 1

    def _track_convergence(self) -> None:
        if self._healed_at is None or self._steps_to_converge is not None:
            return
        made = self._healed_at_updates
        for replica in self._replicas.values():
            if self._oldest_unseen(replica) < made:
                return
        self._steps_to_converge = self._step - self._healed_at

    def _unsettled(self) -> list[str]:
        """Why the network is not quiescent (empty when it is)."""
        reasons = []
        down = [rid for rid, replica in self._replicas.items() if not replica.up]
        if down:
            reasons.append(f"crashed: {', '.join(down)} (restart them)")
        if self._groups is not None:
            reasons.append("the network is partitioned (heal it)")
        held = sum(len(replica._held) for replica in self._replicas.values())
        if held:
            reasons.append(f"{held} merges deferred by clock drift")
        if self.sync == "delta":
            waiting = sum(
                1
                for replica in self._replicas.values()
                if replica.up
                for peer in self._ids
                if peer != replica.id and self._needs(replica, peer)
            )
            if waiting:
                reasons.append(f"{waiting} replica pairs with unacknowledged deltas")
        made = len(self._updates)
        behind = [rid for rid, replica in self._replicas.items() if len(replica._seen) < made]
        if behind and self._stale_restarts:
            # updates a stale restart lost everywhere can never arrive: do not wait for them;
            # nor for the record of updates that changed nothing (an origin that lost its own
            # record of one is never sent it back) once the states are equal
            expected = set(range(made)) - self.lost_updates
            behind = [rid for rid in behind if expected - self._replicas[rid]._seen]
            if behind and self.converged():
                behind = []
        if any(run.forgotten is None for run in self._retirements):
            reasons.append("a retirement is in progress")
        if behind:
            reasons.append(f"not every update has reached {', '.join(behind)}")
        if not self.converged():
            reasons.append("replica states differ")
        return reasons

    # -- internals: the wire ---------------------------------------------------------------

    def _separated(self, sender: str, receiver: str) -> bool:
        groups = self._groups
        return groups is not None and groups[sender] != groups[receiver]

    def _send(
        self,
        sender: Replica,
        receiver: str,
        kind: str,
        span: int | list[int],
        body: Any,
        parts: tuple[frozenset[int], ...] = (),
        epochs: tuple[int, ...] | None = None,
    ) -> None:
        """Put ``[kind, sender, span, body]`` on the wire to ``receiver``, through the faults.

        ``span`` is an ack's sequence number, a full state's sequence number, or a delta
        message's ``[base, start, end]``. ``epochs`` defaults to the sender's for every part.
        """
        if epochs is None:
            epochs = (sender._epoch,) * len(parts)
        frame: bytes = msgpack.packb([kind, sender.id, span, body], use_bin_type=True)
        counts = self._counts
        counts["sent"] += 1
        counts["bytes"] += len(frame)
        if kind == "ack":
            counts["acks"] += 1
        elif kind == "state":
            counts["full_states"] += 1
        faults, rng = self.faults, self._rng
        if self._separated(sender.id, receiver) or rng.random() < faults.drop:
            counts["dropped"] += 1
            return
        copies = 1
        if rng.random() < faults.duplicate:
            copies = 2
            counts["duplicated"] += 1
        for _ in range(copies):
            due = self._step + rng.randint(*faults.delay)
            if rng.random() < faults.reorder:
                due += rng.randint(1, REORDER_MAX_STEPS)
            message = Message(
                self._next_message, sender.id, receiver, kind, frame, due, parts, epochs
            )
            self._next_message += 1
            self._flight[message.id] = message

    def _take(self, message_id: int, *, keep: bool) -> Message:
        try:
            message = self._flight[message_id] if keep else self._flight.pop(message_id)
        except KeyError:
            raise KeyError(f"no message {message_id} in flight") from None
        return message

    def _arrive(self, message: Message) -> int:
        receiver = self._replicas[message.receiver]
        if not receiver.up or self._separated(message.sender, message.receiver):
            self._counts["dropped"] += 1
            return 0
        self._counts["delivered"] += 1
        self._process(receiver, message)
        return 1

    def _process(self, replica: Replica, message: Message) -> None:
        kind, sender, span, body = msgpack.unpackb(message.frame, raw=False)
        if kind == "ack":
            acked = replica._acked.get(sender)
            if acked is None or span > acked:
                replica._acked[sender] = span
                replica._resent_at[sender] = self._step  # progress: restart the timer
                self._collect(replica)
            return
        # a delta message holds one group per origin; a state message is one group
        groups = body if kind == "delta" else [[sender, body]]
        wait = 0
        for (origin, payload), updates, epoch in zip(
            groups, message.parts, message.epochs, strict=True
        ):
            incoming = crdts.decode(payload)
            if incoming.leq(replica._state):
                self._see(replica, updates)  # nothing new: not buffered again
                continue
            try:
                replica._state.merge(incoming)
            except ClockDriftError as error:
                # a stamp too far ahead of this replica's clock: retry once time catches up
                assert error.max_offset is not None
                wait = max(wait, error.remote.wall - error.max_offset - error.physical, 1)
                continue
            self._see(replica, updates)
            if self.sync == "delta" and self.relay:
                self._buffer(replica, incoming, origin, updates, epoch)
        if wait:
            self._counts["drift_retries"] += 1
            self._hold(replica, message, self._step + -(-wait // STEP_MS))
        elif self.sync == "delta":
            self._send(replica, sender, "ack", self._received(replica, sender, kind, span), b"")

    # -- internals: merges deferred by clock drift --------------------------------------------

    def _hold(self, replica: Replica, message: Message, retry_at: int) -> None:
        """Defer ``message`` at ``replica`` until step ``retry_at``. O(log n).

        One copy per ``(sender, kind, span)`` is kept, the newest: a retransmission or a
        duplicate of a deferred message replaces it rather than piling up beside it (a
        sender whose clock runs ahead retransmits every timeout until it is acknowledged).
        """
        kind, sender, span, _ = msgpack.unpackb(message.frame, raw=False)
        key = (sender, kind, tuple(span) if isinstance(span, list) else span)
        replica._held[key] = (retry_at, message)
        heapq.heappush(replica._retries, (retry_at, message.id, key))

    def _retry_due(self, replica: Replica) -> None:
        """Retry the deferred merges due by now, oldest retry first: O(log n) per entry
        popped, nothing for those not yet due."""
        retries, held, step = replica._retries, replica._held, self._step
        due = []
        while retries and retries[0][0] <= step:
            _, message_id, key = heapq.heappop(retries)
            entry = held.get(key)
            if entry is not None and entry[1].id == message_id:  # not replaced since
                del held[key]
                due.append(entry[1])
        for message in due:
            self._process(replica, message)

    # -- internals: delta anti-entropy (Almeida et al., Algorithm 2) -------------------------

    def _received(self, replica: Replica, sender: str, kind: str, span: Any) -> int:
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

    def _buffer(
        self, replica: Replica, delta: CRDT, origin: str, updates: frozenset[int], epoch: int
    ) -> None:
        replica._buffer[replica._seq] = _Buffered(delta, origin, updates, epoch)
        replica._seq += 1
        self._collect(replica)

    def _collect(self, replica: Replica) -> None:
        """Drop deltas every peer acknowledged, then any beyond ``buffer_limit``."""
        buffer, acked = replica._buffer, replica._acked
        peers = [peer for peer in self._ids if peer != replica.id]
        floor = min((acked.get(peer, -1) for peer in peers), default=replica._seq)
        limit = self.buffer_limit
        while replica._low < replica._seq and (
            replica._low < floor or (limit is not None and len(buffer) > limit)
        ):
            del buffer[replica._low]
            replica._low += 1

    def _needs(self, replica: Replica, peer: str) -> bool:
        """True if ``peer`` may lack something ``replica`` holds (per its acks)."""
        acked = replica._acked.get(peer)
        if acked is not None and acked >= replica._seq:
            return False
        if acked is None or acked < replica._low:
            return True
        buffer, epoch = replica._buffer, self._replicas[peer]._epoch
        return any(not _holds_own(buffer[seq], peer, epoch) for seq in range(acked, replica._seq))

    def _gossip_state(self, replica: Replica, peers: list[str]) -> None:
        """State sync: the full state to ``fanout`` random peers."""
        chosen = self._rng.sample(peers, min(self.fanout, len(peers)))
        if chosen:
            payload = crdts.encode(replica._state)
            for peer in chosen:
                self._send(replica, peer, "state", 0, payload, (frozenset(replica._seen),))

    def _anti_entropy(self, replica: Replica) -> None:
        peers = [peer for peer in self._ids if peer != replica.id]
        if self.sync == "state":
            self._gossip_state(replica, peers)
            return
        wait = self.retransmit_after
        if wait is None:
            wait = 2 * self.faults.delay[1] + self.interval
        cache: dict[Any, tuple[Any, tuple[frozenset[int], ...], tuple[int, ...]]] = {}
        body: Any
        parts: tuple[frozenset[int], ...]
        seq, step = replica._seq, self._step
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
                self._send(replica, peer, "state", seq, body, parts)
                replica._sent_end[peer] = seq
                replica._resent_at[peer] = step
                continue
            # what the peer has not acknowledged, or, while that is in flight, what is new
            # since; one joined group per origin, never echoing a peer's own deltas back
            start = acked if timed_out or sent_end <= acked else sent_end
            if start >= seq:
                continue
            by_origin: dict[str, list[_Buffered]] = {}
            epoch = self._replicas[peer]._epoch
            for entry_seq in range(start, seq):
                entry = replica._buffer[entry_seq]
                if not _holds_own(entry, peer, epoch):
                    by_origin.setdefault(entry.origin, []).append(entry)
            if not by_origin:
                if start == acked:
                    replica._acked[peer] = seq  # everything unacknowledged came from the peer
                    self._collect(replica)
                continue
            key = (start, peer if sum(map(len, by_origin.values())) < seq - start else None)
            if key not in cache:
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
                cache[key] = (body, tuple(part_list), tuple(epoch_list))
            body, parts, epochs = cache[key]
            self._send(replica, peer, "delta", [acked, start, seq], body, parts, epochs)
            replica._sent_end[peer] = seq
            if start == acked:
                replica._resent_at[peer] = step
