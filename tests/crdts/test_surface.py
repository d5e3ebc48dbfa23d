"""One public surface for every type (issue 11): operators behave alike everywhere."""

from __future__ import annotations

import contextlib
import inspect
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import crdts
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
            read = getattr(state, name)
            out.append(list(read()) if callable(read) else read)  # a map's values()
    if hasattr(state, "get"):
        out.extend(state.get(key) for key in list(state.value))
        out.extend(state[key] for key in list(state.value))
        out.append(list(state.items()))
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


# -- one contract per family (issue 11 item 3) ---------------------------------------------

_BY_NAME = {spec.name: spec for spec in TYPES}
_SETS = ["ORSet", "RWORSet", "GSet", "TwoPSet", "LWWElementSet", "LWWElementSet[remove-bias]"]
#: where ``remove`` of an absent element raises KeyError: the observed-remove sets (nothing
#: observed, nothing to remove) and the TwoPSet (a tombstone for nothing is a mistake). An
#: LWWElementSet's removal is a timestamped fact that may beat an add still on its way, so it
#: never raises; ``discard`` is the same call there.
_REMOVE_ABSENT_RAISES = {"ORSet", "RWORSet", "TwoPSet"}
_MAPS = ["ORMap[ORSet]", "ORMap[CausalCounter]", "ORMap[ORMap[MVRegister]]", "Cart", "LWWMap"]
_COUNTERS = ["GCounter", "PNCounter", "CausalCounter"]


def test_the_families_cover_their_types() -> None:
    """Every set, map and counter in the registry is under its family's contract test."""
    for name in _SETS + _MAPS + _COUNTERS:
        assert name in _BY_NAME
    for spec in TYPES:
        probe = spec.make(None, ManualTime())
        if isinstance(probe.value, frozenset):
            assert spec.name in _SETS, spec
        elif isinstance(probe.value, dict):
            assert spec.name in _MAPS, spec


@pytest.mark.parametrize("name", _SETS)
def test_set_like_types_share_add_remove_discard_and_the_reads(name: str) -> None:
    s = _BY_NAME[name].make("a", ManualTime())
    delta = s.add("x")
    assert type(delta) is type(s) and "x" in delta.value
    s.add("y")
    assert "x" in s and "z" not in s and [] not in s  # an unhashable probe is just absent
    assert sorted(s) == ["x", "y"] and len(s) == 2 and s.value == frozenset({"x", "y"})
    if name == "GSet":  # the one exception: a grow-only set cannot remove
        for method in ("remove", "discard"):
            assert not hasattr(s, method)
            with pytest.raises(AttributeError, match=r"only grows.*TwoPSet"):
                getattr(s, method)("x")
        return
    assert type(s.remove("x")) is type(s) and "x" not in s
    assert type(s.discard("y")) is type(s) and "y" not in s
    s.discard("never there")  # discard never raises for an absent element
    if name in _REMOVE_ABSENT_RAISES:
        with pytest.raises(KeyError):
            s.remove("never there")
    else:
        s.remove("never there")
    assert s.value == frozenset() and len(s) == 0 and list(s) == []
    s._check()


def _fill(name: str, state: Any) -> Any:
    """Write one key, ``"k"``, the family way of each map; return its expected value."""
    if name == "Cart":
        state.add("k", 2)
        return 2
    if name == "LWWMap":
        state.set("k", [1, 2])
        return [1, 2]
    if name == "ORMap[ORSet]":
        state.update("k", lambda s: s.add("e"))
        return frozenset({"e"})
    if name == "ORMap[CausalCounter]":
        state.update("k", lambda c: c.increment(3))
        return 3
    state.update("k", lambda inner: inner.update("i", lambda r: r.assign("v")))
    return {"i": ("v",)}


@pytest.mark.parametrize("name", _MAPS)
def test_map_like_types_share_the_read_only_mapping_protocol(name: str) -> None:
    """``m[k]`` (KeyError), ``get``, ``in``, iteration over keys, ``len``, and ``keys()``,
    ``items()``, ``values()`` as methods, as on a dict (before, LWWMap could not be indexed
    or iterated, and ``cart.items()`` raised TypeError: ``items`` was a property)."""
    m = _BY_NAME[name].make("a", ManualTime())
    expected = _fill(name, m)
    assert m["k"] == m.get("k") == m.value["k"] == expected
    with pytest.raises(KeyError):
        m["absent"]
    assert m.get("absent") is None and m.get("absent", 0) == 0
    assert "k" in m and "absent" not in m and [] not in m
    assert list(m) == list(m.keys()) == ["k"] and len(m) == 1
    assert dict(m.items()) == m.value == {"k": expected}
    assert list(m.values()) == [expected]
    assert isinstance(m.value, dict) and m.value is not m.value  # a new dict every read
    before = crdts.encode(m)
    _mutate_everything(m.value)
    _mutate_everything(dict(m.items()))
    assert crdts.encode(m) == before


@pytest.mark.parametrize("name", _COUNTERS)
def test_counters_share_increment_and_value(name: str) -> None:
    counter = _BY_NAME[name].make("a", ManualTime())
    assert counter.value == 0
    assert type(counter.increment()) is type(counter) and counter.value == 1
    counter.increment(by=4)
    assert counter.value == 5
    if name == "GCounter":  # grows only
        assert not hasattr(counter, "decrement")
        return
    assert type(counter.decrement()) is type(counter) and counter.value == 4
    counter.decrement(by=2)
    assert counter.value == 2


_MUTATORS = {
    "add", "remove", "discard", "clear", "update", "set", "assign", "resolve", "enable",
    "disable", "increment", "decrement",
}  # fmt: skip


@pytest.mark.parametrize("spec", TYPES, ids=repr)
def test_every_mutator_is_annotated_to_return_its_own_type(spec: TypeSpec) -> None:
    """Each mutator returns the delta, an instance of the receiver's class: annotated
    ``-> Self`` everywhere (before, some said ``-> ORSet``, some ``-> Self``)."""
    cls = type(spec.make(None, ManualTime()))
    names = {op.name for op in spec.ops} | {m for m in _MUTATORS if hasattr(cls, m)}
    for method in sorted(names):
        annotation = inspect.signature(getattr(cls, method)).return_annotation
        assert annotation == "Self", (cls.__name__, method, annotation)


@pytest.mark.parametrize("spec", TYPES, ids=repr)
@settings(max_examples=25)  # 18 types: the law tests already run long programs on copies
@given(data=st.data())
def test_a_copy_of_a_bound_replica_is_a_second_writer_not_the_same_one(
    spec: TypeSpec, data: Any
) -> None:
    """``copy()`` of a bound replica keeps the name but is a fresh incarnation, so the two
    objects never mint the same dot or counter entry: both write, and they merge both ways
    without DotConflictError and without losing either write (see docs/lifecycle.md)."""
    run = data.draw(programs(spec, replicas=1, max_steps=6))
    (a,) = run.replicas
    b = a.copy()
    assert b.replica == a.replica and b.writer != a.writer and b == a
    for state in (a, b):
        op = data.draw(st.sampled_from(spec.ops))
        with contextlib.suppress(KeyError, ValueError):
            getattr(state, op.name)(*data.draw(op.args))
    joined = merged(a, b)
    a.merge(b)
    b.merge(a)
    assert a == b == joined
    a._check()
    b._check()
    assert a.copy(replica=None).writer is None  # an explicit unbound copy is read-only


# -- Cart: every path keeps a quantity in [1, 2**63) -----------------------------------------


def test_cart_update_is_refused_so_a_quantity_cannot_go_below_zero_through_it() -> None:
    """Regression: ``cart.update(item, lambda c: c.decrement(10))`` (ORMap's update,
    inherited) drove a quantity below zero past ``add``/``remove``'s checks."""
    cart = crdts.Cart(replica="a")
    cart.add("book", 2)
    before = crdts.encode(cart)
    with pytest.raises(TypeError, match=r"add\(item, quantity\)"):
        cart.update("book", lambda counter: counter.decrement(10))
    with pytest.raises(TypeError):
        cart.update("pen", lambda counter: counter.increment(2**63 - 1))
    assert crdts.encode(cart) == before and cart.quantities == {"book": 2}


def test_cart_add_refuses_a_total_of_2_to_the_63_and_changes_nothing() -> None:
    """Regression: two adds of 2**62 made a quantity of 2**63, past ``_quantity``."""
    cart = crdts.Cart(replica="a")
    cart.add("book", 2**62)
    before = crdts.encode(cart)
    with pytest.raises(ValueError, match=r"below 2\*\*63"):
        cart.add("book", 2**62)
    assert crdts.encode(cart) == before and cart["book"] == 2**62
    cart.add("book", 2**62 - 1)  # up to the limit is fine
    assert cart["book"] == 2**63 - 1
    cart._check()


def test_a_merged_total_past_the_limit_accepts_only_removals() -> None:
    """Concurrent adds sum on merge: each was in bounds, the total need not be. Such an
    item refuses further adds and a partial removal that would leave 2**63 or more, and
    can still be removed whole."""
    a, b = crdts.Cart(replica="a"), crdts.Cart(replica="b")
    a.merge(b.add("book", 2**62))
    a.add("book", 2**62 - 1)
    b.add("book", 2)
    a.merge(b)
    assert a["book"] == 2**63 + 1
    before = crdts.encode(a)
    with pytest.raises(ValueError):
        a.add("book", 1)
    with pytest.raises(ValueError, match="remove all of it"):
        a.remove("book", 1)
    assert crdts.encode(a) == before
    a.remove("book", 2)  # leaves 2**63 - 1
    assert a["book"] == 2**63 - 1
    a.remove("book")
    assert "book" not in a
    crdts.decode(crdts.encode(a))._check()


def test_cart_quantities_is_the_old_items_property_and_items_is_a_method() -> None:
    cart = crdts.Cart(replica="a")
    cart.add("pen", 3)
    assert cart.quantities == cart.value == {"pen": 3}
    assert list(cart.items()) == [("pen", 3)] and list(cart.keys()) == ["pen"]
    assert "quantities={'pen': 3}" in repr(cart)
