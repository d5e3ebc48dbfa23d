"""Benchmark of merge.redis against a real redis-server it starts on a loopback port.

Run: ``python bench/redis.py [--seconds 2]`` (about 40 s; needs redis-server and redis-py).

1. Acknowledged updates per second and p50/p99 latency for 1, 2 and 4 writer processes on one
   hot PNCounter, under ``appendfsync everysec`` and ``always``; the floor is the same
   processes sending a plain ``INCR`` to one key in the same run, and the ratio is
   floor throughput / ours (how many times slower an acknowledged CRDT update is).
2. The same for ORSet adds against ``SADD`` (1 writer).
3. Bytes per update on the wire: the encoded delta against the full state it came from.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

# the repository root first, and not this directory: bench/redis.py must not shadow redis-py
_here = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
sys.path.insert(0, str(_here.parent))

import redis  # noqa: E402

from crdts import ORSet, PNCounter, encode  # noqa: E402
from merge.redis import RedisStore  # noqa: E402
from tests.redis.servers import RedisServer  # noqa: E402


def _worker(port: int, kind: str, namespace: str, seconds: float, out: object, index: int) -> None:
    client = redis.Redis(port=port)
    latencies: list[float] = []
    if kind in ("PNCounter", "ORSet"):
        store = RedisStore(client, namespace=namespace, compact_after=None)
        handle = store.open("hot", PNCounter if kind == "PNCounter" else ORSet, replica=f"w{index}")

        def one(i: int) -> None:
            if kind == "PNCounter":
                handle.update(lambda s: s.increment())
            else:
                handle.update(lambda s: s.add((index, i)))
    else:

        def one(i: int) -> None:
            if kind == "INCR":
                client.incr(f"{namespace}:hot")
            else:
                client.sadd(f"{namespace}:hot", f"{index}:{i}")

    deadline = time.perf_counter() + seconds
    i = 0
    while True:
        start = time.perf_counter()
        if start >= deadline:
            break
        one(i)
        latencies.append(time.perf_counter() - start)
        i += 1
    out.put(latencies)  # type: ignore[attr-defined]


def run(port: int, kind: str, writers: int, seconds: float) -> tuple[float, float, float]:
    """(acknowledged updates/s over all writers, p50 ms, p99 ms)."""
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    namespace = f"b{time.monotonic_ns()}"
    processes = [
        context.Process(target=_worker, args=(port, kind, namespace, seconds, out, i))
        for i in range(writers)
    ]
    for process in processes:
        process.start()
    latencies: list[float] = []
    for _ in processes:
        latencies += out.get(timeout=seconds + 60)
    for process in processes:
        process.join()
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return len(latencies) / seconds, statistics.median(latencies) * 1e3, p99 * 1e3


def throughput(port: int, seconds: float, fsync: str) -> None:
    for ours, floor_kind, counts in (("PNCounter", "INCR", (1, 2, 4)), ("ORSet", "SADD", (1,))):
        for writers in counts:
            base, base50, base99 = run(port, floor_kind, writers, seconds)
            rate, p50, p99 = run(port, ours, writers, seconds)
            print(
                f"{fsync:<9} {ours:<9} {writers} writer(s): {rate:8.0f} acked/s "
                f"p50 {p50:6.3f} ms p99 {p99:6.3f} ms | {floor_kind} {base:8.0f}/s "
                f"p50 {base50:6.3f} ms p99 {base99:6.3f} ms | {base / rate:5.2f}x slower",
                flush=True,
            )


def wire_sizes() -> None:
    counter, orset = PNCounter(replica="a"), ORSet(replica="a")
    for i in range(1000):
        counter_delta = counter.increment()
        orset_delta = orset.add(f"element-{i}")
    for name, delta, state in (
        ("PNCounter increment", counter_delta, counter),
        ("ORSet add (1000 elements)", orset_delta, orset),
    ):
        small, full = len(encode(delta)), len(encode(state))
        print(
            f"bytes per update, {name:<26} delta {small:5d} B, "
            f"full state {full:6d} B, ratio {full / small:6.1f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0, help="per measurement")
    args = parser.parse_args()
    wire_sizes()
    for fsync in ("everysec", "always"):
        server = RedisServer(Path(tempfile.mkdtemp()), appendonly=True, appendfsync=fsync)
        server.start()
        try:
            throughput(server.port, args.seconds, fsync)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
