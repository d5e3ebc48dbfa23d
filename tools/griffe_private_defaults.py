"""A griffe extension for the API reference: hide private sentinel defaults in signatures.

Some parameters default to a private sentinel so that ``None`` can keep a meaning of its
own (``copy(*, replica=_KEEP)``: omitted keeps this replica, ``None`` makes the copy
read-only). The reference shows such a default as ``...``; the docstring says what omitting
the argument does. mkdocs.yml loads this file through mkdocstrings' ``extensions`` option.
"""

from __future__ import annotations

from typing import Any

import griffe


class HidePrivateDefaults(griffe.Extension):
    """Replace a parameter default that names a private object (``_KEEP``) by ``...``."""

    def on_function_instance(self, *, func: griffe.Function, **kwargs: Any) -> None:
        for parameter in func.parameters:
            if str(parameter.default or "").startswith("_"):
                parameter.default = "..."
