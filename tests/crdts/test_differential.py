"""ORSet, RWORSet and ORMap against naive tombstone models, at every step.

Each of three or more replicas holds the optimised type and the reference model side by
side; random programs add, remove, clear, merge full states and deliver deltas in any order
with duplicates, and after every step each replica's value must equal its model's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from crdts import ORMap, ORSet, RWORSet
from tests.models import TombstoneSet

ELEMENTS = st.sampled_from("abcd")
KEYS = st.sampled_from(["x", "y"])

#: a local step: (data, state, model) -> (the state's delta, the model's delta)
Local = Callable[[st.DataObject, Any, TombstoneSet], tuple[Any, TombstoneSet]]


def _run(
    data: st.DataObject,
    pairs: list[tuple[Any, TombstoneSet]],
    local: dict[str, Local],
    model_value: Callable[[TombstoneSet], Any],
) -> None:
    """Drive ``pairs`` of (state, model) through local steps, full-state merges and delta
    deliveries (any order, with duplicates), comparing values after every step."""
    sent: list[tuple[Any, TombstoneSet]] = []
    for _ in range(data.draw(st.integers(1, 40))):
        state, model = data.draw(st.sampled_from(pairs))
        step = data.draw(st.sampled_from([*local, "merge", "deliver"]))
        if step == "merge":
            other, other_model = data.draw(st.sampled_from(pairs))
            state.merge(other)
            model.merge(other_model)
        elif step == "deliver":
            if sent:
                delta, model_delta = data.draw(st.sampled_from(sent))
                state.merge(delta)
                model.merge(model_delta)
        else:
            sent.append(local[step](data, state, model))
        state._check()
        assert state.value == model_value(model), step


def _set_steps(remove_wins: bool) -> dict[str, Local]:
    def add(data: st.DataObject, state: Any, model: TombstoneSet) -> Any:
        element = data.draw(ELEMENTS)
        return state.add(element), model.add(element)

    def remove(data: st.DataObject, state: Any, model: TombstoneSet) -> Any:
        element = data.draw(ELEMENTS)
        if element in model.elements():
            return state.remove(element), model.remove(element)
        return state.discard(element), TombstoneSet(remove_wins)

    def clear(data: st.DataObject, state: Any, model: TombstoneSet) -> Any:
        model_delta = TombstoneSet(remove_wins)
        for element in model.elements():
            model_delta.merge(model.remove(element))
        return state.clear(), model_delta

    return {"add": add, "remove": remove, "clear": clear}


def _check_set(data: st.DataObject, cls: type[ORSet] | type[RWORSet], remove_wins: bool) -> None:
    count = data.draw(st.integers(3, 4))
    pairs = [(cls(replica=f"r{i}"), TombstoneSet(remove_wins)) for i in range(count)]
    _run(data, pairs, _set_steps(remove_wins), TombstoneSet.elements)
    for state, model in pairs:
        for other, other_model in pairs:
            state.merge(other)
            model.merge(other_model)
    values = {state.value for state, _ in pairs}
    assert values == {pairs[0][1].elements()}


@given(data=st.data())
def test_orset_matches_the_tombstone_or_set(data: st.DataObject) -> None:
    _check_set(data, ORSet, remove_wins=False)


@given(data=st.data())
def test_rworset_matches_the_remove_wins_tombstone_set(data: st.DataObject) -> None:
    _check_set(data, RWORSet, remove_wins=True)


def _map_steps() -> dict[str, Local]:
    def add(data: st.DataObject, state: Any, model: TombstoneSet) -> Any:
        key, element = data.draw(KEYS), data.draw(ELEMENTS)
        return state.update(key, lambda s: s.add(element)), model.add(element, key)

    def remove(data: st.DataObject, state: Any, model: TombstoneSet) -> Any:
        key, element = data.draw(KEYS), data.draw(ELEMENTS)
        return state.update(key, lambda s: s.discard(element)), model.remove(element, key)

    def remove_key(data: st.DataObject, state: Any, model: TombstoneSet) -> Any:
        key = data.draw(KEYS)
        return state.discard(key), model.remove_key(key)

    return {"add": add, "remove": remove, "remove_key": remove_key}


@given(data=st.data())
def test_ormap_of_sets_matches_the_tombstone_model(data: st.DataObject) -> None:
    count = data.draw(st.integers(3, 4))
    pairs = [(ORMap(ORSet, replica=f"r{i}"), TombstoneSet()) for i in range(count)]
    _run(data, pairs, _map_steps(), TombstoneSet.as_map)
