"""What the last-writer-wins types share: an HLC that stamps writes and observes merged
stamps (see :mod:`crdts.lww`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Self

from clocks import HLC, Timestamp
from crdts._base import _KEEP, CRDT, locked
from crdts._identity import name_of
from crdts._wire import (
    check_timestamp,
)

__all__: list[str] = []

# -- the shared stamping machinery -----------------------------------------------------------


def _check_clock(clock: object, replica: str | None) -> HLC:
    if not isinstance(clock, HLC):
        raise TypeError(
            f"clock must be a clocks.HLC, not {type(clock).__name__}; "
            f"pass clock=HLC(replica, now=...) or leave it out"
        )
    if replica is not None and clock.node != replica:
        raise ValueError(
            f"clock node {clock.node!r} differs from replica {replica!r}: its timestamps "
            f"would name another writer; pass clock=HLC({replica!r}, ...)"
        )
    return clock


class _Stamped(CRDT):
    """What the LWW types share: an HLC that stamps writes and observes merged stamps.

    A bound instance owns a clock (``HLC(replica)`` unless ``clock=`` is given); an unbound
    one (a delta, a decoded message) has none unless given one, and observes nothing.
    """

    __slots__ = ("_clock",)

    def __init__(self, *, replica: str | None = None, clock: HLC | None = None) -> None:
        super().__init__(replica=replica)
        if clock is not None:
            clock = _check_clock(clock, self.replica)
        elif self._replica is not None:
            clock = HLC(self.replica)  # type: ignore[arg-type]  # bound: a name
        self._clock: HLC | None = clock

    @property
    @locked
    def clock(self) -> HLC | None:
        """The hybrid logical clock that stamps this replica's writes (None if unbound)."""
        return self._bound_clock() if self._replica is not None else self._clock

    def _bound_clock(self) -> HLC:
        """This writer's clock, created on first use if the replica was bound without one."""
        clock = self._clock
        if clock is None:
            clock = self._clock = HLC(name_of(self._writer()))
        return clock

    def _stamp(self, timestamp: Timestamp | None) -> Timestamp:
        """The stamp of a local write: ``timestamp`` if given (validated), else the clock's.

        An explicit stamp must fit ``Timestamp.pack`` (48-bit wall, 16-bit logical) and be
        no more than the clock's ``max_offset`` ahead of its physical time
        (``ClockDriftError`` otherwise): every peer would refuse to merge a state holding it
        until its physical time caught up, and that state's other entries with it.
        Callers have checked that this instance is bound (``_writer``).
        """
        if timestamp is not None:
            self._bound_clock().check_drift(check_timestamp(timestamp))
            return timestamp
        return self._bound_clock().now()

    def _observe(self, stamps: Iterable[Timestamp]) -> None:
        """Observe the largest of ``stamps`` into the clock, so later writes order after it.

        Called by ``_merge`` before any state changes: a ``ClockDriftError`` (a stamp too far
        in the future) leaves the state unchanged.
        """
        clock = self._clock if self._replica is None else self._bound_clock()
        if clock is None:
            return
        latest = max(stamps, default=None)
        if latest is not None:
            clock.update(latest)

    @locked
    def copy(
        self,
        *,
        replica: str | None = _KEEP,
        incarnation: str | None = None,
        clock: HLC | None = None,
    ) -> Self:
        """Return an independent copy; ``replica=`` rebinds it, ``clock=`` sets its clock.

        A copy for the same replica shares its clock (one writer, one clock); a copy for
        another replica gets ``clock.fork(replica)``, reading the same time source (pass
        ``clock=`` to choose another); a read-only copy has no clock.
        """
        result = super().copy(replica=replica, incarnation=incarnation)
        if clock is not None:
            result._clock = _check_clock(clock, result.replica)
            result._advance_clock()
        return result

    def _rebind(self, source: Self) -> None:
        name = self.replica
        if name == source.replica:
            # one replica, one clock: a copy or a restore keeps stamping in order
            self._clock = source._clock if name is None else source._bound_clock()
        elif name is None:
            self._clock = None
        elif source._clock is None:
            self._clock = HLC(name)
        else:
            self._clock = source._clock.fork(name)
        self._advance_clock()

    def _advance_clock(self) -> None:
        """Move a bound clock past the state's newest stamp (a restored or forked writer
        must never stamp below what it already holds). O(n) for n stamps."""
        if self._replica is None or self._clock is None:
            return
        latest = max(self._stamps(), default=None)
        if latest is not None:
            self._clock.advance(latest)

    def _stamps(self) -> Iterable[Timestamp]:
        """Every timestamp the state holds."""
        raise NotImplementedError


def _check_stamp(stamp: object) -> None:
    # a stamp is a Timestamp with non-negative int parts that fit the wire and a str node
    assert check_timestamp(stamp) is stamp, stamp


# -- LWWRegister -----------------------------------------------------------------------------
