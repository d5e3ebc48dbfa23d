"""merge.laws: the checkers find known-bad merges, report the law and minimal witnesses,
and pass every built-in type."""

from __future__ import annotations

import operator
import pickle
from typing import Any

import pytest
from hypothesis import strategies as st

import crdts
from merge.laws import LawViolation, check_crdt, check_laws
from tests.merge.builtin import every_builtin_type

# -- check_laws on plain functions -------------------------------------------------------------


def test_joins_pass() -> None:
    check_laws(max, st.integers(), max_examples=30)
    check_laws(operator.or_, st.frozensets(st.integers(0, 5)), max_examples=30)
    check_laws(
        lambda a, b: {**a, **{k: max(v, a.get(k, v)) for k, v in b.items()}},
        st.dictionaries(st.text("ab", max_size=1), st.integers()),
        max_examples=30,
    )


def test_keeping_one_side_is_not_commutative() -> None:
    with pytest.raises(LawViolation) as caught:
        check_laws(lambda a, b: a, st.integers(), max_examples=50)
    violation = caught.value
    assert violation.law == "commutativity"
    a, b = violation.witnesses
    assert a != b and {a, b} == {0, 1}  # Hypothesis shrank them to the simplest pair
    assert "not commutative" in str(violation) and "join(b, a) =" in str(violation)


def test_averaging_is_not_associative() -> None:
    with pytest.raises(LawViolation) as caught:
        check_laws(lambda a, b: (a + b) // 2, st.integers(), max_examples=100)
    assert caught.value.law == "associativity"
    assert len(caught.value.witnesses) == 3
    assert "join(join(a, b), c)" in str(caught.value)


def test_adding_counts_is_not_idempotent() -> None:
    def add_counts(a: int, b: int) -> int:
        return a + b

    with pytest.raises(LawViolation) as caught:
        check_laws(add_counts, st.integers(), max_examples=50)
    assert caught.value.law == "idempotence"
    assert caught.value.witnesses == (1,)
    message = str(caught.value)
    assert "'add_counts' is not idempotent" in message and "add_counts(a, a) = 2" in message
    assert "G-Counter" in message  # the message says what to do instead


def test_eq_decides_what_counts_as_the_same_result() -> None:
    def ordered_union(a: list[int], b: list[int]) -> list[int]:
        return list(dict.fromkeys(a + b))

    values = st.lists(st.integers(0, 3), max_size=3)
    with pytest.raises(LawViolation, match="not commutative"):
        check_laws(ordered_union, values, max_examples=50)
    check_laws(ordered_union, values, eq=lambda x, y: set(x) == set(y), max_examples=50)


def test_a_join_that_changes_its_arguments_gets_fresh_copies() -> None:
    def union_in_place(a: set[int], b: set[int]) -> set[int]:
        a |= b
        return a

    check_laws(union_in_place, st.sets(st.integers(0, 3)), max_examples=30)


def test_bad_arguments() -> None:
    with pytest.raises(TypeError, match="Hypothesis strategy"):
        check_laws(max, [1, 2, 3])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_examples"):
        check_laws(max, st.integers(), max_examples=0)


def test_a_law_violation_is_an_assertion_error_that_pickles() -> None:
    violation = LawViolation("idempotence", (1,), "merging 1 with itself gave 2")
    assert isinstance(violation, AssertionError)
    copy = pickle.loads(pickle.dumps(violation))
    assert (copy.law, copy.witnesses, str(copy)) == ("idempotence", (1,), str(violation))


# -- check_crdt on the built-in types ----------------------------------------------------------


@every_builtin_type
def test_every_builtin_type_passes_check_crdt(crdt_type: Any) -> None:
    check_crdt(crdt_type, max_examples=12)


def test_states_of_a_builtin_type_pass_check_laws() -> None:
    from merge.testing import states

    check_laws(operator.or_, states(crdts.ORMap(crdts.ORSet)), max_examples=30)


def test_encoding_is_skipped_with_a_warning_when_there_is_no_codec(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delattr(crdts, "encode")
    with pytest.warns(UserWarning, match="skipped the encoding round trip"):
        check_crdt(crdts.GCounter, max_examples=5)


def test_a_bare_ormap_class_asks_for_a_template() -> None:
    with pytest.raises(TypeError, match=r"ORMap\(ORSet\)"):
        check_crdt(crdts.ORMap)


def test_check_crdt_refuses_what_is_not_a_crdt() -> None:
    with pytest.raises(TypeError, match=r"crdts\.CRDT subclass"):
        check_crdt(dict)  # type: ignore[arg-type]


def test_custom_operations_can_be_a_strategy_of_calls() -> None:
    from merge.testing import Call

    calls: Any = st.integers(0, 3).map(lambda n: Call("increment", (n,)))
    check_crdt(crdts.GCounter, calls, max_examples=10)
