"""The workloads and the per-resolution stores of :mod:`merge.lab.multi_region`.

Each data type (``_Counter``, ``_Set``, ``_Cart``) knows how a write changes a plain value,
its crdtkit type and the application's merge, and which acknowledged updates a final value
lost; each store (``_LWWStore``, ``_SiblingsStore``, ``_CRDTStore``) holds one region's copy
under one resolution.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import crdts
from clocks import HLC, Timestamp
from merge.siblings import Siblings

#: The two regions, by index.
_REGIONS = ("a", "b")


@dataclass(frozen=True)
class _Update:
    """One acknowledged update: ``observed`` counts, per region, the updates its region had
    seen (its own included) when it was made."""

    id: int
    region: int
    index: int
    time_ms: float
    kind: str
    target: str
    observed: tuple[int, int]

    def saw(self, other: _Update) -> bool:
        return other is not self and self.observed[other.region] > other.index


# -- the data types ----------------------------------------------------------------------


class _Data(Protocol):
    initial: Any

    def choose(
        self, view: Any, region: int, index: int, draws: tuple[float, float]
    ) -> tuple[str, str]: ...
    def apply(self, value: Any, kind: str, target: str) -> Any: ...
    def native(self, replica: str) -> Any: ...
    def native_apply(self, state: Any, kind: str, target: str) -> None: ...
    def native_value(self, state: Any) -> Any: ...
    def app_merge(self, values: Sequence[Any]) -> Any: ...
    def expected(self, updates: Sequence[_Update]) -> Any: ...
    def lost(self, final: Any, updates: Sequence[_Update]) -> int: ...


class _Counter:
    initial = 0

    def choose(
        self, view: Any, region: int, index: int, draws: tuple[float, float]
    ) -> tuple[str, str]:
        return "increment", ""

    def apply(self, value: int, kind: str, target: str) -> int:
        return value + 1

    def native(self, replica: str) -> crdts.PNCounter:
        return crdts.PNCounter(replica=replica)

    def native_apply(self, state: crdts.PNCounter, kind: str, target: str) -> None:
        state.increment()

    def native_value(self, state: crdts.PNCounter) -> int:
        return int(state.value)

    def app_merge(self, values: Sequence[int]) -> int:
        return max(values)

    def expected(self, updates: Sequence[_Update]) -> int:
        return len(updates)

    def lost(self, final: int, updates: Sequence[_Update]) -> int:
        return abs(len(updates) - final)


class _Set:
    initial: tuple[str, ...] = ()

    def __init__(self, remove_fraction: float) -> None:
        self.remove_fraction = remove_fraction

    def choose(
        self, view: tuple[str, ...], region: int, index: int, draws: tuple[float, float]
    ) -> tuple[str, str]:
        if view and draws[0] < self.remove_fraction:
            return "remove", view[int(draws[1] * len(view))]
        return "add", f"{_REGIONS[region]}{index}"

    def apply(self, value: tuple[str, ...], kind: str, target: str) -> tuple[str, ...]:
        members = set(value)
        if kind == "add":
            members.add(target)
        else:
            members.discard(target)
        return tuple(sorted(members))

    def native(self, replica: str) -> crdts.ORSet:
        return crdts.ORSet(replica=replica)

    def native_apply(self, state: crdts.ORSet, kind: str, target: str) -> None:
        if kind == "add":
            state.add(target)
        else:
            state.remove(target)

    def native_value(self, state: crdts.ORSet) -> tuple[str, ...]:
        return tuple(sorted(state.value))

    def app_merge(self, values: Sequence[tuple[str, ...]]) -> tuple[str, ...]:
        return tuple(sorted(set().union(*values)))

    def expected(self, updates: Sequence[_Update]) -> tuple[str, ...]:
        removed = {u.target for u in updates if u.kind == "remove"}
        return tuple(
            sorted(u.target for u in updates if u.kind == "add" and u.target not in removed)
        )

    def lost(self, final: tuple[str, ...], updates: Sequence[_Update]) -> int:
        present = set(final)
        removed = {u.target for u in updates if u.kind == "remove"}
        lost_adds = sum(
            1
            for u in updates
            if u.kind == "add" and u.target not in present and u.target not in removed
        )
        lost_removes = sum(1 for u in updates if u.kind == "remove" and u.target in present)
        return lost_adds + lost_removes


class _Cart:
    initial: dict[str, int] = {}  # noqa: RUF012  # never mutated: apply copies

    def __init__(self, items: int, remove_fraction: float) -> None:
        self.catalogue = tuple(f"item{n}" for n in range(items))
        self.remove_fraction = remove_fraction

    def choose(
        self, view: dict[str, int], region: int, index: int, draws: tuple[float, float]
    ) -> tuple[str, str]:
        if view and draws[0] < self.remove_fraction:
            present = sorted(view)
            return "remove", present[int(draws[1] * len(present))]
        return "add", self.catalogue[int(draws[1] * len(self.catalogue))]

    def apply(self, value: dict[str, int], kind: str, target: str) -> dict[str, int]:
        cart = dict(value)
        if kind == "add":
            cart[target] = cart.get(target, 0) + 1
        else:
            cart.pop(target, None)
        return cart

    def native(self, replica: str) -> crdts.Cart:
        return crdts.Cart(replica=replica)

    def native_apply(self, state: crdts.Cart, kind: str, target: str) -> None:
        if kind == "add":
            state.add(target)
        else:
            state.remove(target)

    def native_value(self, state: crdts.Cart) -> dict[str, int]:
        return dict(state.value)

    def app_merge(self, values: Sequence[dict[str, int]]) -> dict[str, int]:
        merged: dict[str, int] = {}
        for cart in values:
            for item, quantity in cart.items():
                merged[item] = max(merged.get(item, 0), quantity)
        return merged

    def expected(self, updates: Sequence[_Update]) -> dict[str, int]:
        removes = [u for u in updates if u.kind == "remove"]
        cart: dict[str, int] = {}
        for add in updates:
            if add.kind == "add" and not any(
                r.target == add.target and r.saw(add) for r in removes
            ):
                cart[add.target] = cart.get(add.target, 0) + 1
        return dict(sorted(cart.items()))

    def lost(self, final: dict[str, int], updates: Sequence[_Update]) -> int:
        expected = self.expected(updates)
        return sum(
            abs(final.get(item, 0) - expected.get(item, 0)) for item in set(final) | set(expected)
        )


# -- the stores, one per resolution ---------------------------------------------------------


class _Store(Protocol):
    def view(self) -> Any: ...
    def update(self, update: _Update) -> None: ...
    def snapshot(self) -> tuple[bytes, Any]: ...
    def absorb(self, payload: tuple[bytes, Any]) -> None: ...


class _LWWStore:
    """An LWWRegister, plus the independent replay: the stamp and the set of update ids the
    current value reflects."""

    def __init__(self, region: str, data: _Data, now: Callable[[], int]) -> None:
        # no drift guard: a skew the caller chose is not a fault to refuse
        clock = HLC(region, now=now, max_offset=None)
        self.register = crdts.LWWRegister(replica=region, clock=clock)
        self.data = data
        self.stamp: Timestamp | None = None
        self.reflects: frozenset[int] = frozenset()

    def view(self) -> Any:
        value = self.register.value
        return self.data.initial if value is None else value

    def update(self, update: _Update) -> None:
        self.register.assign(self.data.apply(self.view(), update.kind, update.target))
        self.stamp = self.register.timestamp
        self.reflects = self.reflects | {update.id}

    def snapshot(self) -> tuple[bytes, Any]:
        return crdts.encode(self.register), (self.stamp, self.reflects)

    def absorb(self, payload: tuple[bytes, Any]) -> None:
        wire, (stamp, reflects) = payload
        self.register.merge(crdts.decode(wire))
        if stamp is not None and (self.stamp is None or stamp > self.stamp):
            self.stamp, self.reflects = stamp, reflects


class _SiblingsStore:
    def __init__(self, region: str, data: _Data, now: Callable[[], int]) -> None:
        self.region = region
        self.data = data
        self.siblings = Siblings()

    def view(self) -> Any:
        values = self.siblings.values
        return self.data.app_merge(values) if values else self.data.initial

    def update(self, update: _Update) -> None:
        # read (merging the siblings), change, and write back with the context read: the
        # write supersedes exactly the siblings it merged
        value = self.data.apply(self.view(), update.kind, update.target)
        self.siblings.put(value, context=self.siblings.context, replica=self.region)

    def snapshot(self) -> tuple[bytes, Any]:
        return crdts.encode(self.siblings), None

    def absorb(self, payload: tuple[bytes, Any]) -> None:
        decoded = crdts.decode(payload[0])
        assert isinstance(decoded, Siblings)
        self.siblings.merge(decoded)


class _CRDTStore:
    def __init__(self, region: str, data: _Data, now: Callable[[], int]) -> None:
        self.data = data
        self.state = data.native(region)

    def view(self) -> Any:
        return self.data.native_value(self.state)

    def update(self, update: _Update) -> None:
        self.data.native_apply(self.state, update.kind, update.target)

    def snapshot(self) -> tuple[bytes, Any]:
        return crdts.encode(self.state), None

    def absorb(self, payload: tuple[bytes, Any]) -> None:
        self.state.merge(crdts.decode(payload[0]))


#: The store of each resolution: (region, data type, the region's wall clock in ms) -> store.
_STORES: dict[str, Callable[[str, _Data, Callable[[], int]], _Store]] = {
    "lww": _LWWStore,
    "siblings": _SiblingsStore,
    "crdt": _CRDTStore,
}
#: The workload of each data type, from ``items`` and ``remove_fraction``.
_DATA: dict[str, Callable[[int, float], _Data]] = {
    "counter": lambda items, remove_fraction: _Counter(),
    "set": lambda items, remove_fraction: _Set(remove_fraction),
    "cart": _Cart,
}


# -- the result ------------------------------------------------------------------------------
