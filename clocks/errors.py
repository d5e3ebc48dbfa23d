"""Errors raised by the clocks package.

``ClockError`` is the root of everything the package raises on its own account; each leaf
also subclasses the built-in exception a caller would naturally catch, and carries the
evidence for the failure as attributes.
"""

from __future__ import annotations

import copyreg
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clocks.timestamp import Timestamp

__all__ = ["ClockDriftError", "ClockError"]


class ClockError(Exception):
    """Root of the errors raised by the clocks package.

    Examples:
        >>> from clocks import ClockDriftError, ClockError
        >>> issubclass(ClockDriftError, ClockError)
        True

    Every clock error pickles with its attributes, so it can cross a process boundary.

    Cost: O(1) to raise. State size: O(1).
    """

    def __reduce__(self) -> tuple[object, ...]:
        # rebuild from the message and the attributes, not by calling __init__ again with
        # the message as its arguments: every subclass pickles with its evidence intact
        newobj = copyreg.__newobj__  # type: ignore[attr-defined]  # not in typeshed
        return (newobj, (type(self), *self.args), self.__dict__)


class ClockDriftError(ClockError, ValueError):
    """A remote timestamp is further ahead of local physical time than ``max_offset`` allows.

    Raised by ``HLC.update`` before the clock is changed, so one node with a clock set far in
    the future cannot drag every clock it reaches forward (clock poisoning). The clock that
    raised is left exactly as it was.

    Attributes:
        remote: The rejected remote ``Timestamp``.
        physical: The local physical time read during the rejected update.
        max_offset: The bound that was exceeded, in the unit of the physical clock.

    Examples:
        >>> from clocks import HLC, ClockDriftError, Timestamp
        >>> clock = HLC("a", now=lambda: 1_000, max_offset=500)
        >>> try:
        ...     clock.update(Timestamp(2_000, 0, "b"))
        ... except ClockDriftError as error:
        ...     print(error.remote.wall - error.physical, error.max_offset)
        1000 500
        >>> clock.last
        Timestamp(wall=0, logical=0, node='a')

    Cost: O(1) to raise. State size: O(1).
    """

    remote: Timestamp
    physical: int
    max_offset: int

    def __init__(self, remote: Timestamp, physical: int, max_offset: int) -> None:
        """Record the rejected remote timestamp, the physical reading and the bound.

        Args:
            remote: The rejected remote timestamp.
            physical: The local physical time read during the update.
            max_offset: The bound on how far ahead a remote wall time may be.
        """
        self.remote = remote
        self.physical = physical
        self.max_offset = max_offset
        ahead = remote.wall - physical
        super().__init__(
            f"remote timestamp {tuple(remote)!r} from node {remote.node!r} is {ahead} ms ahead "
            f"of local physical time {physical}, more than max_offset={max_offset} allows; "
            "the clock was left unchanged. Check the remote node's clock (NTP), or raise "
            "max_offset if clocks in this deployment may legitimately differ by that much"
        )

    def __reduce__(self) -> tuple[type[ClockDriftError], tuple[Timestamp, int, int]]:
        """Pickle by the constructor arguments rather than the formatted message."""
        return (type(self), (self.remote, self.physical, self.max_offset))
