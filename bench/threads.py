"""What the per-replica lock costs on the hot paths: ``ORSet.add`` and ``GCounter.increment``.

Run: ``python bench/threads.py`` (about half a minute). Each figure is the median of 15 runs
of 100,000 calls on one thread (no contention: the price every caller pays). The variants
run interleaved, run after run, so that a machine that speeds up or slows down during the
benchmark moves them all alike. Printed:

- the shipped method (it takes the lock itself) against the same method without the lock
  (``_add`` / ``_increment``: the code path from before the lock);
- the same method wrapped by the generic ``locked`` decorator (the shape every non-hot
  method uses), and (for ORSet.add) under a ``with`` statement: the hot paths call the
  lock's ``acquire`` and ``release`` themselves because both other shapes cost more;
- each against a floor of the plain Python container operation (``set.add``, a dict
  increment);
- merging one add's delta with ``merge`` against the same join without the locks.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

# the repository root first, so that this script does not shadow the packages
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _timing import repeats, report, scaled

import crdts
from crdts._base import lock_of, locked

N = scaled(100_000, minimum=100)
REPEAT = repeats(15)
LOCK_GOAL = 1.25  # on ORSet.add the lock may cost at most a quarter of the unlocked call


def interleaved(variants: dict[str, Callable[[], Callable[[], None]]]) -> dict[str, float]:
    """Median seconds of each variant; ``variants[name]()`` sets up one run (untimed) and
    returns the timed part. The variants take turns, run after run. Timed in CPU seconds of
    this process, so that other processes busy on the machine do not count."""
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(REPEAT):
        for name, setup in variants.items():
            run = setup()
            start = time.process_time()
            run()
            samples[name].append(time.process_time() - start)
    return {name: statistics.median(times) for name, times in samples.items()}


def orset_add() -> None:
    elements = [f"element-{i}" for i in range(N)]
    decorated = locked(crdts.ORSet._add)

    def with_statement(target: crdts.ORSet, element: str) -> object:
        with lock_of(target):
            return target._add(element)

    def calling(method: Callable[[crdts.ORSet, str], object]) -> Callable[[], None]:
        target = crdts.ORSet(replica="a")

        def run() -> None:
            for element in elements:
                method(target, element)

        return run

    def floor() -> Callable[[], None]:
        target: set[str] = set()
        add = target.add

        def run() -> None:
            for element in elements:
                add(element)

        return run

    times = interleaved(
        {
            "set.add": floor,
            "unlocked": lambda: calling(crdts.ORSet._add),
            "locked": lambda: calling(crdts.ORSet.add),
            "decorated": lambda: calling(decorated),
            "with": lambda: calling(with_statement),
        }
    )
    floor_time = times["set.add"]
    report(f"ORSet.add x{N} (locked) vs set.add", times["locked"], floor_time, goal=30)
    report(
        f"ORSet._add x{N} (no lock, the pre-lock path) vs set.add", times["unlocked"], floor_time
    )
    report(
        "ORSet.add: lock taken inline vs no lock",
        times["locked"],
        times["unlocked"],
        goal=LOCK_GOAL,
    )
    report(
        "ORSet.add: lock by the locked decorator vs no lock", times["decorated"], times["unlocked"]
    )
    report("ORSet.add: lock by a with statement vs no lock", times["with"], times["unlocked"])


def gcounter_increment() -> None:
    decorated = locked(crdts.GCounter._increment)

    def calling(method: Callable[[crdts.GCounter, int], object]) -> Callable[[], None]:
        target = crdts.GCounter(replica="a")

        def run() -> None:
            for _ in range(N):
                method(target, 1)

        return run

    def floor() -> Callable[[], None]:
        totals: dict[str, int] = {}

        def run() -> None:
            for _ in range(N):
                totals["a"] = totals.get("a", 0) + 1

        return run

    times = interleaved(
        {
            "dict": floor,
            "unlocked": lambda: calling(crdts.GCounter._increment),
            "locked": lambda: calling(crdts.GCounter.increment),
            "decorated": lambda: calling(decorated),
        }
    )
    floor_time = times["dict"]
    report(f"GCounter.increment x{N} (locked) vs dict increment", times["locked"], floor_time)
    report(f"GCounter._increment x{N} (no lock) vs dict increment", times["unlocked"], floor_time)
    report("GCounter.increment: lock taken inline vs no lock", times["locked"], times["unlocked"])
    report(
        "GCounter.increment: lock by the locked decorator vs no lock",
        times["decorated"],
        times["unlocked"],
    )


def merge_delta() -> None:
    """Merging one add's delta: ``merge`` (both locks; the delta's made on first use) against
    the join it runs, unlocked (``_merge_locked.__wrapped__``)."""
    source = crdts.ORSet(replica="b")
    deltas = [source.add(f"element-{i}") for i in range(N // 10)]
    unlocked = crdts.ORSet._merge_locked.__wrapped__  # type: ignore[attr-defined]

    def merging(method: Callable[[crdts.ORSet, crdts.ORSet], object]) -> Callable[[], None]:
        target = crdts.ORSet(replica="a")
        fresh = [delta.copy(replica=None) for delta in deltas]  # no lock made yet

        def run() -> None:
            for delta in fresh:
                method(target, delta)

        return run

    times = interleaved(
        {"unlocked": lambda: merging(unlocked), "locked": lambda: merging(crdts.ORSet.merge)}
    )
    report(
        f"ORSet.merge of {N // 10} one-add deltas: locked vs no lock",
        times["locked"],
        times["unlocked"],
    )


if __name__ == "__main__":
    print(f"Python {sys.version.split()[0]}; medians of {REPEAT} runs; ratio = measured / floor")
    orset_add()
    gcounter_increment()
    merge_delta()
