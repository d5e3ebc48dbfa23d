"""python3-crdt (py3crdt 1.0.3) on the peer workloads, in its own environment.

Its OR-set is a sorted list of ``{"elem", "tags"}`` dicts: each add, remove and merge scans it,
so the per-operation figures are measured on fewer operations (the note says how many) and
are lower bounds. It has no OR-set value read, no LWW register and no encoding. Its GCounter
cannot be built (its constructor calls itself without end), so the counter rows use GCounter.
"""

from __future__ import annotations

import copy
from typing import Any

from common import Replicas, Result, Sizes, elements, fuzz, memory_per_element, per_op, whole
from py3crdt.gcounter import GCounter
from py3crdt.orset import ORSet

NAME = "python3-crdt"
# the per-operation set workloads run on this many elements: an add sorts the whole list
CAP = 2_000


def counter(name: str, nodes: list[str]) -> GCounter:
    made = GCounter(name)
    for node in nodes:
        made.add_new_node(node)
    return made


def counter_increment(sizes: Sizes, repeat: int) -> Result:
    def run(target: GCounter, count: int) -> None:
        for _ in range(count):
            target.inc("a")

    return per_op(run, lambda _: counter("a", ["a"]), sizes.increments, repeat)


def counter_merge(replicas: int) -> Any:
    def workload(sizes: Sizes, repeat: int) -> Result:
        nodes = [f"r{i}" for i in range(replicas)]
        left, right = counter("r0", nodes), counter("r1", nodes)
        for i, node in enumerate(nodes):
            target = left if i % 2 else right
            for _ in range(i + 1):
                target.inc(node)

        def run(target: GCounter, count: int) -> None:
            for _ in range(count):
                target.merge(right)

        return per_op(run, lambda _: copy.deepcopy(left), sizes.rounds, repeat)

    return workload


def filled(count: int, tag: str = "a", prefix: str = "element") -> ORSet:
    target = ORSet(tag)
    for i, element in enumerate(elements(prefix, count)):
        target.add(element, (tag, i))
    return target


def orset_add(sizes: Sizes, repeat: int) -> Result:
    items = elements("element", sizes.elements)

    def run(target: ORSet, count: int) -> None:
        for i, element in enumerate(items[:count]):
            target.add(element, ("a", i))

    count = min(sizes.elements, CAP)
    result = per_op(run, lambda _: ORSet("a"), count, repeat, pilot=count)
    if count < sizes.elements:
        result.note = f"lower bound: {count:,} adds into an empty set (each add sorts the list)"
    return result


def orset_remove(sizes: Sizes, repeat: int) -> Result:
    """Removes half of a small set (a full-size set takes too long to build)."""
    items = elements("element", sizes.elements // 2)

    def run(target: ORSet, count: int) -> None:
        for element in items[:count]:
            target.remove(element)

    count = min(len(items), CAP // 2)
    result = per_op(run, lambda count: filled(count * 2), count, repeat, pilot=count)
    result.note = f"lower bound: half of a set of {2 * count:,} elements"
    return result


def merge_at(size: int, repeat: int) -> Result:
    base = filled(size // 4)
    a = ORSet("a")
    a.merge(copy.deepcopy(base))
    for i, element in enumerate(elements("element", size - size // 4, size // 4)):
        a.add(element, ("a", size + i))
    b = ORSet("b")
    b.merge(copy.deepcopy(base))
    for i, element in enumerate(elements("new", size // 4)):
        b.add(element, ("b", i))
    return whole(lambda target: target.merge(b), lambda: copy.deepcopy(a), repeat)


def orset_memory(sizes: Sizes, repeat: int) -> Result:
    count = min(sizes.elements, 2_000)
    items = elements("element", count)

    def build() -> ORSet:
        target = ORSet("a")
        for i, element in enumerate(items):
            target.add(element, ("a", i))
        return target

    result = memory_per_element(build, count)
    if count < sizes.elements:
        result.note = f"on {count:,} elements (adds are quadratic)"
    return result


WORKLOADS = {
    "counter.increment": counter_increment,
    "counter.merge.3": counter_merge(3),
    "counter.merge.100": counter_merge(100),
    "orset.add": orset_add,
    "orset.remove": orset_remove,
    "orset.merge": lambda sizes, repeat: merge_at(sizes.elements, repeat),
    "orset.memory": orset_memory,
}
MERGE_AT = merge_at


def correctness() -> dict[str, str]:
    out = {}
    nodes = ["r0", "r1", "r2"]
    counters = [counter(node, nodes) for node in nodes]
    for node, target in zip(nodes, counters, strict=True):
        for _ in range(5):
            target.inc(node)
    forward, backward = counter("f", nodes), counter("g", nodes)
    for target in counters:
        forward.merge(target)
    for target in reversed(counters):
        backward.merge(target)
    value = forward.query()
    out["counter"] = "ok" if value == backward.query() == 15 else f"wrong: {value} of 15"

    def members(s: ORSet) -> frozenset[str]:
        return frozenset(e for e in ("x", "y", "z") if s.query(e))

    a, b = ORSet("a"), ORSet("b")
    a.add("x", ("a", 1))
    b.merge(copy.deepcopy(a))
    a.remove("x")  # concurrent with b's re-add
    b.add("x", ("b", 1))
    a.add("y", ("a", 2))
    b.add("z", ("b", 2))
    ab, ba = copy.deepcopy(a), copy.deepcopy(b)
    ab.merge(copy.deepcopy(b))
    ba.merge(copy.deepcopy(a))
    out["orset"] = "ok" if members(ab) == members(ba) else f"wrong: {members(ab)} != {members(ba)}"
    return out


class SetReplicas(Replicas):
    def __init__(self) -> None:
        self.tags = 0

    def new(self, i: int) -> Any:
        return ORSet(f"r{i}")

    def snapshot(self, state: Any) -> Any:
        return copy.deepcopy(state)

    def merge(self, target: Any, source: Any) -> None:
        target.merge(copy.deepcopy(source))

    def value(self, state: Any) -> Any:
        return frozenset(e for e in "abcd" if state.query(e))

    def add(self, state: Any, element: str) -> None:
        self.tags += 1
        state.add(element, (state.id, self.tags))  # a unique tag, as the README asks

    def remove(self, state: Any, element: str) -> None:
        state.remove(element)


class CounterReplicas(SetReplicas):
    def new(self, i: int) -> Any:
        made = counter(f"r{i}", ["r0", "r1", "r2"])  # every node known up front
        return made

    def value(self, state: Any) -> Any:
        return state.query()

    def increment(self, state: Any) -> None:
        state.inc(state.id)


def fuzzed() -> dict[str, str]:
    return {"counter": fuzz(CounterReplicas(), "counter"), "orset": fuzz(SetReplicas(), "orset")}
