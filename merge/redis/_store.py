"""``RedisStore``: a namespace of replicated objects in one Redis or Redis Cluster."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

import redis
import redis.exceptions
from redis.backoff import NoBackoff
from redis.retry import Retry

from crdts import CRDT
from merge.redis._common import C, StoreUnavailableError, _check_part, _check_ttl, _log
from merge.redis._handle import RedisHandle
from merge.redis._scripts import _APPEND, _COMPACT, _LOOKUP, _PULL, _TOUCH

#: Failures after which an operation is retried: the server is restarting, loading its
#: AOF, failing over, or the connection broke. Joins are idempotent, so a retry is safe.
_TRANSIENT: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError,  # includes BusyLoadingError (loading the AOF)
    redis.exceptions.TimeoutError,
    redis.exceptions.ClusterError,  # includes ClusterDownError, MasterDownError
    redis.exceptions.TryAgainError,
    redis.exceptions.ReadOnlyError,  # a demoted primary during failover
    redis.exceptions.RedisClusterException,
)


class RedisStore:
    """A namespace of replicated objects in one Redis or Redis Cluster.

    Args:
        url_or_client: a ``redis://`` URL, or a ``redis.Redis`` / ``redis.RedisCluster``
            client created with ``decode_responses=False`` (the default). The store retries
            on its own; give a client of your own ``retry=Retry(NoBackoff(), 0)`` so that
            ``retry_for`` bounds the wait.
        namespace: a prefix for every key, e.g. ``"shop"``.
        version: the schema version of the objects in the namespace; it is part of every
            key (``{shop:v2:cart:1}:log``), so a deploy that changes an object's type (or
            the meaning of its elements) bumps it and reads fresh keys instead of decoding
            the old bytes as the new type. The old keys stay until they expire or are
            deleted.
        retry_for: seconds to keep retrying an operation while Redis is unreachable,
            restarting or failing over (exponential backoff with jitter), before raising
            [`StoreUnavailableError`][merge.redis.StoreUnavailableError].
        compact_after: compact an object once its stream holds this many entries
            (``None``: only when ``RedisHandle.compact`` is called).
        batch: stream entries read per round trip by ``RedisHandle.pull``.

    Cost: one Lua script per operation; scripts are cached by SHA and reloaded after a
    restart or a failover (redis-py handles ``NOSCRIPT``).
    """

    def __init__(
        self,
        url_or_client: str | Any,
        *,
        namespace: str,
        version: int = 1,
        retry_for: float = 10.0,
        compact_after: int | None = 10_000,
        batch: int = 1000,
    ) -> None:
        self.namespace = _check_part("namespace", namespace)
        if type(version) is not int or version < 1:
            raise ValueError(f"version must be an int >= 1, not {version!r}")
        self.version = version
        if retry_for < 0:
            raise ValueError(f"retry_for must be >= 0, not {retry_for}")
        if compact_after is not None and compact_after < 1:
            raise ValueError(f"compact_after must be >= 1 or None, not {compact_after}")
        if batch < 1:
            raise ValueError(f"batch must be >= 1, not {batch}")
        if isinstance(url_or_client, str):
            # no retries inside redis-py: this store's own loop bounds them by retry_for
            self.client: Any = redis.Redis.from_url(url_or_client, retry=Retry(NoBackoff(), 0))
            self._owns_client = True
        else:
            self.client = url_or_client
            self._owns_client = False
        self.retry_for = retry_for
        self.compact_after = compact_after
        self.batch = batch
        self._lookup = self.client.register_script(_LOOKUP)
        self._append = self.client.register_script(_APPEND)
        self._pull = self.client.register_script(_PULL)
        self._compact = self.client.register_script(_COMPACT)
        self._touch = self.client.register_script(_TOUCH)

    def keys(self, key: str) -> tuple[str, str, str]:
        """The Redis keys of object ``key``: ``(meta, snap, log)``, all under one hash tag."""
        tag = f"{{{self.namespace}:v{self.version}:{_check_part('key', key)}}}"
        return f"{tag}:meta", f"{tag}:snap", f"{tag}:log"

    def open(
        self,
        key: str,
        crdt_type: Callable[..., C],
        *,
        replica: str,
        ttl_ms: int | None = None,
    ) -> RedisHandle[C]:
        """Open object ``key`` as a new writer of ``replica``; load its snapshot and stream.

        ``crdt_type`` is called as ``crdt_type(replica=replica)`` (use
        ``functools.partial(ORMap, ORSet)`` for a map). The handle's writer is a fresh
        incarnation of ``replica``: a process restarted after a crash never reuses a dot
        or a counter entry of its previous life, whatever Redis holds.

        Opening writes nothing: a missing object reads as empty, and the first acknowledged
        update creates it (a read of a missing cache entry allocates no key).

        ``ttl_ms`` makes the handle a cache writer: the object's first write gives it a
        deadline ``ttl_ms`` after the Redis clock's now, and each acknowledged update (and
        :meth:`RedisHandle.touch`) raises the deadline to at least now + ``ttl_ms`` (it
        never lowers it). Whether an object expires is decided by the write that creates it:
        one created without a TTL never expires, and a handle with ``ttl_ms`` leaves it so
        (logged). After the deadline every key of the object is gone; handles that held its
        state drop it and start afresh, so expired data never comes back.

        Cost: O(snapshot + stream) to load.

        Entries that do not decode or that the merge refuses (see ``RedisHandle.pull``)
        are logged on the ``merge.redis`` logger and kept in ``handle.refused``; the handle
        opens with the rest.

        Raises:
            TypeError: the object exists in Redis with another type.
            ValueError: ``ttl_ms`` is not a positive int.
            CorruptEntryError: the object's keys have the wrong Redis types.
            StoreUnavailableError: Redis did not answer within ``retry_for``.
        """
        _check_ttl(ttl_ms)

        def fresh_state() -> C:
            state = crdt_type(replica=replica)
            if not isinstance(state, CRDT):
                raise TypeError(f"crdt_type must build a crdts.CRDT, not {type(state).__name__}")
            return state

        handle = RedisHandle(self, key, fresh_state, ttl_ms)
        _, refused = handle._pull()
        for error in refused:
            _log.warning("opening %r: refused %s", key, error)
        return handle

    def _call(self, script: Any, keys: tuple[str, ...], args: tuple[Any, ...]) -> Any:
        """Run ``script``, retrying transient failures for up to ``retry_for`` seconds."""
        deadline = time.monotonic() + self.retry_for
        delay = 0.01
        while True:
            try:
                return script(keys=list(keys), args=list(args))
            except _TRANSIENT as error:
                if time.monotonic() + delay > deadline:
                    raise StoreUnavailableError(
                        f"Redis did not answer for {self.retry_for} s: {error}"
                    ) from error
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 0.5)

    def close(self) -> None:
        """Close the client if the store created it from a URL."""
        if self._owns_client:
            self.client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
