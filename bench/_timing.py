"""Shared helpers for the benchmark scripts: medians of repeated runs, printed as ratios."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

__all__ = ["median_seconds", "report", "report_size"]


def median_seconds(
    fn: Callable[[], Any], *, repeat: int = 7, setup: Callable[[], Any] | None = None
) -> float:
    """Median wall time of ``fn()`` over ``repeat`` runs; ``setup()`` runs untimed before each
    run and, if it returns something, that is passed to ``fn``."""
    samples = []
    for _ in range(repeat):
        arg = setup() if setup is not None else None
        start = time.perf_counter()
        fn(arg) if setup is not None else fn()  # type: ignore[call-arg]
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def report(name: str, measured: float, floor: float, *, goal: float | None = None) -> str:
    """One line: the measurement, the floor, their ratio and the verdict against ``goal``."""
    ratio = measured / floor
    verdict = (
        "" if goal is None else ("  PASS" if ratio <= goal else "  MISS") + f" (goal <= {goal:g}x)"
    )
    line = (
        f"{name:<58} {measured * 1e3:10.3f} ms  floor {floor * 1e3:9.3f} ms  {ratio:7.2f}x{verdict}"
    )
    print(line, flush=True)
    return line


def report_size(name: str, measured: float, floor: float, unit: str, *, goal: float) -> str:
    """One line comparing two sizes (bytes, MB, ...) with a verdict against ``goal``."""
    ratio = measured / floor
    verdict = ("PASS" if ratio <= goal else "MISS") + f" (goal <= {goal:g}x)"
    line = (
        f"{name:<58} {measured:10.2f} {unit}  floor {floor:9.2f} {unit}  {ratio:7.2f}x  {verdict}"
    )
    print(line, flush=True)
    return line
