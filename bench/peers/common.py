"""What every peer adapter shares: the workload sizes, timing with medians, a time budget.

This module is imported inside each peer's own virtual environment, so it uses the standard
library only (no crdtkit, no msgpack).

A workload function returns a ``Result``: the median seconds of ``repeat`` runs of ``ops``
operations (``ops=1`` for a whole merge, read or encode). Per-operation workloads whose cost
would pass the budget are run on fewer operations first, and the result says so: such a figure
is a lower bound when the cost per operation grows with the size, as in a list-based set.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

# seconds one timed run may take before a workload is cut down (per-op) or stopped (sizes)
BUDGET = 4.0


@dataclass
class Sizes:
    """The workload sizes for a run, from ``--scale`` (1 = the sizes in the issue)."""

    scale: float = 1.0
    elements: int = 100_000  # OR-set A; B holds half as many, half of them A's
    increments: int = 100_000
    assigns: int = 100_000
    rounds: int = 10_000  # LWW ping-pong rounds, counter/vector-clock merge rounds
    clock_ops: int = 100_000
    merge_sizes: tuple[int, ...] = (1_000, 3_000, 10_000, 30_000, 100_000)

    @classmethod
    def at(cls, scale: float) -> Sizes:
        def s(n: int) -> int:
            return max(10, round(n * scale))

        base = cls()
        return cls(
            scale=scale,
            elements=s(base.elements),
            increments=s(base.increments),
            assigns=s(base.assigns),
            rounds=s(base.rounds),
            clock_ops=s(base.clock_ops),
            merge_sizes=tuple(sorted({s(n) for n in base.merge_sizes})),
        )


@dataclass
class Result:
    """One measurement: median seconds for ``ops`` operations, or a value (bytes, ok)."""

    seconds: float | None = None
    ops: int = 1
    value: float | None = None
    unit: str = ""
    note: str = ""
    samples: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def median_seconds(
    run: Callable[[Any], object], setup: Callable[[], Any], repeat: int
) -> tuple[float, list[float]]:
    """Median wall time of ``run(setup())`` over ``repeat`` runs; setup is not timed, and
    the garbage collector is paused during each timed run (and collected between runs)."""
    samples = []
    for _ in range(repeat):
        arg = setup()
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            run(arg)
            samples.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return statistics.median(samples), samples


def per_op(
    run: Callable[[Any, int], object],
    setup: Callable[[int], Any],
    ops: int,
    repeat: int,
    *,
    pilot: int = 1_000,
) -> Result:
    """Time ``run(state, count)`` doing ``count`` operations on ``setup(count)``.

    A pilot run on ``pilot`` operations estimates the full cost; if it would pass the budget,
    the measured count is cut to fit and the note says so.
    """
    count = ops
    note = ""
    if ops > 2 * pilot:
        # two pilots, of p and 2p operations, tell how the cost grows (linear, quadratic, ...)
        first, second = (_pilot(run, setup, n) for n in (pilot, 2 * pilot))
        exponent = min(2.5, max(1.0, math.log2(max(second, 1e-9) / max(first, 1e-9))))
        estimate = second * (ops / (2 * pilot)) ** exponent
        if estimate > BUDGET:
            count = max(pilot, int(2 * pilot * (BUDGET / max(second, 1e-9)) ** (1 / exponent)))
            count = min(count, ops)
            note = f"measured on {count:,} of {ops:,} ops (over the time budget)"
    seconds, samples = median_seconds(lambda s: run(s, count), lambda: setup(count), repeat)
    return Result(seconds=seconds, ops=count, note=note, samples=samples)


def _pilot(run: Callable[[Any, int], object], setup: Callable[[int], Any], count: int) -> float:
    state = setup(count)
    start = time.perf_counter()
    run(state, count)
    return time.perf_counter() - start


def whole(run: Callable[[Any], object], setup: Callable[[], Any], repeat: int) -> Result:
    """Time one whole operation (a merge, a read, an encode)."""
    seconds, samples = median_seconds(run, setup, repeat)
    return Result(seconds=seconds, ops=1, samples=samples)


def memory_per_element(build: Callable[[], object], count: int) -> Result:
    """Bytes allocated (tracemalloc) while ``build()`` makes a container of ``count``
    pre-made elements, per element: the container's cost, not the elements'."""
    gc.collect()
    tracemalloc.start()
    try:
        kept = build()
        size = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    del kept
    return Result(value=size / count, unit="B/element")


def elements(prefix: str, count: int, start: int = 0) -> list[str]:
    return [f"{prefix}-{i}" for i in range(start, start + count)]


class Replicas:
    """What the fuzzed correctness checks need from a peer's set or counter type.

    ``new(i)`` makes replica ``i``; ``snapshot(state)`` is an independent copy (a message);
    ``merge(target, source)`` joins ``source`` into ``target`` in place; ``value(state)``
    reads it. Sets also have ``add(state, element)`` and ``remove(state, element)``
    (called only for an element the replica sees); counters have ``increment(state)``.
    """

    def new(self, i: int) -> Any: ...
    def snapshot(self, state: Any) -> Any: ...
    def merge(self, target: Any, source: Any) -> None: ...
    def value(self, state: Any) -> Any: ...
    def add(self, state: Any, element: str) -> None: ...
    def remove(self, state: Any, element: str) -> None: ...
    def increment(self, state: Any) -> None: ...


def _folds(api: Replicas, finals: list[Any]) -> list[Any]:
    """The value of merging the final states in every order."""
    import itertools

    values = []
    for order in itertools.permutations(range(len(finals))):
        target = api.snapshot(finals[order[0]])
        for index in order[1:]:
            api.merge(target, api.snapshot(finals[index]))
        values.append(api.value(target))
    return values


def fuzz(api: Replicas, kind: str, *, seeds: int = 40, steps: int = 30, replicas: int = 3) -> str:
    """Random schedules of local operations and one-way merges between ``replicas``; then the
    final states merged in every order must agree, and a counter must count every increment.
    Returns ``"ok"`` or ``"wrong: ..."`` with the seed that shows it."""
    import random

    for seed in range(seeds):
        rng = random.Random(seed)
        states = [api.new(i) for i in range(replicas)]
        increments = 0
        try:
            for _ in range(steps):
                i = rng.randrange(replicas)
                roll = rng.random()
                if roll < 0.3:
                    j = rng.randrange(replicas)
                    if j != i:
                        api.merge(states[i], api.snapshot(states[j]))
                elif kind == "counter":
                    api.increment(states[i])
                    increments += 1
                else:
                    element = rng.choice("abcd")
                    if roll < 0.7 or element not in api.value(states[i]):
                        api.add(states[i], element)
                    else:
                        api.remove(states[i], element)
            values = _folds(api, states)
        except Exception as error:  # a crash in a merge is a wrong answer too
            return f"wrong: {type(error).__name__} in seed {seed}"
        if any(value != values[0] for value in values):
            shown = sorted({repr(v) for v in values})[:2]
            return f"wrong: merge order changes the value (seed {seed}: {', '.join(shown)})"
        if kind == "counter" and values[0] != increments:
            return f"wrong: lost increments (seed {seed}: {values[0]} of {increments})"
    return "ok"
