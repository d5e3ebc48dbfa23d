"""The lab's named scenarios: one table that ``crdtkit lab NAME`` is built from.

A scenario is a function of keyword arguments (plus ``seed`` where it draws at random)
returning a result with ``as_dict()``. Decorating it with :func:`scenario` files it under
its subcommand name; the CLI reads :func:`scenarios` and turns each parameter into an option
(``ttl_ms`` becomes ``--ttl-ms``), so adding a scenario needs no CLI code. Conventions the
CLI relies on:

* parameters have defaults and annotations from: ``int``, ``float``, ``str``, ``bool``, a
  ``Literal`` of strings, ``X | None`` of those, or ``Sequence[float]`` / ``Sequence[int]``
  (given as a comma-separated list);
* a parameter named ``progress`` receives a callback ``progress(done, total)`` for a progress
  bar on long runs, and is not an option;
* a result with a ``plot(path)`` method gets ``--plot FILE``; one with ``report()`` returning
  text is printed with it, else its ``as_dict()`` is printed as aligned ``key: value`` lines.

Examples:
    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Doubled:
    ...     value: int
    ...     def as_dict(self) -> dict[str, int]:
    ...         return {"value": self.value}
    >>> registry: dict[str, Scenario] = {}
    >>> @scenario("double", registry=registry)
    ... def double(*, x: int = 1) -> Doubled:
    ...     '''Twice x.'''
    ...     return Doubled(2 * x)
    >>> registry["double"].summary, registry["double"].run(x=4).as_dict()
    ('Twice x.', {'value': 8})
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

__all__ = ["LabResult", "Scenario", "scenario", "scenarios"]


class LabResult(Protocol):
    """What every scenario returns: its measurements as plain JSON-able values."""

    def as_dict(self) -> Mapping[str, Any]:
        """The result's keys and values (numbers, strings, lists, mappings)."""
        ...


_F = TypeVar("_F", bound=Callable[..., LabResult])


@dataclass(frozen=True)
class Scenario:
    """One named scenario: its subcommand ``name``, the ``function`` and a one-line
    ``summary`` (the docstring's first paragraph, on one line)."""

    name: str
    function: Callable[..., LabResult]
    summary: str

    def run(self, **parameters: Any) -> LabResult:
        """Call the function with keyword ``parameters``."""
        return self.function(**parameters)

    @property
    def signature(self) -> inspect.Signature:
        """The function's signature (what the CLI turns into options)."""
        return inspect.signature(self.function, eval_str=True)


_SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str, *, registry: dict[str, Scenario] | None = None) -> Callable[[_F], _F]:
    """File the decorated function as the scenario ``name`` (a subcommand such as
    ``"write-back"``); the function is returned unchanged. Registering a name twice raises
    ValueError."""
    table = _SCENARIOS if registry is None else registry

    def register(function: _F) -> _F:
        if name in table:
            raise ValueError(f"scenario {name!r} is already registered")
        doc = inspect.getdoc(function) or ""
        table[name] = Scenario(name, function, " ".join(doc.partition("\n\n")[0].split()))
        return function

    return register


def scenarios() -> tuple[Scenario, ...]:
    """Every registered scenario, sorted by name."""
    import merge.lab  # noqa: F401  # importing the package registers its scenarios

    return tuple(sorted(_SCENARIOS.values(), key=lambda entry: entry.name))
