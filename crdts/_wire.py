"""Wire forms of the values CRDTs hold: elements, keys, register values and timestamps.

Every form is canonical (equal values give equal structures, so equal bytes) and every
reader raises ``ValueError`` — turned into [`DecodeError`][crdts.DecodeError] by the codec — on
anything malformed.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from itertools import accumulate, repeat
from operator import sub
from typing import Any

import msgpack

from clocks import Timestamp
from crdts._values import MAX_DEPTH, check_element, check_text

__all__ = [
    "check_timestamp",
    "context_from_wire",
    "context_to_wire",
    "element_from_wire",
    "element_list_from_wire",
    "element_list_to_wire",
    "element_to_wire",
    "elements_from_wire",
    "elements_to_wire",
    "sorted_elements",
    "store_from_wire",
    "store_to_wire",
    "timestamp_from_wire",
    "timestamp_to_wire",
    "value_from_wire",
    "value_key",
    "value_to_wire",
]


def element_to_wire(element: Any) -> Any:
    """An element as msgpack-ready data: tuples become lists."""
    if type(element) is tuple:
        return [element_to_wire(item) for item in element]
    return element


#: what msgpack (``raw=False``) yields that is a valid element as it is (its strs are valid
#: UTF-8). Ints need a range check, and anything else — floats, arrays, maps, msgpack's own
#: ``Timestamp`` — a closer look: every check is an allow-list.
_PLAIN_TYPES = frozenset({str, bytes, bool, type(None)})
_PLAIN_OR_INT = _PLAIN_TYPES | {int}
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1


def element_from_wire(data: Any, _depth: int = 0) -> Any:
    """Rebuild an element written by ``element_to_wire``; ValueError if invalid.

    Elements hold no lists, so every array on the wire is a tuple. Each node is checked once,
    as it is rebuilt: O(n) for n nodes, however deep.
    """
    kind = type(data)
    if kind in _PLAIN_TYPES or (kind is int and _INT_MIN <= data <= _INT_MAX):
        return data
    if kind is list or kind is tuple:
        if _depth >= MAX_DEPTH:
            raise ValueError(f"an element nests deeper than {MAX_DEPTH} levels")
        inner = _depth + 1
        return tuple([element_from_wire(item, inner) for item in data])
    try:
        # what is left must be a scalar (a float, say), checked as at mutation time; anything
        # else (a map, msgpack's Timestamp) is refused with check_element's message
        return check_element(data)
    except TypeError as error:
        raise ValueError(str(error)) from None


def sorted_elements(elements: Iterable[Any]) -> list[Any]:
    """Elements in the canonical wire order: by their msgpack encoding."""
    return sorted(elements, key=msgpack.packb)


def elements_to_wire(elements: Iterable[Any]) -> list[Any]:
    """A canonical array of elements: equal sets give equal arrays."""
    return [element_to_wire(element) for element in sorted_elements(elements)]


def element_list_to_wire(elements: list[Any]) -> list[Any]:
    """Many elements as msgpack-ready data: the list itself when it holds no tuple."""
    if tuple in set(map(type, elements)):
        return [element_to_wire(element) for element in elements]
    return elements


def element_list_from_wire(data: list[Any]) -> list[Any]:
    """Rebuild many elements at once (fast when all are plain scalars)."""
    kinds = set(map(type, data))
    if _PLAIN_TYPES.issuperset(kinds):
        return data
    if _PLAIN_OR_INT.issuperset(kinds):
        ints = [item for item in data if type(item) is int]
        if min(ints) >= _INT_MIN and max(ints) <= _INT_MAX:
            return data
    return [element_from_wire(item) for item in data]


def elements_from_wire(data: Any) -> set[Any]:
    """Rebuild a set written by ``elements_to_wire``; ValueError if malformed."""
    if type(data) not in (list, tuple):
        raise ValueError(f"a set of elements must be an array, not {data!r}")
    elements = {element_from_wire(item) for item in data}
    if len(elements) != len(data):
        raise ValueError("an element appears twice in a set")
    return elements


#: A stamp's parts must fit ``Timestamp.pack``: 48 bits of wall time, 16 of logical counter.
#: An HLC never issues more, and ``HLC.update`` refuses more, so a stamp outside these bounds
#: could enter a state but never be merged into a bound replica (issue 10, item 1).
_PART_LIMITS = {"wall": 1 << 48, "logical": 1 << 16}

# -- timestamps ------------------------------------------------------------------------------


def check_timestamp(timestamp: object, what: str = "timestamp") -> Timestamp:
    """Return ``timestamp`` if it is a valid [`Timestamp`][clocks.Timestamp], else raise.

    Valid: int ``wall`` in ``[0, 2**48)``, int ``logical`` in ``[0, 0xFFFF]`` (the bounds of
    ``Timestamp.pack``, which every HLC stamp meets) and a str ``node``. TypeError for a
    wrong type, ValueError for a part out of range.
    """
    if not isinstance(timestamp, Timestamp):
        raise TypeError(
            f"{what} must be a clocks.Timestamp, not {type(timestamp).__name__} "
            f"{timestamp!r}; build one with Timestamp(wall, logical, node)"
        )
    for name in ("wall", "logical"):
        part = getattr(timestamp, name)
        if isinstance(part, bool) or not isinstance(part, int):
            raise TypeError(f"{what}.{name} must be an int, not {type(part).__name__}")
        limit = _PART_LIMITS[name]
        if not 0 <= part < limit:
            raise ValueError(
                f"{what}.{name} must lie in [0, 2**{limit.bit_length() - 1}) (the bounds of "
                f"Timestamp.pack, which every HLC stamp meets), not {part}"
            )
    if not isinstance(timestamp.node, str):
        raise TypeError(f"{what}.node must be a str, not {type(timestamp.node).__name__}")
    check_text(timestamp.node, f"{what}.node")
    return timestamp


def timestamp_to_wire(timestamp: Timestamp) -> list[Any]:
    return [timestamp.wall, timestamp.logical, timestamp.node]


def timestamp_from_wire(data: Any) -> Timestamp:
    if type(data) not in (list, tuple) or len(data) != 3:
        raise ValueError(f"a timestamp is [wall, logical, node], not {data!r}")
    try:
        return check_timestamp(Timestamp(*data))
    except TypeError as error:
        raise ValueError(str(error)) from None


# -- register values -------------------------------------------------------------------------

# Register values may be tuples, lists and dicts, which msgpack would not tell apart (tuples
# and lists are both arrays). Their wire form tags every container, which makes it lossless
# and canonical (dict keys sorted); its msgpack bytes are also the total order that breaks
# ties between writes carrying equal timestamps.
_TUPLE, _LIST, _DICT = 0, 1, 2


def value_to_wire(value: Any) -> Any:
    """A register value as canonical msgpack-ready data: scalars as they are, each container
    as ``[tag, items]`` (dict items as ``[key, value]`` pairs sorted by key)."""
    kind = type(value)
    if kind is tuple:
        return [_TUPLE, [value_to_wire(item) for item in value]]
    if kind is list:
        return [_LIST, [value_to_wire(item) for item in value]]
    if kind is dict:
        return [_DICT, [[key, value_to_wire(value[key])] for key in sorted(value)]]
    return value


def value_from_wire(data: Any, _depth: int = 0) -> Any:
    """Rebuild a value written by ``value_to_wire``; ValueError if malformed."""
    if type(data) in (list, tuple):
        if len(data) != 2 or type(data[1]) not in (list, tuple):
            raise ValueError(f"a register value container is [tag, items], not {data!r}")
        if _depth >= MAX_DEPTH:
            raise ValueError(f"a register value nests deeper than {MAX_DEPTH} levels")
        tag, items = data
        inner = _depth + 1
        if type(tag) is int and tag == _TUPLE:
            return tuple(value_from_wire(item, inner) for item in items)
        if type(tag) is int and tag == _LIST:
            return [value_from_wire(item, inner) for item in items]
        if type(tag) is int and tag == _DICT:
            result: dict[str, Any] = {}
            previous = None
            for pair in items:
                if type(pair) not in (list, tuple) or len(pair) != 2 or type(pair[0]) is not str:
                    raise ValueError(f"a dict item is [str key, value], not {pair!r}")
                key = pair[0]
                # value_to_wire sorts keys: any other order would encode differently
                if previous is not None and key <= previous:
                    raise ValueError(f"dict keys must be sorted and unique ({key!r})")
                previous = key
                result[key] = value_from_wire(pair[1], inner)
            return result
        raise ValueError(f"unknown register value container tag {tag!r}")
    try:
        # containers were handled above: what is left must be a scalar
        return check_element(data, "register value")
    except TypeError as error:
        raise ValueError(str(error)) from None


def value_key(value: Any) -> bytes:
    """A deterministic total order on register values (breaks ties between equal stamps)."""
    key: bytes = msgpack.packb(value_to_wire(value))
    return key


# -- the causal kernel -----------------------------------------------------------------------
# Counters are written ascending and gap-encoded (first counter, then differences), which
# is canonical and keeps long runs of dots to about one byte each.


_INT_ONLY = frozenset({int})


def _gaps(counters: list[int]) -> list[int]:
    """Gap-encode sorted, distinct counters."""
    first, count = counters[0], len(counters)
    if counters[-1] - first == count - 1:
        return [first, *repeat(1, count - 1)]  # one contiguous run: the usual store
    return [first, *map(sub, counters[1:], counters)]


def _ungap(data: Any, what: str) -> list[int] | range:
    if type(data) is not list or not data:
        raise ValueError(f"{what} must be a non-empty array of counters, not {data!r}")
    # exactly ints: a bool or a float is a counter only by accident of Python's arithmetic
    if not _INT_ONLY.issuperset(map(type, data)) or min(data) < 1:
        raise ValueError(f"{what}: counters must be ints ascending from 1")
    first, count = data[0], len(data)
    if data.count(1) - (first == 1) == count - 1:
        return range(first, first + count)  # one contiguous run, without a list of ints
    return list(accumulate(data))


def _replica(data: Any, previous: str | None, what: str) -> str:
    if type(data) is not str or not data:
        raise ValueError(f"{what}: a replica id must be a non-empty str, not {data!r}")
    if previous is not None and data <= previous:
        raise ValueError(f"{what}: replica ids must be sorted and unique ({data!r})")
    return data


def _pairs(data: Any, width: int, what: str) -> list[Any]:
    if type(data) is not list:
        raise ValueError(f"{what} must be an array, not {data!r}")
    for item in data:
        if type(item) is not list or len(item) != width:
            raise ValueError(f"{what}: each entry is an array of {width}, not {item!r}")
    return data


#: Most cloud dots one decoded causal context may list (see ``crdts.codec.decode``).
DEFAULT_MAX_CLOUD = 65_536

#: the limit in force for the current decode (set by ``crdts.codec.decode``)
max_cloud: ContextVar[int] = ContextVar("max_cloud", default=DEFAULT_MAX_CLOUD)


def _cloud_gaps(runs: list[int]) -> list[int]:
    """The gap-encoded counters of cloud ``runs`` (one entry per dot, as version 1 writes)."""
    gaps: list[int] = []
    last = 0  # the previous counter written
    for i in range(0, len(runs), 2):
        start, end = runs[i], runs[i + 1]
        gaps.append(start - last)
        if end - start > 1:
            gaps.extend(repeat(1, end - start - 1))
        last = end - 1
    return gaps


def context_to_wire(context: Any) -> list[Any]:
    """``[[[replica, n], ...], [[replica, [counters, gap-encoded]], ...]]``, sorted."""
    vv = [[replica, context.vv[replica]] for replica in sorted(context.vv)]
    cloud = [[r, _cloud_gaps(context.cloud[r])] for r in sorted(context.cloud)]
    return [vv, cloud]


def _cloud_runs(gaps: list[Any], top: int, replica: str) -> list[int]:
    """Rebuild cloud runs from gap-encoded counters, never materialising one int per dot
    of a run; ValueError if malformed or not compact above ``top``."""
    runs: list[int] = []
    counter = 0
    for gap in gaps:
        if type(gap) is not int or gap < 1:
            raise ValueError(f"dot cloud for {replica!r}: counters must be ints ascending from 1")
        counter += gap
        if gap == 1 and runs:
            runs[-1] = counter + 1  # extends the current run
        else:
            runs += (counter, counter + 1)
    if runs[0] <= top + 1 or counter >= 2**64:
        raise ValueError(f"dot cloud for {replica!r} is not compact: {runs[0]} <= {top + 1}")
    return runs


def context_from_wire(data: Any, context: Any) -> Any:
    """Fill the empty ``context`` from ``context_to_wire``'s form; ValueError if invalid
    or if the cloud lists more dots than the decode's ``max_cloud``."""
    if type(data) is not list or len(data) != 2:
        raise ValueError(f"a causal context is [vector, cloud], not {data!r}")
    vv_data, cloud_data = data
    previous = None
    for replica, top in _pairs(vv_data, 2, "version vector"):
        previous = _replica(replica, previous, "version vector")
        if type(top) is not int or not 0 < top < 2**64:
            raise ValueError(f"version vector entry for {replica!r} must be in [1, 2**64)")
        context.vv[replica] = top
    previous = None
    budget = max_cloud.get()
    for replica, gaps in _pairs(cloud_data, 2, "dot cloud"):
        previous = _replica(replica, previous, "dot cloud")
        if type(gaps) is not list or not gaps:
            raise ValueError(f"dot cloud must be a non-empty array of counters, not {gaps!r}")
        budget -= len(gaps)
        if budget < 0:
            raise ValueError(
                f"the dot cloud lists more than max_cloud={max_cloud.get()} dots "
                f"(decode(..., max_cloud=...) raises the limit)"
            )
        context.cloud[replica] = _cloud_runs(gaps, context.vv.get(replica, 0), replica)
    return context


def store_to_wire(store: Any, payloads_to_wire: Callable[[list[Any]], list[Any]]) -> list[Any]:
    """``[[replica, [counters, gap-encoded], [payloads]], ...]`` sorted by replica.

    ``payloads_to_wire`` turns a list of payloads into their wire forms (one call per
    replica, so a type whose payloads are mostly plain can return the list as it is).
    """
    result = []
    for replica in sorted(store.by_replica):
        held = store.by_replica[replica]
        counters = list(held)
        if counters == sorted(counters):
            payloads = list(held.values())  # the usual case: dots were added in order
        else:
            counters.sort()
            payloads = list(map(held.__getitem__, counters))
        result.append([replica, _gaps(counters), payloads_to_wire(payloads)])
    return result


def store_from_wire(
    data: Any, store: Any, context: Any, payloads_from_wire: Callable[[list[Any]], list[Any]]
) -> Any:
    """Fill the empty ``store`` from ``store_to_wire``'s form; every dot must be in
    ``context``. ValueError if invalid."""
    previous = None
    entries = []
    for replica, gaps, payloads in _pairs(data, 3, "dot store"):
        previous = _replica(replica, previous, "dot store")
        counters = _ungap(gaps, "dot store")
        if type(payloads) is not list or len(payloads) != len(counters):
            raise ValueError(f"dot store for {replica!r}: one payload per counter")
        top, cloud = context.covered(replica)
        if counters[-1] > top and (
            not cloud or any(not bisect_right(cloud, c) & 1 for c in counters if c > top)
        ):
            raise ValueError(f"dot store for {replica!r} holds a dot its context has not seen")
        entries.append((replica, counters, payloads_from_wire(payloads)))
    store._index = None  # built from the store on first use
    for replica, counters, payloads in entries:
        store.by_replica[replica] = dict(zip(counters, payloads, strict=True))
    return store
