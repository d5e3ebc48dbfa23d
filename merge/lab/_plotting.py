"""matplotlib on first use, for the lab results' ``plot(path)`` methods (the ``plot`` extra)."""

from __future__ import annotations

from typing import Any

__all__ = ["pyplot"]


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the non-interactive Agg backend, or ImportError naming the
    extra that installs it."""
    try:
        import matplotlib
    except ImportError as error:
        raise ImportError(
            "plotting a lab result needs matplotlib; install the plot extra: "
            "pip install 'crdtkit[plot]'"
        ) from error
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
