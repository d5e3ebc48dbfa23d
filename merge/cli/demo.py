"""``crdtkit demo cart``: Dynamo's shopping-cart anomaly beside ``crdts.Cart``.

One partitioned shopping session replays through Dynamo's union-of-siblings merge (sibling
carts with vector clocks) and through ``crdts.Cart`` on the simulated network; the deleted
book comes back in one and stays deleted in the other.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

import crdts
from clocks import VectorClock
from merge.cli._common import WIDTH
from merge.harness import Network

__all__ = ["add_arguments", "demo_cart", "run"]


@dataclass
class _DynamoReplica:
    """One Dynamo node's copy of a cart key: sibling versions, each with a vector clock."""

    name: str
    siblings: list[tuple[dict[str, int], VectorClock]] = field(default_factory=list)

    def read(self) -> tuple[dict[str, int], VectorClock]:
        """What a client reads: the union of the siblings, and the join of their clocks."""
        items: dict[str, int] = {}
        context = VectorClock()
        for cart, clock in self.siblings:
            for item, quantity in cart.items():
                items[item] = max(items.get(item, 0), quantity)
            context = context.merge(clock)
        return items, context

    def put(self, cart: dict[str, int], context: VectorClock) -> None:
        """Store a client's write: it supersedes every sibling its context covers."""
        clock = context.increment(self.name)
        self.siblings = [(c, v) for c, v in self.siblings if not clock.descends(v)]
        self.siblings.append((dict(cart), clock))

    def receive(self, other: _DynamoReplica) -> None:
        """Anti-entropy: keep every version no other version descends from."""
        versions = self.siblings + [s for s in other.siblings if s not in self.siblings]
        self.siblings = [
            (cart, clock)
            for cart, clock in versions
            if not any(o != clock and o.descends(clock) for _, o in versions)
        ]


def _show(items: dict[str, int]) -> str:
    return "{" + ", ".join(f"{item}: {quantity}" for item, quantity in sorted(items.items())) + "}"


def demo_cart(out: TextIO) -> int:
    """Print the cart demo to ``out``; 0 if Dynamo resurrected the book and the Cart did not."""
    phone, laptop = _DynamoReplica("phone"), _DynamoReplica("laptop")
    network = Network(crdts.Cart, ["phone", "laptop"])

    def dynamo_edit(node: _DynamoReplica, edit: Callable[[dict[str, int]], object]) -> None:
        cart, context = node.read()
        edit(cart)
        node.put(cart, context)

    def cart_of(name: str) -> dict[str, int]:
        items: dict[str, int] = network.replica(name).state.quantities
        return items

    # a step's label on a line of its own, then (who, Dynamo's view, the Cart's view) lines
    rows: list[tuple[str, ...]] = []

    def both() -> None:
        for name, node in (("phone", phone), ("laptop", laptop)):
            rows.append((f"   {name}", _show(node.read()[0]), _show(cart_of(name))))

    # 1. the phone adds a book; both replicas see it
    dynamo_edit(phone, lambda cart: cart.update(book=1))
    laptop.receive(phone)
    network.update("phone", lambda cart: cart.add("book"))
    network.settle()
    rows.append(("1. phone adds a book; laptop syncs",))
    both()
    # 2. partition
    network.partition(["phone"], ["laptop"])
    rows.append(("2. partition: phone | laptop",))
    # 3. the phone removes the book
    dynamo_edit(phone, lambda cart: cart.pop("book"))
    network.update("phone", lambda cart: cart.remove("book"))
    rows.append(("3. phone removes the book",))
    rows.append(("   phone", _show(phone.read()[0]), _show(cart_of("phone"))))
    # 4. the laptop, unaware, adds a pen
    dynamo_edit(laptop, lambda cart: cart.update(pen=1))
    network.update("laptop", lambda cart: cart.add("pen"))
    rows.append(("4. laptop adds a pen",))
    rows.append(("   laptop", _show(laptop.read()[0]), _show(cart_of("laptop"))))
    # 5. heal: anti-entropy both ways
    phone.receive(laptop)
    laptop.receive(phone)
    network.heal()
    network.settle()
    siblings = " | ".join(_show(cart) for cart, _ in phone.siblings)
    rows.append(("5. heal; replicas exchange",))
    rows.append(("", f"siblings: {siblings}", "one state, no siblings"))
    rows.append(("   the client reads",))
    both()

    header = ("step", "Dynamo: union of sibling carts", "crdts.Cart (observed-remove map)")
    cells = [row for row in (header, *rows) if len(row) == 3]
    widths = [max(len(row[column]) for row in cells) for column in range(2)]
    print(
        "Dynamo's shopping-cart anomaly (DeCandia et al. 2007):",
        "one partitioned history, two merges",
        "",
        sep="\n",
        file=out,
    )
    for row in (header, *rows):
        if len(row) == 1:
            print(row[0], file=out)
        else:
            print(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]}".rstrip(), file=out)
    dynamo_final, cart_final = phone.read()[0], cart_of("phone")
    verdicts = [
        f"Dynamo: the deleted book is back ({_show(dynamo_final)}): the remove and the add "
        "were concurrent siblings, and their union keeps every item either one had.",
        f"crdts.Cart: the book stays deleted and the pen is kept ({_show(cart_final)}): the "
        "remove retired only the book it had observed.",
    ]
    print(
        "",
        *(textwrap.fill(text, width=WIDTH - 2, subsequent_indent="  ") for text in verdicts),
        sep="\n",
        file=out,
    )
    return 0 if "book" in dynamo_final and cart_final == {"pen": 1} else 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``crdtkit demo``'s options: the anomaly's name."""
    parser.add_argument(
        "name", choices=("cart",), help="cart: Dynamo's shopping cart resurrects a deleted item"
    )


def run(options: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Replay the anomaly ``options.name`` on standard output; 0 if it showed as documented."""
    return demo_cart(sys.stdout)
