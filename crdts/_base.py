"""The contract every merge type shares: :class:`CRDT`.

A CRDT is a join-semilattice: ``merge`` computes the least upper bound of two states, so it
is commutative, associative and idempotent, and mutators only ever move a state up. Each
concrete type supplies its state, its join and its value; this module supplies the rest
(replica binding, ``|``, ``copy``, ``leq``, ``==``, ``repr``) once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Self

from crdts._values import check_replica
from crdts.errors import UnboundReplicaError

__all__ = ["CRDT"]

_KEEP: Any = object()


class CRDT(ABC):
    """Base class of every crdtkit merge type.

    Subclasses declare their wire identity in the class statement,
    ``class GCounter(CRDT, type_code=1)``, and implement ``_merge``, ``_state``,
    ``value`` and ``_check``.

    The replica id names the writer. It is not part of the state: ``==`` ignores it and the
    encoding omits it. An instance without one (a delta, a decoded message) is read-only.
    """

    __slots__ = ("__weakref__", "_replica")

    #: Wire identity: every concrete type registers a distinct msgpack ext code.
    type_code: ClassVar[int]
    #: Version of the type's payload layout; bumped on any format change.
    format_version: ClassVar[int] = 1
    _registry: ClassVar[dict[int, type[CRDT]]] = {}

    def __init_subclass__(cls, *, type_code: int | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if type_code is None:
            return
        if not 0 <= type_code <= 127:
            raise ValueError(f"type_code must be in 0..127, not {type_code}")
        taken = CRDT._registry.get(type_code)
        if taken is not None and taken.__qualname__ != cls.__qualname__:
            raise ValueError(f"type_code {type_code} is taken by {taken.__qualname__}")
        cls.type_code = type_code
        CRDT._registry[type_code] = cls

    def __init__(self, *, replica: str | None = None) -> None:
        # deltas are built unbound on every mutation: skip the call for them
        self._replica = None if replica is None else check_replica(replica)

    # -- replica binding -------------------------------------------------------------------

    @property
    def replica(self) -> str | None:
        """The id of the writer this instance acts for, or None if it is read-only."""
        return self._replica

    def _writer(self) -> str:
        """The replica id, or :class:`UnboundReplicaError` when there is none."""
        replica = self._replica
        if replica is None:
            raise UnboundReplicaError(self)
        return replica

    def _bind(self, replica: str | None) -> None:
        """Bind this instance (a freshly decoded one) to ``replica``."""
        self._replica = check_replica(replica)
        self._rebind(self)

    # -- wire form -------------------------------------------------------------------------

    def to_bytes(self) -> bytes:
        """The canonical encoding of this state (see :func:`crdts.encode`)."""
        from crdts.codec import encode

        return encode(self)

    @classmethod
    def from_bytes(cls, data: bytes, *, replica: str | None = None) -> Self:
        """Decode bytes holding a ``cls`` (see :func:`crdts.decode`).

        Raises:
            DecodeError: malformed input, or bytes holding another type.
        """
        from crdts.codec import decode
        from crdts.errors import DecodeError

        obj = decode(data)
        if type(obj) is not cls:
            raise DecodeError(f"expected a {cls.__name__}, got a {type(obj).__name__}")
        if replica is not None:
            obj._bind(replica)
        return obj

    # -- the lattice -----------------------------------------------------------------------

    def merge(self, other: Self) -> None:
        """Join ``other`` into this state, in place.

        ``other`` may be a full state or a delta. Merging is commutative, associative and
        idempotent; on any error the state is left unchanged.

        Raises:
            TypeError: ``other`` is not of this type (or has another configuration).
            DotConflictError: the two states prove two writers shared a replica id.
        """
        if type(other) is not type(self):
            raise TypeError(f"cannot merge {type(other).__name__} into {type(self).__name__}")
        self._check_compatible(other)
        self._merge(other)

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

    def leq(self, other: Self) -> bool:
        """True if ``other`` already holds everything this state holds (``self ⊑ other``)."""
        if type(other) is not type(self):
            raise TypeError(f"cannot compare {type(self).__name__} with {type(other).__name__}")
        joined = other.copy(replica=None)
        joined.merge(self)
        return joined == other

    def copy(self, *, replica: str | None = _KEEP) -> Self:
        """Return an independent copy; ``replica=`` rebinds it (``None`` makes it read-only)."""
        result = self._copy()
        result._replica = self._replica if replica is _KEEP else check_replica(replica)
        result._rebind(self)
        return result

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return bool(self._state() == other._state())

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"{type(self).__name__}(replica={self._replica!r}, value={self.value!r})"

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

    def _check_compatible(self, other: Self) -> None:  # noqa: B027 (optional hook)
        """Raise TypeError if ``other`` has another configuration (e.g. a value type)."""

    def _rebind(self, source: Self) -> None:  # noqa: B027 (optional hook)
        """Called by ``copy`` after the replica is set: re-create replica-bound helpers."""

    def _empty(self) -> Self:
        """A new, empty, unbound instance with this instance's configuration."""
        return type(self)()
