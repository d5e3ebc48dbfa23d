"""``Faults.latency``: a per-message delay from the caller, in place of ``delay``'s draw."""

from __future__ import annotations

import pytest

from crdts import GCounter
from merge.sim import Faults, Network


def test_each_message_takes_the_steps_latency_returns() -> None:
    calls: list[tuple[str, str, str]] = []

    def latency(sender: str, receiver: str, kind: str) -> int:
        calls.append((sender, receiver, kind))
        return 7 if kind == "ack" else 4

    network = Network(GCounter, ["a", "b"], faults=Faults(latency=latency), interval=1)
    network.update("a", lambda counter: counter.increment(1))
    network.gossip("a")
    [message] = network.in_flight
    assert message.kind == "delta" and message.due == network.steps + 4
    network.run(4)
    assert network.replica("b").state.value == 1
    [ack] = [m for m in network.in_flight if m.kind == "ack"]
    assert ack.due == 4 + 7
    assert ("a", "b", "delta") in calls and ("b", "a", "ack") in calls


def test_without_latency_the_seeded_draws_are_unchanged() -> None:
    """The hook is additive: a network without it replays exactly as before."""

    def run(faults: Faults) -> list[tuple[int, str, int]]:
        network = Network(GCounter, 3, faults=faults, seed=5)
        for step in range(20):
            network.update(f"r{step % 3}", lambda counter: counter.increment(1))
            network.step()
        return [(m.id, m.kind, m.due) for m in network.in_flight]

    lossy = Faults(drop=0.2, duplicate=0.1, reorder=0.1, delay=(1, 4))
    assert run(lossy) == run(Faults(drop=0.2, duplicate=0.1, reorder=0.1, delay=(1, 4)))
    assert repr(lossy) == "Faults(drop=0.2, duplicate=0.1, reorder=0.1, delay=(1, 4))"


def test_a_latency_must_be_callable_and_return_whole_steps() -> None:
    with pytest.raises(TypeError, match="callable"):
        Faults(latency=3)  # type: ignore[arg-type]
    network = Network(GCounter, 2, faults=Faults(latency=lambda *_: 0))
    network.update("r0", lambda counter: counter.increment(1))
    with pytest.raises(ValueError, match="int >= 1"):
        network.gossip("r0")
    assert "latency=" in repr(Faults(latency=lambda *_: 1))
