"""Encode and decode costs of the wire format, as ratios to plain msgpack of the same data.

Run: ``python bench/codec.py``. Floors: ``msgpack.packb``/``unpackb`` of the plain Python
data (the elements as a list; the counter as ``{writer id: [p, n]}``). Medians of 7 runs.
Goals (issue 17): encode within 2x of ``packb``, validated decode within 3x of ``unpackb``,
bytes within 1.1x of the plain form.
"""

from __future__ import annotations

import sys
from pathlib import Path

# the repository root first, so the package is imported, not a script beside this one
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import msgpack
from _timing import median_seconds, report, report_size, scaled

import crdts

N = scaled(100_000, minimum=100)


def case(name: str, obj: object, plain: object) -> None:
    packed_plain = msgpack.packb(plain)
    encoded = crdts.encode(obj)
    report(
        f"{name}: encode vs packb",
        median_seconds(lambda: crdts.encode(obj)),
        median_seconds(lambda: msgpack.packb(plain)),
        goal=2,
    )
    report(
        f"{name}: decode (validated) vs unpackb",
        median_seconds(lambda: crdts.decode(encoded)),
        median_seconds(lambda: msgpack.unpackb(packed_plain)),
        goal=3,
    )
    report_size(f"{name}: encoded size vs plain", len(encoded), len(packed_plain), "B", goal=1.1)


def main() -> None:
    print(f"Python {sys.version.split()[0]}; medians of 7 runs; ratio = measured / floor")
    elements = [f"element-{i}" for i in range(N)]
    orset = crdts.ORSet(replica="a")
    for element in elements:
        orset.add(element)
    case("ORSet, 100k elements", orset, elements)

    counter = crdts.PNCounter()
    plain: dict[str, list[int]] = {}
    for i in range(100):
        node = crdts.PNCounter(replica=f"replica-{i:03d}")
        node.increment(1000 + i)
        node.decrement(i)
        counter.merge(node)
        plain[node.writer or ""] = [1000 + i, i]  # the same writer ids the state holds
    case("PNCounter, 100 replicas", counter, plain)


if __name__ == "__main__":
    main()
