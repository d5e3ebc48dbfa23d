"""Bounded model checks: for small clusters, every order in which up to four messages can
arrive (with ``itertools.permutations``) leads every replica to the join of all updates.

Each scenario is rebuilt from scratch for every order (a seed makes the rebuild exact), its
messages are delivered by hand in that order, and only then is the outcome checked — no
extra anti-entropy round is allowed to paper over a wrong order.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from merge.harness import Faults, Network
from tests.registry import TYPES, ManualTime, Op, TypeSpec

IDS = ["a", "b", "c"]
Update = tuple[str, Op, tuple[Any, ...]]


def draw_updates(data: st.DataObject, spec: TypeSpec, replicas: list[str]) -> list[Update]:
    updates = []
    for replica in replicas:
        op = data.draw(st.sampled_from(spec.ops), label=f"op at {replica}")
        updates.append((replica, op, data.draw(op.args, label=f"args at {replica}")))
    return updates


def build(spec: TypeSpec, sync: str, script: Callable[[Network, list[Any]], None]) -> Any:
    network = Network(
        spec.make(None, ManualTime()),
        IDS,
        sync=sync,  # type: ignore[arg-type]
        faults=Faults(delay=(1, 1)),
        fanout=len(IDS) - 1,
        seed=1,
    )
    deltas: list[Any] = []
    script(network, deltas)
    return network, deltas


def apply(network: Network, deltas: list[Any], updates: list[Update]) -> None:
    for replica, op, args in updates:
        delta = network.update(replica, lambda state, op=op, args=args: op.apply(state, args))
        if delta is not None:
            deltas.append(delta)


def join(network: Network, deltas: list[Any], numbers: Iterable[int]) -> Any:
    state = network.template
    for number in numbers:
        state.merge(deltas[number])
    return state


def check_every_order(
    spec: TypeSpec,
    sync: str,
    script: Callable[[Network, list[Any]], None],
    *,
    duplicate_first: bool = False,
    complete: tuple[str, ...] = tuple(IDS),
) -> int:
    """Deliver the scenario's in-flight messages in every order; return how many orders.

    After each order, the ``complete`` replicas must equal the join of all updates, and
    every replica the join of the updates it has seen."""
    network, _ = build(spec, sync, script)
    ids = [message.id for message in network.in_flight]
    assert len(ids) <= 4 - duplicate_first
    if duplicate_first and ids:
        ids = [*ids[:3], ids[0]]  # the first message arrives twice
    orders = set(itertools.permutations(ids))
    for order in sorted(orders):
        network, deltas = build(spec, sync, script)
        for position, message_id in enumerate(order):
            keep = message_id in order[position + 1 :]
            network.deliver(message_id, keep=keep)
        expected = join(network, deltas, range(len(deltas)))
        for replica in network.replicas:
            state = network.replica(replica).state
            state._check()
            seen = network.replica(replica).seen_updates
            assert state == join(network, deltas, seen), (order, replica)
            if replica in complete:
                assert state == expected, (order, replica)
        # what is left (acks, relays, what a never got) brings every replica to the join
        network.settle(max_steps=50)
        assert all(network.replica(r).state == expected for r in network.replicas), order
    return len(orders)


@pytest.mark.parametrize("spec", TYPES, ids=repr)
@settings(max_examples=8)
@given(data=st.data())
def test_two_writers_converge_in_every_delivery_order(spec: TypeSpec, data: st.DataObject) -> None:
    """a and b each update once; one round sends a->b, a->c, b->a, b->c: 24 orders."""
    updates = draw_updates(data, spec, ["a", "b"])

    def script(network: Network, deltas: list[Any]) -> None:
        apply(network, deltas, updates)
        network.gossip("a", "b")

    for sync in ("delta", "state"):
        check_every_order(spec, sync, script)


@pytest.mark.parametrize("spec", TYPES, ids=repr)
@settings(max_examples=6)
@given(data=st.data())
def test_an_older_interval_arriving_last_loses_nothing(spec: TypeSpec, data: st.DataObject) -> None:
    """a updates, sends, updates again, sends again: the second message to each peer
    carries only what is new, and either may arrive first."""
    first, second = draw_updates(data, spec, ["a", "a"])

    def script(network: Network, deltas: list[Any]) -> None:
        apply(network, deltas, [first])
        network.gossip("a")
        apply(network, deltas, [second])
        network.gossip("a")

    for sync in ("delta", "state"):
        check_every_order(spec, sync, script)


@pytest.mark.parametrize("spec", TYPES, ids=repr)
@settings(max_examples=6)
@given(data=st.data())
def test_a_duplicated_message_changes_nothing_in_any_order(
    spec: TypeSpec, data: st.DataObject
) -> None:
    """a and b update; a's messages and b's message to c, the first one twice: every order
    of the four arrivals."""
    updates = draw_updates(data, spec, ["a", "b"])

    def script(network: Network, deltas: list[Any]) -> None:
        apply(network, deltas, updates)
        network.gossip("a")
        network.partition(["a"])  # b's message to a is lost: only b -> c is in flight
        network.gossip("b")
        network.heal()

    for sync in ("delta", "state"):
        check_every_order(spec, sync, script, duplicate_first=True, complete=("b", "c"))


def test_every_order_of_four_messages_is_tried() -> None:
    spec = TYPES[0]
    op = spec.ops[0]

    def script(network: Network, deltas: list[Any]) -> None:
        apply(network, deltas, [("a", op, ("x",)), ("b", op, ("y",))])
        network.gossip("a", "b")

    assert check_every_order(spec, "delta", script) == 24
