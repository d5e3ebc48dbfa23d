"""The read-side scenarios follow the catalog's conventions, which ``crdtkit lab`` relies on."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal, get_args, get_origin

import pytest

from merge.lab import herd, invalidation, race, scenarios, ttl

SUPPORTED = {int, float, str, bool, int | None, float | None, str | None}
FUNCTIONS = {"race": race, "herd": herd, "ttl": ttl, "invalidation": invalidation}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_each_scenario_is_registered_under_its_subcommand(name: str) -> None:
    entry = {entry.name: entry for entry in scenarios()}[name]
    assert entry.function is FUNCTIONS[name] and entry.summary


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_parameters_are_keyword_only_with_defaults_and_supported_annotations(name: str) -> None:
    signature = inspect.signature(FUNCTIONS[name], eval_str=True)
    assert "seed" in signature.parameters
    for parameter in signature.parameters.values():
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
        assert parameter.default is not inspect.Parameter.empty
        annotation = parameter.annotation
        if parameter.name == "progress":
            assert get_args(annotation)[0].__origin__ is Callable  # type: ignore[attr-defined]
        elif get_origin(annotation) is Literal:
            assert all(isinstance(value, str) for value in get_args(annotation))
        elif get_origin(annotation) is Sequence:
            assert get_args(annotation) in ((float,), (int,))
        else:
            assert annotation in SUPPORTED, (parameter.name, annotation)


def test_every_result_is_json_ready() -> None:
    results = [
        race(),
        herd(duration_s=10),
        ttl(duration_s=10),
        invalidation(writes=200, at_ms=[10, 100]),
    ]
    for result in results:
        json.dumps(result.as_dict(), allow_nan=False)
        assert isinstance(result.report(), str)  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", ["herd", "ttl", "invalidation"])
def test_a_result_with_a_curve_plots_it(name: str, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="plots need the plot extra")
    small = {"herd": {"duration_s": 10}, "ttl": {"duration_s": 10}, "invalidation": {"writes": 200}}
    result = FUNCTIONS[name](**small[name])
    path = tmp_path / f"{name}.png"
    result.plot(str(path))  # type: ignore[attr-defined]
    assert path.read_bytes().startswith(b"\x89PNG")
