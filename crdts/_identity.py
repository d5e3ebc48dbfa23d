"""Writer identity: a replica *name* plus an *incarnation* minted each time a writer is bound.

The id a user passes (``replica="svc-a"``) names a replica; the identity that mints dots and
counter entries is ``"svc-a#<incarnation>"``, with a fresh incarnation every time an object
is bound to a writer (construction, ``decode(..., replica=)``, ``copy(replica=)``). A process
that restarts from a stale snapshot, or two objects built with one name, are therefore two
writers: they can never reuse a dot or max away each other's increments.

Incarnations are 64 random bits by default. Tests, examples and the simulation harness make
them deterministic with [`incarnations`][crdts.incarnations].
"""

from __future__ import annotations

import base64
import random
import secrets
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

__all__ = ["SEPARATOR", "incarnations", "name_of", "new_incarnation", "writer_id"]

#: Separates the name from the incarnation in a writer id; it sorts below letters and digits,
#: so writer ids order like their names.
SEPARATOR = "#"


def _random_incarnation() -> str:
    return base64.b32encode(secrets.token_bytes(8)).decode("ascii").rstrip("=").lower()


_source: Callable[[], str] = _random_incarnation


def check_incarnation(incarnation: object) -> str:
    """Return ``incarnation`` if it may label a writer, else raise TypeError/ValueError."""
    if type(incarnation) is not str:
        raise TypeError(f"an incarnation is a str, not {type(incarnation).__name__}")
    if not incarnation or SEPARATOR in incarnation or not incarnation.isprintable():
        raise ValueError(
            f"an incarnation is a non-empty printable str without {SEPARATOR!r}: {incarnation!r}"
        )
    return incarnation


def new_incarnation() -> str:
    """A fresh incarnation from the current source (64 random bits unless overridden)."""
    return check_incarnation(_source())


def writer_id(name: str, incarnation: str | None = None) -> str:
    """The writer id of replica ``name`` in ``incarnation`` (a fresh one by default)."""
    if incarnation is None:
        incarnation = new_incarnation()
    else:
        check_incarnation(incarnation)
    return f"{name}{SEPARATOR}{incarnation}"


def name_of(writer: str) -> str:
    """The replica name in a writer id (an id without an incarnation is its own name)."""
    name, separator, _ = writer.rpartition(SEPARATOR)
    return name if separator else writer


@contextmanager
def incarnations(source: int | Iterable[str] = 0) -> Iterator[None]:
    """Make incarnations deterministic inside a ``with`` block (for tests and examples).

    ``source`` is a seed (incarnations become ``"1"``, ``"2"``, ... offset by nothing when
    the seed is 0, or 13 pseudo-random base32 characters drawn from ``random.Random(seed)``
    otherwise), or an iterable of incarnation strings used in order.

    Never use a deterministic source in production: two processes drawing the same sequence
    would share writer ids, which is exactly what incarnations exist to prevent.

    Examples:
        >>> from crdts import GCounter, incarnations
        >>> with incarnations():
        ...     a = GCounter(replica="a")
        >>> a.writer
        'a#1'
    """
    global _source
    if isinstance(source, int):
        if source == 0:
            numbers = iter(range(1, 2**63))
            draw: Callable[[], str] = lambda: str(next(numbers))  # noqa: E731
        else:
            rng = random.Random(source)
            draw = lambda: base64.b32encode(rng.randbytes(8)).decode().rstrip("=").lower()  # noqa: E731
    else:
        names = iter(source)
        draw = names.__next__
    saved = _source
    _source = draw
    try:
        yield
    finally:
        _source = saved
