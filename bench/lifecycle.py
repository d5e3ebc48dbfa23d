"""Benchmarks of the replica lifecycle: metadata against restarts, restore and retire costs.

Run: ``python bench/lifecycle.py [--plot docs/img/lifecycle-metadata.png]`` (about half a
minute). Every timing is a median of 7 runs, printed as a ratio against a floor measured in
the same run.

1. Metadata against restarts: three replicas of a GCounter and of an ORSet in the simulated
   network (loss, duplication, reordering); one replica crashes and restarts (a new
   incarnation) every few steps while all of them keep writing. Metadata entries (counter
   entries; causal context entries) of a settled replica after R restarts, without and with
   ``Network.retire`` after each restart. Goal with retirement: bounded by the live
   replicas (<= 3 entries).
2. Restore cost: ``decode(snapshot, replica=...)`` of a 100k-element ORSet and a 20k-key
   LWWMap against plain ``decode`` (the floor): what binding a new writer and advancing an
   LWW clock add. Goal <= 1.5x.
3. Retire cost: ``retire`` of a writer holding 1k of a 100k-element ORSet's dots, against
   re-adding those 1k elements (the floor: the same number of fresh dots). Goal <= 3x.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# the repository root first, so that this script (bench/lifecycle.py) does not shadow the package
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _timing import median_seconds, report, scaled

import crdts
from merge.harness import Faults, Network

RESTARTS = [scaled(n, minimum=0) for n in (0, 10, 20, 40, 80, 160)]


def metadata(state: crdts.CRDT) -> int:
    """Counter entries, or causal context entries (version vector plus cloud)."""
    if isinstance(state, crdts.GCounter):
        return len(state.writers())
    return state._ctx.size()  # type: ignore[attr-defined, no-any-return]


def restarts_run(crdt_type: type, restarts: int, *, retire: bool) -> int:
    network = Network(
        crdt_type, ["a", "b", "c"], faults=Faults(drop=0.1, duplicate=0.05, reorder=0.1), seed=4
    )
    for cycle in range(restarts + 1):
        for replica in "abc":
            if crdt_type is crdts.GCounter:
                network.update(replica, lambda s: s.increment())
            else:
                network.update(replica, lambda s, n=cycle: s.add(n % 50))
        network.run(2)
        if cycle < restarts:
            network.crash("a")
            network.restart("a")
            if retire:
                network.retire("a")
    network.settle(max_steps=50_000)
    return metadata(network.replica("b").state)


def metadata_table() -> dict[str, dict[str, list[int]]]:
    print("1. metadata entries of a settled replica after R restarts of replica a")
    print(f"{'type':<10} {'retire':<7} " + " ".join(f"R={r:<5}" for r in RESTARTS))
    series: dict[str, dict[str, list[int]]] = {}
    for crdt_type in (crdts.GCounter, crdts.ORSet):
        for retire in (False, True):
            sizes = [restarts_run(crdt_type, r, retire=retire) for r in RESTARTS]
            label = "with" if retire else "without"
            series.setdefault(crdt_type.__name__, {})[label] = sizes
            print(f"{crdt_type.__name__:<10} {label:<7} " + " ".join(f"{n:<7}" for n in sizes))
    bound = max(series["GCounter"]["with"] + series["ORSet"]["with"]) <= 3
    print(f"   with retirement bounded by the live replicas: {'PASS' if bound else 'MISS'}")
    return series


def restore_costs() -> None:
    print("2. restore: decode(snapshot, replica=...) against plain decode (medians of 7)")
    orset = crdts.ORSet(replica="loader")
    for n in range(scaled(100_000)):
        orset.add(n)
    lww = crdts.LWWMap(replica="loader")
    for n in range(scaled(20_000)):
        lww.set(n, n)
    for name, state in (("ORSet, 100k elements", orset), ("LWWMap, 20k keys", lww)):
        data = crdts.encode(state)
        floor = median_seconds(lambda data=data: crdts.decode(data))
        measured = median_seconds(lambda data=data: crdts.decode(data, replica="svc-a"))
        report(f"restore {name}", measured, floor, goal=1.5)


def retire_cost() -> None:
    print("3. retire a writer holding 1k of 100k dots, against adding 1k fresh elements")
    base = crdts.ORSet(replica="bulk")
    bulk = scaled(99_000)
    for n in range(bulk):
        base.add(n)
    gone = base.copy(replica="gone")
    for n in range(bulk, bulk + scaled(1_000)):
        gone.add(n)
    template = base.copy(replica=None)
    template.merge(gone)
    writer = gone.writer
    assert writer is not None

    def fresh() -> crdts.ORSet:
        state = template.copy(replica="live")
        _ = state._index  # build the lazy element index outside the timing
        return state

    floor = median_seconds(lambda s: [s.add(("again", n)) for n in range(1_000)], setup=fresh)
    measured = median_seconds(lambda s: s.retire(writer), setup=fresh)
    report("retire 1k dots of a 100k-element ORSet", measured, floor, goal=3)


def plot(series: dict[str, dict[str, list[int]]], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for axis, (name, lines) in zip(axes, series.items(), strict=True):
        for label, sizes in lines.items():
            axis.plot(RESTARTS, sizes, marker="o", label=f"{label} retirement")
        axis.set_title(name)
        axis.set_xlabel("restarts of one replica")
        axis.set_ylabel("counter entries" if name == "GCounter" else "context entries")
        axis.legend()
        axis.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"plot written to {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plot", help="write the metadata plot to this PNG file")
    args = parser.parse_args()
    series = metadata_table()
    restore_costs()
    retire_cost()
    if args.plot:
        plot(series, args.plot)


if __name__ == "__main__":
    main()
