"""Vector clocks: Dynamo's reconciliation example, the canonical form (zero entries dropped),
validation, immutability, and the lattice laws of merge and the partial order."""

import copy
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clocks import Order, VectorClock

# -- Dynamo (DeCandia et al. 2007), section 4.4: one object written through Sx, Sy and Sz --------


def test_dynamo_example_reconciles_two_concurrent_versions() -> None:
    """D1..D5: Sy and Sz both update D2; the client's reconciled write D5 descends from both."""
    d1 = VectorClock().increment("Sx")
    d2 = d1.increment("Sx")
    d3 = d2.increment("Sy")
    d4 = d2.increment("Sz")
    d5 = (d3 | d4).increment("Sx")
    for clock in (d1, d2, d3, d4, d5):
        clock._check()

    assert d1 == VectorClock({"Sx": 1})
    assert d2 == VectorClock({"Sx": 2})
    assert d3 == VectorClock({"Sx": 2, "Sy": 1})
    assert d4 == VectorClock({"Sx": 2, "Sz": 1})
    assert d5 == VectorClock({"Sx": 3, "Sy": 1, "Sz": 1})

    assert d2.descends(d1) and d1 < d2
    assert d3.concurrent(d4) and d4.concurrent(d3)
    assert d3.compare(d4) is Order.CONCURRENT
    assert not d3 <= d4 and not d4 <= d3
    assert d5.descends(d3) and d5.descends(d4)
    assert d3.compare(d5) is Order.BEFORE
    assert d5.compare(d4) is Order.AFTER
    assert d5.compare(VectorClock({"Sz": 1, "Sy": 1, "Sx": 3})) is Order.EQUAL
    # Every version D1..D4 is an ancestor of D5: a read after D5 returns it alone.
    assert all(clock < d5 for clock in (d1, d2, d3, d4))


# -- canonical form, equality, hashing ----------------------------------------------------


def test_zero_entries_are_dropped_so_equality_and_hash_ignore_them() -> None:
    with_zero = VectorClock({"a": 1, "b": 0})
    without = VectorClock({"a": 1})
    assert with_zero == without
    assert hash(with_zero) == hash(without)
    assert len(with_zero) == 1
    assert "b" not in with_zero
    assert list(with_zero) == ["a"]
    assert len({with_zero, without}) == 1


def test_an_all_zero_clock_equals_the_empty_clock() -> None:
    assert VectorClock({"a": 0, "b": 0}) == VectorClock() == VectorClock(None) == VectorClock([])
    assert len(VectorClock({"a": 0})) == 0


def test_missing_replicas_read_as_zero_and_are_not_members() -> None:
    clock = VectorClock({"a": 2, "b": 0})
    assert clock["a"] == 2
    assert clock["z"] == clock["b"] == 0
    assert "z" not in clock and "b" not in clock
    assert clock.get("a", 0) == 2
    assert clock.get("z", 0) == 0
    assert clock.get("z") is None
    assert list(clock) == ["a"] and dict(clock) == {"a": 2}


def test_a_clock_can_be_built_from_pairs_a_mapping_or_another_clock() -> None:
    from_pairs = VectorClock([("b", 2), ("a", 1)])
    assert from_pairs == VectorClock({"a": 1, "b": 2})
    assert VectorClock(from_pairs) == from_pairs
    assert dict(from_pairs) == {"a": 1, "b": 2}


def test_iteration_and_repr_are_in_sorted_replica_order() -> None:
    clock = VectorClock({"c": 3, "a": 1, "b": 2})
    assert list(clock) == ["a", "b", "c"]
    assert list(clock.items()) == [("a", 1), ("b", 2), ("c", 3)]
    assert list(clock.values()) == [1, 2, 3]
    assert repr(clock) == "VectorClock({'a': 1, 'b': 2, 'c': 3})"
    assert repr(VectorClock()) == "VectorClock({})"


def test_a_clock_never_equals_a_plain_dict() -> None:
    assert VectorClock({"a": 1}) != {"a": 1}
    assert VectorClock() != {}


def test_a_clock_is_a_read_only_mapping() -> None:
    clock = VectorClock({"a": 1})
    with pytest.raises(TypeError):
        clock["a"] = 2  # type: ignore[index]
    with pytest.raises(TypeError):
        del clock["a"]  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        clock.counters = {}  # type: ignore[attr-defined]
    assert clock == VectorClock({"a": 1})


def test_building_a_clock_from_a_dict_does_not_alias_it() -> None:
    source = {"a": 1}
    clock = VectorClock(source)
    source["a"] = 5
    assert clock["a"] == 1


def test_operations_return_new_clocks_and_leave_the_original_alone() -> None:
    clock = VectorClock({"a": 1})
    clock.increment("a")
    clock.increment("b")
    clock.merge(VectorClock({"a": 9, "c": 1}))
    assert clock == VectorClock({"a": 1})
    clock._check()


def test_pickle_and_copy_round_trip() -> None:
    clock = VectorClock({"a": 1, "b": 2})
    hash(clock)  # populate the cached hash, which must not travel between processes
    for duplicate in (pickle.loads(pickle.dumps(clock)), copy.copy(clock), copy.deepcopy(clock)):
        assert duplicate == clock
        assert hash(duplicate) == hash(clock)
        duplicate._check()


# -- validation at the boundary ---------------------------------------------------------


@pytest.mark.parametrize("entries", [{1: 1}, {None: 1}, [(b"a", 1)]])
def test_a_replica_id_that_is_not_a_str_is_a_type_error(entries: object) -> None:
    with pytest.raises(TypeError, match="replica ids must be str"):
        VectorClock(entries)  # type: ignore[arg-type]


@pytest.mark.parametrize("counter", [1.0, "1", None, True, False])
def test_a_counter_that_is_not_an_int_is_a_type_error(counter: object) -> None:
    with pytest.raises(TypeError, match="must be an int"):
        VectorClock({"a": counter})  # type: ignore[arg-type]


def test_a_negative_counter_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        VectorClock({"a": -1})


def test_increment_rejects_a_replica_id_that_is_not_a_str() -> None:
    with pytest.raises(TypeError):
        VectorClock().increment(1)  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["merge", "compare", "descends", "concurrent"])
def test_methods_taking_another_clock_reject_a_plain_mapping(method: str) -> None:
    with pytest.raises(TypeError, match=r"VectorClock\(mapping\)"):
        getattr(VectorClock({"a": 1}), method)({"a": 1})


@pytest.mark.parametrize(
    "operation",
    [
        lambda clock: clock <= {"a": 1},
        lambda clock: clock < {"a": 1},
        lambda clock: clock >= {"a": 1},
        lambda clock: clock > {"a": 1},
        lambda clock: clock | {"a": 1},
    ],
)
def test_operators_with_a_non_clock_are_a_type_error(operation: object) -> None:
    with pytest.raises(TypeError):
        operation(VectorClock({"a": 1}))  # type: ignore[operator]


# -- explicit cases of the order ------------------------------------------------------------


def test_increment_adds_a_new_replica_in_sorted_position() -> None:
    clock = VectorClock({"a": 1, "c": 1}).increment("b")
    assert list(clock) == ["a", "b", "c"]
    clock._check()


def test_merge_is_the_pointwise_maximum() -> None:
    left = VectorClock({"a": 3, "b": 1})
    right = VectorClock({"b": 4, "c": 2})
    merged = left.merge(right)
    assert merged == VectorClock({"a": 3, "b": 4, "c": 2})
    assert merged == left | right
    merged._check()


def test_the_empty_clock_precedes_every_other_clock() -> None:
    empty = VectorClock()
    assert empty.compare(VectorClock({"a": 1})) is Order.BEFORE
    assert empty.compare(empty) is Order.EQUAL
    assert empty <= empty and not empty < empty


def test_a_clock_with_fewer_replicas_can_still_be_concurrent() -> None:
    small = VectorClock({"a": 5})
    large = VectorClock({"a": 1, "b": 1})
    assert small.compare(large) is Order.CONCURRENT
    assert large.compare(small) is Order.CONCURRENT


def test_descends_is_reflexive_and_concurrent_is_not() -> None:
    clock = VectorClock({"a": 1, "b": 2})
    assert clock.descends(clock)
    assert not clock.concurrent(clock)


# -- lattice laws -----------------------------------------------------------------------------

replicas = st.sampled_from(["a", "b", "c", "d", "e"])
clocks = st.dictionaries(replicas, st.integers(0, 4)).map(VectorClock)


@given(clocks, clocks)
def test_merge_is_commutative(left: VectorClock, right: VectorClock) -> None:
    assert left.merge(right) == right.merge(left)


@given(clocks, clocks, clocks)
def test_merge_is_associative(a: VectorClock, b: VectorClock, c: VectorClock) -> None:
    assert (a | b) | c == a | (b | c)


@given(clocks)
def test_merge_is_idempotent(clock: VectorClock) -> None:
    assert clock | clock == clock


@given(clocks, clocks)
def test_merge_is_the_least_upper_bound(left: VectorClock, right: VectorClock) -> None:
    merged = left | right
    merged._check()
    assert left <= merged and right <= merged
    assert merged.descends(left) and merged.descends(right)
    # Least: every counter comes from one of the two inputs.
    for replica, counter in merged.items():
        assert counter == max(left.get(replica, 0), right.get(replica, 0))


@given(clocks, clocks, clocks)
def test_an_upper_bound_of_both_descends_from_their_merge(
    a: VectorClock, b: VectorClock, c: VectorClock
) -> None:
    if a <= c and b <= c:
        assert a | b <= c


@given(clocks, clocks)
def test_compare_agrees_with_the_order_operators(left: VectorClock, right: VectorClock) -> None:
    expected = {
        (True, True): Order.EQUAL,
        (True, False): Order.BEFORE,
        (False, True): Order.AFTER,
        (False, False): Order.CONCURRENT,
    }[(left <= right, left >= right)]
    assert left.compare(right) is expected
    assert (left == right) is (expected is Order.EQUAL)
    assert (left < right) is (expected is Order.BEFORE)
    assert (left > right) is (expected is Order.AFTER)
    assert left.concurrent(right) is (expected is Order.CONCURRENT)
    assert left.descends(right) is (left >= right)


@given(clocks, clocks)
def test_less_or_equal_is_the_pointwise_order(left: VectorClock, right: VectorClock) -> None:
    pointwise = all(left.get(r, 0) <= right.get(r, 0) for r in left.keys() | right.keys())
    assert (left <= right) is pointwise


@given(clocks, clocks)
def test_equal_clocks_hash_equal(left: VectorClock, right: VectorClock) -> None:
    if left == right:
        assert hash(left) == hash(right)


@given(clocks, replicas)
def test_increment_inflates_strictly(clock: VectorClock, replica: str) -> None:
    bumped = clock.increment(replica)
    bumped._check()
    assert clock < bumped
    assert bumped.compare(clock) is Order.AFTER
    assert bumped.get(replica, 0) == clock.get(replica, 0) + 1
    assert len(bumped) - len(clock) == (replica not in clock)


@pytest.mark.parametrize("counter", [0, 1])
def test_an_empty_replica_id_is_refused_as_the_crdts_types_refuse_it(counter: int) -> None:
    """Regression (issue 11): ``VectorClock({"": 1})`` was accepted while every crdts type
    refuses ``replica=""``; both now say to name the replica."""
    with pytest.raises(ValueError, match="non-empty str"):
        VectorClock({"": counter})
    with pytest.raises(ValueError, match="non-empty str"):
        VectorClock().increment("")
