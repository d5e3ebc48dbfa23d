"""The numbers the PBS papers published, to check [`pbs`][merge.lab.pbs] against.

Each ``Published`` row is one figure from Bailis et al. (VLDB 2012, CACM 2014): a
configuration, what was measured, the value printed in the paper, and the value an
independent NumPy re-implementation of the authors' simulator gave with 2 million trials
(``recomputed``). The tests assert our simulation against both, with tolerances from the
Monte Carlo standard error; ``bench/pbs.py`` prints them side by side, and the docs page
``docs/lab/replication.md`` shows that table.

Examples:
    >>> from merge.lab.pbs_published import PUBLISHED
    >>> row = PUBLISHED[0]
    >>> row.label, row.measure, row.at, row.published
    ('Exp W mean 0.25 ms', 'p_consistent', 0, '0.94')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from merge.lab.latency import WARS, Exponential
from merge.lab.staleness import PBSResult

__all__ = ["PAPER_TRIALS", "PUBLISHED", "RECOMPUTED_TRIALS", "Published", "exponential_fit"]

#: Trials behind the paper's t-visibility figures (its latency figures used 1,000,000).
PAPER_TRIALS = 50_000
#: Trials behind most of the ``recomputed`` column.
RECOMPUTED_TRIALS = 2_000_000

Measure = Literal["p_consistent", "t_visibility", "read_latency", "write_latency"]


def exponential_fit(w_mean_ms: float) -> WARS:
    """The paper's exponential sweep: W with the given mean, A, R and S with mean 1 ms."""
    one = Exponential(1.0)
    return WARS(Exponential(w_mean_ms), one, one, one)


@dataclass(frozen=True, slots=True)
class Published:
    """One published figure: ``measure`` at ``at`` for ``fit`` with ``n``, ``r``, ``w``.

    ``measure`` is ``"p_consistent"`` (P(consistent) at ``at`` ms after the commit),
    ``"t_visibility"`` (ms until P(consistent) reaches ``at``), or ``"read_latency"`` /
    ``"write_latency"`` (the ``at`` quantile, in ms). ``published`` is the paper's value as
    printed (a string, so its precision is known; ``None`` where the paper shows only a
    curve), from ``paper_trials`` trials; ``recomputed`` the recomputation's value, from
    ``recomputed_trials``. ``heavy_tail`` marks a quantile so far into a heavy tail that its
    estimate moves by several ms between runs; compare such rows in probability.
    """

    label: str
    fit: str | WARS
    n: int
    r: int
    w: int
    measure: Measure
    at: float
    published: str | None
    recomputed: str | None
    source: str
    paper_trials: int = PAPER_TRIALS
    recomputed_trials: int = RECOMPUTED_TRIALS
    heavy_tail: bool = False
    note: str = ""

    @property
    def config(self) -> tuple[str, int, int, int]:
        """The simulation this figure comes from: (label, n, r, w)."""
        return (self.label, self.n, self.r, self.w)

    def ours(self, result: PBSResult) -> float:
        """The same figure measured on ``result``."""
        if self.measure == "p_consistent":
            return result.p_consistent(self.at)
        if self.measure == "t_visibility":
            return result.t_visibility(self.at)
        return result.latency_ms("read" if self.measure == "read_latency" else "write", self.at)


_EXP_QUARTER = exponential_fit(0.25)
_EXP_TEN = exponential_fit(10.0)
_EXP_ONE = exponential_fit(1.0)

# sources: the section of PBS (VLDB 2012) that prints the figure
_SWEEP = "Write latency distribution effects"
_OBSERVED = "Observed t-visibility"
_SIZING = "Quorum sizing"
_TABLE = "Latency vs. t-visibility (table)"
_MILLION = 1_000_000
_P: Measure = "p_consistent"
_T: Measure = "t_visibility"
_LR: Measure = "read_latency"
_LW: Measure = "write_latency"

#: The reproduced figures, in the order the docs table shows them.
PUBLISHED: tuple[Published, ...] = (
    Published("Exp W mean 0.25 ms", _EXP_QUARTER, 3, 1, 1, _P, 0, "0.94", "0.9431", _SWEEP),
    Published("Exp W mean 0.25 ms", _EXP_QUARTER, 3, 1, 1, _P, 1, "0.999", "0.9989", _SWEEP),
    Published("Exp W mean 10 ms", _EXP_TEN, 3, 1, 1, _P, 0, "0.41", "0.4194", _SWEEP),
    Published("Exp W mean 10 ms", _EXP_TEN, 3, 1, 1, _P, 10, None, "0.787", _SWEEP),
    Published("Exp W mean 10 ms", _EXP_TEN, 3, 1, 1, _P, 50, None, "0.996", _SWEEP),
    Published("Exp W mean 10 ms", _EXP_TEN, 3, 1, 1, _T, 0.999, "65", None, _SWEEP),
    Published("Exp all mean 1 ms", _EXP_ONE, 3, 2, 1, _P, 0, None, "0.962", _SWEEP),
    Published("Exp all mean 1 ms", _EXP_ONE, 3, 1, 2, _P, 0, None, "0.913", _SWEEP),
    Published("LNKD-SSD", "lnkd-ssd", 3, 1, 1, _P, 0, "0.974", "0.9735", _OBSERVED),
    Published("LNKD-SSD", "lnkd-ssd", 3, 1, 1, _T, 0.999, "1.85", "1.975", _TABLE),
    Published("LNKD-SSD", "lnkd-ssd", 3, 1, 1, _LR, 0.999, "0.66", "0.655", _TABLE, _MILLION),
    Published("LNKD-SSD", "lnkd-ssd", 3, 1, 1, _LW, 0.999, "0.66", "0.659", _TABLE, _MILLION),
    Published(
        "LNKD-SSD",
        "lnkd-ssd",
        3,
        2,
        1,
        _P,
        0,
        None,
        "0.99942",
        _TABLE,
        recomputed_trials=4_000_000,
        note="the paper saw no stale read in 10M writes; the model predicts ~6 in 10,000",
    ),
    Published("LNKD-DISK", "lnkd-disk", 3, 1, 1, _P, 0, "0.439", "0.4365", _OBSERVED),
    Published("LNKD-DISK", "lnkd-disk", 3, 1, 1, _P, 10, "0.925", "0.926", _OBSERVED),
    Published("LNKD-DISK", "lnkd-disk", 3, 1, 1, _T, 0.999, "45.5", "53", _TABLE, heavy_tail=True),
    Published("LNKD-DISK", "lnkd-disk", 3, 1, 1, _LW, 0.5, "1.50", "1.505", _OBSERVED, _MILLION),
    Published("LNKD-DISK", "lnkd-disk", 3, 1, 1, _LW, 0.999, "10.99", "10.98", _TABLE, _MILLION),
    Published(
        "LNKD-DISK", "lnkd-disk", 3, 2, 1, _T, 0.999, "13.6", "14.2", _TABLE, heavy_tail=True
    ),
    Published(
        "LNKD-DISK",
        "lnkd-disk",
        2,
        1,
        1,
        _P,
        0,
        "0.575",
        "0.576",
        _SIZING,
        recomputed_trials=_MILLION,
    ),
    Published(
        "LNKD-DISK",
        "lnkd-disk",
        10,
        1,
        1,
        _P,
        0,
        "0.211",
        "0.210",
        _SIZING,
        recomputed_trials=_MILLION,
    ),
    Published(
        "YMMR",
        "ymmr",
        3,
        1,
        1,
        _P,
        0,
        "0.893",
        "0.893",
        _OBSERVED,
        note="W alpha 3.5 as in the authors' code; the paper's 3.35 gives 0.887",
    ),
    Published("YMMR", "ymmr", 3, 1, 1, _T, 0.999, "1364", "1450", _TABLE, heavy_tail=True),
    Published("YMMR", "ymmr", 3, 1, 1, _LR, 0.999, "5.58", None, _TABLE, _MILLION),
    Published("YMMR", "ymmr", 3, 1, 1, _LW, 0.999, "10.83", None, _TABLE, _MILLION),
    Published("YMMR", "ymmr", 3, 2, 1, _T, 0.999, "202", "221", _TABLE, heavy_tail=True),
    Published("WAN", "wan", 3, 1, 1, _P, 0, "0.33", "0.334", _OBSERVED),
    Published("WAN", "wan", 3, 1, 1, _T, 0.999, "113.0", "116.7", _TABLE, heavy_tail=True),
    Published("WAN", "wan", 3, 1, 1, _LW, 0.999, "55.12", None, _TABLE, _MILLION),
    Published("WAN", "wan", 3, 2, 1, _T, 0.999, "30.2", "31.1", _TABLE, heavy_tail=True),
    Published("WAN", "wan", 3, 2, 1, _LR, 0.999, "151.3", "151.3", _TABLE, _MILLION),
)
