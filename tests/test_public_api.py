"""Each package's ``__all__`` is a literal list that names exactly its public names.

A name missing from ``__all__`` is invisible to ``from package import *`` and to the API docs;
a name in ``__all__`` that does not exist breaks ``import *``. Submodules (and any other module
object) are reached by attribute, not re-exported, so they are left out.
"""

import __future__

import ast
import importlib
import types
from pathlib import Path

import pytest

PACKAGES = ["clocks", "crdts", "merge", "merge.lab"]


def literal_all(package: types.ModuleType) -> list[str]:
    """The value of ``__all__`` as written in the package's ``__init__.py`` source."""
    assert package.__file__ is not None
    tree = ast.parse(Path(package.__file__).read_text(encoding="utf-8"))
    values = [
        node.value
        for node in tree.body
        if (isinstance(node, ast.Assign) and _names(node.targets) == ["__all__"])
        or (isinstance(node, ast.AnnAssign) and _names([node.target]) == ["__all__"])
    ]
    assert len(values) == 1, f"{package.__name__} must assign __all__ exactly once"
    value = values[0]
    assert isinstance(value, ast.List), f"{package.__name__}.__all__ must be a literal list"
    written = []
    for item in value.elts:
        assert isinstance(item, ast.Constant) and isinstance(item.value, str), (
            f"{package.__name__}.__all__ must list string literals only"
        )
        written.append(item.value)
    return written


def _names(targets: list[ast.expr]) -> list[str]:
    return [target.id for target in targets if isinstance(target, ast.Name)]


def public_names(package: types.ModuleType) -> set[str]:
    """Non-underscore names bound in the package namespace, other than modules."""
    return {
        name
        for name, value in vars(package).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        # ``from __future__ import annotations`` binds a compiler flag, not an export.
        and not isinstance(value, __future__._Feature)
    }


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_a_literal_list_without_duplicates(name: str) -> None:
    package = importlib.import_module(name)
    written = literal_all(package)
    assert len(written) == len(set(written)), f"duplicates in {name}.__all__"
    assert package.__all__ == written


@pytest.mark.parametrize("name", PACKAGES)
def test_every_name_in_all_exists(name: str) -> None:
    package = importlib.import_module(name)
    missing = [export for export in package.__all__ if not hasattr(package, export)]
    assert not missing, f"{name}.__all__ lists names the package does not define: {missing}"


@pytest.mark.parametrize("name", PACKAGES)
def test_every_public_name_is_listed_in_all(name: str) -> None:
    package = importlib.import_module(name)
    unlisted = sorted(public_names(package) - set(package.__all__))
    assert not unlisted, (
        f"{name} binds public names missing from __all__: {unlisted}; "
        "add them to __all__ or import them under a leading underscore"
    )


@pytest.mark.parametrize("name", PACKAGES)
def test_star_import_gives_exactly_all(name: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from {name} import *", namespace)
    namespace.pop("__builtins__")
    assert set(namespace) == set(importlib.import_module(name).__all__)
