"""GCounter and PNCounter: Shapiro et al. 2011 Specifications 6 and 7, their deltas, the
decrement pitfall of a max-merged counter, the wire hooks and the lattice laws."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crdts.errors import UnboundReplicaError
from crdts.gcounter import GCounter
from crdts.pncounter import PNCounter
from tests.registry import merged

REPLICAS = ("a", "b", "c")
Counter = GCounter | PNCounter


# -- GCounter --------------------------------------------------------------------------------


def test_a_gcounter_counts_its_own_increments() -> None:
    counter = GCounter(replica="a")
    assert counter.value == 0
    counter.increment()
    counter.increment(4)
    counter._check()
    assert counter.value == 5


def test_an_increment_returns_a_delta_holding_only_the_new_total_of_its_replica() -> None:
    a = GCounter(replica="a")
    a.merge(GCounter._from_wire([["b", 7]]))
    a.increment(2)
    delta = a.increment(3)
    delta._check()
    assert delta.replica is None
    assert delta._to_wire() == [[a.writer, 5]]


def test_merging_keeps_the_larger_total_per_replica_so_nothing_is_counted_twice() -> None:
    a, b = GCounter(replica="a"), GCounter(replica="b")
    a.increment(3)
    b.merge(a)
    b.merge(a)
    b._check()
    assert b.value == 3
    a.increment(1)
    b.increment(10)
    a.merge(b)
    b.merge(a)
    for counter in (a, b):
        counter._check()
        assert counter.value == 14
    assert a == b


def test_concurrent_increments_at_every_replica_all_count() -> None:
    counters = [GCounter(replica=r) for r in REPLICAS]
    for amount, counter in enumerate(counters, start=1):
        counter.increment(amount)
    total = merged(*counters)
    assert total.value == 6


def test_incrementing_by_zero_stores_no_zero_entry_so_equal_states_compare_equal() -> None:
    counter = GCounter(replica="a")
    delta = counter.increment(0)
    counter._check()
    delta._check()
    assert counter == GCounter() and delta == GCounter()
    assert counter._to_wire() == []


@pytest.mark.parametrize("by", [1.0, "1", None, True, False])
def test_an_increment_by_a_non_int_is_a_type_error(by: Any) -> None:
    counter = GCounter(replica="a")
    with pytest.raises(TypeError, match="int"):
        counter.increment(by)
    assert counter == GCounter()


def test_a_negative_increment_is_refused_and_points_to_pncounter() -> None:
    counter = GCounter(replica="a")
    counter.increment(2)
    with pytest.raises(ValueError, match="PNCounter"):
        counter.increment(-1)
    counter._check()
    assert counter.value == 2


def test_a_total_beyond_the_wire_range_is_refused_and_changes_nothing() -> None:
    counter = GCounter(replica="a")
    counter.increment(2**64 - 1)
    with pytest.raises(ValueError, match="2\\*\\*64"):
        counter.increment()
    counter._check()
    assert counter.value == 2**64 - 1


def test_equality_compares_state_and_ignores_the_replica_id() -> None:
    a, b = GCounter(replica="a"), GCounter(replica="b")
    assert a == b
    b.merge(a.increment())
    assert a == b
    assert a.replica == "a" and b.replica == "b"
    # same value, different state: not equal
    c = GCounter(replica="c")
    c.increment()
    assert c.value == a.value and c != a


def test_leq_is_the_lattice_order() -> None:
    a, b = GCounter(replica="a"), GCounter(replica="b")
    a.increment()
    b.increment()
    assert not a.leq(b) and not b.leq(a)
    assert a.leq(a | b) and b.leq(a | b)


def test_copy_is_independent_and_can_fork_another_replica() -> None:
    a = GCounter(replica="a")
    a.increment()
    same, fork = a.copy(), a.copy(replica="b")
    assert same.replica == "a" and fork.replica == "b"
    fork.increment(5)
    assert a.value == 1 and fork.value == 6
    a.merge(fork)
    assert a.value == 6


# -- PNCounter -------------------------------------------------------------------------------


def test_a_pncounter_counts_up_and_down_and_may_go_negative() -> None:
    counter = PNCounter(replica="a")
    counter.increment(2)
    counter.decrement(5)
    counter._check()
    assert counter.value == -3


class NaiveDecrementingCounter:
    """The pitfall: a max-merged counter whose decrement lowers the replica's own entry."""

    def __init__(self, replica: str) -> None:
        self.replica = replica
        self.entries: dict[str, int] = {}

    def increment(self, by: int = 1) -> None:
        self.entries[self.replica] = self.entries.get(self.replica, 0) + by

    def decrement(self, by: int = 1) -> None:
        self.entries[self.replica] = self.entries.get(self.replica, 0) - by

    def merge(self, other: NaiveDecrementingCounter) -> None:
        for replica, count in other.entries.items():
            self.entries[replica] = max(self.entries.get(replica, 0), count)

    @property
    def value(self) -> int:
        return sum(self.entries.values())


def test_a_decrement_survives_a_merge_with_an_older_state_unlike_lowering_ones_own_entry() -> None:
    """Shapiro et al.: decrementing is not an inflation of a G-counter entry, so the pointwise
    maximum brings the old entry back. The PN-counter counts decrements separately."""
    naive_a, naive_b = NaiveDecrementingCounter("a"), NaiveDecrementingCounter("b")
    naive_a.increment(5)
    naive_b.merge(naive_a)
    naive_a.decrement(2)
    naive_a.merge(naive_b)
    assert naive_a.value == 5  # the decrement was resurrected away

    a, b = PNCounter(replica="a"), PNCounter(replica="b")
    a.increment(5)
    b.merge(a)
    a.decrement(2)
    a.merge(b)
    a._check()
    assert a.value == 3
    b.merge(a)
    assert b.value == 3 and a == b


def test_a_pncounter_delta_carries_only_the_changed_half() -> None:
    counter = PNCounter(replica="a")
    counter.increment(4)
    delta = counter.decrement(1)
    delta._check()
    assert delta._to_wire() == [[counter.writer, 0, 1]]
    assert counter.increment(0)._to_wire() == [[counter.writer, 4, 0]]


@pytest.mark.parametrize("method", ["increment", "decrement"])
def test_pncounter_amounts_must_be_non_negative_ints(method: str) -> None:
    counter = PNCounter(replica="a")
    with pytest.raises(ValueError, match=">= 0"):
        getattr(counter, method)(-1)
    with pytest.raises(TypeError):
        getattr(counter, method)(True)
    assert counter == PNCounter()


def test_increments_and_decrements_never_cancel_into_zero_state() -> None:
    counter = PNCounter(replica="a")
    counter.increment(3)
    counter.decrement(3)
    assert counter.value == 0
    assert counter != PNCounter()  # the state remembers both, so merges stay correct


# -- shared behaviour ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counter_type", "mutate"),
    [
        (GCounter, lambda c: c.increment()),
        (PNCounter, lambda c: c.increment()),
        (PNCounter, lambda c: c.decrement()),
    ],
)
def test_an_unbound_counter_refuses_to_mutate(counter_type: type[Counter], mutate: Any) -> None:
    counter = counter_type()
    with pytest.raises(UnboundReplicaError, match="replica="):
        mutate(counter)
    bound = counter_type(replica="a")
    delta = mutate(bound)
    with pytest.raises(UnboundReplicaError):
        mutate(delta)
    with pytest.raises(UnboundReplicaError):
        mutate(counter_type._from_wire(bound._to_wire()))


def test_merging_another_type_is_a_type_error() -> None:
    g, pn = GCounter(replica="a"), PNCounter(replica="a")
    with pytest.raises(TypeError, match="PNCounter"):
        g.merge(pn)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        pn.merge(g)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        g | pn  # type: ignore[operator]


def test_repr_shows_type_replica_and_value() -> None:
    counter = PNCounter(replica="a")
    counter.decrement(2)
    assert repr(counter) == "PNCounter(replica='a', value=-2)"


# -- generated histories ---------------------------------------------------------------------

operations = st.lists(
    st.one_of(
        st.tuples(
            st.sampled_from(REPLICAS),
            st.sampled_from(["increment", "decrement"]),
            st.integers(0, 5),
        ),
        st.tuples(st.sampled_from(REPLICAS), st.just("merge"), st.sampled_from(REPLICAS)),
    ),
    max_size=25,
)


def run(counter_type: type[Counter], ops: list[tuple[str, str, Any]]) -> dict[str, Any]:
    """Apply ``ops`` to one replica per id; return the replicas."""
    replicas: dict[str, Any] = {r: counter_type(replica=r) for r in REPLICAS}
    for replica, op, arg in ops:
        state = replicas[replica]
        if op == "merge":
            state.merge(replicas[arg])
        elif op == "decrement" and counter_type is GCounter:
            state.increment(arg)
        else:
            getattr(state, op)(arg)
        state._check()
    return replicas


counter_types = st.sampled_from([GCounter, PNCounter])


@given(counter_types, operations)
def test_the_merged_value_is_every_increment_minus_every_decrement(
    counter_type: type[Counter], ops: list[tuple[str, str, Any]]
) -> None:
    replicas = run(counter_type, ops)
    expected = 0
    for _, op, arg in ops:
        if op == "increment" or (op == "decrement" and counter_type is GCounter):
            expected += arg
        elif op == "decrement":
            expected -= arg
    assert merged(*replicas.values()).value == expected


# -- wire hooks ------------------------------------------------------------------------------


def test_equal_counters_built_in_different_orders_have_equal_wire_structures() -> None:
    one, two = PNCounter(replica="x"), PNCounter(replica="y")
    for replica in ("a", "b", "c"):
        other = PNCounter().copy(replica=replica, incarnation="1")
        other.increment(2)
        other.decrement(1)
        one.merge(other)
    for replica in ("c", "a", "b"):
        other = PNCounter().copy(replica=replica, incarnation="1")
        other.decrement(1)
        other.increment(2)
        two.merge(other)
    assert one._to_wire() == two._to_wire()
    assert one._to_wire() == [["a#1", 2, 1], ["b#1", 2, 1], ["c#1", 2, 1]]


@pytest.mark.parametrize(
    "data",
    [
        None,
        {"a": 1},
        [["a"]],
        [["a", 0]],
        [["a", -1]],
        [["a", True]],
        [["a", 1.0]],
        [["a", 2**64]],
        [["", 1]],
        [[1, 1]],
        [["a", 1], ["a", 2]],
    ],
)
def test_a_malformed_gcounter_structure_is_a_value_error(data: Any) -> None:
    with pytest.raises(ValueError):
        GCounter._from_wire(data)


@pytest.mark.parametrize(
    "data",
    [
        None,
        "rows",
        [[]],
        [["a", 1]],
        [["a", 0, 0]],
        [["a", -1, 0]],
        [["a", 1, 2**64]],
        [["b", 1, 0], ["a", 1, 0]],
        [["a", 1, 0], ["a", 2, 0]],
        [["", 1, 0]],
        [["a", True, 0]],
    ],
)
def test_a_malformed_pncounter_structure_is_a_value_error(data: Any) -> None:
    with pytest.raises(ValueError):
        PNCounter._from_wire(data)
