"""What the checkers share: operations, calls, manual time, law violations and the search.

Private to ``merge.testing`` and ``merge.laws``; users reach these names through
:mod:`merge.testing` (``Op``, ``Call``, ``ManualTime``, ``CRDTType``) and :mod:`merge.laws`
(``LawViolation``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

try:
    import hypothesis  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised in a subprocess
    raise ImportError(
        f"{__name__} needs Hypothesis: install the testing extra, pip install crdtkit[testing]"
    ) from error

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import crdts
from crdts import CRDT
from merge.registry import StateRead

__all__ = [
    "CRDTType",
    "Call",
    "LawViolation",
    "ManualTime",
    "Op",
    "calls",
    "describe",
    "hunt",
    "one",
]

#: A CRDT class, or an empty instance to copy (needed when the class alone does not say
#: everything, as for ``ORMap(ORSet)`` or ``LWWElementSet(bias="remove")``).
CRDTType = type[CRDT] | CRDT


class ManualTime:
    """A physical clock for HLCs that tests move by hand (milliseconds, from ``start``).

    Examples:
        >>> from clocks import HLC
        >>> from merge.testing import ManualTime
        >>> time = ManualTime()
        >>> clock = HLC("a", now=time)
        >>> time.time += 5
        >>> clock.now().wall
        1005
    """

    def __init__(self, start: int = 1_000) -> None:
        self.time = start

    def __call__(self) -> int:
        return self.time

    def __repr__(self) -> str:
        return f"ManualTime({self.time})"


@dataclass(frozen=True)
class Op:
    """One mutator: its ``name`` and a strategy for its arguments (as a tuple).

    The last ``len(keywords)`` arguments are passed by keyword, under those names (for a
    keyword-only parameter such as ``Siblings.put``'s ``context``). An argument that is a
    ``merge.registry.StateRead`` is read from the state when the call runs.

    Examples:
        >>> from hypothesis import strategies as st
        >>> from merge.testing import Op
        >>> Op("increment", st.tuples(st.integers(0, 5)))
        Op(name='increment', args=..., keywords=())
    """

    name: str
    args: st.SearchStrategy[tuple[Any, ...]]
    keywords: tuple[str, ...] = ()

    def apply(self, state: Any, args: tuple[Any, ...]) -> Any | None:
        """Run the mutator; a precondition failure (KeyError, ValueError) is a no-op."""
        return Call(self.name, args, self.keywords)(state)


@dataclass(frozen=True)
class Call:
    """One drawn mutator call, such as ``add('a')``; calling it on a state runs it.

    A precondition failure (``KeyError``, ``ValueError``: removing an absent element,
    re-adding to a TwoPSet) is a no-op that returns None; otherwise the call returns
    whatever the mutator returned (a delta). The last ``len(keywords)`` arguments go by
    keyword; a ``merge.registry.StateRead`` argument is read from the state first.
    """

    name: str
    args: tuple[Any, ...]
    keywords: tuple[str, ...] = ()

    def __call__(self, state: Any) -> Any | None:
        args = [arg(state) if isinstance(arg, StateRead) else arg for arg in self.args]
        cut = len(args) - len(self.keywords)
        try:
            keywords = dict(zip(self.keywords, args[cut:], strict=True))
            return getattr(state, self.name)(*args[:cut], **keywords)
        except (KeyError, ValueError):
            return None

    def __repr__(self) -> str:
        cut = len(self.args) - len(self.keywords)
        shown = [repr(arg) for arg in self.args[:cut]]
        named = zip(self.keywords, self.args[cut:], strict=True)
        shown += [f"{name}={arg!r}" for name, arg in named]
        return f"{self.name}({', '.join(shown)})"


def one(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[tuple[Any, ...]]:
    return strategy.map(lambda value: (value,))


def calls(ops: Sequence[Op]) -> st.SearchStrategy[Call]:
    if not ops:
        raise ValueError("ops must name at least one mutator")
    for op in ops:
        if not isinstance(op, Op):
            raise TypeError(f"ops must hold merge.testing.Op values, not {op!r}")
    return st.one_of([op.args.map(partial(_call, op.name, op.keywords)) for op in ops])


def _call(name: str, keywords: tuple[str, ...], args: tuple[Any, ...]) -> Call:
    return Call(name, args, keywords)


def describe(crdt_type: Any) -> str:
    """A readable, stable name for a type or template: ``ORMap(ORSet)``."""
    if isinstance(crdt_type, type):
        return crdt_type.__qualname__
    if isinstance(crdt_type, crdts.ORMap) and type(crdt_type) is crdts.ORMap:
        return f"ORMap({describe(crdt_type.value_type)})"
    bias = getattr(crdt_type, "bias", None)
    if isinstance(bias, str):
        return f"{type(crdt_type).__qualname__}(bias={bias!r})"
    return type(crdt_type).__qualname__


class LawViolation(AssertionError):
    """A merge law does not hold: ``law`` names it, ``witnesses`` are the values that show
    it (as small as Hypothesis could make them), and the message says what to change.

    ``law`` is one of ``"commutativity"``, ``"associativity"``, ``"idempotence"``,
    ``"inflation"`` (a mutator moved a state down), ``"delta"`` (a delta differs from its
    mutation), ``"encoding"`` (the wire form does not round-trip) or ``"convergence"``
    (replicas that received the same updates differ; see ``merge.testing``).
    """

    def __init__(self, law: str, witnesses: tuple[Any, ...], message: str) -> None:
        super().__init__(message)
        self.law = law
        self.witnesses = witnesses

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.law, self.witnesses, str(self)))


def hunt(body: Callable[[st.DataObject], None], *, max_examples: int, name: str = "law") -> None:
    """Run ``body`` as a Hypothesis test; re-raise the smallest ``LawViolation`` it finds."""
    if isinstance(max_examples, bool) or not isinstance(max_examples, int) or max_examples < 1:
        raise ValueError(f"max_examples must be an int >= 1, not {max_examples!r}")

    def check(data: st.DataObject) -> None:
        body(data)

    check.__name__ = check.__qualname__ = name
    test = settings(
        max_examples=max_examples,
        database=None,
        deadline=None,
        print_blob=False,
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    )(given(data=st.data())(check))
    try:
        test()
    except LawViolation as violation:
        # Hypothesis re-raises the violation of the smallest example, with notes on it
        raise violation.with_traceback(None) from None
