"""Hypothesis entry point: ``st.from_type`` for every type in the registry.

Hypothesis calls ``_hypothesis_setup_hook`` at the end of ``import hypothesis`` (see
``[project.entry-points.hypothesis]`` in pyproject.toml; ``HYPOTHESIS_NO_PLUGINS=1``
disables it). This module must not import ``merge.testing`` at top level: that module
imports Hypothesis, so a user who imports ``merge.testing`` first would re-enter it half
initialised. Instead each type is registered with a resolver that imports
``merge.testing`` when ``st.from_type`` first needs it. Types registered later, with
``merge.registry.register_type``, are added by it through :func:`register_strategy`.
"""

from __future__ import annotations

from typing import Any


def _resolve(crdt_type: type[Any]) -> Any:
    """The strategy for ``st.from_type(crdt_type)``: ``merge.testing.states(crdt_type)``."""
    from merge.testing import states

    return states(crdt_type)


def register_strategy(crdt_type: type[Any]) -> None:
    """Make ``st.from_type(crdt_type)`` draw ``merge.testing.states(crdt_type)``."""
    from hypothesis import strategies as st

    st.register_type_strategy(crdt_type, _resolve)


def _hypothesis_setup_hook() -> None:
    """Register ``_resolve`` for every type in ``merge.registry`` (the built-in CRDTs,
    ``merge.Siblings``, and users' types registered so far)."""
    from merge.registry import profiles

    for entry in profiles():
        register_strategy(entry.cls)
