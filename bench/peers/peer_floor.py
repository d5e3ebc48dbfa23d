"""The floors: plain set, dict, tuple, msgpack and time.time_ns doing the same data movement.

Run by runner.py in crdtkit's environment (which has msgpack), in the same run as the peers.
"""

from __future__ import annotations

import time
from typing import Any

import msgpack
from common import Result, Sizes, elements, memory_per_element, per_op, whole

NAME = "floor"


def counter_increment(sizes: Sizes, repeat: int) -> Result:
    def run(counts: dict[str, int], count: int) -> None:
        for _ in range(count):
            counts["a"] = counts.get("a", 0) + 1

    return per_op(run, lambda _: {}, sizes.increments, repeat)


def counter_merge(replicas: int) -> Any:
    def workload(sizes: Sizes, repeat: int) -> Result:
        left = {f"r{i}": i + 1 for i in range(replicas) if i % 2}
        right = {f"r{i}": i + 1 for i in range(replicas) if not i % 2}

        def run(target: dict[str, int], count: int) -> None:
            for _ in range(count):
                for key, value in right.items():
                    if value > target.get(key, 0):
                        target[key] = value

        return per_op(run, lambda _: dict(left), sizes.rounds, repeat)

    return workload


def set_add(sizes: Sizes, repeat: int) -> Result:
    items = elements("element", sizes.elements)

    def run(target: set[str], count: int) -> None:
        add = target.add
        for element in items[:count]:
            add(element)

    return per_op(run, lambda _: set(), sizes.elements, repeat)


def set_update(sizes: Sizes, repeat: int) -> Result:
    items = elements("element", sizes.elements)
    result = whole(lambda target: target.update(items), set, repeat)
    result.ops = sizes.elements
    return result


def set_remove(sizes: Sizes, repeat: int) -> Result:
    template = set(elements("element", sizes.elements))
    items = elements("element", sizes.elements // 2)

    def run(target: set[str], count: int) -> None:
        remove = target.remove
        for element in items[:count]:
            remove(element)

    return per_op(run, lambda _: set(template), len(items), repeat)


def merge_at(size: int, repeat: int) -> Result:
    a = set(elements("element", size))
    b = set(elements("element", size // 4)) | set(elements("new", size // 4))
    return whole(lambda target: target.update(b), lambda: set(a), repeat)


def set_value(sizes: Sizes, repeat: int) -> Result:
    template = set(elements("element", sizes.elements))
    return whole(frozenset, lambda: template, repeat)


def dict_assign(sizes: Sizes, repeat: int) -> Result:
    def run(register: dict[str, Any], count: int) -> None:
        for i in range(count):
            register["value"] = (time.time_ns(), "a", i)

    return per_op(run, lambda _: {}, sizes.assigns, repeat)


def dict_pingpong(sizes: Sizes, repeat: int) -> Result:
    """Two registers of (time, writer, value): assign, ship, keep the larger, both ways."""

    def run(pair: list[tuple[int, str, int]], count: int) -> None:
        for i in range(count):
            pair[0] = (time.time_ns(), "a", i)
            pair[1] = max(pair[1], pair[0])
            pair[1] = (time.time_ns(), "b", -i)
            pair[0] = max(pair[0], pair[1])

    return per_op(run, lambda _: [(0, "", 0), (0, "", 0)], sizes.rounds, repeat)


def vector(replicas: int) -> tuple[dict[str, int], dict[str, int]]:
    a = {f"replica-{i:03d}": 1000 + i for i in range(replicas)}
    b = dict(a)
    b[next(iter(a))] += 1
    a[next(reversed(a))] += 1
    return a, b


def dict_increment(sizes: Sizes, repeat: int) -> Result:
    base = vector(100)[0]

    def run(clock: dict[str, int], count: int) -> None:
        for _ in range(count):
            clock = dict(clock)
            clock["replica-050"] += 1

    return per_op(run, lambda _: base, sizes.clock_ops, repeat)


def dict_max(sizes: Sizes, repeat: int) -> Result:
    a, b = vector(100)

    def run(_: None, count: int) -> None:
        for _ in range(count):
            {k: max(a.get(k, 0), b.get(k, 0)) for k in a.keys() | b.keys()}

    return per_op(run, lambda _: None, sizes.clock_ops // 10, repeat)


def dict_compare(sizes: Sizes, repeat: int) -> Result:
    a, b = vector(100)

    def run(_: None, count: int) -> None:
        for _ in range(count):
            below = above = False
            for k in a.keys() | b.keys():
                x, y = a.get(k, 0), b.get(k, 0)
                below |= x < y
                above |= x > y

    return per_op(run, lambda _: None, sizes.clock_ops // 10, repeat)


def time_ns(sizes: Sizes, repeat: int) -> Result:
    def run(_: None, count: int) -> None:
        now = time.time_ns
        for _ in range(count):
            now()

    return per_op(run, lambda _: None, sizes.clock_ops, repeat)


def packb(sizes: Sizes, repeat: int) -> Result:
    plain = elements("element", sizes.elements)
    return whole(msgpack.packb, lambda: plain, repeat)


def unpackb(sizes: Sizes, repeat: int) -> Result:
    data = msgpack.packb(elements("element", sizes.elements))
    return whole(msgpack.unpackb, lambda: data, repeat)


def packed_bytes(sizes: Sizes, repeat: int) -> Result:
    return Result(value=len(msgpack.packb(elements("element", sizes.elements))), unit="B")


def set_memory(sizes: Sizes, repeat: int) -> Result:
    items = elements("element", sizes.elements)
    return memory_per_element(lambda: set(items), len(items))


# the same names as the peers' workloads: each is the floor of the workload it names
WORKLOADS = {
    "counter.increment": counter_increment,
    "counter.merge.3": counter_merge(3),
    "counter.merge.100": counter_merge(100),
    "orset.add": set_add,
    "orset.add_batch": set_update,
    "orset.remove": set_remove,
    "orset.merge": lambda sizes, repeat: merge_at(sizes.elements, repeat),
    "orset.value": set_value,
    "lww.assign": dict_assign,
    "lww.pingpong": dict_pingpong,
    "vclock.increment": dict_increment,
    "vclock.merge.100": dict_max,
    "vclock.compare.100": dict_compare,
    "hlc.now": time_ns,
    "hlc.update": time_ns,
    "orset.encode": packb,
    "orset.decode": unpackb,
    "orset.bytes": packed_bytes,
    "orset.memory": set_memory,
}
MERGE_AT = merge_at
