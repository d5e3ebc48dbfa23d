"""LWWRegister, LWWElementSet and LWWMap: Shapiro et al. 2011's last-writer-wins types over
a hybrid logical clock — deterministic, commutative tie-breaking, add/remove bias, removals
that arrive before the adds they beat, clock observation on merge, the drift guard — plus
deltas, wire hooks and the lattice laws."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from clocks import HLC, ClockDriftError, Timestamp
from crdts.errors import UnboundReplicaError
from crdts.lww import LWWElementSet, LWWMap, LWWRegister
from tests.registry import merged

REPLICAS = ("a", "b", "c")
LWWType = LWWRegister | LWWElementSet | LWWMap


class ManualClock:
    """A physical clock that reads whatever time the test sets."""

    def __init__(self, time: int = 1_000) -> None:
        self.time = time

    def __call__(self) -> int:
        return self.time


def bound(
    lww_type: Callable[..., Any], replica: str, time: int = 1_000, **options: Any
) -> tuple[Any, ManualClock]:
    """A replica whose HLC reads a manual physical clock starting at ``time``."""
    physical = ManualClock(time)
    return lww_type(replica=replica, clock=HLC(replica, now=physical), **options), physical


def both_ways(a: Any, b: Any) -> tuple[Any, Any]:
    """``a`` merged into ``b`` and ``b`` merged into ``a`` (unbound copies)."""
    return merged(a, b), merged(b, a)


# -- LWWRegister -----------------------------------------------------------------------------


def test_a_new_register_holds_none_without_a_timestamp() -> None:
    register = LWWRegister(replica="a")
    register._check()
    assert register.value is None and register.timestamp is None


def test_the_later_write_wins_in_either_merge_order() -> None:
    a, _ = bound(LWWRegister, "a", time=1_000)
    b, _ = bound(LWWRegister, "b", time=1_200)
    a.assign("old")
    b.assign("new")
    for result in both_ways(a, b):
        assert result.value == "new"
        assert result.timestamp == Timestamp(1_200, 0, "b")


def test_an_assign_returns_an_unbound_delta_with_the_write() -> None:
    a, _ = bound(LWWRegister, "a")
    delta = a.assign([1, {"k": (2, 3)}])
    delta._check()
    assert delta.replica is None and delta.clock is None
    assert delta == a and delta.value == [1, {"k": (2, 3)}]


def test_equal_wall_and_logical_time_are_broken_by_the_node_the_same_way_everywhere() -> None:
    a, _ = bound(LWWRegister, "a")
    b, _ = bound(LWWRegister, "b")
    a.assign("from a")
    b.assign("from b")
    assert a.timestamp is not None and b.timestamp is not None
    assert a.timestamp[:2] == b.timestamp[:2]
    one, two = both_ways(a, b)
    assert one == two and one.value == "from b"


@pytest.mark.parametrize(
    ("first", "second"),
    [("x", "y"), (1, 2), (1, 1.0), (1, True), ((1, 2), [1, 2]), ({"a": 1}, {"a": [1]}), (None, 0)],
)
def test_fully_equal_stamps_with_different_values_pick_the_same_winner_in_either_order(
    first: Any, second: Any
) -> None:
    """A replica reusing a stamp for two values must not leave replicas disagreeing forever:
    the values' order decides, including values Python calls equal (1, 1.0, True)."""
    stamp = Timestamp(5, 0, "a")
    a, b = LWWRegister(replica="a"), LWWRegister(replica="b")
    a.assign(first, timestamp=stamp)
    b.assign(second, timestamp=stamp)
    one, two = both_ways(a, b)
    assert one == two
    assert type(one.value) is type(two.value) and repr(one.value) == repr(two.value)
    assert one._to_wire() == two._to_wire()


def test_an_explicit_older_timestamp_loses_locally_but_its_delta_still_carries_it() -> None:
    a, _ = bound(LWWRegister, "a", time=1_000)
    a.assign("now")
    delta = a.assign("back then", timestamp=Timestamp(10, 0, "a"))
    assert a.value == "now"
    assert delta.value == "back then" and delta.timestamp == Timestamp(10, 0, "a")


def test_an_explicit_timestamp_does_not_move_the_clock() -> None:
    a, _ = bound(LWWRegister, "a", time=1_000)
    a.assign("future", timestamp=Timestamp(1_400, 0, "a"))  # within max_offset 500
    assert a.clock is not None and a.clock.last == Timestamp(0, 0, "a")
    a.assign("unstamped")
    assert a.value == "future"


@pytest.mark.parametrize(
    ("timestamp", "error"),
    [
        ((5, 0, "a"), TypeError),
        (5, TypeError),
        (Timestamp("5", 0, "a"), TypeError),  # type: ignore[arg-type]
        (Timestamp(5, True, "a"), TypeError),
        (Timestamp(5, 0, 7), TypeError),  # type: ignore[arg-type]
        (Timestamp(-1, 0, "a"), ValueError),
        (Timestamp(2**64, 0, "a"), ValueError),
    ],
)
def test_an_invalid_explicit_timestamp_is_refused_and_changes_nothing(
    timestamp: Any, error: type[Exception]
) -> None:
    writes: list[tuple[Any, Callable[[Any], Any]]] = [
        (LWWRegister, lambda s: s.assign("v", timestamp=timestamp)),
        (LWWElementSet, lambda s: s.add("e", timestamp=timestamp)),
        (LWWElementSet, lambda s: s.remove("e", timestamp=timestamp)),
        (LWWMap, lambda s: s.set("k", "v", timestamp=timestamp)),
        (LWWMap, lambda s: s.remove("k", timestamp=timestamp)),
    ]
    for lww_type, mutate in writes:
        state, _ = bound(lww_type, "a")
        with pytest.raises(error):
            mutate(state)
        state._check()
        assert state == lww_type()


def test_assign_keeps_its_own_copy_of_a_mutable_value() -> None:
    a, _ = bound(LWWRegister, "a")
    items = [1, 2]
    delta = a.assign(items)
    items.append(3)
    assert a.value == [1, 2] and delta.value == [1, 2]
    copied = a.copy()
    copied.value.append(4)
    assert a.value == [1, 2]


@pytest.mark.parametrize("value", [{1: "int key"}, {"a"}, object(), float("nan"), 2**64])
def test_an_unsupported_register_value_is_refused(value: Any) -> None:
    a, _ = bound(LWWRegister, "a")
    with pytest.raises((TypeError, ValueError)):
        a.assign(value)
    assert a == LWWRegister()
    assert a.clock is not None and a.clock.last == Timestamp(0, 0, "a")


# -- clocks: observation, drift, binding -----------------------------------------------------


@pytest.mark.parametrize(
    ("lww_type", "write", "read"),
    [
        (LWWRegister, lambda s, v: s.assign(v), lambda s: s.value),
        (LWWMap, lambda s, v: s.set("k", v), lambda s: s.get("k")),
    ],
)
def test_after_merging_a_stamp_from_the_near_future_the_next_local_write_is_ordered_after_it(
    lww_type: Any, write: Any, read: Any
) -> None:
    a, _ = bound(lww_type, "a", time=1_000)
    b, _ = bound(lww_type, "b", time=1_400)  # 400 ahead: within max_offset 500
    remote = write(b, "remote")
    a.merge(remote)
    write(a, "local")
    a._check()
    assert read(a) == "local"
    b.merge(a)
    assert read(b) == "local"


def test_after_merging_a_removal_from_the_near_future_a_local_add_beats_it() -> None:
    a, _ = bound(LWWElementSet, "a", time=1_000)
    b, _ = bound(LWWElementSet, "b", time=1_450)
    a.merge(b.remove("x"))
    a.add("x")
    a._check()
    assert "x" in a


@pytest.mark.parametrize(
    ("lww_type", "write"),
    [
        (LWWRegister, lambda s: s.assign("far")),
        (LWWElementSet, lambda s: s.add("far")),
        (LWWElementSet, lambda s: s.remove("far")),
        (LWWMap, lambda s: s.set("k", "far")),
        (LWWMap, lambda s: s.remove("k")),
    ],
)
def test_a_stamp_beyond_the_drift_bound_is_refused_with_state_and_clock_unchanged(
    lww_type: Any, write: Any
) -> None:
    a, physical = bound(lww_type, "a", time=1_000)
    b, _ = bound(lww_type, "b", time=2_000)  # 1000 ahead: beyond max_offset 500
    write(a)
    write(b)
    before, last = a.copy(replica=None), a.clock.last
    assert merged(before, b) != before  # the refused merge would change the state
    with pytest.raises(ClockDriftError):
        a.merge(b)
    a._check()
    assert a == before and a.clock.last == last
    physical.time = 1_500  # physical time caught up: the same merge succeeds
    a.merge(b)
    a._check()
    assert a == merged(before, b)


def test_a_stamp_exactly_at_the_drift_bound_is_accepted() -> None:
    a, _ = bound(LWWRegister, "a", time=1_000)
    b, _ = bound(LWWRegister, "b", time=1_500)
    a.merge(b.assign("edge"))
    assert a.value == "edge"


def test_an_unbound_register_merges_any_stamp_without_observing() -> None:
    reader = LWWRegister()
    far, _ = bound(LWWRegister, "b", time=10**12)
    reader.merge(far.assign("far"))
    assert reader.value == "far" and reader.clock is None


def test_an_unbound_instance_given_a_clock_observes_but_cannot_write() -> None:
    physical = ManualClock(1_000)
    reader = LWWRegister(clock=HLC("r", now=physical))
    b, _ = bound(LWWRegister, "b", time=2_000)
    with pytest.raises(ClockDriftError):
        reader.merge(b.assign("far"))
    with pytest.raises(UnboundReplicaError):
        reader.assign("x")


@pytest.mark.parametrize(
    ("lww_type", "mutate"),
    [
        (LWWRegister, lambda s: s.assign("v")),
        (LWWRegister, lambda s: s.assign("v", timestamp=Timestamp(1, 0, "a"))),
        (LWWElementSet, lambda s: s.add("e")),
        (LWWElementSet, lambda s: s.remove("e", timestamp=Timestamp(1, 0, "a"))),
        (LWWMap, lambda s: s.set("k", "v")),
        (LWWMap, lambda s: s.remove("k")),
    ],
)
def test_an_unbound_instance_refuses_to_mutate(lww_type: Any, mutate: Any) -> None:
    with pytest.raises(UnboundReplicaError, match="replica="):
        mutate(lww_type())
    state, _ = bound(lww_type, "a")
    delta = mutate(state)
    with pytest.raises(UnboundReplicaError):
        mutate(delta)
    with pytest.raises(UnboundReplicaError):
        mutate(lww_type._from_wire(state._to_wire()))


def test_the_default_clock_is_an_hlc_for_the_replica() -> None:
    register = LWWRegister(replica="a")
    assert isinstance(register.clock, HLC) and register.clock.node == "a"
    assert LWWRegister().clock is None


def test_copy_shares_the_clock_for_the_same_replica_and_forks_a_fresh_one_otherwise() -> None:
    physical = ManualClock(1_000)
    clock = HLC("a", now=physical, max_offset=50)
    a = LWWMap(replica="a", clock=clock)
    a.set("k", 1)
    assert a.copy().clock is clock
    fork = a.copy(replica="b")
    assert fork.clock is not None and fork.clock is not clock
    assert fork.clock.node == "b" and fork.clock.max_offset == 50
    assert a.copy(replica=None).clock is None
    chosen = HLC("b", now=physical)
    assert a.copy(replica="b", clock=chosen).clock is chosen
    assert fork == a


def test_binding_a_decoded_instance_gives_it_a_clock() -> None:
    decoded = LWWRegister._from_wire(LWWRegister(replica="a")._to_wire())
    assert decoded.clock is None
    bound_copy = decoded.copy(replica="z")
    assert bound_copy.clock is not None and bound_copy.clock.node == "z"
    bound_copy.assign("x")
    assert bound_copy.timestamp is not None and bound_copy.timestamp.node == "z"


def test_a_clock_must_be_an_hlc_naming_the_replica() -> None:
    with pytest.raises(TypeError, match="HLC"):
        LWWRegister(replica="a", clock=lambda: 5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'b'"):
        LWWRegister(replica="a", clock=HLC("b"))
    with pytest.raises(ValueError):
        LWWRegister(replica="a").copy(replica="c", clock=HLC("b"))


def test_merging_another_type_is_a_type_error() -> None:
    register, lww_map = LWWRegister(replica="a"), LWWMap(replica="a")
    with pytest.raises(TypeError, match="LWWMap"):
        register.merge(lww_map)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        lww_map.merge(LWWElementSet())  # type: ignore[arg-type]


# -- LWWElementSet ---------------------------------------------------------------------------


def test_an_element_set_adds_and_removes_and_supports_in_len_and_iteration() -> None:
    s, _ = bound(LWWElementSet, "a")
    s.add("x")
    s.add(("t", 1))
    s.remove("x")
    s._check()
    assert s.value == frozenset({("t", 1)})
    assert ("t", 1) in s and "x" not in s
    assert len(s) == 1 and list(s) == [("t", 1)]


def test_a_removed_element_comes_back_with_a_later_add() -> None:
    s, _ = bound(LWWElementSet, "a")
    s.add("x")
    s.remove("x")
    s.add("x")
    s._check()
    assert "x" in s


def test_removing_an_element_never_seen_is_recorded_not_an_error() -> None:
    s, _ = bound(LWWElementSet, "a")
    delta = s.remove("ghost")
    s._check()
    assert len(s) == 0 and s != LWWElementSet()
    assert delta == s


def test_a_removal_arriving_before_the_add_it_beats_still_wins() -> None:
    a, _ = bound(LWWElementSet, "a", time=1_000)
    b, _ = bound(LWWElementSet, "b", time=1_100)
    add = a.add("x")
    removal = b.remove("x")  # stamped later than the add, though b never saw it
    peer, _ = bound(LWWElementSet, "p", time=1_000)
    peer.merge(removal)
    peer._check()
    assert "x" not in peer
    peer.merge(add)
    peer._check()
    assert "x" not in peer
    in_order, _ = bound(LWWElementSet, "q", time=1_000)
    in_order.merge(add)
    assert "x" in in_order
    in_order.merge(removal)
    assert in_order == peer


@pytest.mark.parametrize(("bias", "present"), [("add", True), ("remove", False)])
def test_bias_decides_an_add_and_a_remove_with_equal_stamps(bias: Any, present: bool) -> None:
    stamp = Timestamp(7, 0, "a")
    adder, remover = LWWElementSet(replica="a", bias=bias), LWWElementSet(replica="b", bias=bias)
    adder.add("x", timestamp=stamp)
    remover.remove("x", timestamp=stamp)
    for result in both_ways(adder, remover):
        assert ("x" in result) is present
    local = LWWElementSet(replica="a", bias=bias)
    local.remove("x", timestamp=stamp)
    local.add("x", timestamp=stamp)
    local._check()
    assert ("x" in local) is present


def test_a_bias_other_than_add_or_remove_is_refused() -> None:
    with pytest.raises(ValueError, match="bias"):
        LWWElementSet(bias="wins")  # type: ignore[arg-type]


def test_sets_with_different_bias_refuse_to_merge_and_equality_sees_the_bias() -> None:
    add_biased, remove_biased = LWWElementSet(replica="a"), LWWElementSet(bias="remove")
    add_biased.add("x")
    with pytest.raises(TypeError, match="bias"):
        add_biased.merge(remove_biased)
    add_biased._check()
    assert add_biased.value == frozenset({"x"})
    assert LWWElementSet() != LWWElementSet(bias="remove")
    assert add_biased.copy().bias == "add"
    assert remove_biased.copy(replica="z").bias == "remove"


def test_an_add_delta_carries_the_bias_and_only_the_add() -> None:
    s, _ = bound(LWWElementSet, "a", bias="remove")
    s.remove("x")
    delta = s.add("x")
    assert delta.bias == "remove"
    assert delta._to_wire() == ["remove", [["x", [1_000, 1, "a"], None]]]


# -- LWWMap ----------------------------------------------------------------------------------


def test_a_map_sets_gets_and_removes_keys() -> None:
    m, _ = bound(LWWMap, "a")
    m.set("a", 1)
    m.set(("t", 2), [1, 2])
    m.set("a", 3)
    m.remove("b")
    m._check()
    assert m.value == {"a": 3, ("t", 2): [1, 2]}
    assert len(m) == 2 and "a" in m and "b" not in m
    assert m.get("a") == 3 and m.get("b") is None and m.get("b", "default") == "default"
    m.remove("a")
    m._check()
    assert "a" not in m and m.get("a", 0) == 0 and len(m) == 1


def test_a_map_key_set_to_none_is_present() -> None:
    m, _ = bound(LWWMap, "a")
    m.set("k", None)
    assert "k" in m and m.value == {"k": None} and m.get("k", 5) is None


def test_a_map_removal_arriving_before_the_set_it_beats_still_wins() -> None:
    a, _ = bound(LWWMap, "a", time=1_000)
    b, _ = bound(LWWMap, "b", time=1_100)
    write = a.set("k", "v")
    removal = b.remove("k")
    peer, _ = bound(LWWMap, "p")
    peer.merge(removal)
    peer.merge(write)
    peer._check()
    assert "k" not in peer and len(peer) == 0
    later, _ = bound(LWWMap, "c", time=1_200)
    peer.merge(later.set("k", "back"))
    assert peer.get("k") == "back"


def test_with_equal_stamps_a_value_beats_a_removal_and_values_are_ordered() -> None:
    stamp = Timestamp(9, 0, "a")
    setter, remover, other = (LWWMap(replica=r) for r in REPLICAS)
    setter.set("k", "v", timestamp=stamp)
    remover.remove("k", timestamp=stamp)
    other.set("k", "w", timestamp=stamp)
    for result in both_ways(setter, remover):
        assert result.get("k") == "v"
    one, two = both_ways(setter, other)
    assert one == two
    everything = [merged(*order) for order in ((setter, remover, other), (other, remover, setter))]
    assert everything[0] == everything[1] and everything[0]._to_wire() == everything[1]._to_wire()


def test_unsupported_map_keys_and_values_are_refused() -> None:
    m, _ = bound(LWWMap, "a")
    with pytest.raises(TypeError, match="key"):
        m.set(["list"], 1)
    with pytest.raises(TypeError, match="key"):
        m.remove({"a": 1})
    with pytest.raises(TypeError):
        m.set("k", {1, 2})
    assert m == LWWMap()


# -- generated histories ---------------------------------------------------------------------

STAMPS = st.none() | st.builds(
    Timestamp, st.integers(0, 3), st.integers(0, 1), st.sampled_from(REPLICAS)
)
VALUES = st.sampled_from([None, 0, 1, 1.0, True, "x", b"x", (1,), [1], {"k": 1}, {"k": [1, (2,)]}])
ELEMENTS = st.sampled_from(["x", "y", ("t", 1), 2, None])


def ops_of(writes: st.SearchStrategy[tuple[str, tuple[Any, ...]]]) -> Any:
    """Sequences of ``(replica, method, args, stamp)`` writes and ``(replica, "merge", other)``."""
    write = st.tuples(st.sampled_from(REPLICAS), writes, STAMPS).map(
        lambda t: (t[0], t[1][0], t[1][1], t[2])
    )
    sync = st.tuples(st.sampled_from(REPLICAS), st.just("merge"), st.sampled_from(REPLICAS))
    return st.lists(st.one_of(write, sync), max_size=25)


register_ops = ops_of(st.tuples(st.just("assign"), st.tuples(VALUES)))
element_set_ops = ops_of(
    st.tuples(st.sampled_from(["add", "remove"]), st.tuples(ELEMENTS)),
)
map_ops = ops_of(
    st.one_of(
        st.tuples(st.just("set"), st.tuples(ELEMENTS, VALUES)),
        st.tuples(st.just("remove"), st.tuples(ELEMENTS)),
    )
)
histories = st.one_of(
    st.tuples(st.just(LWWRegister), st.just({}), register_ops),
    st.tuples(
        st.just(LWWElementSet),
        st.sampled_from([{"bias": "add"}, {"bias": "remove"}]),
        element_set_ops,
    ),
    st.tuples(st.just(LWWMap), st.just({}), map_ops),
)


def run(lww_type: Any, options: dict[str, Any], ops: list[Any]) -> dict[str, Any]:
    """Apply ``ops`` to replicas whose clocks read physical time 2 (close to the explicit
    stamps, so clock-made and explicit stamps interleave); return the replicas."""
    replicas = {r: bound(lww_type, r, time=2, **options)[0] for r in REPLICAS}
    for op in ops:
        state = replicas[op[0]]
        if op[1] == "merge":
            state.merge(replicas[op[2]])
        else:
            _, method, args, stamp = op
            getattr(state, method)(*args, timestamp=stamp)
        state._check()
    return replicas


@given(histories)
def test_merging_into_a_bound_replica_gives_the_same_state_as_an_unbound_merge(
    history: tuple[Any, dict[str, Any], list[Any]],
) -> None:
    replicas = run(*history)
    a, b, _ = replicas.values()
    expected = merged(a, b)
    a.merge(b)
    a._check()
    assert a == expected


# -- wire hooks ------------------------------------------------------------------------------


def test_register_values_keep_tuples_lists_and_dicts_apart_on_the_wire() -> None:
    a = LWWRegister(replica="a")
    a.assign(((1, [2]), {"b": 1, "a": (3,)}), timestamp=Timestamp(1, 2, "a"))
    wire = a._to_wire()
    assert wire == [[1, 2, "a"], [0, [[0, [1, [1, [2]]]], [2, [["a", [0, [3]]], ["b", 1]]]]]]
    decoded = LWWRegister._from_wire(msgpack.unpackb(msgpack.packb(wire)))
    assert decoded.value == ((1, [2]), {"a": (3,), "b": 1})


def test_equal_states_built_in_different_orders_have_equal_wire_structures() -> None:
    one, two = LWWMap(replica="a"), LWWMap(replica="b")
    writes = [("k1", {"x": 1, "y": 2}), (("t", 1), [1]), (2, None)]
    for key, value in writes:
        one.set(key, value, timestamp=Timestamp(1, 0, "a"))
    for key, value in reversed(writes):
        if isinstance(value, dict):
            value = dict(reversed(value.items()))
        two.set(key, value, timestamp=Timestamp(1, 0, "a"))
    one.remove("gone", timestamp=Timestamp(1, 0, "a"))
    two.remove("gone", timestamp=Timestamp(1, 0, "a"))
    assert one == two and one._to_wire() == two._to_wire()
    keys = [entry[0] for entry in one._to_wire()]
    assert keys == sorted(keys, key=msgpack.packb)
    assert ["gone", [1, 0, "a"], False, None] in one._to_wire()

    s, t = LWWElementSet(replica="a"), LWWElementSet(replica="b")
    for element in ("x", "y", ("z", 1)):
        s.add(element, timestamp=Timestamp(1, 0, "a"))
    for element in (("z", 1), "y", "x"):
        t.add(element, timestamp=Timestamp(1, 0, "a"))
    assert s._to_wire() == t._to_wire()


@pytest.mark.parametrize(
    "data",
    [
        "x",
        [[1, 0, "a"]],
        [[1, 0], "v"],
        [[1, 0, 5], "v"],
        [[-1, 0, "a"], "v"],
        [[True, 0, "a"], "v"],
        [[1, 0, "a"], [3, []]],
        [[1, 0, "a"], [0, "not items"]],
        [[1, 0, "a"], [1]],
        [[1, 0, "a"], [True, []]],
        [[1, 0, "a"], [2, [[1, "int key"]]]],
        [[1, 0, "a"], [2, [["k", 1], ["k", 2]]]],
        [[1, 0, "a"], {"a": 1}],
        [[1, 0, "a"], float("nan")],
    ],
)
def test_a_malformed_register_structure_is_a_value_error(data: Any) -> None:
    with pytest.raises(ValueError):
        LWWRegister._from_wire(data)


@pytest.mark.parametrize(
    "data",
    [
        None,
        ["add"],
        ["both", []],
        ["add", [["x", None, None]]],
        ["add", [["x", [1, 0, "a"]]]],
        ["add", [["x", [1, 0, "a"], None], ["x", None, [1, 0, "a"]]]],
        ["add", [[{"a": 1}, [1, 0, "a"], None]]],
        ["add", [["x", "stamp", None]]],
    ],
)
def test_a_malformed_element_set_structure_is_a_value_error(data: Any) -> None:
    with pytest.raises(ValueError):
        LWWElementSet._from_wire(data)


@pytest.mark.parametrize(
    "data",
    [
        None,
        [["k", [1, 0, "a"], True]],
        [["k", [1, 0, "a"], 1, "v"]],
        [["k", [1, 0, "a"], False, "v"]],
        [["k", [1, 0, "a"], True, "v"], ["k", [2, 0, "a"], False, None]],
        [[["list", {}], [1, 0, "a"], True, "v"]],
    ],
)
def test_a_malformed_map_structure_is_a_value_error(data: Any) -> None:
    with pytest.raises(ValueError):
        LWWMap._from_wire(data)


def test_repr_shows_type_replica_and_value() -> None:
    m = LWWMap(replica="a")
    m.set("k", 1)
    assert repr(m) == "LWWMap(replica='a', value={'k': 1})"


# -- issue 10: stamps that could never be merged do not get in -------------------------------

_OUT_OF_PACK_BOUNDS = [
    Timestamp(1_000, 0x10000, "a"),  # logical past 16 bits: HLC.update raised ValueError
    Timestamp(1_000, 2**64 - 1, "a"),
    Timestamp(2**48, 0, "a"),  # wall past 48 bits
    Timestamp(2**63, 0, "a"),
]


@pytest.mark.parametrize("stamp", _OUT_OF_PACK_BOUNDS)
def test_lww_stamp_with_logical_past_0xffff_refused_at_assign_and_decode(
    stamp: Timestamp,
) -> None:
    """Issue 10, item 1: such a stamp used to be accepted by assign/set and by decode, after
    which every bound replica's merge raised a plain ValueError from HLC.update."""
    from crdts import decode, encode
    from crdts.errors import DecodeError

    writes: list[tuple[Any, Callable[[Any, Timestamp], Any]]] = [
        (LWWRegister, lambda s, t: s.assign("v", timestamp=t)),
        (LWWElementSet, lambda s, t: s.add("e", timestamp=t)),
        (LWWElementSet, lambda s, t: s.remove("e", timestamp=t)),
        (LWWMap, lambda s, t: s.set("k", "v", timestamp=t)),
        (LWWMap, lambda s, t: s.remove("k", timestamp=t)),
    ]
    for lww_type, write in writes:
        state = lww_type(replica="a", clock=HLC("a", max_offset=None))
        with pytest.raises(ValueError, match=r"Timestamp\.pack"):
            write(state, stamp)
        assert state == lww_type()
        # the same write, smuggled past the check, is refused by decode
        valid = write(lww_type(replica="a", clock=HLC("a", max_offset=None)), Timestamp(7, 0, "a"))
        wire = encode(valid).replace(
            msgpack.packb([7, 0, "a"]), msgpack.packb([stamp.wall, stamp.logical, "a"])
        )
        assert wire != encode(valid)
        with pytest.raises(DecodeError):
            decode(wire)
    # a stamp at the bounds still enters, merges into a bound replica and re-encodes
    edge = Timestamp(2**48 - 1, 0xFFFF, "a")
    writer = LWWMap(replica="a", clock=HLC("a", max_offset=None))
    reader = LWWMap(replica="b", clock=HLC("b", max_offset=None))
    reader.merge(decode(encode(writer.set("k", "v", timestamp=edge))))
    assert reader.get("k") == "v" and decode(encode(reader)) == reader


def test_lww_far_future_explicit_stamp_cannot_be_minted_so_other_map_keys_replicate() -> None:
    """Issue 10, item 2: ``set(timestamp=Timestamp(2**63, 0, "a"))`` used to be accepted, after
    which every merge of the writer's whole state raised ClockDriftError, so no other key ever
    replicated. Decision: merge stays all-or-nothing (a join); a writer may not mint a stamp
    more than its clock's max_offset ahead of its physical time, nor one outside the pack
    bounds, so an honest writer's state is always mergeable by peers whose clocks agree."""
    a, _ = bound(LWWMap, "a", time=1_000)
    b, _ = bound(LWWMap, "b", time=1_000)
    for stamp, error in [
        (Timestamp(2**63, 0, "a"), ValueError),
        (Timestamp(1_501, 0, "a"), ClockDriftError),  # max_offset 500 ahead of 1_000
    ]:
        with pytest.raises(error):
            a.set("bad", "x", timestamp=stamp)
        with pytest.raises(error):
            a.remove("bad", timestamp=stamp)
    assert a == LWWMap() and a.clock is not None and a.clock.last == Timestamp(0, 0, "a")
    a.set("near", "ok", timestamp=Timestamp(1_500, 0, "a"))  # exactly at the bound
    a.set("other", 1)
    b.merge(a)  # the whole state merges: nothing blocks the other key
    assert b.value == {"near": "ok", "other": 1}
    # without a drift bound, only the pack bounds apply
    free = LWWMap(replica="c", clock=HLC("c", max_offset=None))
    free.set("far", 1, timestamp=Timestamp(2**48 - 1, 0, "c"))
    with pytest.raises(ValueError):
        free.set("farther", 1, timestamp=Timestamp(2**48, 0, "c"))
