"""The consistency lab: how stale can a read be, and for how long?

Replication (:mod:`merge.lab.latency`, :mod:`merge.lab.staleness`): latency laws
(:class:`Exponential`, :class:`Pareto`, :class:`Mixture`), the PBS latency model
:class:`WARS` with its published production fits (:data:`FITS`), the closed form
:func:`k_staleness`, and :func:`pbs`, a Monte Carlo simulation of t-visibility after
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
