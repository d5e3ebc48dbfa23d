"""k-staleness: the exact closed form against hand-computed fractions and brute force."""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from merge.lab import LabConfigError, k_staleness


def brute_force(n: int, r: int, w: int, k: int) -> Fraction:
    """Enumerate every read quorum and every k-tuple of write quorums, uniformly weighted:
    the fraction in which the read quorum meets at least one of the k write quorums."""
    replicas = range(n)
    reads = [set(quorum) for quorum in itertools.combinations(replicas, r)]
    writes = [set(quorum) for quorum in itertools.combinations(replicas, w)]
    hits = total = 0
    for read in reads:
        for last_k in itertools.product(writes, repeat=k):
            total += 1
            hits += any(read & write for write in last_k)
    return Fraction(hits, total)


@pytest.mark.parametrize(
    ("n", "r", "w", "k", "expected"),
    [
        (3, 1, 1, 1, Fraction(1, 3)),
        (3, 1, 1, 2, Fraction(5, 9)),
        (3, 1, 1, 3, Fraction(19, 27)),
        (3, 1, 2, 1, Fraction(2, 3)),
        (3, 2, 1, 2, Fraction(8, 9)),
        (5, 2, 2, 1, Fraction(7, 10)),
        (5, 2, 2, 2, Fraction(91, 100)),
    ],
)
def test_matches_the_fractions_computed_by_hand(
    n: int, r: int, w: int, k: int, expected: Fraction
) -> None:
    assert k_staleness(n, r, w, k) == float(expected)


@given(st.data())
def test_equals_brute_force_enumeration_of_quorums(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 5), label="n")
    r = data.draw(st.integers(1, n), label="r")
    w = data.draw(st.integers(1, n), label="w")
    k = data.draw(st.integers(1, 3), label="k")
    assert k_staleness(n, r, w, k) == float(brute_force(n, r, w, k))


@given(st.integers(1, 30).flatmap(lambda n: st.tuples(st.just(n), st.integers(1, n))))
def test_strict_quorums_always_return_the_latest_version(config: tuple[int, int]) -> None:
    n, r = config
    for w in range(n - r + 1, n + 1):
        assert k_staleness(n, r, w, 1) == 1.0


def test_the_papers_large_partial_quorum() -> None:
    """PBS quotes p_s = 1.88e-6 for N=100, R=W=30."""
    assert f"{1 - k_staleness(100, 30, 30):.3g}" == "1.88e-06"


def test_more_versions_are_never_less_likely() -> None:
    probabilities = [k_staleness(7, 2, 2, k) for k in range(1, 20)]
    assert probabilities == sorted(probabilities)


@pytest.mark.parametrize(
    ("args", "parameter"),
    [
        ((0, 1, 1, 1), "n"),
        ((3, 0, 1, 1), "r"),
        ((3, 1, 4, 1), "w"),
        ((3, 1, 1, 0), "k"),
        ((3.0, 1, 1, 1), "n"),
        ((3, True, 1, 1), "r"),
    ],
)
def test_refuses_impossible_configurations(args: tuple[object, ...], parameter: str) -> None:
    with pytest.raises(LabConfigError) as caught:
        k_staleness(*args)  # type: ignore[arg-type]
    assert caught.value.parameter == parameter
    assert isinstance(caught.value, ValueError)
