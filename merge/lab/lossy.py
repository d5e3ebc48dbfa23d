"""Message loss and retries in the WARS protocol: what a lost message costs a quorum.

[`simulate_quorum`][merge.lab.simulate_quorum] never loses a message.
``simulate_lossy_quorum`` plays the same protocol on the same
[`WARSDelays`][merge.lab.WARSDelays], on an [`EventLoop`][merge.lab.EventLoop], with every
message (write, acknowledgement, read request, reply) lost independently with probability
``loss``. The coordinator resends the write to every replica that has not acknowledged it
each ``timeout_ms`` until all ``n`` have (the quorum still expands after the commit), and the
read request to every replica that has not replied each ``timeout_ms`` until the read has
``r`` replies. A replica acknowledges every copy of the write it receives and answers every
read request with what it holds then; the coordinator counts one acknowledgement and one
reply per replica.

**A resent message takes the delay of the first attempt**: the trial's draw for that replica
and direction (the path, the replica's disk and queue are as slow as a moment earlier). So a
retry costs exactly the timeouts waited: replica ``i``'s first acknowledgement arrives at
``J * timeout_ms + W + A``, ``J`` the attempts lost before one whose write and acknowledgement
both got through (geometric, success probability ``(1 - loss) ** 2``). With ``loss=0`` the
verdicts and latencies are ``simulate_quorum``'s exactly, even when a slow message draws a
spurious resend (the original still arrives first). Losses are drawn from two seeded streams,
one for the write's messages and one for the read's, so a trial's losses do not depend on
``t_ms``: each trial records ``consistent_after_ms``, the smallest ``t`` at which its read
would have seen the write, and one run gives the whole t-visibility curve.

**Tie rule**, as in [`merge.lab.quorum`][merge.lab.quorum]: at equal times, write deliveries,
then read requests, then acknowledgements, then replies, each by replica index; a timeout
fires after every message due at its instant.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import Literal

from merge.lab._numpy import require_numpy
from merge.lab.catalog import scenario
from merge.lab.errors import LabConfigError
from merge.lab.events import EventLoop
from merge.lab.latency import FITS, WARS, WARSDelays
from merge.lab.lossy_results import LossyQuorumReport, LossyQuorumResult
from merge.lab.staleness import PBSResult, _count, _probability, _quorums, _time

# ``lossy_quorum`` is filed as the "lossy-quorum" scenario (merge.lab.scenarios())
__all__ = ["LossyQuorumReport", "LossyQuorumResult", "simulate_lossy_quorum"]

# event priorities at equal times (the tie rule), times n, plus the replica index
_WRITE_ARRIVES, _READ_ARRIVES, _ACK, _REPLY, _TIMEOUT = range(5)
#: A seed's stream of write losses and its stream of read losses are kept apart.
_READ_STREAM = 0x5EED


def simulate_lossy_quorum(
    delays: WARSDelays,
    *,
    r: int,
    w: int,
    t_ms: float = 0.0,
    loss: float = 0.0,
    timeout_ms: float = 50.0,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> LossyQuorumResult:
    """Play each trial of ``delays`` out as messages that may be lost and are resent.

    The protocol is ``simulate_quorum``'s (write to all ``n``, commit on the ``w``-th
    acknowledgement, read ``t_ms`` later, answer with the first ``r`` replies), with each
    message lost with probability ``loss`` (0 <= loss < 1) and resends every
    ``timeout_ms`` as the module describes. ``seed`` seeds the losses. ``progress(done,
    total)`` is called every 1,024 trials and at the end.

    Examples:
        >>> import numpy as np
        >>> from merge.lab import WARS, simulate_quorum
        >>> delays = WARS.fit("lnkd-disk").sample(np.random.default_rng(1), trials=2_000, n=3)
        >>> lossless = simulate_lossy_quorum(delays, r=1, w=1, t_ms=1.0)
        >>> plain = simulate_quorum(delays, r=1, w=1, t_ms=1.0)
        >>> bool((lossless.consistent == plain.consistent).all())
        True
        >>> lossy = simulate_lossy_quorum(delays, r=1, w=1, loss=0.1, timeout_ms=20.0)
        >>> round(lossy.messages_per_trial, 1), lossy.latency_ms("write", 0.999) > 20
        (12.9, True)

    Cost: O(trials * m log m) in pure Python for m messages per trial (``4n`` without loss,
    about ``4n / (1 - loss) ** 2`` with it).
    """
    require_numpy()
    import numpy as np

    if not isinstance(delays, WARSDelays) or delays.w.ndim != 2:
        raise LabConfigError("delays", delays, "must be WARSDelays of shape (trials, n)")
    n, r, w = _quorums(delays.w.shape[1], r, w)
    t_ms = _time("t_ms", t_ms)
    loss = _probability("loss", loss)
    if loss >= 1:
        raise LabConfigError("loss", loss, "must be < 1: with every message lost nothing commits")
    if not (isinstance(timeout_ms, int | float) and not isinstance(timeout_ms, bool)) or not (
        math.isfinite(timeout_ms) and timeout_ms > 0
    ):
        raise LabConfigError("timeout_ms", timeout_ms, "must be a finite number of ms > 0")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise LabConfigError("seed", seed, "must be an int >= 0")
    write, ack, read, reply = (d.tolist() for d in delays)
    trials = len(write)
    consistent = np.empty(trials, dtype=bool)
    commit_ms = np.empty(trials, dtype=np.float64)
    read_ms = np.empty(trials, dtype=np.float64)
    after_ms = np.empty(trials, dtype=np.float64)
    received_ms = np.empty((trials, n), dtype=np.float64)
    messages = np.empty(trials, dtype=np.int64)
    lost = np.empty(trials, dtype=np.int64)
    write_losses, read_losses = random.Random(seed), random.Random(seed ^ _READ_STREAM)
    for trial in range(trials):
        run = _Trial(
            n,
            r,
            w,
            t_ms,
            loss,
            float(timeout_ms),
            write_losses,
            read_losses,
            (write[trial], ack[trial], read[trial], reply[trial]),
        )
        outcome = run.run()
        received_ms[trial] = run.write_at
        (consistent[trial], commit_ms[trial], read_ms[trial], after_ms[trial]) = outcome[:4]
        messages[trial], lost[trial] = outcome[4:]
        if progress is not None and (trial + 1) % 1024 == 0:
            progress(trial + 1, trials)
    if progress is not None:
        progress(trials, trials)
    return LossyQuorumResult(
        n=n,
        r=r,
        w=w,
        t_ms=t_ms,
        loss=loss,
        timeout_ms=float(timeout_ms),
        consistent=consistent,
        commit_ms=commit_ms,
        read_ms=read_ms,
        consistent_after_ms=after_ms,
        received_ms=received_ms,
        messages=messages,
        lost=lost,
    )


class _Trial:
    """One write then one read on a lossy wire, on its own event loop."""

    __slots__ = (
        "acked",
        "acks",
        "commit",
        "done",
        "fresh",
        "has_write",
        "loop",
        "loss",
        "lost",
        "messages",
        "n",
        "r",
        "read_losses",
        "replied",
        "replies",
        "served_at",
        "start",
        "t_ms",
        "timeout",
        "w",
        "wars",
        "write_at",
        "write_losses",
    )

    def __init__(
        self,
        n: int,
        r: int,
        w: int,
        t_ms: float,
        loss: float,
        timeout: float,
        write_losses: random.Random,
        read_losses: random.Random,
        wars: tuple[list[float], list[float], list[float], list[float]],
    ) -> None:
        self.n, self.r, self.w, self.t_ms = n, r, w, t_ms
        self.loss, self.timeout = loss, timeout
        self.write_losses, self.read_losses = write_losses, read_losses
        self.wars = wars
        self.loop = EventLoop()
        self.has_write = [False] * n
        self.write_at = [math.inf] * n  # when each replica first received the write
        self.acked = [False] * n
        self.replied = [False] * n
        self.served_at: list[tuple[int, float]] = []  # counted replies: replica, served at
        self.acks = self.replies = self.messages = self.lost = 0
        self.commit = self.start = 0.0
        self.done: float | None = None
        self.fresh = False

    def run(self) -> tuple[bool, float, float, float, int, int]:
        """(consistent, commit ms, read ms, consistent after ms, messages, lost)."""
        for replica in range(self.n):
            self._send_write(replica)
        self.loop.at(self.timeout, self._write_timeout, priority=_TIMEOUT * self.n)
        self.loop.run()
        assert self.done is not None  # every message is resent until it gets through
        # the read is fresh at t iff one counted reply was served after the write arrived;
        # a reply's serving instant moves with t, the write's arrival does not
        offsets = [
            self.write_at[replica] - (served - self.start) for replica, served in self.served_at
        ]
        after = max(min(offsets) - self.commit, 0.0)
        read_ms = self.done - self.commit - self.t_ms
        return self.fresh, self.commit, read_ms, after, self.messages, self.lost

    # -- sending: each message counted, and lost with probability ``loss`` --------------------

    def _delivered(self, losses: random.Random) -> bool:
        self.messages += 1
        if self.loss and losses.random() < self.loss:
            self.lost += 1
            return False
        return True

    def _send_write(self, replica: int) -> None:
        if self._delivered(self.write_losses):
            self.loop.at(
                self.loop.now + self.wars[0][replica],
                lambda: self._write_arrives(replica),
                priority=_WRITE_ARRIVES * self.n + replica,
            )

    def _send_read(self, replica: int) -> None:
        if self._delivered(self.read_losses):
            self.loop.at(
                self.loop.now + self.wars[2][replica],
                lambda: self._read_arrives(replica),
                priority=_READ_ARRIVES * self.n + replica,
            )

    # -- replicas --------------------------------------------------------------------------

    def _write_arrives(self, replica: int) -> None:
        now = self.loop.now
        if not self.has_write[replica]:
            self.has_write[replica] = True
            self.write_at[replica] = now
        if self._delivered(self.write_losses):
            self.loop.at(
                now + self.wars[1][replica],
                lambda: self._ack(replica),
                priority=_ACK * self.n + replica,
            )

    def _read_arrives(self, replica: int) -> None:
        now = self.loop.now
        fresh = self.has_write[replica]
        if self._delivered(self.read_losses):
            self.loop.at(
                now + self.wars[3][replica],
                lambda: self._reply(replica, fresh, now),
                priority=_REPLY * self.n + replica,
            )

    # -- the coordinator -------------------------------------------------------------------

    def _ack(self, replica: int) -> None:
        if self.acked[replica]:
            return  # a second copy's acknowledgement
        self.acked[replica] = True
        self.acks += 1
        if self.acks == self.w:
            self.commit = now = self.loop.now
            self.start = start = now + self.t_ms
            self.loop.at(start, self._start_read, priority=_READ_ARRIVES * self.n)

    def _start_read(self) -> None:
        for replica in range(self.n):
            self._send_read(replica)
        self.loop.at(self.loop.now + self.timeout, self._read_timeout, priority=_TIMEOUT * self.n)

    def _reply(self, replica: int, fresh: bool, served: float) -> None:
        if self.done is not None or self.replied[replica]:
            return  # the read has returned, or this replica has answered already
        self.replied[replica] = True
        self.replies += 1
        self.fresh = self.fresh or fresh
        self.served_at.append((replica, served))
        if self.replies == self.r:
            self.done = self.loop.now

    def _write_timeout(self) -> None:
        waiting = [replica for replica in range(self.n) if not self.acked[replica]]
        for replica in waiting:
            self._send_write(replica)
        if waiting:
            self.loop.at(
                self.loop.now + self.timeout, self._write_timeout, priority=_TIMEOUT * self.n
            )

    def _read_timeout(self) -> None:
        if self.done is not None:
            return
        for replica in range(self.n):
            if not self.replied[replica]:
                self._send_read(replica)
        self.loop.at(self.loop.now + self.timeout, self._read_timeout, priority=_TIMEOUT * self.n)


@scenario("lossy-quorum")
def lossy_quorum(
    *,
    n: int = 3,
    r: int = 1,
    w: int = 1,
    fit: Literal["lnkd-ssd", "lnkd-disk", "ymmr", "wan"] = "lnkd-disk",
    loss: float = 0.01,
    timeout_ms: float = 50.0,
    t_ms: Sequence[float] = (0.0, 1.0, 10.0, 100.0),
    trials: int = 20_000,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> LossyQuorumReport:
    """A partial quorum on a lossy network with retries, beside the loss-free model.

    Draws ``trials`` WARS trials of the named ``fit`` from ``seed``, runs
    ``simulate_lossy_quorum`` on them and applies the loss-free rule to the same draws.

    Examples:
        >>> report = lossy_quorum(trials=2_000, loss=0.05, timeout_ms=20.0)
        >>> lossy = report.as_dict()
        >>> lossy["p_consistent"]["100.0"] <= lossy["loss_free"]["p_consistent"]["100.0"]
        True

    Cost: that of ``simulate_lossy_quorum`` plus one vectorised pass.
    """
    require_numpy()
    import numpy as np

    if fit not in FITS:
        raise LabConfigError("fit", fit, f"must be one of {sorted(FITS)}")
    trials = _count("trials", trials)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise LabConfigError("seed", seed, "must be an int >= 0")
    times = [_time("t_ms", t) for t in t_ms]
    n, r, w = _quorums(n, r, w)
    delays = WARS.fit(fit).sample(np.random.default_rng(seed), trials=trials, n=n)
    lossy = simulate_lossy_quorum(
        delays, r=r, w=w, loss=loss, timeout_ms=timeout_ms, seed=seed, progress=progress
    )
    loss_free = PBSResult.from_delays(delays, r=r, w=w)
    return LossyQuorumReport(fit=fit, t_ms=times, lossy=lossy, loss_free=loss_free)
