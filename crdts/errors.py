"""The exceptions of :mod:`crdts`.

One root, :class:`CRDTError`; each leaf also subclasses the built-in exception a caller would
naturally catch, and carries its evidence as attributes.
"""

from __future__ import annotations

from typing import Any

__all__ = ["CRDTError", "DecodeError", "DotConflictError", "UnboundReplicaError"]


class CRDTError(Exception):
    """Root of every exception raised by :mod:`crdts`."""


class DecodeError(CRDTError, ValueError):
    """Bytes could not be decoded into a crdtkit value; nothing was constructed."""


class UnboundReplicaError(CRDTError, TypeError):
    """A mutator was called on an instance that has no replica id.

    Decoded messages and deltas are read-only: they name no writer. Bind one with
    ``Type(replica="a")``, ``obj.copy(replica="a")`` or ``decode(data, replica="a")``.
    """

    def __init__(self, obj: Any) -> None:
        self.type_name = type(obj).__name__
        super().__init__(
            f"this {self.type_name} has no replica id, so it cannot mutate; "
            f"pass replica= when creating it or use .copy(replica=...)"
        )


class DotConflictError(CRDTError, ValueError):
    """A merge found one dot carrying different data on the two sides.

    A dot ``(replica, counter)`` names exactly one event, so this proves that two writers
    used the same replica id. The merge is refused and the state left unchanged.
    """

    def __init__(self, dot: tuple[str, int], mine: Any, theirs: Any) -> None:
        self.dot = dot
        self.mine = mine
        self.theirs = theirs
        super().__init__(
            f"dot {dot!r} carries {mine!r} here but {theirs!r} in the merged state: two "
            f"writers share the replica id {dot[0]!r}; give every writer its own replica id"
        )
