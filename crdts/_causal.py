"""The causal kernel shared by every observed-remove type.

After Almeida, Shoker & Baquero, *Delta State Replicated Data Types* (2018), and the
delta-enabled-crdts reference implementation:

* a **dot** ``(replica, counter)`` names one update event;
* a ``CausalContext`` records every dot a state has seen, as a compact version vector
  (``replica -> n`` meaning dots 1..n) plus a *dot cloud* of isolated dots, folded into the
  vector as soon as they become contiguous — so deltas that arrive out of order or with gaps
  are remembered exactly, and a context that has seen all of a replica's dots costs one int;
* a ``DotFun`` maps live dots to payloads (an element, a value, an amount);
* one join rule: keep a dot present on both sides, or present on one side and unseen by the
  other side's context; then join the contexts. A dot that the other side has seen but no
  longer holds was removed there, so it goes — no tombstone needed.

Types built on it subclass ``CausalCRDT``; their mutators call ``CausalCRDT._mutate``
with the dots to retire and the payloads to add, and get the delta back.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Hashable, Iterable, Iterator, KeysView, Mapping
from functools import partial
from itertools import islice, repeat
from operator import le
from typing import Any, Generic, Self, TypeVar

from crdts import _wire
from crdts._base import CRDT, locked_pair
from crdts.errors import DotConflictError

__all__ = [
    "CausalCRDT",
    "CausalContext",
    "ContextSnapshot",
    "Dot",
    "DotFun",
    "runs_contain",
    "runs_select",
]

Dot = tuple[str, int]
V = TypeVar("V")

_NO_COUNTERS: dict[int, Any] = {}


class CausalContext:
    """The set of dots a state has seen: a compact version vector plus a dot cloud.

    ``vv[replica] = n`` means dots 1..n. ``cloud[replica]`` holds the isolated dots above
    ``n + 1`` as *runs*: a flat list of bounds ``[s0, e0, s1, e1, ...]`` meaning counters
    ``s0 <= c < e0``, ``s1 <= c < e1``, ... (half-open). So a cloud of a million consecutive
    but detached dots is one run (two ints), not a million.

    Invariants (kept after every operation, checked by ``_check``): vector entries are
    positive; each cloud list is non-empty, of even length and *strictly* increasing (so runs
    are sorted, disjoint and never adjacent: adjacent runs are coalesced), and its first
    counter is greater than ``vv[replica] + 1`` — contiguous dots always live in the vector.
    The representation is canonical: equal dot sets have equal ``vv`` and ``cloud``.

    Cost, for a replica whose cloud holds k runs: ``contains`` O(1) without a cloud, else
    O(log k); ``next_counter`` O(1); ``add`` O(log k) plus one list splice; ``join`` O(r) for
    r replicas plus, per cloud of the other side, O(1) when it lies below the vector, one
    C-level list comparison when it equals ours, O(log k) per run otherwise (for a long
    cloud, bisects run in C to find it already covered, else one O(k + k') merge). No
    operation but ``dots`` walks the dots of a run.
    """

    __slots__ = ("cloud", "vv")

    def __init__(self) -> None:
        self.vv: dict[str, int] = {}
        self.cloud: dict[str, list[int]] = {}

    @classmethod
    def from_vector(cls, vector: Mapping[str, int]) -> CausalContext:
        """The context holding dots ``1..n`` of each ``replica: n`` in ``vector`` (zero
        entries are left out). The caller checks the entries (str ids, int counters). O(r)."""
        result = cls()
        result.vv = {replica: top for replica, top in vector.items() if top}
        return result

    def contains(self, replica: str, counter: int) -> bool:
        """True if the dot ``(replica, counter)`` has been seen."""
        if counter <= self.vv.get(replica, 0):
            return True
        runs = self.cloud.get(replica)
        return runs is not None and runs_contain(runs, counter)

    def __contains__(self, dot: object) -> bool:
        if not isinstance(dot, tuple) or len(dot) != 2:
            return False
        return self.contains(dot[0], dot[1])

    def next_counter(self, replica: str) -> int:
        """The counter of the next dot ``replica`` may mint."""
        top = self.vv.get(replica, 0) + 1
        runs = self.cloud.get(replica)
        # the last bound is one past the highest cloud dot
        return top if runs is None or runs[-1] < top else runs[-1]

    def add(self, replica: str, counter: int) -> None:
        """Record one dot, keeping the context compact."""
        top = self.vv.get(replica, 0)
        if counter <= top:
            return
        runs = self.cloud.get(replica)
        if counter == top + 1:
            if runs is not None and runs[0] == counter + 1:
                # the dot fills the gap below the first run: the run joins the vector
                counter = runs[1] - 1
                del runs[:2]
                if not runs:
                    del self.cloud[replica]
            self.vv[replica] = counter
        elif runs is None:
            self.cloud[replica] = [counter, counter + 1]
        elif counter == runs[-1]:
            runs[-1] = counter + 1  # just above the last run: extend it
        elif counter > runs[-1]:
            runs += (counter, counter + 1)
        else:
            _add_run(runs, counter, counter + 1)

    def mint(self, replica: str) -> int:
        """Record the next dot of ``replica`` and return its counter.

        Cost: O(1) when the replica has no cloud (a writer's own dots are contiguous, so
        this is the common case), else that of ``next_counter`` plus ``add``.
        """
        if replica in self.cloud:
            counter = self.next_counter(replica)
            self.add(replica, counter)
            return counter
        vv = self.vv
        counter = vv[replica] = vv.get(replica, 0) + 1
        return counter

    def mint_run(self, replica: str, count: int) -> range:
        """Record the next ``count`` dots of ``replica`` and return their counters (one
        contiguous run). O(1) when the replica has no cloud, else O(log k) per dot."""
        if count <= 0:
            return range(0)
        if replica in self.cloud:
            first = self.mint(replica)
            for _ in range(count - 1):
                self.mint(replica)
            return range(first, first + count)
        first = self.vv.get(replica, 0) + 1
        self.vv[replica] = first + count - 1
        return range(first, first + count)

    def snapshot(self, replica: str) -> ContextSnapshot:
        """What this context holds of ``replica``'s dots, to put back with ``restore``.

        For an operation that may only add ``replica``'s dots and must be undone whole if it
        fails (a map's ``update`` running a user's function). O(k) for k cloud runs.
        """
        runs = self.cloud.get(replica)
        return replica, self.vv.get(replica, 0), None if runs is None else runs.copy()

    def restore(self, snapshot: ContextSnapshot) -> None:
        """Put back a replica's dots as ``snapshot`` recorded them (other replicas' untouched)."""
        replica, top, runs = snapshot
        if top:
            self.vv[replica] = top
        else:
            self.vv.pop(replica, None)
        if runs:
            self.cloud[replica] = runs
        else:
            self.cloud.pop(replica, None)

    def join(self, other: CausalContext) -> None:
        """Add every dot of ``other`` (in place)."""
        vv = self.vv
        for replica, top in other.vv.items():
            if top > vv.get(replica, 0):
                vv[replica] = top
        cloud = self.cloud
        for replica, theirs in other.cloud.items():
            if theirs[-1] <= vv.get(replica, 0) + 1:
                continue  # every dot already in the vector
            mine = cloud.get(replica)
            if mine is None:
                if theirs[0] == vv.get(replica, 0) + 1 and len(theirs) == 2:
                    vv[replica] = theirs[1] - 1  # the next dots in order: a delta's case
                    continue
                cloud[replica] = theirs.copy()
            elif mine != theirs:
                if len(theirs) <= _SPLICE_RUNS:
                    for i in range(0, len(theirs), 2):
                        _add_run(mine, theirs[i], theirs[i + 1])
                elif not _covers(mine, theirs):
                    cloud[replica] = _union(mine, theirs)
        if cloud:
            self._compact(other.vv.keys() | other.cloud.keys())

    def includes(self, other: CausalContext) -> bool:
        """True if every dot of ``other`` is in this context (``other ⊆ self``).

        Cost: O(r) for r replicas in ``other``, plus O(log k) per cloud run of ``other``
        above this context's vector; no dot is enumerated.
        """
        vv, cloud = self.vv, self.cloud
        for replica, top in other.vv.items():
            # dots 1..top: the vector must reach top (the cloud never touches vv + 1)
            if top > vv.get(replica, 0):
                return False
        for replica, theirs in other.cloud.items():
            mine_top = vv.get(replica, 0)
            runs = cloud.get(replica)
            for i in range(0, len(theirs), 2):
                start, end = max(theirs[i], mine_top + 1), theirs[i + 1]
                if start >= end:
                    continue  # the run lies within the vector
                # runs are disjoint and never adjacent: a covered range lies in one run
                if runs is None:
                    return False
                j = bisect_right(runs, start)
                if not j & 1 or runs[j] < end:
                    return False
        return True

    def _compact(self, replicas: Iterable[str]) -> None:
        """Fold cloud dots that became contiguous into the vector, for ``replicas``."""
        cloud = self.cloud
        for replica in replicas:
            runs = cloud.get(replica)
            if runs is None:
                continue
            top = self.vv.get(replica, 0)
            if runs[0] > top + 1:
                continue  # the common case: still detached
            i = bisect_right(runs, top + 1)
            if i & 1:
                # top + 1 lies in a run: the vector absorbs it up to the run's end
                self.vv[replica] = runs[i] - 1
                del runs[: i + 1]
            else:
                del runs[:i]  # runs wholly at or below the vector
            if not runs:
                del cloud[replica]

    def forget(self, replica: str) -> None:
        """Drop every dot of ``replica`` (from the vector and the cloud)."""
        self.vv.pop(replica, None)
        self.cloud.pop(replica, None)

    def covered(self, replica: str) -> tuple[int, list[int] | None]:
        """``(n, runs)``: the replica's contiguous prefix and its cloud runs (a flat list of
        half-open bounds, see the class docstring; test membership with
        ``runs_contain``), or None when it has no cloud. Do not modify the list."""
        return self.vv.get(replica, 0), self.cloud.get(replica)

    def dots(self) -> Iterator[Dot]:
        """Every dot in the context (O(number of dots): use with care)."""
        for replica, top in self.vv.items():
            for counter in range(1, top + 1):
                yield replica, counter
        for replica, runs in self.cloud.items():
            for i in range(0, len(runs), 2):
                for counter in range(runs[i], runs[i + 1]):
                    yield replica, counter

    def size(self) -> int:
        """Metadata entries held: vector entries plus cloud runs."""
        return len(self.vv) + sum(len(runs) for runs in self.cloud.values()) // 2

    def copy(self) -> CausalContext:
        result = CausalContext()
        result.vv = dict(self.vv)
        result.cloud = {replica: runs.copy() for replica, runs in self.cloud.items()}
        return result

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CausalContext):
            return NotImplemented
        return self.vv == other.vv and self.cloud == other.cloud

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        cloud = {
            replica: [
                str(s) if e == s + 1 else f"{s}..{e - 1}"
                for s, e in zip(runs[::2], runs[1::2], strict=True)
            ]
            for replica, runs in sorted(self.cloud.items())
        }
        return f"CausalContext(vv={dict(sorted(self.vv.items()))}, cloud={cloud})"

    def _check(self) -> None:
        for replica, top in self.vv.items():
            # vector entries are positive ints (zero entries are dropped)
            assert isinstance(replica, str) and type(top) is int and top > 0, (replica, top)
        for replica, runs in self.cloud.items():
            # no empty clouds; whole runs of int bounds, strictly increasing (sorted,
            # disjoint, coalesced); isolated: the first dot is not contiguous with the vector
            assert isinstance(replica, str) and type(runs) is list, replica
            assert runs and len(runs) % 2 == 0, (replica, runs[:4])
            assert all(type(bound) is int for bound in runs), replica
            assert all(map(int.__lt__, runs, islice(runs, 1, None))), (replica, runs[:4])
            top = self.vv.get(replica, 0)
            assert runs[0] > top + 1, (replica, top, runs[:2])


#: ``(replica, vector entry, copy of its cloud runs or None)``: see ``CausalContext.snapshot``
ContextSnapshot = tuple[str, int, list[int] | None]

_new_context = partial(object.__new__, CausalContext)

#: a cloud of at most this many bounds is joined run by run; a longer one by one merge
_SPLICE_RUNS = 16


def runs_contain(runs: list[int], counter: int) -> bool:
    """True if ``counter`` lies in one of the half-open ``runs`` ``[s0, e0, s1, e1, ...]``."""
    return bool(bisect_right(runs, counter) & 1)


def runs_select(runs: list[int], counters: Mapping[int, Any]) -> set[int]:
    """The keys of ``counters`` that lie in ``runs``, walking whichever side is smaller: the
    counters (a bisect each), or the dots of the runs (a lookup each, in C)."""
    size = len(counters)
    if len(runs) == 2 and runs[1] - runs[0] <= size:
        return counters.keys() & range(runs[0], runs[1])  # a delta's cloud: one short run
    if len(runs) < 2 * size:
        # few runs: count their dots, stopping as soon as they outnumber the counters
        dots = 0
        for i in range(0, len(runs), 2):
            dots += runs[i + 1] - runs[i]
            if dots > size:
                break
        else:
            found: set[int] = set()
            for i in range(0, len(runs), 2):
                found |= counters.keys() & range(runs[i], runs[i + 1])
            return found
    low, high = runs[0], runs[-1]
    return {c for c in counters if low <= c < high and bisect_right(runs, c) & 1}


def _add_run(runs: list[int], start: int, end: int) -> None:
    """Add the run ``start <= c < end`` to ``runs`` in place, coalescing."""
    i = bisect_left(runs, start)
    j = bisect_right(runs, end)
    # the bounds runs[i:j] lie within [start, end] and go; start stays unless it falls in
    # (or just after) an earlier run, end stays unless it falls in (or just before) a later one
    if i & 1:
        runs[i:j] = [] if j & 1 else [end]
    else:
        runs[i:j] = [start] if j & 1 else [start, end]


def _covers(runs: list[int], other: list[int]) -> bool:
    """True if every run of ``other`` lies inside a run of ``runs`` (loops run in C)."""
    # the run of ``runs`` each start of ``other`` falls in (an odd bisect), which must
    # reach at least as far as that run of ``other``
    found = list(map(bisect_right, repeat(runs), other[::2]))
    return all(map((1).__and__, found)) and all(map(le, other[1::2], map(runs.__getitem__, found)))


def _union(left: list[int], right: list[int]) -> list[int]:
    """The union of two run lists, in one linear merge."""
    result: list[int] = []
    i = j = 0
    n, m = len(left), len(right)
    while i < n or j < m:
        if j >= m or (i < n and left[i] <= right[j]):
            start, end = left[i], left[i + 1]
            i += 2
        else:
            start, end = right[j], right[j + 1]
            j += 2
        if result and start <= result[-1]:
            if end > result[-1]:
                result[-1] = end
        else:
            result += (start, end)
    return result


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


class CausalCRDT(CRDT):
    """A CRDT whose state is a dot store plus a causal context.

    Subclasses set ``_store`` in ``__init__`` (a ``DotFun``), or override the
    ``_plan``/``_apply``/``_live_dots`` trio (as ORMap does). The context may be shared with
    an enclosing map: nested values draw dots from, and are judged against, the map's context.
    """

    __slots__ = ("_ctx", "_recorder", "_store")

    _store: DotFun[Any]

    def __init__(self, *, replica: str | None = None) -> None:
        super().__init__(replica=replica)
        self._ctx = CausalContext()
        self._recorder: Self | None = None

    # -- the join, split in two so that a failure changes nothing --------------------------

    def _plan(self, other: Self, mine: CausalContext, theirs: CausalContext) -> Any:
        return self._store.plan_join(other._store, mine, theirs)

    def _apply(self, plan: Any) -> None:
        self._store.apply(plan)

    def _is_empty(self) -> bool:
        return not self._store

    def _live_dots(self) -> Iterator[Dot]:
        return self._store.dots()

    def _merge(self, other: Self) -> None:
        plan = self._plan(other, self._ctx, other._ctx)
        self._refuse_conflicts(plan, other)
        self._apply(plan)
        self._ctx.join(other._ctx)

    @locked_pair
    def _leq(self, other: Self) -> bool:
        # self ⊑ other exactly when joining self into other would change nothing: other's
        # context holds every dot of self's, and the join plan neither adds nor retires a
        # dot. Planning reads only what self's dots and context name, so asking whether a
        # small delta is news costs O(delta), not a copy of other (the generic rule). Types
        # that join more than store and context (or carry retired writers) use that rule.
        kind = type(self)
        if (
            kind._merge is not CausalCRDT._merge
            or kind._state is not CausalCRDT._state
            or self._retired is not None
            or other._retired is not None
        ):
            return super()._leq(other)
        other._check_compatible(self)
        if not other._ctx.includes(self._ctx):
            return False
        return not other._plan(self, other._ctx, self._ctx)

    def _refuse_conflicts(self, plan: Any, other: Self) -> None:
        """Raise DotConflictError for what the plan reveals beyond one store's own check
        (a store checks shared dots as it plans; maps also look across their keys)."""

    # -- mutation --------------------------------------------------------------------------

    def _mutate(self, retire: Iterable[Dot] = (), add: Iterable[Any] = ()) -> Self:
        """Retire ``retire`` dots, add one fresh dot per payload in ``add``; return the delta.

        The delta holds the new dots and, in its context, both the retired and new dots, so
        merging it anywhere retires exactly what this replica observed.
        """
        replica = self._writer()
        delta = self._empty()
        store, context = self._store, self._ctx
        for dot_replica, counter in tuple(retire):
            store.discard(dot_replica, counter)
            delta._ctx.add(dot_replica, counter)
        for payload in add:
            counter = context.mint(replica)
            store.add(replica, counter, payload)
            delta._store.add(replica, counter, payload)
            delta._ctx.add(replica, counter)
        return self._emit(delta)

    def _add_replacing(self, payload: Any) -> Self:
        """Add ``payload`` under a fresh dot, retiring the live dots whose payload has its
        index key (an indexed store's "add": re-adding refreshes); return the delta.

        The single-dot fast path lives here: a key with no live dot, written by a bound
        replica whose own dots are contiguous, costs O(1) and a handful of small objects.
        Anything else goes through ``_mutate``.
        """
        replica = self._replica
        context = self._ctx
        if replica is not None and self._recorder is None and replica not in context.cloud:
            counter = context.vv.get(replica, 0) + 1
            store = self._store
            if store.add_fresh(replica, counter, payload):
                context.vv[replica] = counter
                return _one_dot_delta(self, replica, counter, payload)
        store = self._store
        return self._mutate(store.dots_of(store._index_key(payload)), (payload,))

    def _add_replacing_many(self, payloads: list[Any]) -> Self:
        """``_add_replacing`` for each payload in order, returning ONE delta: the join of
        the deltas the single calls would have returned (a payload repeated in the batch
        retires the dot it got earlier in the batch, as a second call would).

        Cost: O(b) for b payloads plus O(k) per payload whose key already had k live dots;
        the delta's index is built on first use.
        """
        replica = self._writer()
        delta = self._empty()
        store, context = self._store, self._ctx
        if store.key is None and len(set(payloads)) == len(payloads):
            held = store.keys()
            if held.isdisjoint(payloads):
                # the bulk load: distinct new keys, each one fresh dot, all at C speed
                counters = context.mint_run(replica, len(payloads))
                plan: JoinPlan[Any] = JoinPlan()
                if counters:
                    plan.adds[replica] = dict(zip(counters, payloads, strict=True))
                    run = CausalContext()
                    if counters[0] == 1:
                        run.vv[replica] = counters[-1]
                    else:
                        run.cloud[replica] = [counters[0], counters[-1] + 1]
                    delta._ctx = run
                store.apply(plan)
                delta._store.apply(plan)
                return self._emit(delta)
        retired = delta._ctx
        # the new dots, which form one contiguous run of this replica's counters
        fresh: dict[int, Any] = {}
        first = context.next_counter(replica)
        last = first - 1
        add_fresh = store.add_fresh
        for payload in payloads:
            last = context.mint(replica)
            if add_fresh(replica, last, payload):
                fresh[last] = payload
                continue
            for dot_replica, counter in store.dots_of(store._index_key(payload)):
                store.discard(dot_replica, counter)
                if dot_replica == replica and counter in fresh:
                    del fresh[counter]  # minted earlier in this batch: never shipped
                retired.add(dot_replica, counter)
            store.add(replica, last, payload)
            fresh[last] = payload
        if last >= first:
            minted = CausalContext()
            if first == 1:
                minted.vv[replica] = last
            else:
                minted.cloud[replica] = [first, last + 1]
            retired.join(minted)
            fresh_plan: JoinPlan[Any] = JoinPlan()
            fresh_plan.adds[replica] = fresh
            delta._store.apply(fresh_plan)
        return self._emit(delta)

    def _emit(self, delta: Self) -> Self:
        """Record ``delta`` for an enclosing map's update, and return it."""
        if self._recorder is not None:
            self._recorder.merge(delta)
        return delta

    # -- writer lifecycle (see CRDT.retire) -------------------------------------------------

    def _writers(self) -> Iterable[str]:
        # every live dot is in the context, so the context names every writer
        return self._ctx.vv.keys() | self._ctx.cloud.keys()

    def _high_water(self, writer: str) -> int:
        return self._ctx.next_counter(writer) - 1

    def _fold(self, writers: list[str]) -> Self:
        """Re-issue the departed writers' live dots as this writer's (a remove + add)."""
        moved: list[tuple[Dot, Any]] = []
        for writer in writers:
            for counter, payload in sorted(self._store.by_replica.get(writer, {}).items()):
                moved.append(((writer, counter), payload))
        return self._mutate([dot for dot, _ in moved], [payload for _, payload in moved])

    def _drop(self, writer: str) -> None:
        self._drop_dots(writer)
        self._ctx.forget(writer)

    def _drop_dots(self, writer: str) -> None:
        """Remove ``writer``'s live dots from the store (not from the context)."""
        for counter in list(self._store.by_replica.get(writer, ())):
            self._store.discard(writer, counter)

    # -- CRDT plumbing ---------------------------------------------------------------------

    def _content(self) -> Any:
        """The dot store, in a form that compares equal exactly when stores are equal."""
        return self._store

    def _spec(self) -> Any:
        """The type's configuration: merging requires equal specs."""
        return type(self)

    def _state(self) -> Any:
        return (self._content(), self._ctx)

    def _check_compatible(self, other: Self) -> None:
        if self._spec() != other._spec():
            raise TypeError(f"cannot merge {other!r} into {self!r}: different value types")

    def _copy(self) -> Self:
        return self._copy_with(self._ctx.copy())

    def _share(self, context: CausalContext, replica: str | None, lock: Any) -> None:
        """Draw dots from, and be judged against, an enclosing map's ``context``; hold the
        map's ``lock`` (one state, one lock)."""
        self._ctx = context
        self._replica = replica
        self._lock = lock

    def _copy_with(self, context: CausalContext) -> Self:
        """A copy of the store that uses ``context`` (shared by nested map values)."""
        result = self._empty()
        result._store = self._store.copy()
        result._ctx = context
        return result

    def _check(self) -> None:
        self._ctx._check()
        self._store._check(self._ctx)

    def _metadata_size(self) -> int:
        """Live dots plus context entries: what the bounded-metadata tests watch."""
        return len(self._store) + self._ctx.size()

    # -- wire form (see crdts.codec) -------------------------------------------------------

    @staticmethod
    def _payload_to_wire(payload: Any) -> Any:
        return payload

    @classmethod
    def _payloads_to_wire(cls, payloads: list[Any]) -> list[Any]:
        """Many payloads' wire forms (override for a faster batch form)."""
        return [cls._payload_to_wire(payload) for payload in payloads]

    @staticmethod
    def _payload_from_wire(data: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def _payloads_from_wire(cls, data: list[Any]) -> list[Any]:
        return [cls._payload_from_wire(item) for item in data]

    def _content_to_wire(self) -> Any:
        return _wire.store_to_wire(self._store, self._payloads_to_wire)

    def _content_from_wire(self, data: Any) -> None:
        """Fill this empty instance's store from the wire; its context is already set."""
        _wire.store_from_wire(data, self._store, self._ctx, self._payloads_from_wire)

    def _to_wire(self) -> Any:
        return [self._content_to_wire(), _wire.context_to_wire(self._ctx)]

    @classmethod
    def _from_wire(cls, data: Any) -> Self:
        if type(data) is not list or len(data) != 2:
            raise ValueError(f"a {cls.__name__} is [store, context], not {data!r}")
        result = cls()
        _wire.context_from_wire(data[1], result._ctx)
        result._content_from_wire(data[0])
        return result


_Causal = TypeVar("_Causal", bound=CausalCRDT)


def _one_dot_delta(source: _Causal, replica: str, counter: int, payload: Any) -> _Causal:
    """The delta of adding ``payload`` under the fresh dot ``(replica, counter)`` to
    ``source`` (whose state is a ``DotFun`` and a context), built directly: what
    ``_empty()`` and ``_mutate`` would leave, with the hot path's cost in mind (one call;
    the delta's index is built on first use)."""
    delta = source._blank()
    delta._recorder = None
    delta._ctx = context = _new_context()
    if counter == 1:
        context.vv = {replica: 1}
        context.cloud = {}
    else:
        context.vv = {}
        context.cloud = {replica: [counter, counter + 1]}
    mine = source._store
    delta._store = store = _new_store()
    store.key = mine.key
    store.indexed = mine.indexed
    store.by_replica = {replica: {counter: payload}}
    store._index = None
    store._home = replica
    return delta
