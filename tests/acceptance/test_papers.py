"""Scenarios from the papers crdtkit follows, replayed end to end across the packages.

Each test names its source. They read as stories: what the paper describes, then what
crdtkit does with the same history.
"""

from __future__ import annotations

import pytest

from clocks import HLC, Order, Timestamp, VectorClock
from crdts import Cart, ORSet, RWORSet, decode, encode
from crdts._identity import name_of
from merge import Faults, Network, Siblings, resolvers


def test_dynamo_versions_d1_to_d5_with_dotted_version_vectors() -> None:
    """DeCandia et al. 2007, §4.4: Sx writes D1 and D2; Sy and Sz each write from D2
    (D3 and D4 are concurrent siblings); a client reads both and Sx writes the
    reconciliation D5, which supersedes them."""
    sx, sy, sz = Siblings(), Siblings(), Siblings()
    sx.put("D1", context=None, replica="Sx")
    sx.put("D2", context=sx.context, replica="Sx")
    d2 = sx.context
    assert d2 == VectorClock({"Sx": 2})
    sy.merge(sx)
    sz.merge(sx)
    sy.put("D3", context=d2, replica="Sy")
    sz.put("D4", context=d2, replica="Sz")
    assert sy.context.compare(sz.context) is Order.CONCURRENT

    sx.merge(sy)
    sx.merge(sz)
    assert sx.values == ("D3", "D4")  # two siblings, D2 superseded by both
    read = sx.context
    sx.put("D5", context=read, replica="Sx")
    assert sx.values == ("D5",)
    assert sx.context == VectorClock({"Sx": 3, "Sy": 1, "Sz": 1})
    assert decode(encode(sx)) == sx


def test_dynamo_shopping_cart_deleted_item_resurrects_under_union_but_not_in_cart() -> None:
    """DeCandia et al. 2007, §4.4 and §6: merging divergent carts by union never loses an
    add but brings deleted items back. The same partitioned history, twice."""
    # Dynamo: each cart version is a sibling; the application merges them by union
    phone, laptop = Siblings(), Siblings()
    phone.put(("book",), context=None, replica="phone")
    laptop.merge(phone)
    seen = phone.context
    phone.put((), context=seen, replica="phone")  # partition: the phone deletes the book
    laptop.put(("book", "pen"), context=seen, replica="laptop")  # the laptop adds a pen
    phone.merge(laptop)
    phone.resolve(resolvers.union)
    assert phone.values == (("book", "pen"),)  # the deleted book is back

    # crdtkit's Cart, over a simulated network with the same partition
    network = Network(Cart, ["phone", "laptop"], seed=7)
    network.update("phone", lambda cart: cart.add("book"))
    network.settle()
    network.partition(["phone"], ["laptop"])
    network.update("phone", lambda cart: cart.remove("book"))
    network.update("laptop", lambda cart: cart.add("pen"))
    network.run(20)
    network.heal()
    network.settle()
    assert network.converged()
    assert network.replica("phone").state.quantities == {"pen": 1}


@pytest.mark.parametrize(("cls", "expected"), [(ORSet, {"x"}), (RWORSet, frozenset())])
def test_shapiro_or_set_concurrent_add_and_remove_through_a_lossy_network(
    cls: type, expected: frozenset[str]
) -> None:
    """Shapiro et al. 2011, Specification 15: a remove cancels only the adds it observed,
    so a concurrent add wins — unless the set is remove-wins. Loss, duplication and
    reordering do not change the outcome."""
    network = Network(
        cls, ["a", "b", "c"], faults=Faults(drop=0.3, duplicate=0.2, reorder=0.3), seed=3
    )
    network.update("a", lambda s: s.add("x"))
    network.settle()
    network.update("b", lambda s: s.remove("x"))
    network.update("c", lambda s: s.add("x"))
    network.settle()
    assert network.converged()
    assert network.replica("a").state.value == expected


def test_kulkarni_hlc_orders_causality_and_stays_close_to_physical_time() -> None:
    """Kulkarni et al. 2014, §3: across a message chain between nodes whose physical clocks
    disagree, every send happens-before its receive in HLC order, l never falls behind the
    local physical clock, and l - pt stays within the skew."""
    physical = {"a": 1_000, "b": 940, "c": 1_030}  # b runs 60 ms behind, c 30 ms ahead
    clocks = {node: HLC(node, now=lambda node=node: physical[node]) for node in physical}
    chain = ["a", "b", "c", "b", "a", "c", "a"]
    previous: Timestamp | None = None
    for step, node in enumerate(chain):
        for name in physical:
            physical[name] += step % 2  # time advances slowly: counters come into play
        stamp = clocks[node].now() if previous is None else clocks[node].update(previous)
        if previous is not None:
            assert (stamp.wall, stamp.logical) > (previous.wall, previous.logical)
        assert stamp.wall >= physical[node]
        assert stamp.wall - physical[node] <= 90  # the largest skew between two nodes
        previous = clocks[node].now()  # the send
    assert previous.pack() > Timestamp(1_000, 0, "a").pack()


def test_almeida_deltas_with_gaps_and_reordering_converge_with_compact_contexts() -> None:
    """Almeida, Shoker & Baquero 2018: delta-intervals shipped over a network that drops,
    duplicates and reorders still converge to the full-state result, and once every dot
    of a replica has been seen the causal context keeps one integer for it."""
    network = Network(
        ORSet,
        ["a", "b", "c"],
        faults=Faults(drop=0.25, duplicate=0.25, reorder=0.5),
        seed=11,
    )
    for index in range(30):
        replica = "abc"[index % 3]
        network.update(replica, lambda s, i=index: s.add(f"item-{i % 7}"))
        if index % 4 == 3:
            network.update(replica, lambda s, i=index: s.discard(f"item-{(i + 1) % 7}"))
        network.step()
    network.settle()
    assert network.converged()
    state = network.replica("a").state
    assert state._ctx.cloud == {}  # every gap filled: nothing isolated remains
    assert {name_of(writer) for writer in state._ctx.vv} <= {"a", "b", "c"}


def test_preguica_dvv_a_stale_write_replaces_only_what_its_client_read() -> None:
    """Preguiça et al., Dotted Version Vectors: one server id per server, so a client that
    read v1 and writes v3 supersedes v1 but keeps a concurrently written v2 (no false
    siblings, no lost write)."""
    server_a, server_b = Siblings(), Siblings()
    server_a.put("v1", context=None, replica="A")
    client_read = server_a.context
    server_b.merge(server_a)
    server_b.put("v2", context=None, replica="B")  # a blind concurrent write
    server_a.put("v3", context=client_read, replica="A")
    server_a.merge(server_b)
    server_b.merge(server_a)
    assert server_a.values == server_b.values == ("v3", "v2")
