"""GSet and TwoPSet: Shapiro et al. 2011 Specifications 11 and 12 (union merge; a 2P-set's
remove wins and never lets an element back), their deltas, wire hooks and lattice laws."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crdts.errors import UnboundReplicaError
from crdts.gset import GSet
from crdts.twopset import TwoPSet
from tests.registry import merged

REPLICAS = ("a", "b", "c")
ELEMENTS = ("x", "y", ("t", 1), 2, b"z", None)
SetType = GSet | TwoPSet


# -- GSet ------------------------------------------------------------------------------------


def test_a_gset_holds_every_element_added_and_supports_in_len_and_iteration() -> None:
    s = GSet(replica="a")
    for element in ("x", ("t", 1), "x"):
        s.add(element)
        s._check()
    assert s.value == frozenset({"x", ("t", 1)})
    assert "x" in s and "nope" not in s
    assert len(s) == 2
    assert set(s) == {"x", ("t", 1)}


def test_gsets_merge_by_union() -> None:
    a, b = GSet(replica="a"), GSet(replica="b")
    a.add("x")
    b.add("y")
    a.merge(b)
    b.merge(a)
    assert a == b and a.value == frozenset({"x", "y"})


def test_a_gset_add_returns_a_delta_holding_just_that_element() -> None:
    s = GSet(replica="a")
    s.add("x")
    delta = s.add("y")
    delta._check()
    assert delta.replica is None and delta.value == frozenset({"y"})


@pytest.mark.parametrize("element", [["list"], {"a": 1}, {1}, float("nan"), 2**64, ("ok", [1])])
@pytest.mark.parametrize("set_type", [GSet, TwoPSet])
def test_unsupported_elements_are_refused_and_change_nothing(
    set_type: type[SetType], element: Any
) -> None:
    s = set_type(replica="a")
    with pytest.raises((TypeError, ValueError)):
        s.add(element)
    s._check()
    assert s == set_type()


# -- TwoPSet ---------------------------------------------------------------------------------


def test_a_twopset_adds_and_removes() -> None:
    s = TwoPSet(replica="a")
    s.add("x")
    s.add("y")
    s.remove("x")
    s._check()
    assert s.value == frozenset({"y"})
    assert "x" not in s and "y" in s and len(s) == 1
    assert list(s) == ["y"]


def test_a_remove_wins_over_a_concurrent_add_of_the_same_element() -> None:
    a, b = TwoPSet(replica="a"), TwoPSet(replica="b")
    b.merge(a.add("x"))
    removal = a.remove("x")
    concurrent_add = b.add("x")  # b has not heard of the removal: accepted locally
    b._check()
    assert "x" in b
    b.merge(removal)
    a.merge(concurrent_add)
    for s in (a, b):
        s._check()
        assert "x" not in s
    assert a == b


def test_a_removed_element_can_never_be_re_added() -> None:
    s = TwoPSet(replica="a")
    s.add("x")
    s.remove("x")
    with pytest.raises(ValueError, match="re-added"):
        s.add("x")
    s._check()
    assert "x" not in s


def test_a_replica_that_learns_of_a_removal_refuses_the_re_add_too() -> None:
    a, b = TwoPSet(replica="a"), TwoPSet(replica="b")
    a.add("x")
    b.merge(a.remove("x"))  # the removal delta arrives before any add at b
    b._check()
    assert "x" not in b
    with pytest.raises(ValueError):
        b.add("x")


def test_removing_an_absent_element_is_a_key_error_and_discard_is_not() -> None:
    s = TwoPSet(replica="a")
    with pytest.raises(KeyError):
        s.remove("x")
    assert s.discard("x") == TwoPSet()
    s.add("x")
    s.remove("x")
    with pytest.raises(KeyError):
        s.remove("x")  # removed already: absent
    assert s.discard("x") == TwoPSet()
    s._check()


def test_discard_of_a_present_element_removes_it_like_remove() -> None:
    s, t = TwoPSet(replica="a"), TwoPSet(replica="b")
    s.add("x")
    t.add("x")
    assert s.discard("x") == t.remove("x")
    assert s == t


def test_a_twopset_remove_delta_is_a_valid_state_that_removes_the_element_anywhere() -> None:
    s = TwoPSet(replica="a")
    s.add("x")
    delta = s.remove("x")
    delta._check()  # removed within added
    peer = TwoPSet(replica="p")
    peer.merge(delta)
    assert "x" not in peer and len(peer) == 0


# -- shared behaviour ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("set_type", "mutate"),
    [
        (GSet, lambda s: s.add("x")),
        (TwoPSet, lambda s: s.add("x")),
        (TwoPSet, lambda s: s.remove("x")),
        (TwoPSet, lambda s: s.discard("x")),
    ],
)
def test_an_unbound_set_refuses_to_mutate(set_type: type[SetType], mutate: Any) -> None:
    s = set_type()
    with pytest.raises(UnboundReplicaError, match="replica="):
        mutate(s)
    bound = set_type(replica="a")
    bound.add("x")
    with pytest.raises(UnboundReplicaError):
        mutate(set_type._from_wire(bound._to_wire()))
    with pytest.raises(UnboundReplicaError):
        mutate(bound.copy(replica=None))


def test_merging_another_set_type_is_a_type_error() -> None:
    g, two = GSet(replica="a"), TwoPSet(replica="a")
    with pytest.raises(TypeError, match="TwoPSet"):
        g.merge(two)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        two.merge(g)  # type: ignore[arg-type]


def test_equality_is_state_not_value() -> None:
    removed, empty = TwoPSet(replica="a"), TwoPSet(replica="b")
    removed.add("x")
    removed.remove("x")
    assert removed.value == empty.value
    assert removed != empty
    assert GSet(replica="a") == GSet(replica="b")


# -- generated histories ---------------------------------------------------------------------

operations = st.lists(
    st.one_of(
        st.tuples(
            st.sampled_from(REPLICAS),
            st.sampled_from(["add", "remove", "discard"]),
            st.sampled_from(ELEMENTS),
        ),
        st.tuples(st.sampled_from(REPLICAS), st.just("merge"), st.sampled_from(REPLICAS)),
    ),
    max_size=25,
)


def run(ops: list[tuple[str, str, Any]]) -> dict[str, Any]:
    """Apply ``ops`` to one TwoPSet per replica id (checking that refused ones raise and
    change nothing); return the replicas."""
    replicas: dict[str, Any] = {r: TwoPSet(replica=r) for r in REPLICAS}
    for replica, op, arg in ops:
        state = replicas[replica]
        if op == "merge":
            state.merge(replicas[arg])
        elif op == "add" and arg in state._removed:
            with pytest.raises(ValueError):
                state.add(arg)
        elif op == "remove" and arg not in state:
            with pytest.raises(KeyError):
                state.remove(arg)
        else:
            getattr(state, op)(arg)
        state._check()
    return replicas


@given(operations)
def test_twopset_merged_value_is_everything_added_minus_everything_removed(
    ops: list[tuple[str, str, Any]],
) -> None:
    replicas = run(ops)
    everything = merged(*replicas.values())
    added = {e for s in replicas.values() for e in s._added}
    removed = {e for s in replicas.values() for e in s._removed}
    assert everything.value == frozenset(added - removed)


# -- wire hooks ------------------------------------------------------------------------------


def test_equal_sets_built_in_different_orders_have_equal_wire_structures() -> None:
    one, two = TwoPSet(replica="a"), TwoPSet(replica="b")
    for element in ELEMENTS:
        one.add(element)
    for element in reversed(ELEMENTS):
        two.add(element)
    one.remove("x")
    two.remove("x")
    wire = one._to_wire()
    assert wire == two._to_wire()
    assert wire[1] == ["x"]
    present = wire[0]
    assert present == sorted(present, key=msgpack.packb)
    assert ["t", 1] in present  # tuples travel as arrays


@pytest.mark.parametrize(
    "data",
    [None, "x", [["t", {"a": 1}]], [{"a": 1}], ["x", "x"], [float("nan")], [2**64]],
)
def test_a_malformed_gset_structure_is_a_value_error(data: Any) -> None:
    with pytest.raises(ValueError):
        GSet._from_wire(data)


@pytest.mark.parametrize("data", [None, [["x"]], [["x"], ["x"]], [["x"], ["y"], []], [[], None]])
def test_a_malformed_twopset_structure_is_a_value_error(data: Any) -> None:
    with pytest.raises(ValueError):
        TwoPSet._from_wire(data)
