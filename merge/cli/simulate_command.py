"""``crdtkit simulate``: its options, and the run that turns them into a report.

The options become a frozen ``SimulateConfig`` (``merge.cli.simulate``), each sync protocol
runs on it, ``merge.cli.report`` writes the prose, and the result is printed as text or, with
``--json``, as ``SimulationResult.as_json()``.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import textwrap
from typing import Any

from merge._workloads import TYPE_NAMES
from merge.cli import report
from merge.cli._common import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    WIDTH,
    count,
    milliseconds,
    probability,
    progress_bar,
    version,
)
from merge.cli.simulate import (
    DELAY,
    MAX_PRELOAD,
    MAX_SETTLE_STEPS,
    SYNCS,
    Operation,
    SimulateConfig,
    SimulationResult,
    SimulationRun,
    plan,
    preload_of,
    preloads,
    run,
)
from merge.harness import STEP_MS
from merge.registry import resolve

__all__ = ["PARSER_OPTIONS", "add_arguments", "config_from", "run_command"]

#: How ``crdtkit simulate``'s parser is made: its help line, description and epilog.
PARSER_OPTIONS: dict[str, Any] = {
    "help": "run a seeded multi-replica simulation with faults",
    "formatter_class": argparse.RawDescriptionHelpFormatter,
    "description": textwrap.fill(
        "Make random updates at replicas on a simulated faulty network, heal, settle, and "
        "report whether every replica converged and what it cost, once with delta sync "
        f"and once with state sync on the same seed. One step is {STEP_MS} ms of "
        f"simulated time; one update is made per step; messages take {DELAY[0]}-"
        f"{DELAY[1]} steps.",
        width=WIDTH - 2,
    ),
    "epilog": report.legend() + "\n\n" + report.JSON_KEYS + "\nexit status: 0 converged, 1 did "
    f"not, 2 bad arguments, {EXIT_INTERRUPTED} interrupted,\n{EXIT_BROKEN_PIPE} output's reader "
    "went away",
}


def _type_name(text: str) -> str:
    """A registered type name, or ``package.module:Class`` of a registered type."""
    if text in TYPE_NAMES:
        return text
    if ":" not in text:
        raise argparse.ArgumentTypeError(
            f"invalid choice: {text!r} (choose from {', '.join(map(repr, TYPE_NAMES))}, "
            "or give package.module:Class)"
        )
    try:
        resolve(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def _preload_defaults() -> list[tuple[int, list[str]]]:
    """The ``--preload`` defaults, largest first, each with the types it applies to."""
    by_count: dict[int, list[str]] = {}
    for name, preload in preloads().items():
        by_count.setdefault(preload.default, []).append(name)
    return sorted(by_count.items(), reverse=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``crdtkit simulate``'s options."""
    parser.add_argument(
        "--type",
        type=_type_name,
        default="orset",
        metavar="TYPE",
        help=f"the CRDT to replicate: {', '.join(TYPE_NAMES)} (ormap is ORMap(ORSet); "
        "default: %(default)s)",
    )
    parser.add_argument(
        "--replicas", type=count(2), default=5, help="replicas (default: %(default)s)"
    )
    parser.add_argument(
        "--ops", type=count(0), default=200, help="updates to make (default: %(default)s)"
    )
    parser.add_argument(
        "--preload",
        type=count(0, MAX_PRELOAD),
        default=None,
        metavar="N",
        help="start every replica of a set or map with the same N elements or keys; "
        f"at most {MAX_PRELOAD:,} (default: "
        + "; ".join(
            f"{default} for {'/'.join(sorted(names))}" for default, names in _preload_defaults()
        )
        + "; 0 for the other types)",
    )
    parser.add_argument(
        "--sync",
        choices=("both", *SYNCS),
        default="both",
        help="acknowledged deltas, full-state gossip, or both side by side on the same "
        "seed (default: %(default)s)",
    )
    parser.add_argument(
        "--drop", type=probability, default=0.1, help="message loss rate (default: %(default)s)"
    )
    parser.add_argument(
        "--duplicate",
        type=probability,
        default=0.05,
        help="message duplication rate (default: %(default)s)",
    )
    parser.add_argument(
        "--reorder",
        type=probability,
        default=0.1,
        help="rate of messages held back so later ones overtake them (default: %(default)s)",
    )
    parser.add_argument(
        "--partition",
        type=count(0),
        default=40,
        metavar="STEPS",
        help="split the cluster in half for STEPS steps mid-run; 0: never (default: %(default)s)",
    )
    parser.add_argument(
        "--crash",
        type=count(0),
        default=20,
        metavar="STEPS",
        help="crash the last replica for STEPS steps, then restart it from its snapshot; "
        "0: never (default: %(default)s)",
    )
    parser.add_argument(
        "--skew",
        type=milliseconds,
        default=0,
        metavar="MS",
        help="clock skew, at most 600000: replica clocks are spread evenly from 0 to MS ms "
        "off simulated time, ahead if MS is positive, behind if negative; a stamp more "
        "than 500 ms ahead of a receiver's clock waits for it (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parser.add_argument(
        "--json", action="store_true", help="print the report as JSON (keys: see below)"
    )
    parser.add_argument(
        "--explain", action="store_true", help="print what each term of the report means"
    )
    parser.add_argument(
        "--plot",
        metavar="FILE.png",
        help="draw staleness and the bytes on the wire over time (needs crdtkit[plot])",
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: when tqdm is installed and stderr is a terminal)",
    )


def config_from(
    options: argparse.Namespace,
    parser: argparse.ArgumentParser,
    *,
    max_settle_steps: int = MAX_SETTLE_STEPS,
) -> SimulateConfig:
    """Check the options that depend on each other and freeze them into a config (a bad
    combination exits through ``parser.error``, status 2)."""
    # the argument's own mistake first: it is wrong whatever is installed
    if options.plot and not options.plot.lower().endswith(".png"):
        parser.error(f"--plot writes a PNG; name the file FILE.png, not {options.plot!r}")
    if options.plot and importlib.util.find_spec("matplotlib") is None:
        parser.error("--plot needs matplotlib: pip install 'crdtkit[plot]'")
    preload_spec = preload_of(options.type)
    if options.preload is None:
        preload = preload_spec.default if preload_spec is not None else 0
    elif options.preload and preload_spec is None:
        parser.error(
            f"--preload needs a set or map type ({', '.join(preloads())}); "
            f"{report.type_label(options.type)}'s state does not grow with what it holds"
        )
    else:
        preload = options.preload
    return SimulateConfig(
        type=options.type,
        replicas=options.replicas,
        ops=options.ops,
        preload=preload,
        syncs=tuple(sync for sync in SYNCS if options.sync in ("both", sync)),
        drop=options.drop,
        duplicate=options.duplicate,
        reorder=options.reorder,
        partition=options.partition,
        crash=options.crash,
        skew=options.skew,
        seed=options.seed,
        record_trace=bool(options.plot),
        max_settle_steps=max_settle_steps,
    )


def run_command(
    options: argparse.Namespace,
    parser: argparse.ArgumentParser,
    *,
    operation: Operation,
    max_settle_steps: int = MAX_SETTLE_STEPS,
) -> int:
    """Run ``crdtkit simulate``: each protocol, then the plot, then the report or JSON.
    Returns 0 if every run converged, 1 if one did not, 2 if the plot cannot be written."""
    config = config_from(options, parser, max_settle_steps=max_settle_steps)
    windows = plan(config)
    bar = progress_bar(
        options.progress,
        total=windows.last_fault_step * len(config.syncs),
        unit="step",
        desc="updates",
    )
    current = [config.syncs[0]]

    def tick(phase: str) -> None:
        if phase == "settling":
            bar.total += 1
        bar.set_description(f"{current[0]}: {phase}", refresh=False)
        bar.update(1)

    runs: dict[str, SimulationRun] = {}
    try:
        for sync in config.syncs:
            current[0] = sync
            runs[sync] = run(
                config, sync, operation=operation, on_step=tick if bar is not None else None
            )
    finally:
        if bar is not None:
            bar.close()
    result = SimulationResult(
        version=version(),
        config=config,
        plan=windows,
        runs=runs,
        summary=report.summary(config, runs),
        comparison=report.comparison(runs, config),
    )
    if options.plot:
        from merge.cli.plot import plot

        try:
            plot(result, options.plot)
        except OSError as error:
            print(f"crdtkit simulate: error: cannot write {options.plot}: {error}", file=sys.stderr)
            return 2
    if options.json:
        print(result.as_json())
    else:
        report.render(result, sys.stdout, explain=options.explain)
        if options.plot:
            print(f"\n  plot written to {options.plot}")
    return 0 if result.ok else 1
