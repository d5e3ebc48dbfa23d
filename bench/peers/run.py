"""The peers benchmark: the same workloads on crdtkit and the Python CRDT libraries a user
would pick instead, side by side with plain-Python floors measured in the same run.

Run from the repository root, once ``python bench/peers/setup.py`` has made the environments::

    python bench/peers/run.py [--scale 0.01] [--repeat 5] [--out results.json] [--plot PNG]

Each peer runs as a subprocess in its own environment (``runner.py`` with its
``peer_<name>.py``) and reports JSON. The floors (``peer_floor.py``: set, dict, tuple,
msgpack, ``time.time_ns``) run in crdtkit's environment before and after the peers; the lower
of the two medians is the floor. The table shows medians per operation (or per whole merge,
read, encode), crdtkit's ratio to the floor, and for each peer crdtkit's time divided by the
peer's (below 1: crdtkit is faster). A peer that loses concurrent increments or whose merges
depend on their order is marked wrong in that area instead of being compared.
``--plot`` (needs matplotlib) draws OR-set merge time against size.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from setup import PEERS, load_status, python_of  # noqa: E402

# (workload, label, area for the correctness column, kind: time per op | size)
ROWS = [
    ("counter.increment", "counter increment (with delta)", "counter", "op"),
    ("counter.merge.3", "counter merge, 3 replicas", "counter", "op"),
    ("counter.merge.100", "counter merge, 100 replicas", "counter", "op"),
    ("orset.add", "OR-set add, per operation", "orset", "op"),
    ("orset.add_batch", "OR-set add, batched", "orset", "op"),
    ("orset.remove", "OR-set remove", "orset", "op"),
    ("orset.merge", "OR-set merge A({n}) <- B({half}, half shared)", "orset", "op"),
    ("orset.value", "OR-set value read ({n})", "orset", "op"),
    ("lww.assign", "LWW assign", "lww", "op"),
    ("lww.pingpong", "LWW assign + merge ping-pong (round)", "lww", "op"),
    ("vclock.increment", "vector clock increment (100 entries)", "vclock", "op"),
    ("vclock.merge.100", "vector clock merge, 100 replicas", "vclock", "op"),
    ("vclock.compare.100", "vector clock compare, 100 replicas", "vclock", "op"),
    ("hlc.now", "HLC now()", "hlc", "op"),
    ("hlc.update", "HLC update(remote)", "hlc", "op"),
    ("orset.encode", "OR-set encode ({n})", "orset", "op"),
    ("orset.decode", "OR-set decode ({n})", "orset", "op"),
    ("orset.bytes", "OR-set encoded bytes ({n})", "orset", "size"),
    ("orset.memory", "OR-set memory per element", "orset", "size"),
]
FLOOR_NAMES = {
    "counter.increment": "dict increment",
    "counter.merge.3": "dict pointwise max",
    "counter.merge.100": "dict pointwise max",
    "orset.add": "set.add",
    "orset.add_batch": "set.update",
    "orset.remove": "set.remove",
    "orset.merge": "set.update on a copy of A",
    "orset.value": "frozenset(set)",
    "lww.assign": "dict[k] = (time_ns(), w, v)",
    "lww.pingpong": "tuple max both ways",
    "vclock.increment": "dict copy + increment",
    "vclock.merge.100": "dict pointwise max",
    "vclock.compare.100": "dict scan",
    "hlc.now": "time.time_ns()",
    "hlc.update": "time.time_ns()",
    "orset.encode": "msgpack.packb(list)",
    "orset.decode": "msgpack.unpackb",
    "orset.bytes": "packb(list) bytes",
    "orset.memory": "set, B/element",
}


def run_peer(peer: str, args: argparse.Namespace) -> dict[str, Any]:
    """One peer's JSON report, or ``{"error": ...}``."""
    python = python_of("crdtkit" if peer == "floor" else peer)
    command = [str(python), str(HERE / "runner.py"), peer, "--scale", str(args.scale)]
    command += ["--repeat", str(args.repeat)]
    if args.only:
        command += ["--only", args.only]
    start = time.perf_counter()
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=args.timeout, check=False, cwd=HERE
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {args.timeout} s"}
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["?"]
        return {"error": f"runner failed: {tail[0][:160]}"}
    report: dict[str, Any] = json.loads(done.stdout)
    report["wall_seconds"] = time.perf_counter() - start
    print(f"  {peer}: {report['wall_seconds']:.0f} s", file=sys.stderr, flush=True)
    return report


def combine_floors(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """The floor is the lower per-operation median of the two floor runs."""
    floor = json.loads(json.dumps(first))
    for name, result in second.get("results", {}).items():
        mine = floor["results"].get(name)
        if mine is None or result.get("seconds") is None:
            continue
        if mine.get("seconds") is None or per(result) < per(mine):
            floor["results"][name] = result
    for size, seconds in second.get("merge_curve", {}).items():
        old = floor["merge_curve"].get(size)
        if seconds is not None and (old is None or seconds < old):
            floor["merge_curve"][size] = seconds
    return floor


def per(result: dict[str, Any]) -> float:
    return float(result["seconds"]) / int(result["ops"])


def fmt_time(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def fmt_size(value: float, unit: str) -> str:
    if unit == "B" and value >= 1e4:
        return f"{value / 1e3:,.0f} kB"
    return f"{value:,.0f} {unit}" if value >= 100 else f"{value:.3g} {unit}"


def measure(result: dict[str, Any] | None, kind: str) -> float | None:
    if result is None:
        return None
    if kind == "size":
        return None if result.get("value") is None else float(result["value"])
    return None if result.get("seconds") is None else per(result)


def show(value: float | None, kind: str, result: dict[str, Any] | None) -> str:
    if value is None:
        note = (result or {}).get("note", "")
        return note if note.startswith(("n/a", "failed")) else "-"
    if kind == "size":
        return fmt_size(value, (result or {}).get("unit", ""))
    return fmt_time(value)


def table(reports: dict[str, dict[str, Any]], floor: dict[str, Any]) -> str:
    peers = [p for p in reports if p != "crdtkit" and "results" in reports[p]]
    ours = reports.get("crdtkit", {})
    header = ["workload", "floor", "crdtkit", "crdtkit / floor", *peers]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    notes: list[str] = []
    n = int(ours.get("sizes", {}).get("elements", 0))
    for name, template, area, kind in ROWS:
        label = template.format(n=f"{n:,}", half=f"{n // 2:,}")
        mine = ours.get("results", {}).get(name)
        base = floor.get("results", {}).get(name)
        ours_value, floor_value = measure(mine, kind), measure(base, kind)
        cells = [label, f"{show(floor_value, kind, base)} ({FLOOR_NAMES[name]})"]
        cell = show(ours_value, kind, mine)
        if mine and mine.get("note"):
            notes.append(f"crdtkit, {label}: {mine['note']}")
            cell += f" [{len(notes)}]"
        cells.append(cell)
        ratio = ours_value / floor_value if ours_value and floor_value else None
        cells.append(f"{ratio:.2f}x" if ratio else "-")
        for peer in peers:
            result = reports[peer]["results"].get(name)
            value = measure(result, kind)
            cell = show(value, kind, result)
            verdict = reports[peer].get("correctness", {}).get(area, "ok")
            if value is not None and verdict != "ok":
                cell += " (wrong)"
            elif value is not None and ours_value is not None:
                cell += f" · {ours_value / value:.2f}"
            if result and result.get("note") and not result["note"].startswith("n/a"):
                notes.append(f"{peer}, {label}: {result['note']}")
                cell += f" [{len(notes)}]"
            cells.append(cell)
        lines.append("| " + " | ".join(cells) + " |")
    areas = ["counter", "orset", "lww"]
    for area in areas:
        cells = [f"correct: {area}", "", ours.get("correctness", {}).get(area, "-"), ""]
        for peer in peers:
            cells.append(reports[peer].get("correctness", {}).get(area, "-"))
        lines.append("| " + " | ".join(cells) + " |")
    text = "\n".join(lines)
    if notes:
        text += "\n\n" + "\n".join(f"[{i}] {note}" for i, note in enumerate(notes, 1))
    return text


# issue 17's goals, as same-run ratios: (what, crdtkit's workload, against whom, bound)
GOALS = [
    ("OR-set add per op vs set.add", "orset.add", "floor", 20.0),
    ("OR-set add per op vs y-py per op", "orset.add", "y-py", 1.0),
    ("OR-set add batched vs y-py's batch transaction", "orset.add_batch", "y-py", 1.0),
    ("OR-set merge vs pycrdt (goal: 2x faster)", "orset.merge", "pycrdt", 0.5),
    ("OR-set merge vs set union", "orset.merge", "floor", 4.0),
    ("OR-set encode vs msgpack.packb", "orset.encode", "floor", 2.0),
    ("OR-set decode (validated) vs msgpack.unpackb", "orset.decode", "floor", 3.0),
    ("OR-set encoded bytes vs plain msgpack", "orset.bytes", "floor", 1.1),
    ("OR-set memory vs a plain set", "orset.memory", "floor", 3.0),
    ("counter increment (with delta) vs dict increment", "counter.increment", "floor", 10.0),
    ("HLC now() vs time.time_ns()", "hlc.now", "floor", 10.0),
]


def goals(run: dict[str, Any]) -> str:
    """crdtkit against each goal of issue 17: the ratio and PASS or MISS."""
    ours = run["peers"].get("crdtkit", {}).get("results", {})
    kinds = {name: kind for name, _, _, kind in ROWS}
    lines = ["| goal | crdtkit / reference | bound | verdict |", "|---|---:|---:|---|"]
    for label, name, against, bound in GOALS:
        other = run["floor"] if against == "floor" else run["peers"].get(against, {})
        mine = measure(ours.get(name), kinds[name])
        theirs = measure(other.get("results", {}).get(name), kinds[name])
        if mine is None or theirs is None:
            lines.append(f"| {label} | - | {bound:g}x | not measured |")
            continue
        ratio = mine / theirs
        verdict = "PASS" if ratio <= bound else "MISS"
        lines.append(f"| {label} | {ratio:.2f}x | {bound:g}x | {verdict} |")
    return "\n".join(lines)


def machine(load_start: float, load_end: float) -> str:
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {load_start:.2f} at start, {load_end:.2f} at end"
    )


def plot(reports: dict[str, dict[str, Any]], floor: dict[str, Any], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axis = plt.subplots(figsize=(7, 4.2))
    series = {"set.update (floor)": floor.get("merge_curve", {})}
    series.update({peer: r.get("merge_curve", {}) for peer, r in reports.items() if "results" in r})
    for label, curve in series.items():
        points = sorted((int(size), s) for size, s in curve.items() if s is not None)
        if not points:
            continue
        style = {"linestyle": "--", "color": "grey"} if label.startswith("set") else {}
        width = 2.5 if label == "crdtkit" else 1.2
        axis.plot(*zip(*points, strict=True), marker="o", label=label, linewidth=width, **style)
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("elements in A (B holds half as many, half of them shared)")
    axis.set_ylabel("merge A <- B, median seconds")
    axis.set_title("OR-set merge time against size")
    axis.grid(alpha=0.3, which="both")
    axis.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"plot written to {path}", file=sys.stderr)


def measure_all(args: argparse.Namespace, parser: argparse.ArgumentParser) -> dict[str, Any]:
    """Run the floors, every wanted peer, and the floors again; return the whole run."""
    status = load_status()
    if not status:
        parser.error("no peer environments: run python bench/peers/setup.py first")
    wanted = args.peers.split(",") if args.peers else list(PEERS)
    if "crdtkit" not in wanted:
        wanted.insert(0, "crdtkit")
    load_start = os.getloadavg()[0]
    print(f"scale {args.scale}, medians of {args.repeat}", file=sys.stderr, flush=True)
    first_floor = run_peer("floor", args)
    reports: dict[str, dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    for peer in wanted:
        entry = status.get(peer)
        if entry is None:
            skipped[peer] = "not set up: run python bench/peers/setup.py"
        elif not entry.get("installed"):
            skipped[peer] = f"not installable: {entry.get('reason')}"
        else:
            report = run_peer(peer, args)
            if "error" in report:
                skipped[peer] = str(report["error"])
            else:
                report["version"] = entry.get("version")
                reports[peer] = report
    floor = combine_floors(first_floor, run_peer("floor", args))
    return {
        "machine": machine(load_start, os.getloadavg()[0]),
        "scale": args.scale,
        "repeat": args.repeat,
        "floor": floor,
        "peers": reports,
        "skipped": skipped,
    }


def render(run: dict[str, Any]) -> str:
    """The markdown the command prints: machine, versions, the table, its legend."""
    reports = run["peers"]
    parts = [
        f"Machine: {run['machine']}; scale {run['scale']}, medians of {run['repeat']} runs.",
        "Versions: " + ", ".join(f"{peer} {r.get('version')}" for peer, r in reports.items()),
        table(reports, run["floor"]),
        "Times are medians per operation (per round for ping-pong; per whole merge, read, "
        "encode or decode). After a peer's time, crdtkit's time divided by the peer's: below 1, "
        "crdtkit is faster. A peer wrong in an area (last rows) is not compared there.",
        "Issue 17's goals, as ratios in this run (at most the bound to pass):",
        goals(run),
    ]
    parts += [f"{peer}: {reason}" for peer, reason in run["skipped"].items()]
    return "\n\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="workload sizes (1: the issue's)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (median)")
    parser.add_argument("--out", help="write every figure as JSON to this file")
    parser.add_argument("--plot", help="write the OR-set merge plot to this PNG (matplotlib)")
    parser.add_argument("--peers", help="comma-separated peers (default: every installed one)")
    parser.add_argument("--only", help="comma-separated workloads (default: all)")
    parser.add_argument("--timeout", type=float, default=1200, help="seconds per peer")
    parser.add_argument(
        "--from-json", metavar="FILE", help="measure nothing: show a run saved with --out"
    )
    args = parser.parse_args()

    if args.from_json:
        run = json.loads(Path(args.from_json).read_text())
    else:
        run = measure_all(args, parser)
    print(render(run))
    if args.out:
        Path(args.out).write_text(json.dumps(run, indent=1))
    if args.plot:
        plot(run["peers"], run["floor"], args.plot)


if __name__ == "__main__":
    main()
