"""The exceptions of [`merge.lab`][merge.lab].

One root, ``LabError``; each leaf also subclasses the built-in exception a caller would
naturally catch, and carries its evidence as attributes.
"""

from __future__ import annotations

import copyreg

__all__ = ["LabConfigError", "LabError"]


class LabError(Exception):
    """Root of every exception raised by [`merge.lab`][merge.lab]. Every one pickles with its
    attributes."""

    def __reduce__(self) -> tuple[object, ...]:
        # rebuild from the message and the attributes, not by calling __init__ again with
        # the message as its arguments: every subclass pickles with its evidence intact
        newobj = copyreg.__newobj__  # type: ignore[attr-defined]  # not in typeshed
        return (newobj, (type(self), *self.args), self.__dict__)


class LabConfigError(LabError, ValueError):
    """A lab model was given a parameter it cannot use; nothing was built or run.

    ``parameter`` names the argument and ``value`` is what was passed.
    """

    def __init__(self, parameter: str, value: object, message: str) -> None:
        self.parameter = parameter
        self.value = value
        super().__init__(f"{parameter}={value!r}: {message}")
