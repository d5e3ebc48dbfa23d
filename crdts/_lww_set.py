"""The last-writer-wins element set; public as `crdts.LWWElementSet` (and in `crdts.lww`)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Literal, Self

from clocks import HLC, Timestamp
from crdts._base import locked
from crdts._stamped import _check_stamp, _Stamped
from crdts._values import check_element
from crdts._wire import (
    element_from_wire,
    element_to_wire,
    sorted_elements,
    timestamp_from_wire,
    timestamp_to_wire,
)

__all__ = ["LWWElementSet"]

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
