"""Latency laws: the one-way message delays that the replication lab draws from.

A law is a probability distribution of a delay in milliseconds. Every law offers
``sample(rng, size)`` (a numpy array of independent draws from a numpy ``Generator``), its
analytic ``mean_ms``, equality and a ``repr`` that rebuilds it. ``WARS`` bundles the four
delays of the PBS model (Bailis et al., VLDB 2012): W (write request), A (write
acknowledgement), R (read request) and S (read response); ``FITS`` holds the production
fits the paper published, by name.

Constructing a law needs only the standard library; sampling needs numpy (the ``lab`` extra).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple, Self

from merge.lab._numpy import require_numpy
from merge.lab.errors import LabConfigError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

__all__ = ["FITS", "WARS", "Exponential", "LatencyLaw", "Mixture", "Pareto", "WARSDelays"]

#: How far a mixture's weights may sum from 1 (float rounding of weights written in decimal).
_WEIGHT_TOLERANCE = 1e-9


def _positive(parameter: str, value: object) -> float:
    """``value`` as a float if it is a finite real number > 0, else LabConfigError."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LabConfigError(parameter, value, "must be a number of milliseconds (int or float)")
    if not math.isfinite(value) or value <= 0:
        raise LabConfigError(parameter, value, "must be finite and greater than 0")
    return float(value)


def _size(size: object) -> int | tuple[int, ...]:
    """Check a numpy-style ``size``: an int >= 0 or a tuple of them."""
    dims = size if isinstance(size, tuple) else (size,)
    for dim in dims:
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 0:
            raise LabConfigError("size", size, "must be an int >= 0 or a tuple of them")
    return size  # type: ignore[return-value]


class LatencyLaw(ABC):
    """A distribution of one-way delays in milliseconds (the interface every law follows)."""

    __slots__ = ()

    @property
    @abstractmethod
    def mean_ms(self) -> float:
        """The analytic mean delay (``math.inf`` if the law has none)."""

    @abstractmethod
    def _draw(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> NDArray[np.float64]:
        """Draws for a checked ``size``."""

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> NDArray[np.float64]:
        """``size`` independent delays (an int or a numpy shape), drawn from ``rng``.

        The same generator state gives the same draws. Cost: O(size), vectorised.
        """
        require_numpy()
        return self._draw(rng, _size(size))


@dataclass(frozen=True, slots=True)
class Exponential(LatencyLaw):
    """Exponentially distributed delays with the given mean (rate ``1 / mean_ms`` per ms).

    The PBS paper writes exponentials by their rate λ; ``from_rate`` takes that form.

    Examples:
        >>> import numpy as np
        >>> law = Exponential(2.0)
        >>> law
        Exponential(mean_ms=2.0)
        >>> Exponential.from_rate(0.5) == law
        True
        >>> draws = law.sample(np.random.default_rng(0), 100_000)
        >>> round(float(draws.mean()), 1)
        2.0
        >>> Exponential(0)
        Traceback (most recent call last):
        ...
        merge.lab.errors.LabConfigError: mean_ms=0: must be finite and greater than 0

    Cost: O(1) to build; sampling is one vectorised numpy call.
    """

    mean_ms: float  # a field here, an abstract property on the base

    def __post_init__(self) -> None:
        object.__setattr__(self, "mean_ms", _positive("mean_ms", self.mean_ms))

    @classmethod
    def from_rate(cls, rate_per_ms: float) -> Self:
        """The exponential law with rate λ = ``rate_per_ms`` (mean ``1 / rate_per_ms``)."""
        return cls(1.0 / _positive("rate_per_ms", rate_per_ms))

    def _draw(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> NDArray[np.float64]:
        return rng.exponential(self.mean_ms, size)


@dataclass(frozen=True, slots=True)
class Pareto(LatencyLaw):
    """Pareto (type I) delays: at least ``xm`` ms, with tail ``P(X > x) = (xm / x) ** alpha``.

    Sampled by inversion, ``xm / U ** (1 / alpha)`` with U uniform on (0, 1], as the PBS
    authors' simulator does. The mean is ``xm * alpha / (alpha - 1)`` for ``alpha > 1`` and
    infinite otherwise; for ``alpha <= 2`` the variance is infinite, so sample means and high
    quantiles converge slowly.

    Examples:
        >>> import numpy as np
        >>> law = Pareto(1.0, 3.0)
        >>> law, law.mean_ms
        (Pareto(xm=1.0, alpha=3.0), 1.5)
        >>> bool(law.sample(np.random.default_rng(0), 1000).min() >= 1.0)
        True
        >>> Pareto(1.0, 1.0).mean_ms
        inf

    Cost: O(1) to build; sampling is one vectorised pass.
    """

    xm: float
    alpha: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "xm", _positive("xm", self.xm))
        object.__setattr__(self, "alpha", _positive("alpha", self.alpha))

    @property
    def mean_ms(self) -> float:
        if self.alpha <= 1:
            return math.inf
        return self.xm * self.alpha / (self.alpha - 1)

    def _draw(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> NDArray[np.float64]:
        # 1 - U lies in (0, 1], so no draw is infinite
        uniform = 1.0 - rng.random(size)
        return self.xm * uniform ** (-1.0 / self.alpha)


@dataclass(frozen=True, slots=True, init=False)
class Mixture(LatencyLaw):
    """With probability ``weight`` a delay comes from ``law``, for each ``(weight, law)`` given.

    Weights are > 0 and sum to 1 (within 1e-9, for weights written in decimal). Each draw picks
    its component independently, so ``Mixture`` of mixtures works too.

    Examples:
        >>> import numpy as np
        >>> law = Mixture([(0.75, Exponential(1.0)), (0.25, Pareto(2.0, 2.0))])
        >>> law
        Mixture([(0.75, Exponential(mean_ms=1.0)), (0.25, Pareto(xm=2.0, alpha=2.0))])
        >>> law.mean_ms
        1.75
        >>> Mixture([(0.5, Exponential(1.0))])
        Traceback (most recent call last):
        ...
        merge.lab.errors.LabConfigError: components=[(0.5, Exponential(mean_ms=1.0))]: \
the weights sum to 0.5, not 1; give every component its share of the draws

    Cost: O(c) to build for c components; sampling draws a component per delay, then each
    component's delays in one vectorised call: O(size * c).
    """

    components: tuple[tuple[float, LatencyLaw], ...]

    def __init__(self, components: Iterable[tuple[float, LatencyLaw]]) -> None:
        given = list(components) if isinstance(components, Iterable) else components
        if not isinstance(given, list) or not given:
            raise LabConfigError(
                "components", components, "give a non-empty list of (weight, law) pairs"
            )
        checked = []
        for pair in given:
            if not (isinstance(pair, tuple) and len(pair) == 2):
                raise LabConfigError("components", given, f"{pair!r} is not a (weight, law) pair")
            weight, law = pair
            if not isinstance(law, LatencyLaw):
                raise LabConfigError(
                    "components", given, f"{law!r} is not a latency law (Exponential, Pareto...)"
                )
            checked.append((_positive("weight", weight), law))
        total = math.fsum(weight for weight, _ in checked)
        if abs(total - 1.0) > _WEIGHT_TOLERANCE:
            raise LabConfigError(
                "components",
                given,
                f"the weights sum to {total:g}, not 1; give every component its share of the draws",
            )
        object.__setattr__(self, "components", tuple(checked))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self.components)!r})"

    @property
    def mean_ms(self) -> float:
        return math.fsum(weight * law.mean_ms for weight, law in self.components)

    def _draw(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> NDArray[np.float64]:
        import numpy as np

        bounds = np.cumsum([weight for weight, _ in self.components])
        # the last bound is 1 up to rounding: a uniform above it belongs to the last component
        choice = np.minimum(
            np.searchsorted(bounds, rng.random(size), side="right"), len(self.components) - 1
        )
        delays = np.empty(choice.shape, dtype=np.float64)
        for index, (_, law) in enumerate(self.components):
            picked = choice == index
            delays[picked] = law._draw(rng, int(picked.sum()))
        return delays


class WARSDelays(NamedTuple):
    """One draw of the four delays per trial and replica: arrays of shape ``(trials, n)``."""

    w: NDArray[np.float64]
    """Coordinator -> replica: the write request."""
    a: NDArray[np.float64]
    """Replica -> coordinator: the write acknowledgement."""
    r: NDArray[np.float64]
    """Coordinator -> replica: the read request."""
    s: NDArray[np.float64]
    """Replica -> coordinator: the read response."""


@dataclass(frozen=True, slots=True)
class WARS:
    """The PBS latency model: a law for each of the four one-way delays W, A, R and S.

    Every message to every replica draws its delay independently. ``remote_ms`` models a wide
    area deployment as PBS's WAN fit does: replica ``i`` lives in data centre ``i``, each trial
    draws the writer's and the reader's data centre uniformly, and every message between the
    coordinator and a replica outside its data centre takes ``remote_ms`` longer.

    Named production fits (PBS Table 3) are in [`FITS`][merge.lab.FITS]; ``fit`` looks them up. An
    exponential fit as in the paper's sweeps is
    ``WARS(Exponential(w_mean), Exponential(1), Exponential(1), Exponential(1))``.

    Examples:
        >>> import numpy as np
        >>> fit = WARS(Exponential(10.0), Exponential(1.0), Exponential(1.0), Exponential(1.0))
        >>> delays = fit.sample(np.random.default_rng(0), trials=4, n=3)
        >>> delays.w.shape
        (4, 3)
        >>> WARS.fit("lnkd-disk").w.components[0]
        (0.38, Pareto(xm=1.05, alpha=1.51))
        >>> WARS.fit("lnkd-hdd")
        Traceback (most recent call last):
        ...
        merge.lab.errors.LabConfigError: name='lnkd-hdd': no such fit; the named fits are \
'lnkd-ssd', 'lnkd-disk', 'ymmr', 'wan'

    Cost: sampling draws ``4 * trials * n`` delays, vectorised.
    """

    w: LatencyLaw
    a: LatencyLaw
    r: LatencyLaw
    s: LatencyLaw
    remote_ms: float = 0.0

    def __post_init__(self) -> None:
        for parameter in ("w", "a", "r", "s"):
            law = getattr(self, parameter)
            if not isinstance(law, LatencyLaw):
                raise LabConfigError(
                    parameter, law, "must be a latency law (Exponential, Pareto, Mixture)"
                )
        remote = self.remote_ms
        if isinstance(remote, bool) or not isinstance(remote, int | float):
            raise LabConfigError("remote_ms", remote, "must be a number of milliseconds")
        if not math.isfinite(remote) or remote < 0:
            raise LabConfigError("remote_ms", remote, "must be finite and >= 0")
        object.__setattr__(self, "remote_ms", float(remote))

    @classmethod
    def fit(cls, name: str) -> WARS:
        """The named production fit from ``FITS`` (``"lnkd-ssd"``, ``"lnkd-disk"``, ...)."""
        try:
            return FITS[name]
        except (KeyError, TypeError):
            known = ", ".join(repr(known) for known in FITS)
            raise LabConfigError("name", name, f"no such fit; the named fits are {known}") from None

    def sample(self, rng: np.random.Generator, *, trials: int, n: int) -> WARSDelays:
        """Draw W, A, R and S for ``trials`` trials of ``n`` replicas each, from ``rng``.

        The draws come in a fixed order (all W, then A, R, S, then the data centres when
        ``remote_ms`` is set), so one generator state gives one set of delays.
        """
        require_numpy()
        for parameter, value in (("trials", trials), ("n", n)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise LabConfigError(parameter, value, "must be an int >= 1")
        shape = (trials, n)
        w, a, r, s = (law._draw(rng, shape) for law in (self.w, self.a, self.r, self.s))
        if self.remote_ms:
            replicas = _arange(n)
            writer_dc = rng.integers(n, size=(trials, 1))
            reader_dc = rng.integers(n, size=(trials, 1))
            write_extra = (replicas != writer_dc) * self.remote_ms
            read_extra = (replicas != reader_dc) * self.remote_ms
            w += write_extra
            a += write_extra
            r += read_extra
            s += read_extra
        return WARSDelays(w, a, r, s)

    def as_dict(self) -> dict[str, Any]:
        """The laws as their reprs (JSON-friendly)."""
        return {
            "w": repr(self.w),
            "a": repr(self.a),
            "r": repr(self.r),
            "s": repr(self.s),
            "remote_ms": self.remote_ms,
        }


def _arange(n: int) -> NDArray[np.int64]:
    import numpy as np

    return np.arange(n)


# PBS Table 3 (Bailis et al., VLDB 2012): two-part mixtures fitted to production latencies.
# Exponentials are written by their rate λ per ms, as in the paper.
_LNKD_SSD = Mixture([(0.9122, Pareto(0.235, 10.0)), (0.0878, Exponential.from_rate(1.66))])
_LNKD_DISK_W = Mixture([(0.38, Pareto(1.05, 1.51)), (0.62, Exponential.from_rate(0.183))])
# The paper prints alpha = 3.35 for YMMR's W; the authors' simulator uses 3.5, and only 3.5
# reproduces the published 89.3% consistent reads at t = 0 (3.35 gives about 88.7%).
_YMMR_W = Mixture([(0.939, Pareto(3.0, 3.5)), (0.061, Exponential.from_rate(0.0028))])
_YMMR_ARS = Mixture([(0.982, Pareto(1.5, 3.8)), (0.018, Exponential.from_rate(0.0217))])

#: The PBS production fits by name. ``"lnkd-ssd"`` and ``"lnkd-disk"``: LinkedIn's Voldemort
#: on SSDs and on spinning disks (they differ only in W); ``"ymmr"``: Yammer's Riak (W with
#: alpha 3.5 as in the authors' code, where the paper prints 3.35); ``"wan"``: LNKD-DISK
#: replicas in separate data centres, 75 ms apart.
FITS: Mapping[str, WARS] = MappingProxyType(
    {
        "lnkd-ssd": WARS(_LNKD_SSD, _LNKD_SSD, _LNKD_SSD, _LNKD_SSD),
        "lnkd-disk": WARS(_LNKD_DISK_W, _LNKD_SSD, _LNKD_SSD, _LNKD_SSD),
        "ymmr": WARS(_YMMR_W, _YMMR_ARS, _YMMR_ARS, _YMMR_ARS),
        "wan": WARS(_LNKD_DISK_W, _LNKD_SSD, _LNKD_SSD, _LNKD_SSD, remote_ms=75.0),
    }
)
