"""griffe extensions for the API reference (mkdocs.yml loads them through mkdocstrings).

- ``HidePrivateDefaults``: some parameters default to a private sentinel so that ``None``
  can keep a meaning of its own (``copy(*, replica=_KEEP)``: omitted keeps this replica,
  ``None`` makes the copy read-only). The reference shows such a default as ``...``; the
  docstring says what omitting the argument does.
- ``SphinxRolesAsCode``: a Sphinx role left in a docstring (``:class:`~a.b.C```) would
  render as raw text; it is shown as code (``C``) instead. Write cross-references in
  mkdocstrings syntax, ``[`C`][a.C]``; this only keeps a stray role from showing.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:class|func|meth|attr|mod|exc|data|obj):`(~?)([^`]+)`")


def _as_code(match: re.Match[str]) -> str:
    tilde, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if tilde else target}`"


class HidePrivateDefaults(griffe.Extension):
    """Replace a parameter default that names a private object (``_KEEP``) by ``...``."""

    def on_function_instance(self, *, func: griffe.Function, **kwargs: Any) -> None:
        for parameter in func.parameters:
            if str(parameter.default or "").startswith("_"):
                parameter.default = "..."


class SphinxRolesAsCode(griffe.Extension):
    """Show Sphinx roles in docstrings as inline code."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None and ":`" in obj.docstring.value:
            obj.docstring.value = _ROLE.sub(_as_code, obj.docstring.value)
