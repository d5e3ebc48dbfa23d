"""What :func:`~merge.lab.simulate_lossy_quorum` returns (``LossyQuorumResult``) and the
``lossy-quorum`` scenario's report beside the loss-free rule (``LossyQuorumReport``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from merge.lab.quorum import QuorumResult
from merge.lab.staleness import PBSResult

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray


__all__ = ["LossyQuorumReport", "LossyQuorumResult"]


class LossyQuorumResult(QuorumResult):
    """Per-trial outcomes of ``simulate_lossy_quorum`` (numpy arrays of length trials).

    As a [`QuorumResult`][merge.lab.QuorumResult] (``consistent`` at ``t_ms``, ``commit_ms``,
    ``read_ms``), plus ``consistent_after_ms`` (how long after the commit the read had to
    start to see the write), ``received_ms`` (shape ``(trials, n)``: when each replica first
    received the write, never earlier than its ``W`` draw), ``messages`` (every message put on
    the wire, lost or not, retries and late replies included) and ``lost`` (how many of them
    were lost).
    ``curve`` is the same data as a [`PBSResult`][merge.lab.PBSResult], for
    ``p_consistent(t)``, ``t_visibility(p)`` and ``latency_ms(op, q)``.
    """

    __slots__ = (
        "consistent_after_ms",
        "curve",
        "loss",
        "lost",
        "messages",
        "received_ms",
        "timeout_ms",
    )

    def __init__(
        self,
        *,
        n: int,
        r: int,
        w: int,
        t_ms: float,
        loss: float,
        timeout_ms: float,
        consistent: NDArray[np.bool_],
        commit_ms: NDArray[np.float64],
        read_ms: NDArray[np.float64],
        consistent_after_ms: NDArray[np.float64],
        received_ms: NDArray[np.float64],
        messages: NDArray[np.int64],
        lost: NDArray[np.int64],
    ) -> None:
        super().__init__(
            n=n, r=r, w=w, t_ms=t_ms, consistent=consistent, commit_ms=commit_ms, read_ms=read_ms
        )
        self.loss, self.timeout_ms = loss, timeout_ms
        self.consistent_after_ms, self.received_ms = consistent_after_ms, received_ms
        self.messages, self.lost = messages, lost
        for array in (consistent_after_ms, received_ms, messages, lost):
            array.flags.writeable = False
        self.curve = PBSResult(
            n=n,
            r=r,
            w=w,
            consistent_after_ms=consistent_after_ms.copy(),
            read_ms=read_ms,
            write_ms=commit_ms,
        )

    def p_consistent_at(self, t_ms: float) -> float:
        """P(a read started ``t_ms`` after the commit sees the write). Cost: O(log trials)."""
        return self.curve.p_consistent(t_ms)

    def latency_ms(self, op: Literal["read", "write"], q: float) -> float:
        """The ``q`` quantile of the read or write latency in ms, retries included."""
        return self.curve.latency_ms(op, q)

    @property
    def messages_per_trial(self) -> float:
        """Mean messages sent per trial (one write and one read); ``4 * n`` without loss."""
        return float(self.messages.mean())

    def as_dict(
        self,
        *,
        t_ms: Iterable[float] = (0, 1, 10, 100),
        q: Iterable[float] = (0.5, 0.99, 0.999),
    ) -> dict[str, Any]:
        """P(consistent) at each ``t_ms``, latency quantiles ``q`` and message counts."""
        quantiles = list(q)
        return {
            "n": self.n,
            "r": self.r,
            "w": self.w,
            "loss": self.loss,
            "timeout_ms": self.timeout_ms,
            "trials": self.trials,
            "p_consistent": {str(t): self.p_consistent_at(t) for t in t_ms},
            "latency_ms": {
                op: {str(quantile): self.latency_ms(op, quantile) for quantile in quantiles}
                for op in ("read", "write")
            },
            "messages_per_trial": self.messages_per_trial,
            "lost_per_trial": float(self.lost.mean()),
        }

    def __repr__(self) -> str:
        return (
            f"<LossyQuorumResult n={self.n} r={self.r} w={self.w} loss={self.loss:g} "
            f"timeout_ms={self.timeout_ms:g} trials={self.trials}: "
            f"P(consistent at {self.t_ms:g} ms)={self.p_consistent():.4f}>"
        )


class LossyQuorumReport:
    """The ``lossy-quorum`` scenario's result: a lossy run beside the loss-free rule on the
    same draws (``lossy`` a [`LossyQuorumResult`][merge.lab.LossyQuorumResult], ``loss_free``
    a [`PBSResult`][merge.lab.PBSResult]), read at the times ``t_ms``."""

    __slots__ = ("fit", "loss_free", "lossy", "t_ms")

    def __init__(
        self,
        *,
        fit: str,
        t_ms: Sequence[float],
        lossy: LossyQuorumResult,
        loss_free: PBSResult,
    ) -> None:
        self.fit, self.t_ms, self.lossy, self.loss_free = fit, tuple(t_ms), lossy, loss_free

    def as_dict(self) -> dict[str, Any]:
        """The lossy result's summary, with ``loss_free`` P(consistent) and latencies."""
        result = {"fit": self.fit, **self.lossy.as_dict(t_ms=self.t_ms)}
        loss_free = self.loss_free.as_dict(t_ms=self.t_ms, p=(), q=(0.5, 0.99, 0.999))
        result["loss_free"] = {
            "p_consistent": loss_free["p_consistent"],
            "latency_ms": loss_free["latency_ms"],
            "messages_per_trial": 4 * self.lossy.n,
        }
        return result

    def report(self) -> str:
        """A table: P(consistent) at each t and p99.9 latencies, with and without loss."""
        lossy, free = self.lossy, self.loss_free
        lines = [
            f"{self.fit}: N={lossy.n} R={lossy.r} W={lossy.w}, loss {lossy.loss:g} per "
            f"message, resend after {lossy.timeout_ms:g} ms, {lossy.trials} trials",
            f"{'':>24}{'loss-free':>12}{'lossy':>12}",
        ]
        for t in self.t_ms:
            lines.append(
                f"{f'P(consistent at {t:g} ms)':>24}"
                f"{free.p_consistent(t):>12.4f}{lossy.p_consistent_at(t):>12.4f}"
            )
        for op in ("write", "read"):
            lines.append(
                f"{f'{op} latency p99.9 (ms)':>24}"
                f"{free.latency_ms(op, 0.999):>12.3f}{lossy.latency_ms(op, 0.999):>12.3f}"
            )
        lines.append(
            f"{'messages per trial':>24}{4 * lossy.n:>12}{lossy.messages_per_trial:>12.2f}"
        )
        return "\n".join(lines)
