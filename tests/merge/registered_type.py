"""A user's own CRDT registered with ``merge.testing.register_type`` at import time.

``HighestBid`` is the worked ``MaxRegister`` of ``test_user_defined`` under its own wire
code, registered once here so that strategies, ``check_crdt``, ``ConvergenceMachine``, the
simulator's workloads and ``crdtkit simulate --type tests.merge.registered_type:HighestBid``
all know it without ``ops=``. (A subclass, so that ``MaxRegister`` itself stays unregistered
for the tests that show what an unregistered type is told.)
"""

from __future__ import annotations

import random
from typing import Any

from hypothesis import strategies as st

from merge.testing import Op, register_type
from tests.merge.test_user_defined import MaxRegister


class HighestBid(MaxRegister, type_code=102):
    """The highest bid seen: a MaxRegister."""

    __slots__ = ()


def _bid(state: Any, rng: random.Random) -> Any:
    return state.assign(rng.randint(0, 1_000))


PROFILE = register_type(
    HighestBid, [Op("assign", st.tuples(st.integers(-10, 10)))], name="highestbid", workload=_bid
)
