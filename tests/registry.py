"""Every built-in merge type, with a factory and the operations a test program may run.

The generic law, delta and permutation tests iterate over :data:`TYPES`, so adding a type
here puts it under every generic test at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

import crdts
from clocks import HLC

ELEMENTS = st.sampled_from(["a", "b", "c", 1, (2, "x"), b"z"])
KEYS = st.sampled_from(["k1", "k2", "k3"])
VALUES = st.one_of(ELEMENTS, st.lists(st.integers(0, 3), max_size=2))
AMOUNTS = st.integers(0, 5)


class ManualTime:
    """A physical clock for HLCs that tests move by hand (starts at 1_000 ms)."""

    def __init__(self, start: int = 1_000) -> None:
        self.time = start

    def __call__(self) -> int:
        return self.time


@dataclass(frozen=True)
class Op:
    """One mutator call: ``name`` and a strategy for its arguments."""

    name: str
    args: st.SearchStrategy[tuple[Any, ...]]

    def apply(self, state: Any, args: tuple[Any, ...]) -> Any | None:
        """Run the mutator; a precondition failure (KeyError, ValueError) is a no-op."""
        try:
            return getattr(state, self.name)(*args)
        except (KeyError, ValueError):
            return None


def _one(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[tuple[Any, ...]]:
    return strategy.map(lambda value: (value,))


_NONE: st.SearchStrategy[tuple[Any, ...]] = st.just(())


def _nested(name: str, ops: list[Op]) -> st.SearchStrategy[tuple[Any, ...]]:
    """Arguments for ``ORMap.update(key, fn)`` where ``fn`` runs one nested op."""

    @st.composite
    def build(draw: st.DrawFn) -> tuple[Any, ...]:
        key = draw(KEYS)
        op = draw(st.sampled_from(ops))
        args = draw(op.args)

        def fn(nested: Any) -> Any:
            return op.apply(nested, args)

        fn.__qualname__ = f"{op.name}{args!r}"
        return (key, fn)

    return build()


SET_OPS = [
    Op("add", _one(ELEMENTS)),
    Op("remove", _one(ELEMENTS)),
    Op("discard", _one(ELEMENTS)),
    Op("clear", _NONE),
]
COUNTER_OPS = [Op("increment", _one(AMOUNTS)), Op("decrement", _one(AMOUNTS))]
MV_OPS = [Op("assign", _one(VALUES))]
FLAG_OPS = [Op("enable", _NONE), Op("disable", _NONE)]
MAP_KEY_OPS = [Op("remove", _one(KEYS)), Op("discard", _one(KEYS))]


@dataclass(frozen=True)
class TypeSpec:
    """How to build replicas of a type and what to do to them."""

    name: str
    make: Callable[[str | None, ManualTime], Any]
    ops: list[Op]

    def __repr__(self) -> str:
        return self.name


def _plain(cls: type) -> Callable[[str | None, ManualTime], Any]:
    return lambda replica, time: cls(replica=replica)


def _clocked(cls: type, **options: Any) -> Callable[[str | None, ManualTime], Any]:
    def make(replica: str | None, time: ManualTime) -> Any:
        if replica is None:
            return cls(**options)
        return cls(replica=replica, clock=HLC(replica, now=time), **options)

    return make


def _map_of(value_type: Any) -> Callable[[str | None, ManualTime], Any]:
    return lambda replica, time: crdts.ORMap(value_type, replica=replica)


TYPES: list[TypeSpec] = [
    TypeSpec("ORSet", _plain(crdts.ORSet), SET_OPS),
    TypeSpec("RWORSet", _plain(crdts.RWORSet), SET_OPS),
    TypeSpec("MVRegister", _plain(crdts.MVRegister), MV_OPS),
    TypeSpec("EWFlag", _plain(crdts.EWFlag), FLAG_OPS),
    TypeSpec("DWFlag", _plain(crdts.DWFlag), FLAG_OPS),
    TypeSpec("CausalCounter", _plain(crdts.CausalCounter), COUNTER_OPS),
    TypeSpec(
        "ORMap[ORSet]",
        _map_of(crdts.ORSet),
        [Op("update", _nested("set", SET_OPS)), *MAP_KEY_OPS],
    ),
    TypeSpec(
        "ORMap[CausalCounter]",
        _map_of(crdts.CausalCounter),
        [Op("update", _nested("counter", COUNTER_OPS)), *MAP_KEY_OPS],
    ),
    TypeSpec(
        "ORMap[ORMap[MVRegister]]",
        _map_of(crdts.ORMap(crdts.MVRegister)),
        [
            Op(
                "update",
                _nested(
                    "map", [Op("update", _nested("register", MV_OPS)), Op("discard", _one(KEYS))]
                ),
            ),
            *MAP_KEY_OPS,
        ],
    ),
    TypeSpec(
        "Cart",
        _plain(crdts.Cart),
        [
            Op("add", st.tuples(ELEMENTS, st.integers(1, 4))),
            Op("remove", st.tuples(ELEMENTS, st.none() | st.integers(1, 4))),
            Op("discard", _one(ELEMENTS)),
        ],
    ),
]

# the plain lattices, once they exist
_LATTICES: list[tuple[str, str, Callable[[type], Any], list[Op]]] = [
    ("GCounter", "GCounter", _plain, [Op("increment", _one(AMOUNTS))]),
    ("PNCounter", "PNCounter", _plain, COUNTER_OPS),
    ("GSet", "GSet", _plain, [Op("add", _one(ELEMENTS))]),
    (
        "TwoPSet",
        "TwoPSet",
        _plain,
        [Op("add", _one(ELEMENTS)), Op("remove", _one(ELEMENTS)), Op("discard", _one(ELEMENTS))],
    ),
    ("LWWRegister", "LWWRegister", _clocked, [Op("assign", _one(VALUES))]),
    (
        "LWWElementSet",
        "LWWElementSet",
        _clocked,
        [Op("add", _one(ELEMENTS)), Op("remove", _one(ELEMENTS))],
    ),
    (
        "LWWMap",
        "LWWMap",
        _clocked,
        [Op("set", st.tuples(KEYS, VALUES)), Op("remove", _one(KEYS))],
    ),
]
for _name, _attr, _factory, _ops in _LATTICES:
    if hasattr(crdts, _attr):
        TYPES.append(TypeSpec(_name, _factory(getattr(crdts, _attr)), _ops))
if hasattr(crdts, "LWWElementSet"):
    TYPES.append(
        TypeSpec(
            "LWWElementSet[remove-bias]",
            _clocked(crdts.LWWElementSet, bias="remove"),
            [Op("add", _one(ELEMENTS)), Op("remove", _one(ELEMENTS))],
        )
    )


@dataclass
class Run:
    """The outcome of a test program: final replicas and every delta produced on the way."""

    spec: TypeSpec
    time: ManualTime
    replicas: list[Any]
    deltas: list[Any]

    def empty(self) -> Any:
        return self.spec.make(None, self.time)


@st.composite
def programs(draw: st.DrawFn, spec: TypeSpec, *, replicas: int = 3, max_steps: int = 25) -> Run:
    """Run a random program — mutations, full-state merges, delta deliveries, clock ticks —
    over ``replicas`` replicas, checking every invariant after every step."""
    time = ManualTime()
    states = [spec.make(f"r{i}", time) for i in range(replicas)]
    deltas: list[Any] = []
    for _ in range(draw(st.integers(0, max_steps))):
        kind = draw(st.sampled_from(["op", "op", "op", "merge", "deliver", "tick"]))
        if kind == "op":
            target = states[draw(st.integers(0, replicas - 1))]
            op = draw(st.sampled_from(spec.ops))
            delta = op.apply(target, draw(op.args))
            if delta is not None:
                delta._check()
                deltas.append(delta)
            target._check()
        elif kind == "merge":
            source, target = draw(st.permutations(range(replicas)))[:2]
            states[target].merge(states[source])
            states[target]._check()
        elif kind == "deliver" and deltas:
            target = states[draw(st.integers(0, replicas - 1))]
            target.merge(draw(st.sampled_from(deltas)))
            target._check()
        else:
            time.time += draw(st.integers(0, 3))
    return Run(spec, time, states, deltas)
