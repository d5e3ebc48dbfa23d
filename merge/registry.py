"""The type registry: each CRDT type's profile, declared once and read everywhere.

A :class:`TypeProfile` says what a type can do — its mutators with the kind of each argument
(:data:`ELEMENT`, :data:`KEY`, ...), a random workload for the simulator, how ``--preload``
fills it, and why a random update may change nothing. ``merge.testing`` turns the mutators
into Hypothesis strategies (for ``operations``, ``check_crdt``, ``check_convergence`` and
``ConvergenceMachine``); ``merge.sim`` workloads and ``crdtkit simulate`` use the workload
and the preload. No Hypothesis is needed here.

Register your own type with :func:`register_type` (``merge.testing.register_type`` is the
same function); ``crdtkit simulate --type package.module:Class`` imports the module, so
registering at import time is enough. :func:`builtins` lists crdtkit's own profiles (every
``crdts`` type and ``merge.Siblings``): the test suite's list of types is read from it.

An argument kind is a name (``ELEMENT``), or ``"name=" + kind`` to pass the argument by
keyword (``Siblings.put``'s ``"context=" + READ``).

Examples:
    >>> from merge.registry import profile
    >>> orset = profile("orset")
    >>> orset.template(), [op[0] for op in orset.ops]
    (ORSet(replica=None, value=frozenset()), ['add', 'remove', 'discard', 'clear'])
"""

from __future__ import annotations

import importlib
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from crdts import CRDT

__all__ = [
    "AMOUNT",
    "ELEMENT",
    "KEY",
    "NESTED",
    "QUANTITY",
    "QUANTITY_OR_ALL",
    "READ",
    "RESOLVER",
    "VALUE",
    "Preload",
    "StateRead",
    "TypeProfile",
    "builtins",
    "keyword_of",
    "profile",
    "profile_for",
    "profiles",
    "register_type",
    "resolve",
]

#: Argument kinds of a mutator (``merge.testing`` draws each from a small pool, so that
#: removes meet adds and concurrent edits collide).
ELEMENT = "element"  # a set element or cart item
KEY = "key"  # a map key
VALUE = "value"  # a register value
AMOUNT = "amount"  # a counter step, 0 to 5
QUANTITY = "quantity"  # a positive quantity
QUANTITY_OR_ALL = "quantity or None"  # a quantity, or None for everything observed
NESTED = "nested"  # a call of the map's value type, on the value at a key
READ = "read"  # what a client read before writing: None (a blind write) or the .context
RESOLVER = "resolver"  # a function collapsing a tuple of values into one


class StateRead:
    """An argument read from the state when the call runs: ``StateRead("context")`` is
    ``state.context`` (a client that read this replica just before writing).

    Examples:
        >>> from merge import Siblings
        >>> store = Siblings(replica="s1")
        >>> store.put("v", context=None)
        >>> StateRead("context")(store)
        VectorClock({'s1': 1})
    """

    __slots__ = ("attribute",)

    def __init__(self, attribute: str) -> None:
        self.attribute = attribute

    def __call__(self, state: Any) -> Any:
        return getattr(state, self.attribute)

    def __repr__(self) -> str:
        return f"state.{self.attribute}"


def keyword_of(kind: str) -> tuple[str | None, str]:
    """``(keyword, kind)`` for an argument kind: ``("context", READ)`` for
    ``"context=read"``, ``(None, kind)`` for a positional one."""
    keyword, equals, rest = kind.partition("=")
    return (keyword, rest) if equals else (None, kind)


#: A mutator: its name and the kind of each positional argument, e.g. ``("add", ELEMENT)``.
OpSpec = tuple[str, ...]
#: A random update: given the state and a seeded ``random.Random``, call one mutator and
#: return its delta (or None when it changed nothing).
Workload = Callable[[Any, random.Random], Any]


@dataclass(frozen=True)
class Preload:
    """How ``crdtkit simulate --preload`` fills a set or map type before the first update."""

    noun: str  # what the state holds: elements, keys, items
    default: int  # enough for deltas to pay off, few enough for a run of seconds
    put: Callable[[Any, str], Any]  # one mutator call adding the named element or key


@dataclass(frozen=True)
class TypeProfile:
    """What one CRDT type can do.

    Args:
        name: a short name (``crdtkit simulate --type NAME``).
        template: makes an empty, unbound instance (``ORSet``, ``lambda: ORMap(ORSet)``).
        ops: its mutators, each as ``(name, *argument kinds)``; or a sequence of
            ``merge.testing.Op`` (Hypothesis strategies of your own).
        workload: a random update for the simulator (default: a random mutator of ``ops``
            with arguments from small pools; mutators whose preconditions fail are no-ops).
        preload: how ``--preload`` fills it (None: it takes no preload).
        no_op: why a random update can change nothing (reported when updates are redrawn).
        label: how the report names it (default: the class name).
        has_siblings: its value can hold concurrent versions side by side.
        deltas: its mutators return deltas. False (``merge.Siblings``, whose ``put``
            returns None): replicas exchange whole states, so the simulator and delta-sync
            convergence checks leave it out.
        variants: further configurations worth testing, as templates
            (``LWWElementSet(bias="remove")``, ``ORMap(CausalCounter)``).
    """

    name: str
    template: Callable[[], CRDT]
    ops: Sequence[Any] = ()
    workload: Workload | None = None
    preload: Preload | None = None
    no_op: str | None = None
    label: str | None = None
    has_siblings: bool = False
    deltas: bool = True
    variants: Sequence[Callable[[], CRDT]] = ()

    @property
    def cls(self) -> type[CRDT]:
        """The CRDT class."""
        return type(self.template())

    def update(self, rng: random.Random) -> Callable[[Any], Any]:
        """A function for ``Network.update`` that applies one random mutator.

        Raises:
            TypeError: the type's mutators return no deltas (``deltas=False``).
        """
        if not self.deltas:
            raise TypeError(
                f"{self.label or self.cls.__name__}'s mutators return no deltas, so it cannot "
                f"be simulated: replicate it by merging whole states"
            )
        workload = self.workload or _generic_workload(self.ops)
        return lambda state: workload(state, rng)


_REGISTRY: dict[str, TypeProfile] = {}
_BUILTIN_NAMES: set[str] = set()


def register_type(
    crdt_type: type[CRDT] | Callable[[], CRDT], ops: Sequence[Any] = (), **options: Any
) -> TypeProfile:
    """Add a type to the registry (or replace the profile of the same name); returns it.

    ``crdt_type`` is a CRDT class, or a function making an empty, unbound instance;
    ``ops`` its mutators (see :class:`TypeProfile`); ``options`` the other fields
    (``name`` defaults to the lower-case class name).

    Examples:
        >>> from crdts import GCounter
        >>> class Tally(GCounter, type_code=None): ...
        >>> register_type(Tally, [("increment", AMOUNT)]).name
        'tally'
        >>> profile_for(Tally).ops
        (('increment', 'amount'),)
    """
    template = options.pop("template", crdt_type)
    cls = template if isinstance(template, type) else type(template())
    if not (isinstance(cls, type) and issubclass(cls, CRDT)):
        raise TypeError(f"register_type needs a crdts.CRDT subclass, not {crdt_type!r}")
    name = options.pop("name", cls.__name__.lower())
    entry = TypeProfile(name, template, tuple(ops), **options)
    _REGISTRY[name] = entry
    _BUILTIN_NAMES.discard(name)
    if "hypothesis" in sys.modules:
        # st.from_type(cls) draws its states (the plugin covered the types known when
        # Hypothesis was imported)
        from merge._hypothesis_plugin import register_strategy

        register_strategy(cls)
    return entry


def profiles() -> tuple[TypeProfile, ...]:
    """Every registered profile, built-in types first."""
    return tuple(_REGISTRY.values())


def builtins() -> tuple[TypeProfile, ...]:
    """crdtkit's own profiles: every ``crdts`` type and ``merge.Siblings``, in the table's
    order (a user's profile of the same name replaces one)."""
    return tuple(entry for entry in _REGISTRY.values() if entry.name in _BUILTIN_NAMES)


def profile(name: str) -> TypeProfile:
    """The profile registered as ``name`` (KeyError listing the names if there is none)."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"no type {name!r}; registered: {', '.join(_REGISTRY)}") from None


def profile_for(crdt_type: type[CRDT] | CRDT) -> TypeProfile | None:
    """The profile of a class (or of its nearest registered base), or None."""
    cls = crdt_type if isinstance(crdt_type, type) else type(crdt_type)
    by_class: dict[type, TypeProfile] = {}
    for entry in reversed(_REGISTRY.values()):  # the first registered wins
        by_class[entry.cls] = entry
    for klass in cls.__mro__:
        if klass in by_class:
            return by_class[klass]
    return None


def resolve(spec: str) -> TypeProfile:
    """A registered name, or ``package.module:Class`` (the module is imported, and the
    class registered with a generic workload unless importing it registered it).

    Raises:
        ValueError: the spec names no module, class or CRDT type.
    """
    if ":" not in spec:
        try:
            return profile(spec)
        except KeyError as error:
            raise ValueError(error.args[0]) from None
    module_name, _, qualname = spec.partition(":")
    try:
        value: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            value = getattr(value, part)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"cannot load {spec!r}: {error}") from None
    if not (isinstance(value, type) and issubclass(value, CRDT)):
        raise ValueError(f"{spec!r} is not a crdts.CRDT subclass")
    found = profile_for(value)
    if found is not None and found.cls is value:
        return found
    raise ValueError(
        f"{spec!r} is not registered: call merge.registry.register_type({value.__name__}, "
        f"ops=[...]) when its module is imported"
    )


# -- random workloads ------------------------------------------------------------------------

#: Elements and keys come from small pools so that removes and concurrent edits collide.
_POOL = 12
_KEYS = 4


def _item(rng: random.Random) -> str:
    return f"item-{rng.randrange(_POOL)}"


def _key(rng: random.Random) -> str:
    return f"key-{rng.randrange(_KEYS)}"


def _present(rng: random.Random, elements: Any) -> Any:
    return rng.choice(sorted(elements, key=repr))


_DRAWS: dict[str, Callable[[random.Random], Any]] = {
    ELEMENT: _item,
    KEY: _key,
    VALUE: lambda rng: rng.randrange(100),
    AMOUNT: lambda rng: rng.randint(1, 5),
    QUANTITY: lambda rng: rng.randint(1, 3),
    QUANTITY_OR_ALL: lambda rng: None if rng.random() < 0.5 else rng.randint(1, 3),
}


def _generic_workload(ops: Sequence[Any]) -> Workload:
    """A random mutator of ``ops`` (``(name, *kinds)`` specs) with drawn arguments; a
    failed precondition (KeyError, ValueError) is a no-op."""
    specs = [
        op
        for op in ops
        if isinstance(op, tuple) and all(kind in _DRAWS for kind in op[1:] if type(kind) is str)
    ]
    if not specs:
        raise TypeError(
            "this type has no workload: register it with ops=[('mutator', kind, ...)] "
            "or workload=fn(state, rng)"
        )

    def workload(state: Any, rng: random.Random) -> Any:
        name, *kinds = specs[rng.randrange(len(specs))]
        args = [_DRAWS[kind](rng) for kind in kinds]
        try:
            return getattr(state, name)(*args)
        except (KeyError, ValueError):
            return None

    return workload


def _signed_counter(state: Any, rng: random.Random) -> Any:
    amount = rng.randint(1, 5)
    if rng.random() < 0.4:
        return state.decrement(amount)
    return state.increment(amount)


def _observed_remove_set(state: Any, rng: random.Random) -> Any:
    element = _item(rng)
    if state.value and rng.random() < 0.4:
        return state.remove(_present(rng, state.value))
    return state.add(element)


def _two_phase_set(state: Any, rng: random.Random) -> Any:
    if state.value and rng.random() < 0.3:
        return state.remove(_present(rng, state.value))
    try:
        return state.add(f"item-{rng.randrange(10 * _POOL)}")
    except ValueError:  # removed before: a two-phase set refuses to re-add
        return None


def _lww_set(state: Any, rng: random.Random) -> Any:
    element = _item(rng)
    return state.remove(element) if rng.random() < 0.4 else state.add(element)


def _register(state: Any, rng: random.Random) -> Any:
    return state.assign(rng.randrange(100))


def _lww_map(state: Any, rng: random.Random) -> Any:
    key = _key(rng)
    return state.remove(key) if rng.random() < 0.3 else state.set(key, rng.randrange(100))


def _flag(state: Any, rng: random.Random) -> Any:
    return state.disable() if rng.random() < 0.4 else state.enable()


def _or_map(state: Any, rng: random.Random) -> Any:
    if state.value and rng.random() < 0.2:
        return state.remove(_present(rng, state.value))
    key, element = _key(rng), _item(rng)
    if rng.random() < 0.3:
        return state.update(key, lambda nested: nested.discard(element))
    return state.update(key, lambda nested: nested.add(element))


def _cart(state: Any, rng: random.Random) -> Any:
    if state.quantities and rng.random() < 0.35:
        return state.remove(_present(rng, state.quantities))
    return state.add(_item(rng), rng.randint(1, 3))


def _add(state: Any, name: str) -> Any:
    return state.add(name)


def _add_zero(nested: Any) -> Any:
    return nested.add(0)


# -- the built-in types ----------------------------------------------------------------------


def _register_builtins() -> None:
    import crdts
    from merge.siblings import Siblings

    set_ops: list[OpSpec] = [
        ("add", ELEMENT),
        ("remove", ELEMENT),
        ("discard", ELEMENT),
        ("clear",),
    ]
    counter_ops: list[OpSpec] = [("increment", AMOUNT), ("decrement", AMOUNT)]
    flag_ops: list[OpSpec] = [("enable",), ("disable",)]
    elements = Preload("elements", 300, _add)
    builtins: list[tuple[Any, str, list[OpSpec], dict[str, Any]]] = [
        (crdts.ORSet, "orset", set_ops, {"workload": _observed_remove_set, "preload": elements}),
        (crdts.RWORSet, "rworset", set_ops, {
            "workload": _observed_remove_set, "preload": elements}),
        (crdts.MVRegister, "mvregister", [("assign", VALUE)], {
            "workload": _register, "has_siblings": True}),
        (crdts.EWFlag, "ewflag", flag_ops, {"workload": _flag}),
        (crdts.DWFlag, "dwflag", flag_ops, {"workload": _flag}),
        (crdts.CausalCounter, "causalcounter", counter_ops, {"workload": _signed_counter}),
        (lambda: crdts.ORMap(crdts.ORSet), "ormap",
         [("update", KEY, NESTED), ("remove", KEY), ("discard", KEY)], {
            "workload": _or_map, "label": "ORMap of ORSets",
            "preload": Preload("keys", 30, lambda state, name: state.update(name, _add_zero)),
            "variants": (lambda: crdts.ORMap(crdts.CausalCounter),
                         lambda: crdts.ORMap(crdts.ORMap(crdts.MVRegister)))}),
        (crdts.Cart, "cart", [
            ("add", ELEMENT, QUANTITY), ("remove", ELEMENT, QUANTITY_OR_ALL), ("discard", ELEMENT)
        ], {"workload": _cart,
            "preload": Preload("items", 30, lambda state, name: state.add(name, 1))}),
        (crdts.GCounter, "gcounter", [("increment", AMOUNT)], {
            "workload": lambda state, rng: state.increment(rng.randint(1, 5))}),
        (crdts.PNCounter, "pncounter", counter_ops, {"workload": _signed_counter}),
        (crdts.GSet, "gset", [("add", ELEMENT)], {
            "workload": lambda state, rng: state.add(_item(rng)), "preload": elements}),
        (crdts.TwoPSet, "twopset", [("add", ELEMENT), ("remove", ELEMENT), ("discard", ELEMENT)], {
            "workload": _two_phase_set, "preload": elements,
            "no_op": "a 2P-set never re-adds an element once removed"}),
        (crdts.LWWRegister, "lwwregister", [("assign", VALUE)], {"workload": _register}),
        (crdts.LWWElementSet, "lwwelementset", [("add", ELEMENT), ("remove", ELEMENT)], {
            "workload": _lww_set, "preload": elements,
            "variants": (lambda: crdts.LWWElementSet(bias="remove"),)}),
        (crdts.LWWMap, "lwwmap", [("set", KEY, VALUE), ("remove", KEY)], {
            "workload": _lww_map,
            "preload": Preload("keys", 50, lambda state, name: state.set(name, 0))}),
        (Siblings, "siblings", [("put", VALUE, "context=" + READ), ("resolve", RESOLVER)], {
            "has_siblings": True, "deltas": False}),
    ]  # fmt: skip
    for template, name, ops, options in builtins:
        register_type(template, ops, name=name, **options)
        _BUILTIN_NAMES.add(name)


_register_builtins()
