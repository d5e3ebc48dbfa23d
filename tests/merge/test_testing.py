"""merge.testing: strategies for every built-in type, schedules, convergence checks, the
state machine base, the reference models and the Hypothesis entry point."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import crdts
from clocks import HLC
from merge import Siblings
from merge.testing import (
    Call,
    ConvergenceMachine,
    Delivery,
    HistoryRegister,
    ManualTime,
    Op,
    check_convergence,
    histories,
    mutators,
    operations,
    schedules,
    states,
)
from tests.merge.builtin import every_builtin_type

# -- operations --------------------------------------------------------------------------------


@every_builtin_type
@settings(max_examples=30)
@given(data=st.data())
def test_operations_run_on_every_builtin_type(crdt_type: Any, data: st.DataObject) -> None:
    state = (crdt_type if isinstance(crdt_type, type) else crdt_type.copy)(replica="r0")
    for _ in range(5):
        call = data.draw(operations(crdt_type))
        delta = call(state)
        state._check()
        assert delta is None or type(delta) is type(state)


def test_a_call_reads_like_the_mutation_and_a_failed_precondition_is_a_no_op() -> None:
    call = Call("remove", ("milk",))
    assert repr(call) == "remove('milk')"
    assert call(crdts.ORSet(replica="a")) is None  # KeyError: nothing to remove
    assert Op("add", st.just(("x",))).apply(crdts.GSet(replica="a"), ("x",)) is not None


def test_mutators_names_the_builtin_mutators_and_refuses_unknown_types() -> None:
    assert [op.name for op in mutators(crdts.Cart)] == ["add", "remove", "discard"]
    assert [op.name for op in mutators(crdts.ORMap(crdts.ORSet))] == ["update", "remove", "discard"]

    class MySet(crdts.ORSet):
        pass

    assert [op.name for op in mutators(MySet)] == ["add", "remove", "discard", "clear"]
    with pytest.raises(TypeError, match=r"ORMap\(ORSet\)"):
        mutators(crdts.ORMap)
    with pytest.raises(TypeError, match="ops="):
        mutators(crdts.CRDT)


# -- states and histories ----------------------------------------------------------------------


@every_builtin_type
@settings(max_examples=15)
@given(data=st.data())
def test_states_draws_mergeable_replicas(crdt_type: Any, data: st.DataObject) -> None:
    a, b = data.draw(states(crdt_type)), data.draw(states(crdt_type))
    cls = crdt_type if isinstance(crdt_type, type) else type(crdt_type)
    assert type(a) is cls and type(b) is cls
    assert a.replica != b.replica  # each draw is its own writer...
    joined = a | b  # ...of one history, so they merge
    joined._check()
    assert a.leq(joined) and b.leq(joined)


@settings(max_examples=20)
@given(data=st.data())
def test_from_type_works_for_every_builtin_type_and_siblings(data: st.DataObject) -> None:
    for name in crdts.__all__:
        cls = getattr(crdts, name)
        if isinstance(cls, type) and issubclass(cls, crdts.CRDT) and cls is not crdts.CRDT:
            state = data.draw(st.from_type(cls))
            assert isinstance(state, cls)
            state._check()
    store = data.draw(st.from_type(Siblings))
    assert isinstance(store, Siblings)
    store._check()


@given(st.data())
def test_more_draws_than_replicas_fork_new_writers(data: st.DataObject) -> None:
    drawn = [data.draw(st.from_type(crdts.ORSet)) for _ in range(5)]
    assert [state.replica for state in drawn] == ["r0", "r1", "r2", "r3", "r4"]
    for state in drawn:
        _ = state.add("x")  # each writes with its own id: no dot is minted twice
    joined = drawn[0]
    for state in drawn[1:]:
        joined.merge(state)
    joined._check()


@settings(max_examples=20)
@given(histories(crdts.PNCounter, replicas=2, max_steps=10))
def test_histories_hold_replicas_and_deltas_of_one_run(history: Any) -> None:
    assert [state.replica for state in history.replicas] == ["r0", "r1"]
    joined = history.empty()
    for delta in history.deltas:
        joined.merge(delta)
    for state in history.replicas:
        assert state.leq(joined)  # every replica's state comes from the deltas
    assert history.empty().value == 0 and history.empty().replica is None


def test_states_refuses_non_crdt_types() -> None:
    with pytest.raises(TypeError):
        states(dict)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="no ops"):
        states(Siblings, [Op("put", st.just(()))])


# -- schedules ---------------------------------------------------------------------------------


@given(st.integers(0, 6), st.integers(0, 2), st.integers(0, 2), st.data())
def test_a_schedule_delivers_every_message_at_least_once(
    messages: int, duplicates: int, losses: int, data: st.DataObject
) -> None:
    schedule = data.draw(schedules(messages, max_duplicates=duplicates, max_losses=losses))
    for message in range(messages):
        arrivals = [d for d in schedule if d.message == message and not d.lost]
        lost = [d for d in schedule if d.message == message and d.lost]
        assert 1 <= len(arrivals) <= 1 + duplicates and len(lost) <= losses
    assert all(0 <= delivery.message < messages for delivery in schedule)


@given(schedules(4, max_duplicates=0, max_losses=0))
def test_without_duplicates_or_losses_a_schedule_is_a_permutation(schedule: Any) -> None:
    assert sorted(schedule) == [Delivery(i) for i in range(4)]


def test_schedules_validate_their_arguments() -> None:
    with pytest.raises(ValueError, match="messages"):
        schedules(-1)
    with pytest.raises(ValueError, match="max_losses"):
        schedules(2, max_losses=True)


# -- convergence -------------------------------------------------------------------------------


@every_builtin_type
@pytest.mark.parametrize("sync", ["delta", "state"])
def test_every_builtin_type_converges(crdt_type: Any, sync: str) -> None:
    check_convergence(crdt_type, sync=sync, max_examples=12, max_steps=20)


def test_check_convergence_validates_its_options() -> None:
    with pytest.raises(ValueError, match="replicas"):
        check_convergence(crdts.GCounter, replicas=1)
    with pytest.raises(ValueError, match="sync"):
        check_convergence(crdts.GCounter, sync="ops")


class CartConvergence(ConvergenceMachine):
    crdt_type = crdts.Cart


class NestedMapConvergence(ConvergenceMachine):
    crdt_type = crdts.ORMap(crdts.ORMap(crdts.MVRegister))
    replicas = 2
    sync = "state"


TestCartConvergence = CartConvergence.TestCase
TestCartConvergence.settings = settings(max_examples=15, stateful_step_count=20)
TestNestedMapConvergence = NestedMapConvergence.TestCase
TestNestedMapConvergence.settings = settings(max_examples=10, stateful_step_count=20)


# -- reference models --------------------------------------------------------------------------


@settings(max_examples=100)
@given(data=st.data())
def test_mvregister_matches_the_full_history_register(data: st.DataObject) -> None:
    count = 3
    pairs = [(crdts.MVRegister(replica=f"r{i}"), HistoryRegister(f"r{i}")) for i in range(count)]
    sent: list[tuple[Any, HistoryRegister]] = []
    for step in range(data.draw(st.integers(1, 30))):
        register, model = pairs[data.draw(st.integers(0, count - 1))]
        kind = data.draw(st.sampled_from(["assign", "assign", "merge", "deliver"]))
        if kind == "assign":
            sent.append((register.assign(step), model.assign(step)))
        elif kind == "merge":
            other, other_model = pairs[data.draw(st.integers(0, count - 1))]
            register.merge(other)
            model.merge(other_model)
        elif sent:
            delta, model_delta = data.draw(st.sampled_from(sent))
            register.merge(delta)
            model.merge(model_delta)
        register._check()
        assert register.values == model.values


@settings(max_examples=100)
@given(data=st.data())
def test_lwwregister_matches_the_latest_write_of_the_full_history(data: st.DataObject) -> None:
    time = ManualTime()
    pairs = [
        (crdts.LWWRegister(replica=r, clock=HLC(r, now=time)), HistoryRegister(r))
        for r in ("a", "b", "c")
    ]
    sent: list[tuple[Any, HistoryRegister]] = []
    for step in range(data.draw(st.integers(1, 30))):
        register, model = pairs[data.draw(st.integers(0, 2))]
        kind = data.draw(st.sampled_from(["assign", "merge", "deliver", "tick"]))
        if kind == "assign":
            delta = register.assign(step)
            sent.append((delta, model.assign(step, timestamp=register.timestamp)))
        elif kind == "merge":
            other, other_model = pairs[data.draw(st.integers(0, 2))]
            register.merge(other)
            model.merge(other_model)
        elif kind == "deliver" and sent:
            delta, model_delta = data.draw(st.sampled_from(sent))
            register.merge(delta)
            model.merge(model_delta)
        else:
            time.time += data.draw(st.integers(0, 2))
        assert register.value == model.latest


def test_the_models_are_still_importable_from_tests_models() -> None:
    from merge.testing import TombstoneSet
    from tests import models

    assert models.TombstoneSet is TombstoneSet and models.HistoryRegister is HistoryRegister


# -- packaging: the entry point and the optional dependency ------------------------------------


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize(
    "first_import",
    ["import merge.testing", "import merge.laws", "import hypothesis", "import merge"],
)
def test_from_type_works_whatever_is_imported_first(first_import: str) -> None:
    result = run_python(
        f"{first_import}\n"
        "from hypothesis import given, settings, strategies as st\n"
        "import crdts\n"
        "@settings(max_examples=5)\n"
        "@given(st.from_type(crdts.GCounter))\n"
        "def test(counter):\n"
        "    assert isinstance(counter, crdts.GCounter)\n"
        "test()\n"
        "print('ok')\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


BLOCK_HYPOTHESIS = """
import sys
class NoHypothesis:
    def find_spec(self, name, path=None, target=None):
        if name == "hypothesis" or name.startswith("hypothesis."):
            raise ModuleNotFoundError(f"No module named {name!r}")
sys.meta_path.insert(0, NoHypothesis())
"""


def test_merge_imports_without_hypothesis() -> None:
    result = run_python(
        BLOCK_HYPOTHESIS + "import merge\n"
        "from merge import Siblings, resolvers\n"
        "assert 'hypothesis' not in sys.modules\n"
        "try:\n"
        "    import merge.laws\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    assert result.returncode == 0, result.stderr
    assert "pip install crdtkit[testing]" in result.stdout
