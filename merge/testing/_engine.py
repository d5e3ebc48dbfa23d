"""The engine behind ``merge.laws`` and ``merge.testing``: replicas of a type, and random
programs over them (:class:`Target`, :class:`History`, :func:`programs`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

try:
    import hypothesis  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised in a subprocess
    raise ImportError(
        f"{__name__} needs Hypothesis: install the testing extra, pip install crdtkit[testing]"
    ) from error

from hypothesis import strategies as st

from clocks import HLC
from crdts import CRDT
from merge.testing._core import Call, CRDTType, ManualTime, Op, calls, describe
from merge.testing.registry import mutators

__all__ = ["History", "Target", "programs"]


def _accepts_clock(fn: Callable[..., Any]) -> bool:
    try:
        return "clock" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


class Target:
    """How to build replicas of a type, and which operations to run on them."""

    def __init__(self, crdt_type: CRDTType, ops: Sequence[Op] | st.SearchStrategy[Call] | None):
        if isinstance(crdt_type, CRDT):
            self.template: CRDT | None = crdt_type
            self.cls: type[CRDT] = type(crdt_type)
            self.clocked = _accepts_clock(crdt_type.copy)
        elif isinstance(crdt_type, type) and issubclass(crdt_type, CRDT):
            self.template = None
            self.cls = crdt_type
            self.clocked = _accepts_clock(crdt_type)
        else:
            raise TypeError(
                f"expected a crdts.CRDT subclass or an empty instance of one, not {crdt_type!r}"
            )
        self.name = describe(crdt_type)
        if ops is None:
            self.calls = calls(mutators(crdt_type))
        elif isinstance(ops, st.SearchStrategy):
            self.calls = ops
        else:
            for op in ops:
                self._check_keywords(op)
            self.calls = calls(list(ops))
        try:
            self.make(None, ManualTime())
        except TypeError as error:
            raise TypeError(
                f"cannot build a {self.name} from its class alone ({error}); pass an empty "
                f"instance to copy instead, e.g. ORMap(ORSet)"
            ) from None

    def __repr__(self) -> str:
        return self.name

    def _check_keywords(self, op: Any) -> None:
        """TypeError if ``op`` cannot pass a keyword-only argument its mutator requires."""
        method = getattr(self.cls, getattr(op, "name", ""), None)
        if not isinstance(op, Op) or not callable(method):
            return
        try:
            parameters = inspect.signature(method).parameters.values()
        except (TypeError, ValueError):
            return
        missing = [
            parameter.name
            for parameter in parameters
            if parameter.kind is inspect.Parameter.KEYWORD_ONLY
            and parameter.default is inspect.Parameter.empty
            and parameter.name not in op.keywords
        ]
        if missing:
            raise TypeError(
                f"{self.name}.{op.name} needs the keyword-only argument(s) "
                f"{', '.join(missing)}, which {op.name!r} does not pass: pass no ops to use "
                f"the registered operations, or give the Op keywords={tuple(missing)!r} "
                f"naming its last arguments"
            )

    def make(self, replica: str | None, time: ManualTime) -> Any:
        """An empty instance bound to ``replica`` (stamping with ``time`` if it has a
        clock), or unbound when ``replica`` is None."""
        options: dict[str, Any] = {}
        if self.clocked and replica is not None:
            options["clock"] = HLC(replica, now=time)
        if self.template is not None:
            return self.template.copy(replica=replica, **options)
        return self.cls(replica=replica, **options)


class History:
    """The replicas of one type after a random program, and every delta made on the way.

    The replicas share one history, so they may be merged with each other and with the
    deltas in any combination (states from different histories may not: they reuse the
    replica ids ``r0``, ``r1``, ... and would prove a shared writer). ``time`` is the
    manual clock the replicas' HLCs read, if they have any.
    """

    def __init__(
        self, replicas: list[Any], deltas: list[Any], time: ManualTime, target: Target
    ) -> None:
        self.replicas = replicas
        self.deltas = deltas
        self.time = time
        self._target = target
        self._handed_out = 0

    def __repr__(self) -> str:
        return f"History(replicas={self.replicas!r}, deltas={self.deltas!r})"

    def empty(self) -> Any:
        """A new, empty, read-only instance of the type."""
        return self._target.make(None, self.time)


_STEPS = st.sampled_from(["op", "op", "op", "merge", "deliver", "tick"])


@st.composite
def programs(draw: st.DrawFn, target: Target, replicas: int, max_steps: int) -> History:
    time = ManualTime()
    states = [target.make(f"r{index}", time) for index in range(replicas)]
    deltas: list[Any] = []
    for _ in range(draw(st.integers(0, max_steps))):
        step = draw(_STEPS)
        if step == "op":
            state = states[draw(st.integers(0, replicas - 1))]
            delta = draw(target.calls)(state)
            state._check()
            if delta is not None and type(delta) is type(state):
                delta._check()
                deltas.append(delta)
        elif step == "merge":
            source, destination = (draw(st.integers(0, replicas - 1)) for _ in range(2))
            if source != destination:
                states[destination].merge(states[source])
                states[destination]._check()
        elif step == "deliver":
            if deltas:
                state = states[draw(st.integers(0, replicas - 1))]
                state.merge(draw(st.sampled_from(deltas)))
                state._check()
        else:
            time.time += draw(st.integers(0, 3))
    return History(states, deltas, time, target)
