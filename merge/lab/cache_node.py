"""A cache node on continuous simulated time: TTLs, versioned fills, leases and stale values.

A ``CacheNode`` maps keys to versions (ints; a larger version is newer). What it adds to a
dict is what the read side of a cache needs to stay consistent with its database:

* **TTL**: an entry lives ``ttl_ms`` from when it was stored (fixed) or from its last read
  (``sliding=True``: each hit pushes the expiry back);
* **versioned fills** (``versioned=True``): the node remembers the newest version it has
  seen for a key, from a set or from a delete that carries a version, and refuses a fill
  older than that (Polaris's fix for the slow-fill race; ``evict`` forgets the version with
  the key, the loophole Meta describes);
* **leases** (``leases=True``, memcache after Nishtala et al. 2013): a miss hands out a
  token; a set is stored only with a token that is still valid; a delete voids the key's
  outstanding tokens; while a token younger than ``lease_ms`` is outstanding no other token
  is issued, and other clients are told to wait and retry; with ``stale_ms`` a just-deleted
  value is kept that long and handed to waiting clients, marked stale.

The node runs on an :class:`~merge.lab.EventLoop` (it reads ``loop.now``; it schedules
nothing). With ``record=True`` it keeps ``history``: one ``(key, version, start_ms, end_ms)``
per entry it served, ended by a replacing set, a delete or its expiry; ``close()`` ends the
entries still live, so stale windows can be measured exactly rather than by sampling reads.

Examples:
    >>> from merge.lab import CacheNode, EventLoop
    >>> loop = EventLoop()
    >>> node = CacheNode(loop, leases=True)
    >>> first = node.get("k")              # a miss: this client holds the lease
    >>> first.version, first.token is not None
    (None, True)
    >>> node.get("k").wait                 # anyone else waits and retries
    True
    >>> node.delete("k")                   # a write: outstanding tokens are void
    >>> node.set("k", 1, token=first.token)  # the stale set is refused
    False

Cost: O(1) per call.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from dataclasses import dataclass

from merge.lab.errors import LabConfigError
from merge.lab.events import EventLoop

__all__ = ["CacheNode", "Lookup"]


@dataclass(frozen=True)
class Lookup:
    """What a ``get`` returned: a ``version`` (None on a miss), a lease ``token`` granted
    with a miss, ``wait`` when another client holds the lease (retry later), and ``stale``
    when ``version`` is a just-deleted value served to a waiting client."""

    version: int | None
    token: int | None = None
    wait: bool = False
    stale: bool = False


@dataclass
class _Slot:
    version: int | None = None  # what is served; None: nothing live
    expires_ms: float = math.inf
    start_ms: float = 0.0
    seen: int = -1  # versioned fills: the newest version this node has seen
    token: int | None = None  # the outstanding lease token
    token_ms: float = -math.inf
    stale_version: int | None = None  # stale serving: the last deleted value
    stale_until_ms: float = -math.inf


class CacheNode:
    """One cache node: see the module docstring. Keys are any hashable values."""

    def __init__(
        self,
        loop: EventLoop,
        *,
        ttl_ms: float | None = None,
        sliding: bool = False,
        versioned: bool = False,
        leases: bool = False,
        lease_ms: float = 10_000.0,
        stale_ms: float = 0.0,
        record: bool = False,
    ) -> None:
        if ttl_ms is not None and not (isinstance(ttl_ms, int | float) and 0 < ttl_ms < math.inf):
            raise LabConfigError("ttl_ms", ttl_ms, "must be a finite number of ms > 0, or None")
        if not (isinstance(lease_ms, int | float) and 0 < lease_ms < math.inf):
            raise LabConfigError("lease_ms", lease_ms, "must be a finite number of ms > 0")
        if not (isinstance(stale_ms, int | float) and 0 <= stale_ms < math.inf):
            raise LabConfigError("stale_ms", stale_ms, "must be a finite number of ms >= 0")
        self.loop = loop
        self.ttl_ms = ttl_ms
        self.sliding = sliding
        self.versioned = versioned
        self.leases = leases
        self.lease_ms = float(lease_ms)
        self.stale_ms = float(stale_ms)
        #: Every entry served, as ``(key, version, start_ms, end_ms)`` (with ``record``).
        self.history: list[tuple[Hashable, int, float, float]] | None = [] if record else None
        self._slots: dict[Hashable, _Slot] = {}
        self._tokens = 0
        #: Sets refused (void lease token, or older than a version seen).
        self.refused = 0
        #: Lease tokens handed out.
        self.tokens_issued = 0

    def _slot(self, key: Hashable) -> _Slot:
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = _Slot()
        return slot

    def _live(self, key: Hashable, slot: _Slot) -> bool:
        if slot.version is not None and slot.expires_ms <= self.loop.now:
            self._end(key, slot, slot.expires_ms)
        return slot.version is not None

    def _end(self, key: Hashable, slot: _Slot, end_ms: float) -> None:
        if self.history is not None and slot.version is not None:
            self.history.append((key, slot.version, slot.start_ms, end_ms))
        slot.version = None

    def close(self) -> None:
        """End every live entry now in ``history`` (call once, at the end of a run)."""
        for key, slot in self._slots.items():
            if self._live(key, slot):
                self._end(key, slot, self.loop.now)

    def holds(self, key: Hashable) -> int | None:
        """The version a read would get now, without counting as a read (no sliding)."""
        slot = self._slots.get(key)
        return slot.version if slot is not None and self._live(key, slot) else None

    def expires_at(self, key: Hashable) -> float:
        """When the key's live entry expires (inf: never, or nothing held)."""
        slot = self._slots.get(key)
        return slot.expires_ms if slot is not None and self._live(key, slot) else math.inf

    def get(self, key: Hashable) -> Lookup:
        """A client's read: a hit (sliding TTL: refreshed), or a miss that may carry a lease
        token, or (leases) a wait, with the stale value if one is kept."""
        slot = self._slot(key)
        now = self.loop.now
        if self._live(key, slot):
            if self.sliding and self.ttl_ms is not None:
                slot.expires_ms = now + self.ttl_ms
            return Lookup(slot.version)
        if not self.leases:
            return Lookup(None)
        if slot.token is not None and now - slot.token_ms < self.lease_ms:
            if slot.stale_version is not None and now < slot.stale_until_ms:
                return Lookup(slot.stale_version, wait=True, stale=True)
            return Lookup(None, wait=True)
        self._tokens += 1
        self.tokens_issued += 1
        slot.token, slot.token_ms = self._tokens, now
        return Lookup(None, token=self._tokens)

    def set(self, key: Hashable, version: int, *, token: int | None = None) -> bool:
        """A fill: store ``version`` unless refused (leases: ``token`` is not the key's valid
        token; versioned: older than a version seen). Returns whether it was stored."""
        slot = self._slot(key)
        if self.leases:
            if token is None or token != slot.token:
                self.refused += 1
                return False
            slot.token = None
        if self.versioned:
            if version < slot.seen:
                self.refused += 1
                return False
            slot.seen = version
        now = self.loop.now
        if self._live(key, slot):
            self._end(key, slot, now)
        slot.version, slot.start_ms = version, now
        slot.expires_ms = math.inf if self.ttl_ms is None else now + self.ttl_ms
        return True

    def delete(self, key: Hashable, *, version: int | None = None) -> None:
        """An invalidation: drop the entry and void its lease tokens; keep the value for
        stale serving (``stale_ms``); with ``version``, remember it for versioned fills."""
        slot = self._slot(key)
        if self._live(key, slot):
            if self.stale_ms > 0:
                slot.stale_version = slot.version
                slot.stale_until_ms = self.loop.now + self.stale_ms
            self._end(key, slot, self.loop.now)
        slot.token = None
        if version is not None and version > slot.seen:
            slot.seen = version

    def evict(self, key: Hashable) -> None:
        """Memory pressure: forget the key entirely, its entry, its lease token and the
        version a versioned node remembered (the loophole Meta's Polaris post describes: a
        slow fill arriving after an eviction finds nothing to compare against)."""
        slot = self._slots.pop(key, None)
        if slot is not None and self._live(key, slot):
            self._end(key, slot, self.loop.now)
