"""Run one peer's workloads inside that peer's environment and print JSON on stdout.

Run by run.py as ``<venv>/bin/python bench/peers/runner.py PEER --scale S --repeat N``; it
imports ``peer_<name>.py`` beside it. Only the standard library and the peer are imported
here, so the PyPI ``crdts`` package can stand in its own environment without ours.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import platform
import sys
import time
import traceback
from collections.abc import Callable

from common import Result, Sizes

MODULES = {
    "crdtkit": "peer_crdtkit",
    "floor": "peer_floor",
    "pycrdt": "peer_pycrdt",
    "y-py": "peer_ypy",
    "crdts-pypi": "peer_crdts_pypi",
    "xotl.crdt": "peer_xotl",
    "python3-crdt": "peer_py3crdt",
    "hlcpy": "peer_hlcpy",
    "vectorclock": "peer_vectorclock",
}


def merge_curve(
    merge_at: Callable[[int, int], Result], sizes: Sizes, repeat: int
) -> tuple[dict[int, float | None], dict[str, object]]:
    """OR-set merge A <- B at each size, smallest first; a size whose run (setup included)
    would take over a minute, extrapolating linearly, is not attempted. Returns the curve
    and the table's result, the largest size's (or why it is missing)."""
    curve: dict[int, float | None] = {}
    last: Result | None = None
    previous: tuple[int, float, float] | None = None  # size, median, wall seconds
    exponent = 1.0  # how the wall time grows with the size, from the last two sizes
    for size in sizes.merge_sizes:
        if previous is not None:
            grow = size / previous[0]
            if previous[2] * grow**exponent > 60:
                break
            runs = repeat if previous[1] * grow < 2 else 1
        else:
            runs = repeat
        start = time.perf_counter()
        last = merge_at(size, runs)
        curve[size] = last.seconds
        wall = time.perf_counter() - start
        if previous is not None and previous[2] > 0.05 and wall > previous[2]:
            exponent = max(1.0, math.log(wall / previous[2]) / math.log(size / previous[0]))
        previous = (size, float(last.seconds or 0.0), wall)
        if runs < repeat:
            last.note = "one run (slow)"
    if last is not None and previous is not None and previous[0] == sizes.elements:
        return curve, last.as_dict()
    reached = f"A({previous[0]:,}) took {previous[1]:.3g} s" if previous else "nothing measured"
    return curve, Result(note=f"n/a: too slow; {reached}").as_dict()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("peer", choices=sorted(MODULES))
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", help="comma-separated workload names")
    args = parser.parse_args()
    module = importlib.import_module(MODULES[args.peer])
    sizes = Sizes.at(args.scale)
    wanted = set(args.only.split(",")) if args.only else None
    results: dict[str, dict[str, object]] = {}
    merge_at = getattr(module, "MERGE_AT", None)
    for name, workload in module.WORKLOADS.items():
        if wanted is not None and name not in wanted:
            continue
        if name == "orset.merge" and merge_at is not None:
            continue  # taken from the largest size of the merge curve below
        try:
            results[name] = workload(sizes, args.repeat).as_dict()
        except Exception as error:  # a peer's failure is a cell in the table, not a crash
            traceback.print_exc(file=sys.stderr)
            results[name] = Result(note=f"failed: {type(error).__name__}: {error}"[:160]).as_dict()
    curve: dict[int, float | None] = {}
    if merge_at is not None and (wanted is None or "orset.merge" in wanted):
        curve, results["orset.merge"] = merge_curve(merge_at, sizes, args.repeat)
    correctness = module.correctness() if hasattr(module, "correctness") else {}
    for area, verdict in (module.fuzzed() if hasattr(module, "fuzzed") else {}).items():
        if correctness.get(area, "ok") == "ok":
            correctness[area] = verdict  # the fixed scenario passed: the fuzzed schedules decide
    json.dump(
        {
            "peer": args.peer,
            "python": platform.python_version(),
            "sizes": sizes.__dict__,
            "repeat": args.repeat,
            "results": results,
            "merge_curve": curve,
            "correctness": correctness,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
