"""The ``crdtkit`` command, run in-process: ``simulate`` (table, JSON, plot, determinism,
exit status), ``demo cart``, and one-line errors for bad arguments."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from merge import cli
from merge._workloads import TYPE_NAMES

FAST = ["--ops", "40", "--partition", "10", "--crash", "5", "--no-progress"]


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    assert cli.main(["simulate", *FAST, "--json", *argv]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def test_the_default_simulation_survives_its_faults_and_converges(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["simulate", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "converged            yes, every replica equals the join of all 200 updates" in out
    for row in ("messages", "bytes on the wire", "bytes per update", "max staleness"):
        assert row in out
    assert "partition r0 r1 | r2 r3 r4" in out and "crash r4" in out
    dropped = int(out.split(" dropped")[0].rsplit(", ", 1)[1].replace(",", ""))
    duplicated = int(out.split(" duplicated")[0].rsplit(", ", 1)[1].replace(",", ""))
    assert dropped > 0 and duplicated > 0


def test_json_reports_config_metrics_and_convergence(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_json(capsys, "--type", "cart", "--sync", "state")
    assert result["converged"] and result["matches_reference"] and result["settled"]
    assert result["config"]["type"] == "cart" and result["config"]["sync"] == "state"
    metrics = result["metrics"]
    assert metrics["updates"] == 40 and metrics["bytes_sent"] > 0
    assert metrics["steps_to_converge"] is not None


def test_the_same_seed_gives_the_same_report(capsys: pytest.CaptureFixture[str]) -> None:
    first = run_json(capsys, "--seed", "3", "--drop", "0.3")
    again = run_json(capsys, "--seed", "3", "--drop", "0.3")
    other = run_json(capsys, "--seed", "4", "--drop", "0.3")
    assert first == again
    assert first["metrics"] != other["metrics"]


@pytest.mark.parametrize("type_name", TYPE_NAMES)
def test_every_type_can_be_simulated(capsys: pytest.CaptureFixture[str], type_name: str) -> None:
    result = run_json(capsys, "--type", type_name, "--replicas", "3")
    assert result["matches_reference"], type_name


def test_clock_skew_beyond_the_drift_bound_is_retried_not_lost(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = run_json(capsys, "--type", "lwwmap", "--skew", "2000")
    assert result["matches_reference"]
    assert result["metrics"]["drift_retries"] > 0


def test_a_run_that_cannot_converge_exits_non_zero(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "MAX_SETTLE_STEPS", 5)
    status = cli.main(["simulate", *FAST, "--drop", "1", "--partition", "0"])
    assert status == 1
    assert "converged            NO, replicas still differ 5 steps after" in capsys.readouterr().out


def test_demo_cart_shows_the_resurrected_item_beside_the_cart(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["demo", "cart"]) == 0
    out = capsys.readouterr().out
    assert "Dynamo: the deleted book is back ({book: 1, pen: 1})" in out
    assert "crdts.Cart: the book stays deleted and the pen is kept ({pen: 1})" in out
    assert "siblings: {} | {book: 1, pen: 1}" in out


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        ([], "the following arguments are required: COMMAND"),
        (["simulate", "--type", "btree"], "argument --type: invalid choice: 'btree'"),
        (["simulate", "--drop", "1.5"], "argument --drop: 1.5 is not between 0 and 1"),
        (["simulate", "--replicas", "1"], "argument --replicas: 1 is less than 2"),
        (["simulate", "--ops", "many"], "argument --ops: 'many' is not a whole number"),
        (["simulate", "--plot", "out.svg"], "--plot writes a PNG"),
        (["demo", "bank"], "argument name: invalid choice: 'bank'"),
        (["simulate", "--frobnicate"], "unrecognized arguments: --frobnicate"),
    ],
)
def test_bad_arguments_give_one_line_and_status_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], complaint: str
) -> None:
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and complaint in captured.err
    assert captured.err.startswith("crdtkit") and "Traceback" not in captured.err


def test_plot_without_matplotlib_says_which_extra_to_install(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "matplotlib" else real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    assert cli.main(["simulate", *FAST, "--plot", str(tmp_path / "run.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'crdtkit[plot]'" in err


def test_plot_writes_a_png(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "run.png"
    assert cli.main(["simulate", *FAST, "--plot", str(target)]) == 0
    assert target.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert f"plot written to {target}" in capsys.readouterr().out


def test_progress_bar_goes_to_stderr_only_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tqdm")
    assert cli.main(["simulate", "--ops", "20", "--partition", "0", "--progress", "--json"]) == 0
    captured = capsys.readouterr()
    assert "step" in captured.err
    json.loads(captured.out)  # stdout stays clean JSON
    assert cli.main(["simulate", "--ops", "20", "--partition", "0", "--json"]) == 0
    assert capsys.readouterr().err == ""  # not a terminal: no bar


def test_python_dash_m_runs_the_command() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "merge.cli", "demo", "cart"],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert completed.returncode == 0 and "crdts.Cart" in completed.stdout
