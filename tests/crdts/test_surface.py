"""One public surface for every type (issue 11): operators behave alike everywhere."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from merge import Siblings
from tests.registry import TYPES, ManualTime, TypeSpec, merged, programs


@pytest.mark.parametrize("spec", TYPES, ids=repr)
@given(data=st.data())
def test_in_place_join_merges_into_the_same_object_and_keeps_its_writer(
    spec: TypeSpec, data: Any
) -> None:
    """``a |= b`` is ``a.merge(b)``: the same object, still bound to the same writer, able to
    write next (before, it rebound ``a`` to a read-only join and left the original unmerged)."""
    run = data.draw(programs(spec, replicas=2, max_steps=8))
    a, b = run.replicas
    original, writer, expected = a, a.writer, merged(a, b)
    a |= b
    assert a is original and a.writer == writer and a == expected
    op = data.draw(st.sampled_from(spec.ops))
    args = data.draw(op.args)
    # never UnboundReplicaError; KeyError and ValueError are the operation's own guards
    # (a remove of an absent element, a refused re-add)
    with contextlib.suppress(KeyError, ValueError):
        getattr(a, op.name)(*args)
    a._check()


@pytest.mark.parametrize("spec", TYPES, ids=repr)
def test_in_place_join_refuses_another_type(spec: TypeSpec) -> None:
    other = TYPES[1] if spec is TYPES[0] else TYPES[0]
    a, b = other.make("a", ManualTime()), spec.make("b", ManualTime())
    before = a.copy()
    with pytest.raises(TypeError):
        a |= b
    assert a == before


def test_siblings_join_in_place_too() -> None:
    a, b = Siblings(), Siblings()
    a.put("x", context=None, replica="s1")
    b.put("y", context=None, replica="s2")
    original = a
    a |= b
    assert a is original and set(a.values) == {"x", "y"}
