"""EWFlag and DWFlag: booleans that resolve concurrent enable/disable one way.

State: a dot store of tokens plus the causal context. Join: the causal kernel's rule.
Value: EWFlag is on while any enable token lives; DWFlag is on only when it has live tokens
and all are enables.
"""

from __future__ import annotations

from typing import Any, Self

from crdts._base import locked
from crdts._causal import CausalCRDT, DotFun

__all__ = ["DWFlag", "EWFlag"]


class EWFlag(CausalCRDT, type_code=10):
    """An enable-wins flag: a concurrent enable beats a disable.

    ``enable`` leaves a token; ``disable`` retires the tokens it observed, so an enable it
    did not observe survives.

    Surprises:
        * Disabling is only as strong as what the disabler saw: a flag enabled elsewhere at
          the same time stays on.

    Examples:
        >>> from crdts import EWFlag
        >>> a, b = EWFlag(replica="a"), EWFlag(replica="b")
        >>> b.merge(a.enable())
        >>> _ = b.disable(); _ = a.enable()
        >>> a.merge(b); a.value
        True

    Merge cost: O(t) for t live tokens (at most one per replica that enabled concurrently).
    State size: O(t) plus the causal context.
    """

    __slots__ = ()

    @staticmethod
    def _payload_from_wire(data: Any) -> Any:
        if data is not True:
            raise ValueError(f"an EWFlag token is true, not {data!r}")
        return True

    def __init__(self, *, replica: str | None = None) -> None:
        super().__init__(replica=replica)
        self._store: DotFun[bool] = DotFun()

    @locked
    def enable(self) -> Self:
        """Turn the flag on; return the delta."""
        return self._mutate(list(self._store.dots()), (True,))

    @locked
    def disable(self) -> Self:
        """Turn the flag off, as far as observed; return the delta."""
        return self._mutate(list(self._store.dots()))

    @property
    @locked
    def value(self) -> bool:
        """True while any enable token lives."""
        return bool(self._store)


class DWFlag(CausalCRDT, type_code=11):
    """A disable-wins flag: a concurrent disable beats an enable. Starts disabled.

    Both ``enable`` and ``disable`` retire the tokens they observed and leave their own; the
    flag is on only when every live token is an enable.

    Surprises:
        * After ``disable`` one disable token stays, so a concurrent enable cannot win.

    Examples:
        >>> from crdts import DWFlag
        >>> a, b = DWFlag(replica="a"), DWFlag(replica="b")
        >>> b.merge(a.enable())
        >>> _ = b.disable(); _ = a.enable()
        >>> a.merge(b); a.value
        False

    Merge cost: O(t) for t live tokens. State size: O(t) plus the causal context.
    """

    __slots__ = ()

    @staticmethod
    def _payload_from_wire(data: Any) -> Any:
        if type(data) is not bool:
            raise ValueError(f"a DWFlag token is a bool, not {data!r}")
        return data

    def __init__(self, *, replica: str | None = None) -> None:
        super().__init__(replica=replica)
        self._store: DotFun[bool] = DotFun()

    @locked
    def enable(self) -> Self:
        """Turn the flag on; return the delta."""
        return self._mutate(list(self._store.dots()), (True,))

    @locked
    def disable(self) -> Self:
        """Turn the flag off; return the delta."""
        return self._mutate(list(self._store.dots()), (False,))

    @property
    @locked
    def value(self) -> bool:
        """True when there are live tokens and all are enables."""
        tokens = [enabled for _, enabled in self._store.items()]
        return bool(tokens) and all(tokens)
