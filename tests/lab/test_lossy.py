"""Message loss and retries in the quorum simulation, checked three ways.

* Without loss it is ``simulate_quorum`` on the same draws, trial for trial (exact floats).
* With loss, a trial that lost no message is still the loss-free trial, and no replica ever
  receives the write earlier than its ``W`` draw.
* The latency cost is whole timeouts in a closed-form fraction of trials. With light-tailed
  delays (every one-way delay exponential with mean 1 ms) and a 50 ms timeout, a write and
  its acknowledgement always take less than the timeout (P(W + A > 50) = 51 e^-50, about
  1e-20), so replica i's acknowledgement arrives at J_i * timeout + W_i + A_i with J_i
  geometric: an attempt gets through with s = (1 - loss)^2. The commit takes at least k
  timeouts iff fewer than w replicas got through in k attempts:
  P(commit >= k T) = P(Binomial(n, 1 - (1 - s)^k) < w); reads likewise with r.
  Tolerance: 5 standard errors, 5 * sqrt(p (1 - p) / trials).
"""

from __future__ import annotations

import math

import pytest

np = pytest.importorskip(
    "numpy", reason="the consistency lab needs numpy: pip install crdtkit[lab]"
)

from merge.lab import (  # noqa: E402
    WARS,
    Exponential,
    LabConfigError,
    LossyQuorumReport,
    LossyQuorumResult,
    PBSResult,
    scenarios,
    simulate_lossy_quorum,
    simulate_quorum,
)
from merge.lab.lossy import lossy_quorum  # noqa: E402

LIGHT = WARS(Exponential(1.0), Exponential(1.0), Exponential(1.0), Exponential(1.0))


def _draw(fit: str | WARS, n: int, trials: int, seed: int = 5):  # type: ignore[no-untyped-def]
    model = WARS.fit(fit) if isinstance(fit, str) else fit
    return model.sample(np.random.default_rng(seed), trials=trials, n=n)


@pytest.mark.parametrize(
    ("fit", "n", "r", "w", "t_ms", "timeout_ms"),
    [
        ("lnkd-disk", 3, 1, 1, 0.0, 50.0),
        ("lnkd-disk", 3, 1, 2, 2.0, 3.0),  # a short timeout: spurious resends, same outcome
        ("ymmr", 3, 2, 1, 1.0, 20.0),
        ("wan", 5, 1, 2, 0.0, 100.0),
    ],
)
def test_without_loss_it_is_simulate_quorum_trial_for_trial(
    fit: str, n: int, r: int, w: int, t_ms: float, timeout_ms: float
) -> None:
    delays = _draw(fit, n, 1_500)
    plain = simulate_quorum(delays, r=r, w=w, t_ms=t_ms)
    lossless = simulate_lossy_quorum(delays, r=r, w=w, t_ms=t_ms, timeout_ms=timeout_ms)
    assert np.array_equal(lossless.consistent, plain.consistent)
    assert np.array_equal(lossless.commit_ms, plain.commit_ms)
    assert np.array_equal(lossless.read_ms, plain.read_ms)
    assert np.array_equal(lossless.received_ms, delays.w)
    assert (lossless.lost == 0).all()
    # the whole curve, not just the verdict at t_ms: the rule's, up to float rounding
    rule = PBSResult.from_delays(delays, r=r, w=w).consistent_after_ms
    np.testing.assert_allclose(lossless.consistent_after_ms, rule, rtol=0, atol=1e-9)


def test_a_short_timeout_resends_without_changing_the_outcome() -> None:
    delays = _draw("lnkd-disk", 3, 1_000)
    patient = simulate_lossy_quorum(delays, r=1, w=1, timeout_ms=1_000.0)
    hasty = simulate_lossy_quorum(delays, r=1, w=1, timeout_ms=1.0)
    assert patient.messages_per_trial == 12  # 4n: write, ack, read, reply per replica
    assert hasty.messages_per_trial > 12
    assert np.array_equal(hasty.consistent, patient.consistent)


def test_a_trial_that_lost_nothing_is_the_loss_free_trial() -> None:
    delays = _draw("lnkd-disk", 3, 3_000)
    lossy = simulate_lossy_quorum(delays, r=1, w=2, t_ms=1.0, loss=0.05, seed=2)
    plain = simulate_quorum(delays, r=1, w=2, t_ms=1.0)
    clean = lossy.lost == 0
    assert 0.3 < clean.mean() < 0.9  # both kinds of trial occur
    assert np.array_equal(lossy.consistent[clean], plain.consistent[clean])
    assert np.array_equal(lossy.commit_ms[clean], plain.commit_ms[clean])


def test_loss_never_brings_the_write_to_a_replica_earlier() -> None:
    delays = _draw("lnkd-disk", 3, 2_000)
    lossy = simulate_lossy_quorum(delays, r=1, w=1, loss=0.2, timeout_ms=10.0, seed=4)
    late = lossy.received_ms - delays.w
    assert (late >= 0).all()
    # a late write waited whole timeouts: k * 10 ms, up to float rounding
    waited = late[late > 0] / 10.0
    np.testing.assert_allclose(waited, np.round(waited), atol=1e-9)
    assert (np.round(waited) >= 1).all()


def _binomial_below(n: int, success: float, k: int) -> float:
    """P(Binomial(n, success) < k)."""
    return sum(math.comb(n, j) * success**j * (1 - success) ** (n - j) for j in range(k))


@pytest.mark.parametrize(("n", "r", "w", "loss"), [(3, 1, 2, 0.2), (5, 2, 3, 0.1), (1, 1, 1, 0.3)])
def test_retries_cost_whole_timeouts_in_the_closed_form_fraction_of_trials(
    n: int, r: int, w: int, loss: float
) -> None:
    trials, timeout = 8_000, 50.0
    delays = _draw(LIGHT, n, trials, seed=11)
    result = simulate_lossy_quorum(delays, r=r, w=w, loss=loss, timeout_ms=timeout, seed=3)
    through = (1 - loss) ** 2  # an attempt's request and response both arrive
    for op, values, quorum in (("write", result.commit_ms, w), ("read", result.read_ms, r)):
        for k in (1, 2):
            expected = _binomial_below(n, 1 - (1 - through) ** k, quorum)
            observed = float((values >= k * timeout).mean())
            tolerance = 5 * math.sqrt(expected * (1 - expected) / trials) + 1e-12
            assert abs(observed - expected) <= tolerance, (op, k, observed, expected)
    # and each retry's whole cost is the timeout: what is left is under one timeout
    assert ((result.commit_ms % timeout) < timeout / 2).mean() > 0.999


def test_loss_stretches_staleness_to_the_timeout() -> None:
    """A lost write leaves its replica stale for a whole timeout: at t near the timeout the
    lossy store is far staler than the loss-free one on the same draws."""
    delays = _draw("lnkd-disk", 3, 5_000)
    free = PBSResult.from_delays(delays, r=1, w=1)
    lossy = simulate_lossy_quorum(delays, r=1, w=1, loss=0.2, timeout_ms=100.0, seed=1)
    for t in (10.0, 50.0, 99.0):
        assert lossy.p_consistent_at(t) < free.p_consistent(t) - 0.03
    assert lossy.p_consistent_at(10_000.0) == 1.0  # every write arrives in the end


def test_at_t0_a_lost_acknowledgement_can_make_reads_look_fresher() -> None:
    """Not "never fresher": t counts from the commit, and a lost acknowledgement or read
    request delays the commit or the read, giving the write time to spread. With LNKD-DISK
    (slow writes, fast reads) at 20% loss, more reads at t=0 see the write than without loss:
    about 0.49 against 0.44 here, about 9 standard errors apart."""
    delays = _draw("lnkd-disk", 3, 5_000)
    free = PBSResult.from_delays(delays, r=1, w=1)
    lossy = simulate_lossy_quorum(delays, r=1, w=1, loss=0.2, timeout_ms=100.0, seed=1)
    assert lossy.p_consistent_at(0.0) > free.p_consistent(0.0) + 0.03


def test_the_curve_never_decreases_and_agrees_with_the_verdict_at_t() -> None:
    delays = _draw("ymmr", 3, 2_000)
    for t_ms in (0.0, 5.0):
        result = simulate_lossy_quorum(delays, r=1, w=1, t_ms=t_ms, loss=0.1, seed=8)
        assert np.array_equal(result.consistent, result.consistent_after_ms <= t_ms)
        curve = [result.p_consistent_at(t) for t in (0, 1, 5, 20, 100, 1000)]
        assert curve == sorted(curve)
    # the losses do not depend on t_ms: the same trials, read later
    early = simulate_lossy_quorum(delays, r=1, w=1, t_ms=0.0, loss=0.1, seed=8)
    late = simulate_lossy_quorum(delays, r=1, w=1, t_ms=5.0, loss=0.1, seed=8)
    assert np.array_equal(early.commit_ms, late.commit_ms)
    np.testing.assert_allclose(early.consistent_after_ms, late.consistent_after_ms, atol=1e-9)


def test_strict_quorums_stay_consistent_under_loss() -> None:
    delays = _draw("lnkd-disk", 3, 1_000)
    result = simulate_lossy_quorum(delays, r=2, w=2, loss=0.3, timeout_ms=5.0)
    assert result.consistent.all()
    assert result.p_consistent_at(0) == 1.0


def test_the_result_summarises_latency_and_messages() -> None:
    delays = _draw("lnkd-disk", 3, 1_000)
    result = simulate_lossy_quorum(delays, r=1, w=1, loss=0.1, timeout_ms=20.0, seed=1)
    assert isinstance(result, LossyQuorumResult)
    summary = result.as_dict()
    assert summary["loss"] == 0.1 and summary["trials"] == 1_000
    assert summary["latency_ms"]["write"]["0.999"] >= 20.0
    assert summary["messages_per_trial"] > 12 and summary["lost_per_trial"] > 0
    assert "loss=0.1" in repr(result)
    with pytest.raises(ValueError, match="read-only"):
        result.messages[0] = 0


@pytest.mark.parametrize(
    ("options", "parameter"),
    [
        ({"loss": 1.0}, "loss"),
        ({"loss": -0.1}, "loss"),
        ({"timeout_ms": 0}, "timeout_ms"),
        ({"timeout_ms": float("inf")}, "timeout_ms"),
        ({"seed": -1}, "seed"),
        ({"t_ms": -1.0}, "t_ms"),
        ({"r": 4}, "r"),
    ],
)
def test_bad_parameters_are_refused(options: dict[str, object], parameter: str) -> None:
    delays = _draw("lnkd-disk", 3, 10)
    arguments: dict[str, object] = {"r": 1, "w": 1, **options}
    with pytest.raises(LabConfigError) as caught:
        simulate_lossy_quorum(delays, **arguments)  # type: ignore[arg-type]
    assert caught.value.parameter == parameter


def test_the_lossy_quorum_scenario() -> None:
    assert "lossy-quorum" in {entry.name for entry in scenarios()}
    seen: list[tuple[int, int]] = []
    report = lossy_quorum(
        trials=2_000, loss=0.05, timeout_ms=20.0, seed=3, progress=lambda *a: seen.append(a)
    )
    assert isinstance(report, LossyQuorumReport)
    assert seen[-1] == (2_000, 2_000)
    summary = report.as_dict()
    assert summary["fit"] == "lnkd-disk"
    assert summary["loss_free"]["messages_per_trial"] == 12
    assert set(summary["p_consistent"]) == {"0.0", "1.0", "10.0", "100.0"}
    text = report.report()
    assert "P(consistent at 10 ms)" in text and "messages per trial" in text
    with pytest.raises(LabConfigError):
        lossy_quorum(fit="lnkd-hdd")  # type: ignore[arg-type]
