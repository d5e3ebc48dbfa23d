"""Random updates for each registered type, drawn from a ``random.Random`` (no Hypothesis).

The ``crdtkit simulate`` command and ``bench/harness.py`` use these to drive a
[`Network`][merge.Network]: ``operation(name, rng)`` returns a function for
``Network.update`` that picks a mutator suited to the state it is given. The workloads
themselves are part of each type's profile in `merge.registry`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from merge.registry import builtins, resolve

__all__ = ["TYPE_NAMES", "operation", "template"]

#: The built-in names ``crdtkit simulate --type`` accepts (``ormap`` is ``ORMap(ORSet)``):
#: every built-in profile whose mutators return deltas (the simulator ships them).
TYPE_NAMES: tuple[str, ...] = tuple(entry.name for entry in builtins() if entry.deltas)


def template(name: str) -> Any:
    """An empty, unbound instance of the type called ``name`` (or ``package.module:Class``)."""
    return resolve(name).template()


def operation(name: str, rng: random.Random) -> Callable[[Any], Any]:
    """A function for ``Network.update`` that applies one random mutator of type ``name``."""
    return resolve(name).update(rng)
