"""The four answers to "how do two causal histories relate?".

A vector clock (and every causal context built on one) is partially ordered: two histories
can be equal, one can precede the other, or neither contains the other. ``Order`` names those
outcomes so that callers branch on a value instead of on pairs of booleans.
"""

import enum

__all__ = ["Order"]


class Order(enum.Enum):
    """How one causal history relates to another, as answered by ``compare``.

    ``BEFORE`` and ``AFTER`` are read from the receiver's point of view:
    ``a.compare(b) is Order.BEFORE`` means every event ``a`` has seen, ``b`` has seen too,
    and ``b`` has seen more.

    Examples:
        >>> from clocks import Order, VectorClock
        >>> VectorClock({"a": 1}).compare(VectorClock({"a": 2}))
        <Order.BEFORE: 'before'>
        >>> VectorClock({"a": 1}).compare(VectorClock({"b": 1})) is Order.CONCURRENT
        True

    Cost: O(1) per comparison of two members. State size: O(1).
    """

    BEFORE = "before"
    """The receiver happened before the argument (the argument descends from it)."""
    AFTER = "after"
    """The receiver happened after the argument (it descends from the argument)."""
    EQUAL = "equal"
    """Both describe the same history."""
    CONCURRENT = "concurrent"
    """Neither has seen all of the other's events."""
