"""xotl.crdt (0.2.0) on the peer workloads, in its own environment (it pins an old
typing-extensions). State-based types with vector clocks; encoding is pickle."""

from __future__ import annotations

from typing import Any

from common import Replicas, Result, Sizes, elements, fuzz, memory_per_element, per_op, whole
from xotl.crdt.base import Process, from_state, get_state
from xotl.crdt.clocks import VClock
from xotl.crdt.counter import PNCounter
from xotl.crdt.register import LWWRegister
from xotl.crdt.sets import ORSet

NAME = "xotl.crdt"
A, B = Process("a", 1), Process("b", 2)


def counter_increment(sizes: Sizes, repeat: int) -> Result:
    def run(counter: PNCounter, count: int) -> None:
        for _ in range(count):
            counter.incr()

    return per_op(run, lambda _: PNCounter(process=A), sizes.increments, repeat)


def counter_merge(replicas: int) -> Any:
    def workload(sizes: Sizes, repeat: int) -> Result:
        left, right = PNCounter(process=Process("r0", 0)), PNCounter(process=Process("r1", 1))
        for i in range(replicas):
            node = PNCounter(process=Process(f"r{i}", i))
            for _ in range(2):
                node.incr()
            (left if i % 2 else right).merge(node)

        def setup(_: int) -> PNCounter:
            copy = PNCounter(process=Process("r0", 0))
            copy.merge(left)
            return copy

        def run(target: PNCounter, count: int) -> None:
            for _ in range(count):
                target.merge(right)

        return per_op(run, setup, sizes.rounds, repeat)

    return workload


def filled(count: int, process: Process = A, prefix: str = "element") -> ORSet:
    target = ORSet(process=process)
    for element in elements(prefix, count):
        target.add(element)
    return target


def orset_add(sizes: Sizes, repeat: int) -> Result:
    items = elements("element", sizes.elements)

    def run(target: ORSet, count: int) -> None:
        for element in items[:count]:
            target.add(element)

    return per_op(run, lambda _: ORSet(process=A), sizes.elements, repeat)


def orset_remove(sizes: Sizes, repeat: int) -> Result:
    items = elements("element", sizes.elements // 2)
    data = get_state(filled(sizes.elements))

    def run(target: ORSet, count: int) -> None:
        for element in items[:count]:
            target.remove(element)  # scans the whole set

    return per_op(run, lambda _: from_state(data), len(items), repeat, pilot=50)


def merge_at(size: int, repeat: int) -> Result:
    base = filled(size // 4)
    a = ORSet(process=A)
    a.merge(base)
    for element in elements("element", size - size // 4, size // 4):
        a.add(element)
    b = ORSet(process=B)
    b.merge(base)
    for element in elements("new", size // 4):
        b.add(element)
    data = get_state(a)
    return whole(lambda target: target.merge(b), lambda: from_state(data), repeat)


def orset_value(sizes: Sizes, repeat: int) -> Result:
    template = filled(sizes.elements)
    return whole(lambda s: s.value, lambda: template, repeat)


def lww_assign(sizes: Sizes, repeat: int) -> Result:
    def run(register: LWWRegister, count: int) -> None:
        for i in range(count):
            register.set(i)

    return per_op(run, lambda _: LWWRegister(process=A), sizes.assigns, repeat)


def lww_pingpong(sizes: Sizes, repeat: int) -> Result:
    def run(pair: tuple[LWWRegister, LWWRegister], count: int) -> None:
        a, b = pair
        for i in range(count):
            a.set(i)
            b.merge(a)
            b.set(-i)
            a.merge(b)

    def setup(_: int) -> tuple[LWWRegister, LWWRegister]:
        return LWWRegister(process=A), LWWRegister(process=B)

    return per_op(run, setup, sizes.rounds, repeat)


def vector_pair() -> tuple[VClock, VClock]:
    a, b = VClock(), VClock()
    for i in range(100):
        p = Process(f"replica-{i:03d}", i)
        for _ in range(2):
            a = a.bump(p)
            b = b.bump(p)
    a = a.bump(Process("replica-099", 99))
    b = b.bump(Process("replica-000", 0))
    return a, b


def vclock_increment(sizes: Sizes, repeat: int) -> Result:
    base = vector_pair()[0]
    p = Process("replica-050", 50)

    def run(clock: VClock, count: int) -> None:
        for _ in range(count):
            clock = clock.bump(p)

    return per_op(run, lambda _: base, sizes.clock_ops, repeat)


def vclock_merge(sizes: Sizes, repeat: int) -> Result:
    a, b = vector_pair()

    def run(_: None, count: int) -> None:
        for _ in range(count):
            a.merge(b)

    return per_op(run, lambda _: None, sizes.clock_ops // 10, repeat)


def vclock_compare(sizes: Sizes, repeat: int) -> Result:
    a, b = vector_pair()

    def run(_: None, count: int) -> None:
        for _ in range(count):
            a // b  # concurrent?

    return per_op(run, lambda _: None, sizes.clock_ops // 10, repeat)


def orset_encode(sizes: Sizes, repeat: int) -> Result:
    template = filled(sizes.elements)
    result = whole(get_state, lambda: template, repeat)
    result.note = "pickle"
    return result


def orset_decode(sizes: Sizes, repeat: int) -> Result:
    data = get_state(filled(sizes.elements))
    result = whole(from_state, lambda: data, repeat)
    result.note = "pickle, unvalidated"
    return result


def orset_bytes(sizes: Sizes, repeat: int) -> Result:
    return Result(value=len(get_state(filled(sizes.elements))), unit="B")


def orset_memory(sizes: Sizes, repeat: int) -> Result:
    items = elements("element", sizes.elements)

    def build() -> ORSet:
        target = ORSet(process=A)
        for element in items:
            target.add(element)
        return target

    return memory_per_element(build, len(items))


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
    "vclock.increment": vclock_increment,
    "vclock.merge.100": vclock_merge,
    "vclock.compare.100": vclock_compare,
    "orset.encode": orset_encode,
    "orset.decode": orset_decode,
    "orset.bytes": orset_bytes,
    "orset.memory": orset_memory,
}
MERGE_AT = merge_at


def correctness() -> dict[str, str]:
    out = {}
    counters = [PNCounter(process=Process(f"r{i}", i)) for i in range(3)]
    for counter in counters:
        for _ in range(5):
            counter.incr()
    forward, backward = PNCounter(process=Process("f", 10)), PNCounter(process=Process("g", 11))
    for counter in counters:
        forward.merge(counter)
    for counter in reversed(counters):
        backward.merge(counter)
    out["counter"] = (
        "ok"
        if forward.value == backward.value == 15
        else f"wrong: {forward.value}, {backward.value} of 15"
    )

    a, b = ORSet(process=A), ORSet(process=B)
    a.add("x")
    b.merge(a)
    a.remove("x")  # concurrent with b's re-add
    b.add("x")
    a.add("y")
    b.add("z")
    ab, ba = from_state(get_state(a)), from_state(get_state(b))
    ab.merge(b)
    ba.merge(a)
    out["orset"] = "ok" if ab.value == ba.value else f"wrong: {set(ab.value)} != {set(ba.value)}"

    r1, r2 = LWWRegister(process=A), LWWRegister(process=B)
    r1.set("one", _timestamp=1.0)
    r2.set("two", _timestamp=1.0)
    x, y = from_state(get_state(r1)), from_state(get_state(r2))
    x.merge(r2)
    y.merge(r1)
    out["lww"] = "ok" if x.value == y.value else f"wrong: {x.value} != {y.value}"
    return out


class SetReplicas(Replicas):
    kind: Any = ORSet

    def new(self, i: int) -> Any:
        return self.kind(process=Process(f"r{i}", i))

    def snapshot(self, state: Any) -> Any:
        return from_state(get_state(state))

    def merge(self, target: Any, source: Any) -> None:
        target.merge(source)

    def value(self, state: Any) -> Any:
        return state.value

    def add(self, state: Any, element: str) -> None:
        state.add(element)

    def remove(self, state: Any, element: str) -> None:
        state.remove(element)


class CounterReplicas(SetReplicas):
    kind = PNCounter

    def increment(self, state: Any) -> None:
        state.incr()


def fuzzed() -> dict[str, str]:
    return {"counter": fuzz(CounterReplicas(), "counter"), "orset": fuzz(SetReplicas(), "orset")}
