"""Every built-in merge type, with a factory and the operations a test program may run.

The generic law, delta and permutation tests iterate over :data:`TYPES`, which is read from
the type registry (``merge.registry.builtins()``: each profile's template and variants), so
registering a type there puts it under every generic test at once. The operations
themselves live in the registry too, and reach the tests through :mod:`merge.testing`
(``mutators``), where users' tests get them as well. Types whose mutators return no deltas
(``merge.Siblings``) are left out: the generic tests ship deltas.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

import crdts
from merge.registry import builtins
from merge.testing import ManualTime, Op, histories, mutators
from merge.testing._engine import Target as _Target

__all__ = ["STATE_TYPES", "TYPES", "ManualTime", "Op", "Run", "TypeSpec", "merged", "programs"]


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


def _name(template: Any) -> str:
    """A test id: the class name, with an ORMap's value type and a remove bias in brackets
    (``ORMap[ORSet]``, ``LWWElementSet[remove-bias]``)."""
    if isinstance(template, type):
        return template.__name__
    if isinstance(template, crdts.ORMap) and type(template) is crdts.ORMap:
        return f"ORMap[{_name(template.value_type)}]"
    if getattr(template, "bias", None) == "remove":
        return f"{type(template).__name__}[remove-bias]"
    return type(template).__name__


def _templates() -> list[Any]:
    """Each built-in profile's template (a class where the class alone suffices), then its
    variants."""
    found: list[Any] = []
    for entry in builtins():
        if not entry.deltas:
            continue
        template = entry.template
        found.append(template if isinstance(template, type) else template())
        found += [variant() for variant in entry.variants]
    return found


TYPES: list[TypeSpec] = [_spec(_name(template), template) for template in _templates()]

#: The built-in types replicated by whole states (mutators that return no delta:
#: ``merge.Siblings``), for the tests that need no deltas (the decode fuzzer).
STATE_TYPES: list[TypeSpec] = [
    _spec(_name(entry.template), entry.template) for entry in builtins() if not entry.deltas
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
