"""Create one virtual environment per peer and install it there.

Run: ``python bench/peers/setup.py [--only crdtkit,pycrdt] [--fresh]``.

Each peer gets its own environment under ``bench/peers/.venvs/<peer>/`` (git-ignored): the
PyPI ``crdts`` distribution installs a top-level ``crdts`` package that would shadow ours, and
one peer pins an old ``typing-extensions``, so no two peers share one. crdtkit is installed
editable from this checkout, so a run measures the code in the work tree. A peer that fails to
install (no wheel for this Python, a build error) is recorded in ``.venvs/status.json`` with
the reason, and the benchmark lists it as not installable instead of failing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
VENVS = HERE / ".venvs"
STATUS = VENVS / "status.json"

# peer name -> (pip requirements, the distribution whose version the table shows)
PEERS: dict[str, tuple[list[str], str]] = {
    "crdtkit": (["-e", str(ROOT)], "crdtkit"),
    "pycrdt": (["pycrdt"], "pycrdt"),
    "y-py": (["y-py"], "y-py"),
    "crdts-pypi": (["crdts"], "crdts"),
    "xotl.crdt": (["xotl.crdt"], "xotl.crdt"),
    "python3-crdt": (["python3-crdt"], "python3-crdt"),
    "hlcpy": (["hlcpy"], "hlcpy"),
    "vectorclock": (["vectorclock"], "vectorclock"),
}


def python_of(peer: str) -> Path:
    """The interpreter of ``peer``'s environment."""
    return VENVS / peer / "bin" / "python"


def load_status() -> dict[str, dict[str, str | bool]]:
    """What the last setup recorded per peer: installed or not, version or reason."""
    if STATUS.exists():
        return json.loads(STATUS.read_text())  # type: ignore[no-any-return]
    return {}


def install(peer: str, *, fresh: bool) -> dict[str, str | bool]:
    """Create ``peer``'s environment and pip-install it; return its status entry."""
    requirements, distribution = PEERS[peer]
    target = VENVS / peer
    if fresh and target.exists():
        shutil.rmtree(target)
    if not python_of(peer).exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(target)
    # tracemalloc and the timers are stdlib; msgpack is the encode floor and crdtkit's codec
    command = [
        str(python_of(peer)),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]
    done = subprocess.run(
        [*command, *requirements, "msgpack"], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        reason = next((line for line in lines if "ERROR" in line), lines[-1] if lines else "?")
        return {"installed": False, "reason": reason.strip()[:200]}
    shown = subprocess.run(
        [str(python_of(peer)), "-m", "pip", "show", distribution],
        capture_output=True,
        text=True,
        check=False,
    )
    version = next(
        (
            line.split(":", 1)[1].strip()
            for line in shown.stdout.splitlines()
            if line.startswith("Version:")
        ),
        "?",
    )
    return {"installed": True, "version": version}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated peers (default: all)")
    parser.add_argument("--fresh", action="store_true", help="delete and recreate the environments")
    args = parser.parse_args()
    peers = args.only.split(",") if args.only else list(PEERS)
    unknown = sorted(set(peers) - set(PEERS))
    if unknown:
        parser.error(f"unknown peers {unknown}; choose from {sorted(PEERS)}")
    VENVS.mkdir(parents=True, exist_ok=True)
    status = load_status()
    for peer in peers:
        print(f"installing {peer} ...", flush=True)
        status[peer] = install(peer, fresh=args.fresh)
        print(f"  {status[peer]}", flush=True)
        STATUS.write_text(json.dumps(status, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
