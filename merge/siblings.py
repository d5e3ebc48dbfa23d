"""Siblings: a Dynamo/Riak-style sibling store for one key, on dotted version vectors.

A ``Siblings`` stores a causal context (for each server, how many of its writes have been
seen) and the live writes, each under the dot ``(server, counter)`` that created it. Two
stores merge as a DVVSet does: a write survives if both sides hold it, or if one side holds it
and the other has not seen its dot; the contexts join pointwise. The value is the surviving
values: one after sequential writes, several siblings after concurrent ones.

It is a CRDT on the causal kernel (``crdts.causal``): the context is a ``CausalContext``
that is always a plain version vector, the writes a ``DotFun`` of ``(generation, value)``;
its own join rule (concurrent resolutions of one write) is a ``_plan`` override.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Self

from clocks import VectorClock
from crdts import CRDTError
from crdts.causal import CausalContext, CausalCRDT, DotFun, JoinPlan
from crdts.errors import DotConflictError
from crdts.locks import locked
from crdts.values import (
    check_replica,
    check_value,
    own_value,
    value_from_wire,
    value_key,
    value_to_wire,
)
from merge.resolvers import maximum

__all__ = ["ForgedContextError", "Siblings"]

Dot = tuple[str, int]
#: What a dot holds: ``(generation, value)``; generation 0 is the write itself, each
#: resolution that replaces it adds one.
Payload = tuple[int, Any]

#: Counters and generations must fit the wire (msgpack's unsigned 64-bit integers).
_LIMIT = 2**64


class ForgedContextError(CRDTError, ValueError):
    """A context claims more writes by a server than that server has made.

    Only the server itself knows how many writes it coordinated. A client context (in
    ``put``) or a merged store (in ``merge``) that claims more is forged, or comes from a
    second process using the same server id: accepting it would silently drop the server's
    next writes wherever the claim has spread (they look seen and removed), or, at the wire
    limit, block its every later ``put``. The operation is refused and the store unchanged.

    ``server`` names the server, ``claimed`` the count claimed, ``issued`` the count it made.
    """

    def __init__(self, server: str, claimed: int, issued: int, *, where: str = "merge") -> None:
        self.server = server
        self.claimed = claimed
        self.issued = issued
        self.where = where
        if where == "put":
            message = (
                f"the context claims {claimed} writes by server {server!r}, which has made "
                f"{issued} here: it is not a context this server handed out (pass the "
                f".context a client read from it)"
            )
        else:
            message = (
                f"the merged store claims {claimed} writes by server {server!r}, which has "
                f"made {issued}: a forged client context reached another server (or a second "
                f"process uses this server id); the merge is refused and this store unchanged"
            )
        super().__init__(message)


class Siblings(CausalCRDT, type_code=30):
    """The versions of one key, as Dynamo and Riak keep them: siblings under a causal context.

    A server coordinating a write calls ``put(value, context=..., replica=server_id)`` (or
    binds its store once, ``Siblings(replica=server_id)``, and leaves ``replica`` out). The
    ``context`` is what the client read (``.context``) before writing: every write it covers
    is superseded, every other write stays, so concurrent writes become **siblings** and a
    client that read v1 and writes v3 replaces v1 but not a v2 written concurrently (no
    false siblings, unlike one version vector per key). The server ids, not the clients,
    name the writes, so the context grows with servers and the siblings with concurrent
    writers — never with history. Replicas of the key converge with ``merge``.

    ``resolve(fn)`` replaces the siblings by ``fn(values)`` *without* changing
    ``.context``: it is a reconciliation, not a new write, so a client that wrote with the
    context it read before the resolution still supersedes the resolved value. The resolved
    value keeps the dots of the siblings it replaced, so a write that covers only some of
    them leaves it standing beside the new value.

    Surprises:
        * ``values`` is a tuple, even with one value, and ``()`` before any write.
        * Two clients writing the *same* value concurrently leave two equal siblings.
        * Concurrent ``resolve`` calls on two replicas that produce different values for
          the same siblings settle on one of them (the larger in the wire order): make
          ``fn`` deterministic, as the ready-made ``merge.resolvers`` are.
        * A server id must belong to one process: ``put`` on two stores with the same
          ``replica`` mints the same dot twice, and the merge raises ``DotConflictError``.
        * ``put`` and ``resolve`` return None, not a delta: replicate by merging whole
          stores (a put's delta would need the kernel's dot cloud, which the wire form of a
          store, a version vector per server, does not carry).
        * A store remembers (locally, not in its state) the servers that ``put`` on it, and
          refuses with ``ForgedContextError`` a merge claiming more of their writes than they
          made: the defence against a forged client context that named *another* server.
          A store bound with ``Siblings(replica="sx")`` is sx's from the start.

    Examples:
        >>> from merge import Siblings
        >>> sx, sy = Siblings(), Siblings()
        >>> sx.put("v1", context=None, replica="sx")
        >>> read = sx.context                               # a client reads v1...
        >>> sy.merge(sx)
        >>> sy.put("v2", context=None, replica="sy")        # ...another writes blindly
        >>> sx.put("v3", context=read, replica="sx")        # v3 replaces v1 only
        >>> sx.merge(sy); sx.values
        ('v3', 'v2')
        >>> sx.resolve_lww(str); sx.values, sx.context      # one value, same context
        (('v3',), VectorClock({'sx': 2, 'sy': 1}))

    Merge cost: O(d + r) for d live dots and r servers. State size: O(d + r), where d is at
    most the number of writes that were concurrent (one per writer that has not seen the
    others).
    """

    __slots__ = ("_servers",)

    _store: DotFun[Payload]

    def __init__(self, *, replica: str | None = None) -> None:
        super().__init__(replica=replica)
        self._store = DotFun()
        # the servers that put on this object: local knowledge, not state (== ignores it,
        # copies and the wire leave it out); None until the first put
        self._servers: set[str] | None = None

    # -- reading ---------------------------------------------------------------------------

    @property
    @locked
    def values(self) -> tuple[Any, ...]:
        """The siblings, ordered by the dots that wrote them (the same order everywhere).

        A resolved value held under several dots is listed once. Cost: O(d log d).
        """
        result = []
        resolved: set[bytes] = set()
        by_server = self._store.by_replica
        for server in sorted(by_server):
            counters = by_server[server]
            for counter in sorted(counters):
                generation, value = counters[counter]
                if generation:
                    key = value_key(value)
                    if key in resolved:
                        continue
                    resolved.add(key)
                result.append(own_value(value))  # a copy: changing it changes nothing here
        return tuple(result)

    @property
    def value(self) -> tuple[Any, ...]:
        """The siblings, as ``values`` (what every CRDT calls its value)."""
        return self.values

    @property
    @locked
    def context(self) -> VectorClock:
        """The causal context: hand it to the client with the values, and take it back with
        its next write (``put(..., context=...)``). Cost: O(r log r)."""
        return VectorClock(self._ctx.vv)

    # -- writing ---------------------------------------------------------------------------

    @locked
    def put(self, value: Any, *, context: VectorClock | None, replica: str | None = None) -> None:
        """Store ``value`` as a write coordinated by server ``replica``.

        Every write that ``context`` covers is superseded; the others stay as siblings.

        Args:
            value: the new value (None, bool, int, float, str, bytes, or tuples, lists and
                str-keyed dicts of those).
            context: the ``.context`` the client read before writing, or ``None`` for a
                blind write that has seen nothing (it supersedes nothing).
            replica: the id of the server coordinating the write — one id per server
                process, never a client id (client ids would make the context grow with
                every client ever seen). Defaults to the store's own replica name, for a
                store bound with ``Siblings(replica=...)``.

        Raises:
            TypeError: ``context`` is not a ``VectorClock``, ``replica`` is not a str (or
                is left out on an unbound store), or ``value`` is not a supported value.
            ValueError: ``replica`` is empty, ``value`` or ``context`` does not fit the wire
                format, or ``context`` names an empty server id.
            ForgedContextError: ``context`` claims more writes by ``replica`` than this
                store has seen (a forged context would otherwise push the server's counter
                to the wire limit and block its every later put).

        Cost: O(d + r).
        """
        if replica is None:
            replica = self.replica
        if check_replica(replica) is None:
            raise TypeError("put needs replica=, the id of the server coordinating the write")
        assert replica is not None
        if context is None:
            context = VectorClock()
        elif not isinstance(context, VectorClock):
            raise TypeError(
                f"context must be a clocks.VectorClock (the .context a client read) or "
                f"None for a blind write, not {type(context).__name__}"
            )
        value = own_value(check_value(value))
        issued = self._ctx.vv.get(replica, 0)
        for server, counter in context.items():
            check_replica(server)  # a non-empty str that UTF-8 can carry
            if counter >= _LIMIT:
                raise ValueError(
                    f"context counter {counter} of {server!r} does not fit the wire format; "
                    f"pass the .context a client read"
                )
        claimed = context.get(replica, 0)
        if claimed > issued:
            raise ForgedContextError(replica, claimed, issued, where="put")
        if issued + 1 >= _LIMIT:
            raise ValueError(f"server {replica!r} has made 2**64 - 1 writes; use a new id")
        # everything is checked: from here on nothing can fail
        store = self._store
        for server, counters in list(store.by_replica.items()):
            seen = context.get(server, 0)
            # the client saw every write its context covers: those are superseded
            for counter in [counter for counter in counters if counter <= seen]:
                store.discard(server, counter)
        self._ctx.join(CausalContext.from_vector(context))
        self._ctx.add(replica, issued + 1)
        store.add(replica, issued + 1, (0, value))
        if self._servers is None:
            self._servers = set()
        self._servers.add(replica)

    @locked
    def resolve(self, fn: Callable[[tuple[Any, ...]], Any]) -> None:
        """Replace the siblings by ``fn(values)``, keeping the causal context.

        ``fn`` gets the tuple of values and returns one value (see ``merge.resolvers``); it
        should be deterministic. Nothing happens when there are no values.

        Raises:
            TypeError, ValueError: ``fn`` returned an unsupported value (state unchanged).

        Cost: O(d) plus ``fn``.
        """
        store = self._store
        if not store:
            return
        value = own_value(check_value(fn(self.values)))
        generation = max(payload[0] for _, payload in self._payloads()) + 1
        if generation >= _LIMIT:
            raise ValueError("this store has been resolved 2**64 - 1 times")
        for server, counter in list(store.dots()):
            store.add(server, counter, (generation, value))

    def resolve_lww(self, key: Callable[[Any], Any]) -> None:
        """Keep only the value with the largest ``key(value)``, keeping the causal context.

        Ties go to the value listed first in ``values``. Same as
        ``resolve(resolvers.maximum.by(key))``.
        """
        self.resolve(maximum.by(key))

    def retire(self, *writers: str) -> Self:
        """Not supported: a store's context holds one entry per *server*, so it stays as
        small as the set of servers; there is no departed writer to fold away.

        Raises:
            TypeError: always.
        """
        raise TypeError(
            "Siblings does not retire servers: its context has one entry per server id, "
            "not per process incarnation"
        )

    # -- the lattice (CausalCRDT hooks) ------------------------------------------------------

    def _payloads(self) -> Iterable[tuple[Dot, Payload]]:
        for server, counters in self._store.by_replica.items():
            for counter, payload in counters.items():
                yield (server, counter), payload

    def _plan(self, other: Self, mine: CausalContext, theirs: CausalContext) -> JoinPlan[Payload]:
        """The DVVSet join: a write held on both sides keeps the later resolution of it; a
        write on one side stays unless the other side has seen its dot (it was superseded
        there). Raises ``DotConflictError`` for one dot holding two different writes."""
        plan: JoinPlan[Payload] = JoinPlan()
        my_store, their_store = self._store.by_replica, other._store.by_replica
        for server, their_counters in their_store.items():
            my_counters = my_store.get(server, {})
            top, _ = mine.covered(server)
            adds: dict[int, Payload] = {}
            for counter, payload in their_counters.items():
                held = my_counters.get(counter)
                if held is not None:
                    joined = _join_payloads((server, counter), held, payload)
                    if joined is not held:
                        adds[counter] = joined
                elif counter > top:
                    adds[counter] = payload  # a write this side has not seen yet
            if adds:
                plan.adds[server] = adds
        for server, my_counters in my_store.items():
            top, _ = theirs.covered(server)
            held_there = their_store.get(server, {})
            gone = {c for c in my_counters if c <= top and c not in held_there}
            if gone:
                plan.removes[server] = gone
        return plan

    def _refuse_conflicts(self, plan: JoinPlan[Payload], other: Self) -> None:
        """Refuse a merge claiming more writes by a server that put here than it made."""
        servers = set(self._servers or ())
        name = self.replica
        if name is not None:
            servers.add(name)
        for server in servers:
            claimed, _ = other._ctx.covered(server)
            issued, _ = self._ctx.covered(server)
            if claimed > issued:
                raise ForgedContextError(server, claimed, issued)

    # -- identity --------------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"{type(self).__name__}(values={self.values!r}, context={self.context!r})"

    def _check(self) -> None:
        """Assert every invariant of the state (tests call this after each step)."""
        super()._check()
        # the context is a version vector: a store never holds isolated dots
        assert not self._ctx.cloud, self._ctx
        for server, counter in self._ctx.vv.items():
            # every context entry is a server id with a positive counter that fits the wire
            assert type(server) is str and server, server
            assert type(counter) is int and 0 < counter < _LIMIT, (server, counter)
        for _, (generation, value) in self._payloads():
            # generations count the resolutions applied to a write
            assert type(generation) is int and 0 <= generation < _LIMIT, generation
            # values are register values (they cross the wire unchanged)
            check_value(value)

    # -- wire form -------------------------------------------------------------------------

    @locked
    def _to_wire(self) -> Any:
        """``[[server, n, [[counter, generation, value], ...]], ...]``, sorted by server and
        counter; values in the register-value wire form. Equal stores give equal data."""
        by_server = self._store.by_replica
        result = []
        for server, top in sorted(self._ctx.vv.items()):
            counters = by_server.get(server, {})
            writes = [
                [counter, counters[counter][0], value_to_wire(counters[counter][1])]
                for counter in sorted(counters)
            ]
            result.append([server, top, writes])
        return result

    @classmethod
    def _from_wire(cls, state: Any) -> Self:
        """A store from ``_to_wire``'s structure; ``ValueError`` if it is malformed."""
        try:
            return cls._parse(state)
        except ValueError:
            raise
        except (TypeError, KeyError, IndexError, AttributeError, RecursionError) as error:
            raise ValueError(f"malformed Siblings state: {error}") from None

    @classmethod
    def _parse(cls, state: Any) -> Self:
        if type(state) not in (list, tuple):
            raise ValueError(f"a Siblings state is an array of servers, not {state!r}")
        context: dict[str, int] = {}
        writes_by_server: list[tuple[str, int, Payload]] = []
        previous: str | None = None
        for entry in state:
            if type(entry) not in (list, tuple) or len(entry) != 3:
                raise ValueError(f"a server entry is [server, n, writes], not {entry!r}")
            server, top, writes = entry
            if type(server) is not str or not server:
                raise ValueError(f"a server id must be a non-empty str, not {server!r}")
            if previous is not None and server <= previous:
                raise ValueError(f"server ids must be sorted and unique ({server!r})")
            previous = server
            if type(top) is not int or not 0 < top < _LIMIT:
                raise ValueError(f"the counter of server {server!r} must be in [1, 2**64)")
            if type(writes) not in (list, tuple):
                raise ValueError(f"the writes of server {server!r} must be an array")
            context[server] = top
            last = 0
            for write in writes:
                if type(write) not in (list, tuple) or len(write) != 3:
                    raise ValueError(f"a write is [counter, generation, value], not {write!r}")
                counter, generation, value = write
                if type(counter) is not int or not last < counter <= top:
                    raise ValueError(
                        f"write counters of server {server!r} must ascend within [1, {top}]"
                    )
                if type(generation) is not int or not 0 <= generation < _LIMIT:
                    raise ValueError(f"a generation must be in [0, 2**64), not {generation!r}")
                last = counter
                writes_by_server.append((server, counter, (generation, value_from_wire(value))))
        result = cls()
        result._ctx = CausalContext.from_vector(context)
        for server, counter, payload in writes_by_server:
            result._store.add(server, counter, payload)
        return result


def _join_payloads(dot: Dot, mine: Payload, theirs: Payload) -> Payload:
    """The payload of a dot both sides hold: the later resolution, or on a tie the larger
    value in the wire order (concurrent resolutions of the same siblings)."""
    if mine[0] != theirs[0]:
        return mine if mine[0] > theirs[0] else theirs
    if mine[1] is theirs[1]:
        return mine
    my_key, their_key = value_key(mine[1]), value_key(theirs[1])
    if my_key == their_key:
        return mine
    if mine[0] == 0:
        # one dot names one write: two different values prove a shared server id
        raise DotConflictError(dot, mine[1], theirs[1])
    return mine if my_key > their_key else theirs
