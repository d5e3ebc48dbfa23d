"""The ``crdtkit`` command, run in-process: ``simulate`` (report, JSON, plot, determinism,
exit status), ``demo cart``, ``--version``, and one-line errors for bad arguments.

``test_cli_process.py`` runs it as a real process: closed pipes and Ctrl-C.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import pytest

import crdts
from merge import cli
from merge._workloads import TYPE_NAMES

FAST = ["--ops", "40", "--partition", "10", "--crash", "5", "--no-progress"]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
#: The command lines whose output docs/cli.md shows, each with that output.
SHOWN = re.findall(r"```text\n\$ crdtkit ([^\n]*)\n(.*?)\n```", DOCS.read_text(), re.S)


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    assert cli.main(["simulate", *FAST, "--json", *argv]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def assert_fits_80_columns(text: str) -> None:
    wide = [line for line in text.splitlines() if len(line) > 80]
    assert not wide, f"lines wider than 80 columns: {wide}"


def table(out: str) -> dict[str, list[str]]:
    """The report's table: row name -> the words of its cells (the header's name is "")."""
    lines = out.splitlines()
    start = next(index for index, line in enumerate(lines) if line.strip().startswith("delta sync"))
    end = lines.index("", start)
    return {line[2:24].strip(): line[24:].split() for line in lines[start:end]}


# -- the report -------------------------------------------------------------------------------


def test_the_default_simulation_compares_delta_and_state_sync_on_a_state_where_deltas_pay(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["simulate", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert_fits_80_columns(out)
    # one plain sentence first: who, what, through which faults, and the outcome
    opening = " ".join(out.split("\n\n")[0].split())
    assert opening == (
        "5 replicas of an ORSet that started with 300 elements made 200 updates over a "
        "lossy network, through a crash and a partition; with delta sync and with state "
        "sync alike, all replicas converged to the same value."
    )
    assert "partition r0 r1 | r2 r3 r4" in out and "crash r4" in out
    rows = table(out)
    assert rows[""] == ["delta", "sync", "state", "sync"]
    assert rows["converged"] == ["yes", "yes"]
    for row in ("messages sent", "bytes on the wire", "bytes per update", "max staleness"):
        assert row in rows
    delta_bytes, state_bytes = (int(cell.replace(",", "")) for cell in rows["bytes on the wire"])
    assert delta_bytes * 3 < state_bytes  # the default scenario is one where deltas pay off
    reading = " ".join(out.split("Delta sync sent ", 1)[1].split())
    assert reading.startswith(f"{state_bytes / delta_bytes:.1f}x fewer bytes than state sync")
    assert "with a small state, state sync's fewer messages win (try --preload 0)" in reading
    assert out.rstrip().endswith("(--explain says what each row means; --json gives the full data)")


def test_state_sync_wins_on_a_small_state_and_the_report_says_why(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["simulate", *FAST, "--type", "gcounter"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "State sync sent" in out and "fewer bytes than delta sync: the state is small" in out
    assert "a GCounter's state stays small whatever it holds, so state sync suits it" in out


def test_a_small_preload_suggests_the_default_one(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_json(capsys, "--preload", "0")
    assert result["comparison"]["fewer_bytes"] == "state"
    assert "(try --preload 300)" in result["comparison"]["reading"]


def test_explain_prints_a_legend_of_every_row(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["simulate", *FAST, "--explain"]) == 0
    out = capsys.readouterr().out
    assert_fits_80_columns(out)
    legend = out.split("terms:\n", 1)[1]
    defined = {line[2:21].strip() for line in legend.splitlines() if line[2:3] != " "}
    for name in table(out):
        assert name in defined | {"", "final value"}, name


def test_help_fits_80_columns_and_documents_terms_json_keys_and_exit_status(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert cli.main(["simulate", "--help"]) == 0
    out = capsys.readouterr().out
    assert_fits_80_columns(out)
    assert "terms:" in out and "steps to converge" in out
    for key in ("version", "summary", "config", "runs", "comparison", "ok", "value"):
        assert f'"{key}"' in out
    assert "130 interrupted" in out and "141 output's reader" in out


@pytest.mark.parametrize(("command", "shown"), SHOWN, ids=[command for command, _ in SHOWN])
def test_the_docs_show_the_real_output(
    capsys: pytest.CaptureFixture[str], command: str, shown: str
) -> None:
    assert len(SHOWN) == 2
    assert cli.main(command.split()) == 0
    assert capsys.readouterr().out.rstrip("\n") == shown


# -- JSON -------------------------------------------------------------------------------------


def test_json_is_one_document_with_the_documented_keys(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_json(capsys, "--type", "cart", "--preload", "4")
    assert set(result) == {"version", "summary", "config", "runs", "comparison", "ok"}
    assert result["ok"] and result["version"] == cli._version()
    assert result["config"]["type"] == "cart" and result["config"]["sync"] == ["delta", "state"]
    assert result["config"]["preload"] == 4
    assert set(result["runs"]) == {"delta", "state"}
    for run in result["runs"].values():
        assert set(run) == {
            "converged",
            "replicas_agree",
            "settled",
            "steps",
            "settle_steps",
            "updates",
            "metrics",
            "value",
        }
        assert run["converged"] and run["settled"]
        assert run["metrics"]["updates"] == 40 and run["metrics"]["bytes_sent"] > 0
        assert run["metrics"]["steps_to_converge"] is not None
        assert isinstance(run["value"], dict)  # a cart is an object
    assert result["comparison"]["fewer_bytes"] in ("delta", "state")
    assert result["summary"].startswith("5 replicas of a Cart that started with 4 items")


#: The JSON kind of each type's final value.
VALUE_KINDS = {
    "gcounter": int,
    "pncounter": int,
    "causalcounter": int,
    "gset": list,
    "twopset": list,
    "orset": list,
    "rworset": list,
    "lwwelementset": list,
    "mvregister": list,
    "lwwregister": int,
    "lwwmap": dict,
    "ewflag": bool,
    "dwflag": bool,
    "ormap": dict,
    "cart": dict,
}


def test_every_type_has_a_json_kind() -> None:
    assert set(VALUE_KINDS) == set(TYPE_NAMES)


@pytest.mark.parametrize("type_name", TYPE_NAMES)
def test_every_type_can_be_simulated_and_its_value_is_json_data(
    capsys: pytest.CaptureFixture[str], type_name: str
) -> None:
    preload = "3" if type_name in cli._PRELOAD else "0"
    result = run_json(capsys, "--type", type_name, "--replicas", "3", "--preload", preload)
    assert result["ok"], type_name
    for run in result["runs"].values():
        value = run["value"]
        assert type(value) is VALUE_KINDS[type_name], (type_name, value)
        if isinstance(value, list) and type_name != "mvregister":
            assert value == sorted(value)  # a set, sorted
        if type_name == "ormap":
            assert all(isinstance(nested, list) for nested in value.values())


def test_json_value_equals_the_converted_state_value(capsys: pytest.CaptureFixture[str]) -> None:
    """Regression: --json gave the value as a truncated repr string ("value": "595")."""
    result = run_json(capsys, "--type", "gcounter")
    assert result["runs"]["delta"]["value"] == result["runs"]["state"]["value"]
    assert isinstance(result["runs"]["delta"]["value"], int)
    replica = crdts.ORSet(replica="a")
    for index in range(100):
        replica.add(f"element-{index:03}")
    assert cli._json_value(replica.value) == [f"element-{index:03}" for index in range(100)]


def test_json_value_converts_sets_maps_tuples_bytes_and_odd_floats() -> None:
    assert cli._json_value(frozenset({3, 1, 2})) == [1, 2, 3]
    mixed = cli._json_value(frozenset({1, "a", None, (2, "b")}))
    assert mixed == sorted(mixed, key=json.dumps) and len(mixed) == 4  # unsortable: by JSON text
    assert cli._json_value({1: "x", (1, 2): "y", None: "z"}) == {
        "1": "x",
        "[1, 2]": "y",
        "null": "z",
    }
    assert cli._json_value({"k": frozenset({"b", "a"})}) == {"k": ["a", "b"]}
    assert cli._json_value((1, (2, 3))) == [1, [2, 3]]
    assert cli._json_value(b"\x00\xff") == "00ff"
    assert cli._json_value(float("inf")) == "inf"
    json.dumps(cli._json_value({"v": (float("-inf"), 1.5)}), allow_nan=False)


def test_one_protocol_gives_one_column_and_no_comparison(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = run_json(capsys, "--sync", "state")
    assert set(result["runs"]) == {"state"} and result["comparison"] is None
    assert cli.main(["simulate", *FAST, "--sync", "delta"]) == 0
    out = capsys.readouterr().out
    assert "delta sync" in out and "state sync" not in out.split("\n\n", 2)[2]
    assert "fewer bytes" not in out


def test_the_same_seed_gives_the_same_report(capsys: pytest.CaptureFixture[str]) -> None:
    first = run_json(capsys, "--seed", "3", "--drop", "0.3")
    again = run_json(capsys, "--seed", "3", "--drop", "0.3")
    other = run_json(capsys, "--seed", "4", "--drop", "0.3")
    assert first == again
    assert first["runs"]["delta"]["metrics"] != other["runs"]["delta"]["metrics"]


# -- updates asked for, updates made ------------------------------------------------------------


def test_twopset_makes_every_update_asked_for_and_says_how_many_draws_it_redrew(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Regression: ``--type twopset`` reported 168 of 200 updates and never said why (adds of
    removed elements were skipped). Such draws are now drawn again, and counted."""
    result = run_json(capsys, "--type", "twopset", "--ops", "200", "--preload", "0")
    for run in result["runs"].values():
        assert run["updates"]["made"] == run["metrics"]["updates"] == 200
        assert run["updates"]["redrawn"] > 0
        assert run["updates"]["why_redrawn"] == "a 2P-set never re-adds an element once removed"
    assert cli.main(["simulate", *FAST, "--type", "twopset", "--ops", "200", "--preload", "0"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "made 200 updates" in out
    assert (
        "Some drawn updates would have changed nothing (a 2P-set never re-adds an element "
        "once removed) and were drawn again: "
    ) in out


def test_a_type_without_no_ops_redraws_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_json(capsys, "--type", "orset")
    for run in result["runs"].values():
        assert run["updates"] == {"asked": 40, "made": 40, "redrawn": 0, "why_redrawn": None}


def test_steps_where_no_update_can_change_anything_are_reported(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "operation", lambda name, rng: lambda state: None)
    assert cli.main(["simulate", *FAST, "--sync", "delta"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "made 0 updates" in out
    assert "With delta sync only 0 of 40 updates were made" in out


# -- options ----------------------------------------------------------------------------------


def test_negative_skew_means_clocks_behind_and_converges(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = run_json(capsys, "--type", "lwwmap", "--skew", "-2000")
    assert result["config"]["skew_ms"] == {
        "r0": 0,
        "r1": -500,
        "r2": -1000,
        "r3": -1500,
        "r4": -2000,
    }
    assert result["ok"]
    # r0's stamps are 2 s ahead of r4's clock: deferred, then merged once it catches up
    assert all(run["metrics"]["drift_retries"] > 0 for run in result["runs"].values())
    assert "clocks up to 2,000 ms behind" in result["summary"]


def test_positive_skew_means_clocks_ahead(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_json(capsys, "--type", "lwwmap", "--skew", "2000")
    assert result["ok"] and result["config"]["skew_ms"]["r4"] == 2000
    assert all(run["metrics"]["drift_retries"] > 0 for run in result["runs"].values())
    assert "clocks up to 2,000 ms ahead" in result["summary"]


def test_skew_help_says_what_a_negative_value_means(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert cli.main(["simulate", "--help"]) == 0
    options = " ".join(capsys.readouterr().out.split("options:", 1)[1].split())
    skew = options.split("--skew MS ", 1)[1].split(" --seed", 1)[0]
    assert "ahead if MS is positive, behind if negative" in skew


def test_version_prints_the_installed_distribution_version(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out == f"crdtkit {importlib.metadata.version('crdtkit')}\n"

    def missing(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out == "crdtkit unknown (not installed)\n"


def test_a_run_that_cannot_converge_exits_non_zero(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli, "MAX_SETTLE_STEPS", 5)
    status = cli.main(["simulate", *FAST, "--drop", "1", "--partition", "0"])
    assert status == 1
    out = " ".join(capsys.readouterr().out.split())
    assert "with delta sync the replicas still differed 5 steps after the last fault" in out
    assert "converged NO NO" in out


# -- demo cart --------------------------------------------------------------------------------


def test_demo_cart_shows_the_resurrected_item_beside_the_cart_in_80_columns(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["demo", "cart"]) == 0
    out = capsys.readouterr().out
    assert_fits_80_columns(out)
    assert "Dynamo: the deleted book is back ({book: 1, pen: 1})" in out
    assert "crdts.Cart: the book stays deleted and the pen is kept ({pen: 1})" in out
    assert "siblings: {} | {book: 1, pen: 1}" in out


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        ([], "the following arguments are required: COMMAND"),
        (["simulate", "--type", "btree"], "argument --type: invalid choice: 'btree'"),
        (["simulate", "--drop", "1.5"], "argument --drop: 1.5 is not between 0 and 1"),
        (["simulate", "--replicas", "1"], "argument --replicas: 1 is less than 2"),
        (["simulate", "--ops", "many"], "argument --ops: 'many' is not a whole number"),
        (["simulate", "--plot", "out.svg"], "--plot writes a PNG"),
        (["simulate", "--skew", "-700000"], "-700000 ms is more than ten minutes of skew"),
        (["simulate", "--sync", "gossip"], "argument --sync: invalid choice: 'gossip'"),
        (["simulate", "--preload", "10001"], "argument --preload: 10001 is more than 10,000"),
        (
            ["simulate", "--type", "gcounter", "--preload", "5"],
            "--preload needs a set or map type",
        ),
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


@pytest.mark.parametrize("sync", ["both", "delta"])
def test_plot_writes_a_png(capsys: pytest.CaptureFixture[str], tmp_path: Path, sync: str) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "run.png"
    assert cli.main(["simulate", *FAST, "--sync", sync, "--plot", str(target)]) == 0
    assert target.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert f"plot written to {target}" in capsys.readouterr().out


def test_progress_bar_goes_to_stderr_only_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tqdm")
    argv = ["simulate", "--ops", "20", "--partition", "0", "--preload", "0", "--json"]
    assert cli.main([*argv, "--progress"]) == 0
    captured = capsys.readouterr()
    assert "step" in captured.err
    json.loads(captured.out)  # stdout stays clean JSON
    assert cli.main(argv) == 0
    assert capsys.readouterr().err == ""  # not a terminal: no bar
