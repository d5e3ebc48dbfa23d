"""Helpers the lab's scenarios share: checking numeric parameters and reporting progress."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

from merge.lab.errors import LabConfigError
from merge.lab.events import EventLoop

__all__ = ["number", "report_progress"]


def report_progress(
    loop: EventLoop, horizon: float, progress: Callable[[int, int], object] | None
) -> None:
    """Call ``progress(done, 100)`` at each hundredth of the horizon."""
    if progress is None:
        return
    for step in range(1, 101):
        loop.at(horizon * step / 100, functools.partial(progress, step, 100), priority=2)


def number(name: str, value: object, *, low: float = 0.0, strict: bool = True) -> float:
    """``value`` as a float if it is a finite number above ``low`` (``strict=False``: at
    least ``low``), else LabConfigError naming the parameter ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise LabConfigError(name, value, "must be a number")
    if math.isinf(value) or (value <= low if strict else value < low):
        raise LabConfigError(name, value, f"must be finite and {'>' if strict else '>='} {low:g}")
    return float(value)
