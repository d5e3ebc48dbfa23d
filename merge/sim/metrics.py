"""What a simulation measures: counters, staleness per update, steps to converge."""

from __future__ import annotations

import copyreg
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from merge.sim.clock import SimulatedTime
from merge.sim.replica import Replica

__all__ = ["Metrics", "SettleError", "Staleness", "check_count"]


def check_count(name: str, value: object) -> None:
    """ValueError naming ``name`` unless ``value`` is an int >= 0."""
    if type(value) is not int or value < 0:
        raise ValueError(f"{name} must be an int >= 0, not {value!r}")


@dataclass(frozen=True)
class Metrics:
    """Counters of a run (a snapshot: :attr:`Network.metrics` builds a new one each time).

    Staleness is measured per update: the simulated time from an update's creation at one
    replica to the moment another replica's state includes it. ``staleness_max_ms`` and
    ``staleness_mean_ms`` give, per replica, the worst and mean lag over updates made
    elsewhere; an update not yet visible there counts with its age so far.
    ``steps_to_converge`` counts steps from the last ``heal()`` until every replica includes
    every update made before it — with no updates after the heal, until all replicas are
    equal (None before a heal, and until then). Bytes are counted once per message
    sent, duplicates not included. ``drift_retries`` counts deliveries deferred because a
    stamp was too far ahead of the receiver's clock (each is retried once it has caught up).
    """

    steps: int
    time_ms: int
    updates: int
    messages_sent: int
    messages_delivered: int
    messages_dropped: int
    messages_duplicated: int
    bytes_sent: int
    acks_sent: int
    full_states_sent: int
    drift_retries: int
    steps_to_converge: int | None
    staleness_max_ms: dict[str, int]
    staleness_mean_ms: dict[str, float]

    @property
    def max_staleness_ms(self) -> int:
        """The worst lag of any update at any replica."""
        return max(self.staleness_max_ms.values(), default=0)

    @property
    def bytes_per_update(self) -> float:
        """Bytes on the wire per update made (0.0 when there were none)."""
        return self.bytes_sent / self.updates if self.updates else 0.0

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field and the two derived figures."""
        result = asdict(self)
        result["max_staleness_ms"] = self.max_staleness_ms
        result["bytes_per_update"] = round(self.bytes_per_update, 2)
        return result


class SettleError(RuntimeError):
    """``Network.settle`` ran out of steps before the replicas converged and went quiet.

    ``steps`` is how many steps it ran and ``reasons`` what stood in the way.
    """

    def __init__(self, steps: int, reasons: Sequence[str]) -> None:
        self.steps = steps
        self.reasons = tuple(reasons)
        why = "; ".join(self.reasons) or "anti-entropy did not finish"
        super().__init__(f"replicas did not settle within {steps} steps: {why}")

    def __reduce__(self) -> tuple[Any, ...]:
        # pickles with its attributes (the default would call __init__ with the message)
        newobj = copyreg.__newobj__  # type: ignore[attr-defined]  # not in typeshed
        return (newobj, (type(self), *self.args), self.__dict__)


class Staleness:
    """The updates made so far and how late each replica saw those made elsewhere.

    Updates are numbered in the order made; ``updates[n]`` is ``(created_ms, origin)``.

    Cost: :meth:`see` is O(k) for k newly seen updates; :meth:`oldest_unseen` is amortised
    O(1) (a replica's seen set only grows between restarts).
    """

    def __init__(self, ids: Iterable[str], time: SimulatedTime) -> None:
        ids = list(ids)
        self.time = time
        self.updates: list[tuple[int, str]] = []
        self._lag_max: dict[str, int] = dict.fromkeys(ids, 0)
        self._lag_sum: dict[str, int] = dict.fromkeys(ids, 0)
        self._lag_count: dict[str, int] = dict.fromkeys(ids, 0)
        self._healed_at: int | None = None
        self._healed_at_updates = 0
        self.steps_to_converge: int | None = None

    def record(self, origin: Replica) -> int:
        """Number a new update made at ``origin`` now (it has seen it); return the number."""
        number = len(self.updates)
        self.updates.append((self.time.ms, origin.id))
        origin._seen.add(number)
        return number

    def oldest_unseen(self, replica: Replica) -> int:
        """The lowest update number ``replica`` has not seen (``len(updates)`` if none)."""
        seen, number, made = replica._seen, replica._unseen_from, len(self.updates)
        while number < made and number in seen:
            number += 1
        replica._unseen_from = number  # seen sets only grow: never look below this again
        return number

    def see(self, replica: Replica, updates: frozenset[int]) -> None:
        """Record that ``replica`` now holds ``updates``, with the lag of each new one."""
        new = updates - replica._seen
        if not new:
            return
        replica._seen |= new
        now = self.time.ms
        rid = replica.id
        for number in new:
            created, origin = self.updates[number]
            if origin == rid:
                continue
            lag = now - created
            if lag > self._lag_max[rid]:
                self._lag_max[rid] = lag
            self._lag_sum[rid] += lag
            self._lag_count[rid] += 1

    def heal(self, replicas: Iterable[Replica]) -> None:
        """Start counting steps to converge from now."""
        self._healed_at = self.time.step
        self._healed_at_updates = len(self.updates)
        self.steps_to_converge = None
        self.track(replicas)

    def track(self, replicas: Iterable[Replica]) -> None:
        """Note the step at which every replica has every update made before the heal."""
        if self._healed_at is None or self.steps_to_converge is not None:
            return
        made = self._healed_at_updates
        for replica in replicas:
            if self.oldest_unseen(replica) < made:
                return
        self.steps_to_converge = self.time.step - self._healed_at

    def metrics(self, replicas: Mapping[str, Replica], counts: Mapping[str, int]) -> Metrics:
        """A :class:`Metrics` snapshot from these counters and the lags so far."""
        now = self.time.ms
        worst: dict[str, int] = {}
        mean: dict[str, float] = {}
        for replica_id, replica in replicas.items():
            lag_max = self._lag_max[replica_id]
            lag_sum = self._lag_sum[replica_id]
            lag_count = self._lag_count[replica_id]
            for number in range(self.oldest_unseen(replica), len(self.updates)):
                created, origin = self.updates[number]
                if origin != replica_id and number not in replica._seen:
                    age = now - created
                    lag_max = max(lag_max, age)
                    lag_sum += age
                    lag_count += 1
            worst[replica_id] = lag_max
            mean[replica_id] = round(lag_sum / lag_count, 3) if lag_count else 0.0
        return Metrics(
            steps=self.time.step,
            time_ms=now,
            updates=len(self.updates),
            messages_sent=counts["sent"],
            messages_delivered=counts["delivered"],
            messages_dropped=counts["dropped"],
            messages_duplicated=counts["duplicated"],
            bytes_sent=counts["bytes"],
            acks_sent=counts["acks"],
            full_states_sent=counts["full_states"],
            drift_retries=counts["drift_retries"],
            steps_to_converge=self.steps_to_converge,
            staleness_max_ms=worst,
            staleness_mean_ms=mean,
        )
