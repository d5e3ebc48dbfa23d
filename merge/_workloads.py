"""Random updates for each built-in type, drawn from a ``random.Random`` (no Hypothesis).

The ``crdtkit simulate`` command and ``bench/harness.py`` use these to drive a
[`Network`][merge.Network]: ``operation(name, rng)`` returns a function for
``Network.update`` that picks a mutator suited to the state it is given.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import crdts

__all__ = ["TYPE_NAMES", "operation", "template"]

#: Elements and keys come from small pools so that removes and concurrent edits collide.
_POOL = 12
_KEYS = 4


def _templates() -> dict[str, Callable[[], Any]]:
    return {
        "gcounter": crdts.GCounter,
        "pncounter": crdts.PNCounter,
        "causalcounter": crdts.CausalCounter,
        "gset": crdts.GSet,
        "twopset": crdts.TwoPSet,
        "orset": crdts.ORSet,
        "rworset": crdts.RWORSet,
        "lwwelementset": crdts.LWWElementSet,
        "mvregister": crdts.MVRegister,
        "lwwregister": crdts.LWWRegister,
        "lwwmap": crdts.LWWMap,
        "ewflag": crdts.EWFlag,
        "dwflag": crdts.DWFlag,
        "ormap": lambda: crdts.ORMap(crdts.ORSet),
        "cart": crdts.Cart,
    }


#: The names ``crdtkit simulate --type`` accepts (``ormap`` is ``ORMap(ORSet)``).
TYPE_NAMES: tuple[str, ...] = tuple(_templates())


def template(name: str) -> Any:
    """An empty, unbound instance of the type called ``name``."""
    return _templates()[name]()


def _item(rng: random.Random) -> str:
    return f"item-{rng.randrange(_POOL)}"


def _key(rng: random.Random) -> str:
    return f"key-{rng.randrange(_KEYS)}"


def _present(rng: random.Random, elements: Any) -> Any:
    return rng.choice(sorted(elements, key=repr))


def operation(name: str, rng: random.Random) -> Callable[[Any], Any]:
    """A function for ``Network.update`` that applies one random mutator of type ``name``."""

    def counter(state: Any) -> Any:
        amount = rng.randint(1, 5)
        if name != "gcounter" and rng.random() < 0.4:
            return state.decrement(amount)
        return state.increment(amount)

    def observed_remove_set(state: Any) -> Any:
        element = _item(rng)
        if state.value and rng.random() < 0.4:
            return state.remove(_present(rng, state.value))
        return state.add(element)

    def two_phase_set(state: Any) -> Any:
        if state.value and rng.random() < 0.3:
            return state.remove(_present(rng, state.value))
        try:
            return state.add(f"item-{rng.randrange(10 * _POOL)}")
        except ValueError:  # removed before: a two-phase set refuses to re-add
            return None

    def lww_set(state: Any) -> Any:
        element = _item(rng)
        return state.remove(element) if rng.random() < 0.4 else state.add(element)

    def register(state: Any) -> Any:
        return state.assign(rng.randrange(100))

    def lww_map(state: Any) -> Any:
        key = _key(rng)
        return state.remove(key) if rng.random() < 0.3 else state.set(key, rng.randrange(100))

    def flag(state: Any) -> Any:
        return state.disable() if rng.random() < 0.4 else state.enable()

    def or_map(state: Any) -> Any:
        if state.value and rng.random() < 0.2:
            return state.remove(_present(rng, state.value))
        key, element = _key(rng), _item(rng)
        if rng.random() < 0.3:
            return state.update(key, lambda nested: nested.discard(element))
        return state.update(key, lambda nested: nested.add(element))

    def cart(state: Any) -> Any:
        if state.items and rng.random() < 0.35:
            return state.remove(_present(rng, state.items))
        return state.add(_item(rng), rng.randint(1, 3))

    table: dict[str, Callable[[Any], Any]] = {
        "gcounter": counter,
        "pncounter": counter,
        "causalcounter": counter,
        "gset": lambda state: state.add(_item(rng)),
        "twopset": two_phase_set,
        "orset": observed_remove_set,
        "rworset": observed_remove_set,
        "lwwelementset": lww_set,
        "mvregister": register,
        "lwwregister": register,
        "lwwmap": lww_map,
        "ewflag": flag,
        "dwflag": flag,
        "ormap": or_map,
        "cart": cart,
    }
    return table[name]
