"""pycrdt (Yrs bindings) on the peer workloads: see yjs.py for how a set is written."""

from __future__ import annotations

from typing import Any

import yjs
from pycrdt import Doc, Map

NAME = "pycrdt"


class PycrdtBinding:
    def doc(self) -> Any:
        doc = Doc()
        doc.get("s", type=Map)
        return doc

    def _map(self, doc: Any) -> Any:
        return doc.get("s", type=Map)

    def set(self, doc: Any, key: str, value: object) -> None:
        self._map(doc)[key] = value

    def set_many(self, doc: Any, keys: list[str], value: object) -> None:
        shared = self._map(doc)
        with doc.transaction():
            for key in keys:
                shared[key] = value

    def delete(self, doc: Any, key: str) -> None:
        del self._map(doc)[key]

    def get(self, doc: Any, key: str) -> object:
        return self._map(doc).get(key)

    def keys(self, doc: Any) -> frozenset[str]:
        return frozenset(self._map(doc).keys())

    def update(self, doc: Any, since: bytes | None = None) -> bytes:
        return bytes(doc.get_update(since) if since is not None else doc.get_update())

    def state(self, doc: Any) -> bytes:
        return bytes(doc.get_state())

    def apply(self, doc: Any, update: bytes) -> None:
        doc.apply_update(update)


WORKLOADS, MERGE_AT, correctness = yjs.workloads(PycrdtBinding())


def fuzzed() -> dict[str, str]:
    return yjs.fuzzed(PycrdtBinding())
