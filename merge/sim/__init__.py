"""The simulation core: simulated time, a faulty wire, replicas and sync protocols.

* :mod:`merge.sim.clock` — simulated time and the hybrid logical clocks that read it;
* :mod:`merge.sim.faults` — what the wire does to messages (:class:`Faults`);
* :mod:`merge.sim.wire` — messages as bytes, partitions, counters (:class:`Wire`);
* :mod:`merge.sim.replica` — one replica's state, snapshots and deferred merges;
* :mod:`merge.sim.sync` — the sync protocols, looked up by name in
  :data:`SYNC_PROTOCOLS`: :class:`DeltaAntiEntropy` (``"delta"``) and
  :class:`StateGossip` (``"state"``);
* :mod:`merge.sim.restarts` — crashes, checkpoints and restarts as new writers;
* :mod:`merge.sim.retirement` — the protocol that retires departed writers;
* :mod:`merge.sim.metrics` — counters, staleness and :class:`SettleError`;
* :mod:`merge.sim.config` — the frozen :class:`SimConfig`;
* :mod:`merge.sim.network` — :class:`Network`, which ties them together.

``merge.harness`` re-exports the names users had from it.

Examples:
    >>> from crdts import GCounter
    >>> from merge.sim import Network, SimConfig
    >>> net = Network(GCounter, 2, config=SimConfig(sync="state", seed=7))
    >>> _ = net.update("r0", lambda c: c.increment(3))
    >>> _ = net.settle()
    >>> net.replica("r1").state.value, type(net.protocol).__name__
    (3, 'StateGossip')
"""

from merge.sim.clock import CLOCK_ORIGIN_MS, STEP_MS, SimulatedTime
from merge.sim.config import SimConfig
from merge.sim.faults import REORDER_MAX_STEPS, Faults
from merge.sim.metrics import Metrics, SettleError
from merge.sim.network import Network
from merge.sim.replica import Replica
from merge.sim.sync import SYNC_PROTOCOLS, DeltaAntiEntropy, StateGossip, SyncProtocol
from merge.sim.wire import Message, Wire

__all__ = [
    "CLOCK_ORIGIN_MS",
    "REORDER_MAX_STEPS",
    "STEP_MS",
    "SYNC_PROTOCOLS",
    "DeltaAntiEntropy",
    "Faults",
    "Message",
    "Metrics",
    "Network",
    "Replica",
    "SettleError",
    "SimConfig",
    "SimulatedTime",
    "StateGossip",
    "SyncProtocol",
    "Wire",
]
