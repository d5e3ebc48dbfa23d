"""The hybrid logical clock's timestamp: ``Timestamp(wall, logical, node)``.

Its own module so that ``clocks.errors`` (whose ``ClockDriftError`` carries one) and
``clocks.hlc`` (which issues them) both depend on it, and not on each other.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Timestamp"]

# walls are below 2**48 (milliseconds: year 10889), counters at most 0xFFFF: a stamp packs
# into 64 bits (see Timestamp.pack); clocks.hlc checks against the same bounds
_WALL_LIMIT = 1 << 48
_LOGICAL_MAX = 0xFFFF
_PACKED_LIMIT = 1 << 64


class Timestamp(NamedTuple):
    """A hybrid logical clock reading: physical ``wall`` time, ``logical`` counter, ``node``.

    Timestamps are totally ordered as tuples, by ``wall``, then ``logical``, then ``node``
    (the node id breaks ties, e.g. for last-writer-wins). ``pack`` gives the compact 64-bit
    form from the paper: 48 bits of wall time above a 16-bit counter, whose integer order
    equals the ``(wall, logical)`` order.

    Examples:
        >>> from clocks import Timestamp
        >>> Timestamp(5, 0, "b") < Timestamp(5, 1, "a") < Timestamp(6, 0, "a")
        True
        >>> Timestamp(5, 2, "a").pack()
        327682
        >>> Timestamp.unpack(327682, "a")
        Timestamp(wall=5, logical=2, node='a')

    Cost: O(1) to compare, pack and unpack. State size: O(1).
    """

    wall: int
    """Physical time in the unit of the issuing clock (milliseconds by default)."""
    logical: int
    """Counter ordering events that share ``wall``; at most 0xFFFF when issued by an HLC."""
    node: str
    """Id of the node that issued the timestamp."""

    def pack(self) -> int:
        """Return ``(wall << 16) | logical``, a non-negative integer below 2**64.

        The node id is not included; pass it to ``unpack`` to restore it.

        Raises:
            TypeError: ``wall`` or ``logical`` is not an ``int``.
            ValueError: ``wall`` is outside ``[0, 2**48)`` or ``logical`` outside
                ``[0, 2**16)``.

        Examples:
            >>> from clocks import Timestamp
            >>> hex(Timestamp(1, 0xFFFF, "a").pack())
            '0x1ffff'

        Cost: O(1).
        """
        wall, logical = self.wall, self.logical
        for name, value in (("wall", wall), ("logical", logical)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{name} must be an int to pack, got {type(value).__name__}")
        if not 0 <= wall < _WALL_LIMIT:
            raise ValueError(
                f"wall {wall} does not fit in 48 bits; pack needs 0 <= wall < 2**48 "
                "(milliseconds since the Unix epoch fit until the year 10889)"
            )
        if not 0 <= logical <= _LOGICAL_MAX:
            raise ValueError(
                f"logical {logical} does not fit in 16 bits; pack needs 0 <= logical < 2**16"
            )
        return (wall << 16) | logical

    @classmethod
    def unpack(cls, packed: int, node: str = "") -> Timestamp:
        """Rebuild a timestamp from ``pack``'s integer, attaching ``node``.

        Args:
            packed: An integer in ``[0, 2**64)``.
            node: The node id to attach (the packed form does not carry it).

        Raises:
            TypeError: ``packed`` is not an ``int``.
            ValueError: ``packed`` is outside ``[0, 2**64)``.

        Examples:
            >>> from clocks import Timestamp
            >>> Timestamp.unpack(Timestamp(1_700_000_000_000, 3, "a").pack(), "a")
            Timestamp(wall=1700000000000, logical=3, node='a')

        Cost: O(1).
        """
        if not isinstance(packed, int) or isinstance(packed, bool):
            raise TypeError(f"packed must be an int, got {type(packed).__name__} {packed!r}")
        if not 0 <= packed < _PACKED_LIMIT:
            raise ValueError(f"packed {packed} is outside [0, 2**64); it was not made by pack()")
        return cls(packed >> 16, packed & _LOGICAL_MAX, node)
