"""numpy on first use: the lab's simulations need it, the rest of crdtkit does not.

Call ``require_numpy`` at the top of a function that uses numpy, then import numpy in
that function: the import is then a dictionary lookup, and mypy still sees numpy's types.
"""

from __future__ import annotations

__all__ = ["require_numpy"]


def require_numpy() -> None:
    """Import numpy, or raise ImportError naming the extra that installs it."""
    try:
        import numpy  # noqa: F401
    except ImportError as error:
        raise ImportError(
            "merge.lab's simulations need numpy; install the lab extra: pip install 'crdtkit[lab]'"
        ) from error
