"""MVRegister: the multi-value register.

State: a dot store mapping each assignment's dot to its value, plus the causal context.
Join: the causal kernel's rule, so an assignment survives unless the other side saw it and
overwrote it. Value: every surviving value — one after sequential writes, several (siblings)
after concurrent ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Self

from crdts import _wire
from crdts._base import locked
from crdts._causal import CausalCRDT, DotFun
from crdts._values import check_value, own_value

__all__ = ["MVRegister"]


class MVRegister(CausalCRDT, type_code=4):
    """A multi-value register: concurrent writes are all kept, as siblings.

    ``assign`` overwrites every value this replica has observed. Concurrent assignments
    each survive; the reader sees all of them in ``values`` (ordered by the dot that wrote
    them, so the same order on every replica) and may ``resolve`` them into one.

    Reading: ``values`` is the tuple of siblings — every concurrent value, ordered by the
    dot that wrote it, ``()`` before any write. ``value`` is the same tuple (every type's
    ``value`` is its whole observable state, the thing replicas converge on), never a
    single value that turns into a tuple when a concurrent write arrives; use
    ``resolve`` (or ``values[0]`` after checking ``len``) to get one value.

    Surprises:
        * ``values`` is a tuple, even when there is one value, and ``()`` before any write.
        * Two replicas assigning the *same* value concurrently give two equal siblings.
        * Values are copied in and out: a list or dict changed after ``assign``, or after
          reading it, changes nothing in the register.

    Examples:
        >>> from crdts import MVRegister
        >>> a, b = MVRegister(replica="a"), MVRegister(replica="b")
        >>> _ = a.assign("red"); _ = b.assign("blue")
        >>> a.merge(b); a.values
        ('red', 'blue')
        >>> _ = a.resolve(lambda values: " and ".join(values)); a.values
        ('red and blue',)

    Merge cost: O(s) for s siblings. State size: O(s) plus the causal context.
    """

    __slots__ = ()

    @staticmethod
    def _payload_to_wire(payload: Any) -> Any:
        return _wire.value_to_wire(payload)

    @staticmethod
    def _payload_from_wire(data: Any) -> Any:
        return _wire.value_from_wire(data)

    def __init__(self, *, replica: str | None = None) -> None:
        super().__init__(replica=replica)
        self._store: DotFun[Any] = DotFun()

    @locked
    def assign(self, value: Any) -> Self:
        """Replace every value observed here with ``value``; return the delta."""
        value = own_value(check_value(value))
        return self._mutate(list(self._store.dots()), (value,))

    @locked
    def resolve(self, fn: Callable[[tuple[Any, ...]], Any]) -> Self:
        """Assign ``fn(values)``: collapse the siblings into one value; return the delta.

        An empty register has nothing to resolve: ``fn`` is not called and the delta is
        empty (as with ``merge.Siblings.resolve``).
        """
        if not self._store:
            return self._mutate()
        return self.assign(fn(self.values))

    @property
    @locked
    def values(self) -> tuple[Any, ...]:
        """The concurrent values, ordered by the dots that wrote them (copies of those that
        hold lists or dicts)."""
        return tuple(own_value(value) for _, value in self._store.sorted_items())

    @property
    def value(self) -> tuple[Any, ...]:
        """The siblings tuple, the same as ``values`` (a tuple even with one sibling)."""
        return self.values
