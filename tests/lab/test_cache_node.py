"""CacheNode: what a single cache node promises on its own, before any scenario uses it."""

from __future__ import annotations

import pytest

from merge.lab import CacheNode, EventLoop, LabConfigError, Lookup


def at(loop: EventLoop, time_ms: float) -> None:
    loop.run(until_ms=time_ms)


def test_a_fixed_ttl_counts_from_the_fill_and_reads_do_not_extend_it() -> None:
    loop = EventLoop()
    node = CacheNode(loop, ttl_ms=100)
    node.set("k", 1)
    at(loop, 90)
    assert node.get("k").version == 1
    at(loop, 100)
    assert node.get("k").version is None


def test_a_sliding_ttl_is_refreshed_by_every_read() -> None:
    loop = EventLoop()
    node = CacheNode(loop, ttl_ms=100, sliding=True)
    node.set("k", 1)
    for time_ms in range(90, 1_000, 90):
        at(loop, time_ms)
        assert node.get("k").version == 1
    at(loop, 990 + 100)
    assert node.get("k").version is None  # unread for a whole TTL: gone


def test_a_versioned_node_refuses_a_fill_older_than_a_delete_it_saw() -> None:
    """Polaris's slow-fill race: the invalidation of v2 lands before the fill of v1."""
    loop = EventLoop()
    node = CacheNode(loop, versioned=True)
    node.delete("k", version=2)
    assert node.set("k", 1) is False
    assert node.set("k", 2) is True
    assert node.set("k", 1) is False  # and never overwrites a newer value
    assert node.refused == 2 and node.holds("k") == 2


def test_an_eviction_forgets_the_version_so_a_stale_fill_gets_in() -> None:
    """Polaris's loophole: versioning protects only while the node remembers the version."""
    loop = EventLoop()
    node = CacheNode(loop, versioned=True)
    node.set("k", 2)
    assert node.set("k", 1) is False
    node.evict("k")
    assert node.set("k", 1) is True and node.holds("k") == 1


def test_a_lease_is_one_token_per_key_until_used_voided_or_older_than_the_interval() -> None:
    loop = EventLoop()
    node = CacheNode(loop, leases=True, lease_ms=1_000)
    token = node.get("k").token
    assert token is not None
    assert node.get("k").wait and node.get("other").token is not None
    at(loop, 999)
    assert node.get("k").wait
    at(loop, 1_000)  # the holder is presumed dead: a new token
    fresh = node.get("k").token
    assert fresh is not None and fresh != token
    assert node.set("k", 1, token=token) is False  # superseded
    assert node.set("k", 1, token=fresh) is True
    assert node.get("k").version == 1


def test_a_delete_voids_the_token_and_the_next_reader_gets_a_new_one() -> None:
    loop = EventLoop()
    node = CacheNode(loop, leases=True)
    token = node.get("k").token
    node.delete("k")
    assert node.set("k", 1, token=token) is False
    assert node.get("k").token not in (None, token)


def test_stale_serving_hands_the_deleted_value_to_waiting_clients_for_stale_ms() -> None:
    loop = EventLoop()
    node = CacheNode(loop, leases=True, stale_ms=50)
    node.set("k", 1, token=node.get("k").token)
    node.delete("k")
    assert node.get("k").token is not None  # the first reader refills
    waiting = node.get("k")
    assert (waiting.version, waiting.wait, waiting.stale) == (1, True, True)
    at(loop, 50)
    assert node.get("k") == Lookup(None, wait=True)  # too late for the stale value


def test_history_records_each_entry_until_replaced_deleted_or_expired() -> None:
    loop = EventLoop()
    node = CacheNode(loop, ttl_ms=100, record=True)
    node.set("k", 1)
    at(loop, 10)
    node.set("k", 2)  # replaces 1 at 10
    at(loop, 200)
    node.set("k", 3)  # 2 expired at 110
    at(loop, 250)
    node.delete("k")
    node.set("k", 4)
    at(loop, 300)
    node.close()
    assert node.history == [
        ("k", 1, 0.0, 10.0),
        ("k", 2, 10.0, 110.0),
        ("k", 3, 200.0, 250.0),
        ("k", 4, 250.0, 300.0),
    ]


@pytest.mark.parametrize(
    ("argument", "value"), [("ttl_ms", 0), ("ttl_ms", float("inf")), ("lease_ms", -1)]
)
def test_bad_parameters_raise_lab_config_error(argument: str, value: float) -> None:
    with pytest.raises(LabConfigError) as caught:
        CacheNode(EventLoop(), **{argument: value})  # type: ignore[arg-type]
    assert caught.value.parameter == argument
