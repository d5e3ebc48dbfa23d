"""Every public exception pickles and unpickles with its message and attributes (services
pass them between processes: multiprocessing, concurrent.futures, task queues)."""

from __future__ import annotations

import inspect
import pickle
from typing import Any

import pytest

import clocks
import crdts
import merge
import merge.lab
import merge.laws
import merge.redis
from clocks import Timestamp

#: one representative instance per public exception class
EXAMPLES: list[BaseException] = [
    clocks.ClockError("clock trouble"),
    clocks.ClockDriftError(Timestamp(9_000, 3, "b"), 1_000, 500),
    crdts.CRDTError("crdt trouble"),
    crdts.DecodeError("truncated payload"),
    crdts.UnboundReplicaError(crdts.ORSet()),
    crdts.DotConflictError(("a", 3), "x", "y"),
    crdts.RetiredWriterError("a#1", 4, 7),
    merge.ForgedContextError("s1", 2**64 - 1, 3),
    merge.SettleError(10_000, ["not every update has reached b", "replica states differ"]),
    merge.laws.LawViolation("commutativity", (1, 2), "a | b != b | a"),
    merge.lab.LabError("lab trouble"),
    merge.lab.LabConfigError("trials", 0, "must be >= 1"),
    merge.redis.StoreError("store trouble"),
    merge.redis.StoreUnavailableError("no answer within 5 s"),
    merge.redis.CorruptEntryError("{carts:c1}:log", "1-0", "truncated payload"),
]


def _public_exceptions() -> set[type[BaseException]]:
    found: set[type[BaseException]] = set()
    for module in (clocks, crdts, merge, merge.lab, merge.laws, merge.redis):
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.isclass(value) and issubclass(value, BaseException):
                found.add(value)
    return found


def test_every_public_exception_class_has_an_example() -> None:
    assert {type(example) for example in EXAMPLES} == _public_exceptions()


def _evidence(error: BaseException) -> dict[str, Any]:
    return {"type": type(error), "str": str(error), "args": error.args, **vars(error)}


@pytest.mark.parametrize("error", EXAMPLES, ids=lambda error: type(error).__name__)
def test_an_exception_survives_pickling_with_its_attributes(error: BaseException) -> None:
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        again = pickle.loads(pickle.dumps(error, protocol=protocol))
        assert _evidence(again) == _evidence(error)
