"""Run one peer's workloads inside that peer's environment and print JSON on stdout.

Run by run.py as ``<venv>/bin/python bench/peers/runner.py PEER --scale S --repeat N``; it
imports ``peer_<name>.py`` beside it. Only the standard library and the peer are imported
here, so the PyPI ``crdts`` package can stand in its own environment without ours.
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
import traceback

from common import BUDGET, Result, Sizes

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
    for name, workload in module.WORKLOADS.items():
        if wanted is not None and name not in wanted:
            continue
        try:
            results[name] = workload(sizes, args.repeat).as_dict()
        except Exception as error:  # a peer's failure is a cell in the table, not a crash
            traceback.print_exc(file=sys.stderr)
            results[name] = Result(note=f"failed: {type(error).__name__}: {error}"[:160]).as_dict()
    curve: dict[int, float | None] = {}
    merge_at = getattr(module, "MERGE_AT", None)
    if merge_at is not None and (wanted is None or "orset.merge" in wanted):
        for size in sizes.merge_sizes:
            start = time.perf_counter()
            seconds = merge_at(size, max(1, min(args.repeat, 3))).seconds
            curve[size] = seconds
            if time.perf_counter() - start > 3 * BUDGET:
                break  # larger sizes would take longer still
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
