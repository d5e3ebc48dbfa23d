"""Cart: a shopping cart that never loses an add and never resurrects a delete.

State: an ``ORMap`` from item to ``CausalCounter``. Join: the map's reset-remove
join. Value: ``{item: quantity}`` for every item whose quantity is above zero.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import Any, Self

from crdts._base import locked
from crdts.causal_counter import CausalCounter
from crdts.ormap import ORMap

__all__ = ["Cart"]


def _quantity(quantity: Any) -> int:
    if type(quantity) is not int:
        raise TypeError(f"quantity must be an int, not {type(quantity).__name__}")
    if not 0 < quantity < 2**63:
        raise ValueError(f"quantity must be in [1, 2**63), not {quantity}")
    return quantity


class Cart(ORMap, type_code=15):
    """A shopping cart: concurrent adds sum, and a removal resets only what it saw.

    This is the cart Dynamo wanted: merging by set union never loses an add but brings
    deleted items back; here a ``remove`` retires exactly the quantities its replica
    observed, so a concurrent add survives with *its own* quantity and nothing else.

    Surprises:
        * Removing part of a quantity records what is left as a new fact: if another
          replica concurrently removes the item, the remainder survives (as a concurrent
          add would).
        * ``remove(item)`` raises ``KeyError`` for an item this replica does not show.

    Examples:
        >>> from crdts import Cart
        >>> phone = Cart(replica="phone")
        >>> laptop = phone.copy(replica="laptop")
        >>> laptop.merge(phone.add("book", 2))
        >>> _ = laptop.remove("book")           # deleted on the laptop...
        >>> _ = phone.add("pen")                # ...while the phone adds a pen
        >>> phone.merge(laptop); laptop.merge(phone)
        >>> phone.items, phone == laptop        # the book stays deleted, the pen stays
        ({'pen': 1}, True)

    Merge cost: O(i + d) for i items and d dots in the other state. State size: O(u) live
    updates across items, plus one causal context.
    """

    __slots__ = ()

    def __init__(self, *, replica: str | None = None) -> None:
        super().__init__(CausalCounter, replica=replica)

    def _empty(self) -> Self:
        return type(self)()

    @locked
    def add(self, item: Hashable, quantity: int = 1) -> Self:
        """Add ``quantity`` (> 0) of ``item``; return the delta.

        An item the cart hides (its quantity fell to zero or below through concurrent
        removals) starts again from nothing: the add resets what is left of it here.
        """
        amount = _quantity(quantity)
        hidden = self._entries.get(item)
        if hidden is not None and hidden.value <= 0:
            delta = super().discard(item)
            delta.merge(self.update(item, lambda counter: counter.increment(amount)))
            return delta
        return self.update(item, lambda counter: counter.increment(amount))

    @locked
    def remove(self, item: Hashable, quantity: int | None = None) -> Self:
        """Remove ``quantity`` of ``item``, or (``None``) all of it observed here.

        Raises:
            KeyError: the item is not in this replica's cart.
            ValueError: ``quantity`` is not positive or exceeds the quantity here.
        """
        self._writer()
        current = self.items.get(item, 0)
        if current <= 0:
            raise KeyError(item)
        if quantity is None:
            return super().discard(item)
        amount = _quantity(quantity)
        if amount > current:
            raise ValueError(f"cannot remove {amount} of {item!r}: the cart holds {current}")
        if amount == current:
            return super().discard(item)
        # retire the quantity observed here and record what is left as a fresh fact, so a
        # concurrent removal cannot leave a bare decrement behind to eat later adds
        return self.update(item, lambda counter: counter._reset_to(current - amount))

    @property
    @locked
    def items(self) -> dict[Any, int]:
        """``{item: quantity}`` for every item with a quantity above zero."""
        result = {}
        for item, counter in self._entries.items():
            quantity = counter.value
            if quantity > 0:
                result[item] = quantity
        return result

    @property
    def value(self) -> dict[Any, int]:
        """Same as ``items``."""
        return self.items

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The quantity of ``key``, or ``default`` if it is not in the cart."""
        return self.items.get(key, default)

    def __getitem__(self, key: Hashable) -> int:
        return self.items[key]

    def __contains__(self, key: object) -> bool:
        try:
            return key in self.items
        except TypeError:
            return False

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)

    def __repr__(self) -> str:
        return f"Cart(replica={self.replica!r}, items={self.items!r})"

    def _spec(self) -> Any:
        return (type(self),)

    _wire_spec = False

    @classmethod
    def _fixed(cls) -> Self:
        return cls()
