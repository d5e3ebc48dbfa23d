"""Latency laws: sample means match the analytic means, validation, reprs and the fits."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

np = pytest.importorskip(
    "numpy", reason="the consistency lab needs numpy: pip install crdtkit[lab]"
)

from merge.lab import (  # noqa: E402
    FITS,
    WARS,
    Exponential,
    LabConfigError,
    LatencyLaw,
    Mixture,
    Pareto,
)

DRAWS = 20_000
Z = 5  # a sample mean beyond 5 standard errors happens about once in 3.5 million runs


def variance(law: LatencyLaw) -> float:
    """The analytic variance of a law (inf if it has none)."""
    if isinstance(law, Exponential):
        return law.mean_ms**2
    if isinstance(law, Pareto):
        if law.alpha <= 2:
            return math.inf
        return law.xm**2 * law.alpha / ((law.alpha - 1) ** 2 * (law.alpha - 2))
    assert isinstance(law, Mixture)
    second_moment = sum(
        weight * (variance(part) + part.mean_ms**2) for weight, part in law.components
    )
    return second_moment - law.mean_ms**2


def assert_sample_mean_matches(law: LatencyLaw, seed: int) -> None:
    draws = law.sample(np.random.default_rng(seed), DRAWS)
    standard_error = math.sqrt(variance(law) / DRAWS)
    assert abs(draws.mean() - law.mean_ms) <= Z * standard_error, (law, draws.mean())


MEANS = st.floats(0.01, 1000.0)
# alpha > 4: a finite fourth moment, so 20,000 draws put the sample mean close to normal and
# the 5-standard-error bound means what it says. Between 2 and 4 the variance is finite but
# the mean's distribution keeps a long right tail (skewed far past 5 standard errors):
# alpha = 2.5 failed this test about once in a few hundred examples.
ALPHAS = st.floats(4.5, 20.0)


@settings(max_examples=30)  # each example draws 20,000 delays
@given(MEANS, st.integers(0, 2**32))
def test_exponential_sample_mean_matches_its_mean(mean: float, seed: int) -> None:
    assert_sample_mean_matches(Exponential(mean), seed)


@settings(max_examples=30)  # each example draws 20,000 delays
@given(MEANS, ALPHAS, st.integers(0, 2**32))
def test_pareto_sample_mean_is_xm_alpha_over_alpha_minus_1(
    xm: float, alpha: float, seed: int
) -> None:
    law = Pareto(xm, alpha)
    assert law.mean_ms == pytest.approx(xm * alpha / (alpha - 1))
    assert_sample_mean_matches(law, seed)
    assert law.sample(np.random.default_rng(seed), 1000).min() >= xm


@settings(max_examples=30)  # each example draws 20,000 delays
@given(st.floats(0.01, 0.99), MEANS, MEANS, ALPHAS, st.integers(0, 2**32))
def test_mixture_sample_mean_is_the_weighted_mean(
    weight: float, mean: float, xm: float, alpha: float, seed: int
) -> None:
    law = Mixture([(weight, Exponential(mean)), (1 - weight, Pareto(xm, alpha))])
    assert law.mean_ms == pytest.approx(weight * mean + (1 - weight) * xm * alpha / (alpha - 1))
    assert_sample_mean_matches(law, seed)


def test_pareto_without_a_finite_mean_says_so() -> None:
    assert Pareto(1.0, 0.9).mean_ms == math.inf
    assert Mixture([(0.5, Pareto(1.0, 1.0)), (0.5, Exponential(1.0))]).mean_ms == math.inf


def test_the_same_seed_gives_the_same_draws_and_shapes_are_honoured() -> None:
    law = FITS["ymmr"].w
    first = law.sample(np.random.default_rng(7), (4, 3))
    assert first.shape == (4, 3)
    assert np.array_equal(first, law.sample(np.random.default_rng(7), (4, 3)))
    assert law.sample(np.random.default_rng(7), 0).shape == (0,)


@pytest.mark.parametrize(
    "law", [Exponential(0.5), Pareto(0.235, 10.0), FITS["lnkd-disk"].w, FITS["ymmr"].a]
)
def test_repr_rebuilds_an_equal_law(law: LatencyLaw) -> None:
    assert eval(repr(law)) == law
    assert hash(eval(repr(law))) == hash(law)


@pytest.mark.parametrize(
    ("build", "parameter"),
    [
        (lambda: Exponential(0), "mean_ms"),
        (lambda: Exponential(-1.0), "mean_ms"),
        (lambda: Exponential(math.inf), "mean_ms"),
        (lambda: Exponential(math.nan), "mean_ms"),
        (lambda: Exponential("1"), "mean_ms"),
        (lambda: Exponential(True), "mean_ms"),
        (lambda: Exponential.from_rate(0), "rate_per_ms"),
        (lambda: Pareto(0, 1.0), "xm"),
        (lambda: Pareto(1.0, -2), "alpha"),
        (lambda: Mixture([]), "components"),
        (lambda: Mixture([(0.5, Exponential(1.0))]), "components"),
        (lambda: Mixture([(0.5, Exponential(1.0)), (0.6, Exponential(1.0))]), "components"),
        (lambda: Mixture([(1.0, 3.0)]), "components"),
        (lambda: Mixture([(-0.5, Exponential(1.0)), (1.5, Exponential(1.0))]), "weight"),
        (lambda: Mixture([Exponential(1.0)]), "components"),
        (lambda: Mixture(None), "components"),
        (lambda: WARS(Exponential(1.0), 1.0, Exponential(1.0), Exponential(1.0)), "a"),
        (lambda: WARS(*[Exponential(1.0)] * 4, remote_ms=-1), "remote_ms"),
        (lambda: WARS.fit("LNKD-SSD"), "name"),
        (lambda: Exponential(1.0).sample(np.random.default_rng(), -1), "size"),
        (lambda: FITS["wan"].sample(np.random.default_rng(), trials=0, n=3), "trials"),
        (lambda: FITS["wan"].sample(np.random.default_rng(), trials=1, n=0), "n"),
    ],
)
def test_bad_parameters_raise_lab_config_error(build: object, parameter: str) -> None:
    with pytest.raises(LabConfigError) as caught:
        build()  # type: ignore[operator]
    assert caught.value.parameter == parameter
    assert isinstance(caught.value, ValueError)


def test_the_fits_carry_the_published_parameters() -> None:
    """PBS Table 3, with YMMR's W alpha 3.5 as the authors' simulator has it (paper: 3.35)."""
    ssd = Mixture([(0.9122, Pareto(0.235, 10)), (0.0878, Exponential(1 / 1.66))])
    disk_w = Mixture([(0.38, Pareto(1.05, 1.51)), (0.62, Exponential(1 / 0.183))])
    ymmr_w = Mixture([(0.939, Pareto(3, 3.5)), (0.061, Exponential(1 / 0.0028))])
    ymmr_ars = Mixture([(0.982, Pareto(1.5, 3.8)), (0.018, Exponential(1 / 0.0217))])
    assert FITS["lnkd-ssd"] == WARS(ssd, ssd, ssd, ssd)
    assert FITS["lnkd-disk"] == WARS(disk_w, ssd, ssd, ssd)
    assert FITS["ymmr"] == WARS(ymmr_w, ymmr_ars, ymmr_ars, ymmr_ars)
    assert FITS["wan"] == WARS(disk_w, ssd, ssd, ssd, remote_ms=75)
    assert list(FITS) == ["lnkd-ssd", "lnkd-disk", "ymmr", "wan"]
    assert all(WARS.fit(name) is FITS[name] for name in FITS)
    with pytest.raises(TypeError):
        FITS["mine"] = FITS["wan"]  # type: ignore[index]


def test_wan_adds_the_remote_delay_outside_the_writers_and_readers_data_centres() -> None:
    """Each trial has exactly one local replica for the write (W, A) and one for the read
    (R, S); every other replica's messages take 75 ms longer."""
    local = WARS(*[Exponential(1e-9)] * 4, remote_ms=75.0)
    delays = local.sample(np.random.default_rng(3), trials=1000, n=4)
    for write_or_read in ((delays.w, delays.a), (delays.r, delays.s)):
        request, reply = write_or_read
        assert np.array_equal(request > 1, reply > 1)
        assert ((request < 1).sum(axis=1) == 1).all()
        assert np.allclose(request[request > 1], 75.0)
    # the writer's and the reader's data centres are drawn independently
    assert (delays.w.argmin(axis=1) != delays.r.argmin(axis=1)).any()
