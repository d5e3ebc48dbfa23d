"""CRDT replicas of the simulation core under the PBS latency laws.

The runs are seeded, so the figures are exact for a seed; the assertions are about what must
hold for every seed (nothing lost, states equal, visibility never decreasing, never faster
than the latency law allows) or about wide margins (delta sends fewer bytes than full states
of a growing set).
"""

from __future__ import annotations

import pytest

np = pytest.importorskip(
    "numpy", reason="the consistency lab needs numpy: pip install crdtkit[lab]"
)

from merge.lab import (  # noqa: E402
    CRDTReplicasResult,
    LabConfigError,
    scenarios,
    simulate_crdt_replicas,
)
from merge.lab.crdt_replicas import crdt_replicas  # noqa: E402

SMALL = {"updates": 60, "seed": 3}


@pytest.mark.parametrize("sync", ["delta", "state"])
@pytest.mark.parametrize("crdt", ["gcounter", "orset"])
def test_no_acknowledged_update_is_lost_even_on_a_lossy_wire(crdt: str, sync: str) -> None:
    """Every update is acknowledged to its client when made at its replica; with a fifth of
    all messages lost every replica still ends with every update, and all end equal (the
    simulation itself fails loudly otherwise)."""
    result = simulate_crdt_replicas(crdt, sync=sync, loss=0.2, **SMALL)  # type: ignore[arg-type]
    assert result.lost_updates == 0
    assert result.converged
    assert result.p_all(10_000) == 1.0
    # only late: every update reached every replica after a finite, recorded delay
    assert np.isfinite(result.visible_after_ms).all()


def test_visibility_grows_with_t_and_starts_at_the_origin() -> None:
    result = simulate_crdt_replicas("gcounter", n=4, **SMALL)
    assert result.p_all(0) == 0.0  # a message takes at least one tick
    assert result.p_one(0) == 0.25  # only the origin holds an update at once
    times = [0, 1, 5, 10, 20, 50, 100, 1_000]
    for curve in (result.p_all, result.p_one):
        values = [curve(t) for t in times]
        assert values == sorted(values)
    assert all(result.p_one(t) >= result.p_all(t) for t in times)
    assert (result.visible_after_ms.min(axis=1) == 0).all()  # the origin's column
    assert result.t_visibility(0.5, at="one") <= result.t_visibility(0.5)


def test_the_wan_adds_its_75_ms_to_every_hop() -> None:
    result = simulate_crdt_replicas("gcounter", fit="wan", **SMALL)
    others = result.visible_after_ms[result.visible_after_ms > 0]
    assert others.min() >= 76  # 75 ms plus a message of at least one 1 ms tick
    assert result.p_all(75) == 0.0


def test_delta_ships_fewer_bytes_than_state_for_a_growing_set() -> None:
    delta = simulate_crdt_replicas("orset", sync="delta", **SMALL)
    state = simulate_crdt_replicas("orset", sync="state", **SMALL)
    assert delta.full_states == 0 and state.full_states > 0
    assert delta.bytes * 3 < state.bytes
    # and with fanout 1, gossip reaches all replicas later than delta sent to every peer
    assert state.t_visibility(0.5) > delta.t_visibility(0.5)


def test_a_seed_replays_exactly() -> None:
    first = simulate_crdt_replicas("orset", loss=0.1, **SMALL)
    again = simulate_crdt_replicas("orset", loss=0.1, **SMALL)
    assert np.array_equal(first.visible_after_ms, again.visible_after_ms)
    assert first.as_dict() == again.as_dict()


def test_visibility_is_in_whole_ticks() -> None:
    result = simulate_crdt_replicas("gcounter", tick_ms=0.5, updates=30, seed=1)
    ticks = result.visible_after_ms / 0.5
    assert np.array_equal(ticks, np.round(ticks))
    assert result.interval_ms == 10.0


def test_the_result_summarises_visibility_and_cost() -> None:
    result = simulate_crdt_replicas("gcounter", **SMALL)
    assert isinstance(result, CRDTReplicasResult)
    summary = result.as_dict()
    assert summary["updates"] == 60 and summary["lost_updates"] == 0
    assert summary["bytes_per_update"] == result.bytes / 60
    assert set(summary["p_all"]) == {"0", "10", "100", "1000"}
    assert "bytes/update" in repr(result)
    with pytest.raises(ValueError, match="read-only"):
        result.visible_after_ms[0, 0] = 1.0


@pytest.mark.parametrize(
    ("options", "parameter"),
    [
        ({"crdt": "lwwregister"}, "crdt"),
        ({"sync": "gossip"}, "sync"),
        ({"fit": "lnkd-hdd"}, "name"),
        ({"n": 1}, "n"),
        ({"loss": 1.0}, "loss"),
        ({"fanout": 3}, "fanout"),
        ({"tick_ms": 0}, "tick_ms"),
        ({"updates": 0}, "updates"),
    ],
)
def test_bad_parameters_are_refused(options: dict[str, object], parameter: str) -> None:
    with pytest.raises(LabConfigError) as caught:
        simulate_crdt_replicas(**options)  # type: ignore[arg-type]
    assert caught.value.parameter == parameter


def test_the_crdt_replicas_scenario() -> None:
    assert "crdt-replicas" in {entry.name for entry in scenarios()}
    seen: list[tuple[int, int]] = []
    result = crdt_replicas(updates=32, progress=lambda *a: seen.append(a))
    assert seen[-1] == (32, 32)
    assert result.as_dict()["converged"] is True


def test_a_lost_update_would_fail_the_run_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    """The final check is live: a workload whose replicas end short of the expected value
    (as if an update had been lost) raises instead of reporting figures."""
    from merge.lab import crdt_replicas as module

    workload = module.WORKLOADS["gcounter"]
    broken = module._Workload(workload.template, workload.update, lambda made: made + 1)
    monkeypatch.setitem(module.WORKLOADS, "gcounter", broken)  # type: ignore[arg-type]
    with pytest.raises(AssertionError, match="crdtkit bug"):
        simulate_crdt_replicas("gcounter", updates=5)
