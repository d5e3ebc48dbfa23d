"""Convergence under any delivery order: :func:`check_convergence` and
:class:`ConvergenceMachine`, on a small cluster of replicas exchanging deltas or states."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple

try:
    import hypothesis  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised in a subprocess
    raise ImportError(
        f"{__name__} needs Hypothesis: install the testing extra, pip install crdtkit[testing]"
    ) from error

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule
from hypothesis.stateful import invariant as _invariant

from merge.registry import profile_for
from merge.testing._core import Call, CRDTType, LawViolation, ManualTime, Op, hunt
from merge.testing._engine import Target
from merge.testing.strategies import Delivery, schedules

__all__ = ["ConvergenceMachine", "check_convergence"]


@dataclass
class _Message:
    source: int
    target: int
    payload: Any
    #: the updates whose effect the payload carries
    updates: frozenset[int]

    def __repr__(self) -> str:
        return f"<r{self.source} -> r{self.target}: {self.payload!r}>"


class _Cluster:
    """Replicas, the messages between them, and which updates each has received."""

    def __init__(self, target: Target, replicas: int, sync: str) -> None:
        _check_cluster_options(replicas, sync)
        found = profile_for(target.cls)
        if sync == "delta" and found is not None and not found.deltas:
            raise TypeError(
                f"{target.name}'s mutators return no deltas (its registry profile says "
                f"deltas=False): check its convergence with sync='state'"
            )
        self.target = target
        self.sync = sync
        self.time = ManualTime()
        self.replicas = [target.make(f"r{index}", self.time) for index in range(replicas)]
        self.received: list[set[int]] = [set() for _ in range(replicas)]
        self.in_flight: list[_Message] = []
        self.lost: list[_Message] = []
        self.updates = 0

    def update(self, index: int, call: Call) -> None:
        """Run ``call`` on replica ``index`` and send the result to every peer."""
        state = self.replicas[index]
        delta = call(state)
        state._check()
        if self.sync == "delta" and delta is None:
            return  # a precondition failed: nothing changed, nothing to send
        self.updates += 1
        self.received[index].add(self.updates)
        if self.sync == "delta":
            if delta is None or type(delta) is not type(state):
                raise TypeError(
                    f"{self.target.name}.{call!r} returned {delta!r}, not a delta of the "
                    f"same type; mutators must return their delta (or use sync='state')"
                )
            delta._check()
            payload, updates = delta, frozenset({self.updates})
        else:
            payload, updates = state.copy(replica=None), frozenset(self.received[index])
        for peer in range(len(self.replicas)):
            if peer != index:
                self.in_flight.append(_Message(index, peer, payload, updates))

    def send_state(self, source: int, target: int) -> None:
        """Anti-entropy: send ``source``'s full state to ``target``."""
        state = self.replicas[source].copy(replica=None)
        self.in_flight.append(_Message(source, target, state, frozenset(self.received[source])))

    def deliver(self, index: int, *, keep_copy: bool = False) -> None:
        """Deliver in-flight message ``index``; ``keep_copy`` leaves a duplicate in flight."""
        message = self.in_flight[index] if keep_copy else self.in_flight.pop(index)
        self._apply(message)

    def drop(self, index: int) -> None:
        """Lose in-flight message ``index`` (it is resent later)."""
        self.lost.append(self.in_flight.pop(index))

    def resend(self, index: int) -> None:
        """Resend lost message ``index``."""
        self.in_flight.append(self.lost.pop(index))

    def _apply(self, message: _Message) -> None:
        state = self.replicas[message.target]
        state.merge(message.payload.copy(replica=None))
        state._check()
        self.received[message.target] |= message.updates

    def pending(self) -> list[_Message]:
        return [*self.in_flight, *self.lost]

    def deliver_all(self, schedule: Sequence[Delivery] | None = None) -> None:
        """Deliver every pending message, in ``schedule``'s order (default: as queued)."""
        messages = self.pending()
        self.in_flight, self.lost = [], []
        if schedule is None:
            schedule = [Delivery(index) for index in range(len(messages))]
        for delivery in schedule:
            if not delivery.lost:
                self._apply(messages[delivery.message])

    def check(self) -> None:
        """Replicas that received the same updates must hold equal states."""
        for i, j in itertools.combinations(range(len(self.replicas)), 2):
            if self.received[i] == self.received[j] and self.replicas[i] != self.replicas[j]:
                raise self._diverged(i, j)

    def check_converged(self) -> None:
        assert all(received == self.received[0] for received in self.received), (
            "every message was delivered, yet the replicas received different updates"
        )
        self.check()

    def _diverged(self, i: int, j: int) -> AssertionError:
        a, b = self.replicas[i], self.replicas[j]
        updates = sorted(self.received[i])
        return LawViolation(
            "convergence",
            (a.copy(replica=None), b.copy(replica=None)),
            f"replicas r{i} and r{j} of {self.target.name} received the same updates "
            f"{updates} (sync={self.sync!r}) but hold different states:\n"
            f"  r{i} = {a!r}\n  r{j} = {b!r}\n"
            "Replicas that have exchanged everything must be equal whatever the order, "
            "duplication or loss of the messages. Check the type with "
            "merge.laws.check_crdt: a merge that is not commutative, associative and "
            "idempotent, a mutator that does not return its delta, or a delta that differs "
            "from its mutation all make replicas diverge.",
        )


def _check_cluster_options(replicas: int, sync: str) -> None:
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 2:
        raise ValueError(f"replicas must be an int >= 2, not {replicas!r}")
    if sync not in ("delta", "state"):
        raise ValueError(f"sync must be 'delta' or 'state', not {sync!r}")


class _Step(NamedTuple):
    """One step of a :func:`check_convergence` program. ``replica`` and ``other`` pick a
    replica or a message modulo how many there are, so a step means something whatever
    came before it (which lets Hypothesis delete steps while shrinking)."""

    action: str
    replica: int
    other: int
    duplicate: bool
    operation: Call


_ACTIONS = st.sampled_from(
    ["update", "update", "deliver", "deliver", "drop", "resend", "send_state", "tick"]
)
_PICK = st.integers(0, 255)


def _steps(target: Target) -> st.SearchStrategy[_Step]:
    return st.builds(_Step, _ACTIONS, _PICK, _PICK, st.booleans(), target.calls)


def _act(cluster: _Cluster, step: _Step) -> None:
    """Carry out one step of a :func:`check_convergence` program."""
    count = len(cluster.replicas)
    if step.action == "update":
        cluster.update(step.replica % count, step.operation)
    elif step.action == "deliver" and cluster.in_flight:
        cluster.deliver(step.other % len(cluster.in_flight), keep_copy=step.duplicate)
    elif step.action == "drop" and cluster.in_flight:
        cluster.drop(step.other % len(cluster.in_flight))
    elif step.action == "resend" and cluster.lost:
        cluster.resend(step.other % len(cluster.lost))
    elif step.action == "send_state":
        source, target = step.replica % count, step.other % count
        if source != target:
            cluster.send_state(source, target)
    elif step.action == "tick":
        cluster.time.time += step.other % 4


def check_convergence(
    crdt_type: CRDTType,
    ops: Sequence[Op] | st.SearchStrategy[Call] | None = None,
    *,
    replicas: int = 3,
    sync: str = "delta",
    max_examples: int = 100,
    max_steps: int = 30,
) -> None:
    """Check that replicas converge under any delivery order, duplication and loss.

    Each example runs a random program over ``replicas`` replicas: updates (each sends its
    delta, or with ``sync="state"`` the full state, to every peer), deliveries in any order
    that may leave a duplicate in flight, lost messages that are resent later, and full-state
    anti-entropy. After every step, replicas that have received the same updates must be
    equal; at the end every pending message is delivered in an order drawn from
    :func:`schedules`, and all replicas must be equal, metadata included.

    Args:
        crdt_type: a CRDT class, or an empty instance to copy (``ORMap(ORSet)``).
        ops: the mutations: a list of :class:`Op` or a strategy of :class:`Call`; ``None``
            uses :func:`operations` (built-in types only).
        replicas: how many replicas (at least 2).
        sync: ``"delta"`` or ``"state"``: what an update sends.
        max_examples: how many programs Hypothesis tries.
        max_steps: the longest program.

    Raises:
        merge.laws.LawViolation: with ``law == "convergence"`` and the two diverging
            states as ``witnesses``, for the smallest program Hypothesis finds.

    Examples:
        >>> import crdts
        >>> from merge.testing import check_convergence
        >>> check_convergence(crdts.PNCounter, sync="state", max_examples=5)
    """
    _check_cluster_options(replicas, sync)
    target = Target(crdt_type, ops)

    def program(data: st.DataObject) -> None:
        cluster = _Cluster(target, replicas, sync)
        for step in data.draw(st.lists(_steps(target), max_size=max_steps), label="program"):
            _act(cluster, step)
            cluster.check()
        schedule = data.draw(schedules(len(cluster.pending())), label="final deliveries")
        cluster.deliver_all(schedule)
        cluster.check_converged()

    hunt(program, max_examples=max_examples, name="convergence")


class ConvergenceMachine(RuleBasedStateMachine):
    """A state machine that checks a type's replicas converge; subclass it for your type.

    Set ``crdt_type`` (a CRDT class or an empty instance to copy) and, unless it is a
    built-in type, ``ops`` (a list of :class:`Op`); optionally ``replicas`` (default 3) and
    ``sync`` (``"delta"``, the default, or ``"state"``). Rules update a replica (sending
    the delta or state to every peer), send a full state, deliver any in-flight message
    (possibly leaving a duplicate in flight), lose one (to be resent), resend a lost one,
    move the clock, or settle (deliver everything in an arbitrary order). The invariant:
    replicas that have received the same updates hold equal states; at teardown everything
    pending is delivered and all replicas must be equal. A failure raises
    :class:`merge.laws.LawViolation` with ``law == "convergence"``.

    ``self.states`` lists the replicas' states, for invariants of your own.

    Examples:
        >>> import crdts
        >>> from hypothesis import settings
        >>> from merge.testing import ConvergenceMachine
        >>> class CartConvergence(ConvergenceMachine):
        ...     crdt_type = crdts.Cart
        >>> TestCart = CartConvergence.TestCase
        >>> TestCart.settings = settings(max_examples=5, stateful_step_count=10)
    """

    crdt_type: ClassVar[CRDTType | None] = None
    ops: ClassVar[Sequence[Op] | st.SearchStrategy[Call] | None] = None
    replicas: ClassVar[int] = 3
    sync: ClassVar[str] = "delta"

    def __init__(self) -> None:
        super().__init__()
        crdt_type = type(self).crdt_type
        if crdt_type is None:
            raise TypeError(
                f"{type(self).__name__} must set crdt_type = YourCRDT (and ops = [Op(...), "
                f"...] unless it is a built-in type)"
            )
        self.cluster = _Cluster(Target(crdt_type, type(self).ops), self.replicas, self.sync)

    @property
    def states(self) -> list[Any]:
        """The replicas' states, ``r0`` first."""
        return self.cluster.replicas

    # Indexes are drawn as small ints taken modulo the number of replicas or messages, so
    # a step keeps a meaning when the shrinker deletes the steps before it.

    @rule(
        replica=_PICK, operation=st.runner().flatmap(lambda machine: machine.cluster.target.calls)
    )
    def update(self, replica: int, operation: Call) -> None:
        self.cluster.update(replica % len(self.cluster.replicas), operation)

    @rule(source=_PICK, destination=_PICK)
    def send_state(self, source: int, destination: int) -> None:
        count = len(self.cluster.replicas)
        if source % count != destination % count:
            self.cluster.send_state(source % count, destination % count)

    @precondition(lambda self: bool(self.cluster.in_flight))
    @rule(message=_PICK, duplicate=st.booleans())
    def deliver(self, message: int, duplicate: bool) -> None:
        self.cluster.deliver(message % len(self.cluster.in_flight), keep_copy=duplicate)

    @precondition(lambda self: bool(self.cluster.in_flight))
    @rule(message=_PICK)
    def drop(self, message: int) -> None:
        self.cluster.drop(message % len(self.cluster.in_flight))

    @precondition(lambda self: bool(self.cluster.lost))
    @rule(message=_PICK)
    def resend(self, message: int) -> None:
        self.cluster.resend(message % len(self.cluster.lost))

    @rule(milliseconds=st.integers(0, 3))
    def advance_time(self, milliseconds: int) -> None:
        self.cluster.time.time += milliseconds

    @rule(data=st.data())
    def settle(self, data: st.DataObject) -> None:
        schedule = data.draw(schedules(len(self.cluster.pending())), label="deliveries")
        self.cluster.deliver_all(schedule)
        self.cluster.check_converged()

    @_invariant()
    def replicas_with_the_same_updates_are_equal(self) -> None:
        self.cluster.check()

    def teardown(self) -> None:
        if sys.exc_info()[1] is None:  # not while another failure is being reported
            self.cluster.deliver_all()
            self.cluster.check_converged()
