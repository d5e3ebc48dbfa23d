"""The causal kernel, public: what a type built on top of ``crdts`` subclasses.

Every observed-remove type in ``crdts`` is a thin layer over this kernel, and so is
``merge.Siblings``. A state is a dot store plus a causal context:

* :class:`CausalContext` — every dot ``(replica, counter)`` the state has seen, as a compact
  version vector plus a cloud of isolated dots;
* :class:`DotFun` — the live dots and the payload each carries;
* :class:`JoinPlan` — what a join will change, computed before anything changes, so a
  refused merge changes nothing;
* :class:`CausalCRDT` — the base class: it joins stores and contexts, mints dots for
  ``_mutate`` and returns deltas; a type overrides ``_plan`` to add its own join rule.

Examples:
    >>> from crdts.causal import CausalContext
    >>> context = CausalContext()
    >>> for counter in (1, 2, 4):
    ...     context.add("a", counter)
    >>> context.contains("a", 2), context.contains("a", 3), context.next_counter("a")
    (True, False, 5)

Cost: see each class; a join is O(dots changed + replicas).
"""

from crdts._causal import CausalContext, CausalCRDT, DotFun, JoinPlan

__all__ = ["CausalCRDT", "CausalContext", "DotFun", "JoinPlan"]
