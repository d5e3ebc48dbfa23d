"""Workloads for the two Yjs bindings (pycrdt, y-py), written once over a small interface.

Yjs has no set, counter or clock type: the set is a shared map whose keys are the elements
(what a Yjs user would write), and the register is one key of a map. A merge is applying the
other document's full update (bytes, so the peer's figure includes decoding it), the sync
step of a Yjs user. Memory is not measured: the documents live in Rust, outside
tracemalloc's view.
"""

from __future__ import annotations

from typing import Any, Protocol

from common import Replicas, Result, Sizes, elements, fuzz, per_op, whole


class Binding(Protocol):
    def doc(self) -> Any: ...
    def set(self, doc: Any, key: str, value: object) -> None: ...
    def set_many(self, doc: Any, keys: list[str], value: object) -> None: ...
    def delete(self, doc: Any, key: str) -> None: ...
    def get(self, doc: Any, key: str) -> object: ...
    def keys(self, doc: Any) -> frozenset[str]: ...
    def update(self, doc: Any, since: bytes | None = None) -> bytes: ...
    def state(self, doc: Any) -> bytes: ...
    def apply(self, doc: Any, update: bytes) -> None: ...


def workloads(y: Binding) -> tuple[dict[str, Any], Any, Any]:
    """(workloads, merge_at, correctness) for one binding."""

    def filled(count: int) -> Any:
        doc = y.doc()
        y.set_many(doc, elements("element", count), True)
        return doc

    def orset_add(sizes: Sizes, repeat: int) -> Result:
        items = elements("element", sizes.elements)

        def run(doc: Any, count: int) -> None:
            for element in items[:count]:
                y.set(doc, element, True)  # one transaction per add

        result = per_op(run, lambda _: y.doc(), sizes.elements, repeat)
        result.note = "one transaction per add; its update is not captured"
        return result

    def orset_add_batch(sizes: Sizes, repeat: int) -> Result:
        items = elements("element", sizes.elements)
        result = whole(lambda doc: y.set_many(doc, items, True), y.doc, repeat)
        result.ops = sizes.elements
        result.note = "one transaction"
        return result

    def orset_remove(sizes: Sizes, repeat: int) -> Result:
        update = y.update(filled(sizes.elements))
        items = elements("element", sizes.elements // 2)

        def setup(_: int) -> Any:
            doc = y.doc()
            y.apply(doc, update)
            return doc

        def run(doc: Any, count: int) -> None:
            for element in items[:count]:
                y.delete(doc, element)

        return per_op(run, setup, len(items), repeat)

    def merge_at(size: int, repeat: int) -> Result:
        base = filled(size // 4)
        a = y.doc()
        y.apply(a, y.update(base))
        y.set_many(a, elements("element", size - size // 4, size // 4), True)
        b = y.doc()
        y.apply(b, y.update(base))
        y.set_many(b, elements("new", size // 4), True)
        a_update, b_update = y.update(a), y.update(b)

        def setup() -> Any:
            doc = y.doc()
            y.apply(doc, a_update)
            return doc

        return whole(lambda doc: y.apply(doc, b_update), setup, repeat)

    def orset_value(sizes: Sizes, repeat: int) -> Result:
        update = y.update(filled(sizes.elements))

        def setup() -> Any:
            doc = y.doc()
            y.apply(doc, update)
            return doc

        return whole(y.keys, setup, repeat)

    def lww_assign(sizes: Sizes, repeat: int) -> Result:
        def run(doc: Any, count: int) -> None:
            for i in range(count):
                y.set(doc, "register", i)

        return per_op(run, lambda _: y.doc(), sizes.assigns, repeat)

    def lww_pingpong(sizes: Sizes, repeat: int) -> Result:
        def run(pair: tuple[Any, Any], count: int) -> None:
            a, b = pair
            for i in range(count):
                y.set(a, "register", i)
                y.apply(b, y.update(a, y.state(b)))
                y.set(b, "register", -i)
                y.apply(a, y.update(b, y.state(a)))

        result = per_op(run, lambda _: (y.doc(), y.doc()), sizes.rounds, repeat)
        result.note = "ships the state-vector diff"
        return result

    def orset_encode(sizes: Sizes, repeat: int) -> Result:
        doc = filled(sizes.elements)
        return whole(y.update, lambda: doc, repeat)

    def orset_decode(sizes: Sizes, repeat: int) -> Result:
        data = y.update(filled(sizes.elements))

        def run(data: bytes) -> None:
            y.apply(y.doc(), data)

        result = whole(run, lambda: data, repeat)
        result.note = "applies the update to a new document"
        return result

    def orset_bytes(sizes: Sizes, repeat: int) -> Result:
        return Result(value=len(y.update(filled(sizes.elements))), unit="B")

    def orset_memory(sizes: Sizes, repeat: int) -> Result:
        return Result(note="n/a (Rust heap, not traced)")

    def correctness() -> dict[str, str]:
        a, b = y.doc(), y.doc()
        y.set(a, "x", True)
        y.apply(b, y.update(a))
        y.delete(a, "x")  # concurrent with b's re-set
        y.set(b, "x", True)
        y.set(a, "y", True)
        y.set(b, "z", True)
        ua, ub = y.update(a), y.update(b)
        y.apply(a, ub)
        y.apply(b, ua)
        out = {"orset": "ok" if y.keys(a) == y.keys(b) else f"wrong: {y.keys(a)} != {y.keys(b)}"}
        r1, r2 = y.doc(), y.doc()
        y.set(r1, "register", "one")
        y.set(r2, "register", "two")
        u1, u2 = y.update(r1), y.update(r2)
        y.apply(r1, u2)
        y.apply(r2, u1)
        v1, v2 = y.get(r1, "register"), y.get(r2, "register")
        out["lww"] = "ok" if v1 == v2 else f"wrong: {v1} != {v2}"
        return out

    table = {
        "orset.add": orset_add,
        "orset.add_batch": orset_add_batch,
        "orset.remove": orset_remove,
        "orset.merge": lambda sizes, repeat: merge_at(sizes.elements, repeat),
        "orset.value": orset_value,
        "lww.assign": lww_assign,
        "lww.pingpong": lww_pingpong,
        "orset.encode": orset_encode,
        "orset.decode": orset_decode,
        "orset.bytes": orset_bytes,
        "orset.memory": orset_memory,
    }
    return table, merge_at, correctness


class YjsReplicas(Replicas):
    def __init__(self, y: Binding) -> None:
        self.y = y

    def new(self, i: int) -> Any:
        return self.y.doc()

    def snapshot(self, state: Any) -> Any:
        doc = self.y.doc()
        self.y.apply(doc, self.y.update(state))
        return doc

    def merge(self, target: Any, source: Any) -> None:
        self.y.apply(target, self.y.update(source))

    def value(self, state: Any) -> Any:
        return self.y.keys(state)

    def add(self, state: Any, element: str) -> None:
        self.y.set(state, element, True)

    def remove(self, state: Any, element: str) -> None:
        self.y.delete(state, element)


def fuzzed(y: Binding) -> dict[str, str]:
    return {"orset": fuzz(YjsReplicas(y), "orset")}
