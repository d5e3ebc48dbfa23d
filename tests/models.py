"""Naive reference models: the textbook specifications, with tombstones and full histories.

They are slow and grow without bound, which is what makes them easy to trust. Differential
tests run them beside the optimised types and compare values after every step. They live
in :mod:`merge.testing`, so users' differential tests can use them too.
"""

from merge.testing import HistoryRegister, TombstoneSet, Write

__all__ = ["HistoryRegister", "TombstoneSet", "Write"]
