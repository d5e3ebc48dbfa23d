"""merge.redis as a cache layer: expiry as metadata of an object's life, versioned keys."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from crdts import ORSet, PNCounter, encode
from tests.redis.servers import RedisServer
from tests.redis.workers import Target, processes_context, write_expiring

pytest.importorskip("redis")

from merge.redis import RedisStore, StoreUnavailableError


def _namespace() -> str:
    return f"t{uuid.uuid4().hex[:8]}"


def _expire_times(store: RedisStore, key: str) -> list[int]:
    """PEXPIRETIME of the object's meta, snap and log keys (-1: no expiry, -2: no key)."""
    return [int(store.client.pexpiretime(name)) for name in store.keys(key)]


def _sleep_past(deadline: int | None) -> None:
    """Sleep until just past ``deadline`` (Redis runs on this host: one clock)."""
    assert deadline is not None
    time.sleep(max(0.0, (deadline + 30) / 1000 - time.time()))


def test_the_latest_deadline_wins_and_every_key_expires_with_it(target: Target) -> None:
    store = target.store(_namespace())
    long = store.open("obj", ORSet, replica="long", ttl_ms=60_000)
    short = store.open("obj", ORSet, replica="short", ttl_ms=1_000)
    plain = store.open("obj", ORSet, replica="plain")  # no TTL: neither sets nor extends
    long.update(lambda s: s.add(1))
    first = long.deadline
    assert first is not None
    meta, _, log = _expire_times(store, "obj")
    assert meta == log == first  # PEXPIREAT from the joined deadline, in the same script

    short.update(lambda s: s.add(2))  # now + 1 s is earlier: the deadline stays
    assert short.deadline == first
    plain.update(lambda s: s.add(3))
    assert plain.deadline == first
    assert short.touch() == first  # a shorter touch never shortens it

    later = long.touch(120_000)
    assert later is not None and later > first
    assert long.compact() == 3  # the snapshot key is new: it gets the deadline too
    assert _expire_times(store, "obj") == [later] * 3
    assert plain.fresh() == {1, 2, 3} and plain.deadline == later


def test_an_expired_object_reads_empty_and_its_keys_are_gone(target: Target) -> None:
    store = target.store(_namespace())
    writer = store.open("obj", ORSet, replica="w", ttl_ms=1000)
    reader = store.open("obj", ORSet, replica="r")
    writer.update(lambda s: s.add("gone soon"))
    assert reader.fresh() == {"gone soon"}
    life = reader.generation
    _sleep_past(reader.deadline)
    assert reader.value == {"gone soon"}  # value is local: stale until the next pull
    assert reader.fresh() == frozenset()
    assert reader.generation == "" and reader.deadline is None
    assert all(not store.client.exists(name) for name in store.keys("obj"))
    assert store.open("obj", ORSet, replica="late").value == frozenset()
    writer.update(lambda s: s.add("again"))  # the next write starts a new life
    assert writer.generation not in ("", life)
    assert reader.fresh() == {"again"}


def test_a_late_delta_after_expiry_does_not_resurrect(redis_server: RedisServer) -> None:
    """A handle that holds data from before the expiry (merged, or written but never
    acknowledged) meets the object's next life: it drops that data instead of uploading it,
    and a delta tagged with the old generation is refused."""
    target, namespace = Target("single", redis_server.port), _namespace()
    a = target.store(namespace).open("obj", ORSet, replica="a", ttl_ms=1000)
    b = target.store(namespace, retry_for=0.2).open("obj", ORSet, replica="b", ttl_ms=1000)
    old = a.update(lambda s: s.add("old"))
    assert b.fresh() == {"old"}
    old_life = b.generation

    redis_server.stop()  # b's next write is not acknowledged: it stays local, dirty
    with pytest.raises(StoreUnavailableError):
        b.update(lambda s: s.add("unacknowledged"))
    _sleep_past(b.deadline)  # the deadline passes while Redis is down
    redis_server.start()  # from its AOF: the keys are there, and already expired

    a.update(lambda s: s.add("new"))  # a meets no life: it starts afresh, fn runs again
    assert a.value == {"new"} and a.generation != old_life
    assert b.fresh() == {"new"}  # b's dirty state belonged to the expired life: dropped

    store = a.store  # the raw late delta, tagged with the old generation: refused
    reply = store._call(
        store._append, store.keys("obj"), (old_life, "zombie", encode(old), "x", "ORSet", "")
    )
    assert reply[0] == 0
    b.update(lambda s: s.add("b"))
    assert target.store(namespace).open("obj", ORSet, replica="r").value == {"new", "b"}


def test_a_zombie_handle_writing_after_the_expiry_starts_afresh(target: Target) -> None:
    store = target.store(_namespace())
    a = store.open("obj", PNCounter, replica="a", ttl_ms=100)
    a.update(lambda s: s.increment(5))
    time.sleep(0.25)
    delta = a.update(lambda s: s.increment(1))  # acknowledged after the expiry: new life
    assert delta.value == 1 and a.value == 1
    assert store.open("obj", PNCounter, replica="r").value == 1


def test_a_flush_before_the_deadline_is_a_loss_and_is_reuploaded(target: Target) -> None:
    store = target.store(_namespace())
    a = store.open("obj", ORSet, replica="a", ttl_ms=60_000)
    a.update(lambda s: s.add("kept"))
    store.client.delete(*store.keys("obj"))
    assert a.fresh() == {"kept"}  # before the deadline: Redis lost it, a re-uploads
    assert store.open("obj", ORSet, replica="r").value == {"kept"}
    assert a.deadline is not None


def test_an_object_created_without_a_ttl_never_expires(target: Target) -> None:
    store = target.store(_namespace())
    store.open("obj", ORSet, replica="plain").update(lambda s: s.add(1))
    cache = store.open("obj", ORSet, replica="cache", ttl_ms=50)  # logged: no effect
    cache.update(lambda s: s.add(2))
    assert cache.deadline is None and cache.touch() is None
    assert _expire_times(store, "obj")[0] == -1
    time.sleep(0.1)
    assert cache.fresh() == {1, 2}
    with pytest.raises(ValueError, match="ttl_ms"):
        store.open("obj", ORSet, replica="x", ttl_ms=0)
    with pytest.raises(ValueError, match="ttl_ms"):
        store.open("obj", ORSet, replica="x").touch()


def test_a_new_schema_version_reads_fresh_keys(target: Target) -> None:
    namespace = _namespace()
    v1 = target.store(namespace, version=1)
    v1.open("cart", PNCounter, replica="a").update(lambda s: s.increment(3))
    v2 = target.store(namespace, version=2)
    assert v2.keys("cart")[0] == f"{{{namespace}:v2:cart}}:meta"
    cart = v2.open("cart", ORSet, replica="a")  # no TypeError: the old bytes are not read
    assert cart.value == frozenset()
    cart.update(lambda s: s.add("apple"))
    assert v1.open("cart", PNCounter, replica="b").value == 3
    with pytest.raises(ValueError, match="version"):
        target.store(namespace, version=0)


def test_concurrent_expiry_and_writes(target: Target, tmp_path: Path) -> None:
    """Three writer processes add unique elements to an ORSet with a 80 ms TTL, pausing up to
    twice the TTL between writes (and once, together, for three TTLs), while this process
    reads. Every read of a life holds every add acknowledged in that life before the read
    began, and nothing written in any other life."""
    namespace, replicas, ttl_ms = _namespace(), ["p0", "p1", "p2"], 80
    context = processes_context()
    quiet = context.Barrier(len(replicas))
    processes = [
        context.Process(
            target=write_expiring,
            args=(target, namespace, "obj", r, 24, str(tmp_path / r), ttl_ms, seed, quiet),
        )
        for seed, r in enumerate(replicas)
    ]
    for process in processes:
        process.start()
    reader = target.store(namespace).open("obj", ORSet, replica="reader")
    samples: list[tuple[float, str, frozenset[str]]] = []
    while any(process.is_alive() for process in processes):
        began = time.monotonic()
        value = reader.fresh()
        samples.append((began, reader.generation, value))
        time.sleep(0.005)
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0

    acked: dict[str, tuple[str, float]] = {}  # element -> (life, when acknowledged)
    for replica in replicas:
        for line in (tmp_path / replica).read_text().splitlines():
            element, life, when = line.split()
            acked[element] = (life, float(when))
    assert len(acked) == 24 * len(replicas)
    lives = {life for life, _ in acked.values()}
    assert len(lives) >= 2  # it expired at least once (the quiet spell)
    assert len(samples) > 20
    for began, life, value in samples:
        written_in_life = {e for e, (lf, _) in acked.items() if lf == life}
        assert value <= written_in_life, "data from another life reappeared"
        before = {e for e, (lf, when) in acked.items() if lf == life and when < began}
        assert before <= value, "an acknowledged add of a live object was lost"
