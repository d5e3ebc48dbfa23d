"""Reference models for differential tests: naive, unbounded, easy to trust."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

__all__ = ["HistoryRegister", "TombstoneSet", "Write"]

_tags = itertools.count(1)


@dataclass
class TombstoneSet:
    """Shapiro's state-based OR-Set with tombstones, optionally remove-wins.

    ``tokens`` holds every ``(key, element, tag, is_add)`` ever seen; ``dead`` every tag
    that some replica retired. Each operation retires the live tokens it observed for the
    element (as the optimised types do), then adds a token of its own. ``key`` makes it a
    model of a map of sets (``ORMap(ORSet)``): ``remove_key`` retires a whole key.

    It never forgets anything, which makes it slow, unbounded and easy to trust: run it
    beside an ``ORSet``/``RWORSet``/``ORMap`` and compare values after every step.

    Examples:
        >>> from merge.testing import TombstoneSet
        >>> a, b = TombstoneSet(), TombstoneSet()
        >>> b.merge(a.add("x"))
        >>> _ = b.remove("x"); _ = a.add("x")    # a concurrent add survives the remove
        >>> a.merge(b); sorted(a.elements())
        ['x']
    """

    remove_wins: bool = False
    tokens: set[tuple[Any, Any, int, bool]] = field(default_factory=set)
    dead: set[int] = field(default_factory=set)

    def live(self, key: Any = None, element: Any = None) -> set[tuple[Any, Any, int, bool]]:
        """The tokens not retired, optionally only those of ``key`` and ``element``."""
        return {
            token
            for token in self.tokens
            if token[2] not in self.dead
            and (key is None or token[0] == key)
            and (element is None or token[1] == element)
        }

    def _op(self, key: Any, element: Any, is_add: bool | None) -> TombstoneSet:
        retired = {token[2] for token in self.live(key, element)}
        delta = TombstoneSet(self.remove_wins, dead=retired)
        if is_add is not None:
            delta.tokens.add((key, element, next(_tags), is_add))
        self.merge(delta)
        return delta

    def add(self, element: Any, key: Any = None) -> TombstoneSet:
        """Add ``element`` (under ``key``); return the delta."""
        return self._op(key, element, True)

    def remove(self, element: Any, key: Any = None) -> TombstoneSet:
        """Remove ``element`` as observed (under ``key``); return the delta."""
        return self._op(key, element, False if self.remove_wins else None)

    def remove_key(self, key: Any) -> TombstoneSet:
        """Retire every observed token of ``key``; return the delta."""
        delta = TombstoneSet(self.remove_wins, dead={token[2] for token in self.live(key)})
        self.merge(delta)
        return delta

    def merge(self, other: TombstoneSet) -> None:
        self.tokens |= other.tokens
        self.dead |= other.dead

    def copy(self) -> TombstoneSet:
        return TombstoneSet(self.remove_wins, set(self.tokens), set(self.dead))

    def elements(self, key: Any = None) -> frozenset[Any]:
        """The elements present (under ``key``)."""
        by_element: dict[Any, list[bool]] = {}
        for _, element, _, is_add in self.live(key):
            by_element.setdefault(element, []).append(is_add)
        if self.remove_wins:
            return frozenset(e for e, adds in by_element.items() if all(adds))
        return frozenset(by_element)

    def as_map(self) -> dict[Any, frozenset[Any]]:
        """``{key: elements}`` for every key with a live token."""
        keys = {token[0] for token in self.live()}
        return {key: self.elements(key) for key in keys}


@dataclass(frozen=True)
class Write:
    """One assignment in a :class:`HistoryRegister`: the value, the writes it overwrote
    (the values its writer saw), and an optional timestamp."""

    value: Any
    overwrites: frozenset[tuple[str, int]]
    timestamp: Any = None


@dataclass
class HistoryRegister:
    """A register that keeps every write ever made: the reference model of the
    multi-value and last-writer-wins registers.

    Each write is named ``(replica, n)`` — the n-th write of that replica, exactly the dot
    an ``MVRegister`` gives it — and records the writes it overwrote. ``values`` are the
    writes no known write overwrote, in name order (what ``MVRegister.values`` must show);
    ``latest`` is the value of the write with the greatest timestamp (what
    ``LWWRegister.value`` must show). Merging is the union of the writes.

    Examples:
        >>> from merge.testing import HistoryRegister
        >>> a, b = HistoryRegister("a"), HistoryRegister("b")
        >>> _ = a.assign("red", timestamp=1); b.merge(a.assign("blue", timestamp=2))
        >>> _ = b.assign("green", timestamp=3); _ = a.assign("pink", timestamp=4)
        >>> a.merge(b); a.values, a.latest
        (('pink', 'green'), 'pink')
    """

    replica: str | None = None
    writes: dict[tuple[str, int], Write] = field(default_factory=dict)

    def assign(self, value: Any, *, timestamp: Any = None) -> HistoryRegister:
        """Overwrite the current values with ``value``; return the delta (this write)."""
        if self.replica is None:
            raise TypeError("this HistoryRegister has no replica id; pass one to write")
        counter = 1 + max((n for r, n in self.writes if r == self.replica), default=0)
        write = Write(value, frozenset(self._current()), timestamp)
        self.writes[(self.replica, counter)] = write
        return HistoryRegister(None, {(self.replica, counter): write})

    def merge(self, other: HistoryRegister) -> None:
        self.writes.update(other.writes)

    def copy(self, replica: str | None = None) -> HistoryRegister:
        return HistoryRegister(replica or self.replica, dict(self.writes))

    def _current(self) -> list[tuple[str, int]]:
        overwritten: set[tuple[str, int]] = set()
        for write in self.writes.values():
            overwritten |= write.overwrites
        return sorted(name for name in self.writes if name not in overwritten)

    @property
    def values(self) -> tuple[Any, ...]:
        """The values of the writes that no known write overwrote, in name order."""
        return tuple(self.writes[name].value for name in self._current())

    @property
    def latest(self) -> Any:
        """The value of the write with the greatest timestamp (None without any)."""
        stamped = [write for write in self.writes.values() if write.timestamp is not None]
        if not stamped:
            return None
        return max(stamped, key=lambda write: write.timestamp).value
