"""Asynchronous primary -> follower replication: how stale is a read from the follower?

The primary applies a write and acknowledges it at once; a follower applies it after a
replication lag drawn from a latency law. A read the follower serves ``t`` ms after the
commit is stale iff the lag is longer than ``t``, so P(stale at t) = P(lag > t), the law's
tail: ``exp(-t / L)`` for an exponential lag of mean ``L``. Synchronous replication waits
for the follower's acknowledgement before it answers the client, so a read after the commit
is never stale; the client pays the lag (and the acknowledgement) in commit latency instead.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

from merge.lab._numpy import require_numpy
from merge.lab.catalog import scenario
from merge.lab.errors import LabConfigError
from merge.lab.latency import Exponential, LatencyLaw, Pareto
from merge.lab.staleness import _count, _probability, _quantile, _time

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["FollowerResult", "async_follower"]


class FollowerResult:
    """The outcome of ``async_follower``: the sampled lags and what they cost.

    ``lag_ms`` holds every trial's replication lag, sorted (read-only). With
    ``synchronous`` the commit waited for the follower, so ``p_stale`` is 0 at every ``t``
    and ``commit_ms`` is lag plus acknowledgement; asynchronously the commit is immediate.
    """

    __slots__ = ("_commit", "lag", "lag_ms", "seed", "synchronous")

    def __init__(
        self,
        *,
        lag: LatencyLaw,
        lag_ms: NDArray[np.float64],
        commit_ms: NDArray[np.float64],
        synchronous: bool,
        seed: int | None = None,
    ) -> None:
        import numpy as np

        self.lag = lag
        self.synchronous = synchronous
        self.seed = seed
        self.lag_ms = np.sort(lag_ms)
        self.lag_ms.flags.writeable = False
        self._commit = np.sort(commit_ms)

    @property
    def trials(self) -> int:
        """How many writes were simulated."""
        return int(self.lag_ms.size)

    def p_stale(self, t_ms: float) -> float:
        """The fraction of follower reads started ``t_ms`` after the commit that missed the
        write: the fraction of lags longer than ``t_ms`` (0.0 when synchronous).

        Estimates a probability p with standard error ``sqrt(p * (1 - p) / trials)``.
        Cost: O(log trials).
        """
        import numpy as np

        t_ms = _time("t_ms", t_ms)
        if self.synchronous:
            return 0.0
        seen = int(np.searchsorted(self.lag_ms, t_ms, side="right"))
        return (self.trials - seen) / self.trials

    def t_visibility(self, p: float) -> float:
        """The smallest t (ms) with ``1 - p_stale(t) >= p``; 0.0 when synchronous. Cost: O(1)."""
        p = _probability("p", p)
        return 0.0 if self.synchronous else _quantile(self.lag_ms, p)

    def commit_ms(self, q: float) -> float:
        """The ``q`` quantile of the commit latency the client sees, in ms: 0 asynchronously
        (the primary's own write is not modelled), lag plus acknowledgement synchronously."""
        return _quantile(self._commit, _probability("q", q))

    def as_dict(
        self,
        *,
        t_ms: Iterable[float] = (0, 1, 10, 100),
        p: Iterable[float] = (0.99, 0.999),
    ) -> dict[str, Any]:
        """P(stale) at each ``t_ms``, t-visibility at each ``p``, mean lag and p99.9 commit."""
        return {
            "lag": repr(self.lag),
            "synchronous": self.synchronous,
            "trials": self.trials,
            "seed": self.seed,
            "mean_lag_ms": float(self.lag_ms.mean()),
            "p_stale": {str(t): self.p_stale(t) for t in t_ms},
            "t_visibility_ms": {str(prob): self.t_visibility(prob) for prob in p},
            "commit_ms_p99.9": self.commit_ms(0.999),
        }

    def report(self) -> str:
        """A few lines for a terminal: the mode, P(stale) at a few t, t-visibility."""
        mode = "synchronous" if self.synchronous else "asynchronous"
        lines = [f"{mode} follower, lag {self.lag!r}, {self.trials:,} writes (seed {self.seed})"]
        for t in (0, 1, 10, 100):
            lines.append(f"  P(stale) {t:>4} ms after commit: {self.p_stale(t):.4f}")
        lines.append(f"  t-visibility 99.9%: {self.t_visibility(0.999):.3g} ms")
        lines.append(f"  commit latency p99.9: {self.commit_ms(0.999):.3g} ms")
        return "\n".join(lines)

    def plot(self, path: str) -> None:
        """Draw P(stale) against t on a log scale to ``path`` (needs matplotlib)."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np

        end = max(self.t_visibility(0.9999), 1e-3)
        times = np.linspace(0.0, end, 200)
        stale = [max(self.p_stale(float(t)), 1.0 / (10 * self.trials)) for t in times]
        figure, axes = plt.subplots(figsize=(6, 4))
        axes.plot(times, stale, label=repr(self.lag))
        axes.set_yscale("log")
        axes.set_xlabel("ms after commit")
        axes.set_ylabel("P(stale read from the follower)")
        axes.legend()
        figure.tight_layout()
        figure.savefig(path)
        plt.close(figure)

    def __repr__(self) -> str:
        mode = "sync" if self.synchronous else "async"
        return (
            f"<FollowerResult {mode} lag={self.lag!r} trials={self.trials}: "
            f"P(stale at 0 ms)={self.p_stale(0):.4f}>"
        )


def async_follower(
    lag: LatencyLaw,
    *,
    trials: int = 200_000,
    seed: int = 0,
    synchronous: bool = False,
    ack: LatencyLaw | None = None,
) -> FollowerResult:
    """Replicate ``trials`` writes from a primary to a follower with lag drawn from ``lag``.

    A read of the follower ``t`` ms after the commit is stale iff the write's lag exceeds
    ``t``; ``result.p_stale(t)`` estimates that probability, which for an
    ``Exponential(L)`` lag is ``exp(-t / L)``. With ``synchronous`` the primary acknowledges
    the client only once the follower has applied the write and its acknowledgement (drawn
    from ``ack``, default the ``lag`` law) is back: no read after the commit is stale, and
    ``commit_ms`` carries the cost.

    Examples:
        >>> from merge.lab import Exponential
        >>> result = async_follower(Exponential(10.0), trials=20_000, seed=1)
        >>> round(result.p_stale(0), 2), round(result.p_stale(10), 2)   # e^0, e^-1
        (1.0, 0.37)
        >>> round(result.t_visibility(0.999))                          # about 10 ln 1000
        68
        >>> sync = async_follower(Exponential(10.0), trials=20_000, synchronous=True)
        >>> sync.p_stale(0), round(sync.commit_ms(0.5))
        (0.0, 17)

    Cost: O(trials log trials), vectorised (one draw per write, then a sort).
    """
    require_numpy()
    import numpy as np

    if not isinstance(lag, LatencyLaw):
        raise LabConfigError("lag", lag, "must be a latency law (Exponential, Pareto, Mixture)")
    if ack is not None and not isinstance(ack, LatencyLaw):
        raise LabConfigError("ack", ack, "must be a latency law or None (the lag law)")
    trials = _count("trials", trials)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise LabConfigError("seed", seed, "must be an int >= 0")
    rng = np.random.default_rng(seed)
    lag_ms = lag.sample(rng, trials)
    commit_ms = lag_ms + (ack or lag).sample(rng, trials) if synchronous else np.zeros(trials)
    return FollowerResult(
        lag=lag, lag_ms=lag_ms, commit_ms=commit_ms, synchronous=bool(synchronous), seed=seed
    )


def _law_with_mean(
    law: Literal["exponential", "pareto"], mean_ms: float, alpha: float
) -> LatencyLaw:
    """An exponential law, or a Pareto law of tail ``alpha`` (> 1), with the given mean."""
    if law == "exponential":
        return Exponential(mean_ms)
    if law == "pareto":
        if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not alpha > 1:
            raise LabConfigError("alpha", alpha, "must be > 1 for a Pareto law to have a mean")
        if not (isinstance(mean_ms, int | float) and math.isfinite(mean_ms) and mean_ms > 0):
            raise LabConfigError("mean_ms", mean_ms, "must be finite and greater than 0")
        return Pareto(mean_ms * (alpha - 1) / alpha, alpha)
    raise LabConfigError("law", law, "must be 'exponential' or 'pareto'")


@scenario("async")
def _async_scenario(
    *,
    lag_mean_ms: float = 10.0,
    law: Literal["exponential", "pareto"] = "exponential",
    alpha: float = 2.5,
    synchronous: bool = False,
    trials: int = 200_000,
    seed: int = 0,
) -> FollowerResult:
    """Asynchronous follower: P(stale read) t ms after commit, for a replication lag law.

    The lag is exponential or Pareto (tail ``alpha``) with mean ``lag_mean_ms``;
    ``synchronous`` waits for the follower before acknowledging.
    """
    return async_follower(
        _law_with_mean(law, lag_mean_ms, alpha), trials=trials, seed=seed, synchronous=synchronous
    )
