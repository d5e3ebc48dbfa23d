"""The ready-made resolvers: deterministic, storable results, usable with both registers."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crdts import MVRegister
from merge import Siblings, resolvers

ELEMENTS = st.one_of(st.integers(-3, 3), st.text("ab", max_size=2), st.none(), st.booleans())
COLLECTIONS = st.one_of(
    st.lists(ELEMENTS, max_size=4),
    st.lists(ELEMENTS, max_size=4).map(tuple),
    st.frozensets(ELEMENTS, max_size=4),
)


def test_maximum_by_keeps_the_value_with_the_largest_key() -> None:
    latest = resolvers.maximum.by(lambda value: value[0])
    assert latest(((3, "old"), (7, "new"), (5, "mid"))) == (7, "new")
    assert resolvers.minimum.by(lambda value: value[0])(((3, "x"), (1, "y"))) == (1, "y")


KEYS = {"n": lambda value: value[0], "|n|": lambda value: abs(value[0])}


@pytest.mark.parametrize("largest", [True, False], ids=["maximum", "minimum"])
@pytest.mark.parametrize("key", sorted(KEYS))
@given(st.lists(st.integers(-3, 3), min_size=1, max_size=6))
def test_an_ordered_resolver_breaks_ties_towards_the_value_listed_first(
    largest: bool, key: str, numbers: list[int]
) -> None:
    """One tie rule for every resolver: among values with equal keys, the first listed is
    kept (each value carries its position, so which one was kept shows)."""
    resolver = resolvers.maximum if largest else resolvers.minimum
    values = tuple((n, position) for position, n in enumerate(numbers))
    best = (max if largest else min)(KEYS[key](value) for value in values)
    first = next(value for value in values if KEYS[key](value) == best)
    assert resolver.by(KEYS[key])(values) == first


@given(st.permutations([1, 1.0, True]))
def test_maximum_of_equal_values_keeps_the_first_listed(values: list[Any]) -> None:
    for resolver in (resolvers.maximum, resolvers.minimum):
        chosen = resolver(tuple(values))
        assert chosen == 1 and type(chosen) is type(values[0])


def test_an_ordered_resolver_needs_a_value_and_names_itself() -> None:
    with pytest.raises(ValueError, match=r"maximum\.by\(len\) needs at least one"):
        resolvers.maximum.by(len)(())
    assert repr(resolvers.minimum) == "minimum"
    with pytest.raises(TypeError, match="key must be a function"):
        resolvers.maximum.by(3)  # type: ignore[arg-type]


def test_union_merges_collections_into_a_sorted_tuple_without_duplicates() -> None:
    assert resolvers.union((["b", "a"], ("a", "c"), {"d"}, frozenset())) == ("a", "b", "c", "d")
    assert resolvers.union(()) == ()


def test_union_sorts_incomparable_elements_by_their_wire_encoding() -> None:
    assert resolvers.union(((2, "a", None), (1,))) == (1, 2, "a", None)


def test_union_keeps_values_that_encode_differently_apart() -> None:
    # 1, 1.0 and True are equal in Python but not on the wire
    assert len(resolvers.union(((1,), (1.0,), (True,)))) == 3


def test_union_refuses_single_values() -> None:
    with pytest.raises(TypeError, match="wrap single values in a tuple"):
        resolvers.union(("apple", ("pear",)))


@given(st.lists(COLLECTIONS, max_size=4), st.randoms())
def test_union_does_not_depend_on_the_order_of_the_siblings(values: list[Any], random: Any) -> None:
    shuffled = list(values)
    random.shuffle(shuffled)
    result = resolvers.union(values)
    assert result == resolvers.union(shuffled)
    assert set(result) == {element for collection in values for element in collection}


def test_maximum_and_minimum() -> None:
    assert resolvers.maximum((3, 9, 1)) == 9
    assert resolvers.minimum((3, 9, 1)) == 1
    with pytest.raises(ValueError):
        resolvers.maximum(())


@pytest.mark.parametrize(
    ("resolver", "expected"),
    [
        (resolvers.union, ((1, 2, 3),)),
        (resolvers.maximum, ((2, 3),)),
        (resolvers.minimum, ((1, 2),)),
        (resolvers.maximum.by(len), ((1, 2),)),  # a tie: the first listed wins
    ],
    ids=["union", "maximum", "minimum", "maximum.by"],
)
def test_every_resolver_works_with_mvregister_and_siblings(
    resolver: Any, expected: tuple[Any, ...]
) -> None:
    """One shape: each ready-made resolver is passed as it is to both registers."""
    a, b = MVRegister(replica="a"), MVRegister(replica="b")
    _ = a.assign((1, 2))
    _ = b.assign((2, 3))
    a.merge(b)
    _ = a.resolve(resolver)
    store = Siblings()
    store.put((1, 2), context=None, replica="s1")
    store.put((2, 3), context=None, replica="s2")
    store.resolve(resolver)
    assert a.values == store.values == expected
