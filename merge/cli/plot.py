"""``crdtkit simulate --plot``: staleness and bytes on the wire over simulated time (needs
matplotlib, from the ``plot`` extra)."""

from __future__ import annotations

from merge.cli.simulate import SimulationResult
from merge.harness import STEP_MS

__all__ = ["plot"]


def plot(result: SimulationResult, path: str) -> None:
    """Draw ``result``'s runs to the PNG ``path``: staleness above (per replica for one
    protocol, the worst replica per protocol for two), cumulative KiB on the wire below, the
    partition and crash windows shaded. The runs must have recorded their traces."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plan, config, runs = result.plan, result.config, result.runs
    figure, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(8, 5.5))
    styles = {"delta": "-", "state": "--"}
    for sync, run in runs.items():
        trace = run.trace
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
        f"{config.type}: {config.replicas} replicas, "
        f"{' vs '.join(runs)} sync, drop {config.drop:.0%}, seed {config.seed}"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
