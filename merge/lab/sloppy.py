"""Sloppy quorums with hinted handoff (Dynamo, SOSP 2007, section 4.6), event by event.

One key lives on ``n`` home replicas, the first ``n`` nodes of its preference list; the
next nodes are fallbacks. A coordinator writes to ``n`` nodes and answers after ``w``
acknowledgements, and reads from ``n`` and answers with the newest of the first ``r``
replies. A partition then cuts the coordinator off from ``cut`` of the home replicas for
``partition_s`` seconds:

* a **strict** quorum keeps writing to the home replicas only, so with fewer than ``w`` of
  them reachable every write fails (the reachable homes still store it, unacknowledged);
* a **sloppy** quorum writes to the first ``n`` *reachable* nodes of the preference list:
  each fallback that stands in for an unreachable home keeps the write in a separate store
  with a **hint** naming that home, and the write succeeds with ``w`` acknowledgements
  from any of them.

After the heal, reads go to the home replicas again. Until every hint has been handed off,
a read whose ``r`` replies all come from homes that missed the writes is stale, even with
``r + w > n``. Each fallback scans its hints every ``handoff_interval_s`` and sends each one
whose home is reachable; the home applies it and acknowledges, and the fallback deletes the
hint. A fallback that crashes first loses its hints: its home stays behind until
anti-entropy (Merkle trees in Dynamo, not modelled here) repairs it, and a write that only
fallbacks held is gone.

The model: one key whose versions are 1, 2, ... (a newer version replaces an older one;
a node that never got a write answers version 0, the key's initial absence). Writes arrive
during the partition only, reads throughout, both as Poisson processes. Every one-way
message draws its delay from one latency law. The coordinator knows which nodes it can
reach (a perfect failure detector); a message to a node it cannot reach is lost, and a
write or read that has not gathered its quorum ``timeout_ms`` after it started fails.
A read is stale when the version it returns is older than the newest write acknowledged
before the read started. The simulation runs on an [`EventLoop`][merge.lab.EventLoop].
"""

from __future__ import annotations

import math
from typing import Literal

from merge.lab._numpy import require_numpy
from merge.lab._sloppy_simulation import _Delays, _poisson, _SloppyQuorum
from merge.lab.catalog import scenario
from merge.lab.errors import LabConfigError
from merge.lab.follower import _law_with_mean
from merge.lab.latency import Exponential, LatencyLaw
from merge.lab.sloppy_results import SloppyRead, SloppyResult
from merge.lab.staleness import _count, _quorums

__all__ = ["SloppyRead", "SloppyResult", "sloppy_quorum"]


def _seconds(parameter: str, value: object, *, zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise LabConfigError(parameter, value, "must be a finite number")
    if value < 0 or (value == 0 and not zero):
        raise LabConfigError(parameter, value, "must be >= 0" if zero else "must be > 0")
    return float(value)


def sloppy_quorum(
    n: int = 3,
    r: int = 2,
    w: int = 2,
    *,
    sloppy: bool = True,
    partition_s: float = 5.0,
    cut: int | None = None,
    latency: LatencyLaw | None = None,
    writes_per_s: float = 10.0,
    reads_per_s: float = 50.0,
    handoff_interval_s: float = 1.0,
    after_s: float = 5.0,
    timeout_ms: float = 100.0,
    crash_fallback: bool = False,
    seed: int = 0,
) -> SloppyResult:
    """Partition a coordinator from ``cut`` home replicas for ``partition_s`` s, then heal.

    ``cut`` defaults to ``n - w + 1``, the fewest unreachable homes that leave a strict
    quorum short of ``w`` acknowledgements. Writes arrive at ``writes_per_s`` during the
    partition, reads at ``reads_per_s`` until ``after_s`` seconds after the heal; every
    message takes a delay from ``latency`` (default ``Exponential(1.0)``). With ``sloppy``
    the coordinator writes to fallbacks with hints, which they hand off every
    ``handoff_interval_s`` once the home is back; ``crash_fallback`` crashes the first
    fallback holding hints at the heal, before it can hand them off. See the module
    docstring for the model; ``as_dict()`` reports write availability strict and sloppy,
    stale reads by phase and what the crash lost.

    Examples:
        >>> result = sloppy_quorum(3, 2, 2, partition_s=2.0, handoff_interval_s=2.0,
        ...                        reads_per_s=200, seed=0)
        >>> result.write_availability          # two of three homes cut: only sloppy writes
        {'strict': 0.0, 'sloppy': 1.0}
        >>> round(result.stale_fraction("before_handoff"), 2)   # R + W > N, yet stale
        0.27
        >>> result.stale_fraction("after_handoff")
        0.0
        >>> strict = sloppy_quorum(3, 2, 2, sloppy=False, partition_s=2.0, seed=1)
        >>> strict.write_availability, strict.stale_fraction("before_handoff")
        ({'strict': 0.0, 'sloppy': None}, None)
        >>> crashed = sloppy_quorum(3, 1, 1, cut=3, partition_s=2.0, crash_fallback=True)
        >>> crashed.hints_lost, crashed.homes_missing_latest
        (1, 1)

    Cost: O(E log E) for E events, about ``(writes + reads) * 4 * n`` messages, in pure
    Python on an ``EventLoop``.
    """
    require_numpy()
    import numpy as np

    n, r, w = _quorums(n, r, w)
    cut = n - w + 1 if cut is None else _count("cut", cut, high=n)
    law = Exponential(1.0) if latency is None else latency
    if not isinstance(law, LatencyLaw):
        raise LabConfigError("latency", latency, "must be a latency law or None")
    partition_ms = _seconds("partition_s", partition_s) * 1000
    after_ms = _seconds("after_s", after_s, zero=True) * 1000
    interval_ms = _seconds("handoff_interval_s", handoff_interval_s) * 1000
    timeout_ms = _seconds("timeout_ms", timeout_ms)
    writes_per_s = _seconds("writes_per_s", writes_per_s)
    reads_per_s = _seconds("reads_per_s", reads_per_s)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise LabConfigError("seed", seed, "must be an int >= 0")
    rng = np.random.default_rng(seed)
    write_times = _poisson(rng, writes_per_s, partition_ms)
    read_times = _poisson(rng, reads_per_s, partition_ms + after_ms)
    model = _SloppyQuorum(
        n=n,
        r=r,
        w=w,
        sloppy=bool(sloppy),
        cut=cut,
        heal_ms=partition_ms,
        end_ms=partition_ms + after_ms,
        handoff_interval_ms=interval_ms,
        timeout_ms=timeout_ms,
        crash_fallback=bool(crash_fallback),
        delay=_Delays(law, rng),
    )
    model.run(write_times, read_times, rng)
    return model.result(seed)


@scenario("sloppy")
def _sloppy_scenario(
    *,
    n: int = 3,
    r: int = 2,
    w: int = 2,
    sloppy: bool = True,
    partition_s: float = 5.0,
    cut: int | None = None,
    latency_mean_ms: float = 1.0,
    law: Literal["exponential", "pareto"] = "exponential",
    alpha: float = 2.5,
    writes_per_s: float = 10.0,
    reads_per_s: float = 50.0,
    handoff_interval_s: float = 1.0,
    after_s: float = 5.0,
    timeout_ms: float = 100.0,
    crash_fallback: bool = False,
    seed: int = 0,
) -> SloppyResult:
    """Sloppy quorum and hinted handoff (Dynamo 4.6) through a partition and its heal.

    Message delays are exponential or Pareto (tail ``alpha``) with mean ``latency_mean_ms``.
    """
    return sloppy_quorum(
        n,
        r,
        w,
        sloppy=sloppy,
        partition_s=partition_s,
        cut=cut,
        latency=_law_with_mean(law, latency_mean_ms, alpha),
        writes_per_s=writes_per_s,
        reads_per_s=reads_per_s,
        handoff_interval_s=handoff_interval_s,
        after_s=after_s,
        timeout_ms=timeout_ms,
        crash_fallback=crash_fallback,
        seed=seed,
    )
