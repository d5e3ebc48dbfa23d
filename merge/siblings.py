"""Siblings: a Dynamo/Riak-style sibling store for one key, on dotted version vectors.

A ``Siblings`` stores a causal context (for each server, how many of its writes have been
seen) and the live writes, each under the dot ``(server, counter)`` that created it. Two
stores merge as a DVVSet does: a write survives if both sides hold it, or if one side holds it
and the other has not seen its dot; the contexts join pointwise. The value is the surviving
values: one after sequential writes, several siblings after concurrent ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Self

from clocks import VectorClock
from crdts import codec
from crdts.errors import DotConflictError
from crdts.locks import Guarded, locked, locked_pair
from crdts.values import (
    check_replica,
    check_value,
    own_value,
    value_from_wire,
    value_key,
    value_to_wire,
)
from merge.resolvers import maximum

__all__ = ["Siblings"]

Dot = tuple[str, int]
#: What a dot holds: ``(generation, value)``; generation 0 is the write itself, each
#: resolution that replaces it adds one.
Payload = tuple[int, Any]

#: Counters and generations must fit the wire (msgpack's unsigned 64-bit integers).
_LIMIT = 2**64


class Siblings(Guarded):
    """The versions of one key, as Dynamo and Riak keep them: siblings under a causal context.

    A server coordinating a write calls ``put(value, context=..., replica=server_id)``. The
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

    __slots__ = ("_context", "_dots")

    #: Wire identity (see ``crdts.codec``): ext code and payload layout version.
    type_code: ClassVar[int] = 30
    format_version: ClassVar[int] = 1

    def __init__(self) -> None:
        self._context: dict[str, int] = {}
        self._dots: dict[Dot, Payload] = {}
        self._lock = None  # made on first use; every public operation runs under it

    # -- reading ---------------------------------------------------------------------------

    @property
    @locked
    def values(self) -> tuple[Any, ...]:
        """The siblings, ordered by the dots that wrote them (the same order everywhere).

        A resolved value held under several dots is listed once. Cost: O(d log d).
        """
        result = []
        resolved: set[bytes] = set()
        for dot in sorted(self._dots):
            generation, value = self._dots[dot]
            if generation:
                key = value_key(value)
                if key in resolved:
                    continue
                resolved.add(key)
            result.append(own_value(value))  # a copy: changing it changes nothing here
        return tuple(result)

    @property
    @locked
    def context(self) -> VectorClock:
        """The causal context: hand it to the client with the values, and take it back with
        its next write (``put(..., context=...)``). Cost: O(r log r)."""
        return VectorClock(self._context)

    # -- writing ---------------------------------------------------------------------------

    @locked
    def put(self, value: Any, *, context: VectorClock | None, replica: str) -> None:
        """Store ``value`` as a write coordinated by server ``replica``.

        Every write that ``context`` covers is superseded; the others stay as siblings.

        Args:
            value: the new value (None, bool, int, float, str, bytes, or tuples, lists and
                str-keyed dicts of those).
            context: the ``.context`` the client read before writing, or ``None`` for a
                blind write that has seen nothing (it supersedes nothing).
            replica: the id of the server coordinating the write — one id per server
                process, never a client id (client ids would make the context grow with
                every client ever seen).

        Raises:
            TypeError: ``context`` is not a ``VectorClock``, ``replica`` is not a str, or
                ``value`` is not a supported value.
            ValueError: ``replica`` is empty, ``value`` or ``context`` does not fit the wire
                format, ``context`` names an empty server id, or it claims more writes by
                ``replica`` than this store has seen (a forged context would otherwise push
                the server's counter to the wire limit and block its every later put).

        Cost: O(d + r).
        """
        if check_replica(replica) is None:
            raise TypeError("put needs replica=, the id of the server coordinating the write")
        if context is None:
            context = VectorClock()
        elif not isinstance(context, VectorClock):
            raise TypeError(
                f"context must be a clocks.VectorClock (the .context a client read) or "
                f"None for a blind write, not {type(context).__name__}"
            )
        value = own_value(check_value(value))
        joined = dict(self._context)
        for server, counter in context.items():
            check_replica(server)  # a non-empty str that UTF-8 can carry
            if counter >= _LIMIT:
                raise ValueError(
                    f"context counter {counter} of {server!r} does not fit the wire format; "
                    f"pass the .context a client read"
                )
            if server == replica and counter > self._context.get(replica, 0):
                raise ValueError(
                    f"the context claims {counter} writes by server {replica!r}, which has made "
                    f"{self._context.get(replica, 0)} here: it is not a context this server "
                    f"handed out (pass the .context a client read from it)"
                )
            if counter > joined.get(server, 0):
                joined[server] = counter
        counter = joined.get(replica, 0) + 1
        if counter >= _LIMIT:
            raise ValueError(f"server {replica!r} has made 2**64 - 1 writes; use a new id")
        joined[replica] = counter
        # the client saw every write its context covers: those are superseded
        dots = {
            dot: payload for dot, payload in self._dots.items() if dot[1] > context.get(dot[0], 0)
        }
        dots[(replica, counter)] = (0, value)
        self._context, self._dots = joined, dots

    @locked
    def resolve(self, fn: Callable[[tuple[Any, ...]], Any]) -> None:
        """Replace the siblings by ``fn(values)``, keeping the causal context.

        ``fn`` gets the tuple of values and returns one value (see ``merge.resolvers``); it
        should be deterministic. Nothing happens when there are no values.

        Raises:
            TypeError, ValueError: ``fn`` returned an unsupported value (state unchanged).

        Cost: O(d) plus ``fn``.
        """
        if not self._dots:
            return
        value = own_value(check_value(fn(self.values)))
        generation = max(generation for generation, _ in self._dots.values()) + 1
        if generation >= _LIMIT:
            raise ValueError("this store has been resolved 2**64 - 1 times")
        self._dots = dict.fromkeys(self._dots, (generation, value))

    def resolve_lww(self, key: Callable[[Any], Any]) -> None:
        """Keep only the value with the largest ``key(value)``, keeping the causal context.

        Ties go to the value listed first in ``values``. Same as
        ``resolve(resolvers.maximum.by(key))``.
        """
        self.resolve(maximum.by(key))

    # -- the lattice -----------------------------------------------------------------------

    def merge(self, other: Siblings) -> None:
        """Join ``other`` into this store, in place (commutative, associative, idempotent).

        Raises:
            TypeError: ``other`` is not a ``Siblings``.
            DotConflictError: one dot holds two different writes, which proves that two
                processes used the same server id; the store is left unchanged.

        Cost: O(d + r).
        """
        if type(other) is not type(self):
            raise TypeError(f"cannot merge {type(other).__name__} into {type(self).__name__}")
        self._merge(other)

    @locked_pair
    def _merge(self, other: Siblings) -> None:
        mine, theirs = self._dots, other._dots
        my_context, their_context = self._context, other._context
        dots: dict[Dot, Payload] = {}
        for dot, payload in mine.items():
            their_payload = theirs.get(dot)
            if their_payload is not None:
                dots[dot] = _join_payloads(dot, payload, their_payload)
            elif dot[1] > their_context.get(dot[0], 0):
                dots[dot] = payload  # the other side has not seen this write yet
        for dot, payload in theirs.items():
            if dot not in mine and dot[1] > my_context.get(dot[0], 0):
                dots[dot] = payload
        context = dict(my_context)
        for server, counter in their_context.items():
            if counter > context.get(server, 0):
                context[server] = counter
        self._context, self._dots = context, dots

    def __or__(self, other: Siblings) -> Siblings:
        if type(other) is not type(self):
            return NotImplemented
        result = self.copy()
        result.merge(other)
        return result

    def __ior__(self, other: Siblings) -> Siblings:
        """``a |= b`` merges ``b`` into ``a`` in place, as ``a.merge(b)``."""
        if type(other) is not type(self):
            return NotImplemented
        self.merge(other)
        return self

    def leq(self, other: Siblings) -> bool:
        """True if ``other`` already holds everything this store holds."""
        if type(other) is not type(self):
            raise TypeError(f"cannot compare {type(self).__name__} with {type(other).__name__}")
        return self._leq(other)

    @locked_pair
    def _leq(self, other: Siblings) -> bool:
        return (other | self) == other

    # -- identity --------------------------------------------------------------------------

    @locked
    def copy(self) -> Self:
        """An independent copy."""
        result = type(self)()
        result._context = dict(self._context)
        result._dots = dict(self._dots)  # payloads are immutable tuples; values are owned
        return result

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Siblings)
        return self._equal(other)

    @locked_pair
    def _equal(self, other: Siblings) -> bool:
        return self._context == other._context and self._dots == other._dots

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        return f"{type(self).__name__}(values={self.values!r}, context={self.context!r})"

    def _check(self) -> None:
        """Assert every invariant of the state (tests call this after each step)."""
        for server, counter in self._context.items():
            # every context entry is a server id with a positive counter that fits the wire
            assert type(server) is str and server, server
            assert type(counter) is int and 0 < counter < _LIMIT, (server, counter)
        for (server, counter), (generation, value) in self._dots.items():
            # every live write's dot has been seen by the context (no write without history)
            assert type(counter) is int and 0 < counter <= self._context.get(server, 0), (
                server,
                counter,
            )
            # generations count the resolutions applied to a write
            assert type(generation) is int and 0 <= generation < _LIMIT, generation
            # values are register values (they cross the wire unchanged)
            check_value(value)

    # -- wire form -------------------------------------------------------------------------

    @locked
    def _to_wire(self) -> Any:
        """``[[server, n, [[counter, generation, value], ...]], ...]``, sorted by server and
        counter; values in the register-value wire form. Equal stores give equal data."""
        by_server: dict[str, list[list[Any]]] = {server: [] for server in self._context}
        for (server, counter), (generation, value) in sorted(self._dots.items()):
            by_server[server].append([counter, generation, value_to_wire(value)])
        return [[server, self._context[server], by_server[server]] for server in sorted(by_server)]

    @classmethod
    def _from_wire(cls, state: Any) -> Siblings:
        """A store from ``_to_wire``'s structure; ``ValueError`` if it is malformed."""
        try:
            return cls._parse(state)
        except ValueError:
            raise
        except (TypeError, KeyError, IndexError, AttributeError, RecursionError) as error:
            raise ValueError(f"malformed Siblings state: {error}") from None

    @classmethod
    def _parse(cls, state: Any) -> Siblings:
        if type(state) not in (list, tuple):
            raise ValueError(f"a Siblings state is an array of servers, not {state!r}")
        context: dict[str, int] = {}
        dots: dict[Dot, Payload] = {}
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
                dots[(server, counter)] = (generation, value_from_wire(value))
        result = cls()
        result._context, result._dots = context, dots
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


codec.register(
    Siblings,
    code=Siblings.type_code,
    version=Siblings.format_version,
    to_wire=Siblings._to_wire,
    from_wire=codec.exact_version(Siblings, Siblings.format_version, Siblings._from_wire),
)
