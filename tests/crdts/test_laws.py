"""The lattice laws, checked once for every built-in type (see ``tests/registry.py``).

For states reached by random programs over three replicas: merge is commutative,
associative and idempotent; every mutation is an inflation whose delta, merged into the
state before it, gives exactly the state after it; and the deltas of a run, merged in any
order with any duplicates, rebuild the join of all replicas — metadata included.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crdts import UnboundReplicaError
from tests.registry import TYPES, ManualTime, TypeSpec, programs

pytestmark = pytest.mark.parametrize("spec", TYPES, ids=repr)


def join_all(states: list[Any], start: Any) -> Any:
    result = start
    for state in states:
        result.merge(state)
        result._check()
    return result


@given(data=st.data())
def test_merge_is_commutative_associative_idempotent(spec: TypeSpec, data: st.DataObject) -> None:
    run = data.draw(programs(spec))
    a, b, c = run.replicas
    assert a | b == b | a
    assert (a | b) | c == a | (b | c)
    assert a | a == a
    for delta in run.deltas[:5]:
        assert a | delta == delta | a
        assert (a | delta) | delta == a | delta


@given(data=st.data())
def test_every_mutation_is_an_inflation_and_its_delta_has_its_effect(
    spec: TypeSpec, data: st.DataObject
) -> None:
    run = data.draw(programs(spec))
    for replica in run.replicas:
        for _ in range(3):
            op = data.draw(st.sampled_from(spec.ops))
            before = replica.copy()
            delta = op.apply(replica, data.draw(op.args))
            replica._check()
            assert before.leq(replica)
            if delta is not None:
                assert delta.leq(replica)
                assert before | delta == replica
                assert delta.replica is None


@given(data=st.data())
def test_deltas_in_any_order_with_duplicates_rebuild_the_join(
    spec: TypeSpec, data: st.DataObject
) -> None:
    run = data.draw(programs(spec))
    expected = join_all(run.replicas, run.empty())
    shuffled = data.draw(st.permutations(run.deltas + run.deltas[: len(run.deltas) // 2]))
    assert join_all(list(shuffled), run.empty()) == expected


@given(data=st.data())
def test_merge_is_the_least_upper_bound(spec: TypeSpec, data: st.DataObject) -> None:
    run = data.draw(programs(spec))
    a, b, _ = run.replicas
    joined = a | b
    assert a.leq(joined) and b.leq(joined)
    assert a.leq(b) == (a | b == b)


def test_merging_another_type_raises_type_error(spec: TypeSpec) -> None:
    state = spec.make("r0", ManualTime())
    other_spec = TYPES[1] if spec is TYPES[0] else TYPES[0]
    other = other_spec.make("r1", ManualTime())
    with pytest.raises(TypeError):
        state.merge(other)


@given(data=st.data())
def test_an_unbound_instance_refuses_to_mutate(spec: TypeSpec, data: st.DataObject) -> None:
    state = spec.make(None, ManualTime())
    op = data.draw(st.sampled_from(spec.ops))
    with pytest.raises(UnboundReplicaError, match="replica="):
        getattr(state, op.name)(*data.draw(op.args))
