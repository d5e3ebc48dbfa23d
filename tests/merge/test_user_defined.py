"""Worked examples: proving your own CRDT with merge.laws and merge.testing.

``MaxRegister`` is a user-defined CRDT (the largest int ever assigned): ``check_crdt`` and a
``ConvergenceMachine`` subclass prove it. Then deliberately broken variants — each with one
classic mistake — are rejected, and the ``LawViolation`` names the law and tells what to do.
"""

from __future__ import annotations

from typing import Any, Self

import pytest
from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test

from crdts import CRDT, GCounter
from merge.laws import LawViolation, check_crdt
from merge.testing import ConvergenceMachine, Op, check_convergence


class MaxRegister(CRDT, type_code=100):
    """The largest int ever assigned, or None. Join: max. Merge cost O(1), state size O(1)."""

    __slots__ = ("_value",)

    def __init__(self, *, replica: str | None = None) -> None:
        super().__init__(replica=replica)
        self._value: int | None = None

    @property
    def value(self) -> int | None:
        return self._value

    def assign(self, value: int) -> Self:
        """Raise the register to ``value`` (a no-op if it is already higher); return the delta."""
        self._writer()
        if self._value is None or value > self._value:
            self._value = value
        delta = self._empty()
        delta._value = self._value
        return delta

    def _merge(self, other: Self) -> None:
        if other._value is not None and (self._value is None or other._value > self._value):
            self._value = other._value

    def _state(self) -> Any:
        return self._value

    def _copy(self) -> Self:
        result = self._empty()
        result._value = self._value
        return result

    def _check(self) -> None:
        # the value is an int (or None before any assignment)
        assert self._value is None or type(self._value) is int, self._value

    def _to_wire(self) -> Any:
        return self._value

    @classmethod
    def _from_wire(cls, state: Any) -> Self:
        if state is not None and type(state) is not int:
            raise ValueError(f"a MaxRegister holds an int or nil, not {state!r}")
        result = cls()
        result._value = state
        return result


MAX_REGISTER_OPS = [Op("assign", st.tuples(st.integers(-10, 10)))]


def test_max_register_obeys_every_law() -> None:
    check_crdt(MaxRegister, MAX_REGISTER_OPS, max_examples=40)


def test_max_register_converges_under_any_delivery() -> None:
    check_convergence(MaxRegister, MAX_REGISTER_OPS, max_examples=40)
    check_convergence(MaxRegister, MAX_REGISTER_OPS, sync="state", replicas=2, max_examples=20)


class MaxRegisterConvergence(ConvergenceMachine):
    crdt_type = MaxRegister
    ops = MAX_REGISTER_OPS

    def teardown(self) -> None:
        super().teardown()
        # an invariant of our own: after settling, every replica holds the overall maximum
        if self.states[0].value is not None:
            assert all(state.value == self.states[0].value for state in self.states)


TestMaxRegisterConvergence = MaxRegisterConvergence.TestCase
TestMaxRegisterConvergence.settings = settings(max_examples=30, stateful_step_count=20)


# -- broken variants ---------------------------------------------------------------------------


class LastMergedWins(MaxRegister):
    """Broken: a merge that keeps whichever side was merged last."""

    def _merge(self, other: Self) -> None:
        if other._value is not None:
            self._value = other._value


class Averaging(MaxRegister):
    """Broken: a merge that averages (commutative and idempotent, not associative)."""

    def _merge(self, other: Self) -> None:
        if self._value is None or other._value is None:
            self._value = self._value if other._value is None else other._value
        else:
            self._value = (self._value + other._value) // 2


class AddingCounter(GCounter):
    """Broken: a counter whose merge adds the totals (duplicates count twice)."""

    def _merge(self, other: Self) -> None:
        for replica, total in other._totals.items():
            self._totals[replica] = self._totals.get(replica, 0) + total


class DecrementingCounter(GCounter):
    """Broken: a G-Counter with a decrement that lowers the replica's own total."""

    def decrement(self, by: int = 1) -> Self:
        replica = self._writer()
        total = self._totals.get(replica, 0)
        if by > total:
            raise ValueError(f"cannot go below zero ({total} - {by})")
        if total - by:
            self._totals[replica] = total - by
        else:
            del self._totals[replica]
        delta = self._empty()
        delta._totals = dict(self._totals)
        return delta


class IncrementDeltaCounter(GCounter):
    """Broken: increment ships the amount added instead of the new total."""

    def increment(self, by: int = 1) -> Self:
        super().increment(by)
        delta = self._empty()
        if by:
            delta._totals[self._writer()] = by
        return delta


class LossyRegister(MaxRegister, type_code=101):
    """Broken: the wire form drops the sign."""

    def _to_wire(self) -> Any:
        return None if self._value is None else abs(self._value)


COUNTER_OPS = [Op("increment", st.tuples(st.integers(0, 3)))]


@pytest.mark.parametrize(
    ("crdt_type", "ops", "law", "advice"),
    [
        (LastMergedWins, MAX_REGISTER_OPS, "commutativity", "symmetrically"),
        (Averaging, MAX_REGISTER_OPS, "associativity", "least upper bound"),
        (AddingCounter, COUNTER_OPS, "idempotence", "Adding counts"),
        (
            DecrementingCounter,
            [*COUNTER_OPS, Op("decrement", st.tuples(st.integers(1, 3)))],
            "inflation",
            "PN-Counter",
        ),
        (IncrementDeltaCounter, COUNTER_OPS, "delta", "new total"),
        (LossyRegister, MAX_REGISTER_OPS, "encoding", "_to_wire"),
    ],
    ids=lambda value: getattr(value, "__name__", None) if isinstance(value, type) else None,
)
def test_check_crdt_rejects_a_broken_type_and_says_why(
    crdt_type: type[CRDT], ops: list[Op], law: str, advice: str
) -> None:
    with pytest.raises(LawViolation) as caught:
        check_crdt(crdt_type, ops, max_examples=100)
    violation = caught.value
    assert violation.law == law
    assert isinstance(violation, AssertionError)
    assert advice in str(violation)
    assert violation.witnesses and all(isinstance(w, crdt_type) for w in violation.witnesses)


def test_the_witnesses_are_minimal() -> None:
    with pytest.raises(LawViolation) as caught:
        check_crdt(AddingCounter, COUNTER_OPS, max_examples=100)
    (state,) = caught.value.witnesses
    assert state.value == 1  # the smallest state that double-counts: one increment by 1
    message = str(caught.value)
    assert "AddingCounter.merge is not idempotent" in message and "a | a" in message


def test_an_inflation_violation_names_the_mutator_and_both_states() -> None:
    with pytest.raises(LawViolation) as caught:
        check_crdt(
            DecrementingCounter,
            [*COUNTER_OPS, Op("decrement", st.tuples(st.integers(1, 3)))],
            max_examples=100,
        )
    before, after = caught.value.witnesses
    assert after.value < before.value
    assert "DecrementingCounter.decrement(1) is not an inflation" in str(caught.value)


def test_a_delta_violation_shows_before_delta_and_after() -> None:
    with pytest.raises(LawViolation) as caught:
        check_crdt(IncrementDeltaCounter, COUNTER_OPS, max_examples=100)
    before, delta, after = caught.value.witnesses
    assert (before | delta) != after
    assert "before | delta != after" in str(caught.value)


def test_a_type_without_a_wire_format_fails_the_encoding_law_unless_told_to_skip_it() -> None:
    class Unencodable(MaxRegister):
        pass

    with pytest.raises(LawViolation, match="cannot encode") as caught:
        check_crdt(Unencodable, MAX_REGISTER_OPS, max_examples=10)
    assert caught.value.law == "encoding"
    check_crdt(Unencodable, MAX_REGISTER_OPS, max_examples=10, encoding=False)


@pytest.mark.parametrize("crdt_type", [LastMergedWins, AddingCounter, IncrementDeltaCounter])
def test_check_convergence_catches_what_breaks_replicas(crdt_type: type[CRDT]) -> None:
    ops = COUNTER_OPS if issubclass(crdt_type, GCounter) else MAX_REGISTER_OPS
    with pytest.raises(LawViolation) as caught:
        check_convergence(crdt_type, ops, max_examples=200)
    violation = caught.value
    assert violation.law == "convergence"
    first, second = violation.witnesses
    assert first != second
    assert "received the same updates" in str(violation) and "check_crdt" in str(violation)


def test_a_convergence_machine_catches_a_broken_merge() -> None:
    class Broken(ConvergenceMachine):
        crdt_type = LastMergedWins
        ops = MAX_REGISTER_OPS

    with pytest.raises(LawViolation) as caught:
        run_state_machine_as_test(
            Broken,
            settings=settings(
                max_examples=200,
                stateful_step_count=20,
                database=None,
                phases=[Phase.generate, Phase.shrink],  # no explain phase: it is slow here
            ),
        )
    assert caught.value.law == "convergence"


def test_a_machine_without_a_type_says_what_to_set() -> None:
    with pytest.raises(TypeError, match="crdt_type = YourCRDT"):
        ConvergenceMachine()


def test_a_user_type_needs_its_operations() -> None:
    with pytest.raises(TypeError, match="ops="):
        check_crdt(MaxRegister)
