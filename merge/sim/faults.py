"""What a simulated network does to messages: loss, duplication, delay and reordering."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["REORDER_MAX_STEPS", "Faults", "check_probability"]

#: A reordered message is held back by 1 to this many extra steps.
REORDER_MAX_STEPS = 5


def check_probability(name: str, value: object) -> float:
    """``value`` as a float in ``[0, 1]``; TypeError or ValueError naming ``name`` if not."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a probability (a float), not {type(value).__name__}")
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be between 0.0 and 1.0, not {value!r}")
    return float(value)


@dataclass(frozen=True)
class Faults:
    """What the network does to messages; probabilities apply to each message independently.

    Args:
        drop: probability that a message is lost.
        duplicate: probability that a message is delivered twice (each copy has its own delay).
        reorder: probability that a message is held back 1 to :data:`REORDER_MAX_STEPS`
            extra steps, so that later messages overtake it.
        delay: ``(min, max)`` steps between sending and delivery, drawn uniformly (``min >= 1``).
        latency: if given, replaces ``delay``: ``latency(sender, receiver, kind)`` returns each
            message's (and each duplicate's) delay in steps, an int >= 1, from a source of the
            caller's (``kind`` is ``"delta"``, ``"state"`` or ``"ack"``). The lab draws it from
            a latency law (``merge.lab.simulate_crdt_replicas``). Set
            ``SimConfig.retransmit_after`` with it: its default reads ``delay``.

    Examples:
        >>> Faults(drop=0.1, delay=(1, 3))
        Faults(drop=0.1, duplicate=0.0, reorder=0.0, delay=(1, 3))
        >>> Faults(drop=2)
        Traceback (most recent call last):
        ...
        ValueError: drop must be between 0.0 and 1.0, not 2
    """

    drop: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    delay: tuple[int, int] = (1, 1)
    latency: Callable[[str, str, str], int] | None = None

    def __repr__(self) -> str:
        shown = (
            f"drop={self.drop!r}, duplicate={self.duplicate!r}, reorder={self.reorder!r}, "
            f"delay={self.delay!r}"
        )
        if self.latency is not None:
            shown += f", latency={self.latency!r}"
        return f"Faults({shown})"

    def __post_init__(self) -> None:
        for name in ("drop", "duplicate", "reorder"):
            check_probability(name, getattr(self, name))
        delay = self.delay
        if (
            not isinstance(delay, tuple)
            or len(delay) != 2
            or not all(type(bound) is int for bound in delay)
        ):
            raise TypeError(f"delay must be a (min, max) tuple of ints, not {delay!r}")
        if not 1 <= delay[0] <= delay[1]:
            raise ValueError(f"delay must satisfy 1 <= min <= max (in steps), not {delay!r}")
        if self.latency is not None and not callable(self.latency):
            raise TypeError(f"latency must be None or a callable, not {self.latency!r}")
