"""hlcpy (0.0.2): a hybrid logical clock (no node id; it reads the wall clock itself)."""

from __future__ import annotations

from common import Result, Sizes, per_op
from hlcpy import HLC

NAME = "hlcpy"


def hlc_now(sizes: Sizes, repeat: int) -> Result:
    def run(clock: HLC, count: int) -> None:
        for _ in range(count):
            clock.sync()

    return per_op(run, lambda _: HLC.from_now(), sizes.clock_ops, repeat)


def hlc_update(sizes: Sizes, repeat: int) -> Result:
    remote = HLC.from_now()

    def run(clock: HLC, count: int) -> None:
        for _ in range(count):
            clock.merge(remote)

    return per_op(run, lambda _: HLC.from_now(), sizes.clock_ops, repeat)


WORKLOADS = {"hlc.now": hlc_now, "hlc.update": hlc_update}
