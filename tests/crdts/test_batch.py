"""Batch mutators: one call, one delta, equal to the join of the single-operation deltas."""

from __future__ import annotations

from functools import reduce
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crdts import GCounter, GSet, ORSet, PNCounter, UnboundReplicaError

elements = st.lists(st.sampled_from(["a", "b", "c", "d", ("t", 1), 7, "é"]), max_size=12)
amounts = st.lists(st.integers(0, 2**20), max_size=12)


def _join(empty: Any, deltas: list[Any]) -> Any:
    return reduce(lambda joined, delta: joined | delta, deltas, empty)


def _orset(history: list[tuple[str, Any]]) -> ORSet:
    """A replica that saw adds and removes from itself and from a peer."""
    mine, peer = ORSet(replica="mine"), ORSet(replica="peer")
    for op, element in history:
        if op == "add":
            mine.add(element)
        elif op == "peer":
            mine.merge(peer.add(element))
        else:
            mine.discard(element)
    return mine


histories = st.lists(st.tuples(st.sampled_from(["add", "peer", "discard"]), st.sampled_from("abc")))


@given(histories, elements)
def test_orset_update_ships_the_join_of_the_single_add_deltas(
    history: list[tuple[str, Any]], batch: list[Any]
) -> None:
    base = _orset(history)
    batched, single = base._clone(), base._clone()
    delta = batched.update(batch)
    joined = _join(ORSet(), [single.add(element) for element in batch])
    delta._check()
    batched._check()
    assert delta == joined
    assert batched == single
    # a peer that had the base state ends where the single deltas would take it
    peer_batch, peer_single = base.copy(replica="p"), base.copy(replica="p")
    peer_batch.merge(delta)
    peer_single.merge(joined)
    assert peer_batch == peer_single == batched


@given(histories, elements)
def test_orset_difference_update_ships_the_join_of_the_single_discard_deltas(
    history: list[tuple[str, Any]], batch: list[Any]
) -> None:
    base = _orset(history)
    batched, single = base._clone(), base._clone()
    delta = batched.difference_update(batch)
    joined = _join(ORSet(), [single.discard(element) for element in batch])
    delta._check()
    assert delta == joined
    assert batched == single
    peer = base.copy(replica="p")
    peer.merge(delta)
    assert peer == batched


@given(elements)
def test_gset_update_ships_the_join_of_the_single_add_deltas(batch: list[Any]) -> None:
    batched, single = GSet(replica="a"), GSet(replica="a")
    delta = batched.update(batch)
    assert delta == _join(GSet(), [single.add(element) for element in batch])
    assert batched == single


@given(amounts, amounts)
def test_counter_batches_ship_the_join_of_the_single_deltas(
    ups: list[int], downs: list[int]
) -> None:
    # clones: one writer id, so the two histories mint the same entries
    g_batch = GCounter(replica="a")
    g_single = g_batch._clone()
    delta = g_batch.increment_many(ups)
    assert delta == _join(GCounter(), [g_single.increment(by) for by in ups])
    assert g_batch == g_single
    p_batch = PNCounter(replica="a")
    p_single = p_batch._clone()
    deltas = [p_batch.increment_many(ups), p_batch.decrement_many(downs)]
    singles = [p_single.increment(by) for by in ups] + [p_single.decrement(by) for by in downs]
    assert _join(PNCounter(), deltas) == _join(PNCounter(), singles)
    assert p_batch == p_single
    peer = PNCounter(replica="b")
    for delta in deltas:
        peer.merge(delta)
    assert peer.value == sum(ups) - sum(downs)


def test_a_bad_element_anywhere_in_a_batch_changes_nothing() -> None:
    s = ORSet(replica="a")
    s.update(["kept"])
    before = s._clone()
    with pytest.raises(ValueError):
        s.update(["x", "y", float("nan")])
    with pytest.raises(TypeError):
        s.update(["x", ["a list"]])
    with pytest.raises(TypeError):
        s.difference_update(["kept", {"unhashable"}])
    assert s == before and s._ctx == before._ctx
    # no dot was spent on the failed batches
    assert list(s.add("next")._ctx.dots()) == [(s.writer, 2)]
    g = GSet(replica="a")
    with pytest.raises(TypeError):
        g.update(["x", object()])
    assert not g.value


@pytest.mark.parametrize("cls", [GCounter, PNCounter])
def test_a_bad_amount_anywhere_in_a_batch_changes_nothing(cls: type[Any]) -> None:
    counter = cls(replica="a")
    counter.increment(5)
    with pytest.raises(ValueError):
        counter.increment_many([1, 2, -3])
    with pytest.raises(TypeError):
        counter.increment_many([1, True])
    with pytest.raises(ValueError):
        counter.increment_many([1, 2**64])  # the total would not fit the wire
    assert counter.value == 5


def test_a_batch_on_a_read_only_instance_is_refused() -> None:
    with pytest.raises(UnboundReplicaError):
        ORSet().update(["x"])
    with pytest.raises(UnboundReplicaError):
        ORSet().difference_update(["x"])
    with pytest.raises(UnboundReplicaError):
        GCounter().increment_many([1])


def test_a_batch_update_inside_a_map_is_part_of_the_map_delta() -> None:
    from crdts import ORMap

    a = ORMap(ORSet, replica="a")
    delta = a.update("k", lambda s: s.update(["x", "y"]))
    b = ORMap(ORSet, replica="b")
    b.merge(delta)
    assert b.value == {"k": frozenset({"x", "y"})}
    a._check()
