"""The contract every merge type shares: [`CRDT`][crdts.CRDT].

A CRDT is a join-semilattice: ``merge`` computes the least upper bound of two states, so it
is commutative, associative and idempotent, and mutators only ever move a state up. Each
concrete type supplies its state, its join and its value; this module supplies the rest
(replica binding, ``|``, ``copy``, ``leq``, ``==``, ``repr``) once; it re-exports the
per-object lock that makes each public operation atomic when threads share one object
(:func:`locked`, :func:`locked_pair`, from :mod:`crdts._locking`).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any, ClassVar, Self, cast

from crdts import _registry
from crdts._identity import name_of, writer_id
from crdts._locking import Guarded, lock_of, locked, locked_pair
from crdts._values import check_replica
from crdts.errors import RetiredWriterError, UnboundReplicaError

__all__ = ["CRDT", "Guarded", "lock_of", "locked", "locked_pair"]

_KEEP: Any = object()
_log = logging.getLogger("crdts")


class CRDT(Guarded, ABC):
    """Base class of every crdtkit merge type.

    Subclasses declare their wire identity in the class statement,
    ``class GCounter(CRDT, type_code=1)`` (codes 64..127 are free for your own types; 0..63
    are crdtkit's), and implement these hooks, which the class statement checks:

    * ``value`` (a property): what a user reads;
    * ``_merge(other)``: join a compatible ``other`` into ``self``, all or nothing;
    * ``_state()``: a value equal exactly when two states are equal;
    * ``_copy()``: a deep, independent copy of the state;
    * ``_check()``: raise ``AssertionError`` if an invariant does not hold;
    * ``_to_wire()``: canonical msgpack-ready data for the state;
    * ``_from_wire(data)`` (a classmethod): the state back, ``ValueError`` if malformed.

    Optional hooks: ``_check_compatible``, ``_rebind``, ``_empty`` and, for types whose state
    names writers, the lifecycle hooks ``_writers``, ``_high_water``, ``_mark_repr``,
    ``_exceeds``, ``_fold`` and ``_drop``.

    The replica id names the writer. It is not part of the state: ``==`` ignores it and the
    encoding omits it. An instance without one (a delta, a decoded message) is read-only.

    Threads may share an instance: each public operation runs whole under the instance's
    re-entrant lock (a sequence of operations is not atomic). Processes do not share one:
    each holds its own replica, and they replicate with deltas.
    """

    __slots__ = ("__weakref__", "_lock", "_replica", "_retired")

    #: Wire identity: every concrete type registers a distinct msgpack ext code.
    type_code: ClassVar[int]
    #: Version of the type's payload layout; bumped on any format change.
    format_version: ClassVar[int] = 1

    def __init_subclass__(cls, *, type_code: int | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if type_code is None:
            return
        missing = [
            name
            for name in _REQUIRED_HOOKS
            if getattr(cls, name, None) is None
            or getattr(getattr(cls, name), "__isabstractmethod__", False)
        ]
        if missing:
            raise TypeError(
                f"{cls.__qualname__} declares type_code={type_code} but does not implement "
                f"{', '.join(missing)} (see help(crdts.CRDT) for what each must do)"
            )

        _registry.register(
            cls,
            code=type_code,
            version=cls.format_version,
            to_wire=lambda obj: obj._to_wire(),
            from_wire=_registry.exact_version(cls, cls.format_version, cls._from_wire),
        )
        cls.type_code = type_code

    def __init__(self, *, replica: str | None = None) -> None:
        # deltas are built unbound on every mutation: skip the call for them
        self._replica = None if replica is None else writer_id(_checked_name(replica))
        # retired writers -> high-water mark (None while there are none: the common case)
        self._retired: dict[str, int] | None = None
        self._lock = None

    @classmethod
    def _blank(cls) -> Self:
        """An unbound instance with only this class's slots set, as ``__init__`` leaves them
        for ``replica=None``; the caller fills the type's own state. For hot paths that
        build a delta per operation (``__init__`` chains cost more than the fill)."""
        result = cls.__new__(cls)
        result._replica = None
        result._retired = None
        result._lock = None
        return result

    # -- replica binding -------------------------------------------------------------------

    @property
    def replica(self) -> str | None:
        """The name of the replica this instance writes for, or None if it is read-only."""
        writer = self._replica
        return None if writer is None else name_of(writer)

    @property
    def writer(self) -> str | None:
        """The writer identity that mints this instance's dots and counter entries.

        It is the replica name plus an incarnation minted when the instance was bound
        (``"svc-a#k3x..."``), so two bindings of one name never reuse a dot or an entry.
        None if the instance is read-only.
        """
        return self._replica

    def _writer(self) -> str:
        """The writer id, or ``UnboundReplicaError`` when there is none."""
        replica = self._replica
        if replica is None:
            raise UnboundReplicaError(self)
        return replica

    def _bind(self, replica: str | None, incarnation: str | None = None) -> None:
        """Bind this instance (a freshly decoded one) to a new writer of ``replica``."""
        self._replica = _new_writer(replica, incarnation)
        self._rebind(self)

    def _rotate(self) -> None:
        """Continue as a new incarnation of the same replica (the old id is spent)."""
        old = self._writer()
        self._replica = writer_id(name_of(old))
        _log.warning(
            "%s writer %r met its own id ahead of what it issued (a reused id: a stale "
            "snapshot or a copied process); it continues as %r",
            type(self).__name__,
            old,
            self._replica,
        )
        self._rebind(self)

    # -- wire form -------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """The canonical encoding of this state (see [`crdts.encode`][crdts.encode])."""
        from crdts.codec import encode

        return encode(self)

    @classmethod
    def from_bytes(
        cls, data: bytes, *, replica: str | None = None, incarnation: str | None = None
    ) -> Self:
        """Decode bytes holding a ``cls`` (see [`crdts.decode`][crdts.decode]).

        With ``replica=`` the result is bound to a new writer of that replica: the safe way
        to restore a snapshot, fresh or stale (see [`crdts.decode`][crdts.decode]).

        Raises:
            DecodeError: malformed input, or bytes holding another type.
        """
        from crdts.codec import decode
        from crdts.errors import DecodeError

        obj = decode(data)
        if type(obj) is not cls:
            raise DecodeError(f"expected a {cls.__name__}, got a {type(obj).__name__}")
        if replica is not None:
            obj._bind(replica, incarnation)
        elif incarnation is not None:
            raise ValueError("incarnation= needs replica=")
        return obj

    # -- the lattice -----------------------------------------------------------------------

    def merge(self, other: Self) -> None:
        """Join ``other`` into this state, in place.

        ``other`` may be a full state or a delta. Merging is commutative, associative and
        idempotent; on any error the state is left unchanged.

        If ``other`` shows this instance's own writer id ahead of what it issued (proof that
        the id was reused: an explicit incarnation restored from a stale snapshot, or a
        hostile peer), this instance first continues as a new incarnation, so nothing it
        writes next can collide; a warning is logged on the ``crdts`` logger.

        Raises:
            TypeError: ``other`` is not of this type (or has another configuration).
            DotConflictError: the two states prove two writers shared a writer id.
            RetiredWriterError: a retired writer's data goes beyond its retirement.
        """
        if type(other) is not type(self):
            raise TypeError(f"cannot merge {type(other).__name__} into {type(self).__name__}")
        self._merge_locked(other)

    @locked_pair
    def _merge_locked(self, other: Self) -> None:
        """``merge`` under both objects' locks."""
        self._check_compatible(other)
        if self._retired is None and other._retired is None:
            mine = self._replica
            if mine is not None and other._exceeds(mine, self._high_water(mine)):
                self._rotate()
            self._merge(other)
            return
        self._merge_retiring(other)

    def _merge_retiring(self, other: Self) -> None:
        """``merge`` when either side carries retired writers: strip their data, then join."""
        retired = dict(self._retired or ())
        for writer, mark in (other._retired or {}).items():
            if mark > retired.get(writer, -1):
                retired[writer] = mark
        for writer, mark in retired.items():
            for side in (self, other):
                if side._exceeds(writer, mark):
                    raise RetiredWriterError(
                        writer, self._mark_repr(mark), self._mark_repr(side._high_water(writer))
                    )
        stale = [writer for writer in retired if other._high_water(writer)]
        if stale:
            other = other._copy()
            for writer in stale:
                other._drop(writer)
        mine = self._replica
        if mine is not None and (mine in retired or other._exceeds(mine, self._high_water(mine))):
            self._rotate()
        self._merge(other)
        for writer in retired:
            if self._high_water(writer):
                self._drop(writer)
        self._retired = retired or None

    # -- writer lifecycle ------------------------------------------------------------------

    @locked
    def writers(self) -> frozenset[str]:
        """The writer ids this state holds metadata for (counter entries, dots, context).

        Each restart or fork adds one; ``retire`` removes departed ones. O(r).
        """
        return frozenset(self._writers())

    @property
    @locked
    def retired(self) -> Mapping[str, int]:
        """Retired writer ids and the high-water mark each was retired at (a read-only
        snapshot)."""
        return MappingProxyType(dict(self._retired or {}))

    @locked
    def retire(self, *writers: str) -> Self:
        """Fold departed ``writers`` into this replica's writer and drop their ids.

        Counters add a departed writer's totals into this writer's; causal types re-issue
        the departed writer's surviving dots as this writer's. The departed ids are then
        recorded as retired at their high-water mark: merging the returned delta anywhere
        drops their data there, later states that still carry it are stripped on merge,
        and data beyond the mark raises [`RetiredWriterError`][crdts.RetiredWriterError].

        Retire a writer only when it will never write again (its process has stopped and
        will not be restored under that id — a restore mints a new one) and every live
        replica has shipped its state here; otherwise the departed writer's updates that
        have not arrived are refused. ``merge.harness.Network.retire`` runs that protocol.

        Cost: O(its entries) (O(r) for counters). Returns the delta to ship.

        Raises:
            UnboundReplicaError: this instance is read-only.
            ValueError: a writer is this instance's own writer id.
        """
        me = self._writer()
        marks: dict[str, int] = {}
        for writer in writers:
            if type(writer) is not str or not writer:
                raise TypeError(f"a writer id is a non-empty str, not {writer!r}")
            if writer == me:
                raise ValueError(f"{writer!r} is this replica's own writer: it cannot retire")
            marks[writer] = max(self._high_water(writer), (self._retired or {}).get(writer, 0))
        delta = self._fold([writer for writer in marks if self._high_water(writer)])
        for writer in marks:
            if self._high_water(writer):
                self._drop(writer)
            # the record alone removes the writer's data wherever the delta lands
            delta._drop(writer)
        retired = dict(self._retired or ())
        retired.update(marks)
        self._retired = retired or None
        delta._retired = dict(marks) or None
        return delta

    @locked
    def forget_retired(self, *writers: str) -> None:
        """Drop the retirement records of ``writers`` (local; not replicated).

        Only safe once no state or message that predates the retirement can reach this
        replica again (every replica has merged the retirement and persisted it, nothing
        older is in flight or in a snapshot that may be restored): after that, a record
        costs memory and guards nothing. ``merge.harness.Network.retire`` does it when its
        protocol has proven that. O(k) for k writers.
        """
        if not self._retired:
            return
        for writer in writers:
            self._retired.pop(writer, None)
        if not self._retired:
            self._retired = None

    def __or__(self, other: Self) -> Self:
        """``a | b``: a new, read-only (unbound) state holding the join of both.

        It is unbound so that it can never write as ``a``'s replica behind ``a``'s back;
        ``(a | b).copy(replica="c")`` forks a writer from it.
        """
        if type(other) is not type(self):
            return NotImplemented
        result = self.copy(replica=None)
        result.merge(other)
        return result

    def __ior__(self, other: Self) -> Self:
        """``a |= b``: ``a.merge(b)``, in place: ``a`` stays the same object, bound to the
        same writer (``a | b`` is the read-only join). Cost: that of ``merge``."""
        if type(other) is not type(self):
            return NotImplemented
        self.merge(other)
        return self

    def leq(self, other: Self) -> bool:
        """True if ``other`` already holds everything this state holds (``self ⊑ other``)."""
        if type(other) is not type(self):
            raise TypeError(f"cannot compare {type(self).__name__} with {type(other).__name__}")
        return self._leq(other)

    @locked_pair
    def _leq(self, other: Self) -> bool:
        joined = other.copy(replica=None)
        joined.merge(self)
        return joined == other

    @locked
    def copy(self, *, replica: str | None = _KEEP, incarnation: str | None = None) -> Self:
        """Return an independent copy; ``replica=`` rebinds it (``None`` makes it read-only).

        A bound copy is a new writer: a fresh incarnation of ``replica`` (of this instance's
        replica by default), so a copy never writes under this instance's id.
        ``incarnation=`` chooses it (tests and simulations; it must never be reused).
        """
        result = self._copy()
        if self._retired is not None:
            result._retired = dict(self._retired)
        name = self.replica if replica is _KEEP else replica
        result._replica = _new_writer(name, incarnation)
        result._rebind(self)
        return result

    @locked
    def _clone(self) -> Self:
        """A copy that keeps this instance's writer id: only for putting back a state that
        replaces this one (an undo), never for a second live writer."""
        result = self._copy()
        if self._retired is not None:
            result._retired = dict(self._retired)
        result._replica = self._replica
        result._rebind(self)
        return result

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._equal(other)

    @locked_pair
    def _equal(self, other: Self) -> bool:
        if (self._retired or None) != (other._retired or None):
            return False
        return bool(self._state() == other._state())

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"{type(self).__name__}(replica={self.replica!r}, value={self.value!r})"

    # -- what subclasses provide -----------------------------------------------------------

    @property
    @abstractmethod
    def value(self) -> Any:
        """What a user reads."""

    @abstractmethod
    def _merge(self, other: Self) -> None:
        """Join ``other`` (same type, compatible) into ``self``; all-or-nothing."""

    @abstractmethod
    def _state(self) -> Any:
        """A value that compares equal exactly when the two states are equal."""

    @abstractmethod
    def _copy(self) -> Self:
        """A deep, independent copy of the state (the replica is set by ``copy``)."""

    @abstractmethod
    def _check(self) -> None:
        """Assert every invariant of the state (tests call this after each step)."""

    @abstractmethod
    def _to_wire(self) -> Any:
        """Canonical msgpack-ready data for the state (equal states, equal data)."""

    @classmethod
    @abstractmethod
    def _from_wire(cls, data: Any) -> Self:
        """The state ``_to_wire`` wrote, as an unbound instance; ValueError if malformed."""

    def _check_compatible(self, other: Self) -> None:
        """Raise TypeError if ``other`` has another configuration (e.g. a value type)."""

    def _rebind(self, source: Self) -> None:
        """Called by ``copy`` after the replica is set: re-create replica-bound helpers."""

    def _empty(self) -> Self:
        """A new, empty, unbound instance with this instance's configuration."""
        return type(self)()

    # writer lifecycle hooks: types whose state names writers override all four

    def _writers(self) -> Iterable[str]:
        """Every writer id the state holds metadata for."""
        return ()

    def _high_water(self, writer: str) -> int:
        """How far the state has seen ``writer`` (0: not at all); grows with its writes."""
        return 0

    def _mark_repr(self, mark: int) -> Any:
        """A ``_high_water`` mark as a reader would write it (in errors)."""
        return mark

    def _exceeds(self, writer: str, mark: int) -> bool:
        """True if the state holds data of ``writer`` beyond ``mark`` (a ``_high_water``)."""
        return self._high_water(writer) > mark

    def _fold(self, writers: list[str]) -> Self:
        """Re-issue ``writers``' contributions as this writer's; return the delta."""
        return self._empty()

    def _drop(self, writer: str) -> None:
        """Remove every trace of ``writer`` (its contribution is folded elsewhere)."""


#: What a class with a ``type_code`` must implement (checked by its class statement).
_REQUIRED_HOOKS = ("value", "_merge", "_state", "_copy", "_check", "_to_wire", "_from_wire")


def _checked_name(replica: Any) -> str:
    """``replica`` if it is a valid (non-None) replica name, else TypeError/ValueError."""
    return cast(str, check_replica(replica))


def _new_writer(replica: Any, incarnation: str | None) -> str | None:
    """A fresh writer id for replica name ``replica`` (None stays None)."""
    if replica is None:
        if incarnation is not None:
            raise ValueError("incarnation= needs a replica name")
        return None
    return writer_id(_checked_name(replica), incarnation)
