"""Siblings as a CRDT on the causal kernel, and the forged-context regression tests.

``merge.Siblings`` subclasses ``crdts.causal.CausalCRDT`` and registers with the codec by its
``type_code`` like every type, so ``check_crdt``, the strategies and ``st.from_type`` take
it with no special case. A store knows which servers put on it, so a merge that claims more
of their writes than they made (a forged client context that named *another* server: the
remainder of the no-wedge issue's item 5) is refused and changes nothing.
"""

from __future__ import annotations

import random
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import crdts
from clocks import VectorClock
from crdts.causal import CausalCRDT
from merge import ForgedContextError, Siblings
from merge.laws import check_crdt
from merge.registry import builtins, profile
from merge.testing import check_convergence

FORGED = 2**64 - 1


def test_siblings_is_a_causal_crdt_registered_like_every_type() -> None:
    assert issubclass(Siblings, CausalCRDT) and isinstance(Siblings(), crdts.CRDT)
    store = Siblings()
    store.put("v", context=None, replica="s1")
    data = crdts.encode(store)
    assert msgpack.unpackb(data).code == Siblings.type_code == 30
    assert crdts.decode(data) == store and Siblings.from_bytes(data) == store
    assert "siblings" in [entry.name for entry in builtins()]


def test_check_crdt_passes_for_siblings_with_no_special_case() -> None:
    check_crdt(Siblings, max_examples=25)


@settings(max_examples=25)
@given(st.data())
def test_from_type_draws_checked_stores(data: st.DataObject) -> None:
    store = data.draw(st.from_type(Siblings))
    assert isinstance(store, Siblings)
    store._check()
    assert crdts.decode(crdts.encode(store)) == store


def test_siblings_converge_under_state_sync_and_delta_sync_is_refused_upfront() -> None:
    check_convergence(Siblings, sync="state", max_examples=15)
    with pytest.raises(TypeError, match="sync='state'"):
        check_convergence(Siblings, max_examples=5)


def test_a_bound_store_writes_as_its_server() -> None:
    sx = Siblings(replica="sx")
    sx.put("v1", context=None)
    sx.put("v2", context=sx.context)
    assert sx.values == ("v2",) and sx.context == VectorClock({"sx": 2})
    assert sx.value == sx.values


def test_siblings_are_not_simulated_and_do_not_retire() -> None:
    """put returns None (a delta would need the kernel's dot cloud, which the store's wire
    form does not carry), so the registry marks it, and the simulator refuses it."""
    entry = profile("siblings")
    assert entry.has_siblings and not entry.deltas
    with pytest.raises(TypeError, match="no deltas"):
        entry.update(random.Random(0))
    with pytest.raises(TypeError, match="does not retire"):
        Siblings(replica="s").retire("t")


# -- forged contexts (no-wedge issue, item 5, the remainder) --------------------------------


def _poisoned_peer(claim: int) -> tuple[Siblings, Siblings]:
    """Server sx with one write, and server sy that took a client context claiming
    ``claim`` writes by sx (sy cannot tell it is forged: a client may have read sx)."""
    sx, sy = Siblings(), Siblings()
    sx.put("x", context=None, replica="sx")
    sy.merge(sx)
    sy.put("y", context=VectorClock({"sx": claim}), replica="sy")
    return sx, sy


def test_a_forged_context_naming_another_server_is_refused_by_that_server() -> None:
    """Regression: a client context claiming 2**64 - 1 writes by sx, sent to sy, reached sx
    through a merge; sx's counter then sat at the wire limit and every later put failed."""
    sx, sy = _poisoned_peer(FORGED)
    before = sx.copy()
    with pytest.raises(ForgedContextError) as caught:
        sx.merge(sy)
    assert (caught.value.server, caught.value.claimed, caught.value.issued) == ("sx", FORGED, 1)
    assert sx == before
    sx.put("z", context=sx.context, replica="sx")  # the server keeps writing...
    assert sx.values == ("z",)
    assert crdts.decode(crdts.encode(sx)) == sx  # ...and encoding


def test_a_small_forged_claim_cannot_make_a_servers_next_write_vanish() -> None:
    """Regression: with sy claiming sx's writes 2..5, sx's next write (sx, 2) looked seen
    and removed to sy, and merging sy back dropped it at sx as well: a silent lost write."""
    sx, sy = _poisoned_peer(5)
    sx.put("x2", context=None, replica="sx")
    with pytest.raises(ForgedContextError):
        sx.merge(sy)
    assert "x2" in sx.values


def test_a_bound_store_refuses_a_forged_claim_before_its_first_put() -> None:
    _, sy = _poisoned_peer(FORGED)
    fresh = Siblings(replica="sx")
    with pytest.raises(ForgedContextError):
        fresh.merge(sy)
    assert fresh == Siblings()


def test_a_store_that_is_not_the_named_server_merges_the_claim() -> None:
    """Only the named server can tell the claim is forged; any other store takes it."""
    _, sy = _poisoned_peer(FORGED)
    sz = Siblings()
    sz.merge(sy)
    sz._check()
    assert sz.context["sx"] == FORGED


def test_hostile_decoded_stores_raise_a_specific_error_and_change_nothing() -> None:
    """Decoded bytes with a forged claim are well formed (they decode), and the server they
    name refuses them at merge; malformed ones are a DecodeError."""
    sx = Siblings()
    sx.put("x", context=None, replica="sx")
    hostile = crdts.decode(_siblings_bytes([["sx", FORGED, []], ["sy", 1, [[1, 0, "y"]]]]))
    before = sx.copy()
    with pytest.raises(ForgedContextError):
        sx.merge(hostile)
    assert sx == before and crdts.encode(sx) == crdts.encode(before)
    for state in ([["sx", 1, [[2, 0, "v"]]]], [["", 1, []]], [["sx", 0, []]]):
        with pytest.raises(crdts.DecodeError):
            crdts.decode(_siblings_bytes(state))


@settings(max_examples=60)
@given(st.data())
def test_any_merge_either_succeeds_or_changes_nothing(data: st.DataObject) -> None:
    """Whatever a peer sends (forged claims included), a refused merge leaves the store as it
    was, and the store can always write and encode afterwards."""
    sx = Siblings(replica="sx")
    for value in range(data.draw(st.integers(0, 3))):
        sx.put(value, context=sx.context if value % 2 else None)
    claim = data.draw(st.sampled_from([0, 1, 2, 7, FORGED]))
    peer = Siblings()
    peer.put("p", context=VectorClock({"sx": claim}) if claim else None, replica="sp")
    before = sx.copy()
    try:
        sx.merge(peer)
    except ForgedContextError:
        assert sx == before
    sx._check()
    sx.put("next", context=None)
    assert crdts.decode(crdts.encode(sx)) == sx


def _siblings_bytes(state: Any) -> bytes:
    """A Siblings payload ``[version 1, state]`` under ext code 30, as a peer could send."""
    return msgpack.packb(msgpack.ExtType(30, msgpack.packb([1, state], use_bin_type=True)))
