"""The last-writer-wins map; public as `crdts.lww.LWWMap` and `crdts.LWWMap`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Self

from clocks import HLC, Timestamp
from crdts._base import locked
from crdts._mapping import MappingReads
from crdts._stamped import _check_stamp, _Stamped
from crdts._values import check_element, check_value, own_value
from crdts._wire import (
    element_from_wire,
    element_to_wire,
    sorted_elements,
    timestamp_from_wire,
    timestamp_to_wire,
    value_from_wire,
    value_key,
    value_to_wire,
)

__all__ = ["LWWMap"]


class _Removed:
    """The value of a key whose latest write is a removal."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<removed>"


_REMOVED: Any = _Removed()


def _entry_key(value: Any) -> tuple[int, bytes]:
    """Order writes with equal stamps: a removal first, then values by their encoding."""
    return (0, b"") if value is _REMOVED else (1, value_key(value))


class LWWMap(_Stamped, MappingReads, type_code=14):
    """A map where each key holds its latest write: a value, or a removal.

    ``set(key, value)`` and ``remove(key)`` record a timestamped write for the key;
    ``merge`` keeps, per key, the write with the larger timestamp (on a tie — one replica
    reusing a stamp — a value beats a removal, and values are compared by a fixed order).
    Merging observes the latest incoming timestamp into the clock. The value is a dict of
    the keys whose latest write is a value. The map reads like a read-only ``dict`` (as
    ``ORMap`` and ``Cart`` do): ``m[key]`` (``KeyError`` if absent), ``get(key, default)``,
    ``in``, ``len``, iteration over the keys, and ``keys()``, ``items()``, ``values()``.

    Surprises: each key is an independent last-writer-wins register, so concurrent sets of
    one key keep only one value, and a removal beats a concurrent set that is stamped
    earlier, even if the remover never saw it. ``remove`` never raises: a removal is kept as
    a timestamped tombstone (even for a key never seen here, since it may arrive before the
    set it beats), and tombstones are never dropped. Clock drift, explicit timestamps and
    mutable values behave as for [`LWWRegister`][crdts.LWWRegister].

    Examples:
        >>> from clocks import HLC
        >>> from crdts.lww import LWWMap
        >>> a = LWWMap(replica="a", clock=HLC("a", now=lambda: 1_000))
        >>> b = LWWMap(replica="b", clock=HLC("b", now=lambda: 1_000))
        >>> b.merge(a.set("color", "red"))
        >>> a.merge(b.remove("color"))  # b saw a's write, so its removal is later
        >>> a.merge(b.set("size", 3))
        >>> a.value, "color" in a, a.get("size"), a["size"], list(a.items())
        ({'size': 3}, False, 3, 3, [('size', 3)])

    Merge cost: O(m) for m keys in the merged-in state (plus O(v) per tie between values of
    size v). State size: O(n) for n keys ever set or removed, plus the values.
    """

    __slots__ = ("_entries", "_live")

    def __init__(self, *, replica: str | None = None, clock: HLC | None = None) -> None:
        super().__init__(replica=replica, clock=clock)
        self._entries: dict[Any, tuple[Timestamp, Any]] = {}
        # derived: how many entries hold a value rather than a removal
        self._live = 0

    @property
    @locked
    def value(self) -> dict[Any, Any]:
        """A new dict of every key whose latest write is a value (O(n); values holding
        lists or dicts are copies, so changing them changes nothing here)."""
        return {
            key: own_value(value)
            for key, (_, value) in self._entries.items()
            if value is not _REMOVED
        }

    def __contains__(self, key: object) -> bool:
        try:
            entry = self._entries.get(key)
        except TypeError:  # unhashable: cannot be a key
            return False
        return entry is not None and entry[1] is not _REMOVED

    def __len__(self) -> int:
        return self._live

    def __iter__(self) -> Iterator[Any]:
        """Iterate over a snapshot of the keys that hold a value (taken under the lock)."""
        return iter(self._keys())

    @locked
    def _keys(self) -> tuple[Any, ...]:
        return tuple(key for key, (_, value) in self._entries.items() if value is not _REMOVED)

    @locked
    def __getitem__(self, key: Any) -> Any:
        """The value of ``key`` (a copy if it holds lists or dicts).

        Raises:
            KeyError: ``key`` has no value here (never set, or removed).
        """
        entry = self._entries.get(key)
        if entry is None or entry[1] is _REMOVED:
            raise KeyError(key)
        return own_value(entry[1])

    @locked
    def get(self, key: Any, default: Any = None) -> Any:
        """The value of ``key``, or ``default`` if it has none (never set, or removed); a copy
        if it holds lists or dicts."""
        entry = self._entries.get(key)
        return default if entry is None or entry[1] is _REMOVED else own_value(entry[1])

    @locked
    def set(self, key: Any, value: Any, *, timestamp: Timestamp | None = None) -> Self:
        """Write ``value`` under ``key``, stamped now (or with ``timestamp``); return the delta.

        Raises:
            UnboundReplicaError: this instance has no replica id.
            TypeError, ValueError: ``key`` is not a supported key, ``value`` not a supported
                value, or ``timestamp`` not a valid ``Timestamp``.
        """
        self._writer()
        check_element(key, "key")
        return self._write(key, own_value(check_value(value)), timestamp)

    @locked
    def remove(self, key: Any, *, timestamp: Timestamp | None = None) -> Self:
        """Record a removal of ``key``, stamped now (or with ``timestamp``); never raises for
        an absent key. Return the delta.

        Raises:
            UnboundReplicaError: this instance has no replica id.
            TypeError, ValueError: ``key`` is not a supported key, or ``timestamp`` is not a
                valid ``Timestamp``.
        """
        self._writer()
        check_element(key, "key")
        return self._write(key, _REMOVED, timestamp)

    def _write(self, key: Any, value: Any, timestamp: Timestamp | None) -> Self:
        stamp = self._stamp(timestamp)
        delta = self._empty()
        delta._put(key, stamp, value)
        if self._wins(key, stamp, value):
            self._put(key, stamp, value)
        return delta

    def _wins(self, key: Any, stamp: Timestamp, value: Any) -> bool:
        """True if the write ``(stamp, value)`` beats the current entry of ``key``."""
        entry = self._entries.get(key)
        if entry is None or stamp > entry[0]:
            return True
        return stamp == entry[0] and _entry_key(value) > _entry_key(entry[1])

    def _put(self, key: Any, stamp: Timestamp, value: Any) -> None:
        old = self._entries.get(key)
        self._live += (value is not _REMOVED) - (old is not None and old[1] is not _REMOVED)
        self._entries[key] = (stamp, value)

    def _merge(self, other: Self) -> None:
        self._observe(stamp for stamp, _ in other._entries.values())
        for key, (stamp, value) in other._entries.items():
            if self._wins(key, stamp, value):
                self._put(key, stamp, own_value(value))

    def _stamps(self) -> Iterable[Timestamp]:
        return [stamp for stamp, _ in self._entries.values()]

    def _state(self) -> Any:
        return {key: (stamp, _entry_key(value)) for key, (stamp, value) in self._entries.items()}

    def _copy(self) -> Self:
        result = self._empty()
        result._entries = {
            key: (stamp, own_value(value)) for key, (stamp, value) in self._entries.items()
        }
        result._live = self._live
        return result

    def _check(self) -> None:
        live = 0
        for key, (stamp, value) in self._entries.items():
            # every key is a supported key (it crosses the wire unchanged)
            assert check_element(key, "key") is key, key
            _check_stamp(stamp)
            if value is not _REMOVED:
                # every value is a supported register value
                check_value(value)
                live += 1
        # the derived count of live keys matches the entries
        assert self._live == live, (self._live, live)

    def _to_wire(self) -> Any:
        """``[[key, stamp, True, value] or [key, stamp, False, None], ...]`` sorted by the
        key's msgpack encoding; ``False`` marks a removal."""
        entries = []
        for key in sorted_elements(self._entries):
            stamp, value = self._entries[key]
            present = value is not _REMOVED
            entries.append(
                [
                    element_to_wire(key),
                    timestamp_to_wire(stamp),
                    present,
                    value_to_wire(value) if present else None,
                ]
            )
        return entries

    @classmethod
    def _from_wire(cls, data: Any) -> Self:
        """An unbound map from ``_to_wire``'s structure; ValueError if malformed."""
        if type(data) not in (list, tuple):
            raise ValueError(f"an LWWMap is an array of entries, not {data!r}")
        result = cls()
        for entry in data:
            if type(entry) not in (list, tuple) or len(entry) != 4 or type(entry[2]) is not bool:
                raise ValueError(f"an LWWMap entry is [key, stamp, present, value]: {entry!r}")
            key = element_from_wire(entry[0])
            if key in result._entries:
                raise ValueError(f"key {key!r} appears twice in an LWWMap")
            if not entry[2] and entry[3] is not None:
                raise ValueError(f"removed key {key!r} carries a value: {entry[3]!r}")
            value = value_from_wire(entry[3]) if entry[2] else _REMOVED
            result._put(key, timestamp_from_wire(entry[1]), value)
        return result
