"""The deterministic replica harness (compatibility name for :mod:`merge.sim`).

The simulation now lives in :mod:`merge.sim`, split along its jobs (time, faults, wire,
replicas, sync protocols, retirement, metrics). This module keeps the names users imported
from ``merge.harness`` working.

Examples:
    >>> from merge.harness import Network
    >>> from merge.sim import Network as SimNetwork
    >>> Network is SimNetwork
    True
"""

from merge.sim import (
    CLOCK_ORIGIN_MS,
    REORDER_MAX_STEPS,
    STEP_MS,
    Faults,
    Message,
    Metrics,
    Network,
    Replica,
    SettleError,
    SimConfig,
)

__all__ = [
    "CLOCK_ORIGIN_MS",
    "REORDER_MAX_STEPS",
    "STEP_MS",
    "Faults",
    "Message",
    "Metrics",
    "Network",
    "Replica",
    "SettleError",
    "SimConfig",
]
