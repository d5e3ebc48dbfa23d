"""Benchmark of merge.redis against real redis-server processes it starts on loopback ports.

Run: ``python bench/redis.py [--seconds 1] [--repeats 3] [--quick]`` (about three minutes;
needs redis-server and redis-py). Every figure is a median over ``--repeats`` runs and is
shown beside a plain-Redis floor measured in the same run, as a ratio.

1. Acknowledged updates per second and p50/p99 latency for 1, 2, 4 and 8 writer processes,
   on one hot PNCounter and on 64 keys (each update to the next key round-robin), under
   ``appendfsync everysec`` and ``always``. Floor: the same processes sending ``INCR`` to the
   same keys; the ratio is floor throughput / ours (how many times slower).
2. ORSet adds against ``SADD`` (1 writer, hot key).
3. Bytes per update on the wire: the encoded delta against the full state it came from.
4. Redis memory per element (``MEMORY USAGE``, all of an object's keys) of an ORSet of N
   elements, as a stream of deltas and after compaction, against a plain ``SADD`` set.
5. Catch-up: opening a handle on N updates from the stream of deltas vs from the snapshot;
   floor: ``SMEMBERS`` of a plain set of N members.
6. Restart to first acknowledged write: SIGKILL Redis (AOF, holding the N-element object),
   start it, and time until an update is acknowledged; floor: until an ``INCR`` is.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# the repository root first, and not this directory: bench/redis.py must not shadow redis-py
_here = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
sys.path.insert(0, str(_here.parent))

import redis  # noqa: E402

from crdts import ORSet, PNCounter, encode  # noqa: E402
from merge.redis import RedisStore  # noqa: E402
from tests.redis.servers import RedisServer  # noqa: E402

MANY = 64  # keys in the many-keys runs


def _worker(
    port: int, kind: str, keys: int, namespace: str, seconds: float, out: Any, index: int
) -> None:
    client = redis.Redis(port=port)
    names = [f"k{i}" for i in range(keys)]
    latencies: list[float] = []
    one: Callable[[int], object]
    if kind in ("PNCounter", "ORSet"):
        store = RedisStore(client, namespace=namespace, compact_after=None)
        crdt = PNCounter if kind == "PNCounter" else ORSet
        handles = [store.open(name, crdt, replica=f"w{index}") for name in names]
        if kind == "PNCounter":

            def one(i: int) -> object:
                return handles[i % keys].update(lambda s: s.increment())
        else:

            def one(i: int) -> object:
                return handles[i % keys].update(lambda s: s.add((index, i)))
    elif kind == "INCR":

        def one(i: int) -> object:
            return client.incr(f"{namespace}:{names[i % keys]}")
    else:

        def one(i: int) -> object:
            return client.sadd(f"{namespace}:{names[i % keys]}", f"{index}:{i}")

    deadline = time.perf_counter() + seconds
    i = index  # writers start on different keys
    while True:
        start = time.perf_counter()
        if start >= deadline:
            break
        one(i)
        latencies.append(time.perf_counter() - start)
        i += 1
    out.put(latencies)


def run(port: int, kind: str, writers: int, keys: int, seconds: float) -> tuple[float, ...]:
    """(acknowledged updates/s over all writers, p50 ms, p99 ms)."""
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    namespace = f"b{time.monotonic_ns()}"
    processes = [
        context.Process(target=_worker, args=(port, kind, keys, namespace, seconds, out, i))
        for i in range(writers)
    ]
    for process in processes:
        process.start()
    latencies: list[float] = []
    for _ in processes:
        latencies += out.get(timeout=seconds + 120)
    for process in processes:
        process.join()
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return len(latencies) / seconds, statistics.median(latencies) * 1e3, p99 * 1e3


def _medians(runs: list[tuple[float, ...]]) -> tuple[float, ...]:
    return tuple(statistics.median(column) for column in zip(*runs, strict=True))


def throughput(port: int, fsync: str, args: argparse.Namespace) -> None:
    counts = (1, 2) if args.quick else (1, 2, 4, 8)
    plans = [("PNCounter", "INCR", n, keys) for keys in (1, MANY) for n in counts]
    plans.append(("ORSet", "SADD", 1, 1))
    for ours, floor_kind, writers, keys in plans:
        floors, mine = [], []
        for _ in range(args.repeats):  # alternate, so drifting load hits both alike
            floors.append(run(port, floor_kind, writers, keys, args.seconds))
            mine.append(run(port, ours, writers, keys, args.seconds))
        base, base50, base99 = _medians(floors)
        rate, p50, p99 = _medians(mine)
        where = "hot key" if keys == 1 else f"{keys} keys"
        print(
            f"{fsync:<8} {ours:<9} {where:<8} {writers} w: {rate:7.0f} acked/s "
            f"p50 {p50:6.2f} p99 {p99:6.2f} ms | {floor_kind} {base:7.0f}/s "
            f"p50 {base50:6.2f} p99 {base99:6.2f} ms | {base / rate:5.2f}x slower",
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


def _memory(client: Any, names: tuple[str, ...] | list[str]) -> int:
    return sum(int(client.memory_usage(name, samples=0) or 0) for name in names)


def _fill(store: RedisStore, key: str, elements: int) -> Any:
    handle = store.open(key, ORSet, replica="filler")
    pipeline_free = [f"element-{i}" for i in range(elements)]
    for element in pipeline_free:
        handle.update(lambda s, element=element: s.add(element))
    return handle


def memory_and_catch_up(port: int, args: argparse.Namespace) -> None:
    client = redis.Redis(port=port)
    store = RedisStore(client, namespace=f"m{time.monotonic_ns()}", compact_after=None)
    n = 1000 if args.quick else 5000
    handle = _fill(store, "set", n)
    plain = f"{store.namespace}:plain"
    for i in range(0, n, 500):
        client.sadd(plain, *(f"element-{j}" for j in range(i, min(n, i + 500))))
    as_stream = _memory(client, store.keys("set"))
    sadd = _memory(client, [plain])

    def open_time() -> float:
        start = time.perf_counter()
        reader = store.open("set", ORSet, replica="reader")
        elapsed = time.perf_counter() - start
        assert len(reader.value) == n
        return elapsed

    def smembers_time() -> float:
        start = time.perf_counter()
        assert len(client.smembers(plain)) == n
        return time.perf_counter() - start

    repeats = max(3, args.repeats)
    floor = statistics.median(smembers_time() for _ in range(repeats))
    from_deltas = statistics.median(open_time() for _ in range(repeats))
    handle.compact()
    compacted = _memory(client, store.keys("set"))
    from_snapshot = statistics.median(open_time() for _ in range(repeats))
    print(
        f"memory, ORSet of {n}: {as_stream / n:6.1f} B/element as deltas, "
        f"{compacted / n:6.1f} B/element compacted | SADD {sadd / n:5.1f} B/element | "
        f"{as_stream / sadd:5.1f}x and {compacted / sadd:4.1f}x"
    )
    print(
        f"catch-up, {n} updates: from deltas {from_deltas * 1e3:7.1f} ms, from the snapshot "
        f"{from_snapshot * 1e3:6.1f} ms | SMEMBERS {floor * 1e3:5.2f} ms | "
        f"{from_deltas / floor:6.1f}x and {from_snapshot / floor:5.1f}x"
    )
    client.close()


def restart_to_first_write(args: argparse.Namespace) -> None:
    server = RedisServer(Path(tempfile.mkdtemp()), appendonly=True, appendfsync="always")
    server.start()
    try:
        client = redis.Redis(port=server.port)
        store = RedisStore(client, namespace="r", compact_after=None, retry_for=30)
        n = 1000 if args.quick else 5000
        handle = _fill(store, "set", n)
        counter = "r:plain"
        client.incr(counter)

        def once(write: Callable[[], object]) -> float:
            server.kill()
            start = time.perf_counter()
            server.start(timeout=30)  # polls PING every 20 ms, as a supervisor would
            write()
            return time.perf_counter() - start

        floors, mine = [], []
        for _ in range(max(3, args.repeats)):
            floors.append(once(lambda: client.incr(counter)))
            mine.append(once(lambda: handle.update(lambda s: s.add("after restart"))))
        floor, ours = statistics.median(floors), statistics.median(mine)
        size = sum(f.stat().st_size for f in (server.directory / "appendonlydir").iterdir())
        print(
            f"restart to first acknowledged write (AOF of {size} B, {n}-element "
            f"object): {ours * 1e3:6.1f} ms | INCR {floor * 1e3:6.1f} ms | "
            f"{ours / floor:4.2f}x"
        )
        client.close()
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0, help="per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--quick", action="store_true", help="fewer writers, smaller objects")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.2f}", flush=True)
    wire_sizes()
    for fsync in ("everysec", "always"):
        server = RedisServer(Path(tempfile.mkdtemp()), appendonly=True, appendfsync=fsync)
        server.start()
        try:
            if fsync == "everysec":
                memory_and_catch_up(server.port, args)
            throughput(server.port, fsync, args)
        finally:
            server.stop()
    restart_to_first_write(args)
    print(f"load average at end: {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
