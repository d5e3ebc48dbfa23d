"""The ``crdtkit`` command: watch replicas converge through faults, and see Dynamo's cart bug.

``crdtkit simulate`` runs a seeded :class:`~merge.harness.Network`: random updates at random
replicas while messages are lost, duplicated and reordered, one replica crashes and restarts
and the cluster is split in half for a while; then it heals, lets anti-entropy settle, and
reports convergence, traffic and staleness. ``crdtkit demo cart`` replays one partitioned
shopping session through Dynamo's union-of-siblings merge and through ``crdts.Cart``.

Run it as ``crdtkit`` (the console script) or ``python -m merge.cli``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn, TextIO

import crdts
from clocks import VectorClock
from merge._workloads import TYPE_NAMES, operation, template
from merge.harness import STEP_MS, Faults, Network

__all__ = ["main"]

#: Delay of every message, in steps (reordered ones are held back longer).
DELAY = (1, 3)
#: Steps ``simulate`` lets anti-entropy run after the last fault before giving up.
MAX_SETTLE_STEPS = 3_000


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


def _count(least: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"{value} is less than {least}")
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
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    simulate = commands.add_parser(
        "simulate",
        help="run a seeded multi-replica simulation with faults",
        description=(
            "Run random updates on a simulated faulty network, heal, settle, and report "
            f"convergence, messages, bytes and staleness. One step is {STEP_MS} ms of "
            f"simulated time; one update is made per step; messages take {DELAY[0]}-"
            f"{DELAY[1]} steps."
        ),
    )
    simulate.add_argument(
        "--type",
        choices=TYPE_NAMES,
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
        "--sync",
        choices=("delta", "state"),
        default="delta",
        help="acknowledged delta intervals or full-state gossip (default: %(default)s)",
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
        help="clock skew: replica clocks run 0 to MS ms ahead, evenly spread; stamps more "
        "than 500 ms ahead are deferred by receivers (default: %(default)s)",
    )
    simulate.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    simulate.add_argument("--json", action="store_true", help="print the report as JSON")
    simulate.add_argument(
        "--plot",
        metavar="FILE.png",
        help="draw each replica's staleness and the bytes on the wire over time "
        "(needs crdtkit[plot])",
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
    if not skew:
        return {}
    return {rid: round(skew * index / (len(ids) - 1)) for index, rid in enumerate(ids)}


def _simulate(
    options: argparse.Namespace, *, on_step: Callable[[str], None] | None = None
) -> dict[str, Any]:
    ids = [f"r{index}" for index in range(options.replicas)]
    plan = _plan(options, ids)
    faults = Faults(
        drop=options.drop, duplicate=options.duplicate, reorder=options.reorder, delay=DELAY
    )
    network = Network(
        template(options.type),
        ids,
        sync=options.sync,
        faults=faults,
        seed=options.seed,
        clock_skew=_skews(ids, options.skew),
    )
    workload = random.Random(f"crdtkit-simulate-{options.seed}")
    reference = network.template
    trace = _Trace()

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
            delta = network.update(workload.choice(live), operation(options.type, workload))
            if delta is not None:
                reference.merge(delta)
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
    settled = network.quiescent()
    metrics = network.metrics
    final = network.replica(ids[0]).state
    # converged: every replica holds the join of all updates (acks may still be in flight)
    matches = network.converged() and final == reference
    return {
        "config": {
            "type": options.type,
            "replicas": options.replicas,
            "ops": options.ops,
            "sync": options.sync,
            "drop": options.drop,
            "duplicate": options.duplicate,
            "reorder": options.reorder,
            "delay_steps": list(DELAY),
            "step_ms": STEP_MS,
            "partition": list(plan.partition) if plan.partition else None,
            "partition_groups": [list(group) for group in plan.groups] if plan.partition else None,
            "crash": [plan.crashed, *plan.crash] if plan.crash else None,
            "skew_ms": _skews(ids, options.skew),
            "seed": options.seed,
        },
        "converged": network.converged(),
        "settled": settled,
        "matches_reference": matches,
        "steps": network.steps,
        "settle_steps": settle_steps,
        "metrics": metrics.as_dict(),
        "value": _short(final.value),
        "_trace": trace,
        "_plan": plan,
    }


def _short(value: Any, limit: int = 72) -> str:
    if isinstance(value, frozenset | set):
        text = "{" + ", ".join(sorted(map(repr, value))) + "}"
    elif isinstance(value, dict):
        text = "{" + ", ".join(f"{k!r}: {_short(v, limit)}" for k, v in sorted(value.items())) + "}"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _report(result: dict[str, Any], out: TextIO) -> None:
    config, metrics, plan = result["config"], result["metrics"], result["_plan"]
    lines = [
        f"crdtkit simulate: {config['type']}, {config['replicas']} replicas, "
        f"{config['sync']} sync, seed {config['seed']}",
        f"faults: drop {config['drop']:.0%}, duplicate {config['duplicate']:.0%}, "
        f"reorder {config['reorder']:.0%}, delay {DELAY[0]}-{DELAY[1]} steps of {STEP_MS} ms",
    ]
    events = []
    if plan.partition:
        left, right = plan.groups
        events.append(
            f"partition {' '.join(left)} | {' '.join(right)} during steps "
            f"{plan.partition[0]}-{plan.partition[1]}"
        )
    if plan.crash:
        events.append(f"crash {plan.crashed} during steps {plan.crash[0]}-{plan.crash[1]}")
    if config["skew_ms"]:
        events.append(f"clocks skewed 0 to {max(config['skew_ms'].values(), key=abs)} ms")
    if events:
        lines.append("        " + "; ".join(events))
    yes_no = {True: "yes", False: "NO"}
    converged = yes_no[bool(result["matches_reference"])]
    if result["matches_reference"]:
        converged += f", every replica equals the join of all {metrics['updates']} updates"
    elif not result["converged"]:
        converged += f", replicas still differ {result['settle_steps']} steps after the last fault"
    else:
        converged += ", the replicas agree but differ from the join of all updates"
    to_converge = metrics["steps_to_converge"]
    rows = [
        ("converged", converged),
        (
            "steps",
            f"{result['steps']} ({plan.last_fault_step} of updates and faults, then "
            + (
                f"{result['settle_steps']} to settle)"
                if result["settled"]
                else f"{result['settle_steps']} with anti-entropy still unfinished)"
            ),
        ),
        (
            "steps to converge",
            "n/a (no partition)"
            if not plan.partition
            else (f"{to_converge} after the heal" if to_converge is not None else "never"),
        ),
        (
            "messages",
            f"{metrics['messages_sent']:,} sent, {metrics['messages_delivered']:,} delivered, "
            f"{metrics['messages_dropped']:,} dropped, "
            f"{metrics['messages_duplicated']:,} duplicated",
        ),
        ("acks / full states", f"{metrics['acks_sent']:,} / {metrics['full_states_sent']:,}"),
        ("bytes on the wire", f"{metrics['bytes_sent']:,}"),
        ("bytes per update", f"{metrics['bytes_per_update']:,.1f}"),
        (
            "max staleness",
            f"{metrics['max_staleness_ms']:,} ms (mean per replica up to "
            f"{max(metrics['staleness_mean_ms'].values(), default=0):,.1f} ms)",
        ),
        ("drift retries", f"{metrics['drift_retries']:,}"),
        ("final value", result["value"]),
    ]
    lines.append("")
    lines += [f"  {name:<20} {text}" for name, text in rows]
    print("\n".join(lines), file=out)


def _plot(result: dict[str, Any], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trace: _Trace = result["_trace"]
    plan: _Plan = result["_plan"]
    config = result["config"]
    figure, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(8, 5.5))
    seconds = [ms / 1000 for ms in trace.time_ms]
    for rid, lags in trace.lag_ms.items():
        top.step(seconds, lags, where="post", linewidth=1, label=rid)
    top.set_ylabel("staleness (ms):\noldest update not seen")
    bottom.plot(seconds, [b / 1024 for b in trace.bytes_sent], color="tab:blue")
    bottom.set_ylabel("KiB on the wire (cumulative)")
    bottom.set_xlabel("simulated time (s)")
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
        f"{config['type']}: {config['replicas']} replicas, {config['sync']} sync, "
        f"drop {config['drop']:.0%}, seed {config['seed']}"
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


def _run_simulate(options: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    # the argument's own mistake first: it is wrong whatever is installed
    if options.plot and not options.plot.lower().endswith(".png"):
        parser.error(f"--plot writes a PNG; name the file FILE.png, not {options.plot!r}")
    if options.plot and importlib.util.find_spec("matplotlib") is None:
        parser.error("--plot needs matplotlib: pip install 'crdtkit[plot]'")
    plan = _plan(options, [f"r{index}" for index in range(options.replicas)])
    bar = _progress_bar(options, plan.last_fault_step)

    def tick(phase: str) -> None:
        if phase == "settling":
            bar.total += 1
        bar.set_description(phase, refresh=False)
        bar.update(1)

    try:
        result = _simulate(options, on_step=tick if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
    if options.plot:
        try:
            _plot(result, options.plot)
        except OSError as error:
            print(f"crdtkit simulate: error: cannot write {options.plot}: {error}", file=sys.stderr)
            return 2
    if options.json:
        public = {key: value for key, value in result.items() if not key.startswith("_")}
        print(json.dumps(public, indent=2, sort_keys=True))
    else:
        _report(result, sys.stdout)
        if options.plot:
            print(f"\n  plot written to {options.plot}")
    return 0 if result["matches_reference"] else 1


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
        items: dict[str, int] = network.replica(name).state.items
        return items

    rows: list[tuple[str, str, str]] = []

    def both(label: str) -> None:
        for index, name in enumerate(("phone", "laptop")):
            node = phone if name == "phone" else laptop
            rows.append(
                (
                    label if index == 0 else "",
                    f"{name:<7}{_show(node.read()[0])}",
                    f"{name:<7}{_show(cart_of(name))}",
                )
            )

    # 1. the phone adds a book; both replicas see it
    dynamo_edit(phone, lambda cart: cart.update(book=1))
    laptop.receive(phone)
    network.update("phone", lambda cart: cart.add("book"))
    network.settle()
    both("1. phone adds a book; laptop syncs")
    # 2. partition
    network.partition(["phone"], ["laptop"])
    rows.append(("2. partition: phone | laptop", "", ""))
    # 3. the phone removes the book
    dynamo_edit(phone, lambda cart: cart.pop("book"))
    network.update("phone", lambda cart: cart.remove("book"))
    rows.append(
        (
            "3. phone removes the book",
            f"phone  {_show(phone.read()[0])}",
            f"phone  {_show(cart_of('phone'))}",
        )
    )
    # 4. the laptop, unaware, adds a pen
    dynamo_edit(laptop, lambda cart: cart.update(pen=1))
    network.update("laptop", lambda cart: cart.add("pen"))
    rows.append(
        (
            "4. laptop adds a pen",
            f"laptop {_show(laptop.read()[0])}",
            f"laptop {_show(cart_of('laptop'))}",
        )
    )
    # 5. heal: anti-entropy both ways
    phone.receive(laptop)
    laptop.receive(phone)
    network.heal()
    network.settle()
    siblings = " | ".join(_show(cart) for cart, _ in phone.siblings)
    rows.append(("5. heal; replicas exchange", f"siblings: {siblings}", "one state, no siblings"))
    both("   the client reads")

    widths = [max(len(row[column]) for row in rows) for column in range(2)]
    header = ("step", "Dynamo: union of sibling carts", "crdts.Cart (observed-remove map)")
    widths = [max(widths[0], len(header[0])), max(widths[1], len(header[1]))]
    print(
        "Dynamo's shopping-cart anomaly (DeCandia et al. 2007): one partitioned history, "
        "two merges\n",
        file=out,
    )
    for row in (header, *rows):
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
        *(textwrap.fill(text, width=92, subsequent_indent="  ") for text in verdicts),
        sep="\n",
        file=out,
    )
    return 0 if "book" in dynamo_final and cart_final == {"pen": 1} else 1


# -- entry point ------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``crdtkit`` with ``argv`` (default: ``sys.argv[1:]``); return the exit status.

    Status 0: success; 1: a simulation did not converge to the join of all updates;
    2: bad arguments (one line on stderr).
    """
    parser = build_parser()
    try:
        options = parser.parse_args(argv)
        if options.command == "simulate":
            return _run_simulate(options, parser)
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    return _demo_cart(sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
