"""Every script under bench/ still runs: a smoke run at a tiny scale, no timing asserted.

The scripts print ratios to a floor measured in the same run, and nothing else exercises them,
so an API change could break one silently. Here each ``bench/*.py`` (found by glob, so a new
script is covered without editing this file) runs in a subprocess with ``CRDTKIT_BENCH_SCALE``
set tiny (``bench/_timing.py`` shrinks sizes and runs each median once); it must exit 0 and
print at least one line of figures. The figures of such a run mean nothing.

``bench/redis.py`` starts redis-server processes: it runs with ``--quick`` and the shortest
measurements, and is skipped where redis-server or redis-py is missing. ``bench/peers/`` is
not run here: each peer needs its own virtual environment (``bench/peers/setup.py``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted(p for p in (ROOT / "bench").glob("*.py") if not p.name.startswith("_"))
SCALE = "0.001"
# scripts whose measurements are set by their own options rather than by sizes
EXTRA_ARGUMENTS = {"redis.py": ["--quick", "--seconds", "0.02", "--repeats", "1"]}
# a line of figures: a number followed by a unit or a ratio
FIGURE = re.compile(r"\d[\d,.]*\s*(ms|ns|s|x|B|kB|MB|/s|%)|\|\s*[\d.]+\s*\|")


def _skip_reason(script: Path) -> str | None:
    if script.name == "redis.py":
        if shutil.which("redis-server") is None:
            return "bench/redis.py needs redis-server"
        if importlib.util.find_spec("redis") is None:
            return "bench/redis.py needs redis-py: pip install 'crdtkit[redis]'"
    return None


def test_every_script_is_found() -> None:
    """The glob sees the scripts (a moved folder would otherwise pass vacuously)."""
    assert {"crdts.py", "codec.py", "harness.py"} <= {p.name for p in SCRIPTS}


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_bench_script_runs_at_a_tiny_scale(script: Path) -> None:
    """The script exits 0 and prints figures; a traceback names the script that rotted."""
    reason = _skip_reason(script)
    if reason:
        pytest.skip(reason)
    environment = dict(os.environ, CRDTKIT_BENCH_SCALE=SCALE)
    environment.pop("PYTHONPATH", None)  # each script puts the repository root first itself
    done = subprocess.run(
        [sys.executable, str(script), *EXTRA_ARGUMENTS.get(script.name, [])],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, (
        f"{script.name} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    )
    assert FIGURE.search(done.stdout), f"{script.name} printed no figures:\n{done.stdout[-2000:]}"


def test_peers_runner_reports_crdtkit_and_the_floors(tmp_path: Path) -> None:
    """bench/peers/runner.py runs crdtkit's adapter and the floors in this environment (the
    other peers need their own, made by bench/peers/setup.py) and run.py tabulates them."""
    peers = ROOT / "bench" / "peers"
    environment = dict(os.environ, PYTHONPATH=str(ROOT))
    reports = {}
    for peer in ("crdtkit", "floor"):
        done = subprocess.run(
            [sys.executable, str(peers / "runner.py"), peer, "--scale", SCALE, "--repeat", "1"],
            cwd=peers,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-4000:]
        reports[peer] = json.loads(done.stdout)
    ours = reports["crdtkit"]
    assert set(ours["results"]) == set(reports["floor"]["results"])
    assert all(
        r["note"] == "" or not r["note"].startswith("failed") for r in ours["results"].values()
    )
    assert ours["correctness"] == {"counter": "ok", "orset": "ok", "lww": "ok"}
    assert ours["merge_curve"]

    saved = tmp_path / "run.json"
    run = {"machine": "test", "scale": SCALE, "repeat": 1, "skipped": {"y-py": "not set up"}}
    run |= {"floor": reports["floor"], "peers": {"crdtkit": ours}}
    saved.write_text(json.dumps(run))
    shown = subprocess.run(
        [sys.executable, str(peers / "run.py"), "--from-json", str(saved)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert shown.count("\n| OR-set merge A(") == 1 and "| OR-set merge vs set union |" in shown
    assert "| correct: counter |  | ok |" in shown and "y-py: not set up" in shown
