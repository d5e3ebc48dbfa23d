"""Logical, vector and hybrid logical clocks.

``LamportClock`` orders events consistently with causality, ``VectorClock`` detects it
(``compare`` returns an ``Order``, including ``CONCURRENT``), and ``HLC`` issues
``Timestamp`` values that order events causally while staying close to physical time.
Errors derive from ``ClockError``.

Examples:
    >>> from clocks import HLC, Order, VectorClock
    >>> VectorClock({"a": 1}).compare(VectorClock({"b": 1})) is Order.CONCURRENT
    True
    >>> HLC("a", now=lambda: 1_000).now()
    Timestamp(wall=1000, logical=0, node='a')
"""

from clocks._order import Order
from clocks.errors import ClockDriftError, ClockError
from clocks.hlc import HLC, Timestamp
from clocks.lamport import LamportClock
from clocks.vector import VectorClock

__all__ = [
    "HLC",
    "ClockDriftError",
    "ClockError",
    "LamportClock",
    "Order",
    "Timestamp",
    "VectorClock",
]
