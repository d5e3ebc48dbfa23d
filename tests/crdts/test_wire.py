"""The wire format: round trips, canonical bytes, and hostile input.

Decoding must either raise DecodeError or return a valid object (one that passes its
invariant check, encodes again and reads its value) — whatever bytes it is given.
"""

from __future__ import annotations

import itertools
import os
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import crdts
from clocks import Timestamp, VectorClock
from crdts import CRDTError, DecodeError, decode, encode
from tests.registry import TYPES, TypeSpec, programs

per_type = pytest.mark.parametrize("spec", TYPES, ids=repr)
#: CRDTKIT_FUZZ_EXAMPLES=100000 runs a long fuzz outside CI
FUZZ_EXAMPLES = int(os.environ.get("CRDTKIT_FUZZ_EXAMPLES", "100"))


def assert_valid(obj: Any) -> None:
    """What every successful decode must give: a checked, re-encodable, readable value."""
    obj._check()
    assert decode(encode(obj)) == obj
    _ = obj.value


@per_type
@given(data=st.data())
def test_every_state_and_delta_round_trips_exactly(spec: TypeSpec, data: st.DataObject) -> None:
    run = data.draw(programs(spec))
    for obj in [*run.replicas, *run.deltas[:6], run.empty()]:
        decoded = decode(encode(obj))
        assert type(decoded) is type(obj) and decoded == obj and decoded.value == obj.value
        assert decoded.replica is None
        decoded._check()


@per_type
@given(data=st.data())
def test_equal_states_encode_to_identical_bytes_whatever_their_history(
    spec: TypeSpec, data: st.DataObject
) -> None:
    run = data.draw(programs(spec))
    encodings = set()
    for order in itertools.permutations(run.replicas):
        joined = run.empty()
        for replica in order:
            joined.merge(replica)
        encodings.add(encode(joined))
    assert len(encodings) == 1
    # the replica binding is not part of the encoding
    bound = run.replicas[0]
    assert encode(bound) == encode(bound.copy(replica="someone-else"))


def test_decode_binds_a_replica_or_leaves_the_result_read_only() -> None:
    s = crdts.ORSet(replica="a")
    _ = s.add("x")
    data = s.to_bytes()
    with pytest.raises(crdts.UnboundReplicaError):
        decode(data).add("y")
    bound = crdts.ORSet.from_bytes(data, replica="b")
    _ = bound.add("y")
    assert bound.value == {"x", "y"} and bound.replica == "b"
    with pytest.raises(DecodeError, match="expected a GSet"):
        crdts.GSet.from_bytes(data)


def test_elements_and_values_keep_their_exact_types() -> None:
    s = crdts.ORSet(replica="a")
    for element in [(1, (b"x", None)), b"bytes", 0.1, -(2**63), 2**64 - 1, True]:
        _ = s.add(element)
    assert decode(encode(s)).value == s.value
    assert {type(e) for e in decode(encode(s))} == {tuple, bytes, float, int, bool}
    r = crdts.MVRegister(replica="a")
    _ = r.assign({"list": [1, (2, 3)], "tuple": (4, [5])})
    assert decode(encode(r)).values == ({"list": [1, (2, 3)], "tuple": (4, [5])},)


def test_floats_keep_their_exact_bits() -> None:
    import math
    import struct

    values = [0.1, -0.0, math.inf, -math.inf, 5e-324, 1.7976931348623157e308]
    s = crdts.GSet(replica="a")
    for value in values:
        _ = s.add(value)
    bits = {struct.pack(">d", value) for value in decode(encode(s))}
    assert bits == {struct.pack(">d", value) for value in values}


def test_clock_values_round_trip() -> None:
    for value in [Timestamp(5, 2, "a"), VectorClock({"a": 3, "b": 1}), VectorClock()]:
        assert decode(encode(value)) == value


def test_encoding_an_unregistered_type_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="no wire format"):
        encode({"a": 1})


# -- hostile input ---------------------------------------------------------------------------


def _samples() -> list[bytes]:
    a = crdts.ORMap(crdts.ORSet, replica="a")
    _ = a.update("k", lambda s: s.add((1, "x")))
    cart = crdts.Cart(replica="c")
    _ = cart.add("book", 3)
    lww = crdts.LWWMap(replica="l")
    _ = lww.set("k", {"v": [1]})
    return [encode(obj) for obj in (a, cart, lww, VectorClock({"a": 2}))]


@pytest.mark.parametrize("data", _samples(), ids=["ormap", "cart", "lwwmap", "vclock"])
def test_every_truncation_and_trailing_garbage_is_refused(data: bytes) -> None:
    for end in range(len(data)):
        with pytest.raises(DecodeError):
            decode(data[:end])
    with pytest.raises(DecodeError):
        decode(data + b"\x00")


@settings(max_examples=FUZZ_EXAMPLES)
@given(st.binary(max_size=200))
def test_random_bytes_never_raise_anything_but_decode_error(data: bytes) -> None:
    try:
        obj = decode(data)
    except DecodeError:
        return
    assert_valid(obj)


@pytest.mark.parametrize(
    "data",
    [
        b"\xdd\xff\xff\xff\xff",  # array32 claiming 4 billion items
        b"\xc9\xff\xff\xff\xff\x08",  # ext32 claiming 4 GiB
        b"\xc7\x05\x08\xdb\xff\xff\xff\xff",  # ext whose payload is a str32 of 4 GiB
        msgpack.packb(msgpack.ExtType(8, b"\x91" * 100_000 + b"\xc0")),  # deep nesting
        msgpack.packb(msgpack.ExtType(99, msgpack.packb([1, []]))),  # unknown ext code
        msgpack.packb(msgpack.ExtType(8, msgpack.packb([2, [[], [[], []]]]))),  # future version
        msgpack.packb([1, 2, 3]),  # valid msgpack, not a crdtkit value
        msgpack.packb([msgpack.ExtType(8, msgpack.packb([1, [[], [[], []]]]))]),
        msgpack.packb(msgpack.ExtType(8, msgpack.packb([1, [[], [[], []]], 0]))),
        msgpack.packb(msgpack.ExtType(8, b"\xc1")),  # reserved byte
        msgpack.packb(
            msgpack.ExtType(
                8,
                msgpack.packb(
                    [
                        1,
                        [],
                    ]
                )
                + b"x",
            )
        ),
        b"",
    ],
)
def test_hostile_headers_and_shapes_are_refused(data: bytes) -> None:
    with pytest.raises(DecodeError):
        decode(data)
    assert issubclass(DecodeError, CRDTError) and issubclass(DecodeError, ValueError)


def test_inputs_over_the_size_limit_are_refused_before_parsing() -> None:
    data = encode(crdts.GSet())
    with pytest.raises(DecodeError, match="max_size"):
        decode(data, max_size=len(data) - 1)


def test_semantically_impossible_states_are_refused() -> None:
    """A dot the context has not seen, a non-compact cloud, unsorted replicas."""
    store = [["a", [1], ["x"]]]
    for state in [
        [store, [[], []]],  # live dot a:1 unseen by the context
        [[], [[["a", 1]], [["a", [2]]]]],  # a:2 belongs in the vector, not the cloud
        [[], [[["b", 1], ["a", 1]], []]],  # vector not sorted
        [[["a", [1, 0], ["x", "y"]]], [[["a", 2]], []]],  # counters not ascending
        [[["a", [1], ["x", "y"]]], [[["a", 2]], []]],  # payload count mismatch
    ]:
        with pytest.raises(DecodeError):
            decode(msgpack.packb(msgpack.ExtType(8, msgpack.packb([1, state]))))


MSGPACK_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats()
    | st.text(max_size=4)
    | st.binary(max_size=4),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=2)
    ),
    max_leaves=6,
)


def _nodes(value: Any, path: tuple[int, ...] = ()) -> list[tuple[int, ...]]:
    paths = [path]
    if type(value) is list:
        for index, item in enumerate(value):
            paths += _nodes(item, (*path, index))
    return paths


def _replace(value: Any, path: tuple[int, ...], new: Any) -> Any:
    if not path:
        return new
    copy = list(value)
    copy[path[0]] = _replace(value[path[0]], path[1:], new)
    return copy


@per_type
@settings(suppress_health_check=[HealthCheck.too_slow], max_examples=FUZZ_EXAMPLES)
@given(data=st.data())
def test_structurally_mutated_payloads_decode_to_valid_objects_or_fail_cleanly(
    spec: TypeSpec, data: st.DataObject
) -> None:
    run = data.draw(programs(spec, max_steps=8))
    original = data.draw(st.sampled_from(run.replicas + run.deltas[:3]))
    code = type(original).type_code
    payload = [type(original).format_version, original._to_wire()]
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_nodes(payload)))
        payload = _replace(payload, path, data.draw(MSGPACK_VALUES))
    blob = msgpack.packb(msgpack.ExtType(code, msgpack.packb(payload)))
    try:
        obj = decode(blob)
    except DecodeError:
        return
    assert_valid(obj)
