"""The registry's mutators as Hypothesis strategies (see :mod:`merge.registry`).

Each argument kind of a registered mutator is drawn from a small pool (:data:`KINDS`), so
removes meet adds and concurrent edits collide. :func:`register_type` is
:func:`merge.registry.register_type`: a type registered there gets :func:`mutators`, and
through it ``operations``, ``states``, ``check_crdt``, ``check_convergence`` and
``ConvergenceMachine`` without ``ops=``.
"""

from __future__ import annotations

from typing import Any

try:
    import hypothesis  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised in a subprocess
    raise ImportError(
        f"{__name__} needs Hypothesis: install the testing extra, pip install crdtkit[testing]"
    ) from error

from hypothesis import strategies as st

import crdts
from crdts.values import value_key
from merge import registry
from merge.registry import StateRead, keyword_of, register_type
from merge.resolvers import maximum
from merge.testing._core import CRDTType, Op, calls, describe, one

__all__ = ["KINDS", "VALUES", "mutators", "register_type"]

_NO_ARGS: st.SearchStrategy[tuple[Any, ...]] = st.just(())
_ELEMENTS = st.sampled_from(["a", "b", "c", 1, (2, "x"), b"z"])
_KEYS = st.sampled_from(["k1", "k2", "k3"])
VALUES = st.one_of(_ELEMENTS, st.lists(st.integers(0, 3), max_size=2))
_AMOUNTS = st.integers(0, 5)

#: Hypothesis strategies for the argument kinds of :mod:`merge.registry`.
KINDS: dict[str, st.SearchStrategy[Any]] = {
    registry.ELEMENT: _ELEMENTS,
    registry.KEY: _KEYS,
    registry.VALUE: VALUES,
    registry.AMOUNT: _AMOUNTS,
    registry.QUANTITY: st.integers(1, 4),
    registry.QUANTITY_OR_ALL: st.none() | st.integers(1, 4),
    # a blind write, or one by a client that read this replica just before
    registry.READ: st.sampled_from([None, StateRead("context")]),
    registry.RESOLVER: st.sampled_from([maximum.by(value_key), list]),
}


def _op(spec: Any, crdt_type: CRDTType) -> Op:
    """An :class:`Op` from a registry spec ``(name, *kinds)`` (an ``Op`` stays as it is)."""
    if isinstance(spec, Op):
        return spec
    name, *written = spec
    if not written:
        return Op(name, _NO_ARGS)
    parsed = [keyword_of(kind) for kind in written]
    keywords = tuple(keyword for keyword, _ in parsed if keyword is not None)
    kinds = [kind for _, kind in parsed]
    if keywords:
        if any(keyword is None for keyword, _ in parsed[len(parsed) - len(keywords) :]):
            raise ValueError(f"{spec!r}: keyword arguments (name=kind) must come last")
        return Op(name, st.tuples(*(KINDS[kind] for kind in kinds)), keywords)
    if registry.NESTED in kinds:
        if not isinstance(crdt_type, crdts.ORMap):
            raise TypeError(
                "an ORMap's operations depend on its value type: pass an empty "
                "template such as ORMap(ORSet) instead of the class"
            )
        nested = calls(mutators(crdt_type.value_type))
        return Op(
            name, st.tuples(*(nested if kind == registry.NESTED else KINDS[kind] for kind in kinds))
        )
    if len(kinds) == 1:
        return Op(name, one(KINDS[kinds[0]]))
    return Op(name, st.tuples(*(KINDS[kind] for kind in kinds)))


def mutators(crdt_type: CRDTType) -> list[Op]:
    """The mutators of a built-in type, each with a strategy for its arguments.

    ``crdt_type`` is a class, or an empty instance for a configured type: an ORMap's
    operations depend on its value type, so pass ``ORMap(ORSet)``; ``update`` then applies
    one of the value type's operations to a key. A subclass of a built-in type gets its
    base's operations.

    Raises:
        TypeError: the type is not built in (describe its mutators as a list of ``Op``) or
            is a bare ``ORMap`` class.

    Examples:
        >>> import crdts
        >>> from merge.testing import mutators
        >>> [op.name for op in mutators(crdts.ORSet)]
        ['add', 'remove', 'discard', 'clear']
        >>> [op.name for op in mutators(crdts.ORMap(crdts.ORSet))]
        ['update', 'remove', 'discard']
    """
    found = registry.profile_for(crdt_type)
    if found is not None and found.ops:
        return [_op(spec, crdt_type) for spec in found.ops]
    raise TypeError(
        f"merge.testing has no operations for {describe(crdt_type)}; describe its "
        f"mutators, e.g. ops=[Op('assign', st.tuples(st.integers()))], or register it "
        f"with merge.testing.register_type"
    )
