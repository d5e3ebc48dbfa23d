"""Cart: a shopping cart that never loses an add and never resurrects a delete.

State: an ``ORMap`` from item to ``CausalCounter``. Join: the map's reset-remove
join. Value: ``{item: quantity}`` for every item whose quantity is above zero.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
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


#: quantities travel as signed 64-bit ints: every local write keeps an item below this
_LIMIT = 2**63


class Cart(ORMap, type_code=15):
    """A shopping cart: concurrent adds sum, and a removal resets only what it saw.

    This is the cart Dynamo wanted: merging by set union never loses an add but brings
    deleted items back; here a ``remove`` retires exactly the quantities its replica
    observed, so a concurrent add survives with *its own* quantity and nothing else.

    Reading: a cart reads like a read-only ``dict`` from item to quantity, as every map
    does — ``cart[item]`` (``KeyError`` if absent), ``get(item, default)``, ``in``,
    ``len``, iteration over the items, and ``keys()``, ``items()``, ``values()`` as
    methods. ``quantities`` (and ``value``) is the whole ``{item: quantity}`` dict.

    Writing: ``add``, ``remove`` and ``discard`` only. They keep every quantity in
    ``[1, 2**63)`` on this replica: an ``add`` that would reach ``2**63`` raises
    ``ValueError`` and changes nothing. The map's ``update`` raises ``TypeError``, since a
    nested counter could be driven below zero or past the limit through it.

    Surprises:
        * Removing part of a quantity records what is left as a new fact: if another
          replica concurrently removes the item, the remainder survives (as a concurrent
          add would).
        * ``remove(item)`` raises ``KeyError`` for an item this replica does not show;
          ``discard(item)`` does not.
        * Concurrent adds sum on merge, so two replicas each adding ``2**62`` of one item
          show ``2**63`` after merging: every write was in bounds, and such an item then
          accepts only removals.

    Examples:
        >>> from crdts import Cart
        >>> phone = Cart(replica="phone")
        >>> laptop = phone.copy(replica="laptop")
        >>> laptop.merge(phone.add("book", 2))
        >>> _ = laptop.remove("book")           # deleted on the laptop...
        >>> _ = phone.add("pen")                # ...while the phone adds a pen
        >>> phone.merge(laptop); laptop.merge(phone)
        >>> phone.quantities, phone == laptop   # the book stays deleted, the pen stays
        ({'pen': 1}, True)
        >>> phone["pen"], list(phone.items())
        (1, [('pen', 1)])

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

        Raises:
            TypeError: ``quantity`` is not an int.
            ValueError: ``quantity`` is not positive, or the item would hold ``2**63`` or
                more here; nothing changes.
        """
        amount = _quantity(quantity)
        self._writer()
        hidden = self._entries.get(item)
        current = 0 if hidden is None else hidden.value
        if current + amount >= _LIMIT:
            raise ValueError(
                f"cannot add {amount} of {item!r}: the cart holds {current} and a quantity "
                f"must stay below 2**63"
            )
        if hidden is not None and current <= 0:
            delta = super().discard(item)
            delta.merge(self._update(item, lambda counter: counter.increment(amount)))
            return delta
        return self._update(item, lambda counter: counter.increment(amount))

    @locked
    def remove(self, item: Hashable, quantity: int | None = None) -> Self:
        """Remove ``quantity`` of ``item``, or (``None``) all of it observed here.

        Raises:
            KeyError: the item is not in this replica's cart (use ``discard``).
            ValueError: ``quantity`` is not positive or exceeds the quantity here, or what
                would be left is ``2**63`` or more (remove all of it instead).
        """
        self._writer()
        current = self.quantities.get(item, 0)
        if current <= 0:
            raise KeyError(item)
        if quantity is None:
            return super().discard(item)
        amount = _quantity(quantity)
        if amount > current:
            raise ValueError(f"cannot remove {amount} of {item!r}: the cart holds {current}")
        if amount == current:
            return super().discard(item)
        if current - amount >= _LIMIT:
            raise ValueError(
                f"cannot leave {current - amount} of {item!r}: a quantity must stay below "
                f"2**63; remove all of it with remove({item!r})"
            )
        # retire the quantity observed here and record what is left as a fresh fact, so a
        # concurrent removal cannot leave a bare decrement behind to eat later adds
        return self._update(item, lambda counter: counter._reset_to(current - amount))

    def update(self, key: Hashable, fn: Callable[[Any], Any]) -> Self:
        """Refused: a cart changes through ``add``, ``remove`` and ``discard`` only.

        Raises:
            TypeError: always (a nested counter could go below zero or past ``2**63``).
        """
        raise TypeError(
            "a Cart changes only through add(item, quantity), remove(item, quantity) and "
            "discard(item), which keep every quantity in [1, 2**63); Cart.update is refused"
        )

    @property
    @locked
    def quantities(self) -> dict[Any, int]:
        """A new dict ``{item: quantity}`` of every item with a quantity above zero (what
        ``cart.items`` was before it became a method). O(i) for i items."""
        result = {}
        for item, counter in self._entries.items():
            quantity = counter.value
            if quantity > 0:
                result[item] = quantity
        return result

    @property
    def value(self) -> dict[Any, int]:
        """Same as ``quantities``."""
        return self.quantities

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The quantity of ``key``, or ``default`` if it is not in the cart."""
        return self.quantities.get(key, default)

    def __getitem__(self, key: Hashable) -> int:
        """The quantity of ``key``.

        Raises:
            KeyError: ``key`` is not in the cart.
        """
        return self.quantities[key]

    def __contains__(self, key: object) -> bool:
        try:
            return key in self.quantities
        except TypeError:
            return False

    def __len__(self) -> int:
        return len(self.quantities)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.quantities)

    def __repr__(self) -> str:
        return f"Cart(replica={self.replica!r}, quantities={self.quantities!r})"

    def _spec(self) -> Any:
        return (type(self),)

    _wire_spec = False

    @classmethod
    def _fixed(cls) -> Self:
        return cls()
