"""The causal context: every dot a state has seen, as a version vector plus a dot cloud.

Part of the causal kernel (see :mod:`crdts._causal`). ``CausalContext`` and the helpers on
its cloud runs (flat lists of half-open counter bounds).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping
from functools import partial
from itertools import islice, repeat
from operator import le
from typing import Any, TypeVar

__all__ = ["CausalContext", "ContextSnapshot", "Dot", "runs_contain", "runs_select"]

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
        above this context's vector (the bisects of ``_covers``); no dot is enumerated.
        """
        vv, cloud = self.vv, self.cloud
        for replica, top in other.vv.items():
            # dots 1..top: the vector must reach top (the cloud never touches vv + 1)
            if top > vv.get(replica, 0):
                return False
        for replica, theirs in other.cloud.items():
            # the part of their cloud above our vector must lie within our cloud's runs
            floor = vv.get(replica, 0) + 1
            k = bisect_right(theirs, floor)
            above = [floor, *theirs[k:]] if k & 1 else theirs[k:]
            if above and not (replica in cloud and _covers(cloud[replica], above)):
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
