"""Siblings: the Dynamo/Riak sibling store on dotted version vectors.

Scenario tests from the papers (Dynamo's D1..D5, the false-sibling problem that motivated
DVV), the bound on siblings over long histories, resolution, the merge laws, a differential
test against a naive keep-every-write model, and the wire form.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import crdts
from clocks import VectorClock
from crdts import DotConflictError
from merge import Siblings, resolvers
from merge.laws import check_laws
from merge.testing import states


def clock(**entries: int) -> VectorClock:
    return VectorClock(entries)


# -- the behaviour users rely on ------------------------------------------------------------


def test_dynamo_d1_to_d5_concurrent_versions_are_kept_then_reconciled() -> None:
    """DeCandia et al. 2007, figure 3: D3 and D4 branch from D2; D5 reconciles them."""
    sx = Siblings()
    sx.put("D1", context=None, replica="Sx")
    assert sx.context == clock(Sx=1)
    sx.put("D2", context=sx.context, replica="Sx")
    assert sx.values == ("D2",) and sx.context == clock(Sx=2)

    sy, sz = sx.copy(), sx.copy()
    sy.put("D3", context=sx.context, replica="Sy")
    sz.put("D4", context=sx.context, replica="Sz")
    assert sy.context == clock(Sx=2, Sy=1) and sz.context == clock(Sx=2, Sz=1)

    read = sy | sz  # a read reaching both sees the conflict, with the merged context
    assert read.values == ("D3", "D4")
    assert read.context == clock(Sx=2, Sy=1, Sz=1)

    # the client reconciles; Sx coordinates the write although it never saw D3 or D4
    sx.put("D5", context=read.context, replica="Sx")
    assert sx.values == ("D5",) and sx.context == clock(Sx=3, Sy=1, Sz=1)
    for replica in (sy, sz):
        replica.merge(sx)
        assert replica == sx and replica.values == ("D5",)


def test_a_client_that_read_v1_replaces_v1_but_not_a_concurrent_v2() -> None:
    """The false-sibling problem: one server, two clients, one stale context."""
    server = Siblings()
    server.put("v1", context=None, replica="s")
    alice_read = bob_read = server.context
    server.put("v2", context=bob_read, replica="s")  # Bob overwrites v1
    server.put("v3", context=alice_read, replica="s")  # Alice too, not having seen v2
    assert server.values == ("v2", "v3")  # v1 is gone, v2 and v3 are true siblings
    server.put("v4", context=server.context, replica="s")  # a reader of both resolves
    assert server.values == ("v4",)


def test_a_blind_write_supersedes_nothing() -> None:
    server = Siblings()
    server.put("a", context=None, replica="s")
    server.put("b", context=None, replica="s")
    assert server.values == ("a", "b")


def test_siblings_are_bounded_by_concurrent_writers_not_by_history() -> None:
    """Clients read from and write to their home server; servers gossip at random. However
    long the history, each client has at most one live write, so a server never holds more
    siblings than there are clients, and its context names only servers."""
    servers = ("s0", "s1", "s2")
    clients = 4
    for seed in range(10):
        rng = random.Random(seed)
        stores = {server: Siblings() for server in servers}
        home = {client: servers[client % len(servers)] for client in range(clients)}
        pending: dict[int, VectorClock] = {}
        writes = most = 0
        for step in range(400):
            if rng.random() < 0.3:
                source, target = rng.sample(servers, 2)
                stores[target].merge(stores[source])
            else:
                client = rng.randrange(clients)
                store = stores[home[client]]
                if client in pending:
                    store.put(step, context=pending.pop(client), replica=home[client])
                    writes += 1
                else:
                    pending[client] = store.context
            for store in stores.values():
                store._check()
                most = max(most, len(store.values))
                assert len(store.values) <= clients
                assert set(store.context) <= set(servers)
        assert writes > 100 and most >= 2  # a long history, with real conflicts


def test_resolve_keeps_the_context_and_an_old_context_supersedes_the_result() -> None:
    store = Siblings()
    store.put(("milk",), context=None, replica="s1")
    store.put(("eggs",), context=None, replica="s2")
    context = store.context
    store.resolve(resolvers.union)
    assert store.values == (("eggs", "milk"),)
    assert store.context == context  # a resolution is not a new write
    store.put(("bread",), context=context, replica="s1")
    assert store.values == (("bread",),)


def test_a_write_covering_only_some_resolved_siblings_leaves_the_resolution_standing() -> None:
    """The resolved value stands for every sibling it replaced: a writer that saw only one
    of them has not seen the others' contribution, so both values stay."""
    s1, s2 = Siblings(), Siblings()
    s1.put("x", context=None, replica="s1")
    partial_read = s1.context  # a client sees x only
    s2.put("y", context=None, replica="s2")
    s1.merge(s2)
    s1.resolve(lambda values: "+".join(values))
    assert s1.values == ("x+y",)
    s1.put("z", context=partial_read, replica="s1")
    assert s1.values == ("z", "x+y")  # ordered by dot: (s1, 2) before (s2, 1)


def test_a_resolution_replaces_the_siblings_on_replicas_that_still_hold_them() -> None:
    a = Siblings()
    a.put(1, context=None, replica="s1")
    a.put(2, context=None, replica="s2")
    b = a.copy()
    a.resolve(resolvers.maximum)
    b.merge(a)
    assert b.values == (2,) and b == a


def test_concurrent_resolutions_of_the_same_siblings_settle_on_one_value() -> None:
    a = Siblings()
    a.put(1, context=None, replica="s1")
    a.put(2, context=None, replica="s2")
    b = a.copy()
    a.resolve(resolvers.maximum)
    b.resolve(resolvers.minimum)
    assert (a | b) == (b | a) and len((a | b).values) == 1


def test_concurrent_resolutions_of_different_siblings_lose_nothing() -> None:
    """Each resolution keeps the dots it replaced, so neither erases the other's inputs."""
    base = Siblings()
    base.put("x", context=None, replica="s1")
    base.put("y", context=None, replica="s2")
    a, b = base.copy(), base.copy()
    b.put("z", context=None, replica="s3")
    a.resolve(lambda values: "|".join(values))
    b.resolve(lambda values: "|".join(values))
    merged = a | b
    assert merged.values == ("x|y|z",) or set(merged.values) == {"x|y", "x|y|z"}
    assert merged == b | a


def test_resolve_lww_keeps_the_largest_key_and_ties_go_to_the_first_listed() -> None:
    store = Siblings()
    for server, value in (("s1", {"at": 5, "who": "a"}), ("s2", {"at": 9, "who": "b"})):
        store.put(value, context=None, replica=server)
    store.put({"at": 9, "who": "c"}, context=None, replica="s3")
    context = store.context
    listed = store.values
    store.resolve_lww(lambda value: value["at"])
    first = next(value for value in listed if value["at"] == 9)
    assert store.values == (first,) and store.context == context


def test_resolving_an_empty_store_does_nothing() -> None:
    store = Siblings()
    store.resolve(lambda values: pytest.fail("fn must not be called"))
    assert store == Siblings() and store.values == ()


def test_a_stored_list_is_a_private_copy() -> None:
    value = [1, 2]
    store = Siblings()
    store.put(value, context=None, replica="s")
    value.append(3)
    assert store.values == ([1, 2],)


# -- the lattice ------------------------------------------------------------------------------


def test_merge_is_commutative_associative_and_idempotent() -> None:
    check_laws(lambda a, b: a | b, states(Siblings), max_examples=60)


@given(states(Siblings), states(Siblings))
def test_merge_is_the_least_upper_bound(a: Siblings, b: Siblings) -> None:
    joined = a | b
    joined._check()
    assert a.leq(joined) and b.leq(joined)
    assert a.context <= joined.context and b.context <= joined.context


@given(states(Siblings), st.sampled_from([None, "read"]), st.sampled_from(["s1", "s4"]))
def test_put_and_resolve_are_inflations(store: Siblings, context: Any, server: str) -> None:
    before = store.copy()
    store.put("new", context=store.context if context else None, replica=server)
    assert before.leq(store) and not store.leq(before)
    middle = store.copy()
    store.resolve(resolvers.maximum.by(repr))
    assert middle.leq(store) and store.context == middle.context
    store._check()


def test_two_servers_sharing_an_id_are_caught_at_merge() -> None:
    a, b = Siblings(), Siblings()
    a.put("mine", context=None, replica="s")
    b.put("theirs", context=None, replica="s")
    before = a.copy()
    with pytest.raises(DotConflictError, match="share the replica id"):
        a.merge(b)
    assert a == before


# -- a naive model: keep every write, a write is live unless some write's context covers it --


@dataclass
class NaiveStore:
    writes: dict[tuple[str, int], tuple[Any, VectorClock]] = field(default_factory=dict)

    def put(self, value: Any, context: VectorClock, server: str) -> None:
        counter = self.context().get(server, 0) + 1
        self.writes[(server, max(counter, context.get(server, 0) + 1))] = (value, context)

    def merge(self, other: NaiveStore) -> None:
        self.writes.update(other.writes)

    def context(self) -> VectorClock:
        result = VectorClock()
        for (server, counter), (_, context) in self.writes.items():
            result = result | context | VectorClock({server: counter})
        return result

    def values(self) -> tuple[Any, ...]:
        live = [
            dot
            for dot in self.writes
            if not any(dot[1] <= context.get(dot[0], 0) for _, context in self.writes.values())
        ]
        return tuple(self.writes[dot][0] for dot in sorted(live))


@settings(max_examples=150)
@given(data=st.data())
def test_puts_and_merges_match_the_keep_every_write_model(data: st.DataObject) -> None:
    servers = ["s1", "s2", "s3"]
    stores = [Siblings() for _ in servers]
    models = [NaiveStore() for _ in servers]
    reads: list[VectorClock] = [VectorClock()]
    for step in range(data.draw(st.integers(1, 30))):
        i = data.draw(st.integers(0, 2))
        kind = data.draw(st.sampled_from(["read", "put", "put", "merge"]))
        if kind == "read":
            reads.append(stores[i].context)
        elif kind == "put":
            context = data.draw(st.sampled_from(reads))
            stores[i].put(step, context=context, replica=servers[i])
            models[i].put(step, context, servers[i])
        else:
            j = data.draw(st.integers(0, 2))
            stores[i].merge(stores[j])
            models[i].merge(models[j])
        stores[i]._check()
        assert stores[i].values == models[i].values()
        assert stores[i].context == models[i].context()


# -- errors -----------------------------------------------------------------------------------


def test_bad_arguments_raise_specific_errors() -> None:
    store = Siblings()
    with pytest.raises(TypeError, match="VectorClock"):
        store.put("v", context={"s": 1}, replica="s")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="replica"):
        store.put("v", context=None, replica=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-empty"):
        store.put("v", context=None, replica="")
    with pytest.raises(ValueError, match="does not fit"):
        store.put("v", context=clock(s=2**64), replica="s")
    with pytest.raises(TypeError, match="not supported"):
        store.put({1, 2}, context=None, replica="s")
    with pytest.raises(TypeError, match="cannot merge ORSet"):
        store.merge(crdts.ORSet())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not supported"):
        store.put("v", context=None, replica="s")
        store.resolve(lambda values: object())
    assert store.values == ("v",)
    assert store != "v" and Siblings() == Siblings()
    assert "values=('v',)" in repr(store) and "VectorClock({'s': 1})" in repr(store)


def test_copies_are_independent() -> None:
    store = Siblings()
    store.put("a", context=None, replica="s")
    copy = store.copy()
    copy.put("b", context=None, replica="t")
    assert store.values == ("a",) and copy.values == ("a", "b")


# -- the wire form ----------------------------------------------------------------------------


def through_msgpack(store: Siblings) -> Siblings:
    data = msgpack.packb(store._to_wire(), use_bin_type=True)
    return Siblings._from_wire(msgpack.unpackb(data, raw=False, strict_map_key=True))


@given(states(Siblings))
def test_the_wire_form_round_trips_through_msgpack(store: Siblings) -> None:
    decoded = through_msgpack(store)
    decoded._check()
    assert decoded == store and decoded.values == store.values
    assert decoded.context == store.context


@given(states(Siblings), states(Siblings), states(Siblings))
def test_equal_stores_have_equal_wire_forms_whatever_the_merge_order(
    a: Siblings, b: Siblings, c: Siblings
) -> None:
    left, right = (a | b) | c, c | (b | a)
    assert left == right
    assert msgpack.packb(left._to_wire()) == msgpack.packb(right._to_wire())


@given(states(Siblings))
def test_crdts_encode_carries_siblings(store: Siblings) -> None:
    assert crdts.decode(crdts.encode(store)) == store


def test_the_wire_form_is_pinned() -> None:
    store = Siblings()
    store.put(("a", [1]), context=None, replica="s2")
    store.put(None, context=None, replica="s1")
    tagged_value = [0, ["a", [1, [1]]]]  # a tuple holding "a" and the list [1]
    assert store._to_wire() == [["s1", 1, [[1, 0, None]]], ["s2", 1, [[1, 0, tagged_value]]]]
    assert Siblings.type_code == 30 and Siblings.format_version == 1


MALFORMED = [
    None,
    {"s": 1},
    [["s"]],
    [["", 1, []]],
    [[1, 1, []]],
    [["s", 0, []]],
    [["s", -1, []]],
    [["s", True, []]],
    [["s", 2**64, []]],
    [["s", 1, None]],
    [["s", 1, [[2, 0, "v"]]]],  # a write the context has not seen
    [["s", 2, [[2, 0, "v"], [1, 0, "w"]]]],  # counters not ascending
    [["s", 2, [[1, 0, "v"], [1, 0, "w"]]]],  # a dot twice
    [["s", 1, [[1, -1, "v"]]]],
    [["s", 1, [[1, 0.5, "v"]]]],
    [["s", 1, [[1, 0]]]],
    [["s", 1, [[1, 0, [9, []]]]]],  # unknown value container tag
    [["s", 1, [[1, 0, [2, [[1, "v"]]]]]]],  # a dict with a non-str key
    [["t", 1, []], ["s", 1, []]],  # servers not sorted
    [["s", 1, []], ["s", 2, []]],  # a server twice
    [["s", 1, [[1, 0, float("nan")]]]],
]


@pytest.mark.parametrize("state", MALFORMED, ids=repr)
def test_malformed_wire_forms_raise_value_error(state: Any) -> None:
    with pytest.raises(ValueError):
        Siblings._from_wire(state)


WIRE_DATA = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 2**64 + 1) | st.floats() | st.text(max_size=3),
    lambda children: st.lists(children, max_size=4),
    max_leaves=20,
)


@given(WIRE_DATA)
def test_arbitrary_wire_data_gives_value_error_or_a_valid_store(state: Any) -> None:
    try:
        store = Siblings._from_wire(state)
    except ValueError:
        return
    store._check()
    assert through_msgpack(store) == store


@given(states(Siblings), st.data())
def test_a_corrupted_wire_form_gives_value_error_or_a_valid_store(
    store: Siblings, data: st.DataObject
) -> None:
    state = store._to_wire()
    paths = list(_paths(state))
    if not paths:
        return
    container, index = data.draw(st.sampled_from(paths))
    container[index] = data.draw(WIRE_DATA)
    try:
        decoded = Siblings._from_wire(state)
    except ValueError:
        return
    decoded._check()


def _paths(value: Any) -> Any:
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield value, index
            yield from _paths(item)


def test_a_client_context_with_an_empty_server_id_is_refused() -> None:
    """Regression (no-wedge issue, item 5): a context naming server "" was accepted, after
    which the store failed its own invariant check and its bytes were refused."""
    store = Siblings()
    store.put("x", context=None, replica="s")
    before = store.copy()
    with pytest.raises(ValueError, match="non-empty"):
        store.put("y", context=VectorClock({"": 1}), replica="s")
    assert store == before
    assert crdts.decode(crdts.encode(store)) == store


def test_a_client_context_claiming_writes_the_server_never_made_is_refused() -> None:
    """Regression (no-wedge issue, item 5): a context at 2**64-1 for the coordinating server
    pushed its counter to the wire limit, so every later put by that server failed."""
    store = Siblings()
    store.put("x", context=None, replica="s")
    before = store.copy()
    with pytest.raises(ValueError, match="handed out"):
        store.put("y", context=VectorClock({"s": 2**64 - 1}), replica="s")
    assert store == before
    store.put("z", context=store.context, replica="s")  # the server keeps writing
    assert store.values == ("z",)
