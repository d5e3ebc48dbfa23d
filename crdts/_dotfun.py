"""The dot store: live dots and their payloads, and the plan of a join.

Part of the causal kernel (see :mod:`crdts._causal`). ``DotFun`` maps each live dot to its
payload (an element, a value, an amount), optionally indexed by payload; ``JoinPlan`` is
what joining another store will change, computed before anything changes.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Hashable, Iterable, Iterator, KeysView
from functools import partial
from typing import Any, Generic

from crdts._context import _NO_COUNTERS, CausalContext, Dot, V, runs_select
from crdts.errors import DotConflictError

__all__ = ["DotFun", "JoinPlan"]


class JoinPlan(Generic[V]):
    """What joining another store will change, computed before anything is changed."""

    __slots__ = ("adds", "removes")

    def __init__(self) -> None:
        self.adds: dict[str, dict[int, V]] = {}
        self.removes: dict[str, set[int]] = {}

    def __bool__(self) -> bool:
        return bool(self.adds or self.removes)


def _unseen(counters: Iterable[int], top: int, cloud: list[int] | None) -> list[int]:
    """The counters not covered by a context's ``(top, cloud runs)`` for one replica."""
    if cloud:
        low, high = cloud[0], cloud[-1]
        return [
            c
            for c in counters
            if c > top and (c < low or c >= high or not bisect_right(cloud, c) & 1)
        ]
    return [c for c in counters if c > top]


class DotFun(Generic[V]):
    """Live dots and their payloads, grouped by replica: ``{replica: {counter: payload}}``.

    With ``key=`` it also keeps an index from ``key(payload)`` to the dots carrying it, so an
    element's dots are found in O(1) (sets use it; registers and counters do not).

    Cost: join with a store of d dots is O(d) plus, per replica the other side has seen,
    O(min(dots held, dots seen)); the index adds O(1) per changed dot.
    """

    __slots__ = ("_home", "_index", "by_replica", "indexed", "key")

    def __init__(self, key: Callable[[V], Hashable] | None = None, *, indexed: bool = False):
        self.by_replica: dict[str, dict[int, V]] = {}
        self.key = key
        self.indexed = indexed or key is not None
        # key -> its one dot, or a tuple of its dots when it has several (rare: concurrent
        # adds); storing a lone dot unwrapped saves a tuple per element, and a lone dot of
        # the *home* replica (the first one indexed: usually this replica's writer) is
        # stored as its bare counter, which the store already holds: no tuple at all. None
        # while not yet built: a decoded store builds it on first use (most are only merged
        # elsewhere).
        self._index: dict[Any, Any] | None = {} if self.indexed else None
        self._home: str | None = None

    @property
    def index(self) -> dict[Any, Any] | None:
        """The payload index (built on first use), or None for an unindexed store."""
        if self._index is None and self.indexed:
            self._index = {}
            for replica, counters in self.by_replica.items():
                self._index_added(replica, counters)
        return self._index

    # -- reading ---------------------------------------------------------------------------

    def __bool__(self) -> bool:
        return bool(self.by_replica)

    def __len__(self) -> int:
        return sum(len(counters) for counters in self.by_replica.values())

    def items(self) -> Iterator[tuple[Dot, V]]:
        """Every ``((replica, counter), payload)``, in no particular order."""
        for replica, counters in self.by_replica.items():
            for counter, payload in counters.items():
                yield (replica, counter), payload

    def sorted_items(self) -> list[tuple[Dot, V]]:
        """Every ``(dot, payload)`` ordered by dot: the same order on every replica."""
        return sorted(self.items(), key=lambda item: item[0])

    def dots(self) -> Iterator[Dot]:
        for replica, counters in self.by_replica.items():
            for counter in counters:
                yield replica, counter

    def dots_of(self, key: Hashable) -> tuple[Dot, ...]:
        """The dots whose payload has this index key (needs an indexed store)."""
        assert self.index is not None
        return self._dots_in(self.index.get(key, ()))

    def holds(self, key: Hashable) -> bool:
        """True if a live dot's payload has this index key (needs an indexed store). O(1)."""
        index = self._index
        if index is None:
            index = self.index
            assert index is not None
        return key in index

    def keys(self) -> KeysView[Hashable]:
        """The index keys of the live payloads, a live view (needs an indexed store). O(1)."""
        index = self._index
        if index is None:
            index = self.index
            assert index is not None
        return index.keys()

    # -- local changes ---------------------------------------------------------------------

    def _index_key(self, payload: V) -> Hashable:
        return payload if self.key is None else self.key(payload)

    def add(self, replica: str, counter: int, payload: V) -> None:
        counters = self.by_replica.get(replica)
        if counters is None:
            self.by_replica[replica] = {counter: payload}
        else:
            counters[counter] = payload
        index = self._index
        if index is not None:
            key = self._index_key(payload)
            index[key] = self._with_dot(index.get(key), (replica, counter))

    def add_fresh(self, replica: str, counter: int, payload: V) -> bool:
        """``add`` for a payload whose index key has no live dot yet, else do nothing.

        Returns whether it added. The single-dot fast path of a set's ``add``: O(1), one
        lookup for the key.
        """
        index = self._index
        if index is None:
            if not self.indexed:
                self.add(replica, counter, payload)
                return True
            index = self.index
            assert index is not None
        key = payload if self.key is None else self.key(payload)
        if key in index:
            return False
        home = self._home
        if home is None:
            home = self._home = replica
        index[key] = counter if replica == home else (replica, counter)
        counters = self.by_replica.get(replica)
        if counters is None:
            self.by_replica[replica] = {counter: payload}
        else:
            counters[counter] = payload
        return True

    def discard(self, replica: str, counter: int) -> V | None:
        counters = self.by_replica.get(replica)
        if counters is None or counter not in counters:
            return None
        payload = counters.pop(counter)
        if not counters:
            del self.by_replica[replica]
        if self._index is not None:
            self._unindex(payload, (replica, counter))
        return payload

    # -- join ------------------------------------------------------------------------------

    def plan_join(
        self, other: DotFun[V], mine: CausalContext, theirs: CausalContext
    ) -> JoinPlan[V]:
        """Compute the join with ``other`` (contexts ``mine`` and ``theirs``), changing nothing.

        Raises:
            DotConflictError: a dot held on both sides carries different payloads.
        """
        plan: JoinPlan[V] = JoinPlan()
        for replica, their_counters in other.by_replica.items():
            my_counters = self.by_replica.get(replica, _NO_COUNTERS)
            fresh: Iterable[int] | None = None  # None: every dot of theirs is fresh
            if my_counters:
                common = my_counters.keys() & their_counters.keys()
                if common:
                    _check_same(replica, common, my_counters, their_counters)
                    fresh = their_counters.keys() - common
            top, cloud = mine.covered(replica)
            if top or cloud:
                fresh = _unseen(their_counters if fresh is None else fresh, top, cloud)
            if fresh is None:
                plan.adds[replica] = their_counters
            elif fresh:
                plan.adds[replica] = {c: their_counters[c] for c in fresh}
        for replica, my_counters in self.by_replica.items():
            top, cloud = theirs.covered(replica)
            if not top and not cloud:
                continue
            # the dots of mine that the other side has seen; cheapest way round first
            if top <= 2 * len(my_counters):
                seen = my_counters.keys() & range(1, top + 1)
            else:
                seen = {c for c in my_counters if c <= top}
            if cloud:
                if len(cloud) == 2 and cloud[1] - cloud[0] <= len(my_counters):
                    seen |= my_counters.keys() & range(cloud[0], cloud[1])  # a delta's
                else:
                    seen |= runs_select(cloud, my_counters)
            held = other.by_replica.get(replica)
            if held and seen:
                seen -= held.keys()
            if seen:
                plan.removes[replica] = seen
        return plan

    def apply(self, plan: JoinPlan[V]) -> None:
        """Carry out a plan from ``plan_join`` (cannot fail)."""
        index = self._index
        for replica, gone in plan.removes.items():
            mine = self.by_replica[replica]
            if index is None:
                for counter in gone:
                    del mine[counter]
            else:
                for counter in gone:
                    self._unindex(mine.pop(counter), (replica, counter))
            if not mine:
                del self.by_replica[replica]
        for replica, counters in plan.adds.items():
            target = self.by_replica.get(replica)
            if target is None:
                self.by_replica[replica] = dict(counters)
            else:
                target.update(counters)
            if index is not None:
                self._index_added(replica, counters)

    def _index_added(self, replica: str, counters: dict[int, V]) -> None:
        index = self._index
        assert index is not None
        key = self.key
        home = self._home
        if home is None:
            home = self._home = replica
        if key is None:
            # the common case, done at C speed: every payload is a new element
            fresh: dict[Any, Any]
            if replica == home:
                fresh = dict(zip(counters.values(), counters.keys(), strict=True))
            else:
                fresh = {payload: (replica, counter) for counter, payload in counters.items()}
            if len(fresh) == len(counters) and index.keys().isdisjoint(fresh):
                index.update(fresh)
                return
        for counter, payload in counters.items():
            k = payload if key is None else key(payload)
            index[k] = self._with_dot(index.get(k), (replica, counter))

    def _unindex(self, payload: V, dot: Dot) -> None:
        index = self._index
        assert index is not None
        key = self._index_key(payload)
        rest = tuple(d for d in self._dots_in(index[key]) if d != dot)
        if not rest:
            del index[key]
        elif len(rest) == 1:
            index[key] = self._with_dot(None, rest[0])
        else:
            index[key] = rest

    def _dots_in(self, entry: Any) -> tuple[Dot, ...]:
        """An index entry (a home counter, a lone dot, or a tuple of dots) as dots."""
        if type(entry) is int:
            assert self._home is not None
            return ((self._home, entry),)
        if entry and type(entry[1]) is int:
            return (entry,)
        return tuple(entry)

    def _with_dot(self, entry: Any, dot: Dot) -> Any:
        """An index entry (None: no entry yet) with ``dot`` added."""
        if entry is None:
            home = self._home
            if home is None:
                home = self._home = dot[0]
            return dot[1] if dot[0] == home else dot
        return (*self._dots_in(entry), dot)

    # -- whole-store operations --------------------------------------------------------------

    def copy(self) -> DotFun[V]:
        result: DotFun[V] = _new_store()
        result.key = self.key
        result.by_replica = {r: dict(counters) for r, counters in self.by_replica.items()}
        result.indexed = self.indexed
        result._index = None if self._index is None else dict(self._index)
        result._home = self._home
        return result

    def empty_like(self) -> DotFun[V]:
        return DotFun(self.key, indexed=self.indexed)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DotFun):
            return NotImplemented
        return self.by_replica == other.by_replica

    __hash__ = None  # type: ignore[assignment]

    def _check(self, context: CausalContext) -> None:
        for replica, counters in self.by_replica.items():
            # no empty replica groups; counters are positive ints
            assert counters and set(map(type, counters)) == {int}, replica
            assert min(counters) > 0, replica
            # every live dot has been seen by the context
            top, cloud = context.covered(replica)
            unseen = _unseen(counters, top, cloud)
            assert not unseen, (replica, top, unseen[:5])
        if self._index is not None:
            # the index lists exactly the live dots, each under its payload's key, a lone
            # dot unwrapped
            expected = self.empty_like()
            expected._home = self._home
            for replica, counters in self.by_replica.items():
                expected._index_added(replica, counters)
            if expected.index != self._index:
                assert expected.index is not None and expected.index.keys() == self._index.keys()
                for key, entry in self._index.items():
                    dots = self._dots_in(entry)
                    assert set(dots) == set(expected._dots_in(expected.index[key])), key
                    assert len(dots) == 1 or type(entry[0]) is tuple, key
            for entry in self._index.values():
                # a lone dot of the home replica is stored as its bare counter
                assert type(entry) is int or entry[0] != self._home or type(entry[1]) is not int


_new_store = partial(object.__new__, DotFun)


def _check_same(
    replica: str, common: set[int], mine: dict[int, Any], theirs: dict[int, Any]
) -> None:
    """Raise DotConflictError if a shared dot carries different payloads."""
    ordered = list(common)
    if list(map(mine.__getitem__, ordered)) == list(map(theirs.__getitem__, ordered)):
        return
    for counter in ordered:
        if mine[counter] != theirs[counter]:
            raise DotConflictError((replica, counter), mine[counter], theirs[counter])
