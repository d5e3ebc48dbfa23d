"""Replication between processes through Redis or Redis Cluster (the ``redis`` extra).

Each process opens the objects it shares with ``RedisStore.open``, which returns a
``RedisHandle`` bound to a fresh writer of the process's replica name. Updates are
applied locally, and the delta is appended to the object's stream in Redis before
``RedisHandle.update`` returns: that return is the acknowledgement. Other processes
merge the stream with [`RedisHandle.pull`][merge.redis.RedisHandle.pull].

Layout of one object ``key`` in namespace ``ns`` (every key carries the Cluster hash tag
``{ns:key}``, so all of them live in one slot and each script below touches one slot):

* ``{ns:key}:meta`` — hash: ``gen`` (a random generation, created once with ``HSETNX``) and
  ``type`` (the CRDT type's name);
* ``{ns:key}:log`` — stream of deltas, one entry per acknowledged update, fields ``w`` (the
  writer id) and ``d`` (``crdts.encode(delta)``);
* ``{ns:key}:snap`` — hash: ``state`` (the merged state) and ``upto`` (the last stream entry
  id it covers; compaction trims every entry up to it in the same script).

Every step is one Lua script (atomic, no ``WATCH`` loop, at most one round trip):

* append checks the generation and ``XADD``\\ s the delta;
* pull checks the generation, reads the snapshot if the reader's cursor is behind its
  ``upto`` (the entries in between were trimmed), and reads the stream past the cursor;
* compact writes the snapshot, then trims what it covers.

A Redis that comes back empty (a flush, a restart without persistence) has no generation
any more, or a new one: every live handle then re-uploads its full state. Joins are
idempotent, so re-sending a delta after a lost reply is harmless.

Examples:
    Needs a running Redis, so not executed here::

        store = RedisStore("redis://127.0.0.1:6379/0", namespace="shop:v1")
        cart = store.open("cart:42", Cart, replica="web-1")
        cart.update(lambda c: c.add("apple", 2))   # acknowledged: in Redis
        cart.fresh()                                # {'apple': 2, ...other processes' items}
"""

from __future__ import annotations

import contextlib
import logging
import random
import secrets
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import redis
import redis.exceptions
from redis.backoff import NoBackoff
from redis.retry import Retry

from clocks import ClockDriftError
from crdts import CRDT, DecodeError, encode

__all__ = [
    "CorruptEntryError",
    "RedisHandle",
    "RedisStore",
    "StoreError",
    "StoreUnavailableError",
]

C = TypeVar("C", bound=CRDT)
_log = logging.getLogger(__name__)

_LUA_IDS = """
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)%-(%d+)$')
  if not ms then return nil end
  return tonumber(ms), tonumber(seq)
end
local function less(a, b)
  local am, as = parse(a)
  local bm, bs = parse(b)
  return am < bm or (am == bm and as < bs)
end
"""

# KEYS: meta. ARGV: proposed generation, type name. -> {generation, type}
_INIT = """
redis.call('HSETNX', KEYS[1], 'gen', ARGV[1])
redis.call('HSETNX', KEYS[1], 'type', ARGV[2])
return redis.call('HMGET', KEYS[1], 'gen', 'type')
"""

# KEYS: meta, log. ARGV: generation, writer, delta.
# -> {1, entry id, stream length} or {0, current generation or ''}
_APPEND = """
local gen = redis.call('HGET', KEYS[1], 'gen')
if gen ~= ARGV[1] then return {0, gen or ''} end
local id = redis.call('XADD', KEYS[2], '*', 'w', ARGV[2], 'd', ARGV[3])
return {1, id, redis.call('XLEN', KEYS[2])}
"""

# KEYS: meta, snap, log. ARGV: generation, cursor, count.
# -> {1, last generated id, snapshot upto, snapshot state or '', entries}
#    {0, current generation or ''} | {2, reason}: the snapshot key holds garbage
_PULL = (
    _LUA_IDS
    + """
local gen = redis.call('HGET', KEYS[1], 'gen')
if gen ~= ARGV[1] then return {0, gen or ''} end
local last = '0-0'
if redis.call('EXISTS', KEYS[3]) == 1 then
  local info = redis.call('XINFO', 'STREAM', KEYS[3])
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then last = info[i + 1] end
  end
end
local upto = redis.call('HGET', KEYS[2], 'upto') or '0-0'
if not parse(upto) then return {2, 'snapshot upto is not a stream id'} end
local start = ARGV[2]
local state = ''
if less(start, upto) then
  state = redis.call('HGET', KEYS[2], 'state') or ''
  start = upto
end
local entries = redis.call('XRANGE', KEYS[3], '(' .. start, '+', 'COUNT', ARGV[3])
return {1, last, upto, state, entries}
"""
)

# KEYS: meta, snap, log. ARGV: generation, upto, state, first id to keep.
# -> {1, trimmed} or {0, current generation or ''}
_COMPACT = (
    _LUA_IDS
    + """
local gen = redis.call('HGET', KEYS[1], 'gen')
if gen ~= ARGV[1] then return {0, gen or ''} end
local old = redis.call('HGET', KEYS[2], 'upto')
if old and parse(old) and not less(old, ARGV[2]) then return {1, 0} end
redis.call('HSET', KEYS[2], 'state', ARGV[3], 'upto', ARGV[2])
return {1, redis.call('XTRIM', KEYS[3], 'MINID', ARGV[4])}
"""
)

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


class StoreError(Exception):
    """Root of the exceptions raised by [`merge.redis`][merge.redis] itself."""


class StoreUnavailableError(StoreError, ConnectionError):
    """Redis did not answer within the store's ``retry_for`` seconds.

    The update is applied locally but **not acknowledged**; the handle re-uploads its full
    state with its next successful operation, so nothing is lost while the process lives.
    """


class CorruptEntryError(DecodeError):
    """A key of one object held bytes that do not decode into its type.

    Raised by ``RedisHandle.pull`` for that object only, after everything else in the
    batch was merged; a corrupt stream entry is skipped (the next pull goes on past it), a
    corrupt snapshot is not (the reader cannot catch up until a compaction replaces it).
    """

    def __init__(self, key: str, entry: str, reason: str) -> None:
        self.key = key
        self.entry = entry
        super().__init__(f"{key} entry {entry}: {reason}")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _id_key(entry: str) -> tuple[int, int]:
    ms, _, seq = entry.partition("-")
    return int(ms), int(seq)


def _check_part(what: str, part: str) -> str:
    if type(part) is not str or not part or "{" in part or "}" in part:
        raise ValueError(f"{what} must be a non-empty str without braces, not {part!r}")
    return part


class RedisStore:
    """A namespace of replicated objects in one Redis or Redis Cluster.

    Args:
        url_or_client: a ``redis://`` URL, or a ``redis.Redis`` / ``redis.RedisCluster``
            client created with ``decode_responses=False`` (the default). The store retries
            on its own; give a client of your own ``retry=Retry(NoBackoff(), 0)`` so that
            ``retry_for`` bounds the wait.
        namespace: a prefix for every key, e.g. ``"shop:v2"``; bump it to start afresh
            (versioned key prefixes).
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
        retry_for: float = 10.0,
        compact_after: int | None = 10_000,
        batch: int = 1000,
    ) -> None:
        self.namespace = _check_part("namespace", namespace)
        if isinstance(url_or_client, str):
            # no retries inside redis-py: this store's own loop bounds them by retry_for
            self.client: Any = redis.Redis.from_url(url_or_client, retry=Retry(NoBackoff(), 0))
            self._owns_client = True
        else:
            self.client = url_or_client
            self._owns_client = False
        if retry_for < 0:
            raise ValueError(f"retry_for must be >= 0, not {retry_for}")
        if compact_after is not None and compact_after < 1:
            raise ValueError(f"compact_after must be >= 1 or None, not {compact_after}")
        if batch < 1:
            raise ValueError(f"batch must be >= 1, not {batch}")
        self.retry_for = retry_for
        self.compact_after = compact_after
        self.batch = batch
        self._init = self.client.register_script(_INIT)
        self._append = self.client.register_script(_APPEND)
        self._pull = self.client.register_script(_PULL)
        self._compact = self.client.register_script(_COMPACT)

    def keys(self, key: str) -> tuple[str, str, str]:
        """The Redis keys of object ``key``: ``(meta, snap, log)``, all under one hash tag."""
        tag = f"{{{self.namespace}:{_check_part('key', key)}}}"
        return f"{tag}:meta", f"{tag}:snap", f"{tag}:log"

    def open(self, key: str, crdt_type: Callable[..., C], *, replica: str) -> RedisHandle[C]:
        """Open object ``key`` as a new writer of ``replica``; load its snapshot and stream.

        ``crdt_type`` is called as ``crdt_type(replica=replica)`` (use
        ``functools.partial(ORMap, ORSet)`` for a map). The handle's writer is a fresh
        incarnation of ``replica``: a process restarted after a crash never reuses a dot
        or a counter entry of its previous life, whatever Redis holds.

        Cost: O(snapshot + stream) to load.

        Entries that do not decode or that the merge refuses (see ``RedisHandle.pull``)
        are logged on the ``merge.redis`` logger and kept in ``handle.refused``; the handle
        opens with the rest.

        Raises:
            TypeError: the object exists in Redis with another type.
            CorruptEntryError: the object's keys have the wrong Redis types.
            StoreUnavailableError: Redis did not answer within ``retry_for``.
        """
        state = crdt_type(replica=replica)
        if not isinstance(state, CRDT):
            raise TypeError(f"crdt_type must build a crdts.CRDT, not {type(state).__name__}")
        handle = RedisHandle(self, key, state)
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


class RedisHandle(Generic[C]):
    """One process's replica of one object in a [`RedisStore`][merge.redis.RedisStore].

    Not shared between threads without care: each operation holds the handle's lock.
    """

    def __init__(self, store: RedisStore, key: str, state: C) -> None:
        self.store = store
        self.key = key
        self._keys = store.keys(key)
        self._state = state
        self._lock = threading.RLock()
        self._gen = ""
        self._cursor = "0-0"  # the last stream entry merged
        self._acked = "0-0"  # the last entry this handle appended
        self._dirty = False  # local changes Redis may lack: re-upload the full state
        self._closed = False
        #: The errors of the last (at most 100) entries this handle refused to merge.
        self.refused: list[Exception] = []
        self._adopt(self._initialise())

    # -- reading ---------------------------------------------------------------------------

    @property
    def state(self) -> C:
        """A read-only copy of the local state (possibly stale; see ``fresh``). O(state)."""
        return self._state.copy(replica=None)

    @property
    def value(self) -> Any:
        """The local value, possibly stale: what this process has merged so far."""
        return self._state.value

    @property
    def writer(self) -> str:
        """This handle's writer id (the replica name and this binding's incarnation)."""
        writer = self._state.writer
        assert writer is not None
        return writer

    def fresh(self) -> Any:
        """Pull, then return the value: every update acknowledged before the call is in it."""
        self.pull()
        return self.value

    # -- writing ---------------------------------------------------------------------------

    def update(self, fn: Callable[[C], C]) -> C:
        """Apply ``fn`` to the local replica and persist the delta it returns.

        ``fn`` receives the bound local state, calls its mutators and returns the delta
        (``lambda s: s.add("x")``). Returns the delta once Redis has accepted it: that is
        the acknowledgement (durable as far as the server's ``appendfsync`` makes it).

        Cost: O(delta) to encode and send, one round trip.

        Raises:
            StoreUnavailableError: Redis did not answer in time; the update stays local
                and is re-uploaded (as part of the full state) by the next operation.
        """
        with self._lock:
            self._check_open()
            delta = fn(self._state)
            if type(delta) is not type(self._state):
                self._dirty = True
                raise TypeError(
                    f"fn must return the delta (a {type(self._state).__name__}), "
                    f"not {type(delta).__name__}"
                )
            length = self._persist(encode(delta))
            limit = self.store.compact_after
            if limit is not None and length >= limit:
                self.compact()
            return delta

    def compact(self) -> int:
        """Pull, write the merged state as the snapshot, then trim the entries it covers.

        Readers behind the trimmed entries load the snapshot instead. Returns the number of
        entries trimmed. Cost: O(state) to encode and send.
        """
        with self._lock:
            self._check_open()
            self.pull()
            if self._cursor == "0-0":
                return 0
            ms, seq = _id_key(self._cursor)
            meta, snap, log = self._keys
            reply = self.store._call(
                self.store._compact,
                (meta, snap, log),
                (self._gen, self._cursor, encode(self._state), f"{ms}-{seq + 1}"),
            )
            if reply[0] == 0:
                self._resync(_text(reply[1]))
                return 0
            return int(reply[1])

    def close(self) -> None:
        """Upload anything not yet acknowledged (best effort) and stop using the handle."""
        with self._lock:
            if self._closed:
                return
            if self._dirty:
                with contextlib.suppress(StoreUnavailableError):
                    self._persist(encode(self._state))
            self._closed = True

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RedisHandle({self.key!r}, {type(self._state).__name__}, writer={self.writer!r})"

    # -- pulling ---------------------------------------------------------------------------

    def pull(self) -> int:
        """Merge what other writers appended since the last pull; returns entries merged.

        A reader whose cursor is behind the snapshot (the entries were trimmed) merges the
        snapshot first. A Redis that lost this object (no generation, or a new one) or went
        back in time (its stream ends before entries this handle saw) gets this handle's
        full state re-uploaded.

        Cost: O(entries) decodes and merges, one round trip per ``batch`` entries.

        Raises:
            CorruptEntryError: an entry or the snapshot of this object does not decode (the
                rest was merged; a corrupt entry is skipped from then on, a corrupt snapshot
                is retried).
            crdts.RetiredWriterError, crdts.DotConflictError, TypeError: an entry the merge
                refuses (the rest was merged; it is skipped from then on).
            clocks.ClockDriftError: an entry stamped too far ahead; retried by the next pull.
            StoreUnavailableError: Redis did not answer in time.
        """
        merged, refused = self._pull()
        if refused:
            first = refused[0]
            if len(refused) > 1:
                first.add_note(f"{len(refused) - 1} more entries of {self.key!r} were refused")
            raise first
        return merged

    def _pull(self) -> tuple[int, list[Exception]]:
        """``pull`` that returns the refused entries' errors instead of raising them."""
        with self._lock:
            self._check_open()
            if self._dirty:
                self._persist(encode(self._state))
            merged = 0
            refused: list[Exception] = []
            meta, snap, log = self._keys
            while True:
                reply = self._checked(
                    self.store._pull,
                    (meta, snap, log),
                    (self._gen, self._cursor, self.store.batch),
                )
                if reply[0] == 0:
                    self._resync(_text(reply[1]))
                    continue
                if reply[0] == 2:
                    refused.append(CorruptEntryError(snap, "upto", _text(reply[1])))
                    break
                last, upto = _text(reply[1]), _text(reply[2])
                if _id_key(last) < max(_id_key(self._cursor), _id_key(self._acked)):
                    # Redis went back in time (it lost entries this handle saw or wrote)
                    self._cursor = self._acked = "0-0"
                    self._persist(encode(self._state))
                    continue
                if reply[3]:
                    try:
                        self._merge_bytes(reply[3], snap, "snapshot")
                    except (DecodeError, ValueError, TypeError) as error:
                        # not skipped: the trimmed entries are only in the snapshot
                        refused.append(error)
                        break
                    self._cursor = upto
                    merged += 1
                entries = reply[4]
                for raw_id, fields in entries:
                    entry = _text(raw_id)
                    try:
                        self._merge_entry(fields, log, entry)
                    except ClockDriftError:
                        raise
                    except (DecodeError, ValueError, TypeError) as error:
                        refused.append(error)
                    else:
                        merged += 1
                    self._cursor = entry
                if len(entries) < self.store.batch:
                    break
            self.refused.extend(refused)
            del self.refused[:-100]
            return merged, refused

    def _merge_entry(self, fields: Any, log: str, entry: str) -> None:
        # a script returns an entry's fields as a flat list: [name, value, name, value, ...]
        data = None
        if isinstance(fields, list):
            pairs = dict(zip(fields[::2], fields[1::2], strict=False))
            data = pairs.get(b"d")
        if not isinstance(data, bytes):
            raise CorruptEntryError(log, entry, "no delta field")
        self._merge_bytes(data, log, entry)

    def _merge_bytes(self, data: Any, where: str, entry: str) -> None:
        if not isinstance(data, bytes):
            raise CorruptEntryError(where, entry, "not bytes")
        try:
            other = type(self._state).from_bytes(data)
        except DecodeError as error:
            raise CorruptEntryError(where, entry, str(error)) from error
        self._state.merge(other)

    # -- generations and persistence -------------------------------------------------------

    def _initialise(self) -> str:
        """Create the generation if there is none; check the type. Returns the generation."""
        meta = self._keys[0]
        name = type(self._state).__name__
        reply = self._checked(self.store._init, (meta,), (secrets.token_hex(8), name))
        gen, stored = reply
        if gen is None or stored is None:
            raise CorruptEntryError(meta, "meta", "no generation after initialisation")
        if _text(stored) != name:
            raise TypeError(f"{self.key!r} holds a {_text(stored)}, not a {name}")
        return _text(gen)

    def _adopt(self, gen: str) -> None:
        self._gen = gen
        self._cursor = self._acked = "0-0"

    def _resync(self, current: str) -> None:
        """The object's generation changed or vanished: adopt the new one, re-upload all."""
        self._adopt(current or self._initialise())
        self._dirty = True
        self._persist(encode(self._state))

    def _persist(self, data: bytes) -> int:
        """Append ``data`` (or the full state if Redis may lack something); stream length."""
        if self._dirty:
            data = encode(self._state)  # the full state covers the delta and what was lost
        meta, _, log = self._keys
        for _ in range(8):
            try:
                reply = self._checked(
                    self.store._append, (meta, log), (self._gen, self.writer, data)
                )
            except StoreUnavailableError:
                self._dirty = True
                raise
            if reply[0] == 1:
                self._acked = max(self._acked, _text(reply[1]), key=_id_key)
                self._dirty = False
                return int(reply[2])
            current = _text(reply[1])
            self._adopt(current or self._initialise())
            data = encode(self._state)
        self._dirty = True
        raise StoreUnavailableError(f"the generation of {self.key!r} keeps changing")

    def _checked(self, script: Any, keys: tuple[str, ...], args: tuple[Any, ...]) -> Any:
        try:
            return self.store._call(script, keys, args)
        except redis.exceptions.ResponseError as error:
            if "WRONGTYPE" in str(error):
                raise CorruptEntryError(
                    keys[0], "keys", f"a key of {self.key!r} has the wrong Redis type"
                ) from error
            raise

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"the handle of {self.key!r} is closed")
