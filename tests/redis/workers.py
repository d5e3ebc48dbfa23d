"""Writer processes for the multi-process tests (importable, so ``spawn`` can run them).

Each writer opens one object as its own replica, applies ``ops`` updates and appends one line
per *acknowledged* update to its ack file (flushed, so the line survives a SIGKILL of the
writer: the page cache is the kernel's). The parent compares Redis against the ack files.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import random
import time
from pathlib import Path
from typing import Any

from crdts import CRDT, Cart, LWWMap, ORSet, PNCounter, decode, encode

TYPES: dict[str, type[CRDT]] = {
    "PNCounter": PNCounter,
    "ORSet": ORSet,
    "Cart": Cart,
    "LWWMap": LWWMap,
}


@dataclasses.dataclass(frozen=True)
class Target:
    """A single Redis or a cluster on a loopback port; picklable for ``spawn``."""

    kind: str
    port: int

    def client(self) -> Any:
        import redis
        from redis.backoff import NoBackoff
        from redis.cluster import RedisCluster
        from redis.retry import Retry

        if self.kind == "cluster":
            return RedisCluster(host="127.0.0.1", port=self.port)
        return redis.Redis(host="127.0.0.1", port=self.port, retry=Retry(NoBackoff(), 0))

    def store(self, namespace: str, **options: Any) -> Any:
        from merge.redis import RedisStore

        return RedisStore(self.client(), namespace=namespace, **options)


def operation(type_name: str, replica: str, i: int) -> tuple[Any, str]:
    """The ``i``-th update of ``replica``: (fn for ``handle.update``, the ack line)."""
    if type_name == "PNCounter":
        return (lambda s: s.increment(1)), "inc"
    if type_name == "ORSet":
        element = f"{replica}-{i}"
        if i % 7 == 6:  # remove one of our own earlier elements now and then
            gone = f"{replica}-{i - 3}"
            return (lambda s: s.discard(gone)), f"remove {gone}"
        return (lambda s: s.add(element)), f"add {element}"
    if type_name == "Cart":
        item = f"item{i % 4}"
        return (lambda s: s.add(item, 1)), f"add {item}"
    if type_name == "LWWMap":
        field = f"{replica}-{i % 5}"
        return (lambda s: s.set(field, i)), f"set {field} {i}"
    raise ValueError(type_name)


def expected(type_name: str, ack_lines: list[str]) -> Any:
    """What Redis must hold after every line of ``ack_lines`` was acknowledged."""
    if type_name == "PNCounter":
        return len(ack_lines)
    if type_name == "ORSet":
        present: set[str] = set()
        for line in ack_lines:
            verb, element = line.split()
            (present.add if verb == "add" else present.discard)(element)
        return present
    if type_name == "Cart":
        items: dict[str, int] = {}
        for line in ack_lines:
            item = line.split()[1]
            items[item] = items.get(item, 0) + 1
        return items
    fields: dict[str, int] = {}
    for line in ack_lines:
        _, field, value = line.split()
        fields[field] = int(value)
    return fields


def value_of(type_name: str, state: CRDT) -> Any:
    if type_name == "PNCounter":
        return state.value
    if type_name == "ORSet":
        return set(state.value)
    if type_name == "Cart":
        return dict(state.quantities)  # type: ignore[attr-defined]
    return dict(state.value)


def write(
    target: Target,
    namespace: str,
    key: str,
    type_name: str,
    replica: str,
    ops: int,
    ack_path: str,
    start: int = 0,
    pause: float = 0.0,
    done: Any = None,
    states: Any = None,
) -> None:
    """Open, apply ``ops`` updates (numbered from ``start``), then report the merged state.

    With ``done`` (a multiprocessing Barrier) every writer waits for the others before its
    final ``fresh()``, and puts ``(writer, encoded state)`` on ``states``.
    """
    store = target.store(namespace, retry_for=20.0)
    handle = store.open(key, TYPES[type_name], replica=replica)
    with Path(ack_path).open("a") as acks:
        for i in range(start, start + ops):
            fn, line = operation(type_name, replica, i)
            handle.update(fn)
            acks.write(f"{line}\n")
            acks.flush()
            if i % 5 == 0:
                handle.pull()
            if pause:
                time.sleep(pause)
    if done is not None:
        done.wait(timeout=60)
        handle.fresh()
        states.put((handle.writer, encode(handle.state)))
    handle.close()
    store.close()


def processes_context() -> Any:
    """``forkserver``: a clean process like ``spawn`` (no threads or sockets of the test
    process are inherited), but each writer is forked from a server that already imported
    this module, so starting one costs milliseconds, not an interpreter start."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tests.redis.workers", "merge.redis"])
    return context


def run_writers(
    target: Target,
    namespace: str,
    key: str,
    type_name: str,
    replicas: list[str],
    ops: int,
    directory: Path,
) -> dict[str, CRDT]:
    """Start one process per replica, wait for all; return each writer's final state."""
    context = processes_context()
    done = context.Barrier(len(replicas))
    states = context.Queue()
    processes = [
        context.Process(
            target=write,
            args=(target, namespace, key, type_name, replica, ops, str(directory / replica)),
            kwargs={"done": done, "states": states},
        )
        for replica in replicas
    ]
    for process in processes:
        process.start()
    results = {}
    for _ in processes:
        writer, data = states.get(timeout=120)
        results[writer] = decode(data)
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0, f"writer exited with {process.exitcode}"
    return results


def write_expiring(
    target: Target,
    namespace: str,
    key: str,
    replica: str,
    ops: int,
    ack_path: str,
    ttl_ms: int,
    seed: int,
    quiet: Any,
) -> None:
    """Add ``ops`` unique elements to an ORSet that expires ``ttl_ms`` after its last write.

    Pauses between writes are drawn up to twice the TTL, so the object now and then expires
    while writers are between writes; halfway, every writer waits on ``quiet`` (a Barrier)
    and then sleeps three TTLs, so it expires at least once. Each acknowledged add appends
    ``element generation monotonic-time`` to the ack file (CLOCK_MONOTONIC is system-wide).
    """
    rng = random.Random(seed)
    store = target.store(namespace, retry_for=20.0)
    handle = store.open(key, ORSet, replica=replica, ttl_ms=ttl_ms)
    with Path(ack_path).open("a") as acks:
        for i in range(ops):
            if i == ops // 2:
                quiet.wait(timeout=60)
                time.sleep(3 * ttl_ms / 1000)
            element = f"{replica}-{i}"
            handle.update(lambda s, element=element: s.add(element))
            acks.write(f"{element} {handle.generation} {time.monotonic()}\n")
            acks.flush()
            if rng.random() < 0.3:
                handle.pull()
            time.sleep(rng.uniform(0, 2 * ttl_ms / 1000))
    handle.close()
    store.close()
