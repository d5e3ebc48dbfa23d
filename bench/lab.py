"""Performance of the replication lab: PBS trials per second, event simulations' messages per
second, each as a ratio to a plain numpy or heapq floor measured in the same run.

Run: ``python bench/lab.py`` (about a minute). ``bench/pbs.py`` stays separate: it prints
the PBS reproduction table (and its own throughput lines); this script is the issue's
Performance section.

1. ``pbs``: a 200,000-trial curve at N=3 (the issue asks for about a second), in trials per
   second, against numpy drawing the same 4 * N * trials exponential delays.
2. ``simulate_quorum``: the WARS protocol event by event. Its messages are the protocol's
   4 * N per trial (write, ack, read request, reply per replica); the floor is a bare
   ``heapq`` loop popping and pushing that many ``(time, kind, index)`` tuples with ``N``
   pending at a time (the hold model).
3. ``sloppy_quorum``: Dynamo's sloppy quorum and hinted handoff on the lab's ``EventLoop``,
   messages as the simulation counts them (every write, ack, read, reply and handoff sent);
   floors: the same bare heapq loop with 64 pending, and ``EventLoop`` running as many no-op
   callbacks, each scheduling the next.
"""

from __future__ import annotations

import heapq
import random
import sys
import time
from pathlib import Path

# the repository root first, so that this script does not shadow the package
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from _timing import median_seconds, report

from merge.lab import WARS, EventLoop, Exponential, pbs, simulate_quorum, sloppy_quorum

SEED = 2012
CURVE_TRIALS = 200_000
QUORUM_TRIALS = 20_000
REPLICAS = 3
EXPONENTIAL = WARS(Exponential(10.0), Exponential(1.0), Exponential(1.0), Exponential(1.0))


def _gaps(events: int) -> list[float]:
    rng = random.Random(SEED)
    return [rng.expovariate(1.0) for _ in range(events)]


def heapq_floor(events: int, pending: int) -> float:
    """Seconds for a bare heap loop to handle ``events`` events with ``pending`` in the heap
    (the hold model: pop the next event, push one a random gap later)."""
    gaps = _gaps(events)

    def loop() -> None:
        heap = [(gap, 0, index) for index, gap in enumerate(gaps[:pending])]
        heapq.heapify(heap)
        for index, gap in enumerate(gaps):
            now, _, _ = heapq.heappop(heap)
            heapq.heappush(heap, (now + gap, 0, index))

    return median_seconds(loop, repeat=5)


def event_loop_floor(events: int, pending: int) -> float:
    """Seconds for ``EventLoop`` to run ``events`` no-op callbacks, ``pending`` at a time,
    each scheduling the next (the hold model again)."""
    gaps = iter(_gaps(events + pending))

    def loop() -> None:
        events_loop = EventLoop()
        remaining = [events]

        def hold() -> None:
            remaining[0] -= 1
            if remaining[0] > 0:
                events_loop.after(next(gaps, 1.0), hold)

        for _ in range(pending):
            events_loop.after(next(gaps, 1.0), hold)
        events_loop.run()

    return median_seconds(loop, repeat=5)


def curves() -> None:
    draws = 4 * REPLICAS * CURVE_TRIALS
    rng = np.random.default_rng(SEED)
    floor = median_seconds(lambda: rng.standard_exponential(draws), repeat=5)
    print(f"1. pbs: N={REPLICAS} R=1 W=1, {CURVE_TRIALS:,} trials per curve")
    print(f"   floor: numpy drawing {draws:,} exponential delays\n")
    for label, fit, goal in (
        ("exponential fit (W mean 10 ms)", EXPONENTIAL, 10.0),
        ("lnkd-disk (two-part mixtures)", "lnkd-disk", 15.0),
    ):
        seconds = median_seconds(
            lambda fit=fit: pbs(REPLICAS, 1, 1, fit, trials=CURVE_TRIALS, seed=SEED), repeat=5
        )
        report(f"pbs {label}", seconds, floor, goal=goal)
        print(f"{'':<58} {CURVE_TRIALS / seconds:,.0f} trials/s, {seconds:.2f} s per curve")


def quorum() -> None:
    delays = EXPONENTIAL.sample(np.random.default_rng(SEED), trials=QUORUM_TRIALS, n=REPLICAS)
    messages = 4 * REPLICAS * QUORUM_TRIALS
    print(f"\n2. simulate_quorum: N={REPLICAS} R=1 W=1, {QUORUM_TRIALS:,} trials")
    print(f"   {messages:,} protocol messages; floor: bare heapq loop of as many events\n")
    floor = heapq_floor(messages, pending=REPLICAS)
    seconds = median_seconds(lambda: simulate_quorum(delays, r=1, w=1, t_ms=1.0), repeat=5)
    report("simulate_quorum", seconds, floor, goal=4.0)
    print(f"{'':<58} {messages / seconds:,.0f} messages/s")


def sloppy() -> None:
    def run() -> int:
        return sloppy_quorum(3, 2, 2, partition_s=10.0, reads_per_s=400, seed=SEED).messages

    messages = run()
    print("\n3. sloppy_quorum: N=3 R=2 W=2, 10 s partition, 5 s after, 400 reads/s")
    print(f"   {messages:,} messages; floors: bare heapq loop, and EventLoop no-op callbacks\n")
    seconds = median_seconds(run, repeat=5)
    pending = 64
    report("sloppy_quorum vs heapq", seconds, heapq_floor(messages, pending), goal=15.0)
    report(
        "sloppy_quorum vs EventLoop no-ops", seconds, event_loop_floor(messages, pending), goal=8.0
    )
    print(f"{'':<58} {messages / seconds:,.0f} messages/s")


def main() -> None:
    start = time.perf_counter()
    curves()
    quorum()
    sloppy()
    print(f"\n({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
