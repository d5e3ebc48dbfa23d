"""The read-only mapping protocol every map-like type shares (ORMap, Cart, LWWMap).

A map-like type provides ``value`` (a new dict), ``get``, ``__getitem__``, ``__contains__``,
``__iter__`` and ``__len__``; this mixin adds ``keys()``, ``items()`` and ``values()`` as
methods, as on a ``dict``, each a view of one fresh snapshot of ``value``.
"""

from __future__ import annotations

from collections.abc import ItemsView, KeysView, ValuesView
from typing import Any

__all__ = ["MappingReads"]


class MappingReads:
    """``keys()``, ``items()`` and ``values()`` over a snapshot of ``self.value``.

    The views belong to a dict made for the call: they never change with the replica, and
    changing what they hold changes nothing in it. Cost: O(n) for n keys (the snapshot).
    """

    __slots__ = ()

    value: Any  # a property of the type: a new dict on every read

    def keys(self) -> KeysView[Any]:
        """The keys, as a view of a snapshot. O(n)."""
        snapshot: dict[Any, Any] = self.value
        return snapshot.keys()

    def items(self) -> ItemsView[Any, Any]:
        """The ``(key, value)`` pairs, as a view of a snapshot. O(n)."""
        snapshot: dict[Any, Any] = self.value
        return snapshot.items()

    def values(self) -> ValuesView[Any]:
        """The values, as a view of a snapshot. O(n)."""
        snapshot: dict[Any, Any] = self.value
        return snapshot.values()
