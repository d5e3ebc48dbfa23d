"""The simulated network: determinism, faults, crash and restart, delta anti-entropy
(acks, garbage collection, full-state fallback, no back-propagation), clock drift, metrics."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest

import crdts
from crdts import GCounter, LWWMap, LWWRegister, ORMap, ORSet
from merge.harness import CLOCK_ORIGIN_MS, STEP_MS, Faults, Message, Network, SettleError

FAULTY = Faults(drop=0.2, duplicate=0.2, reorder=0.3, delay=(1, 3))


def busy(network: Network, updates: int = 30) -> None:
    """Make ``updates`` adds, round-robin over the replicas, one step apart."""
    ids = network.replicas
    for index in range(updates):
        replica = ids[index % len(ids)]
        if network.replica(replica).up:
            network.update(replica, lambda s, i=index: s.add(f"e{i % 7}-{i}"))
        network.step()


def fingerprint(network: Network) -> Any:
    return (
        network.metrics,
        [crdts.encode(network.replica(r).state) for r in network.replicas],
        [(m.id, m.due, m.frame) for m in network.in_flight],
    )


# -- determinism and the wire ----------------------------------------------------------------


@pytest.mark.parametrize("sync", ["delta", "state"])
def test_a_seed_reproduces_a_run_exactly(sync: str) -> None:
    runs = []
    for seed in (7, 7, 8):
        network = Network(ORSet, 4, sync=sync, faults=FAULTY, seed=seed)  # type: ignore[arg-type]
        network.partition(["r0"])
        busy(network)
        network.heal()
        network.settle()
        runs.append(fingerprint(network))
    assert runs[0] == runs[1]
    assert runs[0][0] != runs[2][0]


def test_messages_travel_as_encoded_bytes() -> None:
    network = Network(ORSet, ["a", "b"], faults=Faults(delay=(5, 5)))
    delta = network.update("a", lambda s: s.add("x"))
    network.gossip()
    (message,) = network.in_flight
    kind, sender, span, groups = msgpack.unpackb(message.frame, raw=False)
    # acknowledged up to 0, carrying [0, 1): one group of deltas, from origin a
    assert (kind, sender, span, message.receiver) == ("delta", "a", [0, 0, 1], "b")
    ((origin, payload),) = groups
    assert origin == "a" and crdts.decode(payload) == delta
    assert network.metrics.bytes_sent == message.size == len(message.frame)


def test_a_template_instance_configures_every_replica() -> None:
    network = Network(ORMap(ORSet), ["a", "b"])
    network.update("a", lambda m: m.update("fruit", lambda s: s.add("apple")))
    network.settle()
    assert network.replica("b").state.value == {"fruit": frozenset({"apple"})}
    assert network.replica("b").state.replica == "b"


def test_a_type_that_needs_configuration_says_how_to_pass_it() -> None:
    with pytest.raises(TypeError, match=r"ORMap\(ORSet\)"):
        Network(ORMap)


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"replicas": 0}, ValueError),
        ({"replicas": ["a", "a"]}, ValueError),
        ({"replicas": "ab"}, TypeError),
        ({"sync": "gossip"}, ValueError),
        ({"interval": 0}, ValueError),
        ({"clock_skew": {"z": 5}}, ValueError),
        ({"buffer_limit": 0}, ValueError),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        Network(ORSet, **options)


@pytest.mark.parametrize(
    "options",
    [{"drop": -0.1}, {"duplicate": 1.5}, {"reorder": "often"}, {"delay": (0, 2)}, {"delay": 3}],
)
def test_bad_faults_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises((TypeError, ValueError)):
        Faults(**options)


# -- updates ---------------------------------------------------------------------------------


def test_update_returns_the_delta_and_a_no_op_returns_none() -> None:
    network = Network(ORSet, ["a", "b"])
    assert network.update("a", lambda s: s.add("x")) == ORSet().copy() | network.replica(
        "a"
    ).state.copy(replica=None)
    assert network.update("a", lambda s: None) is None
    assert network.metrics.updates == 1


def test_a_change_without_its_delta_is_undone_and_refused() -> None:
    network = Network(ORSet, ["a", "b"])

    def forgetful(state: ORSet) -> None:
        state.add("x")

    with pytest.raises(TypeError, match="returned None"):
        network.update("a", forgetful)
    assert network.replica("a").state.value == frozenset()


def test_an_update_whose_delta_misses_part_of_the_change_is_undone_and_refused() -> None:
    """Regression (found in review): only the returned delta was shipped, so delta sync
    diverged for good when fn called two mutators."""
    network = Network(ORSet, ["a", "b"])
    with pytest.raises(ValueError, match="return their join"):
        network.update("a", lambda s: (s.add("x"), s.add("y"))[1])
    assert network.replica("a").state.value == frozenset()
    network.update("a", lambda s: s.add("x") | s.add("y"))
    network.settle()
    assert network.converged() and network.replica("b").state.value == {"x", "y"}


def test_an_update_whose_fn_raises_is_undone() -> None:
    network = Network(ORSet, ["a", "b"])

    def failing(state: ORSet) -> ORSet:
        state.add("x")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        network.update("a", failing)
    assert network.replica("a").state.value == frozenset()
    assert network.metrics.updates == 0


def test_arguments_that_would_break_determinism_or_make_no_sense_are_refused() -> None:
    with pytest.raises(TypeError, match="seed"):
        Network(ORSet, 2, seed=None)  # type: ignore[arg-type]
    network = Network(ORSet, 2)
    for bad in (network.run, network.settle):
        with pytest.raises(ValueError, match=">= 0"):
            bad(-1)


def test_an_unknown_replica_is_named_in_the_error() -> None:
    network = Network(ORSet, ["a", "b"])
    with pytest.raises(KeyError, match="'z'"):
        network.update("z", lambda s: s.add("x"))


# -- faults ----------------------------------------------------------------------------------


def test_a_partition_keeps_news_on_its_side_until_heal() -> None:
    network = Network(ORSet, ["a", "b", "c"], seed=3)
    network.partition(["a", "b"], ["c"])
    network.update("a", lambda s: s.add("x"))
    network.run(20)
    assert "x" in network.replica("b").state
    assert "x" not in network.replica("c").state
    network.heal()
    network.settle()
    assert network.converged() and "x" in network.replica("c").state


def test_replicas_not_named_in_a_partition_form_one_more_group() -> None:
    network = Network(ORSet, ["a", "b", "c"])
    network.partition(["a"])
    network.update("b", lambda s: s.add("x"))
    network.run(10)
    assert "x" in network.replica("c").state and "x" not in network.replica("a").state


@pytest.mark.parametrize("sync", ["delta", "state"])
def test_loss_duplication_and_reordering_are_survived(sync: str) -> None:
    network = Network(ORSet, 5, sync=sync, faults=FAULTY, seed=11)  # type: ignore[arg-type]
    reference = network.template
    for index in range(60):
        replica = network.replicas[index % 5]
        if index % 3 == 2 and network.replica(replica).state.value:
            element = sorted(network.replica(replica).state.value)[0]
            reference.merge(network.update(replica, lambda s, e=element: s.remove(e)))
        else:
            reference.merge(network.update(replica, lambda s, i=index: s.add(i % 9)))
        network.step()
    network.settle()
    metrics = network.metrics
    assert metrics.messages_dropped and metrics.messages_duplicated
    assert all(network.replica(r).state == reference for r in network.replicas)


def test_settle_explains_why_it_cannot_finish() -> None:
    network = Network(ORSet, ["a", "b"])
    network.update("a", lambda s: s.add("x"))
    network.crash("b")
    with pytest.raises(SettleError, match="crashed: b") as raised:
        network.settle(max_steps=20)
    assert raised.value.steps == 20
    lossy = Network(ORSet, ["a", "b"], faults=Faults(drop=1.0))
    lossy.update("a", lambda s: s.add("x"))
    with pytest.raises(SettleError, match="states differ"):
        lossy.settle(max_steps=50)


def test_delivering_a_message_by_hand_respects_partitions() -> None:
    network = Network(GCounter, ["a", "b"], faults=Faults(delay=(9, 9)))
    network.update("a", lambda c: c.increment(2))
    network.gossip()
    (message,) = network.in_flight
    network.partition(["a"], ["b"])
    assert network.deliver(message.id, keep=True) is False
    network.heal()
    assert network.deliver(message.id, keep=True) and network.deliver(message.id)
    assert network.replica("b").state.value == 2
    assert not any(m.kind == "delta" for m in network.in_flight)


# -- crash and restart -----------------------------------------------------------------------


def test_a_restarted_replica_comes_back_from_its_snapshot_and_ships_its_full_state() -> None:
    network = Network(ORSet, ["a", "b", "c"], faults=Faults(delay=(2, 2)))
    network.update("a", lambda s: s.add("x"))
    network.update("b", lambda s: s.add("y"))
    network.run(1)  # deltas on the wire; b's buffer holds its unsent work
    before = network.replica("b").state.copy()
    network.crash("b")
    assert not network.replica("b").up and network.replica("b").buffered == 0
    with pytest.raises(RuntimeError, match="restart"):
        network.update("b", lambda s: s.add("z"))
    network.run(4)  # a's delta to b is lost while b is down
    network.restart("b")
    restarted = network.replica("b").state
    assert restarted == before and restarted is not before and restarted.replica == "b"
    network.gossip()
    kinds = {(m.sender, m.receiver): m.kind for m in network.in_flight if m.sender == "b"}
    assert kinds == {("b", "a"): "state", ("b", "c"): "state"}
    network.settle()
    assert network.replica("c").state.value == {"x", "y"}
    assert network.converged()


def test_a_restarted_replica_keeps_writing_after_its_old_stamps() -> None:
    network = Network(LWWRegister, ["a", "b"])
    network.update("a", lambda r: r.assign("old"))
    stamp = network.replica("a").state.timestamp
    network.crash("a")
    network.restart("a")
    network.update("a", lambda r: r.assign("new"))
    assert network.replica("a").state.timestamp > stamp
    assert network.replica("a").state.value == "new"


# -- delta anti-entropy ----------------------------------------------------------------------


def test_acknowledged_deltas_are_garbage_collected() -> None:
    network = Network(ORSet, 3, faults=FAULTY, seed=2)
    busy(network, 20)
    assert any(network.replica(r).buffered for r in network.replicas)
    network.settle()
    assert all(network.replica(r).buffered == 0 for r in network.replicas)


def test_an_evicted_interval_is_replaced_by_the_full_state() -> None:
    network = Network(ORSet, ["a", "b", "c"], buffer_limit=2, seed=4)
    network.partition(["a", "b"], ["c"])
    for index in range(6):
        network.update("a", lambda s, i=index: s.add(i))
        network.step()
    assert network.replica("a").buffered <= 2
    network.heal()
    network.settle()
    assert network.metrics.full_states_sent >= 1
    assert network.replica("c").state.value == frozenset(range(6))


def test_a_delta_is_not_sent_back_to_where_it_came_from() -> None:
    network = Network(GCounter, ["a", "b"], faults=Faults(delay=(1, 1)), interval=1)
    network.update("a", lambda c: c.increment())
    network.settle()
    deltas_from_b = network.metrics.messages_sent - network.metrics.acks_sent - 1
    assert deltas_from_b == 0


def test_delta_sync_ships_far_fewer_bytes_than_state_sync_for_a_large_state() -> None:
    large = ORSet(replica="seed")
    for element in range(2_000):
        large.add(element)
    sent = {}
    for sync in ("delta", "state"):
        network = Network(large, 4, sync=sync, seed=5)
        for index in range(40):
            network.update(network.replicas[index % 4], lambda s, i=index: s.discard(i))
            network.step()
        network.settle()
        sent[sync] = network.metrics.bytes_sent
    assert sent["delta"] * 20 < sent["state"]


@pytest.mark.parametrize("relay", [True, False])
def test_relay_carries_a_crashed_origins_delta_onward(relay: bool) -> None:
    network = Network(GCounter, ["a", "b", "c"], interval=1, relay=relay)
    network.partition(["a", "b"], ["c"])
    network.update("a", lambda c: c.increment(5))
    network.run(5)
    network.crash("a")  # a's delta reached b only; a is gone
    network.heal()
    network.run(10)
    assert network.replica("c").state.value == (5 if relay else 0)
    network.restart("a")  # without relay, the origin's full state fills the gap
    network.settle()
    assert network.replica("c").state.value == 5


def test_without_relay_each_delta_crosses_fewer_links() -> None:
    sent = {}
    for relay in (True, False):
        network = Network(ORSet, 5, interval=1, relay=relay, seed=8)
        busy(network, 40)
        network.settle()
        sent[relay] = network.metrics.bytes_sent
        assert network.converged()
    assert sent[False] * 2 < sent[True]


# -- clocks ----------------------------------------------------------------------------------


def test_each_clock_reads_simulated_time_plus_its_skew() -> None:
    network = Network(LWWRegister, ["a", "b"], clock_skew={"a": 250, "b": -40})
    network.run(3)
    network.update("a", lambda r: r.assign(1))
    network.update("b", lambda r: r.assign(2))
    assert network.replica("a").state.timestamp.wall == CLOCK_ORIGIN_MS + 3 * STEP_MS + 250
    assert network.replica("b").state.timestamp.wall == CLOCK_ORIGIN_MS + 3 * STEP_MS - 40


def test_a_stamp_from_a_clock_far_ahead_is_deferred_until_time_catches_up() -> None:
    network = Network(LWWRegister, ["fast", "slow"], clock_skew={"fast": 2_000}, interval=1)
    network.update("fast", lambda r: r.assign("from the future"))
    network.run(10)
    assert network.replica("slow").state.value is None  # 2 s ahead > max_offset of 500 ms
    assert network.metrics.drift_retries >= 1
    steps = network.settle()
    assert network.replica("slow").state.value == "from the future"
    # the stamp is accepted once the slow clock is within 500 ms of it: 1.5 s of steps
    assert network.time >= 1_500 and steps > 0
    assert network.converged()


# -- metrics ---------------------------------------------------------------------------------


def test_staleness_is_the_time_until_an_update_is_visible_elsewhere() -> None:
    network = Network(GCounter, ["a", "b"], faults=Faults(delay=(3, 3)), interval=1)
    network.run(1)
    network.update("a", lambda c: c.increment())
    network.settle()
    metrics = network.metrics
    # sent in the next step's anti-entropy round, arriving three steps later
    assert metrics.staleness_max_ms == {"a": 0, "b": 4 * STEP_MS}
    assert metrics.staleness_mean_ms["b"] == 4 * STEP_MS
    assert metrics.max_staleness_ms == 4 * STEP_MS


def test_an_update_not_yet_visible_counts_with_its_age() -> None:
    network = Network(GCounter, ["a", "b"])
    network.partition(["a"], ["b"])
    network.update("a", lambda c: c.increment())
    network.run(50)
    assert network.metrics.staleness_max_ms["b"] == 50 * STEP_MS


def test_steps_to_converge_count_from_the_last_heal() -> None:
    network = Network(ORSet, ["a", "b"], faults=Faults(delay=(2, 2)), interval=1)
    assert network.metrics.steps_to_converge is None
    network.partition(["a"], ["b"])
    network.update("a", lambda s: s.add("x"))
    network.run(10)
    network.heal()
    assert network.metrics.steps_to_converge is None
    network.settle()
    assert network.metrics.steps_to_converge == 3  # next round, plus two steps of delay
    as_dict = network.metrics.as_dict()
    assert as_dict["steps_to_converge"] == 3 and as_dict["updates"] == 1


def test_drift_deferred_messages_are_coalesced_and_only_due_ones_are_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 10, item 11: ``simulate --type lwwmap --skew 600000`` did not finish in 175 s
    because every step rescanned every deferred message. Now a replica holds at most one
    deferred copy per (sender, kind, span), and a step retries only the due ones."""
    network = Network(
        LWWMap, ["fast", "slow"], clock_skew={"fast": 60_000}, interval=1, retransmit_after=2
    )
    for key in range(5):
        network.update("fast", lambda r, key=key: r.set(key, "from the future"))
    processed: list[Message] = []
    process = network._process

    def counting(replica: Any, message: Message) -> None:
        processed.append(message)
        process(replica, message)

    monkeypatch.setattr(network, "_process", counting)
    network.run(200)  # 2 s of 60: the fast stamps stay unacceptable throughout
    slow = network.replica("slow")
    assert slow.state.value == {}
    assert network.metrics.drift_retries >= 50  # the fast replica kept retransmitting
    spans = {(m.sender, m.kind) for m in network._messages() if m.receiver == "slow"}
    assert len(slow._held) <= 2 and spans <= {("fast", "delta"), ("fast", "state")}
    # each retransmission replaced the held copy; none was retried: none was due
    retried = [m for m in processed if m.receiver == "slow"]
    assert len(retried) == network.metrics.drift_retries  # arrivals only, no rescans
    network.settle(max_steps=10_000)
    assert slow.state.value == {key: "from the future" for key in range(5)}
    assert not slow._held and network.converged()
