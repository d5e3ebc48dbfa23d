"""``crdtkit simulate``'s prose: the text report, its opening sentence, the reading of the
comparison, and what each term means (``--explain``, ``--help``)."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from merge._workloads import template
from merge.cli._common import WIDTH
from merge.cli.simulate import (
    DELAY,
    DRAWS_PER_STEP,
    FANOUT,
    INTERVAL,
    SYNCS,
    Comparison,
    Plan,
    SimulateConfig,
    SimulationResult,
    SimulationRun,
    Sync,
    preload_of,
)
from merge.harness import STEP_MS
from merge.registry import resolve

__all__ = ["JSON_KEYS", "TERMS", "comparison", "legend", "render", "summary", "type_label"]

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


def legend() -> str:
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


def preload_noun(type_name: str) -> str:
    """What ``--preload`` fills ``type_name`` with: "elements", "keys", "items", ..."""
    preload = preload_of(type_name)
    return preload.noun if preload is not None else "entries"


def type_label(type_name: str) -> str:
    """'an ORSet', 'a GCounter', 'an ORMap of ORSets'."""
    name = resolve(type_name).label or type(template(type_name)).__name__
    # initials read as letters: 'an' before those that sound like a vowel (an LWWMap, an MV...)
    article = "an" if name[0] in "AEFHILMNORSX" else "a"
    return f"{article} {name}"


def comparison(runs: Mapping[str, SimulationRun], config: SimulateConfig) -> Comparison | None:
    """Which protocol sent fewer bytes, by how much, and a reading of why (None: one ran)."""
    if set(runs) != set(SYNCS):
        return None
    delta, state = runs["delta"].metrics, runs["state"].metrics

    def per_message(metrics: Mapping[str, Any]) -> str:
        sent: int = metrics["messages_sent"]
        return f"{metrics['bytes_sent'] / sent if sent else 0:,.0f}"

    delta_bytes, state_bytes = delta["bytes_sent"], state["bytes_sent"]
    winner: Sync = "delta" if delta_bytes <= state_bytes else "state"
    low, high = sorted((delta_bytes, state_bytes))
    ratio = round(high / low, 2) if low else None
    times = f"{ratio:.1f}x" if ratio is not None else "far"
    preload = preload_of(config.type)
    if winner == "delta":
        reading = (
            f"Delta sync sent {times} fewer bytes than state sync: a state message "
            f"carried the whole state (about {per_message(state)} bytes here), a delta "
            f"message only recent changes (about {per_message(delta)} bytes). Deltas pay "
            "off when the state is large next to each update; with a small state, state "
            "sync's fewer messages win" + (" (try --preload 0)." if config.preload else ".")
        )
    else:
        if preload is None:
            hint = (
                f"; {type_label(config.type)}'s state stays small whatever it holds, "
                "so state sync suits it"
            )
        elif config.preload < preload.default:
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
    return Comparison(winner, ratio, reading)


def summary(config: SimulateConfig, runs: Mapping[str, SimulationRun]) -> str:
    """The report's opening sentence: what happened, in plain words."""
    who = f"{config.replicas} replicas of {type_label(config.type)}"
    if config.preload:
        who += f" that started with {config.preload:,} {preload_noun(config.type)}"
    made = sorted({run.updates.made for run in runs.values()})
    updates = " or ".join(f"{count:,}" for count in made)
    network = "a lossy network" if config.drop else "a network"
    events = [
        name
        for name, steps in (("a crash", config.crash), ("a partition", config.partition))
        if steps
    ]
    through = f", through {' and '.join(events)}" if events else ""
    skews = config.skews()
    if skews:
        furthest = max(skews.values(), key=abs)
        through += f", clocks up to {abs(furthest):,} ms {'ahead' if furthest > 0 else 'behind'}"
    if all(run.converged for run in runs.values()):
        protocols = " and with ".join(f"{sync} sync" for sync in runs)
        alike = " alike" if len(runs) > 1 else ""
        outcome = f"with {protocols}{alike}, all replicas converged to the same value"
    else:
        outcomes = []
        for sync, run in runs.items():
            if run.converged:
                outcomes.append(f"with {sync} sync all replicas converged")
            elif run.replicas_agree:
                outcomes.append(f"with {sync} sync the replicas agree but lost updates")
            else:
                outcomes.append(
                    f"with {sync} sync the replicas still differed "
                    f"{run.settle_steps:,} steps after the last fault"
                )
        outcome = "; ".join(outcomes)
    return f"{who} made {updates} updates over {network}{through}; {outcome}."


def _update_notes(runs: Mapping[str, SimulationRun]) -> list[str]:
    """Why a run drew more updates than it made, or made fewer than asked."""
    notes = []
    redrawn = {sync: run.updates.redrawn for sync, run in runs.items()}
    if any(redrawn.values()):
        why = next(run.updates.why_redrawn for run in runs.values() if run.updates.why_redrawn)
        counts = ", ".join(f"{count:,} with {sync} sync" for sync, count in redrawn.items())
        notes.append(
            f"Some drawn updates would have changed nothing ({why}) and were drawn again: {counts}."
        )
    for sync, run in runs.items():
        made, asked = run.updates.made, run.updates.asked
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


def _scenario(config: SimulateConfig, plan: Plan) -> str:
    """The line under the summary: seed, faults, and when the partition and crash happen."""
    scenario = (
        f"seed {config.seed}; drop {config.drop:.0%}, duplicate "
        f"{config.duplicate:.0%}, reorder {config.reorder:.0%}, delay "
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
    skews = config.skews()
    if skews:
        scenario += f"; clocks skewed 0 to {max(skews.values(), key=abs):,} ms"
    return scenario


def render(result: SimulationResult, out: TextIO, *, explain: bool) -> None:
    """Print the text report of ``result`` to ``out``: the summary, notes, the scenario, a
    table with a column per protocol, the comparison's reading and (``explain``) the terms."""
    runs = result.runs
    wrap = textwrap.TextWrapper(width=WIDTH - 2, break_on_hyphens=False)
    lines = [*wrap.wrap(result.summary)]
    indent = textwrap.TextWrapper(
        width=WIDTH - 2, initial_indent="  ", subsequent_indent="  ", break_on_hyphens=False
    )
    for note in _update_notes(runs):
        lines += ["", *wrap.wrap(note)]
    lines += ["", *indent.wrap(_scenario(result.config, result.plan)), ""]

    def row(name: str, cell: Callable[[SimulationRun], str]) -> str:
        cells = "".join(f"{cell(run):<18}" for run in runs.values())
        return f"  {name:<22}{cells}".rstrip()

    def metric(key: str, form: str = ",") -> Callable[[SimulationRun], str]:
        return lambda run: format(run.metrics[key], form)

    def to_converge(run: SimulationRun) -> str:
        steps = run.metrics["steps_to_converge"]
        if not result.plan.partition:
            return "n/a"
        return "never" if steps is None else f"{steps:,}"

    def mean_bytes(run: SimulationRun) -> str:
        sent = run.metrics["messages_sent"]
        return f"{run.metrics['bytes_sent'] / sent:,.1f}" if sent else "0"

    header = "".join(f"{sync + ' sync':<18}" for sync in runs)
    lines.append(f"  {'':<22}{header}".rstrip())
    lines += [
        row("converged", lambda run: "yes" if run.converged else "NO"),
        row("steps to converge", to_converge),
        row(
            "steps in all",
            lambda run: f"{run.steps:,}" + ("" if run.settled else " (unsettled)"),
        ),
        row("messages sent", metric("messages_sent")),
        row(
            "  acks / full states",
            lambda run: f"{run.metrics['acks_sent']:,} / {run.metrics['full_states_sent']:,}",
        ),
        row(
            "  lost / duplicated",
            lambda run: (
                f"{run.metrics['messages_dropped']:,} / {run.metrics['messages_duplicated']:,}"
            ),
        ),
        row("bytes on the wire", metric("bytes_sent")),
        row("bytes per message", mean_bytes),
        row("bytes per update", metric("bytes_per_update", ",.1f")),
        row("max staleness", lambda run: f"{run.metrics['max_staleness_ms']:,} ms"),
        row("drift retries", metric("drift_retries")),
        row("final value", lambda run: _cell(run.value, 17)),
    ]
    if result.comparison is not None:
        lines += ["", *wrap.wrap(result.comparison.reading)]
    if explain:
        lines += ["", legend()]
    else:
        lines += ["", "(--explain says what each row means; --json gives the full data)"]
    print("\n".join(lines), file=out)
