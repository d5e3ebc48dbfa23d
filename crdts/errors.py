"""The exceptions of ``crdts``.

One root, ``CRDTError``; each leaf also subclasses the built-in exception a caller would
naturally catch, and carries its evidence as attributes.
"""

from __future__ import annotations

import copyreg
from typing import Any

__all__ = [
    "CRDTError",
    "DecodeError",
    "DotConflictError",
    "RetiredWriterError",
    "UnboundReplicaError",
]


class CRDTError(Exception):
    """Root of every exception raised by ``crdts``. Every one pickles with its
    attributes, so it can cross a process boundary."""

    def __reduce__(self) -> tuple[Any, ...]:
        # rebuild from the message and the attributes, not by calling __init__ again with
        # the message as its arguments: every subclass pickles with its evidence intact
        newobj = copyreg.__newobj__  # type: ignore[attr-defined]  # not in typeshed
        return (newobj, (type(self), *self.args), self.__dict__)


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
            f"pass replica= when creating it or use .copy(replica=...) (a value nested in a "
            f"map is written only inside map.update(key, fn))"
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
            f"writers share the replica id {dot[0]!r}; give every writer its own id (binding "
            f"with replica= mints a fresh incarnation: never reuse an explicit one)"
        )


class RetiredWriterError(CRDTError, ValueError):
    """A merge met data written by a retired writer after its retirement.

    Retiring a writer folds everything it wrote, up to a high-water mark, into a live writer
    and drops its id. Data from that id beyond the mark means the writer kept writing after
    it was retired (a process that was presumed gone), or that the retirement was performed
    before every replica's updates had reached the retiring replica. The merge is refused and
    the state left unchanged: those updates would otherwise be silently lost or counted twice.
    """

    def __init__(self, writer: str, high_water: Any, seen: Any) -> None:
        self.writer = writer
        self.high_water = high_water
        self.seen = seen
        super().__init__(
            f"writer {writer!r} was retired at {high_water!r} but data from it reaches "
            f"{seen!r}: "
            f"it wrote after its retirement; stop that process (bind a fresh writer with "
            f"decode(snapshot, replica=...)) and retire writers only once every replica has "
            f"shipped its state to the retiring replica"
        )
