"""The consistency lab: how stale can a read be, and for how long?

Replication (``merge.lab.latency``, ``merge.lab.staleness``): latency laws
(``Exponential``, ``Pareto``, ``Mixture``), the PBS latency model
``WARS`` with its published production fits (``FITS``), the closed form
``k_staleness``, and ``pbs``, a Monte Carlo simulation of t-visibility after
Bailis et al., *Probabilistically Bounded Staleness* (VLDB 2012).

Importing this package needs only the standard library; sampling and simulating need numpy,
from the ``lab`` extra (``pip install 'crdtkit[lab]'``).

Examples:
    >>> from merge.lab import k_staleness, pbs
    >>> k_staleness(3, 1, 1, k=3) == 19 / 27
    True
    >>> result = pbs(3, 1, 1, "lnkd-ssd", trials=20_000, seed=0)
    >>> round(result.p_consistent(0), 2)
    0.97
"""

from merge.lab.errors import LabConfigError, LabError
from merge.lab.latency import FITS, WARS, Exponential, LatencyLaw, Mixture, Pareto, WARSDelays
from merge.lab.staleness import PBSResult, k_staleness, pbs

__all__ = [
    "FITS",
    "WARS",
    "Exponential",
    "LabConfigError",
    "LabError",
    "LatencyLaw",
    "Mixture",
    "PBSResult",
    "Pareto",
    "WARSDelays",
    "k_staleness",
    "pbs",
]
