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

from merge.redis._common import CorruptEntryError, StoreError, StoreUnavailableError
from merge.redis._handle import RedisHandle
from merge.redis._store import RedisStore

__all__ = [
    "CorruptEntryError",
    "RedisHandle",
    "RedisStore",
    "StoreError",
    "StoreUnavailableError",
]
