"""The N/R/W trade-off: latency against staleness for every quorum configuration.

For each replica count ``n`` asked for and every ``1 <= r, w <= n``, ``tradeoff`` runs the
PBS Monte Carlo ([`pbs`][merge.lab.pbs]) under one latency fit and tabulates the p99.9 read
and write latencies, P(consistent) right after the commit and the t-visibility at 99.9%.
All configurations with the same ``n`` share one set of draws (common random numbers), so
differences between rows are not sampling noise, and each row equals
``pbs(n, r, w, fit, trials=trials, seed=seed)`` exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from merge.lab._numpy import require_numpy
from merge.lab.catalog import scenario
from merge.lab.errors import LabConfigError
from merge.lab.latency import FITS, WARS, WARSDelays
from merge.lab.staleness import _BATCH, PBSResult, _count

if TYPE_CHECKING:
    import numpy as np

__all__ = ["TradeoffResult", "TradeoffRow", "tradeoff"]


class TradeoffRow(NamedTuple):
    """One configuration's figures (latencies and t-visibility in ms)."""

    n: int
    r: int
    w: int
    strict: bool
    read_p999_ms: float
    write_p999_ms: float
    p_consistent_0: float
    t_visibility_999_ms: float


@dataclass(frozen=True, slots=True)
class TradeoffResult:
    """The table ``tradeoff`` measured: one ``TradeoffRow`` per configuration, by n, r, w."""

    fit: str
    trials: int
    seed: int
    rows: tuple[TradeoffRow, ...]

    def row(self, n: int, r: int, w: int) -> TradeoffRow:
        """The row of one configuration (LookupError if it was not measured)."""
        for row in self.rows:
            if (row.n, row.r, row.w) == (n, r, w):
                return row
        raise LookupError(f"no row for n={n} r={r} w={w}; measured n in {self.replicas}")

    @property
    def replicas(self) -> tuple[int, ...]:
        """The replica counts measured."""
        return tuple(sorted({row.n for row in self.rows}))

    def as_dict(self) -> dict[str, Any]:
        """The fit, trials, seed and every row as a mapping."""
        return {
            "fit": self.fit,
            "trials": self.trials,
            "seed": self.seed,
            "rows": [row._asdict() for row in self.rows],
        }

    def report(self) -> str:
        """The table in markdown, as the docs show it."""
        lines = [
            f"N/R/W trade-off, fit {self.fit!r}, {self.trials:,} trials per N (seed {self.seed})",
            "",
            "| N | R | W | strict | read p99.9 (ms) | write p99.9 (ms) "
            "| P(consistent) at 0 ms | t-visibility 99.9% (ms) |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for row in self.rows:
            lines.append(
                f"| {row.n} | {row.r} | {row.w} | {'yes' if row.strict else 'no'} "
                f"| {row.read_p999_ms:.3g} | {row.write_p999_ms:.3g} "
                f"| {row.p_consistent_0:.4f} | {row.t_visibility_999_ms:.3g} |"
            )
        return "\n".join(lines)

    def plot(self, path: str) -> None:
        """Scatter each configuration's p99.9 read + write latency against its t-visibility
        at 99.9% to ``path`` (needs matplotlib)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(figsize=(7, 5))
        for n in self.replicas:
            rows = [row for row in self.rows if row.n == n]
            cost = [row.read_p999_ms + row.write_p999_ms for row in rows]
            window = [row.t_visibility_999_ms for row in rows]
            axes.scatter(cost, window, label=f"N={n}")
            for row, x, y in zip(rows, cost, window, strict=True):
                axes.annotate(f"R{row.r}W{row.w}", (x, y), fontsize=7)
        axes.set_xscale("log")
        axes.set_xlabel("read p99.9 + write p99.9 latency (ms)")
        axes.set_ylabel("t-visibility at 99.9% (ms)")
        axes.set_title(f"N/R/W trade-off ({self.fit})")
        axes.legend()
        figure.tight_layout()
        figure.savefig(path)
        plt.close(figure)


def _draws(model: WARS, n: int, trials: int, seed: int) -> WARSDelays:
    """The delays ``pbs`` would draw for ``n`` replicas: batches from one seeded generator."""
    import numpy as np

    rng: np.random.Generator = np.random.default_rng(seed)
    parts = [
        model.sample(rng, trials=min(_BATCH, trials - start), n=n)
        for start in range(0, trials, _BATCH)
    ]
    return WARSDelays(*(np.concatenate(arrays) for arrays in zip(*parts, strict=True)))


def tradeoff(
    fit: str | WARS = "lnkd-disk",
    *,
    replicas: Sequence[int] = (3, 5),
    trials: int = 100_000,
    seed: int = 0,
    progress: Callable[[int, int], object] | None = None,
) -> TradeoffResult:
    """Measure every ``(n, r, w)`` with ``n`` in ``replicas`` and ``1 <= r, w <= n``.

    ``fit`` is a [`WARS`][merge.lab.WARS] model or a name in [`FITS`][merge.lab.FITS].
    ``progress(done, total)`` is called after each configuration.

    Examples:
        >>> table = tradeoff("lnkd-disk", replicas=[3], trials=20_000, seed=1)
        >>> len(table.rows)
        9
        >>> row = table.row(3, 1, 1)
        >>> round(row.p_consistent_0, 2), round(row.write_p999_ms, 1)
        (0.44, 10.6)
        >>> table.row(3, 2, 2).t_visibility_999_ms     # strict: consistent at once
        0.0

    Cost: O(sum of n * n**2 * trials) vectorised: one draw per ``n``, then the WARS rule
    for each of the ``n**2`` configurations.
    """
    require_numpy()
    if isinstance(fit, str):
        model = WARS.fit(fit)
        name = fit
    elif isinstance(fit, WARS):
        model, name = fit, repr(fit)
    else:
        raise LabConfigError("fit", fit, f"must be a WARS model or one of {sorted(FITS)}")
    if isinstance(replicas, str | bytes) or not isinstance(replicas, Sequence) or not replicas:
        raise LabConfigError("replicas", replicas, "must be a non-empty sequence of ints >= 1")
    counts = sorted({_count("replicas", n) for n in replicas})
    trials = _count("trials", trials)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise LabConfigError("seed", seed, "must be an int >= 0")
    total = sum(n * n for n in counts)
    rows = []
    for n in counts:
        delays = _draws(model, n, trials, seed)
        for r in range(1, n + 1):
            for w in range(1, n + 1):
                result = PBSResult.from_delays(delays, r=r, w=w)
                rows.append(
                    TradeoffRow(
                        n=n,
                        r=r,
                        w=w,
                        strict=result.strict,
                        read_p999_ms=result.latency_ms("read", 0.999),
                        write_p999_ms=result.latency_ms("write", 0.999),
                        p_consistent_0=result.p_consistent(0),
                        t_visibility_999_ms=result.t_visibility(0.999),
                    )
                )
                if progress is not None:
                    progress(len(rows), total)
    return TradeoffResult(fit=name, trials=trials, seed=seed, rows=tuple(rows))


@scenario("tradeoff")
def _tradeoff_scenario(
    *,
    fit: Literal["lnkd-ssd", "lnkd-disk", "ymmr", "wan"] = "lnkd-disk",
    replicas: Sequence[int] = (3, 5),
    trials: int = 100_000,
    seed: int = 0,
    progress: Callable[[int, int], object] | None = None,
) -> TradeoffResult:
    """N/R/W trade-off table: p99.9 latencies against staleness for every quorum."""
    return tradeoff(fit, replicas=replicas, trials=trials, seed=seed, progress=progress)
