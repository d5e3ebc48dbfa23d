"""Hypothesis strategies: mutator calls, reachable states, histories and delivery orders."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

try:
    import hypothesis  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised in a subprocess
    raise ImportError(
        f"{__name__} needs Hypothesis: install the testing extra, pip install crdtkit[testing]"
    ) from error

from hypothesis import strategies as st

import crdts
from crdts import CRDT
from merge.testing._core import Call, CRDTType, Op, calls
from merge.testing._engine import History, Target, programs
from merge.testing.registry import mutators

__all__ = ["Delivery", "histories", "operations", "schedules", "states"]


def operations(crdt_type: CRDTType) -> st.SearchStrategy[Call]:
    """A strategy of mutator calls for a built-in type (see :func:`mutators`).

    Each drawn :class:`Call` runs on a state: ``delta = call(state)``.

    Examples:
        >>> import crdts
        >>> from hypothesis import find
        >>> from merge.testing import operations
        >>> find(operations(crdts.GSet), lambda call: call.args == ("b",))
        add('b')
    """
    return calls(mutators(crdt_type))


def histories(
    crdt_type: CRDTType,
    ops: Sequence[Op] | st.SearchStrategy[Call] | None = None,
    *,
    replicas: int = 3,
    max_steps: int = 20,
) -> st.SearchStrategy[History]:
    """Replicas after a random program of mutations, full-state merges and delta
    deliveries (checking every invariant after every step), with the deltas produced.

    Args:
        crdt_type: a CRDT class, or an empty instance to copy (``ORMap(ORSet)``).
        ops: the mutations to run: a list of :class:`Op`, or a strategy of :class:`Call`;
            ``None`` uses :func:`operations` (built-in types only).
        replicas: how many replicas (``r0``, ``r1``, ...).
        max_steps: the longest program.

    Examples:
        >>> import crdts
        >>> from hypothesis import find
        >>> from merge.testing import histories
        >>> history = find(histories(crdts.GCounter), lambda h: h.replicas[0].value > 0)
        >>> len(history.replicas), len(history.deltas) > 0
        (3, True)
    """
    if replicas < 1:
        raise ValueError(f"replicas must be at least 1, not {replicas}")
    return programs(Target(crdt_type, ops), replicas, max_steps)


@st.composite
def _pick_replica(draw: st.DrawFn, universe: st.SearchStrategy[History]) -> Any:
    """The n-th draw in a test case gets replica n of the shared history (a fork of one
    when n passes their number), so drawn states can be merged and mutated freely."""
    history = draw(universe)
    index = history._handed_out
    history._handed_out += 1
    base = history.replicas[index % len(history.replicas)]
    if index < len(history.replicas):
        return base.copy()
    return base.copy(replica=f"r{index}")


def states(
    crdt_type: CRDTType, ops: Sequence[Op] | st.SearchStrategy[Call] | None = None
) -> st.SearchStrategy[Any]:
    """Reachable states of a type: replicas after a random program.

    Within one test case, every ``states(T)`` draw comes from the same hidden history, each
    as a different replica, so the drawn states can be merged with each other (as
    ``check_laws(join, states(T))`` needs) and mutated. ``states(merge.Siblings)`` draws
    sibling stores of three servers; ``states(ORMap)`` draws maps of sets, counters
    or registers. ``st.from_type(T)`` uses this strategy for every built-in type.

    Examples:
        >>> import crdts
        >>> from hypothesis import given
        >>> from merge.testing import states
        >>> @given(states(crdts.ORSet), states(crdts.ORSet))
        ... def test_union_holds_both(a, b):
        ...     assert a.value | b.value >= (a | b).value
        >>> test_union_holds_both()
    """
    if crdt_type is crdts.ORMap and ops is None:
        return st.one_of(
            [states(crdts.ORMap(value)) for value in (crdts.ORSet, crdts.CausalCounter)]
            + [states(crdts.ORMap(crdts.MVRegister))]
        )
    if isinstance(crdt_type, type) and not issubclass(crdt_type, CRDT):
        raise TypeError(f"states() needs a CRDT type, not {crdt_type!r}")
    target = Target(crdt_type, ops)
    key = f"merge.testing.states:{target.name}"
    if ops is not None:
        key += f":ops@{id(ops)}"
    return _pick_replica(st.shared(programs(target, 3, 15), key=key))


class Delivery(NamedTuple):
    """One transmission of message number ``message``; ``lost`` ones never arrive."""

    message: int
    lost: bool = False


@st.composite
def _schedules(
    draw: st.DrawFn, messages: int, max_duplicates: int, max_losses: int
) -> list[Delivery]:
    transmissions: list[Delivery] = []
    for message in range(messages):
        transmissions.append(Delivery(message))
        transmissions += [Delivery(message)] * draw(st.integers(0, max_duplicates))
        transmissions += [Delivery(message, lost=True)] * draw(st.integers(0, max_losses))
    return list(draw(st.permutations(transmissions)))


def schedules(
    messages: int, *, max_duplicates: int = 1, max_losses: int = 1
) -> st.SearchStrategy[list[Delivery]]:
    """Orders in which ``messages`` messages (numbered from 0) may be transmitted.

    Each message arrives at least once, up to ``max_duplicates`` more times, and up to
    ``max_losses`` of its transmissions are lost (to be resent); all of it in any order.
    Shrinking leads towards in-order, exactly-once delivery.

    Examples:
        >>> from hypothesis import find
        >>> from merge.testing import schedules
        >>> schedule = find(schedules(3), lambda s: any(delivery.lost for delivery in s))
        >>> sorted({delivery.message for delivery in schedule if not delivery.lost})
        [0, 1, 2]
    """
    for name, number in (
        ("messages", messages),
        ("max_duplicates", max_duplicates),
        ("max_losses", max_losses),
    ):
        if isinstance(number, bool) or not isinstance(number, int) or number < 0:
            raise ValueError(f"{name} must be an int >= 0, not {number!r}")
    return _schedules(messages, max_duplicates, max_losses)
