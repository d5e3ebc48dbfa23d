"""Every built-in type as ``merge.laws``/``merge.testing`` take it: a class, or a template."""

from __future__ import annotations

from typing import Any

import pytest

import crdts

BUILTIN_TYPES: list[Any] = [
    crdts.ORSet,
    crdts.RWORSet,
    crdts.MVRegister,
    crdts.EWFlag,
    crdts.DWFlag,
    crdts.CausalCounter,
    crdts.ORMap(crdts.ORSet),
    crdts.ORMap(crdts.CausalCounter),
    crdts.ORMap(crdts.ORMap(crdts.MVRegister)),
    crdts.Cart,
    crdts.GCounter,
    crdts.PNCounter,
    crdts.GSet,
    crdts.TwoPSet,
    crdts.LWWRegister,
    crdts.LWWElementSet,
    crdts.LWWElementSet(bias="remove"),
    crdts.LWWMap,
]


def type_id(crdt_type: Any) -> str:
    from merge.testing._core import describe

    return describe(crdt_type)


every_builtin_type = pytest.mark.parametrize("crdt_type", BUILTIN_TYPES, ids=type_id)
