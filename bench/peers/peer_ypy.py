"""y-py (Yrs bindings, the older ones) on the peer workloads: see yjs.py."""

from __future__ import annotations

from typing import Any

import y_py as Y
import yjs

NAME = "y-py"


class YpyBinding:
    def doc(self) -> Any:
        doc = Y.YDoc()
        doc.get_map("s")
        return doc

    def set(self, doc: Any, key: str, value: object) -> None:
        shared = doc.get_map("s")
        with doc.begin_transaction() as txn:
            shared.set(txn, key, value)

    def set_many(self, doc: Any, keys: list[str], value: object) -> None:
        shared = doc.get_map("s")
        with doc.begin_transaction() as txn:
            for key in keys:
                shared.set(txn, key, value)

    def delete(self, doc: Any, key: str) -> None:
        shared = doc.get_map("s")
        with doc.begin_transaction() as txn:
            shared.pop(txn, key)

    def get(self, doc: Any, key: str) -> object:
        return doc.get_map("s").get(key)

    def keys(self, doc: Any) -> frozenset[str]:
        return frozenset(doc.get_map("s").keys())

    def update(self, doc: Any, since: bytes | None = None) -> bytes:
        if since is None:
            return bytes(Y.encode_state_as_update(doc))
        return bytes(Y.encode_state_as_update(doc, since))

    def state(self, doc: Any) -> bytes:
        return bytes(Y.encode_state_vector(doc))

    def apply(self, doc: Any, update: bytes) -> None:
        Y.apply_update(doc, update)


WORKLOADS, MERGE_AT, correctness = yjs.workloads(YpyBinding())


def fuzzed() -> dict[str, str]:
    return yjs.fuzzed(YpyBinding())
