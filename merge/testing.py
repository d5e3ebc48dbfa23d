"""Hypothesis strategies, convergence checks and reference models for merge types.

Needs the ``testing`` extra (``pip install crdtkit[testing]``): this module imports
Hypothesis.

* :func:`operations` draws mutator calls for every built-in type (:func:`mutators` lists
  them as :class:`Op` values); describe your own type's mutators with a list of ``Op``.
* :func:`states` draws reachable states (``st.from_type(crdts.ORSet)`` uses it);
  :func:`histories` draws several replicas of one run, which may be merged together.
* :func:`schedules` draws delivery orders with duplicates and lost-then-resent messages;
  :func:`check_convergence` runs random updates over replicas under such orders and checks
  that replicas which received the same updates are equal; :class:`ConvergenceMachine` is
  the same check as a ``RuleBasedStateMachine`` to subclass for your own types.
* :class:`TombstoneSet` and :class:`HistoryRegister` are naive reference models (they keep
  everything) for differential tests.

Examples:
    >>> from hypothesis import given
    >>> import crdts
    >>> from merge.testing import check_convergence, operations
    >>> check_convergence(crdts.ORSet, max_examples=5)
    >>> @given(operations(crdts.GCounter))
    ... def test_increments_never_lower_the_value(call):
    ...     counter = crdts.GCounter(replica="a")
    ...     _ = call(counter)
    ...     assert counter.value >= 0
    >>> test_increments_never_lower_the_value()
"""

from __future__ import annotations

import inspect
import itertools
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
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

import crdts
from clocks import HLC, VectorClock
from crdts import CRDT
from crdts._wire import value_key
from merge import resolvers
from merge.siblings import Siblings

__all__ = [
    "CRDTType",
    "Call",
    "ConvergenceMachine",
    "Delivery",
    "History",
    "HistoryRegister",
    "ManualTime",
    "Op",
    "TombstoneSet",
    "Write",
    "check_convergence",
    "histories",
    "mutators",
    "operations",
    "schedules",
    "states",
]

#: A CRDT class, or an empty instance to copy (needed when the class alone does not say
#: everything, as for ``ORMap(ORSet)`` or ``LWWElementSet(bias="remove")``).
CRDTType = type[CRDT] | CRDT


# -- operations ------------------------------------------------------------------------------


class ManualTime:
    """A physical clock for HLCs that tests move by hand (milliseconds, from ``start``).

    Examples:
        >>> from clocks import HLC
        >>> from merge.testing import ManualTime
        >>> time = ManualTime()
        >>> clock = HLC("a", now=time)
        >>> time.time += 5
        >>> clock.now().wall
        1005
    """

    def __init__(self, start: int = 1_000) -> None:
        self.time = start

    def __call__(self) -> int:
        return self.time

    def __repr__(self) -> str:
        return f"ManualTime({self.time})"


@dataclass(frozen=True)
class Op:
    """One mutator: its ``name`` and a strategy for its positional arguments (as a tuple).

    Examples:
        >>> from hypothesis import strategies as st
        >>> from merge.testing import Op
        >>> Op("increment", st.tuples(st.integers(0, 5)))
        Op(name='increment', args=...)
    """

    name: str
    args: st.SearchStrategy[tuple[Any, ...]]

    def apply(self, state: Any, args: tuple[Any, ...]) -> Any | None:
        """Run the mutator; a precondition failure (KeyError, ValueError) is a no-op."""
        return Call(self.name, args)(state)


@dataclass(frozen=True)
class Call:
    """One drawn mutator call, such as ``add('a')``; calling it on a state runs it.

    A precondition failure (``KeyError``, ``ValueError``: removing an absent element,
    re-adding to a TwoPSet) is a no-op that returns None; otherwise the call returns
    whatever the mutator returned (a delta).
    """

    name: str
    args: tuple[Any, ...]

    def __call__(self, state: Any) -> Any | None:
        try:
            return getattr(state, self.name)(*self.args)
        except (KeyError, ValueError):
            return None

    def __repr__(self) -> str:
        return f"{self.name}({', '.join(map(repr, self.args))})"


def _one(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[tuple[Any, ...]]:
    return strategy.map(lambda value: (value,))


def _calls(ops: Sequence[Op]) -> st.SearchStrategy[Call]:
    if not ops:
        raise ValueError("ops must name at least one mutator")
    for op in ops:
        if not isinstance(op, Op):
            raise TypeError(f"ops must hold merge.testing.Op values, not {op!r}")
    return st.one_of([op.args.map(partial(Call, op.name)) for op in ops])


_NO_ARGS: st.SearchStrategy[tuple[Any, ...]] = st.just(())
_ELEMENTS = st.sampled_from(["a", "b", "c", 1, (2, "x"), b"z"])
_KEYS = st.sampled_from(["k1", "k2", "k3"])
_VALUES = st.one_of(_ELEMENTS, st.lists(st.integers(0, 3), max_size=2))
_AMOUNTS = st.integers(0, 5)

_SET_OPS = [
    Op("add", _one(_ELEMENTS)),
    Op("remove", _one(_ELEMENTS)),
    Op("discard", _one(_ELEMENTS)),
    Op("clear", _NO_ARGS),
]
_COUNTER_OPS = [Op("increment", _one(_AMOUNTS)), Op("decrement", _one(_AMOUNTS))]
_FLAG_OPS = [Op("enable", _NO_ARGS), Op("disable", _NO_ARGS)]
_MAP_KEY_OPS = [Op("remove", _one(_KEYS)), Op("discard", _one(_KEYS))]

_MUTATORS: dict[type, list[Op]] = {
    crdts.ORSet: _SET_OPS,
    crdts.RWORSet: _SET_OPS,
    crdts.MVRegister: [Op("assign", _one(_VALUES))],
    crdts.EWFlag: _FLAG_OPS,
    crdts.DWFlag: _FLAG_OPS,
    crdts.CausalCounter: _COUNTER_OPS,
    crdts.Cart: [
        Op("add", st.tuples(_ELEMENTS, st.integers(1, 4))),
        Op("remove", st.tuples(_ELEMENTS, st.none() | st.integers(1, 4))),
        Op("discard", _one(_ELEMENTS)),
    ],
    crdts.GCounter: [Op("increment", _one(_AMOUNTS))],
    crdts.PNCounter: _COUNTER_OPS,
    crdts.GSet: [Op("add", _one(_ELEMENTS))],
    crdts.TwoPSet: [
        Op("add", _one(_ELEMENTS)),
        Op("remove", _one(_ELEMENTS)),
        Op("discard", _one(_ELEMENTS)),
    ],
    crdts.LWWRegister: [Op("assign", _one(_VALUES))],
    crdts.LWWElementSet: [Op("add", _one(_ELEMENTS)), Op("remove", _one(_ELEMENTS))],
    crdts.LWWMap: [Op("set", st.tuples(_KEYS, _VALUES)), Op("remove", _one(_KEYS))],
}


def mutators(crdt_type: CRDTType) -> list[Op]:
    """The mutators of a built-in type, each with a strategy for its arguments.

    ``crdt_type`` is a class, or an empty instance for a configured type: an ORMap's
    operations depend on its value type, so pass ``ORMap(ORSet)``; ``update`` then applies
    one of the value type's operations to a key. A subclass of a built-in type gets its
    base's operations.

    Raises:
        TypeError: the type is not built in (describe its mutators as a list of ``Op``) or
            is a bare ``ORMap`` class.

    Examples:
        >>> import crdts
        >>> from merge.testing import mutators
        >>> [op.name for op in mutators(crdts.ORSet)]
        ['add', 'remove', 'discard', 'clear']
        >>> [op.name for op in mutators(crdts.ORMap(crdts.ORSet))]
        ['update', 'remove', 'discard']
    """
    cls = crdt_type if isinstance(crdt_type, type) else type(crdt_type)
    for klass in cls.__mro__:
        if klass is crdts.ORMap:
            if not isinstance(crdt_type, crdts.ORMap):
                raise TypeError(
                    "an ORMap's operations depend on its value type: pass an empty "
                    "template such as ORMap(ORSet) instead of the class"
                )
            nested = _calls(mutators(crdt_type.value_type))
            return [Op("update", st.tuples(_KEYS, nested)), *_MAP_KEY_OPS]
        ops = _MUTATORS.get(klass)
        if ops is not None:
            return list(ops)
    raise TypeError(
        f"merge.testing has no operations for {_describe(crdt_type)}; describe its "
        f"mutators, e.g. ops=[Op('assign', st.tuples(st.integers()))]"
    )


def operations(crdt_type: CRDTType) -> st.SearchStrategy[Call]:
    """A strategy of mutator calls for a built-in type (see :func:`mutators`).

    Each drawn :class:`Call` runs on a state: ``delta = call(state)``.

    Examples:
        >>> import crdts
        >>> from hypothesis import find
        >>> from merge.testing import operations
        >>> find(operations(crdts.GSet), lambda call: call.args == ("b",))
        add('b')
    """
    return _calls(mutators(crdt_type))


# -- building replicas -----------------------------------------------------------------------


def _describe(crdt_type: Any) -> str:
    """A readable, stable name for a type or template: ``ORMap(ORSet)``."""
    if isinstance(crdt_type, type):
        return crdt_type.__qualname__
    if isinstance(crdt_type, crdts.ORMap) and type(crdt_type) is crdts.ORMap:
        return f"ORMap({_describe(crdt_type.value_type)})"
    bias = getattr(crdt_type, "bias", None)
    if isinstance(bias, str):
        return f"{type(crdt_type).__qualname__}(bias={bias!r})"
    return type(crdt_type).__qualname__


def _accepts_clock(fn: Callable[..., Any]) -> bool:
    try:
        return "clock" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


class _Target:
    """How to build replicas of a type, and which operations to run on them."""

    def __init__(self, crdt_type: CRDTType, ops: Sequence[Op] | st.SearchStrategy[Call] | None):
        if isinstance(crdt_type, CRDT):
            self.template: CRDT | None = crdt_type
            self.cls: type[CRDT] = type(crdt_type)
            self.clocked = _accepts_clock(crdt_type.copy)
        elif isinstance(crdt_type, type) and issubclass(crdt_type, CRDT):
            self.template = None
            self.cls = crdt_type
            self.clocked = _accepts_clock(crdt_type)
        else:
            raise TypeError(
                f"expected a crdts.CRDT subclass or an empty instance of one, not {crdt_type!r}"
            )
        self.name = _describe(crdt_type)
        if ops is None:
            self.calls = operations(crdt_type)
        elif isinstance(ops, st.SearchStrategy):
            self.calls = ops
        else:
            self.calls = _calls(list(ops))
        try:
            self.make(None, ManualTime())
        except TypeError as error:
            raise TypeError(
                f"cannot build a {self.name} from its class alone ({error}); pass an empty "
                f"instance to copy instead, e.g. ORMap(ORSet)"
            ) from None

    def __repr__(self) -> str:
        return self.name

    def make(self, replica: str | None, time: ManualTime) -> Any:
        """An empty instance bound to ``replica`` (stamping with ``time`` if it has a
        clock), or unbound when ``replica`` is None."""
        options: dict[str, Any] = {}
        if self.clocked and replica is not None:
            options["clock"] = HLC(replica, now=time)
        if self.template is not None:
            return self.template.copy(replica=replica, **options)
        return self.cls(replica=replica, **options)


# -- histories and states --------------------------------------------------------------------


class History:
    """The replicas of one type after a random program, and every delta made on the way.

    The replicas share one history, so they may be merged with each other and with the
    deltas in any combination (states from different histories may not: they reuse the
    replica ids ``r0``, ``r1``, ... and would prove a shared writer). ``time`` is the
    manual clock the replicas' HLCs read, if they have any.
    """

    def __init__(
        self, replicas: list[Any], deltas: list[Any], time: ManualTime, target: _Target
    ) -> None:
        self.replicas = replicas
        self.deltas = deltas
        self.time = time
        self._target = target
        self._handed_out = 0

    def __repr__(self) -> str:
        return f"History(replicas={self.replicas!r}, deltas={self.deltas!r})"

    def empty(self) -> Any:
        """A new, empty, read-only instance of the type."""
        return self._target.make(None, self.time)


_STEPS = st.sampled_from(["op", "op", "op", "merge", "deliver", "tick"])


@st.composite
def _histories(draw: st.DrawFn, target: _Target, replicas: int, max_steps: int) -> History:
    time = ManualTime()
    states = [target.make(f"r{index}", time) for index in range(replicas)]
    deltas: list[Any] = []
    for _ in range(draw(st.integers(0, max_steps))):
        step = draw(_STEPS)
        if step == "op":
            state = states[draw(st.integers(0, replicas - 1))]
            delta = draw(target.calls)(state)
            state._check()
            if delta is not None and type(delta) is type(state):
                delta._check()
                deltas.append(delta)
        elif step == "merge":
            source, destination = (draw(st.integers(0, replicas - 1)) for _ in range(2))
            if source != destination:
                states[destination].merge(states[source])
                states[destination]._check()
        elif step == "deliver":
            if deltas:
                state = states[draw(st.integers(0, replicas - 1))]
                state.merge(draw(st.sampled_from(deltas)))
                state._check()
        else:
            time.time += draw(st.integers(0, 3))
    return History(states, deltas, time, target)


def histories(
    crdt_type: CRDTType,
    ops: Sequence[Op] | st.SearchStrategy[Call] | None = None,
    *,
    replicas: int = 3,
    max_steps: int = 20,
) -> st.SearchStrategy[History]:
    """Replicas after a random program of mutations, full-state merges and delta
    deliveries (checking every invariant after every step), with the deltas produced.

    Args:
        crdt_type: a CRDT class, or an empty instance to copy (``ORMap(ORSet)``).
        ops: the mutations to run: a list of :class:`Op`, or a strategy of :class:`Call`;
            ``None`` uses :func:`operations` (built-in types only).
        replicas: how many replicas (``r0``, ``r1``, ...).
        max_steps: the longest program.

    Examples:
        >>> import crdts
        >>> from hypothesis import find
        >>> from merge.testing import histories
        >>> history = find(histories(crdts.GCounter), lambda h: h.replicas[0].value > 0)
        >>> len(history.replicas), len(history.deltas) > 0
        (3, True)
    """
    if replicas < 1:
        raise ValueError(f"replicas must be at least 1, not {replicas}")
    return _histories(_Target(crdt_type, ops), replicas, max_steps)


@st.composite
def _pick_replica(draw: st.DrawFn, universe: st.SearchStrategy[History]) -> Any:
    """The n-th draw in a test case gets replica n of the shared history (a fork of one
    when n passes their number), so drawn states can be merged and mutated freely."""
    history = draw(universe)
    index = history._handed_out
    history._handed_out += 1
    base = history.replicas[index % len(history.replicas)]
    if index < len(history.replicas):
        return base.copy()
    return base.copy(replica=f"r{index}")


def states(
    crdt_type: CRDTType | type[Siblings], ops: Sequence[Op] | st.SearchStrategy[Call] | None = None
) -> st.SearchStrategy[Any]:
    """Reachable states of a type: replicas after a random program.

    Within one test case, every ``states(T)`` draw comes from the same hidden history, each
    as a different replica, so the drawn states can be merged with each other (as
    ``check_laws(join, states(T))`` needs) and mutated. ``states(merge.Siblings)`` draws
    sibling stores written by three servers; ``states(ORMap)`` draws maps of sets, counters
    or registers. ``st.from_type(T)`` uses this strategy for every built-in type.

    Examples:
        >>> import crdts
        >>> from hypothesis import given
        >>> from merge.testing import states
        >>> @given(states(crdts.ORSet), states(crdts.ORSet))
        ... def test_union_holds_both(a, b):
        ...     assert a.value | b.value >= (a | b).value
        >>> test_union_holds_both()
    """
    if crdt_type is Siblings:
        if ops is not None:
            raise TypeError("states(Siblings) takes no ops")
        return _pick_store(st.shared(_sibling_histories(), key="merge.testing.states:Siblings"))
    if crdt_type is crdts.ORMap and ops is None:
        return st.one_of(
            [states(crdts.ORMap(value)) for value in (crdts.ORSet, crdts.CausalCounter)]
            + [states(crdts.ORMap(crdts.MVRegister))]
        )
    if isinstance(crdt_type, type) and not issubclass(crdt_type, CRDT):
        raise TypeError(f"states() needs a CRDT type or merge.Siblings, not {crdt_type!r}")
    target = _Target(crdt_type, ops)
    key = f"merge.testing.states:{target.name}"
    if ops is not None:
        key += f":ops@{id(ops)}"
    return _pick_replica(st.shared(_histories(target, 3, 15), key=key))


_SERVERS = ("s1", "s2", "s3")
_SIBLING_RESOLVERS: list[Callable[[tuple[Any, ...]], Any]] = [resolvers.maximum.by(value_key), list]


@st.composite
def _sibling_histories(draw: st.DrawFn) -> list[Siblings]:
    """Three servers' stores after clients read, write (with fresh, stale or no context),
    servers merge and resolve."""
    stores = [Siblings() for _ in _SERVERS]
    reads: list[VectorClock] = []
    for _ in range(draw(st.integers(0, 20))):
        step = draw(st.sampled_from(["read", "put", "put", "merge", "resolve"]))
        index = draw(st.integers(0, len(stores) - 1))
        store = stores[index]
        if step == "read":
            reads.append(store.context)
        elif step == "put":
            context = draw(st.sampled_from([None, store.context, *reads]))
            store.put(draw(_VALUES), context=context, replica=_SERVERS[index])
        elif step == "merge":
            store.merge(stores[draw(st.integers(0, len(stores) - 1))])
        else:
            store.resolve(draw(st.sampled_from(_SIBLING_RESOLVERS)))
        store._check()
    return stores


@st.composite
def _pick_store(draw: st.DrawFn, universe: st.SearchStrategy[list[Siblings]]) -> Siblings:
    stores = draw(universe)
    return stores[draw(st.integers(0, len(stores) - 1))].copy()


# -- delivery schedules ----------------------------------------------------------------------


class Delivery(NamedTuple):
    """One transmission of message number ``message``; ``lost`` ones never arrive."""

    message: int
    lost: bool = False


@st.composite
def _schedules(
    draw: st.DrawFn, messages: int, max_duplicates: int, max_losses: int
) -> list[Delivery]:
    transmissions: list[Delivery] = []
    for message in range(messages):
        transmissions.append(Delivery(message))
        transmissions += [Delivery(message)] * draw(st.integers(0, max_duplicates))
        transmissions += [Delivery(message, lost=True)] * draw(st.integers(0, max_losses))
    return list(draw(st.permutations(transmissions)))


def schedules(
    messages: int, *, max_duplicates: int = 1, max_losses: int = 1
) -> st.SearchStrategy[list[Delivery]]:
    """Orders in which ``messages`` messages (numbered from 0) may be transmitted.

    Each message arrives at least once, up to ``max_duplicates`` more times, and up to
    ``max_losses`` of its transmissions are lost (to be resent); all of it in any order.
    Shrinking leads towards in-order, exactly-once delivery.

    Examples:
        >>> from hypothesis import find
        >>> from merge.testing import schedules
        >>> schedule = find(schedules(3), lambda s: any(delivery.lost for delivery in s))
        >>> sorted({delivery.message for delivery in schedule if not delivery.lost})
        [0, 1, 2]
    """
    for name, number in (
        ("messages", messages),
        ("max_duplicates", max_duplicates),
        ("max_losses", max_losses),
    ):
        if isinstance(number, bool) or not isinstance(number, int) or number < 0:
            raise ValueError(f"{name} must be an int >= 0, not {number!r}")
    return _schedules(messages, max_duplicates, max_losses)


# -- convergence -----------------------------------------------------------------------------


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

    def __init__(self, target: _Target, replicas: int, sync: str) -> None:
        _check_cluster_options(replicas, sync)
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
        from merge.laws import LawViolation

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


def _steps(target: _Target) -> st.SearchStrategy[_Step]:
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
    from merge.laws import _hunt

    _check_cluster_options(replicas, sync)
    target = _Target(crdt_type, ops)

    def program(data: st.DataObject) -> None:
        cluster = _Cluster(target, replicas, sync)
        for step in data.draw(st.lists(_steps(target), max_size=max_steps), label="program"):
            _act(cluster, step)
            cluster.check()
        schedule = data.draw(schedules(len(cluster.pending())), label="final deliveries")
        cluster.deliver_all(schedule)
        cluster.check_converged()

    _hunt(program, max_examples=max_examples, name="convergence")


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
        self.cluster = _Cluster(_Target(crdt_type, type(self).ops), self.replicas, self.sync)

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


# -- reference models ------------------------------------------------------------------------

_tags = itertools.count(1)


@dataclass
class TombstoneSet:
    """Shapiro's state-based OR-Set with tombstones, optionally remove-wins.

    ``tokens`` holds every ``(key, element, tag, is_add)`` ever seen; ``dead`` every tag
    that some replica retired. Each operation retires the live tokens it observed for the
    element (as the optimised types do), then adds a token of its own. ``key`` makes it a
    model of a map of sets (``ORMap(ORSet)``): ``remove_key`` retires a whole key.

    It never forgets anything, which makes it slow, unbounded and easy to trust: run it
    beside an ``ORSet``/``RWORSet``/``ORMap`` and compare values after every step.

    Examples:
        >>> from merge.testing import TombstoneSet
        >>> a, b = TombstoneSet(), TombstoneSet()
        >>> b.merge(a.add("x"))
        >>> _ = b.remove("x"); _ = a.add("x")    # a concurrent add survives the remove
        >>> a.merge(b); sorted(a.elements())
        ['x']
    """

    remove_wins: bool = False
    tokens: set[tuple[Any, Any, int, bool]] = field(default_factory=set)
    dead: set[int] = field(default_factory=set)

    def live(self, key: Any = None, element: Any = None) -> set[tuple[Any, Any, int, bool]]:
        """The tokens not retired, optionally only those of ``key`` and ``element``."""
        return {
            token
            for token in self.tokens
            if token[2] not in self.dead
            and (key is None or token[0] == key)
            and (element is None or token[1] == element)
        }

    def _op(self, key: Any, element: Any, is_add: bool | None) -> TombstoneSet:
        retired = {token[2] for token in self.live(key, element)}
        delta = TombstoneSet(self.remove_wins, dead=retired)
        if is_add is not None:
            delta.tokens.add((key, element, next(_tags), is_add))
        self.merge(delta)
        return delta

    def add(self, element: Any, key: Any = None) -> TombstoneSet:
        """Add ``element`` (under ``key``); return the delta."""
        return self._op(key, element, True)

    def remove(self, element: Any, key: Any = None) -> TombstoneSet:
        """Remove ``element`` as observed (under ``key``); return the delta."""
        return self._op(key, element, False if self.remove_wins else None)

    def remove_key(self, key: Any) -> TombstoneSet:
        """Retire every observed token of ``key``; return the delta."""
        delta = TombstoneSet(self.remove_wins, dead={token[2] for token in self.live(key)})
        self.merge(delta)
        return delta

    def merge(self, other: TombstoneSet) -> None:
        self.tokens |= other.tokens
        self.dead |= other.dead

    def copy(self) -> TombstoneSet:
        return TombstoneSet(self.remove_wins, set(self.tokens), set(self.dead))

    def elements(self, key: Any = None) -> frozenset[Any]:
        """The elements present (under ``key``)."""
        by_element: dict[Any, list[bool]] = {}
        for _, element, _, is_add in self.live(key):
            by_element.setdefault(element, []).append(is_add)
        if self.remove_wins:
            return frozenset(e for e, adds in by_element.items() if all(adds))
        return frozenset(by_element)

    def as_map(self) -> dict[Any, frozenset[Any]]:
        """``{key: elements}`` for every key with a live token."""
        keys = {token[0] for token in self.live()}
        return {key: self.elements(key) for key in keys}


@dataclass(frozen=True)
class Write:
    """One assignment in a :class:`HistoryRegister`: the value, the writes it overwrote
    (the values its writer saw), and an optional timestamp."""

    value: Any
    overwrites: frozenset[tuple[str, int]]
    timestamp: Any = None


@dataclass
class HistoryRegister:
    """A register that keeps every write ever made: the reference model of the
    multi-value and last-writer-wins registers.

    Each write is named ``(replica, n)`` — the n-th write of that replica, exactly the dot
    an ``MVRegister`` gives it — and records the writes it overwrote. ``values`` are the
    writes no known write overwrote, in name order (what ``MVRegister.values`` must show);
    ``latest`` is the value of the write with the greatest timestamp (what
    ``LWWRegister.value`` must show). Merging is the union of the writes.

    Examples:
        >>> from merge.testing import HistoryRegister
        >>> a, b = HistoryRegister("a"), HistoryRegister("b")
        >>> _ = a.assign("red", timestamp=1); b.merge(a.assign("blue", timestamp=2))
        >>> _ = b.assign("green", timestamp=3); _ = a.assign("pink", timestamp=4)
        >>> a.merge(b); a.values, a.latest
        (('pink', 'green'), 'pink')
    """

    replica: str | None = None
    writes: dict[tuple[str, int], Write] = field(default_factory=dict)

    def assign(self, value: Any, *, timestamp: Any = None) -> HistoryRegister:
        """Overwrite the current values with ``value``; return the delta (this write)."""
        if self.replica is None:
            raise TypeError("this HistoryRegister has no replica id; pass one to write")
        counter = 1 + max((n for r, n in self.writes if r == self.replica), default=0)
        write = Write(value, frozenset(self._current()), timestamp)
        self.writes[(self.replica, counter)] = write
        return HistoryRegister(None, {(self.replica, counter): write})

    def merge(self, other: HistoryRegister) -> None:
        self.writes.update(other.writes)

    def copy(self, replica: str | None = None) -> HistoryRegister:
        return HistoryRegister(replica or self.replica, dict(self.writes))

    def _current(self) -> list[tuple[str, int]]:
        overwritten: set[tuple[str, int]] = set()
        for write in self.writes.values():
            overwritten |= write.overwrites
        return sorted(name for name in self.writes if name not in overwritten)

    @property
    def values(self) -> tuple[Any, ...]:
        """The values of the writes that no known write overwrote, in name order."""
        return tuple(self.writes[name].value for name in self._current())

    @property
    def latest(self) -> Any:
        """The value of the write with the greatest timestamp (None without any)."""
        stamped = [write for write in self.writes.values() if write.timestamp is not None]
        if not stamped:
            return None
        return max(stamped, key=lambda write: write.timestamp).value
