"""What every ``crdtkit`` subcommand shares: the parser, argument types, exit statuses, the
version, the progress bar and JSON conversion of values."""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import importlib.util
import json
import math
import sys
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

__all__ = [
    "EXIT_BROKEN_PIPE",
    "EXIT_INTERRUPTED",
    "WIDTH",
    "Parser",
    "count",
    "json_value",
    "milliseconds",
    "probability",
    "progress_bar",
    "version",
]

#: Exit status when standard output's reader goes away (128 + SIGPIPE, as a shell reports).
EXIT_BROKEN_PIPE = 141
#: Exit status after Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 130
#: Widest line of a report.
WIDTH = 80


def version() -> str:
    """The installed distribution's version, or a marker when running from a source tree."""
    try:
        return importlib.metadata.version("crdtkit")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def probability(text: str) -> float:
    """A number between 0 and 1, for an option such as ``--drop``."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number between 0 and 1") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 1")
    return value


def count(least: int, most: int | None = None) -> Callable[[str], int]:
    """A parser of whole numbers from ``least`` to ``most`` (no upper bound if None)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"{value} is less than {least}")
        if most is not None and value > most:
            raise argparse.ArgumentTypeError(f"{value} is more than {most:,}")
        return value

    parse.__name__ = "count"
    return parse


def milliseconds(text: str) -> int:
    """A clock skew in whole milliseconds, at most ten minutes either way."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of ms") from None
    if abs(value) > 600_000:
        raise argparse.ArgumentTypeError(f"{value} ms is more than ten minutes of skew")
    return value


def progress_bar(wanted: bool | None, *, total: int, unit: str, desc: str) -> Any:
    """A tqdm bar on stderr, or None: ``wanted`` False, tqdm (the ``cli`` extra) missing, or
    ``wanted`` None (automatic) and stderr not a terminal."""
    if wanted is False:
        return None
    if importlib.util.find_spec("tqdm") is None:
        return None
    if wanted is None and not sys.stderr.isatty():
        return None
    tqdm = importlib.import_module("tqdm").tqdm
    return tqdm(total=total, unit=unit, file=sys.stderr, desc=desc, leave=False)


def json_value(value: Any) -> Any:
    """``value`` (a CRDT's ``.value``, or a lab result's entry) as JSON data.

    Sets become lists, sorted when their elements are comparable (else by their JSON text);
    mappings become objects whose non-string keys are written as JSON text (``1`` -> ``"1"``);
    tuples become lists; bytes become hex strings; anything else JSON cannot hold becomes
    its ``repr``, as do infinite floats. Cost: O(n log n) for n elements.

    Examples:
        >>> json_value(frozenset({"b", "a"})), json_value({"k": frozenset({2, 1})})
        (['a', 'b'], {'k': [1, 2]})
        >>> json_value((85, 31)), json_value({1: True}), json_value(b"\\x01")
        ([85, 31], {'1': True}, '01')
    """
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # JSON has no infinities
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    if isinstance(value, Mapping):
        return {_json_key(key): json_value(item) for key, item in value.items()}
    if isinstance(value, set | frozenset):
        items = list(value)
        try:
            items.sort()
        except TypeError:
            items.sort(key=lambda item: json.dumps(json_value(item), sort_keys=True))
        return [json_value(item) for item in items]
    if isinstance(value, tuple | list):
        return [json_value(item) for item in value]
    return repr(value)


def _json_key(key: Any) -> str:
    return key if isinstance(key, str) else json.dumps(json_value(key), sort_keys=True)
