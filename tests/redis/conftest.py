"""Fixtures that run real ``redis-server`` processes (see ``tests/redis/servers.py``).

The tests skip only when ``redis-server`` (or redis-py) cannot be found; ``.ci/run`` installs
both, so they run in CI.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.redis.servers import REDIS_CLI, REDIS_SERVER, RedisClusterServers, RedisServer
from tests.redis.workers import Target

pytest.importorskip("redis", reason="redis-py is missing: pip install crdtkit[redis]")

_MISSING = (
    "redis-server is not on PATH: install the Debian package redis-server "
    "(.ci/run does so when it is missing)"
)


def _need_server() -> None:
    if REDIS_SERVER is None or REDIS_CLI is None:
        pytest.skip(_MISSING)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A single durable Redis: AOF with ``appendfsync always``, ``noeviction``."""
    _need_server()
    server = RedisServer(tmp_path / "redis", appendonly=True, appendfsync="always")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterServers]:
    """Three masters, no replicas, joined with ``redis-cli --cluster create``."""
    _need_server()
    cluster = RedisClusterServers(tmp_path_factory.mktemp("cluster"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["single", "cluster"])
def target(request: pytest.FixtureRequest) -> Target:
    """Where the core tests run: a single Redis, or the three-master cluster."""
    if request.param == "single":
        server: RedisServer = request.getfixturevalue("redis_server")
        return Target("single", server.port)
    cluster: RedisClusterServers = request.getfixturevalue("redis_cluster")
    return Target("cluster", cluster.nodes[0].port)


@pytest.fixture
def durable_cluster(tmp_path: Path) -> Iterator[RedisClusterServers]:
    """Three masters with AOF and ``appendfsync always``, for the crash tests."""
    _need_server()
    cluster = RedisClusterServers(tmp_path / "cluster", appendonly=True)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
