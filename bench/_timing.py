"""Shared helpers for the benchmark scripts: medians of repeated runs, printed as ratios.

``CRDTKIT_BENCH_SCALE`` (a float, default 1) shrinks every script for a smoke run: sizes pass
through :func:`scaled` and :func:`median_seconds` runs each figure once when the scale is below
1. CI sets it to a tiny value (tests/test_bench_smoke.py) so the scripts keep running; the
figures of such a run mean nothing.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from typing import Any

__all__ = ["SCALE", "median_seconds", "repeats", "report", "report_size", "scaled"]

SCALE_VARIABLE = "CRDTKIT_BENCH_SCALE"
SCALE = float(os.environ.get(SCALE_VARIABLE, "1"))


def scaled(size: int, *, minimum: int = 1) -> int:
    """``size`` times the smoke-run scale, never below ``minimum`` (``size`` itself at 1)."""
    return max(minimum, round(size * SCALE))


def repeats(count: int) -> int:
    """How many runs a median takes: ``count``, or one in a smoke run (scale below 1)."""
    return count if SCALE >= 1 else 1


def median_seconds(
    fn: Callable[[], Any], *, repeat: int = 7, setup: Callable[[], Any] | None = None
) -> float:
    """Median wall time of ``fn()`` over ``repeat`` runs; ``setup()`` runs untimed before each
    run and, if it returns something, that is passed to ``fn``."""
    samples = []
    for _ in range(repeats(repeat)):
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
