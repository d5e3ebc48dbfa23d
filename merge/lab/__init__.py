"""The consistency lab: how stale can a read be, and for how long?

Replication (``merge.lab.latency``, ``merge.lab.staleness``): latency laws
(``Exponential``, ``Pareto``, ``Mixture``), the PBS latency model
``WARS`` with its published production fits (``FITS``), the closed form
``k_staleness``, and ``pbs``, a Monte Carlo simulation of t-visibility after
Bailis et al., *Probabilistically Bounded Staleness* (VLDB 2012). ``simulate_quorum``
(``merge.lab.quorum``) plays the same protocol out event by event on the same draws, as a
check on ``pbs`` trial for trial (``QuorumResult``); ``simulate_read_repair`` adds a
second read with blocking read repair on or off.

Caching (``merge.lab.caching``): ``simulate_cache`` runs a database, cache nodes and
clients under cache-aside, write-through or write-behind, a fixed TTL and TTL-only or
delete-on-write invalidation on the simulation core's clock and lossy wire, and measures
hit ratio, stale reads, staleness, database load and lost acknowledged writes
(``CacheResult``); ``CacheSimulation`` is the same model driven by hand. Pure Python.

Scenarios (``merge.lab.catalog``): ``@scenario("name")`` files a function under
``crdtkit lab NAME``; ``scenarios()`` lists them. ``merge.lab.pbs_scenarios`` registers
``pbs``, ``kstale`` and ``quorum``.

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

from merge.lab import pbs_scenarios as pbs_scenarios  # registers pbs, kstale, quorum
from merge.lab.caching import (
    INVALIDATIONS,
    POLICIES,
    CacheResult,
    CacheSimulation,
    simulate_cache,
)
from merge.lab.catalog import LabResult, Scenario, scenario, scenarios
from merge.lab.errors import LabConfigError, LabError
from merge.lab.events import EventLoop
from merge.lab.latency import FITS, WARS, Exponential, LatencyLaw, Mixture, Pareto, WARSDelays
from merge.lab.quorum import QuorumResult, simulate_quorum, simulate_read_repair
from merge.lab.staleness import PBSResult, k_staleness, pbs

__all__ = [
    "FITS",
    "INVALIDATIONS",
    "POLICIES",
    "WARS",
    "CacheResult",
    "CacheSimulation",
    "EventLoop",
    "Exponential",
    "LabConfigError",
    "LabError",
    "LabResult",
    "LatencyLaw",
    "Mixture",
    "PBSResult",
    "Pareto",
    "QuorumResult",
    "Scenario",
    "WARSDelays",
    "k_staleness",
    "pbs",
    "scenario",
    "scenarios",
    "simulate_cache",
    "simulate_quorum",
    "simulate_read_repair",
]
