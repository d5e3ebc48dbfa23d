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


def _clock(replica: str) -> HLC:
    return HLC(replica, now=lambda: 1_700_000_000_000)


def gcounter() -> Any:
    a, b = crdts.GCounter(replica="a"), crdts.GCounter(replica="b")
    _ = a.increment(3)
    _ = b.increment(2)
    return a | b


def pncounter() -> Any:
    c = crdts.PNCounter(replica="a")
    _ = c.increment(5)
    _ = c.decrement(7)
    return c


def lwwregister() -> Any:
    r = crdts.LWWRegister(replica="a", clock=_clock("a"))
    _ = r.assign({"name": "Ada", "tags": ("x", [1, 2.5])})
    return r


def mvregister() -> Any:
    a, b = crdts.MVRegister(replica="a"), crdts.MVRegister(replica="b")
    _ = a.assign("red")
    _ = b.assign(["blue", 1])
    return a | b


def gset() -> Any:
    s = crdts.GSet(replica="a")
    for element in ["x", 1, (2, b"y"), None]:
        _ = s.add(element)
    return s


def twopset() -> Any:
    s = crdts.TwoPSet(replica="a")
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
    a = crdts.ORSet(replica="a")
    b = a.copy(replica="b")
    b.merge(a.add("x"))
    _ = a.add("y")
    _ = b.remove("x")
    _ = b.add((1, "z"))
    return a | b


def rworset() -> Any:
    a = crdts.RWORSet(replica="a")
    _ = a.add("x")
    _ = a.add("y")
    _ = a.remove("y")
    return a


def ewflag() -> Any:
    f = crdts.EWFlag(replica="a")
    _ = f.enable()
    return f


def dwflag() -> Any:
    f = crdts.DWFlag(replica="a")
    _ = f.enable()
    _ = f.disable()
    return f


def causalcounter() -> Any:
    c = crdts.CausalCounter(replica="a")
    _ = c.increment(4)
    _ = c.decrement(1)
    return c


def ormap() -> Any:
    m = crdts.ORMap(crdts.ORMap(crdts.ORSet), replica="a")
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
    c = crdts.Cart(replica="a")
    _ = c.add("book", 2)
    _ = c.add("pen")
    # a decrement written directly (since Cart.remove(item, n) records the remainder as a
    # fresh update instead, this pins the same bytes the way version 1 wrote them)
    _ = c.update("book", lambda counter: counter.decrement(1))
    return c


def orset_delta() -> Any:
    a = crdts.ORSet(replica="a")
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
