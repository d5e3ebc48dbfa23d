"""Collect the doctests in the packages' docstrings and the python blocks in the docs.

Every example a reader sees is executed: ``>>>`` sessions in docstrings, and ```` ```python ````
fences in ``README.md`` and ``docs/*.md`` (one shared namespace per document, so run under
``--dist loadfile``).
The consistency lab's examples (``merge/lab/``, ``docs/lab/``) need numpy, from the ``lab``
extra: without it they are skipped, with the reason.
"""

from doctest import ELLIPSIS, NORMALIZE_WHITESPACE

import pytest
from sybil import Sybil
from sybil.parsers.markdown import PythonCodeBlockParser, SkipParser
from sybil.parsers.rest import DocTestParser
from sybil.sybil import SybilCollection

_FLAGS = ELLIPSIS | NORMALIZE_WHITESPACE
_MARKDOWN = [PythonCodeBlockParser(doctest_optionflags=_FLAGS), SkipParser()]


@pytest.fixture
def _lab_needs_numpy(request: pytest.FixtureRequest) -> None:
    """Skip an example of the consistency lab when numpy (the ``lab`` extra) is missing."""
    if "lab" not in request.node.path.relative_to(request.config.rootpath).parts:
        return
    try:
        import numpy  # noqa: F401
    except ImportError:
        pytest.skip("the consistency lab needs numpy: pip install 'crdtkit[lab]'")


_sybils = [
    Sybil(
        parsers=_MARKDOWN,
        path="docs",
        patterns=["*.md"],
        name="docs",
        fixtures=["_lab_needs_numpy"],
    ),
    Sybil(parsers=_MARKDOWN, path=".", filenames={"README.md"}, name="readme"),
]
_sybils += [
    Sybil(
        parsers=[DocTestParser(optionflags=_FLAGS)],
        path=package,
        patterns=["*.py"],
        name=package,
        fixtures=["_lab_needs_numpy"],
    )
    for package in ("clocks", "crdts", "merge")
]
pytest_collect_file = SybilCollection(_sybils).pytest()
