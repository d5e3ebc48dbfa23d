"""The ``crdtkit`` command: watch replicas converge through faults, see Dynamo's cart bug, and
run the consistency lab's scenarios.

``crdtkit simulate`` runs a seeded :class:`~merge.harness.Network` once with delta sync and
once with state sync: random updates at random replicas while messages are lost, duplicated
and reordered, one replica crashes and restarts and the cluster is split in half for a while;
then it heals, lets anti-entropy settle, and reports, side by side, whether the replicas
converged and what each protocol cost (messages, bytes, staleness). ``crdtkit demo cart``
replays one partitioned shopping session through Dynamo's union-of-siblings merge and
through ``crdts.Cart``. ``crdtkit lab NAME`` runs a scenario of ``merge.lab``'s catalog.

Run it as ``crdtkit`` (the console script) or ``python -m merge.cli``. Exit status: 0 every
run converged; 1 a run did not; 2 bad arguments; 130 interrupted (Ctrl-C); 141 the reader of
standard output went away (``crdtkit simulate --json | head -1``).

The package, one job per module: ``simulate`` (the configuration, plans, runs and typed
results), ``report`` (the text report), ``plot`` (``--plot``), ``simulate_command``
(``simulate``'s options), ``demo`` (the cart demo), ``lab`` (``crdtkit lab``, generic over
the scenario catalog) and ``_common`` (what they share). ``commands()`` is the table of
subcommands that ``build_parser`` and ``main`` read.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from merge._workloads import operation
from merge.cli import demo, lab, simulate_command
from merge.cli._common import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, Parser
from merge.cli._common import json_value as _json_value  # noqa: F401  # kept, see _PRELOAD
from merge.cli._common import version as _version
from merge.cli.simulate import MAX_SETTLE_STEPS
from merge.cli.simulate import preloads as _preloads
from merge.lab import Scenario

__all__ = ["Command", "build_parser", "commands", "main"]

#: The types ``--preload`` fills, by name (kept, like ``_json_value``, for callers of the
#: single-module CLI). ``operation`` and ``MAX_SETTLE_STEPS`` are read from this module at
#: each run, so replacing them here changes what ``simulate`` does.
_PRELOAD = _preloads()


@dataclass(frozen=True)
class Command:
    """One subcommand: its ``name``, a function adding its options to its parser, the
    function running it (``run(options, parser) -> exit status``) and the keywords its parser
    is made with (help, description, ...)."""

    name: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, argparse.ArgumentParser], int]
    parser_options: Mapping[str, Any] = field(default_factory=dict)


def _run_simulate(options: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    # read here, at call time: the workload and the settle limit can be replaced on merge.cli
    return simulate_command.run_command(
        options, parser, operation=operation, max_settle_steps=MAX_SETTLE_STEPS
    )


def commands(scenarios: Sequence[Scenario] | None = None) -> tuple[Command, ...]:
    """The subcommands, in ``--help`` order; ``lab`` offers ``scenarios`` (default: every
    scenario in ``merge.lab``'s catalog)."""
    return (
        Command(
            "simulate",
            simulate_command.add_arguments,
            _run_simulate,
            simulate_command.PARSER_OPTIONS,
        ),
        Command(
            "demo",
            demo.add_arguments,
            demo.run,
            {
                "help": "replay a documented anomaly",
                "description": "Replay a documented anomaly next to the crdtkit type that "
                "avoids it.",
            },
        ),
        Command(
            "lab", partial(lab.add_arguments, scenarios_=scenarios), lab.run, lab.PARSER_OPTIONS
        ),
    )


def build_parser(*, scenarios: Sequence[Scenario] | None = None) -> argparse.ArgumentParser:
    """The ``crdtkit`` argument parser, one subparser per entry of ``commands(scenarios)``."""
    parser = Parser(
        prog="crdtkit",
        description="Replicated data that merges without coordination: simulations and demos.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in commands(scenarios):
        subparser = subparsers.add_parser(command.name, **command.parser_options)
        command.add_arguments(subparser)
        subparser.set_defaults(run=command.run)
    return parser


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


def main(argv: Sequence[str] | None = None, *, scenarios: Sequence[Scenario] | None = None) -> int:
    """Run ``crdtkit`` with ``argv`` (default: ``sys.argv[1:]``); return the exit status.

    ``scenarios`` replaces the catalog that ``crdtkit lab`` offers (for tests and for tools
    built on crdtkit). Status 0: success; 1: a simulation did not converge to the join of all
    updates; 2: bad arguments (one line on stderr); 130: interrupted (Ctrl-C, no traceback);
    141: standard output's reader went away (``crdtkit simulate --json | head -1``).
    """
    parser = build_parser(scenarios=scenarios)
    try:
        try:
            options = parser.parse_args(argv)
            run: Callable[[argparse.Namespace, argparse.ArgumentParser], int] = options.run
            status = run(options, parser)
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
