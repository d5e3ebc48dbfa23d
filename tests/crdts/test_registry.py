"""One codec registry, filled by class statements: clashes and missing hooks fail where the
class is defined, never at the first encode or by decoding bytes as the wrong type."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import crdts
from crdts import CRDT, DecodeError, GCounter, _registry, codec

USER_CODE = 123


@pytest.fixture(autouse=True)
def _restore_registry() -> Iterator[None]:
    by_code, by_class = dict(_registry._BY_CODE), dict(_registry._BY_CLASS)
    yield
    _registry._BY_CODE.clear()
    _registry._BY_CODE.update(by_code)
    _registry._BY_CLASS.clear()
    _registry._BY_CLASS.update(by_class)


def test_a_users_type_cannot_claim_a_code_reserved_for_crdtkit() -> None:
    import merge  # noqa: F401  (registers Siblings under code 30)

    with pytest.raises(ValueError, match=r"reserved for crdtkit's own types \(0..63\)"):

        class Impostor(GCounter, type_code=30):  # the code of merge.Siblings
            pass

    assert type(crdts.decode(crdts.encode(_siblings()))).__name__ == "Siblings"


def _siblings() -> Any:
    from merge import Siblings

    store = Siblings()
    store.put("v", context=None, replica="s1")
    return store


def test_a_taken_user_code_fails_at_class_definition_naming_the_owner() -> None:
    class First(GCounter, type_code=USER_CODE):
        pass

    with pytest.raises(ValueError, match=rf"ext code {USER_CODE} is taken by .*First"):

        class Second(GCounter, type_code=USER_CODE):
            pass

    counter = First(replica="a")
    counter.increment(3)
    again = crdts.decode(crdts.encode(counter))
    assert type(again) is First and again.value == 3


def test_a_class_defined_again_under_its_own_name_takes_its_code_back() -> None:
    def define() -> type[GCounter]:
        class Reloaded(GCounter, type_code=USER_CODE):
            pass

        return Reloaded

    old, new = define(), define()  # a reloaded module, a re-run notebook cell
    assert type(crdts.decode(crdts.encode(new(replica="a")))) is new
    with pytest.raises(TypeError, match="has no wire format"):
        crdts.encode(old(replica="a"))


def test_a_type_missing_hooks_fails_at_class_definition_naming_them() -> None:
    with pytest.raises(TypeError, match=r"does not implement _copy, _check, _to_wire, _from_wire"):

        class Half(CRDT, type_code=USER_CODE):
            @property
            def value(self) -> Any:
                return None

            def _merge(self, other: Any) -> None:
                pass

            def _state(self) -> Any:
                return None

    assert _registry.by_code(USER_CODE) is None  # nothing half-registered


def test_codes_are_checked_for_type_and_range() -> None:
    with pytest.raises(ValueError, match=r"0\.\.127"):

        class TooBig(GCounter, type_code=128):
            pass

    with pytest.raises(TypeError, match="must be ints"):
        codec.register(
            object, code=True, version=1, to_wire=lambda obj: obj, from_wire=lambda v, s: s
        )


def test_bytes_with_an_unregistered_code_are_refused() -> None:
    data = bytearray(crdts.encode(GCounter()))
    assert data[2] == GCounter.type_code  # fixext/ext8 header, then the code
    data[2] = USER_CODE
    with pytest.raises(DecodeError, match=f"unknown ext type code {USER_CODE}"):
        crdts.decode(bytes(data))


def test_help_lists_every_required_hook() -> None:
    doc = CRDT.__doc__ or ""
    for hook in ("value", "_merge", "_state", "_copy", "_check", "_to_wire", "_from_wire"):
        assert f"``{hook}" in doc
