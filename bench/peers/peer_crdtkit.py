"""crdtkit on the peer workloads (run in its own environment by runner.py)."""

from __future__ import annotations

from typing import Any

from common import Replicas, Result, Sizes, elements, fuzz, memory_per_element, per_op, whole

import clocks
import crdts

NAME = "crdtkit"
HAS_BATCH = hasattr(crdts.ORSet, "update")


def counter_increment(sizes: Sizes, repeat: int) -> Result:
    def run(counter: crdts.PNCounter, count: int) -> None:
        increment = counter.increment
        for _ in range(count):
            increment()  # returns its delta

    return per_op(run, lambda _: crdts.PNCounter(replica="a"), sizes.increments, repeat)


def counter_pair(replicas: int) -> tuple[crdts.PNCounter, crdts.PNCounter]:
    left, right = crdts.PNCounter(replica="r0"), crdts.PNCounter(replica="r1")
    for i in range(replicas):
        node = crdts.PNCounter(replica=f"r{i}")
        node.increment(i + 1)
        (left if i % 2 else right).merge(node)
    return left, right


def counter_merge(replicas: int) -> Any:
    def workload(sizes: Sizes, repeat: int) -> Result:
        left, right = counter_pair(replicas)

        def run(target: crdts.PNCounter, count: int) -> None:
            for _ in range(count):
                target.merge(right)

        return per_op(run, lambda _: left.copy(), sizes.rounds, repeat)

    return workload


def orset_add(sizes: Sizes, repeat: int) -> Result:
    items = elements("element", sizes.elements)

    def run(target: crdts.ORSet, count: int) -> None:
        add = target.add
        for element in items[:count]:
            add(element)  # returns its delta

    return per_op(run, lambda _: crdts.ORSet(replica="a"), sizes.elements, repeat)


def orset_add_batch(sizes: Sizes, repeat: int) -> Result:
    items = elements("element", sizes.elements)
    if HAS_BATCH:
        result = whole(lambda s: s.update(items), lambda: crdts.ORSet(replica="a"), repeat)
    else:
        result = orset_add(sizes, repeat)
        result.note = "no ORSet.update here: per-op adds instead"
    result.ops = sizes.elements
    return result


def filled(count: int) -> crdts.ORSet:
    target = crdts.ORSet(replica="a")
    for element in elements("element", count):
        target.add(element)
    return target


def orset_remove(sizes: Sizes, repeat: int) -> Result:
    template = filled(sizes.elements)
    items = elements("element", sizes.elements // 2)

    def run(target: crdts.ORSet, count: int) -> None:
        remove = target.remove
        for element in items[:count]:
            remove(element)

    return per_op(run, lambda _: template.copy(replica="a"), len(items), repeat)


def merge_pair(size: int) -> tuple[crdts.ORSet, crdts.ORSet]:
    """A holds ``size`` elements; B holds ``size // 2``: a quarter of A's (received from A,
    the same dots) and a quarter of its own."""
    a = crdts.ORSet(replica="a")
    for element in elements("element", size):
        a.add(element)
    b = crdts.ORSet(replica="b")
    for element in elements("element", size // 4):
        b.merge(a.add(element))  # re-added: B receives A's delta, so both hold that dot
    for element in elements("new", size // 4):
        b.add(element)
    return a, b


def orset_merge_at(size: int, repeat: int) -> Result:
    a, b = merge_pair(size)
    return whole(lambda target: target.merge(b), lambda: a.copy(replica="a"), repeat)


def orset_value(sizes: Sizes, repeat: int) -> Result:
    template = filled(sizes.elements)
    # a fresh copy each run, so no cached value is read
    return whole(lambda s: s.value, lambda: template.copy(replica="a"), repeat)


def lww_assign(sizes: Sizes, repeat: int) -> Result:
    def run(register: crdts.LWWRegister, count: int) -> None:
        assign = register.assign
        for i in range(count):
            assign(i)

    return per_op(run, lambda _: crdts.LWWRegister(replica="a"), sizes.assigns, repeat)


def lww_pingpong(sizes: Sizes, repeat: int) -> Result:
    def run(pair: tuple[crdts.LWWRegister, crdts.LWWRegister], count: int) -> None:
        a, b = pair
        for i in range(count):
            b.merge(a.assign(i))
            a.merge(b.assign(-i))

    def setup(_: int) -> tuple[crdts.LWWRegister, crdts.LWWRegister]:
        return crdts.LWWRegister(replica="a"), crdts.LWWRegister(replica="b")

    return per_op(run, setup, sizes.rounds, repeat)


def vector_pair(replicas: int) -> tuple[dict[str, int], dict[str, int]]:
    a = {f"replica-{i:03d}": 1000 + i for i in range(replicas)}
    b = dict(a)
    first, last = next(iter(a)), next(reversed(a))
    b[first] += 1
    a[last] += 1
    return a, b


def vclock_increment(sizes: Sizes, repeat: int) -> Result:
    def run(clock: clocks.VectorClock, count: int) -> None:
        for _ in range(count):
            clock = clock.increment("replica-050")

    base = clocks.VectorClock(vector_pair(100)[0])
    return per_op(run, lambda _: base, sizes.clock_ops, repeat)


def vclock_binary(operation: str) -> Any:
    def workload(sizes: Sizes, repeat: int) -> Result:
        a, b = map(clocks.VectorClock, vector_pair(100))
        call = getattr(a, operation)

        def run(_: None, count: int) -> None:
            for _ in range(count):
                call(b)

        return per_op(run, lambda _: None, sizes.clock_ops // 10, repeat)

    return workload


def hlc_now(sizes: Sizes, repeat: int) -> Result:
    def run(clock: clocks.HLC, count: int) -> None:
        now = clock.now
        for _ in range(count):
            now()

    return per_op(run, lambda _: clocks.HLC("a"), sizes.clock_ops, repeat)


def hlc_update(sizes: Sizes, repeat: int) -> Result:
    remote = clocks.HLC("b").now()

    def run(clock: clocks.HLC, count: int) -> None:
        update = clock.update
        for _ in range(count):
            update(remote)

    return per_op(run, lambda _: clocks.HLC("a"), sizes.clock_ops, repeat)


def orset_encode(sizes: Sizes, repeat: int) -> Result:
    template = filled(sizes.elements)
    return whole(crdts.encode, lambda: template, repeat)


def orset_decode(sizes: Sizes, repeat: int) -> Result:
    data = crdts.encode(filled(sizes.elements))
    return whole(crdts.decode, lambda: data, repeat)


def orset_bytes(sizes: Sizes, repeat: int) -> Result:
    return Result(value=len(crdts.encode(filled(sizes.elements))), unit="B")


def orset_memory(sizes: Sizes, repeat: int) -> Result:
    items = elements("element", sizes.elements)

    def build() -> crdts.ORSet:
        target = crdts.ORSet(replica="a")
        for element in items:
            target.add(element)
        target.value  # noqa: B018  (a read builds any lazy index, as a user's would)
        return target

    return memory_per_element(build, len(items))


WORKLOADS = {
    "counter.increment": counter_increment,
    "counter.merge.3": counter_merge(3),
    "counter.merge.100": counter_merge(100),
    "orset.add": orset_add,
    "orset.add_batch": orset_add_batch,
    "orset.remove": orset_remove,
    "orset.merge": lambda sizes, repeat: orset_merge_at(sizes.elements, repeat),
    "orset.value": orset_value,
    "lww.assign": lww_assign,
    "lww.pingpong": lww_pingpong,
    "vclock.increment": vclock_increment,
    "vclock.merge.100": vclock_binary("merge"),
    "vclock.compare.100": vclock_binary("compare"),
    "hlc.now": hlc_now,
    "hlc.update": hlc_update,
    "orset.encode": orset_encode,
    "orset.decode": orset_decode,
    "orset.bytes": orset_bytes,
    "orset.memory": orset_memory,
}
MERGE_AT = orset_merge_at


def correctness() -> dict[str, str]:
    """Concurrent increments all counted; merges in any order give one value."""
    out = {}
    counters = [crdts.PNCounter(replica=f"r{i}") for i in range(3)]
    for counter in counters:
        for _ in range(5):
            counter.increment()
    forward, backward = crdts.PNCounter(), crdts.PNCounter()
    for counter in counters:
        forward.merge(counter)
    for counter in reversed(counters):
        backward.merge(counter)
    out["counter"] = (
        "ok" if forward.value == backward.value == 15 else f"wrong: {forward.value} of 15"
    )

    a, b = crdts.ORSet(replica="a"), crdts.ORSet(replica="b")
    b.merge(a.add("x"))
    a.remove("x")  # concurrent with b's re-add
    b.add("x")
    a.add("y")
    b.add("z")
    ab, ba = a.copy(), b.copy()
    ab.merge(b)
    ba.merge(a)
    out["orset"] = "ok" if ab.value == ba.value else f"wrong: {ab.value} != {ba.value}"

    r1, r2 = crdts.LWWRegister(replica="a"), crdts.LWWRegister(replica="b")
    r1.assign("one")
    r2.assign("two")
    x, y = r1.copy(), r2.copy()
    x.merge(r2)
    y.merge(r1)
    out["lww"] = "ok" if x.value == y.value else f"wrong: {x.value} != {y.value}"
    return out


class SetReplicas(Replicas):
    def new(self, i: int) -> crdts.ORSet:
        return crdts.ORSet(replica=f"r{i}")

    def snapshot(self, state: Any) -> Any:
        return state.copy()

    def merge(self, target: Any, source: Any) -> None:
        target.merge(source)

    def value(self, state: Any) -> Any:
        return state.value

    def add(self, state: Any, element: str) -> None:
        state.add(element)

    def remove(self, state: Any, element: str) -> None:
        state.remove(element)


class CounterReplicas(SetReplicas):
    def new(self, i: int) -> crdts.PNCounter:
        return crdts.PNCounter(replica=f"r{i}")

    def increment(self, state: Any) -> None:
        state.increment()


def fuzzed() -> dict[str, str]:
    return {"counter": fuzz(CounterReplicas(), "counter"), "orset": fuzz(SetReplicas(), "orset")}
