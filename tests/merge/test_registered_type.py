"""A registered user type gets everything a built-in type gets, through the public API."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test

import merge.cli as cli
from merge import Network
from merge.laws import check_crdt
from merge.registry import profile, profile_for, resolve
from merge.testing import ConvergenceMachine, check_convergence, mutators, operations, states
from tests.merge.registered_type import PROFILE, HighestBid

SPEC = "tests.merge.registered_type:HighestBid"


def test_the_profile_is_found_by_name_class_and_import_path() -> None:
    assert profile("highestbid") is PROFILE
    assert profile_for(HighestBid) is PROFILE
    assert resolve(SPEC) is PROFILE
    assert [op.name for op in mutators(HighestBid)] == ["assign"]


def test_check_crdt_and_check_convergence_need_no_ops() -> None:
    check_crdt(HighestBid, max_examples=20)
    check_convergence(HighestBid, max_examples=20)


@settings(max_examples=20)
@given(states(HighestBid), operations(HighestBid))
def test_strategies_draw_states_and_calls(state: HighestBid, call: object) -> None:
    assert isinstance(state, HighestBid)
    assert repr(call).startswith("assign(")


@settings(max_examples=10)
@given(st.data())
def test_from_type_draws_a_type_registered_after_hypothesis_was_imported(
    data: st.DataObject,
) -> None:
    state = data.draw(st.from_type(HighestBid))
    assert isinstance(state, HighestBid)
    state._check()


def test_a_convergence_machine_needs_only_the_type() -> None:
    class HighestBidConvergence(ConvergenceMachine):
        crdt_type = HighestBid

    run_state_machine_as_test(
        HighestBidConvergence, settings=settings(max_examples=10, stateful_step_count=10)
    )


def test_the_simulator_runs_its_workload() -> None:
    network = Network(HighestBid, 3, seed=4)
    rng = random.Random(4)
    for step in range(20):
        network.update(f"r{step % 3}", PROFILE.update(rng))
    network.settle()
    assert network.converged() and network.replica("r0").state.value is not None


def test_crdtkit_simulate_takes_the_import_path(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["simulate", "--type", SPEC, "--ops", "30", "--replicas", "3", "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["config"]["type"] == SPEC
    assert all(run["converged"] for run in result["runs"].values())


def test_an_unregistered_class_is_refused_with_what_to_do(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["simulate", "--type", "tests.merge.test_user_defined:MaxRegister"]) == 2
    assert "register_type" in capsys.readouterr().err
