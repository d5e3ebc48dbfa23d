"""Benchmarks of the replica harness: delta vs state sync on a large set, and throughput.

Run: ``python bench/harness.py`` (about half a minute). Every figure is a ratio or a rate
measured in this run; byte counts are deterministic (seeded), rates are medians of 5 runs.

1. A 10k-element ORSet on 5 replicas; each round (one anti-entropy interval, one step of
   one-step delay), 100 elements change (50 removed, 50 added, 1%) spread over the
   replicas. Bytes on the wire per round (median over the measured rounds), delta sync vs
   full-state gossip to every peer (the gossip that converges as fast), and the rounds each
   needs to converge after the last change. Goal: delta >= 100x fewer bytes, no more rounds.
   Full-state gossip to one random peer per round is shown too: fewer bytes than gossip to
   every peer, but more rounds.
2. Simulation throughput: messages processed per second, 5 replicas, delta sync, with loss,
   duplication and reordering, on a small set and on a 10k-element set; beside it, the same
   run with ``leq`` answered the old way (copy the receiver's state, join, compare), whose
   cost grows with the state on every message.
"""

from __future__ import annotations

import contextlib
import random
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

# the repository root first, so that this script (bench/harness.py) does not shadow the package
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _timing import repeats, scaled

import crdts
from crdts._base import CRDT
from crdts._causal import CausalCRDT
from merge.harness import Faults, Network

ELEMENTS = scaled(10_000, minimum=200)
REPLICAS = 5
CHANGES_PER_ROUND = scaled(100, minimum=10)  # 1% of the elements
WARMUP_ROUNDS = 3
MEASURED_ROUNDS = 12
REPEATS = repeats(5)


def large_set() -> crdts.ORSet:
    """The 10k-element state every replica starts from (unbound: a template)."""
    seed = crdts.ORSet(replica="loader")
    for index in range(ELEMENTS):
        seed.add(f"element-{index}")
    return seed.copy(replica=None)


def churn(
    sync: str, fanout: int, template: crdts.ORSet, *, relay: bool = True
) -> tuple[list[int], int, Network]:
    """Run the 1%-per-round workload; return bytes per measured round, rounds to converge."""
    network = Network(
        template,
        REPLICAS,
        sync=sync,  # type: ignore[arg-type]
        faults=Faults(delay=(1, 1)),
        interval=1,
        fanout=fanout,
        relay=relay,
        seed=1,
    )
    rng = random.Random(2)  # the same workload for every sync mode
    next_element = ELEMENTS
    per_round = []
    for round_number in range(WARMUP_ROUNDS + MEASURED_ROUNDS):
        before = network.metrics.bytes_sent
        for change in range(CHANGES_PER_ROUND):
            replica = network.replicas[change % REPLICAS]
            if change % 2:
                element = f"element-{next_element}"
                next_element += 1
                network.update(replica, lambda s, e=element: s.add(e))
            else:
                element = f"element-{rng.randrange(next_element)}"
                network.update(replica, lambda s, e=element: s.discard(e))
        network.step()
        if round_number >= WARMUP_ROUNDS:
            per_round.append(network.metrics.bytes_sent - before)
    # rounds until every replica holds every update (then let the last acks drain)
    rounds = 0
    while not (network.converged() and all(network.lag(r) == 0 for r in network.replicas)):
        network.step()
        rounds += 1
    network.settle()
    return per_round, rounds, network


def delta_vs_state() -> None:
    template = large_set()
    state_bytes = len(crdts.encode(template))
    print(
        f"ORSet of {ELEMENTS:,} elements ({state_bytes:,} bytes encoded), {REPLICAS} replicas, "
        f"{CHANGES_PER_ROUND} changes per round"
    )
    delta, delta_rounds, delta_net = churn("delta", REPLICAS - 1, template)
    full, full_rounds, full_net = churn("state", REPLICAS - 1, template)
    one, one_rounds, _ = churn("state", 1, template)
    direct, direct_rounds, _ = churn("delta", REPLICAS - 1, template, relay=False)
    assert delta_net.converged() and full_net.converged()
    assert delta_net.replica("r0").state == full_net.replica("r0").state
    delta_median, full_median, one_median = map(statistics.median, (delta, full, one))
    ratio = full_median / delta_median
    verdict = "PASS" if ratio >= 100 else "MISS"
    print(
        f"  bytes per round: delta {delta_median:>12,.0f}   state to every peer "
        f"{full_median:>12,.0f}   {ratio:7.1f}x fewer  {verdict} (goal >= 100x)"
    )
    print(
        f"  bytes per round: delta {delta_median:>12,.0f}   state to one peer   "
        f"{one_median:>12,.0f}   {one_median / delta_median:7.1f}x fewer  (for reference)"
    )
    print(
        f"  bytes per round: delta {delta_median:>12,.0f}   delta, relay=False  "
        f"{statistics.median(direct):>12,.0f}   "
        f"{delta_median / statistics.median(direct):7.1f}x more  (the cost of re-propagation; "
        f"{direct_rounds} rounds)"
    )
    verdict = "PASS" if delta_rounds <= full_rounds else "MISS"
    print(
        f"  rounds to converge after the last change: delta {delta_rounds}, state to every "
        f"peer {full_rounds}, state to one peer {one_rounds}  {verdict} (goal: delta <= state)"
    )
    metrics = delta_net.metrics
    print(
        f"  delta sync: {metrics.messages_sent:,} messages ({metrics.acks_sent:,} acks), "
        f"{metrics.bytes_sent / metrics.updates:,.1f} bytes per update"
    )


def _throughput_run(preload: int) -> tuple[int, float]:
    """One seeded run: 2,000 updates (500 over a preloaded state), then settle."""
    template: crdts.ORSet | type[crdts.ORSet] = crdts.ORSet
    steps = scaled(400)
    if preload:
        loader = crdts.ORSet(replica="loader")
        for index in range(preload):
            loader.add(f"element-{index}")
        template, steps = loader.copy(replica=None), scaled(100)
    network = Network(
        template,
        REPLICAS,
        faults=Faults(drop=0.05, duplicate=0.05, reorder=0.1, delay=(1, 3)),
        seed=3,
    )
    rng = random.Random(4)
    start = time.perf_counter()
    for step in range(steps):
        for _ in range(5):
            replica = network.replicas[rng.randrange(REPLICAS)]
            element = rng.randrange(200)
            if step % 3:
                network.update(replica, lambda s, e=element: s.add(e))
            else:
                network.update(replica, lambda s, e=element: s.discard(e))
        network.step()
    network.settle()
    elapsed = time.perf_counter() - start
    return network.metrics.messages_delivered, elapsed


@contextlib.contextmanager
def _copying_leq() -> Iterator[None]:
    """The rule the kernel replaced: ``a.leq(b)`` as ``b.copy() | a == b`` (a copy of the
    receiver's state per message), for a same-run comparison."""
    fast = CausalCRDT._leq
    CausalCRDT._leq = CRDT._leq  # type: ignore[method-assign]
    try:
        yield
    finally:
        CausalCRDT._leq = fast  # type: ignore[method-assign]


def throughput() -> None:
    for preload in (0, scaled(10_000)):
        rates = {}
        for rule in ("kernel", "copying"):
            with _copying_leq() if rule == "copying" else contextlib.nullcontext():
                samples = [_throughput_run(preload) for _ in range(REPEATS)]
            delivered = samples[0][0]
            assert all(count == delivered for count, _ in samples)  # deterministic
            seconds = statistics.median(elapsed for _, elapsed in samples)
            rates[rule] = delivered / seconds
        state = f"a {preload:,}-element ORSet" if preload else "an ORSet of <= 200 elements"
        print(
            f"throughput, {REPLICAS} replicas, delta sync, {state}, with loss, duplication "
            f"and reordering: {rates['kernel']:,.0f} messages/s (median of {REPEATS}); "
            f"{rates['kernel'] / rates['copying']:.1f}x the copy-per-message leq "
            f"({rates['copying']:,.0f}/s)"
        )


if __name__ == "__main__":
    print(f"Python {sys.version.split()[0]}")
    delta_vs_state()
    throughput()
