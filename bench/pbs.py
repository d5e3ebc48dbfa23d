"""PBS reproduction table and Monte Carlo throughput of ``merge.lab.pbs``.

Run: ``python bench/pbs.py`` (about half a minute; ``--trials`` changes the table's trials).

1. The reproduction table: every figure in ``merge.lab.pbs_published.PUBLISHED``, as the
   paper printed it, as an independent 2-million-trial recomputation gave it, and as this
   run measures it (1,000,000 trials, seed 2012), printed as a markdown table (the one in
   docs/lab/replication.md). t-visibility in heavy-tailed fits (marked *) moves by several ms
   between runs: compare those in probability (the tests do).
2. Throughput: a 200,000-trial simulation at N=3 (median of 5), in trials per second and as
   a ratio to a floor measured in the same run: numpy drawing the same number of exponential
   delays (4 per replica per trial), the least any WARS simulation must do. Goal: the
   exponential fit within 10x of the floor, the two-part mixture fits within 15x.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

# the repository root first, so that this script (bench/pbs.py) does not shadow the package
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from _timing import median_seconds, report, scaled

from merge.lab import PBSResult, pbs
from merge.lab.pbs_published import PUBLISHED, Published, exponential_fit

SEED = 2012
THROUGHPUT_TRIALS = scaled(200_000, minimum=1_000)
REPLICAS = 3

_MEASURES = {
    "p_consistent": "P(consistent) at {at:g} ms",
    "t_visibility": "t-visibility {at:.1%} (ms)",
    "read_latency": "read latency p{pct:g} (ms)",
    "write_latency": "write latency p{pct:g} (ms)",
}


def describe(row: Published) -> str:
    measure = _MEASURES[row.measure].format(at=row.at, pct=row.at * 100)
    tail = "*" if row.heavy_tail else ""
    return f"{row.label} N={row.n} R={row.r} W={row.w} | {measure}{tail}"


def formatted(value: float, row: Published) -> str:
    if row.measure == "p_consistent":
        return f"{value:.4f}"
    return f"{value:.1f}" if value >= 100 else f"{value:.3f}"


def table(trials: int) -> None:
    print(f"Reproduction of PBS (Bailis et al., VLDB 2012): {trials:,} trials, seed {SEED}\n")
    print("| configuration | figure | published | recomputed | crdtkit |")
    print("|---|---|---|---|---|")
    results: dict[tuple[str, int, int, int], PBSResult] = {}
    for row in PUBLISHED:
        if row.config not in results:
            results[row.config] = pbs(row.n, row.r, row.w, row.fit, trials=trials, seed=SEED)
        ours = formatted(row.ours(results[row.config]), row)
        print(f"| {describe(row)} | {row.published or '-'} | {row.recomputed or '-'} | {ours} |")
    print("\n* heavy tail: compare in probability, not in ms\n", flush=True)


def throughput() -> None:
    draws = 4 * REPLICAS * THROUGHPUT_TRIALS
    rng = np.random.default_rng(SEED)
    floor = median_seconds(lambda: rng.standard_exponential(draws), repeat=5)
    print(f"Throughput, N={REPLICAS} R=1 W=1, {THROUGHPUT_TRIALS:,} trials per run")
    print(f"floor: numpy drawing {draws:,} exponential delays\n")
    cases = [("exponential fit (W mean 10 ms)", exponential_fit(10.0), 10.0)]
    cases += [(f"{name} (two-part mixtures)", name, 15.0) for name in ("lnkd-disk", "wan")]
    for label, fit, goal in cases:
        seconds = median_seconds(
            lambda fit=fit: pbs(REPLICAS, 1, 1, fit, trials=THROUGHPUT_TRIALS, seed=SEED),
            repeat=5,
        )
        report(f"pbs {label}", seconds, floor, goal=goal)
        print(f"{'':<58} {THROUGHPUT_TRIALS / seconds:,.0f} trials/s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=scaled(1_000_000, minimum=1_000))
    args = parser.parse_args()
    start = time.perf_counter()
    table(args.trials)
    throughput()
    print(f"\n({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
