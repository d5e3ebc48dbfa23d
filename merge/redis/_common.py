"""The exceptions of ``merge.redis`` and the helpers its store and handles share."""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from crdts import CRDT, DecodeError

C = TypeVar("C", bound=CRDT)
#: the ``merge.redis`` logger (named for the public module, not this private one)
_log = logging.getLogger("merge.redis")


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
