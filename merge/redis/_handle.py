"""``RedisHandle``: one process's replica of one object in a ``RedisStore``."""

from __future__ import annotations

import contextlib
import secrets
import threading
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Self

import redis.exceptions

from clocks import ClockDriftError
from crdts import DecodeError, encode
from merge.redis._common import (
    C,
    CorruptEntryError,
    StoreUnavailableError,
    _check_ttl,
    _Expired,
    _id_key,
    _log,
    _text,
)

if TYPE_CHECKING:
    from merge.redis._store import RedisStore


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
