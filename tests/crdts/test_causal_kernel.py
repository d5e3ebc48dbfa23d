"""The causal kernel: compact contexts, out-of-order deltas, bounded metadata, shared ids."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crdts import Cart, DotConflictError, MVRegister, ORMap, ORSet
from crdts._base import CRDT
from crdts._causal import CausalContext, CausalCRDT
from tests.registry import TYPES, ManualTime, TypeSpec, programs


def test_a_context_that_has_seen_every_dot_of_a_replica_stores_one_integer() -> None:
    context = CausalContext()
    for counter in [3, 1, 5, 2, 4]:
        context.add("a", counter)
        context._check()
    assert context.vv == {"a": 5}
    assert context.cloud == {}
    assert context.size() == 1


def test_isolated_dots_wait_in_the_cloud_until_the_gap_fills() -> None:
    context = CausalContext()
    context.add("a", 2)
    context.add("a", 4)
    # the cloud holds runs as half-open bounds: [2, 3) and [4, 5)
    assert context.vv == {} and context.cloud == {"a": [2, 3, 4, 5]}
    assert (("a", 2) in context, ("a", 1) in context, ("a", 3) in context) == (True, False, False)
    context.add("a", 1)
    assert context.vv == {"a": 2} and context.cloud == {"a": [4, 5]}
    context._check()


#: two dot lists over overlapping replicas, for the context tests
TWO_DOT_LISTS = (
    st.lists(st.tuples(st.sampled_from("ab"), st.integers(1, 12)), max_size=30),
    st.lists(st.tuples(st.sampled_from("abc"), st.integers(1, 12)), max_size=30),
)


def context_of(dots: list[tuple[str, int]]) -> CausalContext:
    context = CausalContext()
    for replica, counter in dots:
        context.add(replica, counter)
    return context


@given(*TWO_DOT_LISTS)
def test_context_join_is_the_union_of_dots_and_stays_compact(
    left: list[tuple[str, int]], right: list[tuple[str, int]]
) -> None:
    a, b = context_of(left), context_of(right)
    a.join(b)
    a._check()
    assert set(a.dots()) == set(left) | set(right)


def test_next_counter_never_reuses_a_dot_held_in_the_cloud() -> None:
    context = CausalContext()
    context.add("a", 3)
    assert context.next_counter("a") == 4


def _history() -> tuple[ORSet, list[ORSet]]:
    """x added, y added, x removed, x added again, z added, y removed."""
    source = ORSet(replica="a")
    deltas = [source.add("x"), source.add("y"), source.remove("x"), source.add("x")]
    deltas += [source.add("z"), source.remove("y")]
    return source, deltas


def test_deltas_delivered_in_reverse_order_rebuild_the_state() -> None:
    source, deltas = _history()
    peer = ORSet(replica="b")
    for delta in reversed(deltas):
        peer.merge(delta)
        peer._check()
    assert peer == source and peer.value == {"x", "z"}


@given(st.data())
def test_any_subset_of_deltas_in_any_order_never_resurrects_a_removed_element(
    data: st.DataObject,
) -> None:
    """With gaps (missing deltas) a peer may lag, but it never shows an element whose
    removal it has received, and never drops one whose latest add it holds."""
    source, deltas = _history()
    chosen = data.draw(st.lists(st.sampled_from(range(len(deltas))), max_size=12))
    peer = ORSet(replica="b")
    for index in chosen:
        peer.merge(deltas[index])
        peer._check()
    received = set(chosen)
    if 5 in received:  # remove("y") observed y's only dot
        assert "y" not in peer
    if 3 in received:  # the re-add of x is live everywhere it arrives
        assert "x" in peer
    if 2 in received and 3 not in received:
        assert "x" not in peer  # the first add of x was removed
    if 4 in received:
        assert "z" in peer
    for index in range(len(deltas)):
        peer.merge(deltas[index])
    assert peer == source


def test_out_of_order_delta_with_a_gap_does_not_lose_a_later_add() -> None:
    """Regression (AS-30 in the research notes): a context compressed to a plain version
    vector would treat dot a:2 as covering a:1 and drop the add it carries."""
    a = ORSet(replica="a")
    first, second = a.add("x"), a.add("y")
    peer = ORSet(replica="b")
    peer.merge(second)
    peer.merge(first)
    assert peer.value == {"x", "y"}


@pytest.mark.parametrize("sync", ["delta", "state"])
def test_metadata_stays_bounded_after_a_thousand_add_remove_cycles(sync: str) -> None:
    def cycle(replica: ORSet, peer: ORSet) -> None:
        for delta in (replica.add("x"), replica.remove("x")):
            peer.merge(delta if sync == "delta" else replica)

    replica, peer = ORSet(replica="a"), ORSet(replica="b")
    cycle(replica, peer)
    after_one = (replica._metadata_size(), peer._metadata_size())
    for _ in range(999):
        cycle(replica, peer)
    assert (replica._metadata_size(), peer._metadata_size()) <= after_one
    assert after_one == (1, 1)  # one vector entry, no live dot, no cloud


def test_cart_metadata_stays_bounded_after_a_thousand_add_remove_cycles() -> None:
    cart, peer = Cart(replica="a"), Cart(replica="b")
    for _ in range(1000):
        peer.merge(cart.add("book", 2))
        peer.merge(cart.remove("book"))
    assert cart._metadata_size() == peer._metadata_size() == 1


def _shared(empty: Any, name: str) -> Any:
    """A writer bound to the explicit writer id ``name#x``: calling it twice makes two
    writers that share one id, which only an explicit incarnation can do."""
    return empty.copy(replica=name, incarnation="x")


def test_two_writers_sharing_a_replica_id_are_caught_and_nothing_changes() -> None:
    phone, laptop = _shared(ORSet(), "alice"), _shared(ORSet(), "alice")
    _ = phone.add("milk")
    _ = laptop.add("eggs")  # the same dot alice:1, carrying another element
    before = phone.copy()
    with pytest.raises(DotConflictError) as caught:
        phone.merge(laptop)
    assert caught.value.dot == ("alice#x", 1)
    assert isinstance(caught.value, ValueError)
    assert phone == before
    phone._check()


def test_a_shared_replica_id_inside_a_map_is_caught() -> None:
    a, b = _shared(ORMap(MVRegister), "s"), _shared(ORMap(MVRegister), "s")
    _ = a.update("k", lambda r: r.assign(1))
    _ = b.update("k", lambda r: r.assign(2))
    before = a.copy()
    with pytest.raises(DotConflictError):
        a.merge(b)
    assert a == before


@pytest.mark.parametrize("make", [lambda: _shared(ORMap(ORSet), "a"), lambda: _shared(Cart(), "a")])
def test_a_shared_replica_id_across_map_keys_is_caught(make: Any) -> None:
    """Regression (found while writing docs/concepts.md): the same dot live under two keys
    made both entries vanish silently instead of raising."""
    first, second = make(), make()
    if isinstance(first, Cart):
        _ = first.add("x")
        _ = second.add("y")
    else:
        _ = first.update("k1", lambda s: s.add("x"))
        _ = second.update("k2", lambda s: s.add("x"))
    before = first.copy()
    with pytest.raises(DotConflictError) as caught:
        first.merge(second)
    assert caught.value.dot == ("a#x", 1)
    assert first == before and first.value == before.value


def test_merge_of_permuted_states_is_identical_including_metadata() -> None:
    replicas = [ORSet(replica=name) for name in "abc"]
    for replica, element in itertools.product(replicas, "xyz"):
        _ = replica.add(element)
    _ = replicas[0].remove("x")
    results = []
    for order in itertools.permutations(replicas):
        joined = ORSet()
        for replica in order:
            joined.merge(replica)
        results.append(joined)
    assert all(result == results[0] for result in results)


@given(*TWO_DOT_LISTS)
def test_context_includes_is_dot_set_inclusion(
    left: list[tuple[str, int]], right: list[tuple[str, int]]
) -> None:
    a, b = context_of(left), context_of(right)
    both = a.copy()
    both.join(b)
    assert a.includes(b) == (set(b.dots()) <= set(a.dots()))
    assert b.includes(a) == (set(a.dots()) <= set(b.dots()))
    assert both.includes(a) and both.includes(b) and a.includes(a)


_CAUSAL_SPECS = [spec for spec in TYPES if isinstance(spec.make(None, ManualTime()), CausalCRDT)]


@pytest.mark.parametrize("spec", _CAUSAL_SPECS, ids=repr)
@given(data=st.data())
def test_leq_without_copying_agrees_with_the_join_rule_for_states_and_deltas(
    spec: TypeSpec, data: st.DataObject
) -> None:
    # the kernel answers leq by planning the join instead of copying the larger side;
    # the answer must be exactly CRDT's generic rule: other | self == other
    run = data.draw(programs(spec))
    pieces = [*run.replicas, *run.deltas[:6]]
    for a, b in itertools.product(pieces, repeat=2):
        assert a.leq(b) == CRDT._leq(a, b) == (b | a == b)
