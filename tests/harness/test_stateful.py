"""Stateful convergence tests: for every built-in type, Hypothesis drives a simulated cluster
through random updates, steps, hand-picked deliveries (in any order, possibly twice), drops,
partitions, heals, crashes and restarts, over both sync modes, with random loss,
duplication, reordering and clock skew.

Invariants, checked after every rule:
- each replica's state equals the join of the template and the deltas of exactly the updates
  it has seen — so replicas that have exchanged everything are equal, metadata included;
- every replica passes ``_check()``.
At the end: heal, restart everyone, settle; every replica equals the join of all deltas.
"""

from __future__ import annotations

from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from merge.harness import Faults, Network
from tests.registry import TYPES, ManualTime, TypeSpec


class ClusterMachine(RuleBasedStateMachine):
    """A cluster of replicas of ``spec``'s type on a faulty simulated network."""

    spec: TypeSpec

    def __init__(self) -> None:
        super().__init__()
        self.network: Network | None = None
        self.deltas: list[Any] = []
        self.joins: dict[frozenset[int], Any] = {}

    @property
    def net(self) -> Network:
        assert self.network is not None
        return self.network

    def live(self) -> list[str]:
        return [rid for rid in self.net.replicas if self.net.replica(rid).up]

    def crashed(self) -> list[str]:
        return [rid for rid in self.net.replicas if not self.net.replica(rid).up]

    def join_of(self, seen: frozenset[int]) -> Any:
        """The template joined with the deltas of the updates in ``seen`` (memoised)."""
        if seen not in self.joins:
            state = self.net.template
            for number in sorted(seen):
                state.merge(self.deltas[number])
            self.joins[seen] = state
        return self.joins[seen]

    @initialize(
        replicas=st.integers(2, 4),
        sync=st.sampled_from(["delta", "state"]),
        drop=st.sampled_from([0.0, 0.1, 0.4]),
        duplicate=st.sampled_from([0.0, 0.3]),
        reorder=st.sampled_from([0.0, 0.5]),
        skew=st.sampled_from([0, 300, 900]),
        buffer_limit=st.sampled_from([None, 1, 3]),
        relay=st.booleans(),
        seed=st.integers(0, 2**16),
    )
    def boot(
        self,
        replicas: int,
        sync: str,
        drop: float,
        duplicate: float,
        reorder: float,
        skew: int,
        buffer_limit: int | None,
        relay: bool,
        seed: int,
    ) -> None:
        self.network = Network(
            self.spec.make(None, ManualTime()),
            replicas,
            sync=sync,  # type: ignore[arg-type]
            faults=Faults(drop=drop, duplicate=duplicate, reorder=reorder, delay=(1, 3)),
            seed=seed,
            clock_skew={"r0": skew, "r1": -skew // 3},
            buffer_limit=buffer_limit,
            relay=relay,
        )

    @precondition(lambda self: self.network is not None and self.live())
    @rule(data=st.data())
    def update(self, data: st.DataObject) -> None:
        replica = data.draw(st.sampled_from(self.live()), label="replica")
        op = data.draw(st.sampled_from(self.spec.ops), label="op")
        args = data.draw(op.args, label="args")
        delta = self.net.update(replica, lambda state: op.apply(state, args))
        if delta is not None:
            delta._check()
            self.deltas.append(delta)
        assert len(self.deltas) == self.net.metrics.updates

    @precondition(lambda self: self.network is not None)
    @rule(steps=st.integers(1, 4))
    def step(self, steps: int) -> None:
        self.net.run(steps)

    @precondition(lambda self: self.network is not None)
    @rule()
    def gossip(self) -> None:
        self.net.gossip()

    @precondition(lambda self: self.network is not None and self.net.in_flight)
    @rule(data=st.data())
    def deliver(self, data: st.DataObject) -> None:
        message = data.draw(st.sampled_from(self.net.in_flight), label="message")
        self.net.deliver(message.id, keep=data.draw(st.booleans(), label="keep a copy"))

    @precondition(lambda self: self.network is not None and self.net.in_flight)
    @rule(data=st.data())
    def drop(self, data: st.DataObject) -> None:
        self.net.drop(data.draw(st.sampled_from(self.net.in_flight), label="message").id)

    @precondition(lambda self: self.network is not None)
    @rule(data=st.data())
    def partition(self, data: st.DataObject) -> None:
        order = data.draw(st.permutations(self.net.replicas), label="order")
        cut = data.draw(st.integers(1, len(order) - 1), label="cut")
        self.net.partition(order[:cut])

    @precondition(lambda self: self.network is not None)
    @rule()
    def heal(self) -> None:
        self.net.heal()

    @precondition(lambda self: self.network is not None and len(self.live()) > 1)
    @rule(data=st.data())
    def crash(self, data: st.DataObject) -> None:
        self.net.crash(data.draw(st.sampled_from(self.live()), label="replica"))

    @precondition(lambda self: self.network is not None and self.crashed())
    @rule(data=st.data())
    def restart(self, data: st.DataObject) -> None:
        replica = data.draw(st.sampled_from(self.crashed()), label="replica")
        before = self.net.replica(replica).state
        self.net.restart(replica)
        assert self.net.replica(replica).state == before

    @invariant()
    def each_replica_is_the_join_of_the_updates_it_has_seen(self) -> None:
        if self.network is None:
            return
        for rid in self.net.replicas:
            replica = self.net.replica(rid)
            replica.state._check()
            assert replica.state == self.join_of(replica.seen_updates), rid

    @invariant()
    def replicas_that_have_seen_the_same_updates_are_equal(self) -> None:
        if self.network is None:
            return
        by_seen: dict[frozenset[int], Any] = {}
        for rid in self.net.replicas:
            replica = self.net.replica(rid)
            first = by_seen.setdefault(replica.seen_updates, replica.state)
            assert replica.state == first, rid  # state and metadata alike

    def teardown(self) -> None:
        if self.network is None:
            return
        self.net.heal()
        for rid in self.crashed():
            self.net.restart(rid)
        self.net.settle(max_steps=3_000)
        everything = self.join_of(frozenset(range(len(self.deltas))))
        assert self.net.converged()
        for rid in self.net.replicas:
            replica = self.net.replica(rid)
            replica.state._check()
            assert replica.state == everything, rid
            assert replica.seen_updates == frozenset(range(len(self.deltas)))


def _machine_for(spec: TypeSpec) -> type[ClusterMachine]:
    name = "".join(ch for ch in spec.name.title() if ch.isalnum())
    machine = type(f"{name}Cluster", (ClusterMachine,), {"spec": spec})
    return machine


for _spec in TYPES:
    _machine = _machine_for(_spec)
    _case = _machine.TestCase
    _case.settings = settings(max_examples=40, stateful_step_count=40)
    _case.__name__ = f"Test{_machine.__name__}"
    globals()[_case.__name__] = _case
del _spec, _machine, _case
