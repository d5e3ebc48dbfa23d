"""Semantics of the observed-remove types, scenario by scenario.

Sources: Shapiro et al. 2011 (OR-Set), the riak_dt ORSWOT/map suites (named regressions),
the delta-enabled-crdts README examples, and Dynamo's shopping cart.
"""

from __future__ import annotations

import pytest

from crdts import (
    Cart,
    CausalCounter,
    DWFlag,
    EWFlag,
    MVRegister,
    ORMap,
    ORSet,
    RWORSet,
)


def sync(*replicas: object) -> None:
    """Full-state anti-entropy between every pair."""
    for target in replicas:
        for source in replicas:
            target.merge(source)  # type: ignore[attr-defined]


# -- ORSet -----------------------------------------------------------------------------------


def test_orset_a_concurrent_add_survives_a_remove_that_did_not_observe_it() -> None:
    a, b = ORSet(replica="a"), ORSet(replica="b")
    b.merge(a.add("x"))
    _ = b.remove("x")
    _ = a.add("x")
    sync(a, b)
    assert a.value == b.value == {"x"}


def test_orset_an_observed_remove_wins_and_a_later_re_add_works() -> None:
    a, b = ORSet(replica="a"), ORSet(replica="b")
    b.merge(a.add("x"))
    a.merge(b.remove("x"))
    assert "x" not in a
    b.merge(a.add("x"))
    assert a.value == b.value == {"x"}


def test_orset_present_on_one_side_but_already_removed_on_the_other() -> None:
    """riak_dt ``present_but_removed``: b removed x after seeing it; a still holds it.
    Merging either way removes x, because b's context has seen a's dot."""
    a, b = ORSet(replica="a"), ORSet(replica="b")
    b.merge(a.add("x"))
    _ = b.remove("x")
    sync(a, b)
    assert a.value == b.value == frozenset()


def test_orset_an_element_absent_on_one_side_and_unseen_there_is_kept() -> None:
    a, b = ORSet(replica="a"), ORSet(replica="b")
    _ = a.add("x")
    _ = b.add("y")
    b.merge(a)
    assert b.value == {"x", "y"}


def test_orset_remove_of_an_absent_element_raises_and_discard_does_not() -> None:
    s = ORSet(replica="a")
    with pytest.raises(KeyError):
        s.remove("ghost")
    delta = s.discard("ghost")
    assert delta.value == frozenset() and s.value == frozenset()


def test_orset_clear_removes_only_what_was_observed() -> None:
    a, b = ORSet(replica="a"), ORSet(replica="b")
    b.merge(a.add("x"))
    _ = a.add("y")
    _ = b.clear()
    sync(a, b)
    assert a.value == b.value == {"y"}


def test_orset_reads_like_a_set() -> None:
    s = ORSet(replica="a")
    for element in ["x", 1, (2, "y"), b"z", None]:
        _ = s.add(element)
    assert len(s) == 5 and (2, "y") in s and [] not in s
    assert set(s) == s.value == {"x", 1, (2, "y"), b"z", None}
    assert repr(ORSet(replica="a")) == "ORSet(replica='a', value=frozenset())"


@pytest.mark.parametrize("bad", [[1], {"a": 1}, {1}, object()])
def test_orset_refuses_elements_that_cannot_cross_the_wire(bad: object) -> None:
    with pytest.raises(TypeError, match="not supported"):
        ORSet(replica="a").add(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [2**64, -(2**63) - 1, float("nan")])
def test_orset_refuses_out_of_range_ints_and_nan(bad: object) -> None:
    with pytest.raises(ValueError):
        ORSet(replica="a").add(bad)  # type: ignore[arg-type]


def test_copy_forks_a_new_replica_and_equality_ignores_the_binding() -> None:
    a = ORSet(replica="a")
    _ = a.add("x")
    b = a.copy(replica="b")
    assert b == a and b.replica == "b" and a.copy().replica == "a"
    assert a.copy(replica=None).replica is None
    _ = b.add("y")
    assert "y" not in a


# -- RWORSet ---------------------------------------------------------------------------------


def test_rworset_a_concurrent_remove_wins_over_an_add() -> None:
    a, b = RWORSet(replica="a"), RWORSet(replica="b")
    b.merge(a.add("x"))
    _ = b.remove("x")
    _ = a.add("x")
    sync(a, b)
    assert a.value == b.value == frozenset()


def test_rworset_an_add_after_observing_the_remove_brings_the_element_back() -> None:
    a, b = RWORSet(replica="a"), RWORSet(replica="b")
    b.merge(a.add("x"))
    a.merge(b.remove("x"))
    b.merge(a.add("x"))
    assert a.value == b.value == {"x"}


def test_rworset_keeps_one_remove_token_per_removed_element() -> None:
    s = RWORSet(replica="a")
    for _ in range(50):
        _ = s.add("x")
        _ = s.remove("x")
    assert len(s._store) == 1 and s.value == frozenset()


def test_add_wins_and_remove_wins_disagree_on_the_same_history() -> None:
    results = {}
    for cls in (ORSet, RWORSet):
        a, b = cls(replica="a"), cls(replica="b")
        b.merge(a.add("x"))
        _ = b.remove("x")
        _ = a.add("x")
        sync(a, b)
        results[cls.__name__] = a.value
    assert results == {"ORSet": {"x"}, "RWORSet": frozenset()}


# -- MVRegister ------------------------------------------------------------------------------


def test_mvregister_concurrent_assignments_become_siblings_in_dot_order() -> None:
    a, b = MVRegister(replica="a"), MVRegister(replica="b")
    _ = b.assign("blue")
    _ = a.assign("red")
    sync(a, b)
    assert a.values == b.values == ("red", "blue")


def test_mvregister_a_write_that_saw_both_siblings_replaces_them() -> None:
    a, b = MVRegister(replica="a"), MVRegister(replica="b")
    _ = a.assign(1)
    _ = b.assign(2)
    sync(a, b)
    b.merge(a.resolve(max))
    assert a.values == b.values == (2,)


def test_mvregister_a_stale_write_replaces_only_what_it_saw() -> None:
    """c read v1 only; its write replaces v1 but not b's concurrent v2."""
    a, b, c = (MVRegister(replica=r) for r in "abc")
    v1 = a.assign("v1")
    b.merge(v1)
    c.merge(v1)
    _ = b.assign("v2")
    _ = c.assign("v3")
    sync(a, b, c)
    assert a.values == ("v2", "v3")


def test_mvregister_resolving_an_empty_register_does_nothing() -> None:
    r = MVRegister(replica="a")
    delta = r.resolve(max)  # max(()) would raise: fn is not called
    assert r.values == delta.values == ()


def test_mvregister_holds_lists_and_dicts() -> None:
    r = MVRegister(replica="a")
    _ = r.assign({"name": "Ada", "tags": [1, 2]})
    assert r.value == ({"name": "Ada", "tags": [1, 2]},)
    with pytest.raises(TypeError):
        r.assign({1: "int keys are not portable"})


# -- flags -----------------------------------------------------------------------------------


def test_ewflag_enable_wins_and_dwflag_disable_wins() -> None:
    outcomes = {}
    for cls in (EWFlag, DWFlag):
        a, b = cls(replica="a"), cls(replica="b")
        b.merge(a.enable())
        _ = b.disable()
        _ = a.enable()
        sync(a, b)
        outcomes[cls.__name__] = (a.value, b.value)
    assert outcomes == {"EWFlag": (True, True), "DWFlag": (False, False)}


def test_flags_start_off_and_follow_sequential_updates() -> None:
    for cls in (EWFlag, DWFlag):
        flag = cls(replica="a")
        assert flag.value is False
        _ = flag.enable()
        assert flag.value is True
        _ = flag.disable()
        assert flag.value is False


# -- CausalCounter and ORMap reset-remove ----------------------------------------------------


def test_causal_counter_counts_up_and_down_and_refuses_negative_steps() -> None:
    c = CausalCounter(replica="a")
    _ = c.increment(5)
    _ = c.decrement(2)
    _ = c.increment(0)
    assert c.value == 3
    with pytest.raises(ValueError):
        c.increment(-1)
    with pytest.raises(TypeError):
        c.increment(1.5)  # type: ignore[arg-type]


def test_ormap_removing_a_key_resets_a_nested_set_to_the_concurrent_adds() -> None:
    a = ORMap(ORSet, replica="a")
    b = a.copy(replica="b")
    b.merge(a.update("k", lambda s: s.add("old")))
    _ = b.remove("k")
    _ = a.update("k", lambda s: s.add("new"))
    sync(a, b)
    assert a.value == b.value == {"k": frozenset({"new"})}


def test_ormap_removing_a_key_resets_a_nested_counter_to_the_concurrent_increment() -> None:
    """riak_dt #98 (counters in maps cannot reset-remove) and the delta-enabled-crdts
    ``ccounter`` caveat: here the concurrent increment survives alone, as +1, not as 6."""
    a = ORMap(CausalCounter, replica="a")
    b = a.copy(replica="b")
    b.merge(a.update("hits", lambda c: c.increment(5)))
    _ = b.remove("hits")
    _ = a.update("hits", lambda c: c.increment(1))
    sync(a, b)
    assert a.value == b.value == {"hits": 1}


def test_ormap_update_ships_everything_fn_did_even_if_it_returns_nothing() -> None:
    a = ORMap(ORSet, replica="a")
    peer = ORMap(ORSet, replica="b")

    def fill(s: ORSet) -> None:
        s.add("x")
        s.add("y")

    peer.merge(a.update("k", fill))
    assert peer == a and peer.value == {"k": frozenset({"x", "y"})}


def test_ormap_a_key_whose_nested_state_empties_disappears() -> None:
    m = ORMap(ORSet, replica="a")
    _ = m.update("k", lambda s: s.add("x"))
    _ = m.update("k", lambda s: s.remove("x"))
    assert "k" not in m and m.value == {} and len(m) == 0
    with pytest.raises(KeyError):
        m.remove("k")
    assert m.get("k", "none") == "none"


def test_ormap_of_maps_nests_and_resets_only_what_was_observed() -> None:
    a = ORMap(ORMap(MVRegister), replica="a")
    b = a.copy(replica="b")
    b.merge(a.update("user", lambda m: m.update("name", lambda r: r.assign("Ada"))))
    _ = b.remove("user")
    _ = a.update("user", lambda m: m.update("email", lambda r: r.assign("ada@example.org")))
    sync(a, b)
    assert a.value == b.value == {"user": {"email": ("ada@example.org",)}}
    assert repr(ORMap(ORMap(ORSet))).startswith("ORMap(ORMap(ORSet), replica=None")


def test_ormap_refuses_non_causal_value_types_and_mismatched_merges() -> None:
    with pytest.raises(TypeError, match="causal"):
        ORMap(int)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="ORMap\\(ORMap\\(ORSet\\)\\)"):
        ORMap(ORMap)
    with pytest.raises(TypeError):
        ORMap(ORSet).merge(ORMap(RWORSet))


# -- Cart ------------------------------------------------------------------------------------


def test_cart_concurrent_adds_of_one_item_sum() -> None:
    phone, laptop = Cart(replica="phone"), Cart(replica="laptop")
    _ = phone.add("book", 2)
    _ = laptop.add("book", 3)
    sync(phone, laptop)
    assert phone.quantities == laptop.quantities == {"book": 5}


def test_cart_a_removal_never_resurrects_what_it_observed() -> None:
    """Dynamo's anomaly: a union merge brings the deleted book back. Here it stays gone,
    while the concurrently added pen stays."""
    phone = Cart(replica="phone")
    laptop = phone.copy(replica="laptop")
    laptop.merge(phone.add("book"))
    _ = laptop.remove("book")
    _ = phone.add("pen")
    sync(phone, laptop)
    assert phone.quantities == laptop.quantities == {"pen": 1}


def test_cart_an_add_concurrent_with_a_removal_is_never_lost() -> None:
    phone = Cart(replica="phone")
    laptop = phone.copy(replica="laptop")
    laptop.merge(phone.add("book", 2))
    _ = laptop.remove("book")
    _ = phone.add("book", 1)
    sync(phone, laptop)
    assert phone.quantities == {"book": 1}


def test_cart_partial_removal_decrements_and_full_removal_clears() -> None:
    cart = Cart(replica="a")
    _ = cart.add("apple", 5)
    _ = cart.remove("apple", 2)
    assert cart.quantities == {"apple": 3} and cart["apple"] == 3 and cart.get("pear", 0) == 0
    with pytest.raises(ValueError, match="holds 3"):
        cart.remove("apple", 4)
    _ = cart.remove("apple", 3)
    assert cart.quantities == {} and "apple" not in cart
    with pytest.raises(KeyError):
        cart.remove("apple")
    with pytest.raises(ValueError):
        cart.add("apple", 0)


def test_cart_a_partial_removal_concurrent_with_a_reset_leaves_the_remainder() -> None:
    phone = Cart(replica="phone")
    laptop = phone.copy(replica="laptop")
    laptop.merge(phone.add("tea", 3))
    _ = laptop.remove("tea", 1)  # the laptop wants 2 left...
    _ = phone.remove("tea")  # ...while the phone removes the 3 it saw
    sync(phone, laptop)
    assert phone.quantities == laptop.quantities == {"tea": 2}
    assert phone == laptop


def test_cart_a_partial_removal_never_swallows_a_concurrent_add() -> None:
    """Regression (found in review): a partial remove used to be a bare decrement, which
    survived a concurrent reset and cancelled the add made after it."""
    a = Cart(replica="a")
    b = a.copy(replica="b")
    b.merge(a.add("x", 3))
    partial = a.remove("x", 1)
    reset, re_add = b.remove("x"), b.add("x", 1)
    a.merge(reset)
    a.merge(re_add)
    b.merge(partial)
    assert a.quantities == b.quantities == {"x": 3}  # a's remaining 2 and b's new 1: nothing lost


def test_cart_an_add_after_a_hidden_negative_quantity_counts_in_full() -> None:
    """Regression (found while writing docs/concepts.md): a quantity at or below zero (here
    made through the inherited ORMap.update) swallowed the next add."""
    cart = Cart(replica="a")
    _ = cart.add("book", 1)
    peer = cart.copy(replica="b")
    # a bare decrement, as concurrent removals can leave; Cart.update refuses to make one
    peer.merge(ORMap.update(cart, "book", lambda counter: counter.decrement(2)))
    assert cart.quantities == {} and "book" in cart._entries
    delta = cart.add("book", 1)
    assert cart.quantities == {"book": 1}
    peer.merge(delta)
    assert peer == cart


def test_cart_refuses_quantities_that_cannot_cross_the_wire() -> None:
    cart = Cart(replica="a")
    with pytest.raises(ValueError, match="2\\*\\*63"):
        cart.add("x", 2**63)
    with pytest.raises(ValueError):
        CausalCounter(replica="a").increment(2**63)
    assert cart.quantities == {}


def test_ormap_update_whose_fn_raises_keeps_nothing() -> None:
    """Regression (found in review): a failing fn left its changes in place, unshipped."""
    m = ORMap(ORSet, replica="a")
    _ = m.update("k", lambda s: s.add("x"))
    before = m.copy()

    def half_done(s: ORSet) -> None:
        s.add("y")
        s.discard("x")
        raise RuntimeError("boom")

    for key in ("k", "new"):
        with pytest.raises(RuntimeError):
            m.update(key, half_done)
        m._check()
        assert m == before
    assert m.update("k", lambda s: s.add("y")).value == {"k": frozenset({"y"})}


def test_or_gives_a_read_only_join_that_cannot_write_as_either_side() -> None:
    a, b = ORSet(replica="a"), ORSet(replica="b")
    _ = a.add("x")
    joined = a | b
    assert joined.replica is None and joined.value == {"x"}
    forked = joined.copy(replica="c")
    _ = forked.add("y")
    _ = a.add("z")
    a.merge(forked)  # no dot was minted twice
    assert a.value == {"x", "y", "z"}
