"""The ``crdtkit`` command: watch replicas converge through faults, and see Dynamo's cart bug.

``crdtkit simulate`` runs a seeded :class:`~merge.harness.Network` once with delta sync and
once with state sync: random updates at random replicas while messages are lost, duplicated
and reordered, one replica crashes and restarts and the cluster is split in half for a while;
then it heals, lets anti-entropy settle, and reports, side by side, whether the replicas
converged and what each protocol cost (messages, bytes, staleness). ``crdtkit demo cart``
replays one partitioned shopping session through Dynamo's union-of-siblings merge and
through ``crdts.Cart``.

Run it as ``crdtkit`` (the console script) or ``python -m merge.cli``. Exit status: 0 every
run converged; 1 a run did not; 2 bad arguments; 130 interrupted (Ctrl-C); 141 the reader of
standard output went away (``crdtkit simulate --json | head -1``).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import math
import os
import random
import sys
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NoReturn, TextIO

import crdts
from clocks import HLC, VectorClock
from merge._workloads import TYPE_NAMES, operation, template
from merge.harness import STEP_MS, Faults, Network
from merge.registry import Preload, profiles, resolve

__all__ = ["main"]

_Sync = Literal["delta", "state"]

#: Delay of every message, in steps (reordered ones are held back longer).
DELAY = (1, 3)
#: Steps between a replica's anti-entropy rounds.
INTERVAL = 2
#: Peers a replica sends its whole state to each round (state sync).
FANOUT = 1
#: Steps ``simulate`` lets anti-entropy run after the last fault before giving up.
MAX_SETTLE_STEPS = 3_000
#: The most ``--preload`` accepts (state sync resends all of it in every message).
MAX_PRELOAD = 10_000
#: Draws of a random update per step before the step goes without one (see ``TypeProfile.no_op``).
DRAWS_PER_STEP = 20
#: Exit status when standard output's reader goes away (128 + SIGPIPE, as a shell reports).
EXIT_BROKEN_PIPE = 141
#: Exit status after Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 130
#: The sync protocols, in report order.
SYNCS: tuple[_Sync, ...] = ("delta", "state")

#: Widest line of ``simulate``'s report and of ``demo cart``.
WIDTH = 80


def _preloads() -> dict[str, Preload]:
    """The registered types ``--preload`` fills, by name (see :mod:`merge.registry`)."""
    return {entry.name: entry.preload for entry in profiles() if entry.preload is not None}


#: The built-in types ``--preload`` fills (read from the registry; kept for callers of the
#: earlier table).
_PRELOAD: dict[str, Preload] = _preloads()


def _preload_of(type_name: str) -> Preload | None:
    return resolve(type_name).preload


def _preload_noun(type_name: str) -> str:
    preload = _preload_of(type_name)
    return preload.noun if preload is not None else "entries"


def _preload_defaults() -> list[tuple[int, list[str]]]:
    """The ``--preload`` defaults, largest first, each with the types it applies to."""
    by_count: dict[int, list[str]] = {}
    for name, preload in _preloads().items():
        by_count.setdefault(preload.default, []).append(name)
    return sorted(by_count.items(), reverse=True)


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


#: What each term of the report means: printed by ``--explain`` and in ``simulate --help``.
TERMS: tuple[tuple[str, str], ...] = (
    (
        "step",
        f"{STEP_MS} ms of simulated time; one update is made per step, at a random live "
        f"replica; a message takes {DELAY[0]}-{DELAY[1]} steps to arrive",
    ),
    (
        "delta sync",
        f"every {INTERVAL} steps each replica sends each peer the changes (deltas) that "
        "peer has not acknowledged; peers acknowledge what they got",
    ),
    (
        "state sync",
        f"every {INTERVAL} steps each replica sends its whole state to "
        f"{'one random peer' if FANOUT == 1 else f'{FANOUT} random peers'}; nothing is "
        "acknowledged",
    ),
    (
        "same seed",
        "both runs share the seed: the same faults, windows and random draws; a remove "
        "picks from what its replica holds at the time, so the final values can differ",
    ),
    (
        "preload",
        "what every replica holds before the first update, as after a bulk load: state "
        "sync resends it in every message, deltas do not",
    ),
    ("converged", "every replica holds the join of all the updates made"),
    (
        "steps to converge",
        "steps from the end of the partition until every replica holds every update made before it",
    ),
    ("steps in all", "updates and faults, then steps of anti-entropy until quiet"),
    ("messages sent", "every message put on the wire, lost ones included"),
    (
        "acks / full states",
        "acknowledgements (delta sync); whole states (state sync, or delta sync to a "
        "peer whose missing deltas a restart lost)",
    ),
    (
        "lost / duplicated",
        "messages the network dropped (or a partition or crash stopped) / delivered twice",
    ),
    ("bytes on the wire", "encoded size of every message sent, each counted once"),
    ("bytes per message", "bytes on the wire / messages sent"),
    ("bytes per update", "bytes on the wire / updates made"),
    ("max staleness", "the longest any update took to reach any replica"),
    (
        "drift retries",
        "merges put off because a stamp was more than 500 ms ahead of the receiver's "
        "clock, retried once that clock caught up",
    ),
    ("final value", "the first replica's value at the end (--json gives all of it)"),
)


def _legend() -> str:
    """``TERMS`` as an indented two-column list that fits :data:`WIDTH`."""
    lines = ["terms:"]
    column = 2 + max(len(term) for term, _ in TERMS) + 2
    for term, meaning in TERMS:
        wrapped = textwrap.wrap(meaning, width=WIDTH - 2 - column, break_on_hyphens=False)
        lines.append(f"  {term:<{column - 2}}{wrapped[0]}")
        lines += [" " * column + more for more in wrapped[1:]]
    return "\n".join(lines)


JSON_KEYS = """\
--json prints one object: "version", "summary" (the report's first sentence),
"config" (the options, with the partition and crash windows in steps), "runs"
("delta" and/or "state", each with "converged", "replicas_agree", "settled",
"steps", "settle_steps", "updates", "metrics" and "value"), "comparison" (null
unless both protocols ran: "fewer_bytes", "bytes_ratio", "reading") and "ok"
(every run converged). "value" is the final value as JSON data: sets as sorted
lists, maps as objects, tuples as lists.
"""


def _version() -> str:
    """The installed distribution's version, or a marker when running from a source tree."""
    try:
        return importlib.metadata.version("crdtkit")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


# -- argument parsing -------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number between 0 and 1") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 1")
    return value


def _count(least: int, most: int | None = None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"{value} is less than {least}")
        if most is not None and value > most:
            raise argparse.ArgumentTypeError(f"{value} is more than {most:,}")
        return value

    parse.__name__ = "count"
    return parse


def _milliseconds(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of ms") from None
    if abs(value) > 600_000:
        raise argparse.ArgumentTypeError(f"{value} ms is more than ten minutes of skew")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The ``crdtkit`` argument parser."""
    parser = _Parser(
        prog="crdtkit",
        description="Replicated data that merges without coordination: simulations and demos.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    simulate = commands.add_parser(
        "simulate",
        help="run a seeded multi-replica simulation with faults",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=textwrap.fill(
            "Make random updates at replicas on a simulated faulty network, heal, settle, and "
            "report whether every replica converged and what it cost, once with delta sync "
            f"and once with state sync on the same seed. One step is {STEP_MS} ms of "
            f"simulated time; one update is made per step; messages take {DELAY[0]}-"
            f"{DELAY[1]} steps.",
            width=WIDTH - 2,
        ),
        epilog=_legend() + "\n\n" + JSON_KEYS + "\nexit status: 0 converged, 1 did not, 2 bad "
        f"arguments, {EXIT_INTERRUPTED} interrupted,\n{EXIT_BROKEN_PIPE} output's reader "
        "went away",
    )
    simulate.add_argument(
        "--type",
        type=_type_name,
        default="orset",
        metavar="TYPE",
        help=f"the CRDT to replicate: {', '.join(TYPE_NAMES)} (ormap is ORMap(ORSet); "
        "default: %(default)s)",
    )
    simulate.add_argument(
        "--replicas", type=_count(2), default=5, help="replicas (default: %(default)s)"
    )
    simulate.add_argument(
        "--ops", type=_count(0), default=200, help="updates to make (default: %(default)s)"
    )
    simulate.add_argument(
        "--preload",
        type=_count(0, MAX_PRELOAD),
        default=None,
        metavar="N",
        help="start every replica of a set or map with the same N elements or keys; "
        f"at most {MAX_PRELOAD:,} (default: "
        + "; ".join(
            f"{count} for {'/'.join(sorted(names))}" for count, names in _preload_defaults()
        )
        + "; 0 for the other types)",
    )
    simulate.add_argument(
        "--sync",
        choices=("both", *SYNCS),
        default="both",
        help="acknowledged deltas, full-state gossip, or both side by side on the same "
        "seed (default: %(default)s)",
    )
    simulate.add_argument(
        "--drop", type=_probability, default=0.1, help="message loss rate (default: %(default)s)"
    )
    simulate.add_argument(
        "--duplicate",
        type=_probability,
        default=0.05,
        help="message duplication rate (default: %(default)s)",
    )
    simulate.add_argument(
        "--reorder",
        type=_probability,
        default=0.1,
        help="rate of messages held back so later ones overtake them (default: %(default)s)",
    )
    simulate.add_argument(
        "--partition",
        type=_count(0),
        default=40,
        metavar="STEPS",
        help="split the cluster in half for STEPS steps mid-run; 0: never (default: %(default)s)",
    )
    simulate.add_argument(
        "--crash",
        type=_count(0),
        default=20,
        metavar="STEPS",
        help="crash the last replica for STEPS steps, then restart it from its snapshot; "
        "0: never (default: %(default)s)",
    )
    simulate.add_argument(
        "--skew",
        type=_milliseconds,
        default=0,
        metavar="MS",
        help="clock skew, at most 600000: replica clocks are spread evenly from 0 to MS ms "
        "off simulated time, ahead if MS is positive, behind if negative; a stamp more "
        "than 500 ms ahead of a receiver's clock waits for it (default: %(default)s)",
    )
    simulate.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    simulate.add_argument(
        "--json", action="store_true", help="print the report as JSON (keys: see below)"
    )
    simulate.add_argument(
        "--explain", action="store_true", help="print what each term of the report means"
    )
    simulate.add_argument(
        "--plot",
        metavar="FILE.png",
        help="draw staleness and the bytes on the wire over time (needs crdtkit[plot])",
    )
    simulate.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: when tqdm is installed and stderr is a terminal)",
    )

    demo = commands.add_parser(
        "demo",
        help="replay a documented anomaly",
        description="Replay a documented anomaly next to the crdtkit type that avoids it.",
    )
    demo.add_argument(
        "name", choices=("cart",), help="cart: Dynamo's shopping cart resurrects a deleted item"
    )
    return parser


# -- simulate ---------------------------------------------------------------------------------


@dataclass
class _Plan:
    """When the faults of a ``simulate`` run happen (steps, 1-based; end exclusive)."""

    op_steps: int
    partition: tuple[int, int] | None
    crash: tuple[int, int] | None
    crashed: str
    groups: tuple[list[str], list[str]]

    @property
    def last_fault_step(self) -> int:
        ends = [self.op_steps]
        ends += [window[1] for window in (self.partition, self.crash) if window is not None]
        return max(ends)


@dataclass
class _Trace:
    """Per-step series for ``--plot``."""

    time_ms: list[int] = field(default_factory=list)
    lag_ms: dict[str, list[int]] = field(default_factory=dict)
    bytes_sent: list[int] = field(default_factory=list)


def _plan(options: argparse.Namespace, ids: list[str]) -> _Plan:
    op_steps = options.ops
    half = len(ids) // 2
    partition = None
    if options.partition:
        start = max(1, op_steps // 2 - options.partition // 2)
        partition = (start, start + options.partition)
    crash = None
    if options.crash:
        start = max(1, op_steps // 5)
        crash = (start, start + options.crash)
    return _Plan(op_steps, partition, crash, ids[-1], (ids[:half], ids[half:]))


def _skews(ids: list[str], skew: int) -> dict[str, int]:
    """Each replica's clock offset: evenly from 0 to ``skew`` ms (negative: behind)."""
    if not skew:
        return {}
    return {rid: round(skew * index / (len(ids) - 1)) for index, rid in enumerate(ids)}


def _syncs(options: argparse.Namespace) -> tuple[_Sync, ...]:
    return tuple(sync for sync in SYNCS if options.sync in ("both", sync))


def _start_state(type_name: str, preload: int) -> Any:
    """The unbound state every replica starts from: empty, or ``preload`` elements or keys.

    A stamped type's preload is written by a clock at simulated time 0, so it is older than
    every replica's clock, whatever the skew. Cost: O(preload) mutator calls.
    """
    state = template(type_name)
    if not preload:
        return state
    preload_spec = _preload_of(type_name)
    assert preload_spec is not None  # checked in _run_simulate
    put = preload_spec.put
    # a fixed incarnation, so that the bytes on the wire are the same in every run of a seed
    if hasattr(state, "clock"):
        clock = HLC("loader", now=lambda: 0)
        loader = state.copy(replica="loader", incarnation="1", clock=clock)
    else:
        loader = state.copy(replica="loader", incarnation="1")
    for index in range(preload):
        put(loader, f"loaded-{index}")
    return loader.copy(replica=None)


def _simulate(
    options: argparse.Namespace, sync: _Sync, *, on_step: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """One run with ``sync``; the report's entry for it (``_trace`` is for ``--plot``)."""
    ids = [f"r{index}" for index in range(options.replicas)]
    plan = _plan(options, ids)
    faults = Faults(
        drop=options.drop, duplicate=options.duplicate, reorder=options.reorder, delay=DELAY
    )
    network = Network(
        _start_state(options.type, options.preload),
        ids,
        sync=sync,
        faults=faults,
        seed=options.seed,
        clock_skew=_skews(ids, options.skew),
        interval=INTERVAL,
        fanout=FANOUT,
    )
    workload = random.Random(f"crdtkit-simulate-{options.seed}")
    reference = network.template
    trace = _Trace()
    redrawn = 0

    def record() -> None:
        if not options.plot:
            return
        trace.time_ms.append(network.time)
        for rid in ids:
            trace.lag_ms.setdefault(rid, []).append(network.lag(rid))
        trace.bytes_sent.append(network.metrics.bytes_sent)

    record()
    for step in range(1, plan.last_fault_step + 1):
        if plan.partition is not None:
            if step == plan.partition[0]:
                network.partition(*plan.groups)
            elif step == plan.partition[1]:
                network.heal()
        if plan.crash is not None:
            if step == plan.crash[0]:
                network.crash(plan.crashed)
            elif step == plan.crash[1]:
                network.restart(plan.crashed)
        if step <= plan.op_steps:
            live = [rid for rid in ids if network.replica(rid).up]
            replica = workload.choice(live)
            # a draw that would change nothing is drawn again, so --ops updates are made
            for _ in range(DRAWS_PER_STEP):
                delta = network.update(replica, operation(options.type, workload))
                if delta is not None:
                    reference.merge(delta)
                    break
                redrawn += 1
        network.step()
        record()
        if on_step is not None:
            on_step("updates" if step <= plan.op_steps else "faults")
    settle_steps = 0
    # stamps from a clock running ahead wait until the receivers' clocks catch up
    settle_limit = MAX_SETTLE_STEPS + abs(options.skew) // STEP_MS
    while not network.quiescent() and settle_steps < settle_limit:
        network.step()
        settle_steps += 1
        record()
        if on_step is not None:
            on_step("settling")
    metrics = network.metrics.as_dict()
    final = network.replica(ids[0]).state
    return {
        # converged: every replica holds the join of all updates (acks may still be in flight)
        "converged": network.converged() and final == reference,
        "replicas_agree": network.converged(),
        "settled": network.quiescent(),
        "steps": network.steps,
        "settle_steps": settle_steps,
        "updates": {
            "asked": options.ops,
            "made": metrics["updates"],
            "redrawn": redrawn,
            "why_redrawn": resolve(options.type).no_op or "the update changed nothing"
            if redrawn
            else None,
        },
        "metrics": metrics,
        "value": _json_value(final.value),
        "_trace": trace,
    }


def _json_value(value: Any) -> Any:
    """``value`` (a CRDT's ``.value``) as JSON data.

    Sets become lists, sorted when their elements are comparable (else by their JSON text);
    mappings become objects whose non-string keys are written as JSON text (``1`` -> ``"1"``);
    tuples become lists; bytes become hex strings; anything else JSON cannot hold becomes
    its ``repr``, as do infinite floats. Cost: O(n log n) for n elements.

    Examples:
        >>> _json_value(frozenset({"b", "a"})), _json_value({"k": frozenset({2, 1})})
        (['a', 'b'], {'k': [1, 2]})
        >>> _json_value((85, 31)), _json_value({1: True}), _json_value(b"\\x01")
        ([85, 31], {'1': True}, '01')
    """
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # JSON has no infinities
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    if isinstance(value, Mapping):
        return {_json_key(key): _json_value(item) for key, item in value.items()}
    if isinstance(value, set | frozenset):
        items = list(value)
        try:
            items.sort()
        except TypeError:
            items.sort(key=lambda item: json.dumps(_json_value(item), sort_keys=True))
        return [_json_value(item) for item in items]
    if isinstance(value, tuple | list):
        return [_json_value(item) for item in value]
    return repr(value)


def _json_key(key: Any) -> str:
    return key if isinstance(key, str) else json.dumps(_json_value(key), sort_keys=True)


def _config(options: argparse.Namespace) -> dict[str, Any]:
    ids = [f"r{index}" for index in range(options.replicas)]
    plan = _plan(options, ids)
    return {
        "type": options.type,
        "replicas": options.replicas,
        "ops": options.ops,
        "preload": options.preload,
        "sync": list(_syncs(options)),
        "drop": options.drop,
        "duplicate": options.duplicate,
        "reorder": options.reorder,
        "delay_steps": list(DELAY),
        "step_ms": STEP_MS,
        "interval_steps": INTERVAL,
        "partition": list(plan.partition) if plan.partition else None,
        "partition_groups": [list(group) for group in plan.groups] if plan.partition else None,
        "crash": [plan.crashed, *plan.crash] if plan.crash else None,
        "skew_ms": _skews(ids, options.skew),
        "seed": options.seed,
    }


def _type_label(type_name: str) -> str:
    """'an ORSet', 'a GCounter', 'an ORMap of ORSets'."""
    name = resolve(type_name).label or type(template(type_name)).__name__
    # initials read as letters: 'an' before those that sound like a vowel (an LWWMap, an MV...)
    article = "an" if name[0] in "AEFHILMNORSX" else "a"
    return f"{article} {name}"


def _comparison(runs: Mapping[str, Mapping[str, Any]], options: argparse.Namespace) -> Any:
    """Which protocol sent fewer bytes, by how much, and a reading of why (None: one ran)."""
    if set(runs) != set(SYNCS):
        return None
    delta, state = runs["delta"]["metrics"], runs["state"]["metrics"]

    def per_message(metrics: Mapping[str, Any]) -> str:
        sent: int = metrics["messages_sent"]
        return f"{metrics['bytes_sent'] / sent if sent else 0:,.0f}"

    delta_bytes, state_bytes = delta["bytes_sent"], state["bytes_sent"]
    winner = "delta" if delta_bytes <= state_bytes else "state"
    low, high = sorted((delta_bytes, state_bytes))
    ratio = round(high / low, 2) if low else None
    times = f"{ratio:.1f}x" if ratio is not None else "far"
    preload = _preload_of(options.type)
    if winner == "delta":
        reading = (
            f"Delta sync sent {times} fewer bytes than state sync: a state message "
            f"carried the whole state (about {per_message(state)} bytes here), a delta "
            f"message only recent changes (about {per_message(delta)} bytes). Deltas pay "
            "off when the state is large next to each update; with a small state, state "
            "sync's fewer messages win" + (" (try --preload 0)." if options.preload else ".")
        )
    else:
        if preload is None:
            hint = (
                f"; {_type_label(options.type)}'s state stays small whatever it holds, "
                "so state sync suits it"
            )
        elif options.preload < preload.default:
            hint = f" (try --preload {preload.default})"
        else:
            hint = " (try a larger --preload)"
        reading = (
            f"State sync sent {times} fewer bytes than delta sync: the state is small "
            f"(about {per_message(state)} bytes a message), so delta sync's extra messages, "
            "to every peer each round plus acknowledgements, cost more than resending it. "
            f"Deltas pay off when the state is large next to each update{hint}."
        )
    delta_steps, state_steps = delta["steps_to_converge"], state["steps_to_converge"]
    if delta_steps is not None and state_steps is not None:
        (fast, faster), (slow, slower) = sorted(((delta_steps, "delta"), (state_steps, "state")))
        if slow - fast <= 2:
            reading += (
                f" After the partition both converged about as fast ({delta_steps} steps "
                f"with deltas, {state_steps} with states)."
            )
        else:
            why = (
                "delta sync sends to every peer each round, state sync to "
                f"{'one' if FANOUT == 1 else FANOUT} random peer{'' if FANOUT == 1 else 's'}"
                if faster == "delta"
                else "a lost delta waits for its sender to time out and resend it, while "
                "every state message carries everything"
            )
            reading += (
                f" After the partition, {faster} sync converged in {fast} steps, {slower} "
                f"sync in {slow}: {why}."
            )
    return {"fewer_bytes": winner, "bytes_ratio": ratio, "reading": reading}


def _summary(result: Mapping[str, Any]) -> str:
    """The report's opening sentence: what happened, in plain words."""
    config, runs = result["config"], result["runs"]
    who = f"{config['replicas']} replicas of {_type_label(config['type'])}"
    if config["preload"]:
        who += f" that started with {config['preload']:,} {_preload_noun(config['type'])}"
    made = sorted({run["updates"]["made"] for run in runs.values()})
    updates = " or ".join(f"{count:,}" for count in made)
    network = "a lossy network" if config["drop"] else "a network"
    events = [
        name for name, key in (("a crash", "crash"), ("a partition", "partition")) if config[key]
    ]
    through = f", through {' and '.join(events)}" if events else ""
    if config["skew_ms"]:
        furthest = max(config["skew_ms"].values(), key=abs)
        through += f", clocks up to {abs(furthest):,} ms {'ahead' if furthest > 0 else 'behind'}"
    if all(run["converged"] for run in runs.values()):
        protocols = " and with ".join(f"{sync} sync" for sync in runs)
        alike = " alike" if len(runs) > 1 else ""
        outcome = f"with {protocols}{alike}, all replicas converged to the same value"
    else:
        outcomes = []
        for sync, run in runs.items():
            if run["converged"]:
                outcomes.append(f"with {sync} sync all replicas converged")
            elif run["replicas_agree"]:
                outcomes.append(f"with {sync} sync the replicas agree but lost updates")
            else:
                outcomes.append(
                    f"with {sync} sync the replicas still differed "
                    f"{run['settle_steps']:,} steps after the last fault"
                )
        outcome = "; ".join(outcomes)
    return f"{who} made {updates} updates over {network}{through}; {outcome}."


def _update_notes(runs: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Why a run drew more updates than it made, or made fewer than asked."""
    notes = []
    redrawn = {sync: run["updates"]["redrawn"] for sync, run in runs.items()}
    if any(redrawn.values()):
        why = next(
            run["updates"]["why_redrawn"] for run in runs.values() if run["updates"]["why_redrawn"]
        )
        counts = ", ".join(f"{count:,} with {sync} sync" for sync, count in redrawn.items())
        notes.append(
            f"Some drawn updates would have changed nothing ({why}) and were drawn again: {counts}."
        )
    for sync, run in runs.items():
        made, asked = run["updates"]["made"], run["updates"]["asked"]
        if made < asked:
            notes.append(
                f"With {sync} sync only {made:,} of {asked:,} updates were made: in the "
                f"other steps {DRAWS_PER_STEP} draws in a row would have changed nothing."
            )
    return notes


def _cell(value: Any, width: int) -> str:
    """A final value in a table cell: itself when short, else its size."""
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    if len(text) <= width:
        return text
    if isinstance(value, list):
        return f"{len(value):,} elements"
    if isinstance(value, dict):
        return f"{len(value):,} keys"
    return text[: width - 3] + "..."


def _report(result: Mapping[str, Any], out: TextIO, *, explain: bool) -> None:
    config, runs, plan = result["config"], result["runs"], result["_plan"]
    wrap = textwrap.TextWrapper(width=WIDTH - 2, break_on_hyphens=False)
    lines = [*wrap.wrap(result["summary"])]
    indent = textwrap.TextWrapper(
        width=WIDTH - 2, initial_indent="  ", subsequent_indent="  ", break_on_hyphens=False
    )
    for note in _update_notes(runs):
        lines += ["", *wrap.wrap(note)]
    scenario = (
        f"seed {config['seed']}; drop {config['drop']:.0%}, duplicate "
        f"{config['duplicate']:.0%}, reorder {config['reorder']:.0%}, delay "
        f"{DELAY[0]}-{DELAY[1]} steps of {STEP_MS} ms"
    )
    if plan.partition:
        left, right = plan.groups
        scenario += (
            f"; partition {' '.join(left)} | {' '.join(right)} during steps "
            f"{plan.partition[0]}-{plan.partition[1]}"
        )
    if plan.crash:
        scenario += f"; crash {plan.crashed} during steps {plan.crash[0]}-{plan.crash[1]}"
    if config["skew_ms"]:
        scenario += f"; clocks skewed 0 to {max(config['skew_ms'].values(), key=abs):,} ms"
    lines += ["", *indent.wrap(scenario), ""]

    def row(name: str, cell: Callable[[Mapping[str, Any]], str]) -> str:
        cells = "".join(f"{cell(run):<18}" for run in runs.values())
        return f"  {name:<22}{cells}".rstrip()

    def metric(key: str, form: str = ",") -> Callable[[Mapping[str, Any]], str]:
        return lambda run: format(run["metrics"][key], form)

    def to_converge(run: Mapping[str, Any]) -> str:
        steps = run["metrics"]["steps_to_converge"]
        if not plan.partition:
            return "n/a"
        return "never" if steps is None else f"{steps:,}"

    def mean_bytes(run: Mapping[str, Any]) -> str:
        metrics = run["metrics"]
        sent = metrics["messages_sent"]
        return f"{metrics['bytes_sent'] / sent:,.1f}" if sent else "0"

    header = "".join(f"{sync + ' sync':<18}" for sync in runs)
    lines.append(f"  {'':<22}{header}".rstrip())
    lines += [
        row("converged", lambda run: "yes" if run["converged"] else "NO"),
        row("steps to converge", to_converge),
        row(
            "steps in all",
            lambda run: f"{run['steps']:,}" + ("" if run["settled"] else " (unsettled)"),
        ),
        row("messages sent", metric("messages_sent")),
        row(
            "  acks / full states",
            lambda run: f"{run['metrics']['acks_sent']:,} / {run['metrics']['full_states_sent']:,}",
        ),
        row(
            "  lost / duplicated",
            lambda run: (
                f"{run['metrics']['messages_dropped']:,} / "
                f"{run['metrics']['messages_duplicated']:,}"
            ),
        ),
        row("bytes on the wire", metric("bytes_sent")),
        row("bytes per message", mean_bytes),
        row("bytes per update", metric("bytes_per_update", ",.1f")),
        row("max staleness", lambda run: f"{run['metrics']['max_staleness_ms']:,} ms"),
        row("drift retries", metric("drift_retries")),
        row("final value", lambda run: _cell(run["value"], 17)),
    ]
    comparison = result["comparison"]
    if comparison is not None:
        lines += ["", *wrap.wrap(comparison["reading"])]
    if explain:
        lines += ["", _legend()]
    else:
        lines += ["", "(--explain says what each row means; --json gives the full data)"]
    print("\n".join(lines), file=out)


def _plot(result: Mapping[str, Any], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plan: _Plan = result["_plan"]
    config, runs = result["config"], result["runs"]
    figure, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(8, 5.5))
    styles = {"delta": "-", "state": "--"}
    for sync, run in runs.items():
        trace: _Trace = run["_trace"]
        seconds = [ms / 1000 for ms in trace.time_ms]
        if len(runs) == 1:
            for rid, lags in trace.lag_ms.items():
                top.step(seconds, lags, where="post", linewidth=1, label=rid)
        else:
            worst = [max(lags) for lags in zip(*trace.lag_ms.values(), strict=True)]
            top.step(seconds, worst, styles[sync], where="post", linewidth=1, label=sync)
        bottom.plot(
            seconds, [b / 1024 for b in trace.bytes_sent], styles[sync], label=f"{sync} sync"
        )
    top.set_ylabel(
        "staleness (ms):\noldest update not seen"
        if len(runs) == 1
        else "worst staleness (ms):\noldest update not seen"
    )
    bottom.set_ylabel("KiB on the wire (cumulative)")
    bottom.set_xlabel("simulated time (s)")
    bottom.legend(loc="upper left", fontsize="small")
    for window, colour, label in (
        (plan.partition, "tab:orange", "partition"),
        (plan.crash, "tab:gray", f"{plan.crashed} crashed"),
    ):
        if window is not None:
            for axes in (top, bottom):
                axes.axvspan(
                    window[0] * STEP_MS / 1000,
                    window[1] * STEP_MS / 1000,
                    color=colour,
                    alpha=0.2,
                    label=label if axes is top else None,
                )
    top.legend(loc="upper left", fontsize="small", ncol=2)
    top.set_title(
        f"{config['type']}: {config['replicas']} replicas, "
        f"{' vs '.join(runs)} sync, drop {config['drop']:.0%}, seed {config['seed']}"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _progress_bar(options: argparse.Namespace, total: int) -> Any:
    wanted = options.progress
    if wanted is False:
        return None
    if importlib.util.find_spec("tqdm") is None:
        return None
    if wanted is None and not sys.stderr.isatty():
        return None
    tqdm = importlib.import_module("tqdm").tqdm
    return tqdm(total=total, unit="step", file=sys.stderr, desc="updates", leave=False)


def _public(result: Mapping[str, Any]) -> Any:
    """``result`` without the keys starting with ``_`` (plot data), at every level."""
    if isinstance(result, Mapping):
        return {key: _public(item) for key, item in result.items() if not key.startswith("_")}
    return result


def _run_simulate(options: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    # the argument's own mistake first: it is wrong whatever is installed
    if options.plot and not options.plot.lower().endswith(".png"):
        parser.error(f"--plot writes a PNG; name the file FILE.png, not {options.plot!r}")
    if options.plot and importlib.util.find_spec("matplotlib") is None:
        parser.error("--plot needs matplotlib: pip install 'crdtkit[plot]'")
    if options.preload is None:
        preload = _preload_of(options.type)
        options.preload = preload.default if preload is not None else 0
    elif options.preload and _preload_of(options.type) is None:
        parser.error(
            f"--preload needs a set or map type ({', '.join(_preloads())}); "
            f"{_type_label(options.type)}'s state does not grow with what it holds"
        )
    syncs = _syncs(options)
    plan = _plan(options, [f"r{index}" for index in range(options.replicas)])
    bar = _progress_bar(options, plan.last_fault_step * len(syncs))
    current = [syncs[0]]

    def tick(phase: str) -> None:
        if phase == "settling":
            bar.total += 1
        bar.set_description(f"{current[0]}: {phase}", refresh=False)
        bar.update(1)

    result: dict[str, Any] = {"version": _version(), "config": _config(options)}
    runs: dict[str, Any] = {}
    try:
        for sync in syncs:
            current[0] = sync
            runs[sync] = _simulate(options, sync, on_step=tick if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
    result.update(runs=runs, _plan=plan)
    result["summary"] = _summary(result)
    result["comparison"] = _comparison(runs, options)
    result["ok"] = all(run["converged"] for run in runs.values())
    if options.plot:
        try:
            _plot(result, options.plot)
        except OSError as error:
            print(f"crdtkit simulate: error: cannot write {options.plot}: {error}", file=sys.stderr)
            return 2
    if options.json:
        print(json.dumps(_public(result), indent=2, sort_keys=True, allow_nan=False))
    else:
        _report(result, sys.stdout, explain=options.explain)
        if options.plot:
            print(f"\n  plot written to {options.plot}")
    return 0 if result["ok"] else 1


# -- demo cart --------------------------------------------------------------------------------


@dataclass
class _DynamoReplica:
    """One Dynamo node's copy of a cart key: sibling versions, each with a vector clock."""

    name: str
    siblings: list[tuple[dict[str, int], VectorClock]] = field(default_factory=list)

    def read(self) -> tuple[dict[str, int], VectorClock]:
        """What a client reads: the union of the siblings, and the join of their clocks."""
        items: dict[str, int] = {}
        context = VectorClock()
        for cart, clock in self.siblings:
            for item, quantity in cart.items():
                items[item] = max(items.get(item, 0), quantity)
            context = context.merge(clock)
        return items, context

    def put(self, cart: dict[str, int], context: VectorClock) -> None:
        """Store a client's write: it supersedes every sibling its context covers."""
        clock = context.increment(self.name)
        self.siblings = [(c, v) for c, v in self.siblings if not clock.descends(v)]
        self.siblings.append((dict(cart), clock))

    def receive(self, other: _DynamoReplica) -> None:
        """Anti-entropy: keep every version no other version descends from."""
        versions = self.siblings + [s for s in other.siblings if s not in self.siblings]
        self.siblings = [
            (cart, clock)
            for cart, clock in versions
            if not any(o != clock and o.descends(clock) for _, o in versions)
        ]


def _show(items: dict[str, int]) -> str:
    return "{" + ", ".join(f"{item}: {quantity}" for item, quantity in sorted(items.items())) + "}"


def _demo_cart(out: TextIO) -> int:
    phone, laptop = _DynamoReplica("phone"), _DynamoReplica("laptop")
    network = Network(crdts.Cart, ["phone", "laptop"])

    def dynamo_edit(node: _DynamoReplica, edit: Callable[[dict[str, int]], object]) -> None:
        cart, context = node.read()
        edit(cart)
        node.put(cart, context)

    def cart_of(name: str) -> dict[str, int]:
        items: dict[str, int] = network.replica(name).state.quantities
        return items

    # a step's label on a line of its own, then (who, Dynamo's view, the Cart's view) lines
    rows: list[tuple[str, ...]] = []

    def both() -> None:
        for name, node in (("phone", phone), ("laptop", laptop)):
            rows.append((f"   {name}", _show(node.read()[0]), _show(cart_of(name))))

    # 1. the phone adds a book; both replicas see it
    dynamo_edit(phone, lambda cart: cart.update(book=1))
    laptop.receive(phone)
    network.update("phone", lambda cart: cart.add("book"))
    network.settle()
    rows.append(("1. phone adds a book; laptop syncs",))
    both()
    # 2. partition
    network.partition(["phone"], ["laptop"])
    rows.append(("2. partition: phone | laptop",))
    # 3. the phone removes the book
    dynamo_edit(phone, lambda cart: cart.pop("book"))
    network.update("phone", lambda cart: cart.remove("book"))
    rows.append(("3. phone removes the book",))
    rows.append(("   phone", _show(phone.read()[0]), _show(cart_of("phone"))))
    # 4. the laptop, unaware, adds a pen
    dynamo_edit(laptop, lambda cart: cart.update(pen=1))
    network.update("laptop", lambda cart: cart.add("pen"))
    rows.append(("4. laptop adds a pen",))
    rows.append(("   laptop", _show(laptop.read()[0]), _show(cart_of("laptop"))))
    # 5. heal: anti-entropy both ways
    phone.receive(laptop)
    laptop.receive(phone)
    network.heal()
    network.settle()
    siblings = " | ".join(_show(cart) for cart, _ in phone.siblings)
    rows.append(("5. heal; replicas exchange",))
    rows.append(("", f"siblings: {siblings}", "one state, no siblings"))
    rows.append(("   the client reads",))
    both()

    header = ("step", "Dynamo: union of sibling carts", "crdts.Cart (observed-remove map)")
    cells = [row for row in (header, *rows) if len(row) == 3]
    widths = [max(len(row[column]) for row in cells) for column in range(2)]
    print(
        "Dynamo's shopping-cart anomaly (DeCandia et al. 2007):",
        "one partitioned history, two merges",
        "",
        sep="\n",
        file=out,
    )
    for row in (header, *rows):
        if len(row) == 1:
            print(row[0], file=out)
        else:
            print(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]}".rstrip(), file=out)
    dynamo_final, cart_final = phone.read()[0], cart_of("phone")
    verdicts = [
        f"Dynamo: the deleted book is back ({_show(dynamo_final)}): the remove and the add "
        "were concurrent siblings, and their union keeps every item either one had.",
        f"crdts.Cart: the book stays deleted and the pen is kept ({_show(cart_final)}): the "
        "remove retired only the book it had observed.",
    ]
    print(
        "",
        *(textwrap.fill(text, width=WIDTH - 2, subsequent_indent="  ") for text in verdicts),
        sep="\n",
        file=out,
    )
    return 0 if "book" in dynamo_final and cart_final == {"pen": 1} else 1


# -- entry point ------------------------------------------------------------------------------


def _silence_stdout() -> None:
    """Point standard output at devnull, so the interpreter's last flush cannot fail again.

    The recipe of the Python docs' note on SIGPIPE: Python ignores the signal, so a write to
    a pipe whose reader has gone raises BrokenPipeError, and the data still buffered would
    raise it once more at exit.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):
        pass  # stdout is not a file (captured in-process): nothing will flush it to a pipe


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``crdtkit`` with ``argv`` (default: ``sys.argv[1:]``); return the exit status.

    Status 0: success; 1: a simulation did not converge to the join of all updates;
    2: bad arguments (one line on stderr); 130: interrupted (Ctrl-C, no traceback);
    141: standard output's reader went away (``crdtkit simulate --json | head -1``).
    """
    parser = build_parser()
    try:
        try:
            options = parser.parse_args(argv)
            if options.command == "simulate":
                status = _run_simulate(options, parser)
            else:
                status = _demo_cart(sys.stdout)
        except SystemExit as exit_:
            code = exit_.code
            status = code if isinstance(code, int) else (0 if code is None else 2)
        sys.stdout.flush()  # here, not at exit, so a closed pipe is caught below
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print(f"{parser.prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return status


if __name__ == "__main__":
    sys.exit(main())
