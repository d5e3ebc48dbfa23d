"""merge.redis against real servers: several OS processes, crashes of writers and of Redis."""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import pytest

from crdts import GCounter, ORSet, PNCounter, RetiredWriterError, encode
from tests.redis.servers import RedisClusterServers, RedisServer
from tests.redis.workers import (
    TYPES,
    Target,
    expected,
    processes_context,
    run_writers,
    value_of,
    write,
)

pytest.importorskip("redis")

from merge.redis import CorruptEntryError, RedisStore, StoreUnavailableError


def _namespace() -> str:
    return f"t{uuid.uuid4().hex[:8]}"


def _acks(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def _wait_for_acks(path: Path, count: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while len(_acks(path)) < count:
        assert time.monotonic() < deadline, f"{path.name} acknowledged only {len(_acks(path))}"
        time.sleep(0.01)


@pytest.mark.parametrize("type_name", sorted(TYPES))
def test_concurrent_writer_processes_converge_with_nothing_acknowledged_lost(
    target: Target, type_name: str, tmp_path: Path
) -> None:
    namespace, replicas = _namespace(), ["p0", "p1", "p2"]
    finals = run_writers(target, namespace, "obj", type_name, replicas, 25, tmp_path)
    store = target.store(namespace)
    handle = store.open("obj", TYPES[type_name], replica="reader")
    redis_state = handle.state
    for state in finals.values():  # every process holds what Redis holds, metadata included
        assert state == redis_state
    lines = [line for replica in replicas for line in _acks(tmp_path / replica)]
    assert len(lines) == 25 * len(replicas)
    # counters: one per acknowledged increment; sets and carts: every acknowledged add;
    # LWWMap: each writer's fields hold its last acknowledged set
    assert value_of(type_name, redis_state) == expected(type_name, lines)
    store.close()


def _spawn_writer(target: Target, namespace: str, type_name: str, replica: str, **kw: object):  # type: ignore[no-untyped-def]
    context = processes_context()
    process = context.Process(
        target=write,
        args=(target, namespace, "obj", type_name, replica, kw.pop("ops"), str(kw.pop("acks"))),
        kwargs=kw,
    )
    process.start()
    return process


@pytest.mark.parametrize("type_name", ["PNCounter", "ORSet"])
def test_a_writer_killed_mid_run_restarts_and_continues(
    target: Target, type_name: str, tmp_path: Path
) -> None:
    """SIGKILL a writer; its restart is a new incarnation: no dot reused, nothing lost."""
    namespace = _namespace()
    acks = tmp_path / "w"
    steady = _spawn_writer(target, namespace, type_name, "s", ops=40, acks=tmp_path / "s")
    doomed = _spawn_writer(target, namespace, type_name, "w", ops=100_000, acks=acks, pause=0.002)
    _wait_for_acks(acks, 20)
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.join()
    killed_at = len(_acks(acks))
    again = _spawn_writer(target, namespace, type_name, "w", ops=20, acks=acks, start=50_000)
    again.join(timeout=60)
    steady.join(timeout=60)
    assert again.exitcode == 0 and steady.exitcode == 0

    store = target.store(namespace)
    state = store.open("obj", TYPES[type_name], replica="reader").state  # no DotConflictError
    lines = _acks(acks) + _acks(tmp_path / "s")
    want = expected(type_name, lines)
    got = value_of(type_name, state)
    # the one update in flight at the kill may or may not have reached Redis
    if type_name == "PNCounter":
        assert want <= got <= want + 1
    else:
        assert len(got ^ want) <= 1
    incarnations = {w for w in state.writers() if w.startswith("w#")}
    assert len(incarnations) == 2, incarnations  # the restart wrote under a new id
    assert killed_at >= 20
    store.close()


@pytest.mark.parametrize(
    ("kind", "type_name"), [("single", "PNCounter"), ("single", "ORSet"), ("cluster", "ORSet")]
)
def test_redis_killed_mid_run_restarts_from_its_aof_with_nothing_acknowledged_lost(
    request: pytest.FixtureRequest, kind: str, type_name: str, tmp_path: Path
) -> None:
    """appendfsync always: every acknowledged update survives SIGKILL of the server (in a
    cluster: of the master that owns the object's slot)."""
    namespace = _namespace()
    server: RedisServer
    if kind == "single":
        server = request.getfixturevalue("redis_server")
        target = Target("single", server.port)
    else:
        cluster: RedisClusterServers = request.getfixturevalue("durable_cluster")
        target = Target("cluster", cluster.nodes[0].port)
        client = target.client()
        node = client.get_node_from_key(RedisStore(client, namespace=namespace).keys("obj")[2])
        server = next(n for n in cluster.nodes if n.port == int(node.port))
        client.close()
    writers = [
        _spawn_writer(target, namespace, type_name, r, ops=60, acks=tmp_path / r, pause=0.005)
        for r in ("a", "b")
    ]
    _wait_for_acks(tmp_path / "a", 10)
    server.kill()
    before = len(_acks(tmp_path / "a")) + len(_acks(tmp_path / "b"))
    time.sleep(0.3)  # writers retry with backoff meanwhile
    server.start()
    for process in writers:
        process.join(timeout=60)
        assert process.exitcode == 0
    assert before < 120  # the kill happened mid-run

    store = target.store(namespace)
    state = store.open("obj", TYPES[type_name], replica="reader").state
    lines = _acks(tmp_path / "a") + _acks(tmp_path / "b")
    assert len(lines) == 120
    assert value_of(type_name, state) == expected(type_name, lines)
    store.close()


@pytest.mark.parametrize("kind", ["single", "cluster"])
def test_a_redis_restarted_empty_is_detected_and_live_handles_reupload(
    request: pytest.FixtureRequest, kind: str
) -> None:
    """In a cluster the master that owns the object's slot restarts empty, keeping its
    identity and slots (nodes.conf): the same master, holding nothing."""
    namespace = _namespace()
    keep: tuple[str, ...] = ()
    cluster: RedisClusterServers | None = None
    if kind == "single":
        redis_server: RedisServer = request.getfixturevalue("redis_server")
        target = Target("single", redis_server.port)
    else:
        cluster = request.getfixturevalue("redis_cluster")
        target = Target("cluster", cluster.nodes[0].port)
        client = target.client()
        node = client.get_node_from_key(RedisStore(client, namespace=namespace).keys("obj")[2])
        redis_server = next(n for n in cluster.nodes if n.port == int(node.port))
        client.close()
        keep = ("nodes.conf",)
    stores = [target.store(namespace), target.store(namespace)]
    a = stores[0].open("obj", ORSet, replica="a")
    b = stores[1].open("obj", ORSet, replica="b")
    a.update(lambda s: s.add("from-a"))
    b.update(lambda s: s.add("from-b"))
    a.pull()
    redis_server.wipe(keep=keep)  # it loses everything (no persistence, a flush, a new host)
    redis_server.start()
    if cluster is not None:
        cluster.wait_ok()
    probe = target.client()
    assert not probe.exists(*stores[0].keys("obj"))  # really empty
    probe.close()
    a.update(lambda s: s.add("after"))  # detects the missing generation, re-uploads all
    assert b.fresh() == {"from-a", "from-b", "after"}
    late = target.store(namespace).open("obj", ORSet, replica="c")
    assert late.value == {"from-a", "from-b", "after"}


def test_a_flush_under_live_handles_is_detected_on_pull(target: Target) -> None:
    namespace = _namespace()
    a = target.store(namespace).open("obj", PNCounter, replica="a")
    b = target.store(namespace).open("obj", PNCounter, replica="b")
    a.update(lambda s: s.increment(5))
    b.update(lambda s: s.increment(2))
    meta, snap, log = a.store.keys("obj")
    client = a.store.client
    client.delete(meta)
    client.delete(snap)
    client.delete(log)
    assert a.fresh() == 5  # a re-uploaded its state; b has not yet
    assert b.fresh() == 7  # b met the new generation: adopted it, re-uploaded, merged a's
    assert a.fresh() == 7


def test_a_reader_behind_a_trimmed_stream_catches_up_from_the_snapshot(target: Target) -> None:
    namespace = _namespace()
    writer = target.store(namespace).open("obj", ORSet, replica="w")
    slow = target.store(namespace).open("obj", ORSet, replica="slow")
    for i in range(30):
        writer.update(lambda s, i=i: s.add(i))
    assert writer.compact() == 30  # snapshot written, then the 30 entries trimmed
    for i in range(30, 35):
        writer.update(lambda s, i=i: s.add(i))
    _, _, log = writer.store.keys("obj")
    assert writer.store.client.xlen(log) == 5
    slow.pull()  # its cursor is behind the snapshot: snapshot first, then the 5 entries
    assert slow.value == writer.value == frozenset(range(35))


def test_automatic_compaction_keeps_the_stream_short(target: Target) -> None:
    store = target.store(_namespace(), compact_after=10)
    counter = store.open("obj", PNCounter, replica="a")
    for _ in range(35):
        counter.update(lambda s: s.increment(1))
    assert store.client.xlen(store.keys("obj")[2]) < 10
    assert store.open("obj", PNCounter, replica="b").value == 35


def test_hostile_bytes_in_one_key_do_not_spread(target: Target) -> None:
    namespace = _namespace()
    store = target.store(namespace)
    bad = store.open("bad", ORSet, replica="a")
    good = store.open("good", ORSet, replica="a")
    other_reader = target.store(namespace).open("good", ORSet, replica="b")
    bad.update(lambda s: s.add("kept"))
    _, _, log = store.keys("bad")
    client = store.client
    client.xadd(log, {"w": "x", "d": b"\xc1\xff garbage"})  # not msgpack
    client.xadd(log, {"w": "x", "d": encode(GCounter(replica="x"))})  # another type
    client.xadd(log, {"nothing": "here"})  # no delta field
    client.xadd(log, {"w": "x", "d": encode(ORSet(replica="x").add("planted-ok"))})

    reader = target.store(namespace).open("bad", ORSet, replica="r")  # opens despite them
    assert len(reader.refused) == 3
    assert all(isinstance(error, CorruptEntryError) for error in reader.refused)
    assert reader.value == {"kept", "planted-ok"}
    with pytest.raises(CorruptEntryError):
        bad.pull()  # the live handle is told, once ...
    assert bad.pull() == 0  # ... and goes on past the entries
    assert bad.value == {"kept", "planted-ok"}

    good.update(lambda s: s.add("fine"))
    assert other_reader.fresh() == {"fine"}  # other keys and handles are untouched

    _, _, log = store.keys("broken")
    client.set(log, "not a stream")
    with pytest.raises(CorruptEntryError):
        store.open("broken", ORSet, replica="a")

    _, snap, _ = store.keys("badsnap")
    handle = store.open("badsnap", ORSet, replica="a")
    handle.update(lambda s: s.add(1))
    client.hset(snap, mapping={"state": b"\x00junk", "upto": "99999999999999-0"})
    with pytest.raises(CorruptEntryError):
        target.store(namespace).open("badsnap", ORSet, replica="b").pull()


def test_deltas_from_a_retired_writer_are_refused(target: Target) -> None:
    namespace = _namespace()
    live = target.store(namespace).open("obj", PNCounter, replica="live")
    zombie = target.store(namespace).open("obj", PNCounter, replica="old")
    zombie.update(lambda s: s.increment(4))
    live.pull()
    live.update(lambda s: s.retire(zombie.writer))  # fold "old" in: it has left (we think)
    zombie.update(lambda s: s.increment(100))  # ...but it had not: a write past retirement
    reader = target.store(namespace).open("obj", PNCounter, replica="reader")
    assert [type(error) for error in reader.refused] == [RetiredWriterError]
    assert reader.value == 4
    with pytest.raises(RetiredWriterError):
        live.pull()
    assert live.fresh() == 4


def test_an_unreachable_redis_leaves_the_update_local_then_reuploads_it(
    redis_server: RedisServer,
) -> None:
    target, namespace = Target("single", redis_server.port), _namespace()
    store = target.store(namespace, retry_for=0.2)
    counter = store.open("obj", PNCounter, replica="a")
    counter.update(lambda s: s.increment(1))
    redis_server.stop()
    with pytest.raises(StoreUnavailableError):
        counter.update(lambda s: s.increment(10))  # not acknowledged, kept locally
    assert counter.value == 11
    redis_server.start()
    counter.pull()  # re-uploads the full state first
    assert target.store(namespace).open("obj", PNCounter, replica="b").value == 11


def test_open_refuses_another_type_and_update_checks_its_delta(target: Target) -> None:
    store = target.store(_namespace())
    counter = store.open("obj", PNCounter, replica="a")
    early = store.open("obj", ORSet, replica="early")  # nothing there yet: opening writes nothing
    counter.update(lambda s: s.increment(1))  # the first write creates the object
    with pytest.raises(TypeError, match="holds a PNCounter"):
        store.open("obj", ORSet, replica="b")
    with pytest.raises(TypeError, match="holds a PNCounter"):
        early.update(lambda s: s.add(1))
    with pytest.raises(TypeError, match="must return the delta"):
        counter.update(lambda s: s.value)  # type: ignore[arg-type,return-value]
    counter.close()
    with pytest.raises(ValueError, match="closed"):
        counter.pull()


def test_keys_share_one_cluster_hash_tag() -> None:
    store = RedisStore.__new__(RedisStore)
    store.namespace, store.version = "shop", 2
    assert store.keys("cart:1") == (
        "{shop:v2:cart:1}:meta",
        "{shop:v2:cart:1}:snap",
        "{shop:v2:cart:1}:log",
    )
    with pytest.raises(ValueError, match="braces"):
        store.keys("a}b")
