"""The replication scenarios of ``crdtkit lab``: ``pbs``, ``kstale`` and ``quorum``.

Each wraps a function of the lab in a scenario of the catalog (``merge.lab.catalog``): keyword
parameters that become options, and a small result with ``as_dict()`` and ``report()``.

* ``pbs`` (:func:`pbs_curves`): t-visibility of one or more configurations (every named fit
  or exponential W law, times every R, times every W), each from
  [`pbs`][merge.lab.pbs] with the same seed; ``plot(path)`` draws P(consistent) against t, one
  line per configuration, on a log scale of staleness (1 - P).
* ``kstale`` (:func:`kstale_table`): the closed form [`k_staleness`][merge.lab.k_staleness]
  for each R, W and k.
* ``quorum`` (:func:`quorum_check`): the event-driven simulation
  [`simulate_quorum`][merge.lab.simulate_quorum] against the vectorised rule of ``pbs`` on
  the same draws, trial by trial, at each t.

Importing this module needs only the standard library; running ``pbs`` or ``quorum`` needs
numpy (the ``lab`` extra) and ``plot`` needs matplotlib (the ``plot`` extra).

Examples:
    >>> table = kstale_table(n=3, r=(1,), w=(1,), k=(1, 2, 3))
    >>> [round(p, 4) for p in table.configurations[0].p_consistent.values()]
    [0.3333, 0.5556, 0.7037]
    >>> curves = pbs_curves(fit=("lnkd-disk",), trials=20_000, seed=1)
    >>> round(curves.configurations[0].result.p_consistent(0), 2)
    0.44
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from merge.lab._numpy import require_numpy
from merge.lab.catalog import scenario
from merge.lab.errors import LabConfigError
from merge.lab.latency import FITS, WARS, Exponential, WARSDelays
from merge.lab.quorum import simulate_quorum
from merge.lab.staleness import PBSResult, k_staleness, pbs

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "KStaleRow",
    "KStaleTable",
    "PBSConfiguration",
    "PBSCurves",
    "QuorumAgreement",
    "QuorumCheck",
    "kstale_table",
    "pbs_curves",
    "quorum_check",
]

#: Called with (done, total) as a long run advances.
Progress = Callable[[int, int], None]

#: Trials of ``quorum_check`` simulated between two calls of ``progress``.
_QUORUM_CHUNK = 2_000


def _percent(p: float) -> str:
    return f"{p:.2%}"


def _milliseconds(value: float) -> str:
    """3 significant figures, without an exponent: 0.649, 10.9, 49.6, 1,234."""
    if value >= 100:
        return f"{value:,.0f} ms"
    return f"{float(f'{value:.3g}'):g} ms"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Indented columns: the first left-aligned, the others right-aligned."""
    widths = [max(len(row[column]) for row in (header, *rows)) for column in range(len(header))]
    lines = []
    for row in (header, *rows):
        cells = [f"{row[0]:<{widths[0]}}"]
        cells += [f"{cell:>{width}}" for cell, width in zip(row[1:], widths[1:], strict=True)]
        lines.append("  " + "  ".join(cells))
    return lines


def _seed(seed: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise LabConfigError("seed", seed, "must be an int >= 0")
    return seed


def _named_fit(name: str) -> WARS:
    if name not in FITS:
        known = ", ".join(repr(known) for known in FITS)
        raise LabConfigError("fit", name, f"no such fit; the named fits are {known}, or exp:MEAN")
    return FITS[name]


# -- pbs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PBSConfiguration:
    """One line of ``pbs``: its ``label`` (fit and N, R, W) and the ``PBSResult``."""

    label: str
    result: PBSResult


@dataclass(frozen=True)
class PBSCurves:
    """The result of ``crdtkit lab pbs``: one ``PBSResult`` per configuration, summarised at
    the times ``t_ms``."""

    configurations: tuple[PBSConfiguration, ...]
    t_ms: tuple[float, ...]
    trials: int
    seed: int

    def as_dict(self) -> dict[str, Any]:
        """``trials``, ``seed``, ``t_ms`` and per configuration its ``label`` and
        ``PBSResult.as_dict()`` at ``t_ms`` (t-visibility at 99% and 99.9%, latency at the
        median and p99.9)."""
        return {
            "trials": self.trials,
            "seed": self.seed,
            "t_ms": list(self.t_ms),
            "configurations": [
                {"label": entry.label, **entry.result.as_dict(t_ms=self.t_ms)}
                for entry in self.configurations
            ],
        }

    def report(self) -> str:
        """Two tables: P(consistent) at each t; t-visibility at 99.9% and p99.9 latencies."""
        lines = [
            "PBS t-visibility (Bailis et al., VLDB 2012)",
            f"{self.trials:,} trials per configuration, seed {self.seed}",
            "",
            "P(consistent): a read that starts t ms after the write committed sees it",
        ]
        header = ["configuration", *(f"t={t:g} ms" for t in self.t_ms)]
        rows = [
            [entry.label, *(_percent(entry.result.p_consistent(t)) for t in self.t_ms)]
            for entry in self.configurations
        ]
        lines += _table(header, rows)
        lines += ["", "Time until 99.9% of reads are consistent, and p99.9 latency"]
        header = ["configuration", "t-visibility 99.9%", "read p99.9", "write p99.9"]
        rows = [
            [
                entry.label,
                _milliseconds(entry.result.t_visibility(0.999)),
                _milliseconds(entry.result.latency_ms("read", 0.999)),
                _milliseconds(entry.result.latency_ms("write", 0.999)),
            ]
            for entry in self.configurations
        ]
        lines += _table(header, rows)
        if any(entry.result.strict for entry in self.configurations):
            lines += ["", "R + W > N: read and write quorums overlap, so every read is consistent."]
        return "\n".join(lines)

    def plot(self, path: str) -> None:
        """Draw P(consistent) against t (ms) to ``path``, one line per configuration, the
        y axis a log scale of 1 - P so that 99%, 99.9%, ... are evenly spaced (and the t axis
        logarithmic beyond 1 ms when the curves run past 50 ms). Strict
        quorums, never stale, are named in the legend. Needs matplotlib (``plot`` extra)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np
        from matplotlib.ticker import FuncFormatter

        stale_ones = [entry for entry in self.configurations if not entry.result.strict]
        horizon = max(
            [entry.result.t_visibility(0.999) * 1.5 for entry in stale_ones] + [max(self.t_ms), 1]
        )
        # linear up to 1 ms, logarithmic beyond: heavy tails (YMMR's) run to seconds
        wide = horizon > 50
        grid = (
            np.concatenate([np.linspace(0.0, 1.0, 50), np.geomspace(1.0, horizon, 450)[1:]])
            if wide
            else np.linspace(0.0, horizon, 500)
        )
        floor = 1 / self.trials
        figure, axes = plt.subplots(figsize=(8, 4.5))
        for entry in self.configurations:
            if entry.result.strict:
                axes.plot([], [], " ", label=f"{entry.label} (strict: never stale)")
                continue
            stale = np.array([1 - entry.result.p_consistent(float(t)) for t in grid])
            # a staleness of 0 has no place on a log axis: draw it at the resolution, 1/trials
            axes.step(grid, np.maximum(stale, floor), where="post", label=entry.label)
        axes.set_yscale("log")
        axes.set_ylim(bottom=floor / 2, top=1)
        axes.invert_yaxis()
        axes.yaxis.set_major_formatter(
            FuncFormatter(lambda y, _: f"{1 - y:.{max(0, -round(math.log10(y)) - 2)}%}")
        )
        if wide:
            axes.set_xscale("symlog", linthresh=1.0, linscale=0.5)
            axes.set_xlim(0, horizon)
        axes.set_xlabel(
            "t: ms after the write committed" + (" (linear to 1 ms, log beyond)" if wide else "")
        )
        axes.set_ylabel("P(consistent read)\n(log scale of 1 - P; 1 - P >= 1/trials)")
        axes.set_title(f"t-visibility, {self.trials:,} trials per line, seed {self.seed}")
        axes.grid(True, which="major", alpha=0.3)
        axes.legend(loc="lower right", fontsize="small")
        figure.tight_layout()
        figure.savefig(path, dpi=110)
        plt.close(figure)


@scenario("pbs")
def pbs_curves(
    *,
    fit: Sequence[str] = ("lnkd-disk",),
    n: int = 3,
    r: Sequence[int] = (1,),
    w: Sequence[int] = (1,),
    t_ms: Sequence[float] = (0, 1, 5, 10, 100),
    trials: int = 200_000,
    seed: int = 0,
    progress: Progress | None = None,
) -> PBSCurves:
    """Probabilistically bounded staleness: P(consistent read) t ms after a write, by N, R, W.

    One configuration per latency model in ``fit`` times each ``r`` times each ``w``. A model
    is a named production fit (``FITS``: "lnkd-ssd", "lnkd-disk", "ymmr", "wan") or
    ``"exp:MEAN"``, the paper's exponential sweep: W exponential with mean MEAN ms, A, R and
    S with mean 1 ms. Every configuration runs ``pbs(n, r, w, model, trials=trials,
    seed=seed)``, so each is exactly what that call gives, and all share their random draws.
    ``progress`` advances once per configuration.

    Cost: O(trials * n) vectorised per configuration (about a second for 200,000 trials).
    """
    seed = _seed(seed)
    models = [_model(name) for name in fit]
    for t in t_ms:
        if isinstance(t, bool) or not isinstance(t, int | float) or not t >= 0:
            raise LabConfigError("t_ms", t, "must be a number of milliseconds >= 0")
    plan = [(name, model, each_r, each_w) for name, model in models for each_r in r for each_w in w]
    configurations = []
    for done, (name, model, each_r, each_w) in enumerate(plan):
        result = pbs(n, each_r, each_w, model, trials=trials, seed=seed)
        configurations.append(PBSConfiguration(f"{name} N={n} R={each_r} W={each_w}", result))
        if progress is not None:
            progress(done + 1, len(plan))
    # whole milliseconds as ints, so that the keys of as_dict() read "0", "1", "10"
    times = tuple(int(t) if float(t).is_integer() else float(t) for t in t_ms)
    return PBSCurves(tuple(configurations), times, trials, seed)


def _model(name: str) -> tuple[str, str | WARS]:
    """A named fit, or ``exp:MEAN``: (its name, what ``pbs`` takes)."""
    if isinstance(name, str) and name.startswith("exp:"):
        try:
            mean = float(name[4:])
        except ValueError:
            mean = math.nan
        if not mean > 0 or not math.isfinite(mean):
            raise LabConfigError("fit", name, "exp:MEAN needs a mean W delay in ms > 0")
        exponential = WARS(Exponential(mean), Exponential(1.0), Exponential(1.0), Exponential(1.0))
        return f"exp:{mean:g}", exponential
    _named_fit(name)
    return name, name


# -- kstale -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class KStaleRow:
    """One configuration of ``kstale``: R, W and P(one of the last k versions) by k."""

    r: int
    w: int
    strict: bool
    p_consistent: Mapping[int, float]


@dataclass(frozen=True)
class KStaleTable:
    """The result of ``crdtkit lab kstale``: the closed form for each R, W and k, at N."""

    n: int
    k: tuple[int, ...]
    configurations: tuple[KStaleRow, ...]

    def as_dict(self) -> dict[str, Any]:
        """``n``, ``k`` and per configuration ``r``, ``w``, ``strict`` and ``p_consistent``
        (k -> probability)."""
        return {
            "n": self.n,
            "k": list(self.k),
            "configurations": [
                {
                    "r": row.r,
                    "w": row.w,
                    "strict": row.strict,
                    "p_consistent": {str(k): p for k, p in row.p_consistent.items()},
                }
                for row in self.configurations
            ],
        }

    def report(self) -> str:
        """A table: one row per R, W; one column per k."""
        lines = [
            f"k-staleness, N={self.n}: P(a read returns one of the last k versions)",
            "with read and write quorums picked at random (closed form)",
            "",
        ]
        header = ["R", "W", *(f"k={k}" for k in self.k)]
        rows = [
            [str(row.r), str(row.w), *(_percent(p) for p in row.p_consistent.values())]
            for row in self.configurations
        ]
        return "\n".join(lines + _table(header, rows))


@scenario("kstale")
def kstale_table(
    *, n: int = 3, r: Sequence[int] = (1,), w: Sequence[int] = (1,), k: Sequence[int] = (1, 2, 3)
) -> KStaleTable:
    """k-staleness: P(a read returns one of the last k versions) for N, R, W (closed form).

    ``k_staleness(n, r, w, k)`` for each ``r``, each ``w`` and each ``k``; exact, no sampling.
    Cost: O(len(r) * len(w) * len(k)) closed forms.
    """
    rows = tuple(
        KStaleRow(
            each_r,
            each_w,
            each_r + each_w > n,
            {each_k: k_staleness(n, each_r, each_w, each_k) for each_k in k},
        )
        for each_r in r
        for each_w in w
    )
    return KStaleTable(n, tuple(k), rows)


# -- quorum -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuorumAgreement:
    """At one t: P(consistent) by the event simulation and by the PBS rule, and the number of
    trials whose verdicts differ."""

    t_ms: float
    p_events: float
    p_rule: float
    disagreements: int


@dataclass(frozen=True)
class QuorumCheck:
    """The result of ``crdtkit lab quorum``: the event simulation against the PBS rule."""

    n: int
    r: int
    w: int
    fit: str
    trials: int
    seed: int
    agreements: tuple[QuorumAgreement, ...]

    def as_dict(self) -> dict[str, Any]:
        """The configuration and, per t (as text), ``p_consistent_events``,
        ``p_consistent_pbs`` and ``disagreements``."""
        return {
            "n": self.n,
            "r": self.r,
            "w": self.w,
            "fit": self.fit,
            "trials": self.trials,
            "seed": self.seed,
            "t_ms": {
                f"{row.t_ms:g}": {
                    "p_consistent_events": row.p_events,
                    "p_consistent_pbs": row.p_rule,
                    "disagreements": row.disagreements,
                }
                for row in self.agreements
            },
        }

    def report(self) -> str:
        """A table: per t, both probabilities and the trials on which they disagree."""
        lines = [
            "The quorum protocol event by event vs the PBS rule, on the same draws",
            f"{self.fit} N={self.n} R={self.r} W={self.w}, {self.trials:,} trials, "
            f"seed {self.seed}",
            "",
        ]
        header = ["t", "P(consistent), events", "P(consistent), pbs", "trials that disagree"]
        rows = [
            [
                f"{row.t_ms:g} ms",
                _percent(row.p_events),
                _percent(row.p_rule),
                f"{row.disagreements:,}",
            ]
            for row in self.agreements
        ]
        return "\n".join(lines + _table(header, rows))


@scenario("quorum")
def quorum_check(
    *,
    fit: str = "lnkd-disk",
    n: int = 3,
    r: int = 1,
    w: int = 1,
    t_ms: Sequence[float] = (0, 1, 10),
    trials: int = 20_000,
    seed: int = 0,
    progress: Progress | None = None,
) -> QuorumCheck:
    """The quorum protocol event by event against the PBS rule, trial by trial.

    Draws ``trials`` WARS delays for ``n`` replicas from ``fit`` (a named fit or
    ``"exp:MEAN"``, as for ``pbs``) with ``seed``,
    then at each ``t_ms`` plays every trial out as messages (``simulate_quorum``) and
    compares its verdict with ``PBSResult.from_delays`` on the same delays. ``progress``
    advances every 2,000 trials.

    Cost: O(trials * n log n) in pure Python per t (about 0.4 s per 10,000 trials).
    """
    require_numpy()
    import numpy as np

    name, model = _model(fit)
    wars = model if isinstance(model, WARS) else FITS[model]
    delays = wars.sample(np.random.default_rng(_seed(seed)), trials=trials, n=n)
    rule = PBSResult.from_delays(delays, r=r, w=w).consistent_after_ms
    total = trials * len(t_ms)
    agreements = []
    for index, t in enumerate(t_ms):
        verdicts = _events(delays, r, w, t, progress, done=index * trials, total=total)
        expected = rule <= t
        agreements.append(
            QuorumAgreement(
                float(t),
                float(verdicts.mean()),
                float(expected.mean()),
                int((verdicts != expected).sum()),
            )
        )
    return QuorumCheck(n, r, w, name, trials, seed, tuple(agreements))


def _events(
    delays: WARSDelays,
    r: int,
    w: int,
    t_ms: float,
    progress: Progress | None,
    *,
    done: int,
    total: int,
) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """``simulate_quorum``'s verdicts, in chunks of trials so that ``progress`` can advance;
    each trial is simulated alone, so chunking changes nothing."""
    import numpy as np

    trials = delays.w.shape[0]
    parts = []
    for start in range(0, trials, _QUORUM_CHUNK):
        chunk = WARSDelays(*(d[start : start + _QUORUM_CHUNK] for d in delays))
        parts.append(simulate_quorum(chunk, r=r, w=w, t_ms=t_ms).consistent)
        if progress is not None:
            progress(done + min(start + _QUORUM_CHUNK, trials), total)
    return np.concatenate(parts)
