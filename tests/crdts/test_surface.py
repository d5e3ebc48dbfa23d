"""One public surface for every type (issue 11): operators behave alike everywhere."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from merge import Siblings
from tests.registry import TYPES, ManualTime, TypeSpec, merged, programs


@pytest.mark.parametrize("spec", TYPES, ids=repr)
@given(data=st.data())
def test_in_place_join_merges_into_the_same_object_and_keeps_its_writer(
    spec: TypeSpec, data: Any
) -> None:
    """``a |= b`` is ``a.merge(b)``: the same object, still bound to the same writer, able to
    write next (before, it rebound ``a`` to a read-only join and left the original unmerged)."""
    run = data.draw(programs(spec, replicas=2, max_steps=8))
    a, b = run.replicas
    original, writer, expected = a, a.writer, merged(a, b)
    a |= b
    assert a is original and a.writer == writer and a == expected
    op = data.draw(st.sampled_from(spec.ops))
    args = data.draw(op.args)
    # never UnboundReplicaError; KeyError and ValueError are the operation's own guards
    # (a remove of an absent element, a refused re-add)
    with contextlib.suppress(KeyError, ValueError):
        getattr(a, op.name)(*args)
    a._check()


@pytest.mark.parametrize("spec", TYPES, ids=repr)
def test_in_place_join_refuses_another_type(spec: TypeSpec) -> None:
    other = TYPES[1] if spec is TYPES[0] else TYPES[0]
    a, b = other.make("a", ManualTime()), spec.make("b", ManualTime())
    before = a.copy()
    with pytest.raises(TypeError):
        a |= b
    assert a == before


def test_siblings_join_in_place_too() -> None:
    a, b = Siblings(), Siblings()
    a.put("x", context=None, replica="s1")
    b.put("y", context=None, replica="s2")
    original = a
    a |= b
    assert a is original and set(a.values) == {"x", "y"}


# -- no aliasing: nothing a public call hands out or takes in stays shared with the state --


def _mutate_everything(value: Any) -> None:
    """Change every list and dict reachable from ``value``, in place."""
    if isinstance(value, list):
        for item in value:
            _mutate_everything(item)
        value.append("mutated")
    elif isinstance(value, dict):
        for item in list(value.values()):
            _mutate_everything(item)
        value["mutated"] = "mutated"
    elif isinstance(value, tuple | frozenset | set):
        for item in value:
            _mutate_everything(item)


_NESTED = st.recursive(
    st.one_of(st.integers(-3, 3), st.text("ab", max_size=2)),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text("xy", max_size=2), inner, max_size=3)
    ),
    max_leaves=6,
)


def _reads(state: Any) -> list[Any]:
    """Everything the public read API of ``state`` hands out."""
    out = [state.value]
    for name in ("values", "timestamp"):
        if hasattr(type(state), name):
            out.append(getattr(state, name))
    if hasattr(state, "get"):
        out.extend(state.get(key) for key in list(state.value))
    return out


@given(st.data())
def test_mutating_what_a_register_or_map_hands_out_or_took_in_changes_nothing(data: Any) -> None:
    """A value kept by the caller — passed to a write, or read back — shares no list or dict
    with the state: changing it changes neither the value nor the bytes (before, LWWMap.get
    returned the stored object, and MVRegister.assign stored the caller's list)."""
    import crdts

    value = data.draw(_NESTED)
    register = crdts.LWWRegister(replica="a")
    register.assign(value)
    mv = crdts.MVRegister(replica="a")
    mv.assign(value)
    lww_map = crdts.LWWMap(replica="a")
    lww_map.set("k", value)
    nested = crdts.ORMap(crdts.MVRegister, replica="a")
    nested.update("k", lambda r: r.assign(value))
    store = Siblings()
    store.put(value, context=None, replica="s1")
    states = [register, mv, lww_map, nested]
    before = [crdts.encode(state) for state in states]
    values_before = [state.value for state in states]
    store_before = store.values
    _mutate_everything(value)
    for state in states:
        for read in _reads(state):
            _mutate_everything(read)
    _mutate_everything(store.values)
    assert [crdts.encode(state) for state in states] == before
    assert [state.value for state in states] == values_before
    assert store.values == store_before


def test_a_nested_value_kept_past_update_cannot_write_into_the_map() -> None:
    """Regression: writes through a reference kept after ORMap.update returned changed the
    map and made no delta, so peers never got them."""
    import crdts

    cart = crdts.ORMap(crdts.ORSet, replica="a")
    kept: list[Any] = []
    cart.update("k", lambda s: kept.append(s) or s.add(1))
    before = crdts.encode(cart)
    with pytest.raises(crdts.UnboundReplicaError, match=r"only inside map\.update"):
        kept[0].add(2)
    assert crdts.encode(cart) == before and cart.value == {"k": frozenset({1})}
    cart.update("k", lambda s: s.add(3))  # the map itself still writes
    assert cart.value == {"k": frozenset({1, 3})}
    cart._check()
