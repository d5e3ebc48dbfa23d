"""The wire format: canonical, strict msgpack for every crdtkit value.

Each value travels as one msgpack ext type whose code names its class and whose payload is
the msgpack array ``[format_version, state]``. Classes register themselves (every
[`CRDT`][crdts.CRDT] subclass with its ``type_code``; clock values below), so this module
names no concrete type. See ``docs/wire-format.md`` for the code table and payload shapes.

Decoding treats bytes as hostile: the input size is bounded, strings must be UTF-8
(``raw=False``), only registered codes build objects, every payload is validated, and every
failure — truncation, garbage, a huge declared length, deep nesting, a semantically
impossible state — raises [`DecodeError`][crdts.DecodeError].
"""

from __future__ import annotations

import gc
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import msgpack

from clocks import Timestamp, VectorClock
from crdts import _registry, _wire
from crdts._base import CRDT, Guarded, lock_of
from crdts.errors import DecodeError

__all__ = [
    "DEFAULT_MAX_CLOUD",
    "DEFAULT_MAX_ITEMS",
    "DEFAULT_MAX_SIZE",
    "decode",
    "encode",
    "exact_version",
    "register",
]

#: Largest input [`decode`][crdts.decode] accepts by default, in bytes (64 MiB).
DEFAULT_MAX_SIZE = 64 * 1024 * 1024
_LOW = 2**64 - 1

#: Largest array or map length [`decode`][crdts.decode] accepts by default.
DEFAULT_MAX_ITEMS = 4_000_000
#: Most isolated dots (the causal context's *dot cloud*) one value may list, by default.
#: A cloud only holds dots that arrived ahead of their predecessors; a longer one is a
#: hostile or broken peer, and would otherwise travel in every later full state.
DEFAULT_MAX_CLOUD = _wire.DEFAULT_MAX_CLOUD


register = _registry.register
exact_version = _registry.exact_version


def _wire_type(cls: type) -> _registry.WireType:
    entry = _registry.by_class(cls)
    if entry is None:
        raise TypeError(
            f"{cls.__name__} has no wire format: a CRDT subclass gets one from its class "
            f"statement (type_code=...), any other class from crdts.codec.register"
        )
    return entry


# -- encoding --------------------------------------------------------------------------------


def encode(obj: Any) -> bytes:
    """Encode a CRDT, delta or clock value to canonical bytes.

    Equal states give identical bytes (the replica binding is not encoded).

    Examples:
        >>> from crdts import GCounter, decode, encode
        >>> counter = GCounter(replica="a")
        >>> _ = counter.increment(3)
        >>> decode(encode(counter)) == counter
        True

    Raises:
        TypeError: ``obj`` is not of a registered type.
    """
    entry = _wire_type(type(obj))
    if isinstance(obj, Guarded):
        # one consistent state, even while other threads write to obj
        with obj._lock or lock_of(obj):
            return _encode(entry, obj)
    return _encode(entry, obj)


def _encode(entry: _registry.WireType, obj: Any) -> bytes:
    fields = [entry.version, entry.to_wire(obj)]
    retired = obj._retired if isinstance(obj, CRDT) else None
    if retired:
        # retired writers travel as a third field, [[writer, mark high, mark low], ...]
        # sorted (a mark may be two 64-bit halves: a PNCounter's two totals)
        fields.append(
            [[writer, retired[writer] >> 64, retired[writer] & _LOW] for writer in sorted(retired)]
        )
    payload = msgpack.packb(fields, use_bin_type=True)
    data: bytes = msgpack.packb(msgpack.ExtType(entry.code, payload), use_bin_type=True)
    return data


# -- decoding --------------------------------------------------------------------------------

# an ext value starts with one of these markers: fixext 1/2/4/8/16, ext 8/16/32
_EXT_MARKERS = frozenset({0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xC7, 0xC8, 0xC9})

# msgpack turns ext type -1 into a ``msgpack.Timestamp`` itself, without calling the ext
# hook; it accepts 4, 8 or 12 data bytes, so every such value starts with one of these
# headers (the marker, any length field, then the type byte 0xff). Most inputs hold none of
# them, and only those that do pay for the hooks that look for a Timestamp in every array.
# (The pattern starts with a byte class so that the scan skips most bytes fast; inputs
# without any 0xff byte skip the scan.)
_TIMESTAMP_HEADER = re.compile(
    rb"[\xc7\xc8\xc9\xd6\xd7]"
    rb"(?:(?<=[\xd6\xd7])|(?<=\xc7)[\x04\x08\x0c]|(?<=\xc8)\x00[\x04\x08\x0c]"
    rb"|(?<=\xc9)\x00\x00\x00[\x04\x08\x0c])\xff"
)


def _refuse_nested_ext(code: int, data: bytes) -> Any:
    raise DecodeError(f"unexpected ext type {code} inside a payload")


def _refuse_timestamp_ext() -> DecodeError:
    return DecodeError(
        "unexpected msgpack Timestamp (ext type -1): crdtkit values carry clocks.Timestamp "
        "(ext type 20) at top level and plain [wall, logical, node] arrays inside payloads"
    )


def _refuse_timestamp_in_array(items: list[Any]) -> list[Any]:
    if msgpack.Timestamp in map(type, items):
        raise _refuse_timestamp_ext()
    return items


def _refuse_timestamp_in_map(pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
    result = dict(pairs)
    if msgpack.Timestamp in map(type, result.values()):
        raise _refuse_timestamp_ext()
    return result


def _unpack(data: bytes, max_items: int, ext_hook: Callable[[int, bytes], Any]) -> Any:
    size = max(len(data), 1)
    hooks: dict[str, Any] = {}
    if b"\xff" in data and _TIMESTAMP_HEADER.search(data) is not None:
        hooks = {
            "list_hook": _refuse_timestamp_in_array,
            "object_pairs_hook": _refuse_timestamp_in_map,
        }
    return msgpack.unpackb(
        data,
        raw=False,
        strict_map_key=True,
        use_list=True,
        max_str_len=size,
        max_bin_len=size,
        max_ext_len=size,
        max_array_len=min(max_items, size),
        max_map_len=min(max_items, size),
        ext_hook=ext_hook,
        **hooks,
    )


# Decoding builds many containers and no garbage cycles; left on, the cyclic collector runs
# again and again over the growing result (7x the time of a deeply nested input). It is
# paused while any thread decodes a large input and restored, as it was, when the last one
# finishes; a small input cannot trigger many collections, so it skips the bookkeeping.
_GC_PAUSE_FROM = 16 * 1024
_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = False


@contextmanager
def _gc_paused() -> Iterator[None]:
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


_FAILURES = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    AssertionError,
    OverflowError,
    RecursionError,
    msgpack.UnpackException,
)


def decode(
    data: bytes | bytearray | memoryview,
    *,
    replica: str | None = None,
    incarnation: str | None = None,
    max_size: int = DEFAULT_MAX_SIZE,
    max_items: int = DEFAULT_MAX_ITEMS,
    max_cloud: int = DEFAULT_MAX_CLOUD,
) -> Any:
    """Decode bytes from [`encode`][crdts.encode]; untrusted input is safe.

    Args:
        data: the bytes.
        replica: bind the decoded CRDT to a new writer of this replica (without it, the
            result is read-only). This is the safe restore: the writer gets a fresh
            incarnation, so writing on from a snapshot — fresh or stale — never reuses a dot
            or loses an increment, and an LWW type's clock moves past the newest stamp in
            the state, so the next write wins over everything the snapshot holds.
        incarnation: the new writer's incarnation (default: a fresh random one). For tests
            and simulations; reusing one across processes is exactly what it prevents.
        max_size: refuse inputs longer than this many bytes.
        max_items: refuse arrays or maps declaring more items than this.
        max_cloud: refuse a causal context whose dot cloud lists more dots than this.

    Only canonical bytes are accepted for crdtkit's own types (codes 0-63) at their current
    format version: the bytes [`encode`][crdts.encode] gives for the decoded value, so
    ``encode(decode(data)) == data`` whenever ``decode`` succeeds. Out-of-order or repeated
    entries, ints or floats in a wider form than needed, and ext framing longer than needed
    are all refused.

    Raises:
        DecodeError: for any malformed, non-canonical, truncated, oversized or unknown input;
            nothing is constructed beyond registered types, and decoding never hangs.

    Cost: O(n) time and memory for n input bytes (see docs/wire-format.md for the measured
    constants).
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"decode takes bytes, not {type(data).__name__}")
    data = bytes(data)
    if len(data) > max_size:
        raise DecodeError(f"input of {len(data)} bytes exceeds max_size={max_size}")
    if not data or data[0] not in _EXT_MARKERS:
        raise DecodeError("not a crdtkit value: the input does not start with an ext type")
    if len(data) < _GC_PAUSE_FROM:
        obj = _decode(data, max_items, max_cloud)
    else:
        with _gc_paused():
            obj = _decode(data, max_items, max_cloud)
    if replica is not None:
        if not isinstance(obj, CRDT):
            raise TypeError(f"a {type(obj).__name__} has no replica to bind")
        obj._bind(replica, incarnation)
    elif incarnation is not None:
        raise ValueError("incarnation= needs replica=")
    return obj


def _decode(data: bytes, max_items: int, max_cloud: int) -> Any:

    def ext_hook(code: int, payload: bytes) -> Any:
        entry = _registry.by_code(code)
        if entry is None:
            raise DecodeError(f"unknown ext type code {code}")
        unpacked = _unpack(payload, max_items, _refuse_nested_ext)
        is_crdt = issubclass(entry.cls, CRDT)
        if (
            type(unpacked) is not list
            or len(unpacked) not in ((2, 3) if is_crdt else (2,))
            or type(unpacked[0]) is not int
        ):
            raise DecodeError(f"a {entry.cls.__name__} payload is [version, state]")
        try:
            # from_wire validates everything itself: the _check() invariant methods assert,
            # and python -O strips asserts, so they prove decoding right in tests instead
            obj = entry.from_wire(unpacked[0], unpacked[1])
            if len(unpacked) == 3:
                obj._retired = _retired_from_wire(obj, unpacked[2])
        except DecodeError:
            raise
        except _FAILURES as error:
            raise DecodeError(f"invalid {entry.cls.__name__}: {error}") from error
        # an older format version is read and normalised; the current one must be canonical
        canonical = code in _registry.OWN_CODES and unpacked[0] == entry.version
        return _Decoded(obj, entry if canonical else None)

    limit = _wire.max_cloud.set(max_cloud)
    try:
        result = _unpack(data, max_items, ext_hook)
    except DecodeError:
        raise
    except _FAILURES as error:
        raise DecodeError(f"malformed input: {error}") from error
    finally:
        _wire.max_cloud.reset(limit)
    if type(result) is not _Decoded:
        raise DecodeError("not a crdtkit value: expected one ext value at top level")
    if result.canonical_form is not None:
        _refuse_non_canonical(data, result.obj, result.canonical_form)
    return result.obj


def _refuse_non_canonical(data: bytes, obj: Any, entry: _registry.WireType) -> None:
    """Raise DecodeError unless ``data`` is exactly what [`encode`][crdts.encode] gives for ``obj``.

    Validation proves the decoded state is sound; this proves the bytes were its only
    spelling, so bytes can be hashed and ``decode`` never silently rewrites what it accepts.
    Cost: one encoding, about half a decode.
    """
    try:
        canonical = encode(obj)
    except _FAILURES as error:  # pragma: no cover - a validated state always encodes
        raise DecodeError(f"invalid {entry.cls.__name__}: it cannot be encoded: {error}") from error
    if canonical != data:
        at = next(
            (i for i, (a, b) in enumerate(zip(data, canonical, strict=False)) if a != b), None
        )
        where = min(len(data), len(canonical)) if at is None else at
        raise DecodeError(
            f"a {entry.cls.__name__} that is not in canonical form (the bytes differ from "
            f"crdts.encode's from byte {where}): entries must be sorted and unique, ints and "
            f"ext headers as short as possible, floats float64; re-encode it with crdts.encode"
        )


def _retired_from_wire(obj: CRDT, data: Any) -> dict[str, int] | None:
    """The retired-writer field: sorted, unique ``[writer, mark high, mark low]`` entries,
    none of whose writers the state still holds data for; ValueError if malformed."""
    if type(data) is not list or not data:
        raise ValueError(f"retired writers are a non-empty array of [writer, mark]: {data!r}")
    retired: dict[str, int] = {}
    previous = ""
    for item in data:
        if type(item) is not list or len(item) != 3:
            raise ValueError(f"a retired writer is [writer, high, low], not {item!r}")
        writer, high, low = item
        if type(writer) is not str or writer <= previous:
            raise ValueError("retired writers must be sorted, unique, non-empty strs")
        for half in (high, low):
            if type(half) is not int or not 0 <= half <= _LOW:
                raise ValueError(f"a retirement mark half is an int in [0, 2**64): {half!r}")
        mark = high << 64 | low
        if obj._high_water(writer):
            raise ValueError(f"the state still holds data of retired writer {writer!r}")
        previous = writer
        retired[writer] = mark
    return retired


class _Decoded:
    """Marks an object built by the ext hook (so a bare value cannot pass for one), with the
    wire type whose canonical form its bytes must be (None: an older version, normalised)."""

    __slots__ = ("canonical_form", "obj")

    def __init__(self, obj: Any, canonical_form: _registry.WireType | None) -> None:
        self.obj = obj
        self.canonical_form = canonical_form


# -- clock values ----------------------------------------------------------------------------


def _vector_to_wire(clock: VectorClock) -> list[Any]:
    return [[replica, clock[replica]] for replica in sorted(clock)]


def _vector_from_wire(version: int, state: Any) -> VectorClock:
    if version != 1 or type(state) is not list:
        raise ValueError("a VectorClock is [[replica, counter], ...] (version 1)")
    previous = None
    entries = {}
    for item in state:
        if type(item) is not list or len(item) != 2:
            raise ValueError(f"a VectorClock entry is [replica, counter], not {item!r}")
        replica, counter = item
        if type(replica) is not str or (previous is not None and replica <= previous):
            raise ValueError("VectorClock replicas must be sorted, unique strings")
        if type(counter) is not int or not 0 < counter < 2**64:
            raise ValueError(f"VectorClock counter for {replica!r} must be in [1, 2**64)")
        previous = replica
        entries[replica] = counter
    return VectorClock(entries)


register(
    Timestamp,
    code=20,
    version=1,
    to_wire=_wire.timestamp_to_wire,
    from_wire=exact_version(Timestamp, 1, _wire.timestamp_from_wire),
)
register(VectorClock, code=21, version=1, to_wire=_vector_to_wire, from_wire=_vector_from_wire)
