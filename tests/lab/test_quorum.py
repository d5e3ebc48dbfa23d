"""The event-driven WARS simulation against the vectorised PBS rule, on shared draws.

Both see the same ``WARSDelays``, so no statistical tolerance is needed: the verdicts must
agree on every trial (the tie rule in ``merge.lab.quorum`` matches the rule's ``>=``).
"""

from __future__ import annotations

import pytest

np = pytest.importorskip(
    "numpy", reason="the consistency lab needs numpy: pip install crdtkit[lab]"
)

from merge.lab import (  # noqa: E402
    FITS,
    WARS,
    Exponential,
    LabConfigError,
    PBSResult,
    QuorumResult,
    WARSDelays,
    simulate_quorum,
    simulate_read_repair,
)
from merge.lab.staleness import _apply_wars  # noqa: E402

TRIALS = 3_000
EXPONENTIAL = WARS(Exponential(10.0), Exponential(1.0), Exponential(1.0), Exponential(1.0))
COMBOS = [
    # (n, r, w, fit, t_ms)
    (3, 1, 1, "lnkd-disk", 0.0),
    (3, 1, 1, "lnkd-disk", 5.0),
    (3, 1, 2, "lnkd-ssd", 0.0),
    (3, 2, 1, "ymmr", 1.0),
    (5, 1, 2, "wan", 0.0),
    (5, 2, 2, "wan", 50.0),
    (5, 1, 1, EXPONENTIAL, 2.0),
    (1, 1, 1, EXPONENTIAL, 0.0),
]


def _draw(fit: str | WARS, n: int, seed: int = 7) -> WARSDelays:
    model = WARS.fit(fit) if isinstance(fit, str) else fit
    return model.sample(np.random.default_rng(seed), trials=TRIALS, n=n)


@pytest.mark.parametrize(("n", "r", "w", "fit", "t_ms"), COMBOS)
def test_event_verdicts_match_the_vectorised_rule_trial_for_trial(
    n: int, r: int, w: int, fit: str | WARS, t_ms: float
) -> None:
    delays = _draw(fit, n)
    events = simulate_quorum(delays, r=r, w=w, t_ms=t_ms)
    rule = PBSResult.from_delays(delays, r=r, w=w).consistent_after_ms <= t_ms
    assert events.trials == TRIALS
    mismatches = np.flatnonzero(events.consistent != rule)
    assert mismatches.size == 0, f"trials disagree: {mismatches[:10]}"
    # same commit time (the same float), same read latency up to rounding of absolute times
    _, read, write = _apply_wars(delays, r=r, w=w)
    assert np.array_equal(events.commit_ms, write)
    np.testing.assert_allclose(events.read_ms, read, rtol=1e-9, atol=1e-9)


def test_the_combos_exercise_both_verdicts() -> None:
    """Guard against a vacuous agreement: some partial-quorum combos are sometimes stale."""
    delays = _draw("lnkd-disk", 3)
    p = simulate_quorum(delays, r=1, w=1, t_ms=0.0).p_consistent()
    assert 0.3 < p < 0.6  # PBS reports 43.7% for LNKD-DISK N=3 R=W=1 at t=0


@pytest.mark.parametrize("fit", sorted(FITS))
@pytest.mark.parametrize(("n", "r", "w"), [(3, 2, 2), (3, 1, 3), (3, 3, 1), (5, 3, 3), (5, 2, 4)])
def test_strict_quorums_are_always_consistent(fit: str, n: int, r: int, w: int) -> None:
    delays = WARS.fit(fit).sample(np.random.default_rng(3), trials=500, n=n)
    result = simulate_quorum(delays, r=r, w=w, t_ms=0.0)
    assert result.consistent.all()
    assert result.p_consistent() == 1.0


def test_a_write_landing_as_the_read_arrives_is_served() -> None:
    """Tie rule: at equal times the write delivery precedes the read request (``>=``)."""
    one = np.ones((1, 2))
    # replica 0: write at 1, ack at 2 -> commit 2; replica 1: write arrives at 4.
    # The read (t=0) reaches replica 1 at 2 + 2 = 4, the same instant as the write, and
    # replica 1 answers first (S = 0.5 vs 10).
    delays = WARSDelays(
        w=np.array([[1.0, 4.0]]),
        a=one,
        r=np.array([[2.0, 2.0]]),
        s=np.array([[10.0, 0.5]]),
    )
    events = simulate_quorum(delays, r=1, w=1, t_ms=0.0)
    assert events.consistent.tolist() == [True]
    assert PBSResult.from_delays(delays, r=1, w=1).consistent_after_ms.tolist() == [0.0]
    # the write landing a hair later, replica 1 serves the read without it: stale
    earlier = delays._replace(w=np.array([[1.0, 4.0 + 1e-9]]))
    assert simulate_quorum(earlier, r=1, w=1, t_ms=0.0).consistent.tolist() == [False]
    assert PBSResult.from_delays(earlier, r=1, w=1).consistent_after_ms[0] > 0.0


def test_result_is_read_only_and_summarised() -> None:
    result = simulate_quorum(_draw("lnkd-ssd", 3), r=1, w=1, t_ms=0.0)
    assert isinstance(result, QuorumResult)
    with pytest.raises(ValueError, match="read-only"):
        result.consistent[0] = False
    assert "n=3 r=1 w=1" in repr(result)


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"r": 4, "w": 1}, "r"),
        ({"r": 1, "w": 0}, "w"),
        ({"r": 1, "w": 1, "t_ms": -1.0}, "t_ms"),
        ({"r": 1, "w": 1, "t_ms": float("nan")}, "t_ms"),
    ],
)
def test_bad_configuration_is_refused(kwargs: dict[str, float], parameter: str) -> None:
    delays = _draw("lnkd-ssd", 3)
    with pytest.raises(LabConfigError, match=parameter):
        simulate_quorum(delays, **kwargs)  # type: ignore[arg-type]


def test_bad_delays_are_refused() -> None:
    with pytest.raises(LabConfigError, match="delays"):
        simulate_quorum(np.ones((2, 3)), r=1, w=1)  # type: ignore[arg-type]


REPAIR_COMBOS = [(3, 1, 1, "lnkd-disk", 0.0), (3, 1, 2, "ymmr", 0.0), (5, 2, 1, "wan", 5.0)]


@pytest.mark.parametrize(("n", "r", "w", "fit", "t_ms"), REPAIR_COMBOS)
def test_with_read_repair_a_second_read_is_never_staler(
    n: int, r: int, w: int, fit: str | WARS, t_ms: float
) -> None:
    delays, again = _draw(fit, n, seed=11), _draw(fit, n, seed=12)
    first, second = simulate_read_repair(delays, again, r=r, w=w, t_ms=t_ms, repair=True)
    assert not (first & ~second).any()
    # the first read is the protocol of simulate_quorum, unchanged by what follows it
    alone = simulate_quorum(delays, r=r, w=w, t_ms=t_ms).consistent
    assert np.array_equal(first, alone)
    # ... and repair only ever helps the second read
    _, unrepaired = simulate_read_repair(delays, again, r=r, w=w, t_ms=t_ms, repair=False)
    assert not (unrepaired & ~second).any()


def test_without_read_repair_a_fresh_read_can_be_followed_by_a_stale_one() -> None:
    delays, again = _draw("lnkd-disk", 3, seed=11), _draw("lnkd-disk", 3, seed=12)
    first, second = simulate_read_repair(delays, again, r=1, w=1, repair=False)
    assert (first & ~second).any()
    assert np.array_equal(first, simulate_quorum(delays, r=1, w=1).consistent)


def test_read_repair_refuses_mismatched_draws() -> None:
    with pytest.raises(LabConfigError, match="again"):
        simulate_read_repair(_draw("lnkd-ssd", 3), _draw("lnkd-ssd", 5), r=1, w=1)
    with pytest.raises(LabConfigError, match="again"):
        simulate_read_repair(_draw("lnkd-ssd", 3), np.ones((2, 3)), r=1, w=1)  # type: ignore[arg-type]
