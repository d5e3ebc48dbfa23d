"""The states pinned by the golden wire vectors: small, deterministic, one per type.

``python -m tests.vectors.states`` rewrites ``v1.json`` — only ever for a *new* format
version: a change to an existing vector means old bytes no longer decode the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import crdts
from clocks import HLC, Timestamp, VectorClock

VECTORS = Path(__file__).with_name("v1.json")


def _legacy(obj: Any, writer: str) -> Any:
    """Bind ``obj`` to the bare writer id ``writer``, as states written before writer
    incarnations named their writers: the pinned bytes hold such ids, and they must keep
    decoding the same way."""
    obj._replica = writer
    obj._rebind(obj)
    return obj


def _clock(replica: str) -> HLC:
    return HLC(replica, now=lambda: 1_700_000_000_000)


def gcounter() -> Any:
    a, b = _legacy(crdts.GCounter(), "a"), _legacy(crdts.GCounter(), "b")
    _ = a.increment(3)
    _ = b.increment(2)
    return a | b


def pncounter() -> Any:
    c = _legacy(crdts.PNCounter(), "a")
    _ = c.increment(5)
    _ = c.decrement(7)
    return c


def lwwregister() -> Any:
    r = crdts.LWWRegister(replica="a", clock=_clock("a"))
    _ = r.assign({"name": "Ada", "tags": ("x", [1, 2.5])})
    return r


def mvregister() -> Any:
    a, b = _legacy(crdts.MVRegister(), "a"), _legacy(crdts.MVRegister(), "b")
    _ = a.assign("red")
    _ = b.assign(["blue", 1])
    return a | b


def gset() -> Any:
    s = _legacy(crdts.GSet(), "a")
    for element in ["x", 1, (2, b"y"), None]:
        _ = s.add(element)
    return s


def twopset() -> Any:
    s = _legacy(crdts.TwoPSet(), "a")
    _ = s.add("x")
    _ = s.add("y")
    _ = s.remove("x")
    return s


def lwwelementset() -> Any:
    s = crdts.LWWElementSet(replica="a", clock=_clock("a"), bias="remove")
    _ = s.add("x")
    _ = s.add("y")
    _ = s.remove("x")
    return s


def orset() -> Any:
    a = _legacy(crdts.ORSet(), "a")
    b = _legacy(a.copy(replica=None), "b")
    b.merge(a.add("x"))
    _ = a.add("y")
    _ = b.remove("x")
    _ = b.add((1, "z"))
    return a | b


def rworset() -> Any:
    a = _legacy(crdts.RWORSet(), "a")
    _ = a.add("x")
    _ = a.add("y")
    _ = a.remove("y")
    return a


def ewflag() -> Any:
    f = _legacy(crdts.EWFlag(), "a")
    _ = f.enable()
    return f


def dwflag() -> Any:
    f = _legacy(crdts.DWFlag(), "a")
    _ = f.enable()
    _ = f.disable()
    return f


def causalcounter() -> Any:
    c = _legacy(crdts.CausalCounter(), "a")
    _ = c.increment(4)
    _ = c.decrement(1)
    return c


def ormap() -> Any:
    m = _legacy(crdts.ORMap(crdts.ORMap(crdts.ORSet)), "a")
    _ = m.update("user", lambda inner: inner.update("tags", lambda s: s.add("admin")))
    _ = m.update("other", lambda inner: inner.update("t", lambda s: s.add(1)))
    _ = m.remove("other")
    return m


def lwwmap() -> Any:
    m = crdts.LWWMap(replica="a", clock=_clock("a"))
    _ = m.set("k", [1, 2])
    _ = m.set("gone", 1)
    _ = m.remove("gone")
    return m


def cart() -> Any:
    c = _legacy(crdts.Cart(), "a")
    _ = c.add("book", 2)
    _ = c.add("pen")
    # a decrement written directly (since Cart.remove(item, n) records the remainder as a
    # fresh update instead, this pins the same bytes the way version 1 wrote them)
    # a bare decrement (concurrent removals can leave one); Cart.update refuses to make it
    _ = crdts.ORMap.update(c, "book", lambda counter: counter.decrement(1))
    return c


def orset_delta() -> Any:
    a = _legacy(crdts.ORSet(), "a")
    _ = a.add("x")
    return a.remove("x")


def timestamp() -> Any:
    return Timestamp(1_700_000_000_000, 3, "a")


def vectorclock() -> Any:
    return VectorClock({"a": 3, "b": 1})


STATES: dict[str, Callable[[], Any]] = {
    fn.__name__: fn
    for fn in [
        gcounter,
        pncounter,
        lwwregister,
        mvregister,
        gset,
        twopset,
        lwwelementset,
        orset,
        rworset,
        ewflag,
        dwflag,
        causalcounter,
        ormap,
        lwwmap,
        cart,
        orset_delta,
        timestamp,
        vectorclock,
    ]
}


def main() -> None:
    vectors = {name: crdts.encode(build()).hex() for name, build in STATES.items()}
    VECTORS.write_text(json.dumps(vectors, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
