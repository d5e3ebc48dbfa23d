"""The replication scenarios of ``crdtkit lab``: ``pbs``, ``kstale`` and ``quorum``.

Each wrapper gives exactly what the function it wraps gives for the same arguments and seed;
the command line prints what issue 15 item 7 asks for. Statistical claims are checked in
``test_pbs.py``; here the numbers are compared with direct calls, not with the paper.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from merge import cli
from merge.lab import FITS, LabConfigError, k_staleness, pbs, scenarios
from merge.lab.pbs_scenarios import kstale_table, pbs_curves, quorum_check

pytest.importorskip("numpy")

TRIALS = 20_000


def test_the_three_scenarios_are_in_the_catalog() -> None:
    by_name = {entry.name: entry.function for entry in scenarios()}
    assert by_name["pbs"] is pbs_curves
    assert by_name["kstale"] is kstale_table
    assert by_name["quorum"] is quorum_check


def test_pbs_curves_are_exactly_pbs_for_each_configuration() -> None:
    curves = pbs_curves(fit=("lnkd-disk", "ymmr"), r=(1, 2), w=(1,), trials=TRIALS, seed=3)
    labels = [entry.label for entry in curves.configurations]
    assert labels == [
        "lnkd-disk N=3 R=1 W=1",
        "lnkd-disk N=3 R=2 W=1",
        "ymmr N=3 R=1 W=1",
        "ymmr N=3 R=2 W=1",
    ]
    direct = pbs(3, 2, 1, "ymmr", trials=TRIALS, seed=3)
    wrapped = curves.configurations[3].result
    assert (wrapped.consistent_after_ms == direct.consistent_after_ms).all()
    assert wrapped.as_dict() == direct.as_dict()


def test_an_exponential_fit_is_the_paper_s_sweep() -> None:
    curves = pbs_curves(fit=("exp:10",), trials=TRIALS, seed=0)
    result = curves.configurations[0].result
    assert curves.configurations[0].label == "exp:10 N=3 R=1 W=1"
    # standard error at p = 0.42, 20,000 trials: 0.0035; 4 of them
    assert result.p_consistent(0) == pytest.approx(0.42, abs=0.014)


def test_progress_advances_once_per_configuration() -> None:
    calls: list[tuple[int, int]] = []
    pbs_curves(r=(1, 2, 3), trials=1_000, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]


@pytest.mark.parametrize(
    ("arguments", "parameter"),
    [
        ({"fit": ("lnkd-hdd",)}, "fit"),
        ({"fit": ("exp:0",)}, "fit"),
        ({"fit": ("exp:soon",)}, "fit"),
        ({"r": (4,)}, "r"),
        ({"seed": -1}, "seed"),
        ({"t_ms": (-1.0,)}, "t_ms"),
        ({"trials": 0}, "trials"),
    ],
)
def test_a_bad_configuration_names_its_parameter(
    arguments: dict[str, object], parameter: str
) -> None:
    with pytest.raises(LabConfigError) as caught:
        pbs_curves(**{"trials": 100, **arguments})  # type: ignore[arg-type]
    assert caught.value.parameter == parameter


def test_crdtkit_lab_pbs_prints_p_consistent_t_visibility_and_latency(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["lab", "pbs", "--fit", "lnkd-disk", "--n", "3", "--r", "1", "--w", "1"]
    assert cli.main([*argv, "--trials", str(TRIALS), "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert all(len(line) <= 80 for line in out.splitlines())
    result = pbs(3, 1, 1, "lnkd-disk", trials=TRIALS, seed=1)
    row = next(line for line in out.splitlines() if line.startswith("  lnkd-disk") and "%" in line)
    assert row.split()[4:] == [f"{result.p_consistent(t):.2%}" for t in (0, 1, 5, 10, 100)]
    assert "t-visibility 99.9%" in out and "read p99.9" in out and "write p99.9" in out
    write_p999 = result.latency_ms("write", 0.999)
    assert f"{float(f'{write_p999:.3g}'):g} ms" in out


def test_crdtkit_lab_pbs_json_is_as_dict(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["lab", "pbs", "--r", "1,2", "--trials", "2000", "--t-ms", "0,2.5", "--json"]
    assert cli.main(argv) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["t_ms"] == [0, 2.5] and document["trials"] == 2000
    first, second = document["configurations"]
    assert (first["r"], second["r"]) == (1, 2)
    assert set(first["p_consistent"]) == {"0", "2.5"}
    assert set(first["t_visibility_ms"]) == {"0.99", "0.999"}
    assert set(first["latency_ms"]["write"]) == {"0.5", "0.999"}


def test_crdtkit_lab_pbs_plot_writes_one_line_per_configuration(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "pbs.png"
    argv = ["lab", "pbs", "--fit", "lnkd-disk,exp:1", "--r", "1,2", "--w", "2"]
    assert cli.main([*argv, "--trials", "2000", "--plot", str(target)]) == 0
    assert target.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    out = capsys.readouterr().out
    assert "every read is consistent" in out  # R=2 W=2 of 3 is strict
    assert f"plot written to {target}" in out


def test_crdtkit_lab_pbs_names_the_option_it_refuses(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["lab", "pbs", "--fit", "lnkd-hdd"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "argument --fit:" in err and "'lnkd-disk'" in err
    assert cli.main(["lab", "pbs", "--w", "5"]) == 2
    assert "argument --w: w=5: must be between 1 and 3" in capsys.readouterr().err


def test_kstale_is_the_closed_form_for_each_configuration(
    capsys: pytest.CaptureFixture[str],
) -> None:
    table = kstale_table(n=3, r=(1, 2), w=(1, 2), k=(1, 2, 3))
    assert [(row.r, row.w, row.strict) for row in table.configurations] == [
        (1, 1, False),
        (1, 2, False),
        (2, 1, False),
        (2, 2, True),
    ]
    assert list(table.configurations[0].p_consistent.values()) == [1 / 3, 5 / 9, 19 / 27]
    assert cli.main(["lab", "kstale", "--n", "5", "--r", "2", "--w", "2", "--k", "1,4"]) == 0
    out = capsys.readouterr().out
    assert f"{k_staleness(5, 2, 2, 4):.2%}" in out and "N=5" in out


def test_quorum_check_agrees_with_the_pbs_rule_on_every_trial(
    capsys: pytest.CaptureFixture[str],
) -> None:
    calls: list[tuple[int, int]] = []
    check = quorum_check(
        fit="lnkd-ssd",
        trials=3_000,
        t_ms=(0, 1),
        seed=2,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert [row.disagreements for row in check.agreements] == [0, 0]
    assert calls[-1] == (6_000, 6_000) and len(calls) == 4  # chunks of 2,000 trials
    assert check.agreements[0].p_events == check.agreements[0].p_rule
    assert cli.main(["lab", "quorum", "--trials", "1000", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["fit"] == "lnkd-disk" and set(document["t_ms"]) == {"0", "1", "10"}
    assert all(entry["disagreements"] == 0 for entry in document["t_ms"].values())


def test_every_named_fit_runs_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["lab", "pbs", "--fit", ",".join(FITS), "--trials", "500", "--json"]) == 0
    fits = [entry["fit"] for entry in json.loads(capsys.readouterr().out)["configurations"]]
    assert fits == list(FITS)


def test_importing_the_lab_needs_no_numpy() -> None:
    code = (
        "import sys, merge.lab, merge.cli; merge.cli.build_parser(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'matplotlib')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.stdout.strip() == "[]"
