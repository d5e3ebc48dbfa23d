"""Every built-in merge type, with a factory and the operations a test program may run.

The generic law, delta and permutation tests iterate over :data:`TYPES`, so adding a type
here puts it under every generic test at once. The operations themselves live in
:mod:`merge.testing` (``mutators``), where users' tests get them too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

import crdts
from merge.testing import ManualTime, Op, histories, mutators
from merge.testing._engine import Target as _Target

__all__ = ["TYPES", "ManualTime", "Op", "Run", "TypeSpec", "merged", "programs"]


@dataclass(frozen=True)
class TypeSpec:
    """A type to test (a class, or an empty instance to copy) and what to do to it."""

    name: str
    crdt_type: Any
    ops: list[Op]

    def __repr__(self) -> str:
        return self.name

    def make(self, replica: str | None, time: ManualTime) -> Any:
        """An empty instance bound to ``replica`` (its HLC, if any, reading ``time``)."""
        return _Target(self.crdt_type, self.ops).make(replica, time)


def _spec(name: str, crdt_type: Any) -> TypeSpec:
    return TypeSpec(name, crdt_type, mutators(crdt_type))


TYPES: list[TypeSpec] = [
    _spec("ORSet", crdts.ORSet),
    _spec("RWORSet", crdts.RWORSet),
    _spec("MVRegister", crdts.MVRegister),
    _spec("EWFlag", crdts.EWFlag),
    _spec("DWFlag", crdts.DWFlag),
    _spec("CausalCounter", crdts.CausalCounter),
    _spec("ORMap[ORSet]", crdts.ORMap(crdts.ORSet)),
    _spec("ORMap[CausalCounter]", crdts.ORMap(crdts.CausalCounter)),
    _spec("ORMap[ORMap[MVRegister]]", crdts.ORMap(crdts.ORMap(crdts.MVRegister))),
    _spec("Cart", crdts.Cart),
    _spec("GCounter", crdts.GCounter),
    _spec("PNCounter", crdts.PNCounter),
    _spec("GSet", crdts.GSet),
    _spec("TwoPSet", crdts.TwoPSet),
    _spec("LWWRegister", crdts.LWWRegister),
    _spec("LWWElementSet", crdts.LWWElementSet),
    _spec("LWWMap", crdts.LWWMap),
    _spec("LWWElementSet[remove-bias]", crdts.LWWElementSet(bias="remove")),
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


def programs(spec: TypeSpec, *, replicas: int = 3, max_steps: int = 25) -> st.SearchStrategy[Run]:
    """Run a random program — mutations, full-state merges, delta deliveries, clock ticks —
    over ``replicas`` replicas, checking every invariant after every step."""
    return histories(spec.crdt_type, spec.ops, replicas=replicas, max_steps=max_steps).map(
        lambda history: Run(spec, history.time, history.replicas, history.deltas)
    )


def merged(*states: Any) -> Any:
    """The join of ``states``, as a new unbound instance whose invariants have been checked
    (so no clock observes anything)."""
    result = states[0].copy(replica=None)
    for state in states[1:]:
        result.merge(state)
    result._check()
    return result
