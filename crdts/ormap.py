"""ORMap: an observed-remove map whose values are causal CRDTs sharing one context.

State: a dict from key to a nested causal CRDT, all drawing dots from and judged against
the map's single causal context. Join: per key, the nested stores join under the two maps'
contexts; a key whose nested state becomes empty disappears. Value: ``{key: nested value}``.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from threading import RLock
from typing import Any, Self

import msgpack

from crdts import _registry, _wire
from crdts._base import lock_of, locked
from crdts._causal import CausalContext, CausalCRDT, ContextSnapshot, Dot
from crdts._mapping import MappingReads
from crdts._values import check_element
from crdts.errors import DotConflictError

__all__ = ["ORMap"]

_MISSING: Any = object()


class ORMap(CausalCRDT, MappingReads, type_code=13):
    """An observed-remove map of causal CRDTs, with reset-remove semantics.

    ``update(key, fn)`` hands ``fn`` the key's nested CRDT (bound to this replica, created
    empty if absent) and ships what ``fn`` changed. ``remove(key)`` retires exactly the
    nested dots this replica observed: an update made concurrently elsewhere survives
    **alone** — a nested set keeps only the concurrently added elements, a nested counter
    only the concurrent increments.

    Values must be causal types: ``ORSet``, ``RWORSet``, ``MVRegister``,
    ``EWFlag``, ``DWFlag``, ``CausalCounter``, or a map — spell a map of maps
    as ``ORMap(ORMap(ORSet))``.

    Reading: the map reads like a read-only ``dict`` of nested values (as ``LWWMap`` and
    ``Cart`` do): ``m[key]`` (``KeyError`` if absent), ``get(key, default)``, ``in``,
    ``len``, iteration over the keys, and ``keys()``, ``items()``, ``values()``; every
    read is a snapshot.

    Surprises:
        * A removed key comes back if a concurrent update touched it, holding only that
          update's effect (the filesystem analogy: deleting a folder while someone adds a
          file to it leaves the folder with just the new file).
        * ``fn``'s changes are shipped even if ``fn`` returns something else: the returned
          delta is the join of everything ``fn`` did. If ``fn`` raises, nothing it did is
          kept.
        * A key stays while its nested *state* holds dots, even if its value reads as empty:
          an ``RWORSet`` whose elements were all removed keeps its remove tokens, a
          ``CausalCounter`` can sum to 0, a ``DWFlag`` can read False.

    Examples:
        >>> from crdts import ORMap, ORSet
        >>> a = ORMap(ORSet, replica="a")
        >>> b = a.copy(replica="b")
        >>> b.merge(a.update("fruit", lambda s: s.add("apple")))
        >>> _ = b.remove("fruit")                              # b removes what it saw...
        >>> _ = a.update("fruit", lambda s: s.add("pear"))     # ...while a adds more
        >>> a.merge(b); a.value == {"fruit": frozenset({"pear"})}
        True

    Merge cost: O(k + d) for k keys here and d dots in the other state; ``update`` costs
    O(size of the value under its key) plus ``fn``. State size: O(k) plus the nested states'
    dots and one shared causal context.
    """

    __slots__ = ("_entries", "_prototype")

    def __init__(
        self, value_type: type[CausalCRDT] | CausalCRDT, *, replica: str | None = None
    ) -> None:
        super().__init__(replica=replica)
        self._prototype = _prototype_of(value_type)
        self._entries: dict[Any, CausalCRDT] = {}
        # made now, not on first use: every nested value holds it from the start
        self._lock = RLock()

    # -- configuration ---------------------------------------------------------------------

    def _empty(self) -> Self:
        return type(self)(self._prototype)

    def _spec(self) -> Any:
        return (type(self), self._prototype._spec())

    @property
    def value_type(self) -> CausalCRDT:
        """An empty instance of the value type (a template: do not mutate it)."""
        return self._prototype

    def _new_value(self) -> CausalCRDT:
        value = self._prototype._empty()
        value._share(self._ctx, None, self._lock)
        return value

    def _share(self, context: CausalContext, replica: str | None, lock: Any) -> None:
        self._ctx = context
        self._replica = replica
        self._lock = lock
        for value in self._entries.values():
            # unbound: a nested value writes only inside update(), which binds it for fn
            value._share(context, None, lock)

    def _rebind(self, source: Self) -> None:
        self._share(self._ctx, self._replica, self._lock)

    def _unpickled(self) -> None:
        self._share(self._ctx, self._replica, lock_of(self))

    # -- mutators --------------------------------------------------------------------------

    def update(self, key: Hashable, fn: Callable[[Any], Any]) -> Self:
        """Apply ``fn`` to the nested CRDT under ``key``; return the map delta.

        ``fn`` receives the nested CRDT bound to this replica (empty if the key is absent)
        and calls its mutators. Everything it changes is in the returned delta. ``fn`` runs
        under this map's lock (see "Threads" in the docs): other threads wait for it, so it
        should not block or wait on other threads.
        """
        return self._update(key, fn)

    @locked
    def _update(self, key: Hashable, fn: Callable[[Any], Any]) -> Self:
        """``update``, for this module and its subclasses (``Cart`` refuses the public one)."""
        check_element(key, "key")
        replica = self._writer()
        value = self._entries.get(key)
        saved = None if value is None else value._copy_with(self._ctx)
        if value is None:
            value = self._new_value()
        # fn may only add this replica's fresh dots to the context: remember where they start
        before = self._ctx.snapshot(replica)
        recorder = value._empty()
        value._recorder = recorder
        value._share(self._ctx, replica, self._lock)
        try:
            fn(value)
        except BaseException:
            self._restore(key, saved, before)
            raise
        finally:
            value._recorder = None
            # a reference to the nested value kept past this call cannot write into the map
            # behind it (such writes would make no delta and never reach a peer)
            value._share(self._ctx, None, self._lock)
        if value._is_empty():
            self._entries.pop(key, None)
        elif saved is None:
            self._entries[key] = value
        delta = self._empty()
        delta._ctx = recorder._ctx
        if not recorder._is_empty():
            delta._entries[key] = recorder
            recorder._share(delta._ctx, None, delta._lock)
        return self._emit(delta)

    def _restore(self, key: Any, saved: CausalCRDT | None, before: ContextSnapshot) -> None:
        """Undo a failed ``update``: put back the key's value and this replica's context."""
        if saved is None:
            self._entries.pop(key, None)
        else:
            saved._share(self._ctx, None, self._lock)
            self._entries[key] = saved
        self._ctx.restore(before)

    @locked
    def remove(self, key: Hashable) -> Self:
        """Remove ``key``, resetting the nested state observed here; return the delta.

        Raises:
            KeyError: the key is not in this replica's map (use ``discard``).
        """
        self._writer()
        if key not in self._entries:
            raise KeyError(key)
        return self.discard(key)

    @locked
    def discard(self, key: Hashable) -> Self:
        """Remove ``key`` if present; return the (possibly empty) delta."""
        self._writer()
        delta = self._empty()
        value = self._entries.pop(key, None)
        if value is not None:
            for replica, counter in value._live_dots():
                delta._ctx.add(replica, counter)
        return self._emit(delta)

    # -- writer lifecycle (see CRDT.retire) -------------------------------------------------

    def _fold(self, writers: list[str]) -> Self:
        gone = set(writers)
        delta = self._empty()
        for key in [k for k, v in self._entries.items() if _holds(v, gone)]:
            delta.merge(self._update(key, lambda value: value._fold(writers)))
        return delta

    def _drop_dots(self, writer: str) -> None:
        for key, value in list(self._entries.items()):
            value._drop_dots(writer)
            if value._is_empty():
                del self._entries[key]

    # -- reading ---------------------------------------------------------------------------

    @property
    @locked
    def value(self) -> dict[Any, Any]:
        """``{key: nested value}`` for every live key."""
        return {key: nested.value for key, nested in self._entries.items()}

    @locked
    def get(self, key: Hashable, default: Any = None) -> Any:
        """The nested value under ``key``, or ``default``."""
        nested = self._entries.get(key, _MISSING)
        return default if nested is _MISSING else nested.value

    @locked
    def __getitem__(self, key: Hashable) -> Any:
        """The nested value under ``key``.

        Raises:
            KeyError: ``key`` is not in this replica's map.
        """
        return self._entries[key].value

    def __contains__(self, key: object) -> bool:
        try:
            return key in self._entries
        except TypeError:
            return False

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Any]:
        """Iterate over a snapshot of the keys (taken under the lock)."""
        return iter(self._keys())

    @locked
    def _keys(self) -> tuple[Any, ...]:
        return tuple(self._entries)

    # -- the kernel hooks ------------------------------------------------------------------

    def _plan(self, other: Self, mine: CausalContext, theirs: CausalContext) -> Any:
        plans: list[tuple[Any, CausalCRDT, Any, bool]] = []
        for key, their_value in other._entries.items():
            my_value = self._entries.get(key)
            target = self._new_value() if my_value is None else my_value
            plan = target._plan(their_value, mine, theirs)
            if plan:
                plans.append((key, target, plan, my_value is None))
        empty = self._prototype
        for key, my_value in self._entries.items():
            if key not in other._entries:
                plan = my_value._plan(empty, mine, theirs)
                if plan:
                    plans.append((key, my_value, plan, False))
        return plans

    def _refuse_conflicts(self, plan: Any, other: Self) -> None:
        # a dot this merge retires from one key but the other side holds live under another
        # key names two different events: two writers shared a replica id
        retired = set(_retired_dots(plan))
        if retired:
            for key, value in other._entries.items():
                for dot in value._live_dots():
                    if dot in retired:
                        mine = f"key {self._key_of(dot)!r}"
                        raise DotConflictError(dot, mine, f"key {key!r}")

    def _key_of(self, dot: Dot) -> Any:
        for key, value in self._entries.items():
            if dot in set(value._live_dots()):
                return key
        return None

    def _apply(self, plans: Any) -> None:
        for key, target, plan, is_new in plans:
            target._apply(plan)
            if target._is_empty():
                self._entries.pop(key, None)
            elif is_new:
                self._entries[key] = target

    def _is_empty(self) -> bool:
        return not self._entries

    def _live_dots(self) -> Iterator[Dot]:
        for value in self._entries.values():
            yield from value._live_dots()

    def _content(self) -> Any:
        return {key: value._content() for key, value in self._entries.items()}

    def _copy_with(self, context: CausalContext) -> Self:
        result = self._empty()
        result._entries = {key: value._copy_with(context) for key, value in self._entries.items()}
        result._share(context, result._replica, result._lock)
        return result

    def _check(self) -> None:
        self._ctx._check()
        self._check_nested(self._ctx, self._lock)

    def _check_nested(self, context: CausalContext, lock: Any) -> None:
        seen: set[Dot] = set()
        for key, value in self._entries.items():
            # nested values share this map's context and lock, and are unbound: only
            # update() binds one, for the duration of fn
            assert value._ctx is context, key
            assert value._replica is None, (key, value._replica)
            assert value._lock is lock, key
            # a key whose nested state became empty is gone
            assert not value._is_empty(), key
            # no dot is live under two keys
            dots = set(value._live_dots())
            assert not dots & seen, (key, dots & seen)
            seen |= dots
            if isinstance(value, ORMap):
                value._check_nested(context, lock)
            else:
                value._store._check(context)

    def _metadata_size(self) -> int:
        return sum(1 for _ in self._live_dots()) + self._ctx.size()

    # -- wire form -------------------------------------------------------------------------

    def _content_to_wire(self) -> Any:
        keyed = sorted((msgpack.packb(_wire.element_to_wire(key)), key) for key in self._entries)
        return [
            [_wire.element_to_wire(key), self._entries[key]._content_to_wire()] for _, key in keyed
        ]

    def _content_from_wire(self, data: Any) -> None:
        if type(data) is not list:
            raise ValueError(f"map entries must be an array, not {data!r}")
        previous = b""
        seen = 0
        for entry in data:
            if type(entry) is not list or len(entry) != 2:
                raise ValueError(f"a map entry is [key, value], not {entry!r}")
            key = _wire.element_from_wire(entry[0])
            packed = msgpack.packb(_wire.element_to_wire(key))
            if packed <= previous:
                raise ValueError("map keys must be sorted by their encoding and unique")
            previous = packed
            value = self._new_value()
            value._content_from_wire(entry[1])
            if value._is_empty():
                raise ValueError(f"map key {key!r} holds an empty value")
            self._entries[key] = value
            seen += sum(1 for _ in value._live_dots())
        if seen != len(set(self._live_dots())):
            raise ValueError("a dot is live under two map keys")

    #: Whether the value type travels in the payload (a Cart's is fixed, so it does not).
    _wire_spec: bool = True

    def _to_wire(self) -> Any:
        state = [self._content_to_wire(), _wire.context_to_wire(self._ctx)]
        return [_spec_to_wire(self._prototype), *state] if self._wire_spec else state

    @classmethod
    def _from_wire(cls, data: Any) -> Self:
        width = 3 if cls._wire_spec else 2
        if type(data) is not list or len(data) != width:
            shape = "[value type, entries, context]" if cls._wire_spec else "[entries, context]"
            raise ValueError(f"a {cls.__name__} is {shape}, not {data!r}")
        result = cls(_spec_from_wire(data[0])) if cls._wire_spec else cls._fixed()
        _wire.context_from_wire(data[-1], result._ctx)
        result._content_from_wire(data[-2])
        return result

    @classmethod
    def _fixed(cls) -> Self:
        """An empty instance of a map type whose value type is fixed (see ``_wire_spec``)."""
        raise TypeError(f"{cls.__name__} needs a value type")

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({_spec_name(self._prototype)}, replica={self.replica!r}, "
            f"value={self.value!r})"
        )


def _prototype_of(value_type: Any) -> CausalCRDT:
    """An empty, unbound instance standing for the value type."""
    if isinstance(value_type, type):
        if not issubclass(value_type, CausalCRDT):
            raise TypeError(
                f"ORMap values must be causal CRDTs (ORSet, RWORSet, MVRegister, EWFlag, "
                f"DWFlag, CausalCounter, ORMap), not {value_type.__name__}"
            )
        if value_type is ORMap:
            raise TypeError("a map of maps names its inner value type: ORMap(ORMap(ORSet))")
        return value_type()
    if isinstance(value_type, CausalCRDT):
        return value_type._empty()
    raise TypeError(
        f"ORMap(value_type) takes a causal CRDT class or an ORMap template such as "
        f"ORMap(ORSet), not {value_type!r}"
    )


def _holds(value: CausalCRDT, writers: set[str]) -> bool:
    """True if ``value`` holds a live dot of one of ``writers``."""
    return any(replica in writers for replica, _ in value._live_dots())


def _retired_dots(plan: Any) -> Iterator[Dot]:
    """The dots a map join plan removes (recursively through nested maps)."""
    for _, target, nested, _ in plan:
        if isinstance(target, ORMap):
            yield from _retired_dots(nested)
        else:
            for replica, counters in nested.removes.items():
                for counter in counters:
                    yield replica, counter


_MAX_NESTING = 32


def _spec_to_wire(prototype: CausalCRDT) -> Any:
    """The value type on the wire: its type code, or ``[ORMap code, inner]`` for a map."""
    if type(prototype) is ORMap:
        return [ORMap.type_code, _spec_to_wire(prototype._prototype)]
    return prototype.type_code


def _spec_from_wire(data: Any, depth: int = 0) -> CausalCRDT:
    if depth > _MAX_NESTING:
        raise ValueError(f"maps nest at most {_MAX_NESTING} deep")
    if (
        type(data) is list
        and len(data) == 2
        and type(data[0]) is int
        and data[0] == ORMap.type_code
    ):
        return ORMap(_spec_from_wire(data[1], depth + 1))
    if type(data) is int:
        entry = _registry.by_code(data)
        cls = None if entry is None else entry.cls
        if cls is not None and issubclass(cls, CausalCRDT) and cls is not ORMap:
            return cls()
    raise ValueError(f"{data!r} does not name a causal value type")


def _spec_name(prototype: CausalCRDT) -> str:
    if type(prototype) is ORMap:
        return f"ORMap({_spec_name(prototype._prototype)})"
    return type(prototype).__name__
