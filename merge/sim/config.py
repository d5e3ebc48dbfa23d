"""How a simulation is set up: one frozen, validated :class:`SimConfig`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypedDict

from crdts import CRDT
from merge.sim.clock import CLOCK_ORIGIN_MS
from merge.sim.faults import Faults
from merge.sim.sync import SYNC_PROTOCOLS

__all__ = ["SimConfig", "SimOptions", "replica_ids", "template_of"]


class SimOptions(TypedDict, total=False):
    """The keyword options of :class:`SimConfig`, as ``Network(...)`` accepts them."""

    sync: str
    faults: Faults | None
    seed: int
    clock_skew: Mapping[str, int] | None
    interval: int
    fanout: int
    buffer_limit: int | None
    retransmit_after: int | None
    relay: bool


@dataclass(frozen=True)
class SimConfig:
    """Everything that shapes a run besides the type and the replica ids.

    Args:
        sync: the name of a sync protocol in :data:`~merge.sim.sync.SYNC_PROTOCOLS`:
            ``"delta"`` (acknowledged delta intervals) or ``"state"`` (full-state gossip).
        faults: what happens to messages (default: nothing, one step of delay).
        seed: seeds every random choice.
        clock_skew: ``{replica: milliseconds}`` added to that replica's clock reading.
        interval: steps between a replica's anti-entropy rounds.
        fanout: peers each replica gossips its state to per round (state sync).
        buffer_limit: most deltas a replica buffers (delta sync); older ones are evicted and
            a peer that still needs them gets the full state. None: unbounded.
        retransmit_after: steps to wait for an ack before re-sending an unchanged interval
            (delta sync). Default: ``2 * faults.delay[1] + interval``.
        relay: re-propagate received deltas (delta sync; Algorithm 2).

    Examples:
        >>> SimConfig(sync="state", seed=3).fanout
        1
        >>> SimConfig(sync="gossip")
        Traceback (most recent call last):
        ...
        ValueError: sync must be 'delta' or 'state', not 'gossip'
    """

    sync: str = "delta"
    faults: Faults = field(default_factory=Faults)
    seed: int = 0
    clock_skew: Mapping[str, int] = field(default_factory=dict, hash=False)
    interval: int = 2
    fanout: int = 1
    buffer_limit: int | None = None
    retransmit_after: int | None = None
    relay: bool = True

    def __init__(
        self,
        *,
        sync: str = "delta",
        faults: Faults | None = None,
        seed: int = 0,
        clock_skew: Mapping[str, int] | None = None,
        interval: int = 2,
        fanout: int = 1,
        buffer_limit: int | None = None,
        retransmit_after: int | None = None,
        relay: bool = True,
    ) -> None:
        if sync not in SYNC_PROTOCOLS:
            names = " or ".join(repr(name) for name in SYNC_PROTOCOLS)
            raise ValueError(f"sync must be {names}, not {sync!r}")
        faults = faults if faults is not None else Faults()
        if not isinstance(faults, Faults):
            raise TypeError(f"faults must be a Faults, not {type(faults).__name__}")
        for name, number, least in (("interval", interval, 1), ("fanout", fanout, 1)):
            if type(number) is not int or number < least:
                raise ValueError(f"{name} must be an int >= {least}, not {number!r}")
        if buffer_limit is not None and (type(buffer_limit) is not int or buffer_limit < 1):
            raise ValueError(f"buffer_limit must be None or an int >= 1, not {buffer_limit!r}")
        if retransmit_after is not None and (
            type(retransmit_after) is not int or retransmit_after < 1
        ):
            raise ValueError(
                f"retransmit_after must be None or an int >= 1, not {retransmit_after!r}"
            )
        skews = dict(clock_skew or {})
        for skew in skews.values():
            if type(skew) is not int or abs(skew) > CLOCK_ORIGIN_MS:
                raise ValueError(
                    f"clock skew must be an int of milliseconds within "
                    f"±{CLOCK_ORIGIN_MS}, not {skew!r}"
                )
        if type(seed) is not int:
            # random.Random(None) would seed from the OS: the run would not be reproducible
            raise TypeError(f"seed must be an int, not {type(seed).__name__}")
        values: dict[str, Any] = {
            "sync": sync,
            "faults": faults,
            "seed": seed,
            "clock_skew": MappingProxyType(skews),
            "interval": interval,
            "fanout": fanout,
            "buffer_limit": buffer_limit,
            "retransmit_after": retransmit_after,
            "relay": bool(relay),
        }
        for name, value in values.items():
            object.__setattr__(self, name, value)

    @property
    def retransmit_wait(self) -> int:
        """Steps to wait for an ack before re-sending (``retransmit_after`` or its default)."""
        if self.retransmit_after is not None:
            return self.retransmit_after
        return 2 * self.faults.delay[1] + self.interval


def template_of(crdt_type: Any) -> CRDT:
    """An unbound instance every replica starts as a copy of."""
    if isinstance(crdt_type, CRDT):
        return crdt_type.copy(replica=None)
    if isinstance(crdt_type, type) and issubclass(crdt_type, CRDT):
        try:
            return crdt_type()
        except TypeError as error:
            raise TypeError(
                f"{crdt_type.__name__} needs configuration: pass an unbound instance as a "
                f"template, e.g. Network(ORMap(ORSet)) ({error})"
            ) from None
    raise TypeError(
        f"crdt_type must be a CRDT class or an unbound CRDT instance, not {crdt_type!r}"
    )


def replica_ids(replicas: int | Sequence[str]) -> list[str]:
    """The replica ids for a count (``r0``, ``r1``, ...) or a list of ids, checked."""
    if isinstance(replicas, bool):
        raise TypeError("replicas must be a count or a list of replica ids")
    if isinstance(replicas, int):
        if replicas < 1:
            raise ValueError(f"replicas must be at least 1, not {replicas}")
        return [f"r{index}" for index in range(replicas)]
    if isinstance(replicas, str) or not isinstance(replicas, Sequence):
        raise TypeError("replicas must be a count or a list of replica ids, e.g. ['a', 'b']")
    ids = list(replicas)
    if not ids:
        raise ValueError("replicas must name at least one replica")
    for replica_id in ids:
        if not isinstance(replica_id, str) or not replica_id:
            raise TypeError(f"replica ids must be non-empty strings, not {replica_id!r}")
    if len(set(ids)) != len(ids):
        raise ValueError(f"replica ids must be distinct: {ids!r}")
    return ids
