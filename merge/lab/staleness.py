"""Probabilistically bounded staleness (Bailis et al., VLDB 2012; CACM 2014).

How stale can a read be in a Dynamo-style store that sends every request to all ``n``
replicas, returns a write after ``w`` acknowledgements and a read after ``r`` replies?

* ``k_staleness`` is the closed form for quorums picked uniformly at random: the
  probability that a read returns one of the last ``k`` committed versions.
* [`pbs`][merge.lab.pbs] is a vectorised Monte Carlo simulation of the paper's WARS model: the
  probability that a read started ``t`` ms after a write committed sees it (t-visibility),
  and the read and write latencies, for any [`WARS`][merge.lab.WARS] latency model.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal

from merge.lab._numpy import require_numpy
from merge.lab.errors import LabConfigError
from merge.lab.latency import FITS, WARS, WARSDelays

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["PBSResult", "k_staleness", "pbs"]

#: Trials simulated per vectorised batch: bounds memory, and fixes the draws for a seed.
_BATCH = 1 << 16


def _count(parameter: str, value: object, *, low: int = 1, high: int | None = None) -> int:
    """``value`` if it is an int in [low, high], else LabConfigError."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise LabConfigError(parameter, value, "must be an int")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f">= {low}"
        raise LabConfigError(parameter, value, f"must be {bound}")
    return value


def _quorums(n: object, r: object, w: object) -> tuple[int, int, int]:
    """Check a replication configuration: 1 <= r, w <= n."""
    n = _count("n", n)
    return n, _count("r", r, high=n), _count("w", w, high=n)


def k_staleness(n: int, r: int, w: int, k: int = 1) -> float:
    """P(a read returns one of the last ``k`` versions) with random non-expanding quorums.

    A read quorum of ``r`` replicas and each of the last ``k`` write quorums of ``w`` replicas
    are picked uniformly and independently among ``n``. The read misses a write when its
    quorum is disjoint from that write's, with probability C(n-w, r) / C(n, r); it returns
    none of the last ``k`` versions when it misses all of them, so the answer is
    ``1 - (C(n-w, r) / C(n, r)) ** k``, computed in exact fractions and rounded once. Strict
    quorums (``r + w > n``) always overlap and give exactly 1.0.

    Real (expanding) quorums keep sending the write to the other replicas after the ``w``-th
    acknowledgement, so they are fresher: this is a lower bound on consistency for them.
    Monotonic reads, for a client that reads a key ``read_rate`` times per second while all
    clients write it ``write_rate`` times per second, need ``k = 1 + write_rate / read_rate``.

    Examples:
        >>> k_staleness(3, 1, 1, 1), k_staleness(3, 1, 1, 2) == 5 / 9
        (0.3333333333333333, True)
        >>> k_staleness(3, 2, 2)
        1.0
        >>> f"{1 - k_staleness(100, 30, 30):.3g}"
        '1.88e-06'
        >>> k_staleness(3, 4, 1)
        Traceback (most recent call last):
        ...
        merge.lab.errors.LabConfigError: r=4: must be between 1 and 3

    Cost: O(r) big-integer multiplications (two binomials) and one exact power.
    """
    n, r, w = _quorums(n, r, w)
    k = _count("k", k)
    miss = Fraction(math.comb(n - w, r), math.comb(n, r))
    return float(1 - miss**k)


class PBSResult:
    """The outcome of ``pbs``: t-visibility and latency distributions of one configuration.

    ``consistent_after_ms[i]`` is, for trial ``i``, how long after the write committed a read
    had to start to see it: 0 if it saw it at once. P(consistent at t) is the fraction of
    trials with ``consistent_after_ms <= t``, so it never decreases in ``t``. Quantiles are
    order statistics: the smallest sampled value whose empirical CDF reaches the probability
    asked for.

    Build one with [`pbs`][merge.lab.pbs], or with ``from_delays`` from delays you drew yourself (to
    feed the same draws to another simulation and compare verdicts).
    """

    __slots__ = ("_after", "_read", "_write", "consistent_after_ms", "fit", "n", "r", "seed", "w")

    def __init__(
        self,
        *,
        n: int,
        r: int,
        w: int,
        consistent_after_ms: NDArray[np.float64],
        read_ms: NDArray[np.float64],
        write_ms: NDArray[np.float64],
        fit: str | WARS | None = None,
        seed: int | None = None,
    ) -> None:
        import numpy as np

        self.n, self.r, self.w = n, r, w
        self.fit = fit
        self.seed = seed
        self.consistent_after_ms = consistent_after_ms
        self.consistent_after_ms.flags.writeable = False
        self._after = np.sort(consistent_after_ms)
        self._read = np.sort(read_ms)
        self._write = np.sort(write_ms)

    @classmethod
    def from_delays(cls, delays: WARSDelays, *, r: int, w: int) -> PBSResult:
        """Apply the WARS rule to given delays (arrays of shape ``(trials, n)``).

        Per trial: the write commits at the ``w``-th smallest ``W + A``; the read goes out ``t``
        ms later and is served by the ``r`` replicas with the smallest ``R + S``; it is
        consistent iff one of them had the write when the read request reached it, i.e.
        ``commit + t + R >= W`` for some responder. The read latency is the ``r``-th smallest
        ``R + S``, the write latency the commit time.

        Cost: O(trials * n) vectorised (two partial sorts per trial).
        """
        after, read, write = _apply_wars(delays, r=r, w=w)
        n = delays.w.shape[1]
        return cls(n=n, r=r, w=w, consistent_after_ms=after, read_ms=read, write_ms=write)

    @property
    def trials(self) -> int:
        """How many trials (write then read) were simulated."""
        return int(self._after.size)

    @property
    def strict(self) -> bool:
        """Whether read and write quorums always overlap (``r + w > n``): never stale."""
        return self.r + self.w > self.n

    def p_consistent(self, t_ms: float) -> float:
        """The fraction of reads started ``t_ms`` after the commit that saw the write.

        Exactly 1.0 at every ``t_ms`` for strict quorums. Cost: O(log trials).
        """
        import numpy as np

        t_ms = _time("t_ms", t_ms)
        return int(np.searchsorted(self._after, t_ms, side="right")) / self.trials

    def t_visibility(self, p: float) -> float:
        """The smallest t (ms) with ``p_consistent(t) >= p``: how long until a read is fresh
        with probability ``p``. 0.0 if reads are that fresh at once. Cost: O(1)."""
        return _quantile(self._after, _probability("p", p))

    def latency_ms(self, op: Literal["read", "write"], q: float) -> float:
        """The ``q`` quantile of the read or write latency in ms (``op`` is ``"read"`` or
        ``"write"``): the time until ``r`` replies, or ``w`` acknowledgements. Cost: O(1)."""
        if op == "read":
            values = self._read
        elif op == "write":
            values = self._write
        else:
            raise LabConfigError("op", op, "must be 'read' or 'write'")
        return _quantile(values, _probability("q", q))

    def as_dict(
        self,
        *,
        t_ms: Iterable[float] = (0, 1, 10, 100),
        p: Iterable[float] = (0.99, 0.999),
        q: Iterable[float] = (0.5, 0.999),
    ) -> dict[str, Any]:
        """A JSON-friendly summary: P(consistent) at each ``t_ms``, the t-visibility at each
        ``p``, and read and write latency at each quantile ``q``."""
        fit = self.fit.as_dict() if isinstance(self.fit, WARS) else self.fit
        latency = {
            op: {str(quantile): self.latency_ms(op, quantile) for quantile in q}
            for op in ("read", "write")
        }
        return {
            "n": self.n,
            "r": self.r,
            "w": self.w,
            "fit": fit,
            "trials": self.trials,
            "seed": self.seed,
            "strict": self.strict,
            "p_consistent": {str(t): self.p_consistent(t) for t in t_ms},
            "t_visibility_ms": {str(prob): self.t_visibility(prob) for prob in p},
            "latency_ms": latency,
        }

    def __repr__(self) -> str:
        fit = f", fit={self.fit!r}" if isinstance(self.fit, str) else ""
        return (
            f"<PBSResult n={self.n} r={self.r} w={self.w}{fit} trials={self.trials}: "
            f"P(consistent at 0 ms)={self.p_consistent(0):.4f}, "
            f"t99.9={self.t_visibility(0.999):.3g} ms>"
        )


def _apply_wars(
    delays: WARSDelays, *, r: int, w: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Per trial: how long after the commit the read had to start, read and write latency."""
    require_numpy()
    import numpy as np

    if not isinstance(delays, WARSDelays) or delays.w.ndim != 2:
        raise LabConfigError("delays", delays, "must be WARSDelays of shape (trials, n)")
    _, r, w = _quorums(delays.w.shape[1], r, w)
    commit = np.partition(delays.w + delays.a, w - 1, axis=1)[:, w - 1 : w]
    round_trip = delays.r + delays.s
    # argpartition puts the r-th fastest responder at column r - 1, the faster ones before it
    responders = np.argpartition(round_trip, r - 1, axis=1)[:, :r]
    # the read is consistent iff t >= W - R - commit for some responder
    waits = np.take_along_axis(delays.w - delays.r, responders, axis=1) - commit
    after = np.maximum(waits.min(axis=1), 0.0)
    read = np.take_along_axis(round_trip, responders[:, r - 1 : r], axis=1)[:, 0]
    return after, read, commit[:, 0].copy()


def _time(parameter: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise LabConfigError(parameter, value, "must be a number of milliseconds")
    if value < 0:
        raise LabConfigError(parameter, value, "must be >= 0 (time since the write committed)")
    return float(value)


def _probability(parameter: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LabConfigError(parameter, value, "must be a probability (a float)")
    if not 0 <= value <= 1:
        raise LabConfigError(parameter, value, "must be between 0 and 1")
    return float(value)


def _quantile(ordered: NDArray[np.float64], p: float) -> float:
    """The smallest sample whose empirical CDF is >= p (the minimum for p = 0).

    ``p`` is read as the decimal it prints as (0.999 is 999/1000), so ``p * trials`` is
    exact and an integer product does not round up to the next order statistic.
    """
    rank = math.ceil(Fraction(repr(p)) * ordered.size)
    return float(ordered[max(rank, 1) - 1])


def pbs(
    n: int,
    r: int,
    w: int,
    fit: str | WARS,
    *,
    trials: int = 200_000,
    seed: int = 0,
) -> PBSResult:
    """Simulate ``trials`` writes, each followed by a read, under the WARS latency model.

    ``fit`` is a [`WARS`][merge.lab.WARS] model or the name of a production fit in
    [`FITS`][merge.lab.FITS]. Each trial draws the four delays for each of the ``n``
    replicas and applies the rule of ``PBSResult.from_delays``. The estimate of a
    probability p has standard error ``sqrt(p * (1 - p) / trials)``; the same ``seed`` and
    ``trials`` give the same result.

    The model, as in the paper: one write then one read of a key, independent delays, no
    read repair, anti-entropy or failures. Real stores that repair are fresher.

    Examples:
        >>> result = pbs(3, 1, 1, "lnkd-disk", trials=20_000, seed=1)
        >>> round(result.p_consistent(0), 2), round(result.p_consistent(10), 2)
        (0.44, 0.93)
        >>> pbs(3, 2, 2, "lnkd-disk", trials=1_000).p_consistent(0)
        1.0

    Cost: O(trials * n) time, vectorised in batches of 65,536 trials; O(trials) memory.
    """
    require_numpy()
    import numpy as np

    n, r, w = _quorums(n, r, w)
    trials = _count("trials", trials)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise LabConfigError("seed", seed, "must be an int >= 0")
    model = WARS.fit(fit) if isinstance(fit, str) else fit
    if not isinstance(model, WARS):
        raise LabConfigError("fit", fit, f"must be a WARS model or one of {sorted(FITS)}")
    rng = np.random.default_rng(seed)
    parts = [
        _apply_wars(model.sample(rng, trials=min(_BATCH, trials - start), n=n), r=r, w=w)
        for start in range(0, trials, _BATCH)
    ]
    after, read, write = (np.concatenate(arrays) for arrays in zip(*parts, strict=True))
    return PBSResult(
        n=n, r=r, w=w, fit=fit, seed=seed, consistent_after_ms=after, read_ms=read, write_ms=write
    )
