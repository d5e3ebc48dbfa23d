"""The ``crdtkit`` command as a real process: ``python -m``, a reader that goes away, Ctrl-C.

Each ends cleanly: a conventional exit status and no traceback on stderr.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from merge import cli

ROOT = Path(__file__).resolve().parents[2]
COMMAND = [sys.executable, "-m", "merge.cli"]
FAST = ["--ops", "40", "--partition", "10", "--crash", "5", "--no-progress"]


def assert_clean(stderr: str) -> None:
    for noise in ("Traceback", "BrokenPipeError", "KeyboardInterrupt", "Exception ignored"):
        assert noise not in stderr, stderr


def test_python_dash_m_runs_the_command() -> None:
    completed = subprocess.run(
        [*COMMAND, "demo", "cart"], capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert completed.returncode == 0 and "crdts.Cart" in completed.stdout


@pytest.mark.parametrize("output", [["--json"], []])
def test_a_reader_that_closes_early_ends_the_run_quietly_with_status_141(
    output: list[str],
) -> None:
    """``crdtkit simulate --json | head -1``: the reader is gone before the report is written;
    the write's BrokenPipeError (and the flush at exit) are silenced, status 128 + SIGPIPE."""
    process = subprocess.Popen(
        [*COMMAND, "simulate", *FAST, *output],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader goes away before anything is written
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == cli.EXIT_BROKEN_PIPE == 141
    assert_clean(stderr)
    assert stderr == ""


def test_a_reader_that_takes_one_line_ends_the_pipeline_cleanly() -> None:
    """A shell pipeline into ``head -1``: whether the report fits the pipe buffer before head
    exits (status 0) or not (status 141), nothing is printed on stderr."""
    completed = subprocess.run(
        f"{sys.executable} -m merge.cli simulate {' '.join(FAST)} --json | head -1; "
        'echo "status=${PIPESTATUS[0]}" >&2',
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert completed.stdout == "{\n"
    assert completed.stderr.strip() in ("status=0", "status=141"), completed.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")
def test_ctrl_c_stops_a_long_run_with_status_130_and_no_traceback() -> None:
    pytest.importorskip("tqdm")
    process = subprocess.Popen(
        [*COMMAND, "simulate", "--ops", "1000000", "--progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        # a shell runs background jobs with SIGINT ignored, and a child inherits that
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert process.stdout is not None and process.stderr is not None
    # the progress bar's first frame means the simulation is running
    first = os.read(process.stderr.fileno(), 4096).decode()
    assert "updates" in first, first
    process.send_signal(signal.SIGINT)
    stdout, rest = process.communicate(timeout=60)
    stderr = first + rest.decode()
    assert process.returncode == cli.EXIT_INTERRUPTED == 130
    assert_clean(stderr)
    assert stderr.rstrip().endswith("crdtkit: interrupted")
    assert stdout == b""
