"""A throwaway Redis for the executed examples of docs/guides/redis.md (invisible blocks)."""

from __future__ import annotations

import atexit
import tempfile
from collections.abc import Callable
from pathlib import Path

from tests.redis.servers import REDIS_SERVER, RedisServer


def guide_server() -> tuple[str | None, Callable[[], None]]:
    """Start a durable Redis on a free loopback port: ``(url, stop)``; ``(None, ...)`` if
    redis-server or redis-py is missing (the guide's examples are then skipped)."""
    try:
        import redis  # noqa: F401
    except ImportError:
        return None, lambda: None
    if REDIS_SERVER is None:
        return None, lambda: None
    server = RedisServer(Path(tempfile.mkdtemp(prefix="crdtkit-guide-")), appendonly=True)
    server.start()
    atexit.register(server.stop)  # stopped by PID even if an example fails midway
    return server.url, server.stop
