"""Last-writer-wins register, element set and map, stamped by a hybrid logical clock.

An ``LWWRegister`` stores one ``(timestamp, value)`` write, an ``LWWElementSet`` the latest
add and latest remove timestamp of each element, and an ``LWWMap`` the latest
``(timestamp, value or removal)`` write of each key. Two states merge by keeping, for each
of these, the write with the larger timestamp (a fixed order on the values breaks a tie
between equal timestamps), after observing the largest incoming timestamp into the local
clock. The value is the winning writes: the register's value, the elements whose latest add
is newer than their latest removal, the keys whose latest write is not a removal.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Literal, Self

from clocks import HLC, Timestamp
from crdts._base import _KEEP, CRDT, locked
from crdts._identity import name_of
from crdts._mapping import MappingReads
from crdts._values import check_element, check_value, own_value
from crdts._wire import (
    check_timestamp,
    element_from_wire,
    element_to_wire,
    sorted_elements,
    timestamp_from_wire,
    timestamp_to_wire,
    value_from_wire,
    value_key,
    value_to_wire,
)

__all__ = ["LWWElementSet", "LWWMap", "LWWRegister"]


# -- the shared stamping machinery -----------------------------------------------------------


def _check_clock(clock: object, replica: str | None) -> HLC:
    if not isinstance(clock, HLC):
        raise TypeError(
            f"clock must be a clocks.HLC, not {type(clock).__name__}; "
            f"pass clock=HLC(replica, now=...) or leave it out"
        )
    if replica is not None and clock.node != replica:
        raise ValueError(
            f"clock node {clock.node!r} differs from replica {replica!r}: its timestamps "
            f"would name another writer; pass clock=HLC({replica!r}, ...)"
        )
    return clock


class _Stamped(CRDT):
    """What the LWW types share: an HLC that stamps writes and observes merged stamps.

    A bound instance owns a clock (``HLC(replica)`` unless ``clock=`` is given); an unbound
    one (a delta, a decoded message) has none unless given one, and observes nothing.
    """

    __slots__ = ("_clock",)

    def __init__(self, *, replica: str | None = None, clock: HLC | None = None) -> None:
        super().__init__(replica=replica)
        if clock is not None:
            clock = _check_clock(clock, self.replica)
        elif self._replica is not None:
            clock = HLC(self.replica)  # type: ignore[arg-type]  # bound: a name
        self._clock: HLC | None = clock

    @property
    @locked
    def clock(self) -> HLC | None:
        """The hybrid logical clock that stamps this replica's writes (None if unbound)."""
        return self._bound_clock() if self._replica is not None else self._clock

    def _bound_clock(self) -> HLC:
        """This writer's clock, created on first use if the replica was bound without one."""
        clock = self._clock
        if clock is None:
            clock = self._clock = HLC(name_of(self._writer()))
        return clock

    def _stamp(self, timestamp: Timestamp | None) -> Timestamp:
        """The stamp of a local write: ``timestamp`` if given (validated), else the clock's.

        An explicit stamp must fit ``Timestamp.pack`` (48-bit wall, 16-bit logical) and be
        no more than the clock's ``max_offset`` ahead of its physical time
        (``ClockDriftError`` otherwise): every peer would refuse to merge a state holding it
        until its physical time caught up, and that state's other entries with it.
        Callers have checked that this instance is bound (``_writer``).
        """
        if timestamp is not None:
            self._bound_clock().check_drift(check_timestamp(timestamp))
            return timestamp
        return self._bound_clock().now()

    def _observe(self, stamps: Iterable[Timestamp]) -> None:
        """Observe the largest of ``stamps`` into the clock, so later writes order after it.

        Called by ``_merge`` before any state changes: a ``ClockDriftError`` (a stamp too far
        in the future) leaves the state unchanged.
        """
        clock = self._clock if self._replica is None else self._bound_clock()
        if clock is None:
            return
        latest = max(stamps, default=None)
        if latest is not None:
            clock.update(latest)

    @locked
    def copy(
        self,
        *,
        replica: str | None = _KEEP,
        incarnation: str | None = None,
        clock: HLC | None = None,
    ) -> Self:
        """Return an independent copy; ``replica=`` rebinds it, ``clock=`` sets its clock.

        A copy for the same replica shares its clock (one writer, one clock); a copy for
        another replica gets ``clock.fork(replica)``, reading the same time source (pass
        ``clock=`` to choose another); a read-only copy has no clock.
        """
        result = super().copy(replica=replica, incarnation=incarnation)
        if clock is not None:
            result._clock = _check_clock(clock, result.replica)
            result._advance_clock()
        return result

    def _rebind(self, source: Self) -> None:
        name = self.replica
        if name == source.replica:
            # one replica, one clock: a copy or a restore keeps stamping in order
            self._clock = source._clock if name is None else source._bound_clock()
        elif name is None:
            self._clock = None
        elif source._clock is None:
            self._clock = HLC(name)
        else:
            self._clock = source._clock.fork(name)
        self._advance_clock()

    def _advance_clock(self) -> None:
        """Move a bound clock past the state's newest stamp (a restored or forked writer
        must never stamp below what it already holds). O(n) for n stamps."""
        if self._replica is None or self._clock is None:
            return
        latest = max(self._stamps(), default=None)
        if latest is not None:
            self._clock.advance(latest)

    def _stamps(self) -> Iterable[Timestamp]:
        """Every timestamp the state holds."""
        raise NotImplementedError


def _check_stamp(stamp: object) -> None:
    # a stamp is a Timestamp with non-negative int parts that fit the wire and a str node
    assert check_timestamp(stamp) is stamp, stamp


# -- LWWRegister -----------------------------------------------------------------------------


class LWWRegister(_Stamped, type_code=3):
    """A single value where the write with the latest timestamp wins.

    ``assign(value)`` stamps the value with this replica's hybrid logical clock;
    ``merge`` keeps the write with the larger timestamp. Timestamps order as
    ``(wall, logical, node)``, so writes by different replicas never tie; should one replica
    reuse a stamp for two different values, a fixed order on the values picks the same
    winner everywhere. Merging first observes the incoming timestamp into the clock, so a
    write made after reading another replica's write is ordered after it. ``value`` is
    ``None`` and ``timestamp`` is ``None`` until the first write.

    Surprises: concurrent writes are not kept — one silently replaces the other (use an
    ``MVRegister`` to see both), and "latest" means latest by the clocks, which may differ
    from real time by up to the clocks' skew. A timestamp more than the clock's
    ``max_offset`` ahead of local physical time makes ``merge`` raise ``ClockDriftError``
    with nothing changed; the same merge succeeds once physical time has caught up. Merge
    stays all-or-nothing: a state holding one such stamp is refused whole, other entries
    included (applying only the acceptable ones would make the result depend on the
    receiver's physical time and break the join laws). So a writer cannot mint one: an
    explicit ``timestamp=`` must fit ``Timestamp.pack`` (wall below 2**48, logical at most
    0xFFFF; ``ValueError``) and be at most the clock's ``max_offset`` ahead of its physical
    time (``ClockDriftError``, nothing changed); ``decode`` refuses a stamp outside the pack
    bounds (``DecodeError``). Such a stamp can then only come from a peer whose clock runs
    ahead, and waits for physical time. An explicit ``timestamp=`` does not move the clock,
    so a later unstamped write may lose to it. ``value`` returns the stored object: lists and dicts
    must not be mutated in place (assign copies what it is given).

    Examples:
        >>> from clocks import HLC
        >>> from crdts.lww import LWWRegister
        >>> a = LWWRegister(replica="a", clock=HLC("a", now=lambda: 1_000))
        >>> b = LWWRegister(replica="b", clock=HLC("b", now=lambda: 900))
        >>> delta = a.assign("red")
        >>> b.merge(delta)  # b's clock jumps to a's stamp, so its next write wins
        >>> a.merge(b.assign("blue"))
        >>> a.value, a.timestamp
        ('blue', Timestamp(wall=1000, logical=2, node='b'))

    Merge cost: O(1) (O(v) to break a tie between values of size v). State size: O(1) plus
    the value.
    """

    __slots__ = ("_timestamp", "_value")

    def __init__(self, *, replica: str | None = None, clock: HLC | None = None) -> None:
        super().__init__(replica=replica, clock=clock)
        self._timestamp: Timestamp | None = None
        self._value: Any = None

    @property
    @locked
    def value(self) -> Any:
        """The winning value, or None before any write (a copy if it holds lists or dicts)."""
        return own_value(self._value)

    @property
    @locked
    def timestamp(self) -> Timestamp | None:
        """The winning write's timestamp, or None before any write."""
        return self._timestamp

    @locked
    def assign(self, value: Any, *, timestamp: Timestamp | None = None) -> Self:
        """Write ``value``, stamped now (or with ``timestamp``); return the delta.

        The write takes effect here only if its stamp beats the current one, which an
        unstamped write always does unless an explicit later ``timestamp`` was assigned.

        Raises:
            UnboundReplicaError: this instance has no replica id.
            TypeError, ValueError: ``value`` is not a supported register value, or
                ``timestamp`` is not a valid ``Timestamp`` (its wall must fit 48 bits and
                its logical 16).
            ClockDriftError: ``timestamp`` is more than the clock's ``max_offset`` ahead of
                its physical time.
        """
        self._writer()
        value = own_value(check_value(value))
        stamp = self._stamp(timestamp)
        delta = self._empty()
        delta._timestamp, delta._value = stamp, value
        if self._wins(stamp, value):
            self._timestamp, self._value = stamp, value
        return delta

    def _wins(self, stamp: Timestamp, value: Any) -> bool:
        """True if the write ``(stamp, value)`` beats the current one."""
        mine = self._timestamp
        if mine is None or stamp > mine:
            return True
        return stamp == mine and value_key(value) > value_key(self._value)

    def _merge(self, other: Self) -> None:
        stamp = other._timestamp
        if stamp is None:
            return
        self._observe((stamp,))
        if self._wins(stamp, other._value):
            self._timestamp, self._value = stamp, own_value(other._value)

    def _stamps(self) -> Iterable[Timestamp]:
        return () if self._timestamp is None else (self._timestamp,)

    def _state(self) -> Any:
        return self._timestamp, value_key(self._value)

    def _copy(self) -> Self:
        result = self._empty()
        result._timestamp, result._value = self._timestamp, own_value(self._value)
        return result

    def _check(self) -> None:
        if self._timestamp is None:
            # no write yet: no value either
            assert self._value is None, self._value
        else:
            _check_stamp(self._timestamp)
            # the value is a supported register value
            check_value(self._value)

    def _to_wire(self) -> Any:
        """``None`` before any write, else ``[timestamp, value]`` (see ``value_to_wire``)."""
        if self._timestamp is None:
            return None
        return [timestamp_to_wire(self._timestamp), value_to_wire(self._value)]

    @classmethod
    def _from_wire(cls, data: Any) -> Self:
        """An unbound register from ``_to_wire``'s structure; ValueError if malformed."""
        result = cls()
        if data is None:
            return result
        if type(data) not in (list, tuple) or len(data) != 2:
            raise ValueError(f"an LWWRegister is None or [timestamp, value], not {data!r}")
        result._timestamp = timestamp_from_wire(data[0])
        result._value = value_from_wire(data[1])
        return result


# -- LWWElementSet ---------------------------------------------------------------------------

_Bias = Literal["add", "remove"]


class LWWElementSet(_Stamped, type_code=7):
    """A set where each element's latest add or remove wins.

    For each element the set keeps the timestamp of its latest add and of its latest remove;
    ``merge`` keeps the later of each. An element is present if its add is later than its
    remove; when the two are equal — the same replica used one stamp for both — ``bias``
    decides: ``"add"`` (the default) keeps it, ``"remove"`` drops it. Merging observes the
    latest incoming timestamp into the clock, so an add made after seeing a removal wins
    over it. The value is a frozenset; the set also supports ``in``, ``len`` and iteration
    (in no particular order).

    Surprises: ``remove`` never raises — a removal is a timestamped fact, kept even for an
    element this replica has never seen, because it may arrive before the add it beats.
    Concurrent add and remove of one element are decided by the clocks, not by what each
    replica observed: an add can vanish under a removal stamped a moment later by a replica
    that never saw it (an ``ORSet`` keeps such an add). Every element ever added or removed
    stays in the state. Sets with different ``bias`` refuse to merge (``TypeError``).
    Clock drift and explicit timestamps behave as for [`LWWRegister`][crdts.LWWRegister].

    Examples:
        >>> from clocks import HLC, Timestamp
        >>> from crdts.lww import LWWElementSet
        >>> a = LWWElementSet(replica="a", clock=HLC("a", now=lambda: 1_000))
        >>> remove = a.remove("x", timestamp=Timestamp(1_400, 0, "a"))  # nothing to remove yet
        >>> a.add("x")  # stamped at 1000: older than the removal
        LWWElementSet(replica=None, value=frozenset({'x'}))
        >>> "x" in a
        False
        >>> tie = LWWElementSet(replica="b", bias="remove")
        >>> stamp = Timestamp(5, 0, "b")
        >>> _ = tie.add("y", timestamp=stamp), tie.remove("y", timestamp=stamp)
        >>> tie.value
        frozenset()

    Merge cost: O(m) for m elements in the merged-in state. State size: O(n) for n elements
    ever added or removed.
    """

    __slots__ = ("_adds", "_bias", "_live", "_removes")

    def __init__(
        self, *, replica: str | None = None, bias: _Bias = "add", clock: HLC | None = None
    ) -> None:
        if bias not in ("add", "remove"):
            raise ValueError(f'bias must be "add" or "remove", not {bias!r}')
        super().__init__(replica=replica, clock=clock)
        self._bias: _Bias = bias
        self._adds: dict[Any, Timestamp] = {}
        self._removes: dict[Any, Timestamp] = {}
        # derived: the present elements, kept up to date element by element
        self._live: set[Any] = set()

    @property
    def bias(self) -> _Bias:
        """Which wins when an element's add and remove carry equal stamps."""
        return self._bias

    @property
    @locked
    def value(self) -> frozenset[Any]:
        """The present elements, as a frozenset (O(n) copy)."""
        return frozenset(self._live)

    def __contains__(self, element: object) -> bool:
        try:
            return element in self._live
        except TypeError:  # unhashable: cannot be an element
            return False

    def __len__(self) -> int:
        return len(self._live)

    def __iter__(self) -> Iterator[Any]:
        """Iterate over a snapshot of the elements (taken under the lock)."""
        return iter(self.value)

    @locked
    def add(self, element: Any, *, timestamp: Timestamp | None = None) -> Self:
        """Record an add of ``element``, stamped now (or with ``timestamp``); return the delta.

        Raises:
            UnboundReplicaError: this instance has no replica id.
            TypeError, ValueError: ``element`` is not a supported element, or ``timestamp``
                is not a valid ``Timestamp``.
        """
        return self._record(element, timestamp, removal=False)

    @locked
    def remove(self, element: Any, *, timestamp: Timestamp | None = None) -> Self:
        """Record a removal of ``element``, stamped now (or with ``timestamp``); never raises
        for an absent element. Return the delta.

        Raises:
            UnboundReplicaError: this instance has no replica id.
            TypeError, ValueError: ``element`` is not a supported element, or ``timestamp``
                is not a valid ``Timestamp``.
        """
        return self._record(element, timestamp, removal=True)

    @locked
    def discard(self, element: Any, *, timestamp: Timestamp | None = None) -> Self:
        """The same as ``remove``, which never raises for an absent element (so the set
        family shares ``discard``): a removal here is a timestamped fact that can beat an
        add still on its way. Return the delta.

        Raises:
            UnboundReplicaError: this instance has no replica id.
            TypeError, ValueError: as for ``remove``.
        """
        return self._record(element, timestamp, removal=True)

    def _record(self, element: Any, timestamp: Timestamp | None, *, removal: bool) -> Self:
        self._writer()
        check_element(element)
        stamp = self._stamp(timestamp)
        delta = self._empty()
        delta._apply(element, stamp, removal=removal)
        self._apply(element, stamp, removal=removal)
        return delta

    def _apply(self, element: Any, stamp: Timestamp, *, removal: bool) -> None:
        """Join one add (or removal) stamp of ``element`` into the state."""
        stamps = self._removes if removal else self._adds
        current = stamps.get(element)
        if current is None or stamp > current:
            stamps[element] = stamp
            self._refresh(element)

    def _present(self, element: Any) -> bool:
        added = self._adds.get(element)
        if added is None:
            return False
        removed = self._removes.get(element)
        return removed is None or added > removed or (added == removed and self._bias == "add")

    def _refresh(self, element: Any) -> None:
        if self._present(element):
            self._live.add(element)
        else:
            self._live.discard(element)

    def _check_compatible(self, other: Self) -> None:
        if other._bias != self._bias:
            raise TypeError(
                f"cannot merge an LWWElementSet with bias={other._bias!r} into one with "
                f"bias={self._bias!r}: they disagree on ties; give every replica one bias"
            )

    def _merge(self, other: Self) -> None:
        self._observe([*other._adds.values(), *other._removes.values()])
        for element, stamp in other._adds.items():
            self._apply(element, stamp, removal=False)
        for element, stamp in other._removes.items():
            self._apply(element, stamp, removal=True)

    def _stamps(self) -> Iterable[Timestamp]:
        return [*self._adds.values(), *self._removes.values()]

    def _state(self) -> Any:
        return self._bias, self._adds, self._removes

    def _empty(self) -> Self:
        return type(self)(bias=self._bias)

    def _copy(self) -> Self:
        result = self._empty()
        result._adds = dict(self._adds)
        result._removes = dict(self._removes)
        result._live = set(self._live)
        return result

    def _check(self) -> None:
        # the bias is one of the two tie rules
        assert self._bias in ("add", "remove"), self._bias
        for stamps in (self._adds, self._removes):
            for element, stamp in stamps.items():
                # every element is a supported element (it crosses the wire unchanged)
                assert check_element(element) is element, element
                _check_stamp(stamp)
        # the derived live set is exactly the elements whose add beats their remove
        assert self._live == {e for e in self._adds if self._present(e)}, self._live

    def _to_wire(self) -> Any:
        """``[bias, [[element, add stamp or None, remove stamp or None], ...]]``, the entries
        sorted by the element's msgpack encoding."""
        adds, removes = self._adds, self._removes
        entries = []
        for element in sorted_elements(adds.keys() | removes.keys()):
            added, removed = adds.get(element), removes.get(element)
            entries.append(
                [
                    element_to_wire(element),
                    None if added is None else timestamp_to_wire(added),
                    None if removed is None else timestamp_to_wire(removed),
                ]
            )
        return [self._bias, entries]

    @classmethod
    def _from_wire(cls, data: Any) -> Self:
        """An unbound set from ``_to_wire``'s structure; ValueError if malformed."""
        if type(data) not in (list, tuple) or len(data) != 2:
            raise ValueError(f"an LWWElementSet is [bias, entries], not {data!r}")
        bias, entries = data
        if bias not in ("add", "remove") or type(entries) not in (list, tuple):
            raise ValueError(f"an LWWElementSet is [bias, entries], not {data!r}")
        result = cls(bias=bias)
        for entry in entries:
            if type(entry) not in (list, tuple) or len(entry) != 3:
                raise ValueError(f"an LWWElementSet entry is [element, add, remove]: {entry!r}")
            element = element_from_wire(entry[0])
            if element in result._adds or element in result._removes:
                raise ValueError(f"element {element!r} appears twice in an LWWElementSet")
            if entry[1] is None and entry[2] is None:
                raise ValueError(f"element {element!r} has neither an add nor a remove stamp")
            if entry[1] is not None:
                result._adds[element] = timestamp_from_wire(entry[1])
            if entry[2] is not None:
                result._removes[element] = timestamp_from_wire(entry[2])
            result._refresh(element)
        return result


# -- LWWMap ----------------------------------------------------------------------------------


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
