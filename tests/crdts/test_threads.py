"""One replica object, many threads: every operation runs whole under the object's lock.

Issue 10 item 12 found that two threads writing one replica corrupted it silently (an ORSet
with 40,000 elements but 36,975 live dots, a CausalCounter reading 26,614 of 40,000
increments). Each test here hammers one replica from several writer threads while another
thread merges a peer's deltas into it and another encodes, copies, reads and merges it
elsewhere; a switch interval of a microsecond makes the threads interleave inside methods.
Afterwards the invariants hold, the value is what the same writes made one at a time give,
the state equals the join of every delta the writes returned, and it round-trips the wire.
"""

from __future__ import annotations

import copy
import pickle
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import crdts
from clocks import HLC, LamportClock
from crdts._base import lock_of
from merge import Siblings
from tests.registry import TYPES, ManualTime, TypeSpec

WRITERS = 4
#: writes per writer thread; the peer replica makes as many, merged in by another thread
WRITES = 300
PEER = WRITERS  # the peer's writes use this thread number


@pytest.fixture(autouse=True)
def _tiny_switch_interval() -> Iterator[None]:
    """Let the interpreter switch threads every microsecond, so that threads interleave
    inside methods (the default 5 ms lets most calls finish undisturbed)."""
    saved = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(saved)


# -- what each thread writes, and what the writes amount to ------------------------------------


@dataclass(frozen=True)
class Workload:
    """``write(replica, thread, i)`` makes write ``i`` of thread ``thread`` and returns the
    delta; ``expect(value)`` checks the final value against the sequential outcome."""

    write: Callable[[Any, int, int], Any]
    expect: Callable[[Any], bool]


THREADS = range(WRITERS + 1)  # the local writers and the peer


def _survivors() -> set[str]:
    """Sets add ``t-i``; write ``i % 4 == 3`` removes the element added just before it."""
    return {f"{t}-{i}" for t in THREADS for i in range(WRITES) if i % 4 < 2}


def _add_and_remove(replica: Any, t: int, i: int) -> Any:
    if i % 4 == 3:
        return replica.remove(f"{t}-{i - 1}")
    return replica.add(f"{t}-{i}")


def _counted(replica: Any, t: int, i: int) -> Any:
    return replica.decrement() if i % 3 == 2 else replica.increment()


#: each thread's increments minus decrements
_NET = sum(-1 if i % 3 == 2 else 1 for i in range(WRITES)) * len(THREADS)


def _last_by_key(keys: int) -> dict[int, int]:
    """For keys ``i % keys``: the last write ``i`` made under each."""
    return {k: max(i for i in range(WRITES) if i % keys == k) for k in range(keys)}


def _final_writes(values: Any) -> bool:
    """A register's value is the last write of some thread (the local replica's last write
    and, if concurrent with it, the peer's)."""
    return 1 <= len(values) <= 2 and all(value[1] == WRITES - 1 for value in values)


WORKLOADS: dict[str, Workload] = {
    "ORSet": Workload(_add_and_remove, lambda value: value == _survivors()),
    "RWORSet": Workload(_add_and_remove, lambda value: value == _survivors()),
    "TwoPSet": Workload(_add_and_remove, lambda value: value == _survivors()),
    "LWWElementSet": Workload(_add_and_remove, lambda value: value == _survivors()),
    "LWWElementSet[remove-bias]": Workload(_add_and_remove, lambda value: value == _survivors()),
    "GSet": Workload(
        lambda s, t, i: s.add(f"{t}-{i}"),
        lambda value: value == {f"{t}-{i}" for t in THREADS for i in range(WRITES)},
    ),
    "GCounter": Workload(
        lambda c, t, i: c.increment(), lambda value: value == WRITES * len(THREADS)
    ),
    "PNCounter": Workload(_counted, lambda value: value == _NET),
    "CausalCounter": Workload(_counted, lambda value: value == _NET),
    "MVRegister": Workload(lambda r, t, i: r.assign((t, i)), _final_writes),
    "LWWRegister": Workload(lambda r, t, i: r.assign((t, i)), lambda value: value[1] == WRITES - 1),
    # every thread's last write is a disable, and it follows all of that thread's enables
    "EWFlag": Workload(lambda f, t, i: f.disable() if i % 2 else f.enable(), lambda v: v is False),
    "DWFlag": Workload(lambda f, t, i: f.disable() if i % 2 else f.enable(), lambda v: v is False),
    "LWWMap": Workload(
        lambda m, t, i: m.set(f"{t}-{i % 8}", i),
        lambda value: value == {f"{t}-{k}": i for t in THREADS for k, i in _last_by_key(8).items()},
    ),
    "ORMap[ORSet]": Workload(
        lambda m, t, i: m.update(f"k{i % 3}", lambda s: s.add(f"{t}-{i}")),
        lambda value: (
            value
            == {
                f"k{k}": frozenset(f"{t}-{i}" for t in THREADS for i in range(WRITES) if i % 3 == k)
                for k in range(3)
            }
        ),
    ),
    "ORMap[CausalCounter]": Workload(
        lambda m, t, i: m.update(f"k{i % 3}", lambda c: c.increment()),
        lambda value: value == {f"k{k}": len(THREADS) * len(range(k, WRITES, 3)) for k in range(3)},
    ),
    "ORMap[ORMap[MVRegister]]": Workload(
        lambda m, t, i: m.update(
            f"k{i % 3}", lambda inner: inner.update(f"t{t}", lambda r: r.assign(i))
        ),
        lambda value: (
            value == {f"k{k}": {f"t{t}": (i,) for t in THREADS} for k, i in _last_by_key(3).items()}
        ),
    ),
    "Cart": Workload(
        lambda c, t, i: c.add(f"item{i % 4}", 1 + t),
        lambda value: (
            value == {f"item{k}": WRITES // 4 * sum(1 + t for t in THREADS) for k in range(4)}
        ),
    ),
}


def test_every_registered_type_has_a_threaded_workload() -> None:
    assert set(WORKLOADS) == {spec.name for spec in TYPES}


# -- the run ---------------------------------------------------------------------------------


def _run_threads(*targets: Callable[[], None]) -> list[BaseException]:
    """Start every target at once; return what they raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(len(targets))

    def run(target: Callable[[], None]) -> None:
        try:
            start.wait()
            target()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(target,), daemon=True) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), "a thread is stuck (a deadlock?)"
    return errors


def _readable(obj: Any) -> Any:
    """Everything a reader can ask of a replica at once."""
    if hasattr(obj, "__iter__"):
        list(obj)
    return obj.value, repr(obj)


@pytest.mark.parametrize("spec", TYPES, ids=repr)
def test_threads_writing_merging_and_encoding_one_replica_lose_nothing(spec: TypeSpec) -> None:
    workload = WORKLOADS[spec.name]
    time = ManualTime()
    replica = spec.make("a", time)
    peer = spec.make("b", time)
    peer_deltas = [workload.write(peer, PEER, i) for i in range(WRITES)]
    deltas: list[Any] = []  # list.append is atomic
    writing = threading.Event()
    writing.set()
    done = 0
    done_lock = threading.Lock()

    def writer(t: int) -> Callable[[], None]:
        def run() -> None:
            nonlocal done
            try:
                for i in range(WRITES):
                    deltas.append(workload.write(replica, t, i))
            finally:
                with done_lock:
                    done += 1
                    if done == WRITERS:
                        writing.clear()

        return run

    def merger() -> None:
        for delta in peer_deltas:
            replica.merge(delta)

    def reader() -> None:
        elsewhere = spec.make("c", time)
        while writing.is_set():
            decoded = crdts.decode(crdts.encode(replica))
            decoded._check()
            snapshot = replica.copy(replica=None)
            snapshot._check()
            _readable(replica)
            elsewhere.merge(replica)
            elsewhere._check()
            assert snapshot.leq(replica)

    errors = _run_threads(*(writer(t) for t in range(WRITERS)), merger, reader)
    assert not errors, errors
    replica._check()
    assert workload.expect(replica.value), replica.value
    # the state is exactly the join of the writes' deltas and the merged ones
    joined = spec.make(None, time)
    for delta in [*deltas, *peer_deltas]:
        joined.merge(delta)
    assert joined == replica
    decoded = crdts.decode(crdts.encode(replica))
    decoded._check()
    assert decoded == replica and crdts.encode(decoded) == crdts.encode(replica)


# -- clocks and siblings -----------------------------------------------------------------------


def test_threads_sharing_an_hlc_never_get_the_same_stamp() -> None:
    clock = HLC("a", now=ManualTime())
    stamps: list[Any] = []

    def stamp() -> None:
        stamps.extend(clock.now() for _ in range(5_000))

    def receive() -> None:
        for n in range(1_000):
            stamps.append(clock.update(clock.last._replace(node="b", logical=n % 100)))

    assert not _run_threads(stamp, stamp, stamp, receive)
    assert len(set(stamps)) == len(stamps) == 16_000
    assert clock.last == max(stamps)


def test_threads_sharing_a_lamport_clock_never_get_the_same_time() -> None:
    clock = LamportClock()
    times: list[int] = []

    def tick() -> None:
        times.extend(clock.tick() for _ in range(5_000))

    def observe() -> None:
        times.extend(clock.observe(0) for _ in range(5_000))

    assert not _run_threads(tick, tick, observe)
    assert sorted(times) == list(range(1, 15_001))
    assert clock.time == 15_000


def test_threads_putting_and_merging_siblings_keep_every_write() -> None:
    store, peer = Siblings(), Siblings()
    peer_stores = []
    for n in range(200):
        peer.put(("b", n), context=None, replica="sb")
        peer_stores.append(peer.copy())

    def put(server: str) -> Callable[[], None]:
        def run() -> None:
            for n in range(200):
                store.put((server, n), context=None, replica=server)

        return run

    def merge() -> None:
        for other in peer_stores:
            store.merge(other)

    def read() -> None:
        for _ in range(200):
            store.values, store.context, store.copy()._check()

    assert not _run_threads(put("s1"), put("s2"), merge, read)
    store._check()
    # blind puts supersede nothing: every write stays, as a sibling
    assert Counter(value[0] for value in store.values) == {"s1": 200, "s2": 200, "b": 200}
    assert dict(store.context) == {"s1": 200, "s2": 200, "sb": 200}


# -- no deadlock, no stuck lock, snapshots ----------------------------------------------------


@pytest.mark.parametrize("spec", TYPES, ids=repr)
def test_two_replicas_merging_each_other_in_two_threads_do_not_deadlock(spec: TypeSpec) -> None:
    """``a.merge(b)`` takes both locks; taken in one global order, so ``b.merge(a)`` running
    at the same time waits instead of deadlocking."""
    workload = WORKLOADS[spec.name]
    time = ManualTime()
    a, b = spec.make("a", time), spec.make("b", time)

    def write_and_merge(mine: Any, theirs: Any, t: int) -> Callable[[], None]:
        def run() -> None:
            for i in range(100):
                workload.write(mine, t, i)
                mine.merge(theirs)
                # == and leq also take both locks
                _ = mine == theirs, theirs.leq(mine)

        return run

    assert not _run_threads(write_and_merge(a, b, 0), write_and_merge(b, a, 1))
    a.merge(b)
    b.merge(a)
    assert a == b


def test_a_failing_update_releases_the_lock() -> None:
    """``fn`` runs under the map's lock; if it raises, the lock is released with the undo."""
    cart = crdts.Cart(replica="a")

    def fail(counter: Any) -> None:
        counter.increment(2)
        raise RuntimeError("the shop is closed")

    with pytest.raises(RuntimeError):
        crdts.ORMap.update(cart, "book", fail)  # the map's update (Cart refuses its own)
    assert not _run_threads(lambda: cart.add("pen"))
    assert cart.quantities == {"pen": 1}


def test_iterating_a_replica_iterates_a_snapshot() -> None:
    """An iterator taken before a write does not see it, and never raises
    ``RuntimeError: dictionary changed size during iteration``."""
    for spec in TYPES:
        replica = spec.make("a", ManualTime())
        if not hasattr(replica, "__iter__"):
            continue
        workload = WORKLOADS[spec.name]
        workload.write(replica, 0, 0)
        before = iter(replica)
        for i in range(1, 50):
            workload.write(replica, 0, i)
        assert len(list(before)) == 1, spec


# -- pickling: the lock is not state --------------------------------------------------------------


@pytest.mark.parametrize("spec", TYPES, ids=repr)
def test_pickled_and_deep_copied_replicas_get_their_own_lock(spec: TypeSpec) -> None:
    workload = WORKLOADS[spec.name]
    replica = spec.make("a", ManualTime())
    for i in range(8):
        workload.write(replica, 0, i)
    lock_of(replica)  # made: it must not travel
    for twin in (pickle.loads(pickle.dumps(replica)), copy.deepcopy(replica)):
        twin._check()  # a map's nested values hold the twin's lock, not the original's
        assert twin == replica and crdts.encode(twin) == crdts.encode(replica)
        assert lock_of(twin) is not lock_of(replica)


def test_pickled_clocks_and_siblings_get_their_own_lock() -> None:
    clock = HLC("a", now=ManualTime())
    clock.now()
    lamport = LamportClock(3)
    store = Siblings()
    store.put("v", context=None, replica="s")
    lock_of(store)
    clock_twin, lamport_twin, store_twin = pickle.loads(pickle.dumps((clock, lamport, store)))
    assert clock_twin.last == clock.last and clock_twin.now() > clock.last
    assert lamport_twin.tick() == 4
    assert store_twin == store and lock_of(store_twin) is not lock_of(store)
