"""vectorclock (0.5.3): a mutable vector clock with compare; it has no merge."""

from __future__ import annotations

from common import Result, Sizes, per_op
from vectorclock.vectorclock import VectorClock

NAME = "vectorclock"


def vector_pair() -> tuple[VectorClock, VectorClock]:
    a = {f"replica-{i:03d}": 1000 + i for i in range(100)}
    b = dict(a)
    b["replica-000"] += 1
    a["replica-099"] += 1
    return VectorClock(a), VectorClock(b)


def vclock_increment(sizes: Sizes, repeat: int) -> Result:
    def run(clock: VectorClock, count: int) -> None:
        for _ in range(count):
            clock.set_clock("replica-050", clock.get_clock("replica-050", 0) + 1)

    return per_op(run, lambda _: vector_pair()[0], sizes.clock_ops, repeat)


def vclock_compare(sizes: Sizes, repeat: int) -> Result:
    a, b = vector_pair()

    def run(_: None, count: int) -> None:
        for _ in range(count):
            a.compare(b, tiebreak=False)

    return per_op(run, lambda _: None, sizes.clock_ops // 10, repeat)


WORKLOADS = {"vclock.increment": vclock_increment, "vclock.compare.100": vclock_compare}
