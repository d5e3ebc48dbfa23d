"""Conflict-free replicated data types on one causal kernel.

Every type merges without coordination (``a.merge(b)`` is commutative, associative and
idempotent), every mutator returns a delta to ship to peers, and the observed-remove types
share one causal kernel (dots plus a compact causal context).
"""

from crdts._base import CRDT
from crdts._identity import incarnations
from crdts.cart import Cart
from crdts.causal_counter import CausalCounter
from crdts.codec import decode, encode
from crdts.errors import (
    CRDTError,
    DecodeError,
    DotConflictError,
    RetiredWriterError,
    UnboundReplicaError,
)
from crdts.flags import DWFlag, EWFlag
from crdts.gcounter import GCounter
from crdts.gset import GSet
from crdts.lww import LWWElementSet, LWWMap, LWWRegister
from crdts.mvregister import MVRegister
from crdts.ormap import ORMap
from crdts.orset import ORSet
from crdts.pncounter import PNCounter
from crdts.rworset import RWORSet
from crdts.twopset import TwoPSet

__all__ = [
    "CRDT",
    "CRDTError",
    "Cart",
    "CausalCounter",
    "DWFlag",
    "DecodeError",
    "DotConflictError",
    "EWFlag",
    "GCounter",
    "GSet",
    "LWWElementSet",
    "LWWMap",
    "LWWRegister",
    "MVRegister",
    "ORMap",
    "ORSet",
    "PNCounter",
    "RWORSet",
    "RetiredWriterError",
    "TwoPSet",
    "UnboundReplicaError",
    "decode",
    "encode",
    "incarnations",
]
