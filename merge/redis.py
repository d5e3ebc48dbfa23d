"""Replication between processes through Redis or Redis Cluster (the ``redis`` extra).

Each process opens the objects it shares with ``RedisStore.open``, which returns a
``RedisHandle`` bound to a fresh writer of the process's replica name. Updates are
applied locally, and the delta is appended to the object's stream in Redis before
``RedisHandle.update`` returns: that return is the acknowledgement. Other processes
merge the stream with [`RedisHandle.pull`][merge.redis.RedisHandle.pull].

Layout of one object ``key`` in namespace ``ns``, schema version ``v`` (every key carries
the Cluster hash tag ``{ns:vV:key}``, so all of them live in one slot and each script below
touches one slot):

* ``{ns:vV:key}:meta`` — hash: ``gen`` (a random generation naming this *life* of the
  object, created by the first write), ``type`` (the CRDT type's name) and, for an object
  that expires, ``deadline`` (milliseconds since the epoch by the Redis clock);
* ``{ns:vV:key}:log`` — stream of deltas, one entry per acknowledged update, fields ``w``
  (the writer id) and ``d`` (``crdts.encode(delta)``);
* ``{ns:vV:key}:snap`` — hash: ``state`` (the merged state) and ``upto`` (the last stream
  entry id it covers; compaction trims every entry up to it in the same script).

Every step is one Lua script (atomic, no ``WATCH`` loop, at most one round trip):

* append checks the generation (creating it, with the deadline, on the first write),
  ``XADD``\\ s the delta, raises the deadline and ``PEXPIREAT``\\ s every key to it;
* pull checks the generation, reads the snapshot if the reader's cursor is behind its
  ``upto`` (the entries in between were trimmed), and reads the stream past the cursor;
* compact writes the snapshot, then trims what it covers; touch raises the deadline.

Expiry is metadata of the life: the deadline only grows (the join is ``max``), and when it
passes Redis drops every key of the object at once. A handle that then meets a missing or
new generation compares the deadline it knew with the Redis clock: past it, the life
*expired* and the handle starts afresh (its old state is dropped, never re-uploaded); before
it, Redis *lost* the object (a flush, a restart without persistence) and the handle
re-uploads its full state. Joins are idempotent, so re-sending a delta after a lost reply is
harmless.

Examples:
    Needs a running Redis, so not executed here (docs/guides/redis.md runs them)::

        store = RedisStore("redis://127.0.0.1:6379/0", namespace="shop", version=1)
        cart = store.open("cart:42", Cart, replica="web-1", ttl_ms=3_600_000)
        cart.update(lambda c: c.add("apple", 2))   # acknowledged: in Redis, alive 1 h more
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

_LUA_COMMON = """
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
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function deadline_of(meta)
  return tonumber(redis.call('HGET', meta, 'deadline') or '0') or 0
end
-- raise the deadline of a life that has one to now + ttl (a join: it never goes down),
-- store it, and set it on every key of the object that exists: all of them expire at once
local function extend(deadline, now, ttl)
  if deadline > 0 and ttl ~= '' then
    deadline = math.max(deadline, now + tonumber(ttl))
  end
  if deadline > 0 then
    redis.call('HSET', KEYS[1], 'deadline', string.format('%.0f', deadline))
    for i = 1, #KEYS do
      if redis.call('EXISTS', KEYS[i]) == 1 then
        redis.call('PEXPIREAT', KEYS[i], string.format('%.0f', deadline))
      end
    end
  end
  return deadline
end
"""

# Every script takes KEYS = (meta, snap, log) and ARGV[1] = the generation the caller holds
# ('' when it knows of no life). On a mismatch it replies {0, current generation or '', now}:
# the caller then decides between "expired" and "lost" (RedisHandle._life_changed).

# -> {current generation or '', type or '', deadline (0: none), now}
_LOOKUP = (
    _LUA_COMMON
    + """
local gen, kind = unpack(redis.call('HMGET', KEYS[1], 'gen', 'type'))
return {gen or '', kind or '', deadline_of(KEYS[1]), now_ms()}
"""
)

# ARGV: generation, writer, delta, proposed generation, type name, ttl ms or ''.
# -> {1, entry id, stream length, deadline, now, generation}
_APPEND = (
    _LUA_COMMON
    + """
local gen = redis.call('HGET', KEYS[1], 'gen')
local now = now_ms()
if (gen or '') ~= ARGV[1] then return {0, gen or '', now} end
local deadline = deadline_of(KEYS[1])
if not gen then
  -- the first write creates the life; its writer decides whether the life expires
  gen = ARGV[4]
  redis.call('HSET', KEYS[1], 'gen', gen, 'type', ARGV[5])
  if ARGV[6] ~= '' then deadline = now + tonumber(ARGV[6]) end
end
local id = redis.call('XADD', KEYS[3], '*', 'w', ARGV[2], 'd', ARGV[3])
deadline = extend(deadline, now, ARGV[6])
return {1, id, redis.call('XLEN', KEYS[3]), deadline, now, gen}
"""
)

# ARGV: generation, cursor, count.
# -> {1, last generated id, snapshot upto, snapshot state or '', entries, deadline, now}
#    {0, current generation or '', now} | {2, reason}: the snapshot key holds garbage
_PULL = (
    _LUA_COMMON
    + """
local gen = redis.call('HGET', KEYS[1], 'gen')
local now = now_ms()
if (gen or '') ~= ARGV[1] then return {0, gen or '', now} end
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
return {1, last, upto, state, entries, deadline_of(KEYS[1]), now}
"""
)

# ARGV: generation, upto, state, first id to keep. -> {1, trimmed}
_COMPACT = (
    _LUA_COMMON
    + """
local gen = redis.call('HGET', KEYS[1], 'gen')
local now = now_ms()
if (gen or '') ~= ARGV[1] or not gen then return {0, gen or '', now} end
local old = redis.call('HGET', KEYS[2], 'upto')
if old and parse(old) and not less(old, ARGV[2]) then return {1, 0} end
redis.call('HSET', KEYS[2], 'state', ARGV[3], 'upto', ARGV[2])
local trimmed = redis.call('XTRIM', KEYS[3], 'MINID', ARGV[4])
extend(deadline_of(KEYS[1]), now, '')  -- the new snapshot key expires with the rest
return {1, trimmed}
"""
)

# ARGV: generation, ttl ms. -> {1, deadline (0: none), now}
_TOUCH = (
    _LUA_COMMON
    + """
local gen = redis.call('HGET', KEYS[1], 'gen')
local now = now_ms()
if (gen or '') ~= ARGV[1] then return {0, gen or '', now} end
if not gen then return {1, 0, now} end
return {1, extend(deadline_of(KEYS[1]), now, ARGV[2]), now}
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


def _check_ttl(ttl_ms: int | None) -> int | None:
    if ttl_ms is not None and (type(ttl_ms) is not int or ttl_ms < 1):
        raise ValueError(f"ttl_ms must be a positive int (milliseconds) or None, not {ttl_ms!r}")
    return ttl_ms


class _Expired(Exception):
    """Internal: the handle's life expired under an operation and the handle started afresh."""


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


class RedisHandle(Generic[C]):
    """One process's replica of one object in a [`RedisStore`][merge.redis.RedisStore].

    Not shared between threads without care: each operation holds the handle's lock.
    """

    def __init__(
        self, store: RedisStore, key: str, fresh_state: Callable[[], C], ttl_ms: int | None
    ) -> None:
        self.store = store
        self.key = key
        self.ttl_ms = _check_ttl(ttl_ms)
        self._keys = store.keys(key)
        self._fresh_state = fresh_state
        self._state = fresh_state()
        self._lock = threading.RLock()
        self._gen = ""  # the life of the object this handle's state belongs to ('': none)
        self._deadline: int | None = None  # that life's deadline as last seen (Redis ms)
        self._cursor = "0-0"  # the last stream entry merged
        self._acked = "0-0"  # the last entry this handle appended
        self._dirty = False  # local changes Redis may lack: re-upload the full state
        self._closed = False
        #: The errors of the last (at most 100) entries this handle refused to merge.
        self.refused: list[Exception] = []
        self._adopt()

    # -- reading ---------------------------------------------------------------------------

    @property
    def state(self) -> C:
        """A read-only copy of the local state (possibly stale; see ``fresh``). O(state)."""
        return self._state.copy(replica=None)

    @property
    def value(self) -> Any:
        """The local value, possibly stale: what this process has merged so far.

        Local also with respect to expiry: past the deadline the value stays until the next
        :meth:`pull` (or :meth:`fresh`) finds the object gone.
        """
        return self._state.value

    @property
    def writer(self) -> str:
        """This handle's writer id (the replica name and this binding's incarnation)."""
        writer = self._state.writer
        assert writer is not None
        return writer

    @property
    def generation(self) -> str:
        """The life of the object the local state belongs to (``""``: none yet).

        A new life starts when the object is first written, and again after it expired or
        Redis lost it.
        """
        return self._gen

    @property
    def deadline(self) -> int | None:
        """When the object expires as last seen, in ms since the epoch by the Redis clock
        (``None``: it does not expire, or does not exist yet). Others may have extended it."""
        return self._deadline

    def fresh(self) -> Any:
        """Pull, then return the value: every update acknowledged before the call is in it."""
        self.pull()
        return self.value

    # -- writing ---------------------------------------------------------------------------

    def update(self, fn: Callable[[C], C]) -> C:
        """Apply ``fn`` to the local replica and persist the delta it returns.

        ``fn`` receives the bound local state, calls its mutators and returns the delta
        (``lambda s: s.add("x")``). Returns the delta once Redis has accepted it: that is
        the acknowledgement (durable as far as the server's ``appendfsync`` makes it). With
        ``ttl_ms`` the acknowledged update also extends the object's deadline.

        If the object expired since this handle last saw it, the handle drops its state,
        and ``fn`` runs a second time on the fresh, empty state of the object's new life:
        an update acknowledged after the expiry belongs to the new life, and nothing from
        before the expiry travels with it. Write ``fn`` so that running it again is fine
        (calling mutators is).

        Cost: O(delta) to encode and send, one round trip.

        Raises:
            StoreUnavailableError: Redis did not answer in time; the update stays local
                and is re-uploaded (as part of the full state) by the next operation,
                unless the object expired meanwhile.
        """
        with self._lock:
            self._check_open()
            for _ in range(4):
                delta = fn(self._state)
                if type(delta) is not type(self._state):
                    self._dirty = True
                    raise TypeError(
                        f"fn must return the delta (a {type(self._state).__name__}), "
                        f"not {type(delta).__name__}"
                    )
                try:
                    length = self._persist(encode(delta))
                except _Expired:
                    continue  # the object expired under us: fn again, on the new life
                limit = self.store.compact_after
                if limit is not None and length >= limit:
                    self.compact()
                return delta
            raise StoreUnavailableError(f"{self.key!r} keeps expiring under this update")

    def touch(self, ttl_ms: int | None = None) -> int | None:
        """Extend the object's deadline to at least now + ``ttl_ms`` (default: the handle's
        ``ttl_ms``) without writing data; returns the deadline (``None``: the object does
        not expire, or does not exist). A shorter TTL never shortens it.

        Cost: one round trip.

        Raises:
            ValueError: neither ``ttl_ms`` nor the handle's ``ttl_ms`` is set.
        """
        ttl = _check_ttl(ttl_ms if ttl_ms is not None else self.ttl_ms)
        if ttl is None:
            raise ValueError("touch needs ttl_ms: pass it, or open the handle with ttl_ms=")
        with self._lock:
            self._check_open()
            for _ in range(8):
                reply = self._checked(self.store._touch, self._keys, (self._gen, ttl))
                if reply[0] == 1:
                    self._deadline = int(reply[1]) or None
                    return self._deadline
                self._life_changed(_text(reply[1]), int(reply[2]))
                if self._dirty:
                    with contextlib.suppress(_Expired):
                        self._persist(encode(self._state))
            raise StoreUnavailableError(f"the generation of {self.key!r} keeps changing")

    def compact(self) -> int:
        """Pull, write the merged state as the snapshot, then trim the entries it covers.

        Readers behind the trimmed entries load the snapshot instead. Returns the number of
        entries trimmed. Cost: O(state) to encode and send.
        """
        with self._lock:
            self._check_open()
            self.pull()
            if self._cursor == "0-0" or not self._gen:
                return 0
            ms, seq = _id_key(self._cursor)
            reply = self._checked(
                self.store._compact,
                self._keys,
                (self._gen, self._cursor, encode(self._state), f"{ms}-{seq + 1}"),
            )
            if reply[0] == 0:
                self._life_changed(_text(reply[1]), int(reply[2]))
                return 0
            return int(reply[1])

    def close(self) -> None:
        """Upload anything not yet acknowledged (best effort) and stop using the handle."""
        with self._lock:
            if self._closed:
                return
            if self._dirty:
                with contextlib.suppress(StoreUnavailableError, _Expired):
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
        snapshot first. An object that expired is dropped from the local state (the handle
        starts afresh on the object's next life). A Redis that lost this object before its
        deadline (no generation, or a new one) or went back in time (its stream ends before
        entries this handle saw) gets this handle's full state re-uploaded.

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
            merged = 0
            refused: list[Exception] = []
            _, snap, log = self._keys
            while True:
                if self._dirty:
                    with contextlib.suppress(_Expired):  # expired: nothing left to upload
                        self._persist(encode(self._state))
                reply = self._checked(
                    self.store._pull, self._keys, (self._gen, self._cursor, self.store.batch)
                )
                if reply[0] == 0:
                    self._life_changed(_text(reply[1]), int(reply[2]))
                    continue
                if reply[0] == 2:
                    refused.append(CorruptEntryError(snap, "upto", _text(reply[1])))
                    break
                last, upto = _text(reply[1]), _text(reply[2])
                if self._gen and _id_key(last) < max(_id_key(self._cursor), _id_key(self._acked)):
                    # Redis went back in time (it lost entries this handle saw or wrote)
                    self._cursor = self._acked = "0-0"
                    self._dirty = True
                    continue
                self._deadline = int(reply[5]) or None
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

    # -- lives, expiry and persistence -----------------------------------------------------

    def _adopt(self) -> None:
        """Take the object's current life (if any) as this handle's; check its type."""
        reply = self._checked(self.store._lookup, self._keys, ())
        gen, stored, deadline = _text(reply[0]), _text(reply[1]), int(reply[2])
        name = type(self._state).__name__
        if gen and not stored:
            raise CorruptEntryError(self._keys[0], "meta", "a generation without a type")
        if stored and stored != name:
            raise TypeError(f"{self.key!r} holds a {stored}, not a {name}")
        self._gen = gen
        self._deadline = deadline or None
        self._cursor = self._acked = "0-0"
        if gen and self._deadline is None and self.ttl_ms is not None:
            _log.warning("%r was created without a TTL: it does not expire", self.key)

    def _life_changed(self, current: str, now: int) -> bool:
        """The object's generation is not this handle's: it expired, or Redis lost it.

        ``now`` is the Redis clock. The deadline this handle knew is at most the real one
        (deadlines only grow), so once ``now`` is past it the life may have expired, and it
        is treated as expired: the local state is dropped, never re-uploaded, and the
        handle starts afresh. Before it, the object cannot have expired, so Redis lost it:
        the full state is re-uploaded. Returns whether the handle started afresh.
        """
        expired = bool(self._gen) and self._deadline is not None and now >= self._deadline
        if expired:
            _log.info("%r expired (life %s): starting afresh", self.key, self._gen)
            self._state = self._fresh_state()
            self._dirty = False
        elif self._gen:
            self._dirty = True  # Redis lost what this handle holds: send it all again
        del current  # the lookup reads the life afresh (it may have moved on again)
        self._adopt()
        return expired

    def _persist(self, data: bytes) -> int:
        """Append ``data`` (or the full state if Redis may lack something); stream length.

        Raises ``_Expired`` if the object expired meanwhile and the handle started afresh:
        ``data`` then belongs to a life that is over and is not sent.
        """
        name = type(self._state).__name__
        for _ in range(8):
            if self._dirty:
                data = encode(self._state)  # the full state covers the delta and what was lost
            try:
                reply = self._checked(
                    self.store._append,
                    self._keys,
                    (self._gen, self.writer, data, secrets.token_hex(8), name, self.ttl_ms or ""),
                )
            except StoreUnavailableError:
                self._dirty = True
                raise
            if reply[0] == 1:
                self._gen = _text(reply[5])
                self._deadline = int(reply[3]) or None
                self._acked = max(self._acked, _text(reply[1]), key=_id_key)
                self._dirty = False
                return int(reply[2])
            if self._life_changed(_text(reply[1]), int(reply[2])):
                raise _Expired
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
