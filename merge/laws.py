"""Check that a merge function, or a whole CRDT, obeys the laws that make replicas converge.

Replicas converge whatever the order, duplication and grouping of the messages between
them exactly when their merge is a join — commutative, associative and idempotent — and
every local change moves the state up (an inflation) and ships a delta that reproduces it.
``check_laws`` checks a plain function over a Hypothesis strategy; ``check_crdt``
checks a CRDT class over states reached by random programs, and also its deltas and its
wire encoding. Both search with Hypothesis and raise ``LawViolation`` for the smallest
counterexample found.

Needs the ``testing`` extra (``pip install crdtkit[testing]``): this module imports
Hypothesis. Call the checkers from ordinary test functions, not from inside ``@given``.

Examples:
    >>> from hypothesis import strategies as st
    >>> from merge.laws import LawViolation, check_laws
    >>> check_laws(max, st.integers(), max_examples=20)          # max is a join
    >>> try:
    ...     check_laws(lambda a, b: a + b, st.integers(), max_examples=20)
    ... except LawViolation as violation:
    ...     print(violation.law, violation.witnesses)
    idempotence (1,)
"""

from __future__ import annotations

import copy
import operator
import warnings
from collections.abc import Callable, Sequence
from typing import Any

try:
    import hypothesis  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised in a subprocess
    raise ImportError(
        f"{__name__} needs Hypothesis: install the testing extra, pip install crdtkit[testing]"
    ) from error

from hypothesis import strategies as st

import crdts
from crdts import CRDT
from merge.testing._core import Call, CRDTType, LawViolation, Op, hunt
from merge.testing._engine import History, Target
from merge.testing._engine import programs as random_programs

__all__ = ["LawViolation", "check_crdt", "check_laws"]

_ADVICE = {
    "commutativity": (
        "Replicas merge in whatever order messages arrive, so two replicas that received "
        "these in opposite orders would diverge. Make the result independent of the "
        "argument order: combine both sides symmetrically (max, union, a per-key join) "
        "instead of preferring one side."
    ),
    "associativity": (
        "Replicas relay and batch messages, so they group merges differently and would "
        "diverge. Averages, differences and rules that keep whichever side was merged "
        "last are not associative; keep enough information to compute a least upper "
        "bound (per-replica entries joined with max, sets joined with union)."
    ),
    "idempotence": (
        "Networks duplicate and resend messages, so a replica can merge the same state "
        "twice. Adding counts, for example, counts a duplicate twice: keep one entry per "
        "replica and join the entries with max (a G-Counter) instead."
    ),
    "inflation": (
        "A mutator may only move a state up the lattice: a peer that still holds the old "
        "state merges it back and undoes the change. Decrementing a grow-only entry is the "
        "classic case; count decrements in a second grow-only entry (a PN-Counter) instead."
    ),
    "delta": (
        "Peers only receive the delta, so they would not reach this replica's state. "
        "Return a delta holding the new state of everything the mutation changed (for a "
        "counter: the replica's new total, not the amount added)."
    ),
    "encoding": (
        "Replicas exchange encoded bytes, so every part of the state must survive "
        "crdts.encode/crdts.decode, and equal states must encode to equal bytes. Check "
        "the class's _to_wire()/_from_wire(), or pass encoding=False to skip this check."
    ),
}


def _show(value: Any, limit: int = 600) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- the three merge laws, for any join --------------------------------------------------------


class _Spelling:
    """How messages spell a join: ``max(a, b)`` for a function, ``a | b`` for a CRDT."""

    def __init__(self, subject: str, function: str | None) -> None:
        self.subject = subject
        self.function = function

    def join(self, left: str, right: str, *, nested: bool = False) -> str:
        if self.function is not None:
            return f"{self.function}({left}, {right})"
        return f"({left} | {right})" if nested else f"{left} | {right}"


def _commutativity(
    join: Callable[[Any, Any], Any], eq: Callable[[Any, Any], Any], say: _Spelling, a: Any, b: Any
) -> None:
    ab, ba = join(a, b), join(b, a)
    if not eq(ab, ba):
        raise LawViolation(
            "commutativity",
            (a, b),
            f"{say.subject} is not commutative: merging in the two orders gives different "
            f"results.\n  a = {_show(a)}\n  b = {_show(b)}\n"
            f"  {say.join('a', 'b')} = {_show(ab)}\n  {say.join('b', 'a')} = {_show(ba)}\n"
            + _ADVICE["commutativity"],
        )


def _associativity(
    join: Callable[[Any, Any], Any],
    eq: Callable[[Any, Any], Any],
    say: _Spelling,
    a: Any,
    b: Any,
    c: Any,
) -> None:
    left, right = join(join(a, b), c), join(a, join(b, c))
    if not eq(left, right):
        left_text = say.join(say.join("a", "b", nested=True), "c")
        right_text = say.join("a", say.join("b", "c", nested=True))
        raise LawViolation(
            "associativity",
            (a, b, c),
            f"{say.subject} is not associative: grouping the merges differently gives "
            f"different results.\n  a = {_show(a)}\n  b = {_show(b)}\n  c = {_show(c)}\n"
            f"  {left_text} = {_show(left)}\n  {right_text} = {_show(right)}\n"
            + _ADVICE["associativity"],
        )


def _idempotence(
    join: Callable[[Any, Any], Any], eq: Callable[[Any, Any], Any], say: _Spelling, a: Any
) -> None:
    aa = join(a, a)
    if not eq(aa, a):
        raise LawViolation(
            "idempotence",
            (a,),
            f"{say.subject} is not idempotent: merging a value with itself changed it.\n"
            f"  a = {_show(a)}\n  {say.join('a', 'a')} = {_show(aa)}\n" + _ADVICE["idempotence"],
        )


def _fresh(value: Any) -> Any:
    """A copy to hand to a join, so a join that changes its arguments is checked fairly."""
    if isinstance(value, CRDT):
        return value.copy(replica=None)
    try:
        return copy.deepcopy(value)
    except Exception:  # an uncopyable value is passed as it is
        return value


def check_laws(
    join: Callable[[Any, Any], Any],
    values: st.SearchStrategy[Any],
    *,
    eq: Callable[[Any, Any], Any] = operator.eq,
    max_examples: int = 100,
) -> None:
    """Check that ``join`` is commutative, associative and idempotent over ``values``.

    ``join(a, b)`` returns the merge of two values (each call gets fresh copies, so a join
    that changes its arguments is checked fairly); ``eq`` compares results. The laws are
    checked in that order, each with up to ``max_examples`` examples, and the first that
    fails is reported.

    Args:
        join: the merge function.
        values: a Hypothesis strategy of values to merge. For CRDT states use
            ``merge.testing.states(T)``: its draws in one example can be merged together.
        eq: equality of results.
        max_examples: how many examples Hypothesis tries per law.

    Raises:
        LawViolation: ``law`` is ``"commutativity"``, ``"associativity"`` or
            ``"idempotence"``; ``witnesses`` are the minimal ``(a, b)``, ``(a, b, c)`` or
            ``(a,)``.

    Examples:
        >>> from hypothesis import strategies as st
        >>> from merge.laws import check_laws
        >>> check_laws(lambda a, b: a | b, st.frozensets(st.integers()), max_examples=20)
    """
    if not isinstance(values, st.SearchStrategy):
        raise TypeError(
            f"values must be a Hypothesis strategy such as st.integers(), not {values!r}"
        )
    name = getattr(join, "__name__", "join")
    say = _Spelling(
        f"the merge function {name!r}" if name != "<lambda>" else "the merge function",
        name if name.isidentifier() else "join",
    )

    def fresh_join(a: Any, b: Any) -> Any:
        return join(_fresh(a), _fresh(b))

    def commutativity(data: st.DataObject) -> None:
        a, b = data.draw(values, label="a"), data.draw(values, label="b")
        _commutativity(fresh_join, eq, say, a, b)

    def associativity(data: st.DataObject) -> None:
        a, b = data.draw(values, label="a"), data.draw(values, label="b")
        _associativity(fresh_join, eq, say, a, b, data.draw(values, label="c"))

    def idempotence(data: st.DataObject) -> None:
        _idempotence(fresh_join, eq, say, data.draw(values, label="a"))

    for law in (commutativity, associativity, idempotence):
        hunt(law, max_examples=max_examples, name=law.__name__)


# -- whole CRDTs -------------------------------------------------------------------------------


def _crdt_join(a: CRDT, b: CRDT) -> CRDT:
    result = a.copy(replica=None)
    result.merge(b.copy(replica=None))
    return result


def check_crdt(
    crdt_type: CRDTType,
    ops: Sequence[Op] | st.SearchStrategy[Call] | None = None,
    *,
    max_examples: int = 100,
    replicas: int = 3,
    max_steps: int = 15,
    encoding: bool = True,
) -> None:
    """Check a CRDT type: its merge laws, its mutators, its deltas and its encoding.

    States come from random programs of mutations, merges and delta deliveries over
    ``replicas`` replicas (``merge.testing.histories``). In this order, each law searched
    with up to ``max_examples`` programs, the first failure reported:

    1. commutativity, associativity and idempotence of ``merge`` over the replicas' states
       and the deltas;
    2. inflation: every mutation moves the state up (``before.leq(after)``);
    3. delta: the delta a mutator returns, merged into the state before it, gives the state
       after it (``before | delta == after``);
    4. encoding: ``crdts.decode(crdts.encode(x)) == x`` and equal states give equal bytes.
       If this crdtkit has no ``crdts.encode``, the check is skipped with a warning.

    Args:
        crdt_type: a ``crdts.CRDT`` subclass (built-in or your own), or an empty instance to
            copy for a configured type (``ORMap(ORSet)``).
        ops: the mutations to try: a list of ``merge.testing.Op`` (name and a strategy of
            argument tuples), or a strategy of ``merge.testing.Call``; ``None`` uses
            ``merge.testing.operations`` (built-in types only). A call that raises
            ``KeyError`` or ``ValueError`` (a failed precondition) counts as a no-op.
        max_examples: how many programs Hypothesis tries per law.
        replicas: how many replicas each program runs over.
        max_steps: the longest program.
        encoding: check the wire encoding (needs a ``type_code`` and
            ``_to_wire``/``_from_wire`` on the class).

    Raises:
        LawViolation: ``law`` is the failing law; ``witnesses`` are the minimal states
            (``(before, after)`` for inflation, ``(before, delta, after)`` for a delta).

    Examples:
        >>> import crdts
        >>> from merge.laws import check_crdt
        >>> check_crdt(crdts.GCounter, max_examples=10)
    """
    target = Target(crdt_type, ops)
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 1:
        raise ValueError(f"replicas must be an int >= 1, not {replicas!r}")
    programs = random_programs(target, replicas, max_steps)
    say = _Spelling(f"{target.name}.merge", None)

    def pick(data: st.DataObject, history: History, label: str) -> Any:
        return data.draw(st.sampled_from([*history.replicas, *history.deltas]), label=label)

    def commutativity(data: st.DataObject) -> None:
        history = data.draw(programs, label="history")
        a, b = pick(data, history, "a"), pick(data, history, "b")
        _commutativity(_crdt_join, operator.eq, say, a, b)

    def associativity(data: st.DataObject) -> None:
        history = data.draw(programs, label="history")
        a, b, c = (pick(data, history, label) for label in "abc")
        _associativity(_crdt_join, operator.eq, say, a, b, c)

    def idempotence(data: st.DataObject) -> None:
        history = data.draw(programs, label="history")
        _idempotence(_crdt_join, operator.eq, say, pick(data, history, "a"))

    def mutations(data: st.DataObject) -> Any:
        """Yield ``(call, before, result, after)`` for a few calls on one replica."""
        history = data.draw(programs, label="history")
        state = data.draw(st.sampled_from(history.replicas), label="replica")
        for _ in range(data.draw(st.integers(1, 3), label="calls")):
            call = data.draw(target.calls, label="operation")
            before = state.copy(replica=None)
            result = call(state)
            yield call, before, result, state.copy(replica=None)

    def inflation(data: st.DataObject) -> None:
        for call, before, _, after in mutations(data):
            if not before.leq(after):
                raise LawViolation(
                    "inflation",
                    (before, after),
                    f"{target.name}.{call!r} is not an inflation: the state after it is not "
                    f"above the state before (before.leq(after) is False).\n"
                    f"  before = {_show(before)}\n  after = {_show(after)}\n"
                    + _ADVICE["inflation"],
                )

    def delta(data: st.DataObject) -> None:
        for call, before, result, after in mutations(data):
            if result is None:
                continue  # a failed precondition, or a mutator that returns nothing
            if type(result) is not type(after):
                raise LawViolation(
                    "delta",
                    (before, result, after),
                    f"{target.name}.{call!r} returned {_show(result)}, not a "
                    f"{target.cls.__name__} delta. Mutators must return a delta: a small "
                    f"{target.cls.__name__} holding what changed.",
                )
            joined = _crdt_join(before, result)
            if joined != after:
                raise LawViolation(
                    "delta",
                    (before, result, after),
                    f"the delta returned by {target.name}.{call!r} does not have the "
                    f"mutation's effect: before | delta != after.\n"
                    f"  before = {_show(before)}\n  delta = {_show(result)}\n"
                    f"  before | delta = {_show(joined)}\n  after = {_show(after)}\n"
                    + _ADVICE["delta"],
                )

    def round_trip(data: st.DataObject) -> None:
        history = data.draw(programs, label="history")
        for state in [*history.replicas, *history.deltas, history.empty()]:
            _check_encoding(target.name, state)

    laws: list[Callable[[st.DataObject], None]] = [
        commutativity,
        associativity,
        idempotence,
        inflation,
        delta,
    ]
    if encoding:
        if hasattr(crdts, "encode") and hasattr(crdts, "decode"):
            laws.append(round_trip)
        else:
            warnings.warn(
                "this crdtkit has no crdts.encode yet: check_crdt skipped the encoding round trip",
                UserWarning,
                stacklevel=2,
            )
    for law in laws:
        hunt(law, max_examples=max_examples, name=law.__name__)


def _check_encoding(name: str, state: CRDT) -> None:
    """Raise LawViolation("encoding") unless ``state`` survives the wire unchanged."""
    encode: Callable[[Any], bytes] = crdts.encode
    decode: Callable[[bytes], Any] = crdts.decode
    state = state.copy(replica=None)
    try:
        data = encode(state)
    except (TypeError, ValueError) as error:
        raise LawViolation(
            "encoding",
            (state,),
            f"crdts.encode cannot encode a {name}: {error}\n"
            f"  state = {_show(state)}\n"
            "A type crosses the wire through its type_code (64..127 for your own types) "
            "and its _to_wire()/_from_wire() methods; give it those, or pass "
            "encoding=False to skip this check.",
        ) from None
    try:
        decoded = decode(data)
    except ValueError as error:
        raise LawViolation(
            "encoding",
            (state,),
            f"crdts.decode cannot read back an encoded {name}: {error}\n"
            f"  state = {_show(state)}\n" + _ADVICE["encoding"],
        ) from None
    if type(decoded) is not type(state) or decoded != state:
        raise LawViolation(
            "encoding",
            (state, decoded),
            f"a {name} does not survive the wire: decode(encode(state)) != state.\n"
            f"  state = {_show(state)}\n  decoded = {_show(decoded)}\n" + _ADVICE["encoding"],
        )
    if encode(decoded) != data:
        raise LawViolation(
            "encoding",
            (state, decoded),
            f"the encoding of a {name} is not canonical: a decoded copy, equal to the "
            f"state, encodes to different bytes.\n  state = {_show(state)}\n" + _ADVICE["encoding"],
        )
