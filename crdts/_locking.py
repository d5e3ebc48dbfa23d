"""The per-object lock that makes each public operation atomic when threads share one object.

:class:`Guarded` holds the ``_lock`` slot; :func:`locked` and :func:`locked_pair` run a method
under it; :func:`lock_of` makes it on first use. :mod:`crdts.locks` is the public face;
:mod:`crdts._base` re-exports these names for the types built on :class:`~crdts.CRDT`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from threading import Lock, RLock
from typing import Any, Concatenate, ParamSpec, TypeVar

__all__ = ["Guarded", "lock_of", "locked", "locked_pair"]

P = ParamSpec("P")
R = TypeVar("R")
S = TypeVar("S", bound="Guarded")


# -- the per-object lock -------------------------------------------------------------------------
#
# Every CRDT (and merge.Siblings) has a ``_lock`` slot holding a re-entrant lock, made on
# first use: most objects are deltas that are built, shipped and dropped without ever being
# locked. Every public operation that reads or writes the state runs under it, so threads
# sharing one replica see each operation whole. Re-entrant, because operations call each
# other (Cart.add calls update, merge calls hooks, update calls fn, which calls the nested
# value's mutators). A nested value of an ORMap holds its map's lock: one state, one lock.


class Guarded:
    """A state guarded by a per-object lock: the ``_lock`` slot (None until first use) and
    pickling that leaves the lock out (an unpickled object gets its own).

    Subclasses set ``self._lock = None`` when they build an instance (``__init__``, or
    wherever they fill one made with ``__new__``).
    """

    __slots__ = ("_lock",)

    _lock: Any

    def __getstate__(self) -> tuple[None, dict[str, Any]]:
        with self._lock or lock_of(self):
            state = {
                name: getattr(self, name)
                for cls in type(self).__mro__
                for name in cls.__dict__.get("__slots__", ())
                if name not in ("__weakref__", "_lock") and hasattr(self, name)
            }
        return None, state

    def __setstate__(self, state: tuple[None, dict[str, Any]]) -> None:
        for name, value in state[1].items():
            object.__setattr__(self, name, value)
        self._lock = None
        self._unpickled()

    def _unpickled(self) -> None:
        """Called after unpickling: re-create what the state shares (a map's lock)."""


_MAKING = Lock()  # guards the first use of an object's lock


def lock_of(obj: Guarded) -> Any:
    """The re-entrant lock of ``obj``, made on first use (the same one for every caller)."""
    lock = obj._lock
    if lock is None:
        _MAKING.acquire()  # the lock's methods: cheaper than a with statement
        try:
            lock = obj._lock
            if lock is None:
                lock = obj._lock = RLock()
        finally:
            _MAKING.release()
    return lock


def locked(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
    """Run ``method`` under its object's lock: the operation is atomic for other threads.

    The unlocked method stays reachable as ``__wrapped__`` (the benchmark times both).
    """

    @wraps(method)
    def run(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        lock = self._lock or lock_of(self)
        lock.acquire()  # cheaper than ``with lock:`` (see bench/threads.py)
        try:
            return method(self, *args, **kwargs)
        finally:
            lock.release()

    return run


def locked_pair(method: Callable[[S, S], R]) -> Callable[[S, S], R]:
    """Run ``method(self, other)`` under the locks of both objects (``merge``, ``==``).

    The two locks are always taken in one global order (by the lock's id), so that
    ``a.merge(b)`` and ``b.merge(a)`` in two threads cannot deadlock; objects that share a
    lock (``a.merge(a)``, a map and its nested value) take it once.
    """

    @wraps(method)
    def run(self: S, other: S, /) -> R:
        first = self._lock or lock_of(self)
        second = other._lock or lock_of(other)
        if second is first:
            first.acquire()
            try:
                return method(self, other)
            finally:
                first.release()
        if id(second) < id(first):
            first, second = second, first
        first.acquire()
        try:
            second.acquire()
            try:
                return method(self, other)
            finally:
                second.release()
        finally:
            first.release()

    return run
