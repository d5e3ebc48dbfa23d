"""Conflict resolution for plain values, and the tools that prove a merge correct.

* [`Siblings`][merge.Siblings] keeps the concurrent versions of one key as Dynamo and Riak do, on
  dotted version vectors; ``merge.resolvers`` holds ready-made functions that collapse
  siblings (or an ``MVRegister``'s values) into one.
* ``Network`` (from ``merge.harness``) simulates replicas exchanging encoded
  deltas or states over a deterministic, faulty network; the ``crdtkit`` command drives it.
* [`merge.laws`][merge.laws] checks that a merge function, or a whole CRDT, obeys the lattice laws;
  ``merge.testing`` has Hypothesis strategies for every built-in type, convergence checks
  under any delivery order, and a state machine to subclass for your own types. Both need
  the ``testing`` extra (``pip install crdtkit[testing]``, which brings Hypothesis), so they
  are not imported here: import them explicitly, ``from merge.laws import check_laws``.

Examples:
    >>> from merge import Siblings, resolvers
    >>> store = Siblings()
    >>> store.put(3, context=None, replica="s1")
    >>> store.put(5, context=None, replica="s2")
    >>> store.values
    (3, 5)
    >>> store.resolve(resolvers.maximum); store.values
    (5,)
"""

from merge import resolvers as resolvers
from merge.harness import Faults, Network, SettleError
from merge.siblings import ForgedContextError, Siblings

__all__ = ["Faults", "ForgedContextError", "Network", "SettleError", "Siblings"]
