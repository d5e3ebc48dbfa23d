"""Cost of the clocks' hot paths, as ratios to a floor measured in the same run.

Run from the repository root with ``python bench/clocks.py`` (or ``python -m bench.clocks``).
Every figure is the median of ``--repeat`` timings of ``--number`` calls; the ``timeit`` loop
overhead, measured on an empty statement, is subtracted from each figure before dividing.

- ``HLC.now()`` and ``HLC.update()`` against a bare ``time.time_ns()`` call; ``now()`` uses
  the default physical clock (the real wall clock) and has a goal of at most 10x.
- ``VectorClock`` merge and compare for 3 and 100 replicas against the obvious dict-based
  pointwise max on the same data.
"""

import argparse
import random
import statistics
import sys
import time
import timeit
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its own name, ``clocks``,
# would shadow the package: look in the repository root instead.
_HERE = Path(__file__).resolve().parent
if sys.path and Path(sys.path[0] or ".").resolve() == _HERE:
    sys.path[0] = str(_HERE.parent)

from bench._timing import repeats, scaled  # noqa: E402
from clocks import HLC, Timestamp, VectorClock  # noqa: E402

HLC_NOW_GOAL = 10.0


def median_ns(statement: str, namespace: dict[str, object], number: int, repeat: int) -> float:
    """Median nanoseconds per execution of ``statement``, loop overhead not subtracted."""
    timer = timeit.Timer(statement, globals=namespace)
    return statistics.median(timer.repeat(repeat=repeat, number=number)) / number * 1e9


def dict_pointwise_max(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    """The floor for merge: what one would write with plain dicts."""
    return {k: max(a.get(k, 0), b.get(k, 0)) for k in a.keys() | b.keys()}


def vector_pair(replicas: int, seed: int) -> tuple[dict[str, int], dict[str, int]]:
    """Two concurrent histories over the same replicas that differ only at both ends.

    That is the steady state of a gossiping cluster, and the slow case for compare: ``a`` is
    below ``b`` at the first replica and above it only at the last, so deciding takes a full
    scan.
    """
    rng = random.Random(seed)
    a = {f"replica-{i:03d}": rng.randint(1, 10_000) for i in range(replicas)}
    b = dict(a)
    first, last = next(iter(a)), next(reversed(a))
    b[first] += 1
    a[last] += 1
    return a, b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeat", type=int, default=repeats(7), help="timings per figure (median)"
    )
    parser.add_argument("--number", type=int, default=scaled(200_000), help="calls per timing")
    args = parser.parse_args()
    number, repeat = args.number, args.repeat

    clock = HLC("bench")
    receiver = HLC("bench")
    namespace: dict[str, object] = {
        "time": time,
        "clock": clock,
        "receiver": receiver,
        # A peer's recent stamp: the drift check runs and passes, as it would in service.
        "remote": Timestamp(time.time_ns() // 1_000_000, 0, "peer"),
    }
    overhead = median_ns("pass", namespace, number, repeat)

    def net(statement: str, runs: int = number) -> float:
        return median_ns(statement, namespace, runs, repeat) - overhead

    print(f"python {sys.version.split()[0]}; median of {repeat} runs; loop overhead")
    print(f"{overhead:.1f} ns per call subtracted from every figure\n")

    floor = net("time.time_ns()")
    now = net("clock.now()")
    update = net("receiver.update(remote)")
    verdict = "PASS" if now / floor <= HLC_NOW_GOAL else "MISS"
    print(f"{'operation':<34}{'ns/call':>10}{'floor ns':>10}{'ratio':>8}")
    print(f"{'time.time_ns() (floor)':<34}{floor:>10.1f}{floor:>10.1f}{1:>8.2f}")
    print(
        f"{'HLC.now()':<34}{now:>10.1f}{floor:>10.1f}{now / floor:>8.2f}"
        f"  goal <= {HLC_NOW_GOAL:g}x: {verdict}"
    )
    print(f"{'HLC.update()':<34}{update:>10.1f}{floor:>10.1f}{update / floor:>8.2f}")

    for replicas in (3, 100):
        a, b = vector_pair(replicas, seed=replicas)
        runs = max(scaled(1_000), number // replicas)
        namespace.update(
            a=a,
            b=b,
            va=VectorClock(a),
            vb=VectorClock(b),
            dict_pointwise_max=dict_pointwise_max,
        )
        assert VectorClock(dict_pointwise_max(a, b)) == VectorClock(a) | VectorClock(b)
        dict_floor = net("dict_pointwise_max(a, b)", runs)
        for label, statement in (("merge", "va.merge(vb)"), ("compare", "va.compare(vb)")):
            cost = net(statement, runs)
            name = f"VectorClock.{label}, {replicas} replicas"
            print(f"{name:<34}{cost:>10.1f}{dict_floor:>10.1f}{cost / dict_floor:>8.2f}")
    print("\nfloor for VectorClock rows: dict pointwise max over a.keys() | b.keys()")


if __name__ == "__main__":
    main()
