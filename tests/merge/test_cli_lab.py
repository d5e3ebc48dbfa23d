"""``crdtkit lab NAME``, built from a scenario catalog: each kind of annotation becomes an
option, results print as a report, as ``key: value`` lines or as JSON, ``--plot`` reaches the
result, and a refused configuration or a missing extra is one line and status 2.

The scenarios here are registered in a private registry and handed to ``cli.main`` with
``scenarios=``, so these tests do not depend on which scenarios the lab has.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest

from merge import cli
from merge.lab import LabConfigError, Scenario, scenario, scenarios

REGISTRY: dict[str, Scenario] = {}
#: What the last run of a scenario was called with.
CALLS: list[dict[str, Any]] = []


@dataclass(frozen=True)
class Echo:
    """A result with neither report() nor plot(): printed as key: value lines."""

    arguments: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"arguments": self.arguments, "nested": {"pi": 3.14159265, "list": [1, 2]}}


@dataclass(frozen=True)
class Drawn:
    """A result with report() and plot()."""

    size: int

    def as_dict(self) -> dict[str, int]:
        return {"size": self.size}

    def report(self) -> str:
        return f"a drawing of size {self.size}"

    def plot(self, path: str) -> None:
        Path(path).write_text(f"plot {self.size}")


@scenario("every-kind", registry=REGISTRY)
def every_kind(
    *,
    count: int = 3,
    rate: float = 0.5,
    label: str = "x",
    sliding: bool = False,
    protection: Literal["none", "lease"] = "none",
    ttl_ms: float | None = 60_000.0,
    mode: Literal["a", "b"] | None = None,
    at_ms: Sequence[float] = (0.0, 1.0),
    sizes: Sequence[int] = (1,),
    names: Sequence[str] = ("p",),
    modes: Sequence[Literal["a", "b"]] = ("a",),
    seed: int = 0,
) -> Echo:
    """Echo every kind of parameter."""
    arguments = dict(locals())
    CALLS.append(arguments)
    return Echo(arguments)


@scenario("drawn", registry=REGISTRY)
def drawn(*, size: int, progress: Callable[[int, int], None] | None = None) -> Drawn:
    """A result that can be drawn; size is required; progress is reported."""
    if size < 0:
        raise LabConfigError("size", size, "must be >= 0")
    if size == 7:
        raise LabConfigError("internal", size, "a parameter that is not an option")
    for done in range(1, 4):
        if progress is not None:
            progress(done, 3)
    return Drawn(size)


@scenario("needs-numpy", registry=REGISTRY)
def needs_numpy() -> Echo:
    """Fail as merge.lab does without numpy."""
    try:
        raise ModuleNotFoundError("No module named 'numpy'", name="numpy")
    except ModuleNotFoundError as error:
        raise ImportError("install the lab extra: pip install 'crdtkit[lab]'") from error


@scenario("unreadable", registry=REGISTRY)
def unreadable(*, law: complex = 1j) -> Echo:
    """A parameter the command line cannot give."""
    return Echo({"law": law})


@scenario("unresolved", registry=REGISTRY)
def unresolved(*, law: NotImportedHere = None) -> Echo:  # type: ignore[name-defined]  # noqa: F821
    """An annotation that names what is not imported (as under TYPE_CHECKING)."""
    return Echo({})


@scenario("clashing", registry=REGISTRY)
def clashing(*, json: bool = False) -> Echo:
    """A parameter named like a common option."""
    return Echo({"json": json})


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    CALLS.clear()
    status = cli.main(["lab", *argv], scenarios=tuple(REGISTRY.values()))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_defaults_reach_the_function_unchanged(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "every-kind")
    assert status == 0 and err == ""
    assert CALLS == [
        {
            "count": 3,
            "rate": 0.5,
            "label": "x",
            "sliding": False,
            "protection": "none",
            "ttl_ms": 60_000.0,
            "mode": None,
            "at_ms": (0.0, 1.0),
            "sizes": (1,),
            "names": ("p",),
            "modes": ("a",),
            "seed": 0,
        }
    ]


def test_each_annotation_becomes_a_typed_option(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, _ = run(
        capsys,
        "every-kind",
        *("--count", "5", "--rate", "0.25", "--label", "y", "--sliding"),
        *("--protection", "lease", "--ttl-ms", "none", "--mode", "b"),
        *("--at-ms", "1,2.5,10", "--sizes", "3,4", "--names", "q, r", "--modes", "b,a"),
        "--seed",
        "9",
    )
    assert status == 0
    (call,) = CALLS
    assert call == {
        "count": 5,
        "rate": 0.25,
        "label": "y",
        "sliding": True,
        "protection": "lease",
        "ttl_ms": None,
        "mode": "b",
        "at_ms": (1.0, 2.5, 10.0),
        "sizes": (3, 4),
        "names": ("q", "r"),
        "modes": ("b", "a"),
        "seed": 9,
    }
    assert type(call["count"]) is int and type(call["at_ms"][0]) is float


def test_an_optional_takes_a_value_or_none(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "every-kind", "--ttl-ms", "250", "--no-sliding")[0] == 0
    assert CALLS[0]["ttl_ms"] == 250.0 and CALLS[0]["sliding"] is False


def test_help_lists_the_options_with_their_defaults(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    status, out, _ = run(capsys, "every-kind", "--help")
    assert status == 0
    assert "Echo every kind of parameter." in out
    for shown in ("--ttl-ms NUMBER|none", "--protection {none,lease}", "--at-ms NUMBER,..."):
        assert shown in out
    assert "default: 0,1" in out.replace(".0", "") and "--sliding, --no-sliding" in out
    assert "--plot" not in out  # an Echo cannot be drawn
    status, out, _ = run(capsys, "--help")
    assert "every-kind" in out and "Echo every kind of parameter." in out


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["every-kind", "--count", "many"], "argument --count: 'many' is not a whole number"),
        (["every-kind", "--rate", "fast"], "argument --rate: 'fast' is not a number"),
        (["every-kind", "--protection", "lock"], "argument --protection: invalid choice: 'lock'"),
        (["every-kind", "--mode", "c"], "argument --mode: invalid choice: 'c'"),
        (["every-kind", "--at-ms", "1,,2"], "argument --at-ms: '1,,2' is not a comma-separated"),
        (["every-kind", "--sizes", "1,x"], "argument --sizes: 'x' is not a whole number"),
        (["every-kind", "--modes", "a,c"], "argument --modes: invalid choice: 'c'"),
        (["drawn"], "the following arguments are required: --size"),
        (["drawn", "--size", "-1"], "argument --size: size=-1: must be >= 0"),
        (["drawn", "--size", "7"], "internal=7: a parameter that is not an option"),
        (["no-such-scenario"], "argument NAME: invalid choice: 'no-such-scenario'"),
        ([], "the following arguments are required: NAME"),
    ],
)
def test_bad_input_is_one_line_naming_the_option_and_status_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], complaint: str
) -> None:
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and complaint in err, err
    assert err.startswith("crdtkit lab") and "Traceback" not in err


def test_a_missing_extra_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "needs-numpy")
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and "pip install 'crdtkit[lab]'" in err


def test_a_scenario_the_command_line_cannot_run_is_listed_and_says_why(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, _, err = run(capsys, "unreadable")
    assert status == 2 and "parameter 'law' has the annotation complex" in err
    status, _, err = run(capsys, "unresolved")
    assert status == 2 and "NotImportedHere" in err
    status, _, err = run(capsys, "clashing")
    assert status == 2 and "parameter 'json' clashes with the option --json" in err
    # the others still work
    assert run(capsys, "every-kind")[0] == 0


def test_without_report_the_result_prints_as_aligned_key_value_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = run(capsys, "every-kind", "--at-ms", "1,2")
    assert status == 0
    lines = out.splitlines()
    assert "arguments.at_ms:      1, 2" in lines
    assert "nested.pi:            3.14159" in lines
    value_columns = {len(line) - len(line.split(":", 1)[1].lstrip()) for line in lines}
    assert len(value_columns) == 1


def test_json_prints_as_dict(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "every-kind", "--json", "--sizes", "2,3")
    assert status == 0
    document = json.loads(out)
    assert document["arguments"]["sizes"] == [2, 3]
    assert document["nested"] == {"pi": 3.14159265, "list": [1, 2]}


def test_a_result_with_report_is_printed_with_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "drawn", "--size", "4")[1] == "a drawing of size 4\n"


def test_plot_reaches_the_result(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "drawing.png"
    status, out, _ = run(capsys, "drawn", "--size", "4", "--plot", str(target))
    assert status == 0 and target.read_text() == "plot 4"
    assert f"plot written to {target}" in out
    status, out, _ = run(capsys, "drawn", "--size", "5", "--plot", str(target), "--json")
    assert status == 0 and json.loads(out) == {"size": 5} and target.read_text() == "plot 5"


def test_plot_without_matplotlib_names_the_extra(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "matplotlib" else real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    status, _, err = run(capsys, "drawn", "--size", "1", "--plot", str(tmp_path / "x.png"))
    assert status == 2 and "pip install 'crdtkit[plot]'" in err


def test_plot_to_an_unwritable_path_is_status_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pytest.importorskip("matplotlib")
    status, _, err = run(capsys, "drawn", "--size", "1", "--plot", str(tmp_path / "no" / "x"))
    assert status == 2 and "cannot write" in err


def test_progress_bar_on_stderr_when_asked_never_with_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pytest.importorskip("tqdm")
    status, out, err = run(capsys, "drawn", "--size", "2", "--progress")
    assert status == 0 and out == "a drawing of size 2\n" and "3/3" in err
    status, out, err = run(capsys, "drawn", "--size", "2", "--progress", "--json")
    assert status == 0 and err == "" and json.loads(out) == {"size": 2}
    status, _, err = run(capsys, "drawn", "--size", "2")  # stderr is not a terminal
    assert status == 0 and err == ""


def test_the_cli_names_no_scenario() -> None:
    """Scenarios appear by registering in the catalog: the CLI's code lists none."""
    source = (Path(cli.__file__).parent / "lab.py").read_text()
    names = [entry.name for entry in scenarios()]
    assert names and not [name for name in names if f'"{name}"' in source]


def test_the_catalog_s_scenarios_are_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["lab", "--help"]) == 0
    out = capsys.readouterr().out
    for entry in scenarios():
        assert entry.name in out


def test_python_m_merge_cli_runs_lab() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "merge.cli", "lab", "kstale", "--r", "1,2", "--json"],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    assert [row["r"] for row in json.loads(done.stdout)["configurations"]] == [1, 2]


@pytest.mark.parametrize("name", [entry.name for entry in scenarios()])
def test_every_lab_scenario_runs_from_the_command_line_with_its_defaults(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # the lab's own scenarios, not this module's registry: each one's annotations must be
    # ones the command line can turn into options, and its result must print as JSON
    pytest.importorskip("numpy")
    summary = next(entry.summary for entry in scenarios() if entry.name == name)
    assert summary.endswith("."), summary  # the whole first paragraph, not a cut line
    assert cli.main(["lab", name, "--json"]) == 0
    out = capsys.readouterr().out
    assert isinstance(json.loads(out), dict)
