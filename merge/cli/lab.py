"""``crdtkit lab NAME``: every scenario in ``merge.lab``'s catalog as a subcommand.

Nothing here names a scenario. Each one registered with ``@merge.lab.scenario`` becomes
``crdtkit lab NAME``; each keyword parameter of its function becomes an option named after it
(``ttl_ms`` -> ``--ttl-ms``), typed by its annotation:

| annotation | on the command line |
|---|---|
| ``int``, ``float``, ``str`` | one value |
| ``bool`` | ``--flag`` / ``--no-flag`` |
| ``Literal["a", "b"]`` | one of the strings |
| ``X`` or ``None`` (a union) | as ``X``, or ``none`` |
| ``Sequence[X]`` (X: int, float, str or a Literal) | a comma-separated list |

A parameter named ``progress`` receives a ``progress(done, total)`` callback that drives a
tqdm bar on stderr (when the ``cli`` extra is installed and stderr is a terminal; never with
``--json``) and is not an option. Every scenario gets ``--json`` (its ``as_dict()``); one whose
return annotation has a ``plot(path)`` method gets ``--plot FILE``. Without ``--json`` a
result with ``report()`` is printed with it, else as aligned ``key: value`` lines.

A ``merge.lab.LabConfigError`` from the scenario exits with status 2 and one line naming the
option, like an argparse error; so does a missing optional dependency, naming the extra.
A scenario whose signature the CLI cannot read is still listed; running it exits 2 saying why.
"""

from __future__ import annotations

import argparse
import importlib.util
import inspect
import json
import sys
import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from merge.cli._common import json_value, progress_bar
from merge.lab import LabConfigError, Scenario, scenarios

__all__ = ["PARSER_OPTIONS", "add_arguments", "run"]

#: How ``crdtkit lab``'s parser is made.
PARSER_OPTIONS: dict[str, Any] = {
    "help": "run a scenario of the consistency lab (merge.lab)",
    "description": "Run a named scenario of the consistency lab (merge.lab) and print its "
    "result; 'crdtkit lab NAME --help' lists its options.",
}

#: Optional dependencies a scenario may import, and the extra that installs each.
EXTRAS = {"numpy": "lab", "matplotlib": "plot", "tqdm": "cli"}

#: Options every scenario has; a parameter that would clash with one is refused.
_RESERVED = frozenset({"json", "plot", "progress", "help"})


class UnsupportedParameter(TypeError):
    """A scenario's parameter that the CLI cannot turn into an option."""


@dataclass(frozen=True)
class _Option:
    """One parameter of a scenario as an option: its flag and ``add_argument`` keywords."""

    parameter: str
    flag: str
    keywords: Mapping[str, Any]


def _scalar(annotation: Any) -> tuple[Callable[[str], Any], str] | None:
    """A parser of one value of ``annotation`` and its metavar, or None if unsupported."""
    if annotation is int:
        return _number(int, "a whole number"), "INT"
    if annotation is float:
        return _number(float, "a number"), "NUMBER"
    if annotation is str:
        return str, "TEXT"
    if get_origin(annotation) is Literal:
        choices = get_args(annotation)
        if choices and all(isinstance(choice, str) for choice in choices):
            return _choice(choices), "{" + ",".join(choices) + "}"
    return None


def _number(kind: type[int] | type[float], noun: str) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {noun}") from None

    return parse


def _choice(choices: tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in choices:
            known = ", ".join(map(repr, choices))
            raise argparse.ArgumentTypeError(f"invalid choice: {text!r} (choose from {known})")
        return text

    return parse


def _sequence(item: Callable[[str], Any]) -> Callable[[str], tuple[Any, ...]]:
    def parse(text: str) -> tuple[Any, ...]:
        parts = [part.strip() for part in text.split(",")]
        if not all(parts):
            raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list")
        return tuple(item(part) for part in parts)

    return parse


def _or_none(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse_optional(text: str) -> Any:
        return None if text.lower() == "none" else parse(text)

    return parse_optional


def _is_sequence(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin is tuple:
        arguments = get_args(annotation)
        return len(arguments) == 2 and arguments[1] is Ellipsis
    # Sequence[X] (typing's or collections.abc's), list[X], ...; never str
    return isinstance(origin, type) and issubclass(origin, Sequence) and origin is not str


def _parser_for(annotation: Any) -> tuple[Callable[[str], Any], str] | None:
    """The parser and metavar of a non-bool annotation, or None if unsupported."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        members = [member for member in get_args(annotation) if member is not type(None)]
        if len(members) != 1 or len(members) == len(get_args(annotation)):
            return None
        inner = _parser_for(members[0])
        if inner is None:
            return None
        return _or_none(inner[0]), f"{inner[1]}|none"
    if _is_sequence(annotation):
        (item,) = get_args(annotation)[:1] or (None,)
        scalar = _scalar(item)
        if scalar is None:
            return None
        return _sequence(scalar[0]), f"{scalar[1]},..."
    return _scalar(annotation)


def _shown(value: Any) -> str:
    """A default as it would be typed: ``none``, ``0,1,10``, ``60000``."""
    if value is None:
        return "none"
    if isinstance(value, tuple | list):
        return ",".join(_shown(item) for item in value)
    return str(value)


def options_of(signature: inspect.Signature) -> list[_Option]:
    """The options of a scenario's parameters, in order; UnsupportedParameter if one cannot
    be given on the command line."""
    found = []
    for parameter in signature.parameters.values():
        name = parameter.name
        if name == "progress" or parameter.kind is parameter.VAR_KEYWORD:
            continue
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.VAR_POSITIONAL):
            raise UnsupportedParameter(f"parameter {name!r} cannot be passed by keyword")
        if name in _RESERVED:
            raise UnsupportedParameter(f"parameter {name!r} clashes with the option --{name}")
        flag = "--" + name.replace("_", "-")
        annotation = parameter.annotation
        required = parameter.default is parameter.empty
        keywords: dict[str, Any] = {"dest": f"lab_{name}", "required": required}
        if not required:
            keywords["default"] = parameter.default
        default = "" if required else f" (default: {_shown(parameter.default)})"
        if annotation is bool:
            keywords.update(action=argparse.BooleanOptionalAction, help=f"yes or no{default}")
        else:
            parser = _parser_for(annotation)
            if parser is None:
                shown = getattr(annotation, "__name__", None) or str(annotation)
                raise UnsupportedParameter(
                    f"parameter {name!r} has the annotation {shown}, which the command line "
                    "cannot give (see merge.lab.catalog)"
                )
            keywords.update(type=parser[0], metavar=parser[1], help=default.strip(" ()"))
        found.append(_Option(name, flag, keywords))
    return found


def _plots(signature: inspect.Signature) -> bool:
    """Whether the result, by the return annotation, has a ``plot(path)`` method."""
    return callable(getattr(signature.return_annotation, "plot", None))


def add_arguments(
    parser: argparse.ArgumentParser, scenarios_: Sequence[Scenario] | None = None
) -> None:
    """A subcommand of ``parser`` for each scenario of ``scenarios_`` (default: the catalog)."""
    entries = scenarios() if scenarios_ is None else scenarios_
    names = parser.add_subparsers(dest="lab_name", metavar="NAME", required=True)
    for entry in sorted(entries, key=lambda each: each.name):
        try:
            # evaluating string annotations may fail (a name imported only for type checking)
            signature = entry.signature
            options, problem = options_of(signature), None
        except Exception as error:  # one unreadable scenario spoils no other
            signature, options = inspect.Signature(), []
            problem = f"scenario {entry.name!r} cannot run from the command line: {error}"
        command = names.add_parser(
            entry.name,
            help=entry.summary,
            description=entry.summary,
            epilog="--json prints the result's as_dict() as one JSON object.",
        )
        for option in options:
            command.add_argument(option.flag, **option.keywords)
        command.add_argument("--json", action="store_true", help="print the result as JSON")
        if _plots(signature):
            command.add_argument(
                "--plot", metavar="FILE", help="draw the result (needs crdtkit[plot])"
            )
        progress = "progress" in signature.parameters
        if progress:
            command.add_argument(
                "--progress",
                action=argparse.BooleanOptionalAction,
                default=None,
                help="progress bar on stderr (default: when tqdm is installed and stderr is "
                "a terminal; never with --json)",
            )
        command.set_defaults(
            lab_scenario=entry,
            lab_options=options,
            lab_problem=problem,
            lab_parser=command,
            lab_progress=progress,
        )


def missing_extra(error: ImportError) -> tuple[str, str] | None:
    """(module, extra) when ``error`` (or what caused it) is a missing optional dependency."""
    seen: BaseException | None = error
    while seen is not None:
        name = getattr(seen, "name", None)
        top = name.partition(".")[0] if isinstance(name, str) else None
        if top in EXTRAS:
            return top, EXTRAS[top]
        seen = seen.__cause__ or seen.__context__
    return None


def _lines(value: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """``value`` flattened to (dotted key, text) pairs."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _lines(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list | tuple) and any(isinstance(item, Mapping) for item in value):
        for index, item in enumerate(value):
            yield from _lines(item, f"{prefix}.{index}")
    elif isinstance(value, list | tuple):
        yield prefix, ", ".join(_text(item) for item in value)
    else:
        yield prefix, _text(value)


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def key_values(data: Mapping[str, Any]) -> str:
    """``data`` as aligned ``key: value`` lines (nested keys dotted)."""
    pairs = list(_lines(data))
    width = max((len(key) for key, _ in pairs), default=0) + 1
    return "\n".join(f"{key + ':':<{width}} {text}".rstrip() for key, text in pairs)


def _fail(parser: argparse.ArgumentParser, error: ImportError) -> None:
    missing = missing_extra(error)
    if missing is None:
        raise error
    module, extra = missing
    parser.error(
        f"{module} is not installed; install the {extra} extra: pip install 'crdtkit[{extra}]'"
    )


def run(options: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run the scenario ``options`` name and print its result; 0 on success, 2 when its
    configuration is refused or an extra is missing (one line on stderr)."""
    entry: Scenario = options.lab_scenario
    command: argparse.ArgumentParser = options.lab_parser
    if options.lab_problem is not None:
        command.error(options.lab_problem)
    plot_path = getattr(options, "plot", None)
    if plot_path and importlib.util.find_spec("matplotlib") is None:
        command.error("--plot needs matplotlib: pip install 'crdtkit[plot]'")
    arguments = {
        option.parameter: getattr(options, f"lab_{option.parameter}")
        for option in options.lab_options
    }
    flags = {option.parameter: option.flag for option in options.lab_options}
    bar = None
    if options.lab_progress and not options.json:
        bar = progress_bar(options.progress, total=0, unit="", desc=entry.name)
    if bar is not None:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        arguments["progress"] = progress
    try:
        result = entry.run(**arguments)
    except LabConfigError as error:
        flag = flags.get(error.parameter)
        prefix = f"argument {flag}: " if flag is not None else ""
        command.error(prefix + str(error))
    except ImportError as error:
        _fail(command, error)
        raise  # pragma: no cover  # _fail exits or re-raises
    finally:
        if bar is not None:
            bar.close()
    if plot_path:
        try:
            result.plot(plot_path)  # type: ignore[attr-defined]  # checked by _plots
        except ImportError as error:
            _fail(command, error)
        except OSError as error:
            print(f"{command.prog}: error: cannot write {plot_path}: {error}", file=sys.stderr)
            return 2
    if options.json:
        print(json.dumps(json_value(result.as_dict()), indent=2, allow_nan=False))
    else:
        report = getattr(result, "report", None)
        print(report() if callable(report) else key_values(result.as_dict()))
        if plot_path:
            print(f"\nplot written to {plot_path}")
    return 0
