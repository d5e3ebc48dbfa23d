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

The kernel is three modules: ``crdts._context`` (``CausalContext``), ``crdts._dotfun``
(``DotFun``, ``JoinPlan``) and this one (``CausalCRDT``), which re-exports their names.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Self, TypeVar

from crdts import _wire
from crdts._base import CRDT, locked_pair
from crdts._context import (
    CausalContext,
    ContextSnapshot,
    Dot,
    _new_context,
    runs_contain,
    runs_select,
)
from crdts._dotfun import DotFun, JoinPlan, _new_store

__all__ = [
    "CausalCRDT",
    "CausalContext",
    "ContextSnapshot",
    "Dot",
    "DotFun",
    "JoinPlan",
    "runs_contain",
    "runs_select",
]


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
