"""The exceptions of :mod:`merge.lab`.

One root, :class:`LabError`; each leaf also subclasses the built-in exception a caller would
naturally catch, and carries its evidence as attributes.
"""

from __future__ import annotations

__all__ = ["LabConfigError", "LabError"]


class LabError(Exception):
    """Root of every exception raised by :mod:`merge.lab`."""


class LabConfigError(LabError, ValueError):
    """A lab model was given a parameter it cannot use; nothing was built or run.

    ``parameter`` names the argument and ``value`` is what was passed.
    """

    def __init__(self, parameter: str, value: object, message: str) -> None:
        self.parameter = parameter
        self.value = value
        super().__init__(f"{parameter}={value!r}: {message}")
