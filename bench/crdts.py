"""Benchmarks of the crdts types, each printed as a ratio to a floor measured in this run.

Run: ``python bench/crdts.py`` (takes about a minute). Figures are medians of 7 runs.
"""

from __future__ import annotations

import gc
import sys
import tracemalloc
from pathlib import Path

# the repository root first, so that this script (bench/crdts.py) does not shadow the package
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _timing import median_seconds, report, report_size, scaled

import crdts

N = scaled(100_000, minimum=100)


def orset_add() -> None:
    elements = [f"element-{i}" for i in range(N)]

    def with_set(target: set[str]) -> None:
        add = target.add
        for element in elements:
            add(element)

    def with_orset(target: crdts.ORSet) -> None:
        add = target.add
        for element in elements:
            add(element)

    floor = median_seconds(with_set, setup=set)
    measured = median_seconds(with_orset, setup=lambda: crdts.ORSet(replica="a"))
    report(f"ORSet.add x{N} (each returns its delta) vs set.add", measured, floor, goal=20)

    def with_set_update(target: set[str]) -> None:
        target.update(elements)

    def with_orset_update(target: crdts.ORSet) -> None:
        target.update(elements)

    report(
        f"ORSet.update of {N} (one delta) vs set.update",
        median_seconds(with_orset_update, setup=lambda: crdts.ORSet(replica="a")),
        median_seconds(with_set_update, setup=set),
    )


def orset_merge() -> None:
    """A holds 100k elements; B holds 50k, half of them A's (received from A, same dots)
    and half its own new ones. Merge B into a copy of A."""
    a = crdts.ORSet(replica="a")
    for i in range(N):
        a.add(f"element-{i}")
    b = crdts.ORSet(replica="b")
    for i in range(N // 4):
        b.merge(a.add(f"element-{i}"))  # re-add: fresh dots that b receives
    for i in range(N // 4):
        b.add(f"new-{i}")
    plain_a, plain_b = set(a), set(b)
    assert len(plain_b) == N // 2 and len(plain_a & plain_b) == N // 4

    floor = median_seconds(lambda: plain_a | plain_b)
    measured = median_seconds(lambda target: target.merge(b), setup=a.copy)
    report("ORSet merge A(100k) <- B(50k, half shared) vs set union", measured, floor, goal=4)

    def one_delta(base: crdts.ORSet, delta: crdts.ORSet, rounds: int = 2000) -> float:
        def run() -> None:
            merge = base.merge
            for _ in range(rounds):
                merge(delta)

        return median_seconds(run) / rounds

    small = crdts.ORSet(replica="a")
    for i in range(10):
        small.add(f"element-{i}")
    big = a.copy()
    delta = crdts.ORSet(replica="c").add("one more")
    cost_small, cost_big = one_delta(small, delta), one_delta(big, delta)
    remove_delta = big.copy().remove("element-5")
    cost_remove = one_delta(big.copy(), remove_delta)
    report(
        "one-element add delta into a 100k set vs into a 10-element set",
        cost_big,
        cost_small,
        goal=2,
    )
    report(
        "one-element remove delta into a 100k set vs add delta into 10",
        cost_remove,
        cost_small,
        goal=2,
    )


def orset_memory() -> None:
    elements = [f"element-{i}" for i in range(N)]

    def allocated(build: object) -> int:
        gc.collect()
        tracemalloc.start()
        result = build()  # type: ignore[operator]
        size = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        del result
        return size

    def build_orset() -> crdts.ORSet:
        s = crdts.ORSet(replica="a")
        for element in elements:
            s.add(element)
        return s

    plain = allocated(lambda: set(elements))
    ours = allocated(build_orset)
    with_elements_plain = allocated(lambda: {f"element-{i}" for i in range(N)})

    def build_orset_fresh() -> crdts.ORSet:
        s = crdts.ORSet(replica="a")
        for i in range(N):
            s.add(f"element-{i}")
        return s

    with_elements_ours = allocated(build_orset_fresh)
    report_size(
        "ORSet memory, 100k elements (containers only)", ours / 1e6, plain / 1e6, "MB", goal=3
    )
    report_size(
        "ORSet memory, 100k elements (elements included)",
        with_elements_ours / 1e6,
        with_elements_plain / 1e6,
        "MB",
        goal=3,
    )


def counters() -> None:
    if not hasattr(crdts, "GCounter"):
        print("counters: GCounter/PNCounter not available")
        return
    steps = scaled(100_000)

    def with_dict() -> None:
        counts: dict[str, int] = {}
        for _ in range(steps):
            counts["a"] = counts.get("a", 0) + 1

    def with_type(cls: type) -> None:
        counter = cls(replica="a")
        increment = counter.increment
        for _ in range(steps):
            increment()

    floor = median_seconds(with_dict)
    report(
        f"GCounter.increment x{steps} (with delta) vs dict increment",
        median_seconds(lambda: with_type(crdts.GCounter)),
        floor,
        goal=10,
    )
    report(
        f"PNCounter.increment x{steps} (with delta) vs dict increment",
        median_seconds(lambda: with_type(crdts.PNCounter)),
        floor,
        goal=10,
    )
    for replicas in (3, 100):
        counter_merge(replicas)


def counter_merge(replicas: int, rounds: int = 1000) -> None:
    """Merge two PNCounters that each hold half of ``replicas`` replicas' entries."""
    left, right = crdts.PNCounter(replica="r0"), crdts.PNCounter(replica="r1")
    plain_left: dict[str, int] = {}
    plain_right: dict[str, int] = {}
    for i in range(replicas):
        node = crdts.PNCounter(replica=f"r{i}")
        node.increment(i + 1)
        node.decrement(i)
        (left if i % 2 else right).merge(node)
        (plain_left if i % 2 else plain_right)[f"r{i}"] = i + 1

    def plain_merge() -> None:
        for _ in range(rounds):
            keys = plain_left.keys() | plain_right.keys()
            {k: max(plain_left.get(k, 0), plain_right.get(k, 0)) for k in keys}

    def typed_merge() -> None:
        target = left.copy()
        for _ in range(rounds):
            target.merge(right)

    report(
        f"PNCounter merge, {replicas} replicas, vs dict pointwise max",
        median_seconds(typed_merge),
        median_seconds(plain_merge),
    )


if __name__ == "__main__":
    print(f"Python {sys.version.split()[0]}; medians of 7 runs; ratio = measured / floor")
    orset_add()
    orset_merge()
    orset_memory()
    counters()
