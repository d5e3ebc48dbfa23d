"""Shared test configuration: Hypothesis profiles and deterministic writer incarnations.

``dev`` (the default) explores randomly, with a 2 s deadline (the 200 ms default tripped on
whole-network examples when the machine was busy); ``ci`` is derandomized and has no deadline so a
loaded two-core CI machine gives the same verdict every run; ``long`` is a bug hunt for
outside CI (``HYPOTHESIS_PROFILE=long``). ``CI`` in the environment selects ``ci``;
``HYPOTHESIS_PROFILE`` overrides both.
"""

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from crdts import incarnations

settings.register_profile("dev", max_examples=100, deadline=2_000)
settings.register_profile(
    "ci",
    max_examples=100,
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "long", max_examples=2_000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(autouse=True)
def _deterministic_incarnations() -> Iterator[None]:
    """Writer incarnations count 1, 2, 3, ... in every test, so a failure replays exactly."""
    with incarnations():
        yield
