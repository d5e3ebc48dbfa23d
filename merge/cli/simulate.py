"""``crdtkit simulate``'s model: a frozen configuration, the plan of its faults, one seeded run
per sync protocol, and typed results.

A [`SimulateConfig`][merge.cli.simulate.SimulateConfig] fixes everything a run depends on;
``plan`` says when the faults happen; ``run`` plays one sync protocol through them and
returns a [`SimulationRun`][merge.cli.simulate.SimulationRun]; a
[`SimulationResult`][merge.cli.simulate.SimulationResult] holds every run, the
[`Comparison`][merge.cli.simulate.Comparison] of the protocols and the report's summary, and
``as_dict()`` / ``as_json()`` give what ``--json`` prints. The prose (the summary sentence and
the comparison's reading) is written by ``merge.cli.report``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from clocks import HLC
from merge._workloads import operation as default_operation
from merge._workloads import template
from merge.cli._common import json_value
from merge.harness import STEP_MS, Faults, Network
from merge.registry import Preload, profiles, resolve

__all__ = [
    "DELAY",
    "DRAWS_PER_STEP",
    "FANOUT",
    "INTERVAL",
    "MAX_PRELOAD",
    "MAX_SETTLE_STEPS",
    "SYNCS",
    "Comparison",
    "Plan",
    "SimulateConfig",
    "SimulationResult",
    "SimulationRun",
    "Sync",
    "Trace",
    "Updates",
    "plan",
    "preload_of",
    "preloads",
    "run",
]

Sync = Literal["delta", "state"]
#: A workload: a random update of the named type, drawn from the generator.
Operation = Callable[[str, random.Random], Callable[[Any], Any]]

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
#: The sync protocols, in report order.
SYNCS: tuple[Sync, ...] = ("delta", "state")


def preloads() -> dict[str, Preload]:
    """The registered types ``--preload`` fills, by name (see :mod:`merge.registry`)."""
    return {entry.name: entry.preload for entry in profiles() if entry.preload is not None}


def preload_of(type_name: str) -> Preload | None:
    """How ``--preload`` fills ``type_name`` (None: its state does not grow)."""
    return resolve(type_name).preload


@dataclass(frozen=True)
class SimulateConfig:
    """Everything one ``crdtkit simulate`` depends on; the options, checked and resolved.

    ``preload`` is resolved (a number, not None); ``record_trace`` keeps per-step series for
    ``--plot``; ``max_settle_steps`` bounds anti-entropy after the last fault.
    """

    type: str
    replicas: int
    ops: int
    preload: int
    syncs: tuple[Sync, ...]
    drop: float
    duplicate: float
    reorder: float
    partition: int
    crash: int
    skew: int
    seed: int
    record_trace: bool = False
    max_settle_steps: int = MAX_SETTLE_STEPS

    @property
    def ids(self) -> list[str]:
        """The replica ids, ``r0``, ``r1``, ..."""
        return [f"r{index}" for index in range(self.replicas)]

    def skews(self) -> dict[str, int]:
        """Each replica's clock offset: evenly from 0 to ``skew`` ms (negative: behind)."""
        ids = self.ids
        if not self.skew:
            return {}
        return {rid: round(self.skew * index / (len(ids) - 1)) for index, rid in enumerate(ids)}

    def as_dict(self) -> dict[str, Any]:
        """The ``config`` object of ``--json``: the options, with the windows in steps."""
        windows = plan(self)
        return {
            "type": self.type,
            "replicas": self.replicas,
            "ops": self.ops,
            "preload": self.preload,
            "sync": list(self.syncs),
            "drop": self.drop,
            "duplicate": self.duplicate,
            "reorder": self.reorder,
            "delay_steps": list(DELAY),
            "step_ms": STEP_MS,
            "interval_steps": INTERVAL,
            "partition": list(windows.partition) if windows.partition else None,
            "partition_groups": (
                [list(group) for group in windows.groups] if windows.partition else None
            ),
            "crash": [windows.crashed, *windows.crash] if windows.crash else None,
            "skew_ms": self.skews(),
            "seed": self.seed,
        }


@dataclass(frozen=True)
class Plan:
    """When the faults of a ``simulate`` run happen (steps, 1-based; end exclusive)."""

    op_steps: int
    partition: tuple[int, int] | None
    crash: tuple[int, int] | None
    crashed: str
    groups: tuple[list[str], list[str]]

    @property
    def last_fault_step(self) -> int:
        """The step after which only anti-entropy runs."""
        ends = [self.op_steps]
        ends += [window[1] for window in (self.partition, self.crash) if window is not None]
        return max(ends)


def plan(config: SimulateConfig) -> Plan:
    """The fault windows of ``config``: the partition mid-run, the crash a fifth in."""
    ids = config.ids
    op_steps = config.ops
    half = len(ids) // 2
    partition = None
    if config.partition:
        start = max(1, op_steps // 2 - config.partition // 2)
        partition = (start, start + config.partition)
    crash = None
    if config.crash:
        start = max(1, op_steps // 5)
        crash = (start, start + config.crash)
    return Plan(op_steps, partition, crash, ids[-1], (ids[:half], ids[half:]))


@dataclass
class Trace:
    """Per-step series for ``--plot`` (filled while a run goes)."""

    time_ms: list[int] = field(default_factory=list)
    lag_ms: dict[str, list[int]] = field(default_factory=dict)
    bytes_sent: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Updates:
    """Updates asked for, made, and drawn again because they would have changed nothing."""

    asked: int
    made: int
    redrawn: int
    why_redrawn: str | None

    def as_dict(self) -> dict[str, Any]:
        """The ``updates`` object of a run in ``--json``."""
        return {
            "asked": self.asked,
            "made": self.made,
            "redrawn": self.redrawn,
            "why_redrawn": self.why_redrawn,
        }


@dataclass(frozen=True)
class SimulationRun:
    """One run with one sync protocol. ``converged``: every replica holds the join of all
    updates (acks may still be in flight); ``value`` is the first replica's final value as
    JSON data; ``trace`` is for ``--plot`` (empty unless the config records it)."""

    sync: Sync
    converged: bool
    replicas_agree: bool
    settled: bool
    steps: int
    settle_steps: int
    updates: Updates
    metrics: Mapping[str, Any]
    value: Any
    trace: Trace = field(compare=False, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """The run's entry in ``--json`` (without the trace)."""
        return {
            "converged": self.converged,
            "replicas_agree": self.replicas_agree,
            "settled": self.settled,
            "steps": self.steps,
            "settle_steps": self.settle_steps,
            "updates": self.updates.as_dict(),
            "metrics": dict(self.metrics),
            "value": self.value,
        }


@dataclass(frozen=True)
class Comparison:
    """Which protocol sent fewer bytes, by how much (None: the other sent none), and the
    report's reading of why."""

    fewer_bytes: Sync
    bytes_ratio: float | None
    reading: str

    def as_dict(self) -> dict[str, Any]:
        """The ``comparison`` object of ``--json``."""
        return {
            "fewer_bytes": self.fewer_bytes,
            "bytes_ratio": self.bytes_ratio,
            "reading": self.reading,
        }


@dataclass(frozen=True)
class SimulationResult:
    """Every run of one ``crdtkit simulate``, the comparison (None unless both protocols
    ran) and the summary sentence."""

    version: str
    config: SimulateConfig
    plan: Plan
    runs: Mapping[str, SimulationRun]
    summary: str
    comparison: Comparison | None

    @property
    def ok(self) -> bool:
        """Every run converged (the exit status is 0)."""
        return all(run.converged for run in self.runs.values())

    def as_dict(self) -> dict[str, Any]:
        """What ``--json`` prints (see ``crdtkit simulate --help``)."""
        return {
            "version": self.version,
            "config": self.config.as_dict(),
            "runs": {sync: entry.as_dict() for sync, entry in self.runs.items()},
            "summary": self.summary,
            "comparison": self.comparison.as_dict() if self.comparison is not None else None,
            "ok": self.ok,
        }

    def as_json(self) -> str:
        """``as_dict()`` as indented JSON with sorted keys."""
        return json.dumps(self.as_dict(), indent=2, sort_keys=True, allow_nan=False)


def _start_state(type_name: str, preload: int) -> Any:
    """The unbound state every replica starts from: empty, or ``preload`` elements or keys.

    A stamped type's preload is written by a clock at simulated time 0, so it is older than
    every replica's clock, whatever the skew. Cost: O(preload) mutator calls.
    """
    state = template(type_name)
    if not preload:
        return state
    preload_spec = preload_of(type_name)
    assert preload_spec is not None  # checked when the options were read
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


def run(
    config: SimulateConfig,
    sync: Sync,
    *,
    operation: Operation = default_operation,
    on_step: Callable[[str], None] | None = None,
) -> SimulationRun:
    """One run of ``config`` with ``sync``: updates and faults, then anti-entropy until quiet
    or ``config.max_settle_steps`` steps. ``operation`` draws each random update;
    ``on_step`` is called after each step with the phase (``"updates"``, ``"faults"``,
    ``"settling"``). Cost: O(steps * replicas) network steps."""
    ids = config.ids
    windows = plan(config)
    faults = Faults(
        drop=config.drop, duplicate=config.duplicate, reorder=config.reorder, delay=DELAY
    )
    network = Network(
        _start_state(config.type, config.preload),
        ids,
        sync=sync,
        faults=faults,
        seed=config.seed,
        clock_skew=config.skews(),
        interval=INTERVAL,
        fanout=FANOUT,
    )
    workload = random.Random(f"crdtkit-simulate-{config.seed}")
    reference = network.template
    trace = Trace()
    redrawn = 0

    def record() -> None:
        if not config.record_trace:
            return
        trace.time_ms.append(network.time)
        for rid in ids:
            trace.lag_ms.setdefault(rid, []).append(network.lag(rid))
        trace.bytes_sent.append(network.metrics.bytes_sent)

    record()
    for step in range(1, windows.last_fault_step + 1):
        if windows.partition is not None:
            if step == windows.partition[0]:
                network.partition(*windows.groups)
            elif step == windows.partition[1]:
                network.heal()
        if windows.crash is not None:
            if step == windows.crash[0]:
                network.crash(windows.crashed)
            elif step == windows.crash[1]:
                network.restart(windows.crashed)
        if step <= windows.op_steps:
            live = [rid for rid in ids if network.replica(rid).up]
            replica = workload.choice(live)
            # a draw that would change nothing is drawn again, so --ops updates are made
            for _ in range(DRAWS_PER_STEP):
                delta = network.update(replica, operation(config.type, workload))
                if delta is not None:
                    reference.merge(delta)
                    break
                redrawn += 1
        network.step()
        record()
        if on_step is not None:
            on_step("updates" if step <= windows.op_steps else "faults")
    settle_steps = 0
    # stamps from a clock running ahead wait until the receivers' clocks catch up
    settle_limit = config.max_settle_steps + abs(config.skew) // STEP_MS
    while not network.quiescent() and settle_steps < settle_limit:
        network.step()
        settle_steps += 1
        record()
        if on_step is not None:
            on_step("settling")
    metrics = network.metrics.as_dict()
    final = network.replica(ids[0]).state
    # as before the split: a type's no_op text is given even when nothing was redrawn
    why = resolve(config.type).no_op or ("the update changed nothing" if redrawn else None)
    return SimulationRun(
        sync=sync,
        converged=network.converged() and final == reference,
        replicas_agree=network.converged(),
        settled=network.quiescent(),
        steps=network.steps,
        settle_steps=settle_steps,
        updates=Updates(config.ops, metrics["updates"], redrawn, why),
        metrics=metrics,
        value=json_value(final.value),
        trace=trace,
    )
