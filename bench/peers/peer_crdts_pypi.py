"""The PyPI ``crdts`` package (0.0.4) on the peer workloads, in its own environment.

Its types are driven by state updates stamped with one shared scalar (Lamport) clock; two
replicas of one object share the clock's uuid. A merge replays the other's ``history()``.
Its PNCounter keeps one (positive, negative) pair, not one per replica: see the correctness
column.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from common import Replicas, Result, Sizes, elements, fuzz, memory_per_element, per_op, whole

from crdts import LWWRegister, ORSet, PNCounter, ScalarClock

NAME = "crdts-pypi"


def replica_of(cls: Any, original: Any, **kwargs: Any) -> Any:
    return cls(clock=ScalarClock(uuid=original.clock.uuid), **kwargs)


def merge(target: Any, source: Any) -> None:
    for update in source.history():
        target.update(update)


def counter_increment(sizes: Sizes, repeat: int) -> Result:
    def run(counter: PNCounter, count: int) -> None:
        for _ in range(count):
            counter.increase()  # returns its state update

    return per_op(run, lambda _: PNCounter(), sizes.increments, repeat)


def counter_merge(replicas: int) -> Any:
    def workload(sizes: Sizes, repeat: int) -> Result:
        left = PNCounter()
        right = replica_of(PNCounter, left)
        for i in range(replicas):
            (left if i % 2 else right).increase(i + 1)

        def run(target: PNCounter, count: int) -> None:
            for _ in range(count):
                merge(target, right)

        def setup(_: int) -> PNCounter:
            copy = replica_of(PNCounter, left)
            merge(copy, left)
            return copy

        result = per_op(run, setup, sizes.rounds, repeat)
        result.note = "one (positive, negative) pair whatever the replicas"
        return result

    return workload


def filled(count: int, prefix: str = "element") -> ORSet:
    target = ORSet()
    for element in elements(prefix, count):
        target.observe(element)
    return target


def orset_add(sizes: Sizes, repeat: int) -> Result:
    items = elements("element", sizes.elements)

    def run(target: ORSet, count: int) -> None:
        for element in items[:count]:
            target.observe(element)

    return per_op(run, lambda _: ORSet(), sizes.elements, repeat)


def orset_remove(sizes: Sizes, repeat: int) -> Result:
    """Removes half of a set of twice the removed count: building the full-size set takes
    half a minute, and a remove here costs the same whatever the set's size."""
    items = elements("element", sizes.elements // 2)

    def run(target: ORSet, count: int) -> None:
        for element in items[:count]:
            target.remove(element)

    result = per_op(run, lambda count: filled(2 * count), len(items), repeat, pilot=200)
    result.note = "; ".join(filter(None, [f"on a set of {2 * result.ops:,}", result.note]))
    return result


@lru_cache(maxsize=1)
def built(count: int) -> ORSet:
    """One full-size set, built once, for the workloads that only read it."""
    return filled(count)


def merge_at(size: int, repeat: int) -> Result:
    a = filled(size - size // 4, prefix="element")
    b = replica_of(ORSet, a)
    for element in elements("element", size // 4, size - size // 4):
        b.update(a.observe(element))  # shared: B receives A's update
    for element in elements("new", size // 4):
        b.observe(element)

    def setup() -> ORSet:
        copy = replica_of(ORSet, a)
        merge(copy, a)
        return copy

    return whole(lambda target: merge(target, b), setup, repeat)


def orset_value(sizes: Sizes, repeat: int) -> Result:
    template = built(sizes.elements)

    def setup() -> ORSet:
        template.cache = None  # read afresh each time
        return template

    return whole(lambda s: s.read(), setup, repeat)


def lww_assign(sizes: Sizes, repeat: int) -> Result:
    def run(register: LWWRegister, count: int) -> None:
        for i in range(count):
            register.write(i, 1)

    return per_op(run, lambda _: LWWRegister("r"), sizes.assigns, repeat)


def lww_pingpong(sizes: Sizes, repeat: int) -> Result:
    def setup(_: int) -> tuple[LWWRegister, LWWRegister]:
        a = LWWRegister("r")
        return a, LWWRegister("r", clock=ScalarClock(uuid=a.clock.uuid))

    def run(pair: tuple[LWWRegister, LWWRegister], count: int) -> None:
        a, b = pair
        for i in range(count):
            b.update(a.write(i, 1))
            a.update(b.write(-i, 2))

    return per_op(run, setup, sizes.rounds, repeat)


def orset_encode(sizes: Sizes, repeat: int) -> Result:
    template = built(sizes.elements)
    return whole(lambda s: s.pack(), lambda: template, repeat)


def orset_decode(sizes: Sizes, repeat: int) -> Result:
    data = built(sizes.elements).pack()
    return whole(ORSet.unpack, lambda: data, repeat)


def orset_bytes(sizes: Sizes, repeat: int) -> Result:
    return Result(value=len(built(sizes.elements).pack()), unit="B")


def orset_memory(sizes: Sizes, repeat: int) -> Result:
    items = elements("element", min(sizes.elements, 20_000))

    def build() -> ORSet:
        target = ORSet()
        for element in items:
            target.observe(element)
        target.read()
        return target

    result = memory_per_element(build, len(items))
    if len(items) < sizes.elements:
        result.note = f"on {len(items):,} elements (adds are slow)"
    return result


WORKLOADS = {
    "counter.increment": counter_increment,
    "counter.merge.3": counter_merge(3),
    "counter.merge.100": counter_merge(100),
    "orset.add": orset_add,
    "orset.remove": orset_remove,
    "orset.merge": lambda sizes, repeat: merge_at(sizes.elements, repeat),
    "orset.value": orset_value,
    "lww.assign": lww_assign,
    "lww.pingpong": lww_pingpong,
    "orset.encode": orset_encode,
    "orset.decode": orset_decode,
    "orset.bytes": orset_bytes,
    "orset.memory": orset_memory,
}
MERGE_AT = merge_at


def correctness() -> dict[str, str]:
    out = {}
    origin = PNCounter()
    counters = [origin] + [replica_of(PNCounter, origin) for _ in range(2)]
    for counter in counters:
        for _ in range(5):
            counter.increase()
    forward, backward = replica_of(PNCounter, origin), replica_of(PNCounter, origin)
    for counter in counters:
        merge(forward, counter)
    for counter in reversed(counters):
        merge(backward, counter)
    value = forward.read()
    out["counter"] = (
        "ok" if value == backward.read() == 15 else f"wrong: lost increments ({value} of 15)"
    )

    a = ORSet()
    b = replica_of(ORSet, a)
    b.update(a.observe("x"))
    a.remove("x")  # concurrent with b's re-add
    b.observe("x")
    a.observe("y")
    b.observe("z")
    ha, hb = a.history(), b.history()
    for update in hb:
        a.update(update)
    for update in ha:
        b.update(update)
    out["orset"] = "ok" if a.read() == b.read() else f"wrong: {a.read()} != {b.read()}"

    r1 = LWWRegister("r")
    r2 = LWWRegister("r", clock=ScalarClock(uuid=r1.clock.uuid))
    u1, u2 = r1.write("one", 1), r2.write("two", 2)
    r1.update(u2)
    r2.update(u1)
    out["lww"] = "ok" if r1.read() == r2.read() else f"wrong: {r1.read()} != {r2.read()}"
    return out


class SetReplicas(Replicas):
    kind: Any = ORSet

    def __init__(self) -> None:
        self.origin = self.kind()

    def new(self, i: int) -> Any:
        return replica_of(self.kind, self.origin)

    def snapshot(self, state: Any) -> Any:
        copy = self.new(0)
        merge(copy, state)
        return copy

    def merge(self, target: Any, source: Any) -> None:
        merge(target, source)

    def value(self, state: Any) -> Any:
        return frozenset(state.read())

    def add(self, state: Any, element: str) -> None:
        state.observe(element)

    def remove(self, state: Any, element: str) -> None:
        state.remove(element)


class CounterReplicas(SetReplicas):
    kind = PNCounter

    def value(self, state: Any) -> Any:
        return state.read()

    def increment(self, state: Any) -> None:
        state.increase()


def fuzzed() -> dict[str, str]:
    return {"counter": fuzz(CounterReplicas(), "counter"), "orset": fuzz(SetReplicas(), "orset")}
