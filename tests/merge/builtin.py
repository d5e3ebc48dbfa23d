"""Every built-in type as ``merge.laws``/``merge.testing`` take it: a class, or a template.

Read from the type registry (see ``tests/registry.py``), so a type registered there is
checked by every ``@every_builtin_type`` test.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.registry import TYPES

BUILTIN_TYPES: list[Any] = [spec.crdt_type for spec in TYPES]


def type_id(crdt_type: Any) -> str:
    from merge.testing._core import describe

    return describe(crdt_type)


every_builtin_type = pytest.mark.parametrize("crdt_type", BUILTIN_TYPES, ids=type_id)
