"""ORSet, RWORSet and ORMap against naive tombstone models, at every step.

Each of three or more replicas holds the optimised type and the reference model side by
side; random programs add, remove, clear, merge full states and deliver deltas in any order
with duplicates, and after every step each replica's value must equal its model's.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from crdts import ORMap, ORSet, RWORSet
from tests.models import TombstoneSet

ELEMENTS = st.sampled_from("abcd")
KEYS = st.sampled_from(["x", "y"])


def _run_set(data: st.DataObject, cls: type[ORSet] | type[RWORSet], remove_wins: bool) -> None:
    count = data.draw(st.integers(3, 4))
    pairs = [(cls(replica=f"r{i}"), TombstoneSet(remove_wins)) for i in range(count)]
    sent: list[tuple[Any, TombstoneSet]] = []
    for _ in range(data.draw(st.integers(1, 40))):
        i = data.draw(st.integers(0, count - 1))
        state, model = pairs[i]
        step = data.draw(st.sampled_from(["add", "remove", "clear", "merge", "deliver"]))
        if step == "add":
            element = data.draw(ELEMENTS)
            sent.append((state.add(element), model.add(element)))
        elif step == "remove":
            element = data.draw(ELEMENTS)
            if element in model.elements():
                sent.append((state.remove(element), model.remove(element)))
            else:
                sent.append((state.discard(element), TombstoneSet(remove_wins)))
        elif step == "clear":
            delta = state.clear()
            model_delta = TombstoneSet(remove_wins)
            for element in model.elements():
                model_delta.merge(model.remove(element))
            sent.append((delta, model_delta))
        elif step == "merge":
            j = data.draw(st.integers(0, count - 1))
            state.merge(pairs[j][0])
            model.merge(pairs[j][1])
        elif sent:
            delta, model_delta = data.draw(st.sampled_from(sent))
            state.merge(delta)
            model.merge(model_delta)
        state._check()
        assert state.value == model.elements(), step
    for state, model in pairs:
        for other, other_model in pairs:
            state.merge(other)
            model.merge(other_model)
    values = {state.value for state, _ in pairs}
    assert values == {pairs[0][1].elements()}


@given(data=st.data())
def test_orset_matches_the_tombstone_or_set(data: st.DataObject) -> None:
    _run_set(data, ORSet, remove_wins=False)


@given(data=st.data())
def test_rworset_matches_the_remove_wins_tombstone_set(data: st.DataObject) -> None:
    _run_set(data, RWORSet, remove_wins=True)


@given(data=st.data())
def test_ormap_of_sets_matches_the_tombstone_model(data: st.DataObject) -> None:
    count = data.draw(st.integers(3, 4))
    pairs = [(ORMap(ORSet, replica=f"r{i}"), TombstoneSet()) for i in range(count)]
    sent: list[tuple[Any, TombstoneSet]] = []
    for _ in range(data.draw(st.integers(1, 40))):
        i = data.draw(st.integers(0, count - 1))
        state, model = pairs[i]
        step = data.draw(st.sampled_from(["add", "remove", "remove_key", "merge", "deliver"]))
        key, element = data.draw(KEYS), data.draw(ELEMENTS)
        if step == "add":
            delta = state.update(key, lambda s, e=element: s.add(e))
            sent.append((delta, model.add(element, key)))
        elif step == "remove":
            delta = state.update(key, lambda s, e=element: s.discard(e))
            sent.append((delta, model.remove(element, key)))
        elif step == "remove_key":
            sent.append((state.discard(key), model.remove_key(key)))
        elif step == "merge":
            j = data.draw(st.integers(0, count - 1))
            state.merge(pairs[j][0])
            model.merge(pairs[j][1])
        elif sent:
            delta, model_delta = data.draw(st.sampled_from(sent))
            state.merge(delta)
            model.merge(model_delta)
        state._check()
        assert state.value == model.as_map(), step
