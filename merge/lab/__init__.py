"""The consistency lab: how stale can a read be, and for how long?

Replication (``merge.lab.latency``, ``merge.lab.staleness``): latency laws
(``Exponential``, ``Pareto``, ``Mixture``), the PBS latency model
``WARS`` with its published production fits (``FITS``), the closed form
``k_staleness``, and ``pbs``, a Monte Carlo simulation of t-visibility after
Bailis et al., *Probabilistically Bounded Staleness* (VLDB 2012). ``simulate_quorum``
(``merge.lab.quorum``) plays the same protocol out event by event on the same draws, as a
check on ``pbs`` trial for trial (``QuorumResult``); ``simulate_read_repair`` adds a
second read with blocking read repair on or off. ``simulate_lossy_quorum``
(``merge.lab.lossy``) loses messages and resends them after a timeout
(``LossyQuorumResult``, and ``LossyQuorumReport`` beside the loss-free rule);
``simulate_crdt_replicas`` (``merge.lab.crdt_replicas``) runs CRDT replicas of the
simulation core under the same latency laws, by delta anti-entropy or state gossip, and
measures how late an update reaches them (``CRDTReplicasResult``).

Beyond the quorum: ``sloppy_quorum`` (``merge.lab.sloppy``) plays Dynamo's sloppy quorum
and hinted handoff through a partition and its heal (``SloppyResult``); ``async_follower``
(``merge.lab.follower``) measures how stale an asynchronous follower is t ms after a commit
(``FollowerResult``); ``tradeoff`` (``merge.lab.nrw``) tabulates latency against
staleness for every N/R/W (``TradeoffResult``).

Caching (``merge.lab.caching``): ``simulate_cache`` runs a database, cache nodes and
clients under cache-aside, write-through or write-behind, a fixed TTL and TTL-only or
delete-on-write invalidation on the simulation core's clock and lossy wire, and measures
hit ratio, stale reads, staleness, database load and lost acknowledged writes
(``CacheResult``); ``CacheSimulation`` is the same model driven by hand. Pure Python.

The write side of caching, as named scenarios: ``write_back`` (``merge.lab.durability``)
measures the acknowledged writes a crash loses under write-through, write-behind and
Dynamo's replicated write-behind, and their acknowledgement latency (``WriteBackResult``);
``multi_writer`` (``merge.lab.multi_region``) lets two regions' caches take writes through
a partition and counts the updates LWW, siblings and a crdtkit type lose
(``MultiWriterResult``); ``compare`` (``merge.lab.comparison``) puts the strategies side by
side (``CompareResult``). Pure Python.
The read side, on the lab's millisecond ``EventLoop``: ``CacheNode`` (fixed or sliding
TTL, versioned fills, memcache leases with stale-value serving), ``LossyChannel``,
``InvalidationLog`` (resends every r ms) and ``PolarisObserver`` (nines "consistent within
M"); the scenarios ``race`` (the stale-set race, scripted), ``herd`` (thundering herds,
``simulate_herd`` with every knob), ``ttl`` and ``invalidation``.

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
from merge.lab.cache_node import CacheNode, Lookup
from merge.lab.caching import (
    INVALIDATIONS,
    POLICIES,
    CacheResult,
    CacheSimulation,
    simulate_cache,
)
from merge.lab.catalog import LabResult, Scenario, scenario, scenarios
from merge.lab.comparison import STRATEGIES, CompareResult, compare
from merge.lab.crdt_replicas import CRDTReplicasResult, simulate_crdt_replicas
from merge.lab.durability import WRITE_BACK_POLICIES, WriteBackResult, write_back
from merge.lab.errors import LabConfigError, LabError
from merge.lab.events import EventLoop
from merge.lab.expiry import TTLResult, ttl
from merge.lab.follower import FollowerResult, async_follower
from merge.lab.latency import FITS, WARS, Exponential, LatencyLaw, Mixture, Pareto, WARSDelays
from merge.lab.lossy import LossyQuorumReport, LossyQuorumResult, simulate_lossy_quorum
from merge.lab.multi_region import DATA_TYPES, RESOLUTIONS, MultiWriterResult, multi_writer
from merge.lab.nrw import TradeoffResult, TradeoffRow, tradeoff
from merge.lab.polaris import (
    InvalidationLog,
    InvalidationResult,
    LossyChannel,
    PolarisObserver,
    invalidation,
)
from merge.lab.quorum import QuorumResult, simulate_quorum, simulate_read_repair
from merge.lab.sloppy import SloppyRead, SloppyResult, sloppy_quorum
from merge.lab.stale_set import RaceResult, race
from merge.lab.staleness import PBSResult, k_staleness, pbs
from merge.lab.thundering_herd import HerdResult, herd, simulate_herd

__all__ = [
    "DATA_TYPES",
    "FITS",
    "INVALIDATIONS",
    "POLICIES",
    "RESOLUTIONS",
    "STRATEGIES",
    "WARS",
    "WRITE_BACK_POLICIES",
    "CRDTReplicasResult",
    "CacheNode",
    "CacheResult",
    "CacheSimulation",
    "CompareResult",
    "EventLoop",
    "Exponential",
    "FollowerResult",
    "HerdResult",
    "InvalidationLog",
    "InvalidationResult",
    "LabConfigError",
    "LabError",
    "LabResult",
    "LatencyLaw",
    "Lookup",
    "LossyChannel",
    "LossyQuorumReport",
    "LossyQuorumResult",
    "Mixture",
    "MultiWriterResult",
    "PBSResult",
    "Pareto",
    "PolarisObserver",
    "QuorumResult",
    "RaceResult",
    "Scenario",
    "SloppyRead",
    "SloppyResult",
    "TTLResult",
    "TradeoffResult",
    "TradeoffRow",
    "WARSDelays",
    "WriteBackResult",
    "async_follower",
    "compare",
    "herd",
    "invalidation",
    "k_staleness",
    "multi_writer",
    "pbs",
    "race",
    "scenario",
    "scenarios",
    "simulate_cache",
    "simulate_crdt_replicas",
    "simulate_herd",
    "simulate_lossy_quorum",
    "simulate_quorum",
    "simulate_read_repair",
    "sloppy_quorum",
    "tradeoff",
    "ttl",
    "write_back",
]
