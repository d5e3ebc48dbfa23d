"""The fixtures themselves: real servers on loopback ports, stopped by PID, restartable."""

from __future__ import annotations

import os

import pytest

from tests.redis.servers import RedisClusterServers, RedisServer


def test_a_killed_server_restarts_from_its_aof(redis_server: RedisServer) -> None:
    import redis

    client = redis.Redis(port=redis_server.port)
    client.set("k", "v")
    assert redis_server.process is not None
    pid = redis_server.process.pid
    redis_server.kill()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    redis_server.start()
    assert client.get("k") == b"v"  # appendfsync always: the acknowledged SET survived


def test_a_wiped_server_comes_back_empty(redis_server: RedisServer) -> None:
    import redis

    client = redis.Redis(port=redis_server.port)
    client.set("k", "v")
    redis_server.wipe()
    redis_server.start()
    assert client.get("k") is None


def test_the_cluster_covers_every_slot(redis_cluster: RedisClusterServers) -> None:
    from redis.cluster import RedisCluster

    client = RedisCluster(host="127.0.0.1", port=redis_cluster.nodes[0].port)
    for i in range(30):
        client.set(f"key{i}", i)
    assert client.get("key7") == b"7"
    assert len({client.keyslot(f"key{i}") for i in range(30)}) > 1
    client.close()
