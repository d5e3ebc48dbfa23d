"""Collect the doctests in the packages' docstrings and the python blocks in the docs.

Every example a reader sees is executed: ``>>>`` sessions in docstrings, and ```` ```python ````
fences in ``README.md`` and ``docs/*.md`` (one shared namespace per document, so run under
``--dist loadfile``).
"""

from doctest import ELLIPSIS, NORMALIZE_WHITESPACE

from sybil import Sybil
from sybil.parsers.markdown import PythonCodeBlockParser, SkipParser
from sybil.parsers.rest import DocTestParser
from sybil.sybil import SybilCollection

_FLAGS = ELLIPSIS | NORMALIZE_WHITESPACE
_MARKDOWN = [PythonCodeBlockParser(doctest_optionflags=_FLAGS), SkipParser()]

_sybils = [
    Sybil(parsers=_MARKDOWN, path="docs", patterns=["*.md"], name="docs"),
    Sybil(parsers=_MARKDOWN, path=".", filenames={"README.md"}, name="readme"),
]
_sybils += [
    Sybil(
        parsers=[DocTestParser(optionflags=_FLAGS)], path=package, patterns=["*.py"], name=package
    )
    for package in ("clocks", "crdts", "merge")
]
pytest_collect_file = SybilCollection(_sybils).pytest()
