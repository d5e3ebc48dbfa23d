"""Hypothesis strategies, convergence checks and reference models for merge types.

Needs the ``testing`` extra (``pip install crdtkit[testing]``): this module imports
Hypothesis.

* :func:`operations` draws mutator calls for every built-in type (:func:`mutators` lists
  them as :class:`Op` values); describe your own type's mutators with a list of ``Op``.
* :func:`states` draws reachable states (``st.from_type(crdts.ORSet)`` uses it);
  :func:`histories` draws several replicas of one run, which may be merged together.
* :func:`schedules` draws delivery orders with duplicates and lost-then-resent messages;
  :func:`check_convergence` runs random updates over replicas under such orders and checks
  that replicas which received the same updates are equal; :class:`ConvergenceMachine` is
  the same check as a ``RuleBasedStateMachine`` to subclass for your own types.
* :func:`register_type` (:func:`merge.registry.register_type`) gives your own type the
  same strategies, checks, simulator workloads and ``crdtkit simulate --type
  package.module:Class`` as the built-in types.
* :class:`TombstoneSet` and :class:`HistoryRegister` are naive reference models (they keep
  everything) for differential tests.

Examples:
    >>> from hypothesis import given
    >>> import crdts
    >>> from merge.testing import check_convergence, operations
    >>> check_convergence(crdts.ORSet, max_examples=5)
    >>> @given(operations(crdts.GCounter))
    ... def test_increments_never_lower_the_value(call):
    ...     counter = crdts.GCounter(replica="a")
    ...     _ = call(counter)
    ...     assert counter.value >= 0
    >>> test_increments_never_lower_the_value()
"""

from merge.testing._core import Call, CRDTType, ManualTime, Op
from merge.testing._engine import History
from merge.testing.convergence import ConvergenceMachine, check_convergence
from merge.testing.models import HistoryRegister, TombstoneSet, Write
from merge.testing.registry import mutators, register_type
from merge.testing.strategies import Delivery, histories, operations, schedules, states

__all__ = [
    "CRDTType",
    "Call",
    "ConvergenceMachine",
    "Delivery",
    "History",
    "HistoryRegister",
    "ManualTime",
    "Op",
    "TombstoneSet",
    "Write",
    "check_convergence",
    "histories",
    "mutators",
    "operations",
    "register_type",
    "schedules",
    "states",
]
