"""Naive reference models: the textbook specifications, with tombstones and full histories.

They are slow and grow without bound, which is what makes them easy to trust. Differential
tests run them beside the optimised types and compare values after every step.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

_tags = itertools.count(1)


@dataclass
class TombstoneSet:
    """Shapiro's state-based OR-Set with tombstones, optionally remove-wins.

    ``tokens`` holds every ``(key, element, tag, is_add)`` ever seen; ``dead`` every tag
    that some replica retired. Each operation retires the live tokens it observed for the
    element (as the optimised types do), then adds a token of its own.
    """

    remove_wins: bool = False
    tokens: set[tuple[Any, Any, int, bool]] = field(default_factory=set)
    dead: set[int] = field(default_factory=set)

    def live(self, key: Any = None, element: Any = None) -> set[tuple[Any, Any, int, bool]]:
        return {
            t
            for t in self.tokens
            if t[2] not in self.dead
            and (key is None or t[0] == key)
            and (element is None or t[1] == element)
        }

    def _op(self, key: Any, element: Any, is_add: bool | None) -> TombstoneSet:
        retired = {t[2] for t in self.live(key, element)}
        delta = TombstoneSet(self.remove_wins, dead=retired)
        if is_add is not None:
            delta.tokens.add((key, element, next(_tags), is_add))
        self.merge(delta)
        return delta

    def add(self, element: Any, key: Any = None) -> TombstoneSet:
        return self._op(key, element, True)

    def remove(self, element: Any, key: Any = None) -> TombstoneSet:
        return self._op(key, element, False if self.remove_wins else None)

    def remove_key(self, key: Any) -> TombstoneSet:
        delta = TombstoneSet(self.remove_wins, dead={t[2] for t in self.live(key)})
        self.merge(delta)
        return delta

    def merge(self, other: TombstoneSet) -> None:
        self.tokens |= other.tokens
        self.dead |= other.dead

    def copy(self) -> TombstoneSet:
        return TombstoneSet(self.remove_wins, set(self.tokens), set(self.dead))

    def elements(self, key: Any = None) -> frozenset[Any]:
        by_element: dict[Any, list[bool]] = {}
        for _, element, _, is_add in self.live(key):
            by_element.setdefault(element, []).append(is_add)
        if self.remove_wins:
            return frozenset(e for e, adds in by_element.items() if all(adds))
        return frozenset(by_element)

    def as_map(self) -> dict[Any, frozenset[Any]]:
        keys = {t[0] for t in self.live()}
        return {key: self.elements(key) for key in keys}
