"""Context pollution and cloud bombs (issue 10, items 8 and 10), as ratios to a clean floor.

Run: ``python bench/cloud.py`` (about half a minute). Figures are medians of 7 runs.

* 300 merges of a full ORSet state whose context holds a polluting cloud (one delta listed
  a million isolated dots of replica ``b``, far above its real counter) into a replica that
  already holds it, against 300 merges of the same state without the cloud;
* the encoded bytes of that polluted state against the clean state;
* the traced peak memory (``tracemalloc``) of decoding a 2 MB cloud bomb, against its size.

It also runs against a crdtkit without ``decode(max_cloud=...)`` (the "before" figures):
the polluting delta is then decoded without a limit.
"""

from __future__ import annotations

import inspect
import sys
import tracemalloc
from pathlib import Path
from typing import Any

# the repository root first, so the package is imported, not a script beside this one
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import msgpack
from _timing import median_seconds, report, report_size, scaled

import crdts

POLLUTION = scaled(1_000_000)  # dots in the polluting delta
MERGES = scaled(300)
HAS_LIMIT = "max_cloud" in inspect.signature(crdts.decode).parameters


def cloud_message(gaps: list[int]) -> bytes:
    """An ORSet delta with an empty store whose context's cloud for ``b`` is ``gaps``."""
    state = [[], [[], [["b", gaps]]]]
    payload = msgpack.packb([crdts.ORSet.format_version, state], use_bin_type=True)
    data: bytes = msgpack.packb(msgpack.ExtType(crdts.ORSet.type_code, payload), use_bin_type=True)
    return data


def decode_unlimited(data: bytes) -> Any:
    return crdts.decode(data, max_cloud=10**8) if HAS_LIMIT else crdts.decode(data)


def clean_state() -> crdts.ORSet:
    state, writer = crdts.ORSet(replica="a"), crdts.ORSet(replica="b")
    for i in range(20):
        state.merge(writer.add(f"from-b-{i}"))
        _ = state.add(f"from-a-{i}")
    return state


def pollution() -> None:
    delta_bytes = cloud_message([10**9] + [1] * (POLLUTION - 1))
    if HAS_LIMIT:
        try:
            crdts.decode(delta_bytes)
            print("the polluting delta is ACCEPTED by decode's default limits")
        except crdts.DecodeError as error:
            print(f"the polluting delta ({len(delta_bytes):,} B) is refused by default: {error}")
    delta = decode_unlimited(delta_bytes)

    clean = clean_state()
    polluted = clean.copy()
    polluted.merge(delta)

    def merges(source: crdts.ORSet) -> None:
        target = source.copy()
        for _ in range(MERGES):
            target.merge(source)

    floor = median_seconds(lambda: merges(clean))
    measured = median_seconds(lambda: merges(polluted))
    report(
        f"{MERGES} merges of a state polluted by {POLLUTION:,} cloud dots vs clean",
        measured,
        floor,
        goal=3,
    )

    small = crdts.ORSet(replica="c").add("one more")

    def deltas(source: crdts.ORSet) -> None:
        target = source.copy()
        for _ in range(MERGES):
            target.merge(small)

    report(
        f"{MERGES} one-element deltas into the polluted state vs clean",
        median_seconds(lambda: deltas(polluted)),
        median_seconds(lambda: deltas(clean)),
        goal=3,
    )
    report_size(
        "encoded bytes of the polluted full state vs clean",
        len(crdts.encode(polluted)) / 1e3,
        len(crdts.encode(clean)) / 1e3,
        "kB",
        goal=2,
    )


def peak(fn: Any) -> tuple[int, Any]:
    """Traced peak memory while ``fn()`` runs, and its result (or the exception raised)."""
    tracemalloc.start()
    try:
        result = fn()
    except crdts.DecodeError as error:
        result = error
    finally:
        size = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return size, result


def bombs() -> None:
    for step, kind in [(1, "contiguous"), (2, "scattered")]:
        bomb = cloud_message([10**6] + [step] * scaled(2_000_000))
        size, result = peak(lambda bomb=bomb: crdts.decode(bomb))
        verdict = "refused" if isinstance(result, crdts.DecodeError) else "accepted"
        report_size(
            f"2 MB {kind} cloud bomb ({verdict}): decode peak vs input",
            size / 1e6,
            len(bomb) / 1e6,
            "MB",
            goal=20,
        )
    if HAS_LIMIT:
        # the largest clouds the default limit admits
        limit = crdts.codec.DEFAULT_MAX_CLOUD
        for step, kind in [(1, "contiguous"), (2, "scattered")]:
            data = cloud_message([10**6] + [step] * (limit - 1))
            size, result = peak(lambda data=data: crdts.decode(data))
            assert not isinstance(result, crdts.DecodeError)
            report_size(
                f"admitted {kind} cloud of {limit:,} dots: decode peak vs input",
                size / 1e6,
                len(data) / 1e6,
                "MB",
                goal=20,
            )


if __name__ == "__main__":
    print(f"Python {sys.version.split()[0]}; medians of 7 runs; ratio = measured / floor")
    pollution()
    bombs()
