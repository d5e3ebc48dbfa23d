"""The WARS protocol event by event: a check on the vectorised PBS rule.

[`pbs`][merge.lab.pbs] applies a closed rule to each trial's delays. ``simulate_quorum`` plays
the same protocol out as messages instead: a coordinator sends a write to all ``n``
replicas, commits on the ``w``-th acknowledgement, sends a read to all ``n`` replicas
``t_ms`` after the commit and answers with the first ``r`` replies. The read is consistent
if one of those replies came from a replica that had received the write when it served the
read. Fed the same [`WARSDelays`][merge.lab.WARSDelays], the two agree trial for trial: this
is the validation the PBS paper ran against its own Cassandra instrumentation.

Time is continuous (float milliseconds) and events are processed in time order from a heap.
The simulation core's clock (``merge.sim.clock``) steps in 10 ms, far coarser than the
sub-millisecond WARS delays, so this module keeps its own clock.

**Tie rule.** Events at the same instant are processed in a fixed order: write deliveries
to replicas, then read requests reaching replicas, then acknowledgements and replies
reaching the coordinator; within a kind, by replica index. So a replica that receives the
write at exactly the instant the read request reaches it serves the write, matching the
``>=`` of the vectorised rule (``commit + t + R >= W``), and replies arriving together
count in replica order. Under continuous latency laws exact ties, and the last-bit rounding
differences between the two computations (absolute event times here, differences there),
occur with probability indistinguishable from zero.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

from merge.lab._numpy import require_numpy
from merge.lab.errors import LabConfigError
from merge.lab.latency import WARSDelays
from merge.lab.staleness import _quorums, _time

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["QuorumResult", "simulate_quorum", "simulate_read_repair"]

# Event kinds, in the order they are processed at equal times (the tie rule).
_WRITE_ARRIVES = 0  # coordinator -> replica: the write
_READ_ARRIVES = 1  # coordinator -> replica: the read request
_ACK = 2  # replica -> coordinator: the write acknowledgement
_REPLY = 3  # replica -> coordinator: the read reply (fresh or stale)
_REPAIR_ARRIVES = 0  # coordinator -> replica: the write again, from read repair (as a write)
_REPAIR_ACK = 2  # replica -> coordinator: the repair acknowledgement (as an ack)


class QuorumResult:
    """Per-trial outcomes of ``simulate_quorum``, as read-only numpy arrays of length trials.

    ``consistent[i]`` says whether trial ``i``'s read saw the write, ``commit_ms[i]`` when the
    write committed (its latency) and ``read_ms[i]`` how long the read took.
    """

    __slots__ = ("commit_ms", "consistent", "n", "r", "read_ms", "t_ms", "w")

    def __init__(
        self,
        *,
        n: int,
        r: int,
        w: int,
        t_ms: float,
        consistent: NDArray[np.bool_],
        commit_ms: NDArray[np.float64],
        read_ms: NDArray[np.float64],
    ) -> None:
        self.n, self.r, self.w, self.t_ms = n, r, w, t_ms
        self.consistent, self.commit_ms, self.read_ms = consistent, commit_ms, read_ms
        for array in (consistent, commit_ms, read_ms):
            array.flags.writeable = False

    @property
    def trials(self) -> int:
        """How many trials (write then read) were simulated."""
        return int(self.consistent.size)

    def p_consistent(self) -> float:
        """The fraction of trials whose read saw the write. Cost: O(trials)."""
        return float(self.consistent.mean())

    def __repr__(self) -> str:
        return (
            f"<QuorumResult n={self.n} r={self.r} w={self.w} t_ms={self.t_ms:g} "
            f"trials={self.trials}: P(consistent)={self.p_consistent():.4f}>"
        )


def simulate_quorum(delays: WARSDelays, *, r: int, w: int, t_ms: float = 0.0) -> QuorumResult:
    """Play each trial of ``delays`` (shape ``(trials, n)``) out as messages, in time order.

    For replica ``i`` of a trial, the write reaches it after ``delays.w[., i]`` ms and its
    acknowledgement takes ``delays.a[., i]``; the read request, sent ``t_ms`` after the
    commit, takes ``delays.r[., i]`` and the reply ``delays.s[., i]``. The write keeps
    travelling to every replica after it commits (an expanding quorum), as in PBS. Equal
    times follow the module's tie rule. ``PBSResult.from_delays(delays, r=r, w=w)`` gives the
    same verdicts: ``consistent_after_ms <= t_ms``.

    Examples:
        >>> import numpy as np
        >>> from merge.lab import WARS, PBSResult
        >>> delays = WARS.fit("lnkd-disk").sample(np.random.default_rng(1), trials=2_000, n=3)
        >>> events = simulate_quorum(delays, r=1, w=1, t_ms=1.0)
        >>> rule = PBSResult.from_delays(delays, r=1, w=1).consistent_after_ms <= 1.0
        >>> bool((events.consistent == rule).all()), round(events.p_consistent(), 2)
        (True, 0.58)
        >>> simulate_quorum(delays, r=2, w=2).p_consistent()   # strict: never stale
        1.0

    Cost: O(trials * n log n) in pure Python, at most 4n events per trial.
    """
    require_numpy()
    import numpy as np

    if not isinstance(delays, WARSDelays) or delays.w.ndim != 2:
        raise LabConfigError("delays", delays, "must be WARSDelays of shape (trials, n)")
    n, r, w = _quorums(delays.w.shape[1], r, w)
    t_ms = _time("t_ms", t_ms)
    write, ack, read, reply = (d.tolist() for d in delays)
    trials = len(write)
    consistent = np.empty(trials, dtype=bool)
    commit_ms = np.empty(trials, dtype=np.float64)
    read_ms = np.empty(trials, dtype=np.float64)
    for trial in range(trials):
        fresh, commit, done = _trial(
            n, r, w, t_ms, write[trial], ack[trial], read[trial], reply[trial]
        )
        consistent[trial], commit_ms[trial], read_ms[trial] = fresh, commit, done - commit - t_ms
    return QuorumResult(
        n=n, r=r, w=w, t_ms=t_ms, consistent=consistent, commit_ms=commit_ms, read_ms=read_ms
    )


def _trial(
    n: int,
    r: int,
    w: int,
    t_ms: float,
    write: list[float],
    ack: list[float],
    read: list[float],
    reply: list[float],
) -> tuple[bool, float, float]:
    """One trial: (read saw the write, commit time, time the r-th reply arrived)."""
    has_write = [False] * n
    # (time, kind, replica, fresh): kind then replica break ties; fresh rides along on replies
    events: list[tuple[float, int, int, bool]] = [
        (write[i], _WRITE_ARRIVES, i, False) for i in range(n)
    ]
    heapq.heapify(events)
    acks = replies = 0
    commit = 0.0
    fresh = False
    while events:
        now, kind, replica, carried = heapq.heappop(events)
        if kind == _WRITE_ARRIVES:
            has_write[replica] = True
            heapq.heappush(events, (now + ack[replica], _ACK, replica, False))
        elif kind == _ACK:
            acks += 1
            if acks == w:
                commit = now
                start = now + t_ms
                for i in range(n):
                    heapq.heappush(events, (start + read[i], _READ_ARRIVES, i, False))
        elif kind == _READ_ARRIVES:
            heapq.heappush(events, (now + reply[replica], _REPLY, replica, has_write[replica]))
        else:
            replies += 1
            fresh = fresh or carried
            if replies == r:
                return fresh, commit, now
    raise AssertionError("unreachable: every read gets n replies")  # pragma: no cover


def simulate_read_repair(
    delays: WARSDelays,
    again: WARSDelays,
    *,
    r: int,
    w: int,
    t_ms: float = 0.0,
    repair: bool = True,
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Two reads in a row, with or without blocking read repair: (first, second) verdicts.

    Each trial runs as in ``simulate_quorum`` on ``delays``, then the client issues a second
    read the moment the first returns; ``again`` (the same shape) supplies that read's
    request and reply delays (``again.r``, ``again.s``) and the repair messages' delays
    (``again.w`` out, ``again.a`` back). With ``repair``, a first read that saw the write
    pushes it to every replica that has not answered it with the write, and returns only
    when all of them have acknowledged (blocking read repair), so the second read is never
    staler than the first. Without it the second read is an independent draw and can be
    stale after a fresh first read. Replicas keep the write once they have it.

    Examples:
        >>> import numpy as np
        >>> from merge.lab import WARS
        >>> rng = np.random.default_rng(2)
        >>> model = WARS.fit("lnkd-disk")
        >>> delays, again = (model.sample(rng, trials=2_000, n=3) for _ in range(2))
        >>> first, second = simulate_read_repair(delays, again, r=1, w=1)
        >>> bool((second >= first).all())      # with repair: never staler
        True
        >>> first, second = simulate_read_repair(delays, again, r=1, w=1, repair=False)
        >>> bool((second >= first).all())      # without: fresh, then stale, sometimes
        False

    Cost: O(trials * n log n) in pure Python, at most 8n events per trial.
    """
    require_numpy()
    import numpy as np

    for name, value in (("delays", delays), ("again", again)):
        if not isinstance(value, WARSDelays) or value.w.ndim != 2:
            raise LabConfigError(name, value, "must be WARSDelays of shape (trials, n)")
    if again.w.shape != delays.w.shape:
        raise LabConfigError("again", again.w.shape, f"must have the shape {delays.w.shape}")
    n, r, w = _quorums(delays.w.shape[1], r, w)
    t_ms = _time("t_ms", t_ms)
    first = np.empty(delays.w.shape[0], dtype=bool)
    second = np.empty(delays.w.shape[0], dtype=bool)
    rows = zip(*(d.tolist() for d in delays), *(d.tolist() for d in again), strict=True)
    for trial, row in enumerate(rows):
        first[trial], second[trial] = _two_reads(n, r, w, t_ms, repair, *row)
    return first, second


def _two_reads(
    n: int,
    r: int,
    w: int,
    t_ms: float,
    repair: bool,
    write: list[float],
    ack: list[float],
    read: list[float],
    reply: list[float],
    repair_out: list[float],
    repair_back: list[float],
    read_2: list[float],
    reply_2: list[float],
) -> tuple[bool, bool]:
    """One trial of ``simulate_read_repair``: (first read fresh, second read fresh)."""
    has_write = [False] * n
    answered_fresh = [False] * n
    # (time, kind, replica, fresh, which read/message: 0 write, 1 first read, 2 repair, 3 second)
    events: list[tuple[float, int, int, bool, int]] = [
        (write[i], _WRITE_ARRIVES, i, False, 0) for i in range(n)
    ]
    heapq.heapify(events)
    acks = replies = replies_2 = pending_repairs = 0
    fresh = fresh_2 = False

    def read_again(now: float) -> None:
        for i in range(n):
            heapq.heappush(events, (now + read_2[i], _READ_ARRIVES, i, False, 3))

    while events:
        now, kind, replica, carried, tag = heapq.heappop(events)
        if kind == _WRITE_ARRIVES:  # the write, or a repair carrying it
            has_write[replica] = True
            if tag == 0:
                heapq.heappush(events, (now + ack[replica], _ACK, replica, False, 0))
            else:
                back = now + repair_back[replica]
                heapq.heappush(events, (back, _REPAIR_ACK, replica, False, 2))
        elif kind == _ACK and tag == 0:
            acks += 1
            if acks == w:
                for i in range(n):
                    heapq.heappush(events, (now + t_ms + read[i], _READ_ARRIVES, i, False, 1))
        elif kind == _ACK:  # a repair acknowledgement: the first read returns after the last
            pending_repairs -= 1
            if pending_repairs == 0:
                read_again(now)
        elif kind == _READ_ARRIVES:
            late = reply[replica] if tag == 1 else reply_2[replica]
            heapq.heappush(events, (now + late, _REPLY, replica, has_write[replica], tag))
        elif tag == 1:
            replies += 1
            if replies > r:  # a late reply to the first read: it has already returned
                continue
            answered_fresh[replica] = carried
            fresh = fresh or carried
            if replies < r:
                continue
            stale = [i for i in range(n) if not answered_fresh[i]] if repair and fresh else []
            for i in stale:
                heapq.heappush(events, (now + repair_out[i], _REPAIR_ARRIVES, i, False, 2))
            pending_repairs = len(stale)
            if not stale:
                read_again(now)
        else:  # a reply to the second read
            replies_2 += 1
            fresh_2 = fresh_2 or carried
            if replies_2 == r:
                return fresh, fresh_2
    raise AssertionError("unreachable: every read gets n replies")  # pragma: no cover
