"""Every built-in merge type, with a factory and the operations a test program may run.

The generic law, delta and permutation tests iterate over :data:`TYPES`, so adding a type
here puts it under every generic test at once. The operations themselves live in
:mod:`merge.testing` (``mutators``), where users' tests get them too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

import crdts
from clocks import HLC
from merge.testing import ManualTime, Op, mutators

__all__ = ["TYPES", "ManualTime", "Op", "Run", "TypeSpec", "merged", "programs"]


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
    TypeSpec("ORSet", _plain(crdts.ORSet), mutators(crdts.ORSet)),
    TypeSpec("RWORSet", _plain(crdts.RWORSet), mutators(crdts.RWORSet)),
    TypeSpec("MVRegister", _plain(crdts.MVRegister), mutators(crdts.MVRegister)),
    TypeSpec("EWFlag", _plain(crdts.EWFlag), mutators(crdts.EWFlag)),
    TypeSpec("DWFlag", _plain(crdts.DWFlag), mutators(crdts.DWFlag)),
    TypeSpec("CausalCounter", _plain(crdts.CausalCounter), mutators(crdts.CausalCounter)),
    TypeSpec("ORMap[ORSet]", _map_of(crdts.ORSet), mutators(crdts.ORMap(crdts.ORSet))),
    TypeSpec(
        "ORMap[CausalCounter]",
        _map_of(crdts.CausalCounter),
        mutators(crdts.ORMap(crdts.CausalCounter)),
    ),
    TypeSpec(
        "ORMap[ORMap[MVRegister]]",
        _map_of(crdts.ORMap(crdts.MVRegister)),
        mutators(crdts.ORMap(crdts.ORMap(crdts.MVRegister))),
    ),
    TypeSpec("Cart", _plain(crdts.Cart), mutators(crdts.Cart)),
    TypeSpec("GCounter", _plain(crdts.GCounter), mutators(crdts.GCounter)),
    TypeSpec("PNCounter", _plain(crdts.PNCounter), mutators(crdts.PNCounter)),
    TypeSpec("GSet", _plain(crdts.GSet), mutators(crdts.GSet)),
    TypeSpec("TwoPSet", _plain(crdts.TwoPSet), mutators(crdts.TwoPSet)),
    TypeSpec("LWWRegister", _clocked(crdts.LWWRegister), mutators(crdts.LWWRegister)),
    TypeSpec("LWWElementSet", _clocked(crdts.LWWElementSet), mutators(crdts.LWWElementSet)),
    TypeSpec("LWWMap", _clocked(crdts.LWWMap), mutators(crdts.LWWMap)),
    TypeSpec(
        "LWWElementSet[remove-bias]",
        _clocked(crdts.LWWElementSet, bias="remove"),
        mutators(crdts.LWWElementSet),
    ),
]


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


def merged(*states: Any) -> Any:
    """The join of ``states``, as a new unbound instance whose invariants have been checked
    (so no clock observes anything)."""
    result = states[0].copy(replica=None)
    for state in states[1:]:
        result.merge(state)
    result._check()
    return result
