"""Golden wire vectors: bytes written by format version 1 must keep decoding the same way.

A failure here means the wire format changed. Do not regenerate ``v1.json``: bump the
type's ``format_version``, keep a reader for version 1, and add a ``v2.json``.
"""

from __future__ import annotations

import json

import pytest

import crdts
from crdts import _registry
from crdts._base import CRDT
from tests.vectors.states import STATES, VECTORS

GOLDEN: dict[str, str] = json.loads(VECTORS.read_text())


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_each_golden_vector_decodes_to_its_state_and_re_encodes_identically(name: str) -> None:
    expected = STATES[name]()
    data = bytes.fromhex(GOLDEN[name])
    decoded = crdts.decode(data)
    assert decoded == expected
    if hasattr(decoded, "_check"):
        decoded._check()
    assert crdts.encode(expected) == data


def test_every_registered_type_has_a_golden_vector() -> None:
    pinned = {type(crdts.decode(bytes.fromhex(hexed))) for hexed in GOLDEN.values()}
    built_in = {
        cls
        for cls in _registry.registered().values()
        if cls.__module__.startswith("crdts.") and issubclass(cls, CRDT)
    }
    assert built_in <= pinned
