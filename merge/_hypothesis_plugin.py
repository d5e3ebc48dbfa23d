"""Hypothesis entry point: ``st.from_type`` for every crdtkit type.

Hypothesis calls ``_hypothesis_setup_hook`` at the end of ``import hypothesis`` (see
``[project.entry-points.hypothesis]`` in pyproject.toml; ``HYPOTHESIS_NO_PLUGINS=1``
disables it). This module must not import ``merge.testing`` at top level: that module
imports Hypothesis, so a user who imports ``merge.testing`` first would re-enter it half
initialised. Instead each type is registered with a resolver that imports
``merge.testing`` when ``st.from_type`` first needs it.
"""

from __future__ import annotations

from typing import Any


def _resolve(crdt_type: type[Any]) -> Any:
    """The strategy for ``st.from_type(crdt_type)``: ``merge.testing.states(crdt_type)``."""
    from merge.testing import states

    return states(crdt_type)


def _hypothesis_setup_hook() -> None:
    """Register ``_resolve`` for every built-in CRDT and for ``merge.Siblings``."""
    from hypothesis import strategies as st

    import crdts
    from merge.siblings import Siblings

    for name in crdts.__all__:
        value = getattr(crdts, name)
        if isinstance(value, type) and issubclass(value, crdts.CRDT) and value is not crdts.CRDT:
            st.register_type_strategy(value, _resolve)
    st.register_type_strategy(Siblings, _resolve)
