"""The kernel's own operations (issue 12 item 4): types ask the kernel, never write its state."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crdts import ORMap, ORSet
from crdts._causal import CausalContext, DotFun

ROOT = Path(__file__).resolve().parents[2]
#: the kernel's state: a type that writes these bypasses the kernel's invariants
KERNEL_STATE = {"vv", "cloud", "_index", "by_replica", "_home"}


@pytest.mark.parametrize("module", ["orset", "ormap", "cart"])
def test_types_on_the_kernel_neither_write_its_state_nor_build_objects_behind_init(
    module: str,
) -> None:
    tree = ast.parse((ROOT / "crdts" / f"{module}.py").read_text(encoding="utf-8"))
    offenders = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and (
            node.attr in KERNEL_STATE or node.attr == "__new__"
        ):
            offenders.append(f"line {node.lineno}: .{node.attr}")
    assert not offenders, f"crdts/{module}.py reaches into the kernel: {offenders}"


def test_mint_gives_consecutive_dots_and_never_one_the_cloud_holds() -> None:
    context = CausalContext()
    assert [context.mint("a") for _ in range(3)] == [1, 2, 3]
    context.add("b", 5)  # a detached dot of b, heard of early
    assert context.mint("b") == 6
    assert context.mint("b") == 7
    context._check()
    assert set(context.dots()) >= {("b", 5), ("b", 6), ("b", 7)}
    assert context.mint_run("a", 3) == range(4, 7)
    context.add("c", 4)
    assert context.mint_run("c", 2) == range(5, 7)
    assert context.mint_run("c", 0) == range(0)
    context._check()
    assert context.next_counter("a") == 7 and context.next_counter("c") == 7


@given(
    st.lists(st.tuples(st.sampled_from("ab"), st.integers(1, 9)), max_size=12),
    st.lists(st.tuples(st.sampled_from("ab"), st.integers(1, 12)), max_size=12),
)
def test_restore_puts_back_one_replicas_dots_exactly(
    before: list[tuple[str, int]], after: list[tuple[str, int]]
) -> None:
    context = CausalContext()
    for replica, counter in before:
        context.add(replica, counter)
    original = context.copy()
    snapshot = context.snapshot("a")
    for replica, counter in after:
        if replica == "a":  # the operation being undone adds only a's dots
            context.add(replica, counter)
    context.restore(snapshot)
    context._check()
    assert context == original


def test_a_failed_map_update_leaves_the_context_as_it_was() -> None:
    m = ORMap(ORSet, replica="a")
    m.update("k", lambda s: s.add("x"))
    before = m._ctx.copy()

    def fails(s: Any) -> None:
        s.add("y")
        s.add("z")
        raise RuntimeError("fn failed")

    with pytest.raises(RuntimeError):
        m.update("k", fails)
    assert m._ctx == before and m.value == {"k": frozenset({"x"})}
    m._check()


@given(st.lists(st.tuples(st.sampled_from(["mine", "peer", "drop"]), st.sampled_from("abcd"))))
def test_the_element_index_finds_every_dot_whoever_wrote_it(ops: list[tuple[str, str]]) -> None:
    """The index stores a lone dot of the home replica as a bare counter; elements written
    by several replicas, re-added and removed must still map to exactly their dots."""
    mine, peer = ORSet(replica="mine"), ORSet(replica="peer")
    for op, element in ops:
        if op == "mine":
            mine.add(element)
        elif op == "peer":
            mine.merge(peer.add(element))
        else:
            mine.discard(element)
        mine._check()
    store = mine._store
    for element in "abcd":
        held = {dot for dot, payload in store.items() if payload == element}
        assert set(store.dots_of(element)) == held
        assert store.holds(element) == bool(held) == (element in mine)
    copy = mine.copy()
    copy._check()
    assert copy == mine


def test_add_fresh_adds_only_a_key_without_live_dots() -> None:
    store: DotFun[str] = DotFun(indexed=True)
    assert store.add_fresh("a", 1, "x")
    assert not store.add_fresh("a", 2, "x")
    assert store.dots_of("x") == (("a", 1),)
    assert set(store.keys()) == {"x"}
