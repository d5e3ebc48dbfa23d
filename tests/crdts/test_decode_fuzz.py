"""A structure-aware fuzzer for ``decode`` (issue 10): no input wedges a replica.

For every type, valid payloads written by replicas "a" and "b" are mutated at the msgpack
level (wider ints, strs and arrays, longer ext framing, truncation, another ext code) and at
the semantic level (type confusion, reordering, duplicates, 2**64 - 1, lone surrogates,
deep nesting). Whatever comes out, ``decode`` raises DecodeError or returns a value whose
bytes are canonical, that merges into a fresh bound replica, which can then keep writing
and encoding. ``CRDTKIT_FUZZ_EXAMPLES=100000`` runs a long fuzz outside CI.
"""

from __future__ import annotations

import os
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

import crdts
from clocks import ClockDriftError
from crdts import DecodeError, _registry, decode, encode
from merge import ForgedContextError
from merge.testing import ManualTime
from tests.crdts.test_wire import _replace
from tests.crdts.wirebytes import RawStr, pack, wide_ext
from tests.registry import STATE_TYPES, TYPES, TypeSpec

#: every built-in type, those replicated by whole states (Siblings) included
EVERY_TYPE = TYPES + STATE_TYPES

#: per type; a quarter of the suite-wide setting keeps CI near 20 s for all 18 types
FUZZ_EXAMPLES = max(1, int(os.environ.get("CRDTKIT_FUZZ_EXAMPLES", "100")) // 4)
_CODES = sorted(
    code
    for code, cls in _registry.registered().items()
    if issubclass(cls, crdts.CRDT) and code in _registry.OWN_CODES
)


def test_the_fuzzer_covers_every_registered_type() -> None:
    assert {type(spec.make(None, ManualTime())).type_code for spec in EVERY_TYPE} == set(_CODES)


@st.composite
def written(draw: st.DrawFn, spec: TypeSpec) -> tuple[Any, ManualTime]:
    """A state or delta made by mutators on replicas "a" and "b" (merging now and then)."""
    time = ManualTime()
    a, b = spec.make("a", time), spec.make("b", time)
    made = [a, b]
    for _ in range(draw(st.integers(0, 6))):
        writer = draw(st.sampled_from([a, b]))
        op = draw(st.sampled_from(spec.ops))
        delta = op.apply(writer, draw(op.args))
        if delta is not None:
            made.append(delta)
        time.time += 1
        if draw(st.booleans()):
            (a if writer is b else b).merge(writer)
    return draw(st.sampled_from(made)), time


def _paths(value: Any, path: tuple[int, ...] = ()) -> list[tuple[int, ...]]:
    found = [path]
    if type(value) is list:
        for index, item in enumerate(value):
            found += _paths(item, (*path, index))
    return found


def _at(value: Any, path: tuple[int, ...]) -> Any:
    for index in path:
        value = value[index]
    return value


def _semantic(node: Any, choice: int) -> Any:
    """One semantic mutation of a payload node."""
    if choice == 0:  # type confusion
        if type(node) is int:
            return float(node) if node > 1 else bool(node)
        return True if node is not True else 1
    if choice == 1:  # reorder
        return node[::-1] if type(node) is list and len(node) > 1 else node
    if choice == 2:  # duplicate
        return [*node, node[0]] if type(node) is list and node else node
    if choice == 3:  # overflowing counters and totals
        return 2**64 - 1
    if choice == 4:  # a lone surrogate, as msgpack cannot write it
        return RawStr(b"\xed\xa0\x80") if type(node) is not str else RawStr(b"a\xed\xb0\x80")
    wrapped = node
    for _ in range(40):  # deep nesting
        wrapped = [wrapped]
    return wrapped


_MUTATIONS = ["semantic", "semantic", "width", "framing", "truncate", "code"]


@st.composite
def hostile(draw: st.DrawFn, original: Any) -> bytes:
    """The bytes of ``original`` after up to three mutations (none a third of the time)."""
    code, version = type(original).type_code, type(original).format_version
    payload = [version, original._to_wire()]
    mutations = draw(st.lists(st.sampled_from(_MUTATIONS), max_size=3))
    for _ in range(mutations.count("semantic")):
        path = draw(st.sampled_from(_paths(payload)))
        payload = _replace(payload, path, _semantic(_at(payload, path), draw(st.integers(0, 5))))
    widths = dict.fromkeys(("int", "str", "array", "bin"), 0)
    if "width" in mutations:
        widths = {kind: draw(st.integers(0, 4)) for kind in widths}
    body = pack(payload, lambda kind: widths.get(kind, 0))
    if "code" in mutations:
        code = draw(st.sampled_from([*_CODES, -1, 20, 21, 99]))
    framing = draw(st.integers(1, 3)) if "framing" in mutations else 0
    data = wide_ext(code, body, framing)
    if "truncate" in mutations:
        data = data[: draw(st.integers(0, len(data)))]
    return data


def _stamps_beyond_the_clock(obj: Any) -> bool:
    """True if ``obj`` carries an LWW stamp whose logical part no HLC reaches (issue 10
    item 1: refusing such stamps belongs to the stamping work, not to this fuzzer)."""
    data = msgpack.unpackb(msgpack.unpackb(encode(obj)).data)
    found = []

    def walk(node: Any) -> None:
        if type(node) is list:
            if len(node) == 3 and type(node[0]) is int and type(node[1]) is int:
                found.append(node[1] > 0xFFFF or node[0] >= 2**48)
            for item in node:
                walk(item)

    walk(data)
    return any(found)


@pytest.mark.parametrize("spec", EVERY_TYPE, ids=repr)
@settings(
    max_examples=FUZZ_EXAMPLES,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(data=st.data())
def test_hostile_bytes_are_refused_or_leave_a_replica_writable(
    spec: TypeSpec, data: st.DataObject
) -> None:
    original, time = data.draw(written(spec))
    blob = data.draw(hostile(original))
    try:
        obj = decode(blob)
    except DecodeError:
        return
    # accepted: the bytes are canonical, and the value is sound
    assert encode(obj) == blob
    obj._check()
    assert decode(encode(obj)) == obj
    if not isinstance(obj, crdts.CRDT):
        return
    name = data.draw(st.sampled_from(["a", "c"]))
    fresh = obj._empty().copy(replica=name) if type(obj) is not type(original) else None
    if fresh is None:
        fresh = spec.make(name, time)
    before = encode(fresh)
    try:
        fresh.merge(obj)
    except ClockDriftError:
        assert encode(fresh) == before  # refused whole; it succeeds once time catches up
    except ForgedContextError:
        assert encode(fresh) == before  # a claim on the server's own writes: refused whole
    except ValueError:
        if _stamps_beyond_the_clock(obj):
            reject()  # issue 10 item 1, the stamping work's
        raise
    # the replica keeps writing and encoding
    if type(obj) is type(original):
        for _ in range(2):
            op = data.draw(st.sampled_from(spec.ops))
            try:
                op.apply(fresh, data.draw(op.args))
                encoded = encode(fresh)
            except OverflowError:
                # a context claiming dot (name, 2**64 - 1): the replica identity work
                # (issue 9) refuses such contexts; not this fuzzer's to fix
                reject()
            assert decode(encoded) == fresh
    fresh._check()
