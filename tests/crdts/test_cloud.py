"""The dot cloud as runs: same semantics as a plain set of dots, bounded cost (issue 10,
items 8 and 10: context pollution and cloud bombs)."""

from __future__ import annotations

import itertools
import subprocess
import sys
import tracemalloc
from typing import Any

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

import crdts._context as causal
from crdts import DecodeError, ORSet, decode, encode
from crdts._causal import CausalContext, DotFun, runs_contain, runs_select
from crdts._dotfun import _unseen
from crdts.codec import DEFAULT_MAX_CLOUD

REPLICAS = "abc"

# -- the representation is equivalent to a plain set of dots ---------------------------------

dot = st.tuples(st.sampled_from(REPLICAS), st.integers(1, 60))
# runs of dots, so that joins meet long clouds (more than _SPLICE_RUNS bounds) and long runs
span = st.tuples(st.sampled_from(REPLICAS), st.integers(1, 60), st.integers(1, 8)).map(
    lambda t: [(t[0], c) for c in range(t[1], t[1] + t[2])]
)
dots_strategy = st.lists(st.one_of(dot.map(lambda d: [d]), span), max_size=25).map(
    lambda groups: [d for group in groups for d in group]
)


def _build(dots: list[tuple[str, int]]) -> CausalContext:
    context = CausalContext()
    for replica, counter in dots:
        context.add(replica, counter)
    return context


def _expected_size(model: set[tuple[str, int]]) -> int:
    """Vector entries plus runs, computed from the plain set."""
    size = 0
    for replica in REPLICAS:
        counters = sorted(c for r, c in model if r == replica)
        top = 0
        while top + 1 in counters:
            top += 1
        rest = [c for c in counters if c > top]
        size += (top > 0) + sum(1 for i, c in enumerate(rest) if i == 0 or rest[i - 1] != c - 1)
    return size


def _agrees(context: CausalContext, model: set[tuple[str, int]]) -> None:
    context._check()
    assert set(context.dots()) == model
    assert sum(1 for _ in context.dots()) == len(model)  # no dot listed twice
    assert context.size() == _expected_size(model)
    for replica in REPLICAS:
        counters = [c for r, c in model if r == replica]
        assert context.next_counter(replica) == max(counters, default=0) + 1
        for counter in range(1, 70):
            assert context.contains(replica, counter) == ((replica, counter) in model)


@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("add"), dot),
            st.tuples(st.just("join"), dots_strategy),
            st.tuples(st.just("forget"), st.sampled_from(REPLICAS)),
        ),
        max_size=30,
    ),
    # joins splice short clouds run by run and merge long ones: drive both ways
    st.sampled_from([0, 2, causal._SPLICE_RUNS]),
)
def test_runs_behave_like_a_plain_set_of_dots(ops: list[tuple[str, Any]], splice: int) -> None:
    default, causal._SPLICE_RUNS = causal._SPLICE_RUNS, splice
    try:
        _run_against_the_model(ops)
    finally:
        causal._SPLICE_RUNS = default


def _run_against_the_model(ops: list[tuple[str, Any]]) -> None:
    context, model = CausalContext(), set()
    for op, arg in ops:
        if op == "add":
            context.add(*arg)
            model.add(arg)
        elif op == "join":
            other = _build(arg)
            before = other.copy()
            context.join(other)
            assert other == before  # the argument is never changed (nor shared)
            model |= set(arg)
        else:
            context.forget(arg)
            model = {d for d in model if d[0] != arg}
        _agrees(context, model)


@given(dots_strategy, dots_strategy, st.sampled_from([0, causal._SPLICE_RUNS]))
def test_equal_dot_sets_give_equal_contexts_whatever_the_order(
    left: list[tuple[str, int]], right: list[tuple[str, int]], splice: int
) -> None:
    default, causal._SPLICE_RUNS = causal._SPLICE_RUNS, splice
    try:
        one = _build(left)
        one.join(_build(right))
        other = _build(list(reversed(right)))
        other.join(_build(list(reversed(left))))
    finally:
        causal._SPLICE_RUNS = default
    assert one == other and repr(one) == repr(other)
    assert one.copy() == one and one.copy().cloud is not one.cloud


@given(dots_strategy, st.sets(st.integers(1, 70), max_size=30))
def test_run_queries_agree_with_set_membership(
    dots: list[tuple[str, int]], counters: set[int]
) -> None:
    context = _build(dots)
    for replica in REPLICAS:
        top, runs = context.covered(replica)
        seen = {c for r, c in dots if r == replica}
        assert sorted(_unseen(counters, top, runs)) == sorted(counters - seen)
        if runs is not None:
            cloud = {c for c in seen if c > top}
            assert runs_select(runs, dict.fromkeys(counters)) == counters & cloud
            assert all(runs_contain(runs, c) == (c in cloud) for c in range(1, 70))


@given(dots_strategy)
def test_the_wire_form_is_the_version_1_layout(dots: list[tuple[str, int]]) -> None:
    """Runs are written dot by dot, gap-encoded, exactly as a set-based cloud was."""
    from crdts import _wire

    context = _build(dots)
    vector, cloud = _wire.context_to_wire(context)
    for replica, gaps in cloud:
        counters = sorted(c for r, c in set(dots) if r == replica and c > context.vv.get(r, 0))
        assert gaps == [counters[0], *(b - a for a, b in itertools.pairwise(counters))]
    assert _wire.context_from_wire([vector, cloud], CausalContext()) == context


def test_forget_drops_every_dot_of_one_replica() -> None:
    context = _build([("a", 1), ("a", 2), ("a", 5), ("b", 1), ("b", 3), ("b", 4)])
    context.forget("b")
    context._check()
    assert context.vv == {"a": 2} and context.cloud == {"a": [5, 6]}
    assert set(context.dots()) == {("a", 1), ("a", 2), ("a", 5)}
    context.forget("a")
    context.forget("nobody")
    assert context == CausalContext()


def test_check_refuses_a_broken_cloud() -> None:
    broken: list[tuple[dict[str, int], dict[str, list[int]]]] = [
        ({}, {"a": []}),  # empty
        ({}, {"a": [3]}),  # half a run
        ({}, {"a": [3, 5, 5, 7]}),  # adjacent runs not coalesced
        ({}, {"a": [5, 3]}),  # descending
        ({"a": 2}, {"a": [3, 4]}),  # contiguous with the vector
    ]
    for vv, cloud in broken:
        context = CausalContext()
        context.vv, context.cloud = vv, cloud
        with pytest.raises(AssertionError):
            context._check()


# -- pollution: a huge cloud costs O(1), a hostile one is refused at decode -------------------


def _cloud_message(gaps: list[int], replica: str = "b") -> bytes:
    """An ORSet delta with an empty store whose context lists the gap-encoded ``gaps``."""
    state = [[], [[], [[replica, gaps]]]]
    payload = msgpack.packb([ORSet.format_version, state], use_bin_type=True)
    data: bytes = msgpack.packb(msgpack.ExtType(ORSet.type_code, payload), use_bin_type=True)
    return data


def _bare(state: ORSet, writer: str) -> ORSet:
    """Bind ``state`` to the bare writer id ``writer`` (as states written before writer
    incarnations did), so two victims are the same writers and the polluting message, which
    names writer "b", lands on b's real entry."""
    state._replica = writer
    state._rebind(state)
    return state


def _victim() -> ORSet:
    state, writer = _bare(ORSet(), "a"), _bare(ORSet(), "b")
    for element in ["x", "y", "z"]:
        state.merge(writer.add(f"{element} from b"))  # b's dots 1 to 3
        _ = state.add(element)
    return state


def test_cloud_pollution_does_not_slow_merges(monkeypatch: pytest.MonkeyPatch) -> None:
    # the delta: a million isolated dots of b, far above b's real counter
    polluted_delta = decode(_cloud_message([10**9] + [1] * 999_999), max_cloud=10**6)
    assert polluted_delta._ctx.cloud == {"b": [10**9, 10**9 + 10**6]}  # one run
    state = _victim()
    clean_size = state._metadata_size()
    state.merge(polluted_delta)
    state._check()
    assert state._ctx.contains("b", 10**9 + 999_999) and not state._ctx.contains("b", 10**9 - 1)
    assert state._ctx.next_counter("b") == 10**9 + 10**6
    # the context holds one more entry, not a million
    assert state._metadata_size() == clean_size + 1

    # merging the polluted state (or the delta again) does no per-run work at all: the
    # cloud is recognised as already held, in one comparison
    peer = _victim()
    peer.merge(state)
    calls = []
    monkeypatch.setattr(causal, "_add_run", lambda *a: calls.append(a))
    monkeypatch.setattr(causal, "_union", lambda *a: calls.append(a))
    for _ in range(300):
        peer.merge(state)
        peer.merge(polluted_delta)
    assert calls == [] and peer._metadata_size() == clean_size + 1
    assert peer == state


def test_a_scattered_cloud_merged_again_does_no_per_run_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scattered = decode(_cloud_message([10**6] + [2] * (DEFAULT_MAX_CLOUD - 1)))
    assert len(scattered._ctx.cloud["b"]) == 2 * DEFAULT_MAX_CLOUD
    state = _victim()
    state.merge(scattered)
    calls = []
    monkeypatch.setattr(causal, "_add_run", lambda *a: calls.append(a))
    monkeypatch.setattr(causal, "_union", lambda *a: calls.append(a))
    for _ in range(10):
        state.merge(scattered)
    assert calls == []


def test_a_long_cloud_already_covered_is_joined_without_a_merge(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mine = _build([("b", c) for c in range(10, 200, 2)] + [("b", 11), ("b", 500)])
    theirs = _build([("b", c) for c in range(10, 200, 2)])
    assert mine != theirs and len(theirs.cloud["b"]) > causal._SPLICE_RUNS
    before = mine.copy()
    calls = []
    monkeypatch.setattr(causal, "_union", lambda *a: calls.append(a))
    mine.join(theirs)
    assert calls == [] and mine == before
    theirs.add("b", 1000)  # now one run is missing from mine: a real merge
    monkeypatch.undo()
    mine.join(theirs)
    mine._check()
    assert set(mine.dots()) == set(before.dots()) | {("b", 1000)}


def test_cloud_limit_rejected_with_decode_error() -> None:
    at_limit = _cloud_message([100] + [2] * (DEFAULT_MAX_CLOUD - 1))
    assert decode(at_limit)._ctx.size() == DEFAULT_MAX_CLOUD
    over = _cloud_message([100] + [2] * DEFAULT_MAX_CLOUD)
    with pytest.raises(DecodeError, match="max_cloud"):
        decode(over)
    assert decode(over, max_cloud=DEFAULT_MAX_CLOUD + 1)._ctx.size() == DEFAULT_MAX_CLOUD + 1
    with pytest.raises(DecodeError, match="max_cloud=10 "):
        decode(_cloud_message([100] + [1] * 10), max_cloud=10)  # dots count, not runs
    # the limit is per message, over every replica's cloud
    state = [[], [[], [["b", [100] * 6], ["c", [100] * 5]]]]
    payload = msgpack.packb([ORSet.format_version, state])
    two = msgpack.packb(msgpack.ExtType(ORSet.type_code, payload))
    assert decode(two, max_cloud=11)._ctx.size() == 11
    with pytest.raises(DecodeError, match="max_cloud"):
        decode(two, max_cloud=10)
    # the limit in force is reset after each decode, even a failed one
    assert decode(at_limit)._ctx.size() == DEFAULT_MAX_CLOUD


def test_cloud_limit_holds_under_python_dash_O() -> None:
    code = (
        "from tests.crdts.test_cloud import _cloud_message as m\n"
        "from crdts import DecodeError, decode\n"
        "try:\n"
        "    decode(m([100] + [1] * 10), max_cloud=10)\n"
        "except DecodeError:\n"
        "    print('refused')\n"
    )
    result = subprocess.run(
        [sys.executable, "-O", "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "refused"


@pytest.mark.parametrize("step", [1, 2], ids=["contiguous", "scattered"])
def test_cloud_bomb_decode_memory_bounded(step: int) -> None:
    """The issue's 2 MB cloud bomb peaked at 100x its size; now it is refused within 20x."""
    bomb = _cloud_message([10**6] + [step] * 2_000_000)
    assert len(bomb) > 2_000_000
    tracemalloc.start()
    try:
        with pytest.raises(DecodeError, match="max_cloud"):
            decode(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * len(bomb), peak / len(bomb)


def test_an_admitted_contiguous_cloud_decodes_to_one_run_in_bounded_memory() -> None:
    data = _cloud_message([10**6] + [1] * 300_000)
    tracemalloc.start()
    try:
        value = decode(data, max_cloud=300_001)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert value._ctx.cloud == {"b": [10**6, 10**6 + 300_001]}
    assert peak < 20 * len(data), peak / len(data)
    assert encode(value) == data  # and it is written back dot by dot (format version 1)


def test_a_store_dot_must_lie_in_a_run_of_the_cloud() -> None:
    state = [[["b", [5], ["x"]]], [[], [["b", [3, 1, 2]]]]]  # cloud 3, 4, 6: no 5
    payload = msgpack.packb([ORSet.format_version, state])
    with pytest.raises(DecodeError, match="not seen"):
        decode(msgpack.packb(msgpack.ExtType(ORSet.type_code, payload)))
    state = [[["b", [4], ["x"]]], [[], [["b", [3, 1, 2]]]]]
    payload = msgpack.packb([ORSet.format_version, state])
    assert decode(msgpack.packb(msgpack.ExtType(ORSet.type_code, payload))).value == {"x"}


def test_dotfun_check_uses_the_runs() -> None:
    context = _build([("b", 3), ("b", 4)])
    store: DotFun[str] = DotFun()
    store.add("b", 4, "x")
    store._check(context)
    store.add("b", 5, "y")
    with pytest.raises(AssertionError):
        store._check(context)
