"""No package imports another package's private module (``crdts._wire`` from ``merge``, ...).

What one package needs of another is public (``crdts.values`` holds the value model that
``merge`` uses); a private module may change under its own package without notice.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["clocks", "crdts", "merge"]


def _imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return names


@pytest.mark.parametrize("package", PACKAGES)
def test_no_package_imports_another_packages_private_module(package: str) -> None:
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name in _imported_modules(path):
            parts = name.split(".")
            foreign = parts[0] in PACKAGES and parts[0] != package
            if foreign and any(part.startswith("_") for part in parts[1:]):
                offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert not offenders, "imports of another package's private names:\n" + "\n".join(offenders)
