"""The API reference on the docs site covers every public name.

The site is built once (``mkdocs build``, a few seconds) and its ``objects.inv`` — the
inventory of every object mkdocstrings rendered, by dotted path — is read back. Every name
in the ``__all__`` of every public module of ``clocks``, ``crdts`` and ``merge`` (a module
whose dotted path has no ``_`` part) must be rendered: under its own path
(``crdts.codec.register``), or, for a class, function or module, as the same object under
another path (``crdts.gcounter.GCounter`` is rendered as ``crdts.GCounter``).

A module that cannot be imported here (an extra is missing) is skipped with the reason.
Needs the ``docs`` extra; skipped without it.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import subprocess
import sys
import types
import zlib
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mkdocstrings", reason="the API reference needs the docs extra")

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("clocks", "crdts", "merge")


def public_modules() -> list[str]:
    """Dotted names of the packages and every submodule with no private part."""
    names = []
    for package in PACKAGES:
        module = importlib.import_module(package)
        names.append(package)
        for info in pkgutil.walk_packages(module.__path__, f"{package}."):
            if not any(part.startswith("_") for part in info.name.split(".")):
                names.append(info.name)
    return names


def read_inventory(path: Path) -> set[str]:
    """The object names in a Sphinx ``objects.inv`` (version 2) inventory."""
    header, _, body = path.read_bytes().partition(b"zlib.\n")
    assert header.startswith(b"# Sphinx inventory version 2"), header[:40]
    return {line.split(" ", 1)[0] for line in zlib.decompress(body).decode().splitlines()}


def resolve(dotted: str) -> Any:
    """The object a rendered dotted path names, or None if it does not import."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attribute in parts[cut:]:
                target = getattr(target, attribute)
        except AttributeError:
            return None
        return target
    return None


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    site = tmp_path_factory.mktemp("site")
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--no-strict", "--quiet", "--site-dir", site],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    return read_inventory(site / "objects.inv")


@pytest.mark.parametrize("module_name", public_modules())
def test_every_public_name_is_in_the_api_reference(module_name: str, rendered: set[str]) -> None:
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        pytest.skip(f"{module_name} does not import here: {error}")
    rendered_objects = {
        id(obj)
        for obj in map(resolve, rendered)
        if isinstance(obj, type | types.FunctionType | types.ModuleType)
    }
    missing = []
    for name in getattr(module, "__all__", ()):
        obj = getattr(module, name)
        if f"{module_name}.{name}" in rendered:
            continue
        if (inspect.isclass(obj) or inspect.isfunction(obj)) and id(obj) in rendered_objects:
            continue
        missing.append(name)
    assert not missing, (
        f"{module_name} exports {missing} but the API reference does not render them: add "
        f"'::: {module_name}' (or the objects) to a page under docs/api/ and to mkdocs.yml's nav"
    )


def test_the_inventory_reader_sees_a_known_name(rendered: set[str]) -> None:
    # guards the test above against an inventory that silently parses to nothing
    assert {"crdts.GCounter", "clocks.HLC", "merge.laws.check_crdt"} <= rendered


#: Pages owned by other work in progress whose long lines are output, not code to reflow.
LONG_LINES_ALLOWED = {"docs/cli.md", "docs/lab/replication.md"}
CODE_COLUMNS = 90


def test_code_blocks_in_the_docs_fit_the_page() -> None:
    """At 1280 px the content column shows about 90 columns of code; longer lines scroll,
    and a comment past the edge is a comment nobody reads."""
    too_long = []
    for page in sorted((ROOT / "docs").rglob("*.md")):
        name = page.relative_to(ROOT).as_posix()
        if name in LONG_LINES_ALLOWED:
            continue
        fenced = False
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            if line.lstrip().startswith("```"):
                fenced = not fenced
            elif fenced and len(line) > CODE_COLUMNS:
                too_long.append(f"{name}:{number} ({len(line)} columns)")
    assert not too_long, f"reflow these code lines to {CODE_COLUMNS} columns: {too_long}"
