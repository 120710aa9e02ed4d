"""Ordering: fixing each transaction's place before any peer executes it.

One interface (:class:`Orderer`), several services behind it: ``solo`` runs in the
node's own process; a replicated JetStream orderer implements the same interface for a
multi-organisation network. Peers never know which one they talk to.
"""

from salus.ordering.orderer import Batch, Orderer, OrdererUnavailable
from salus.ordering.solo import SoloOrderer

__all__ = ["Batch", "Orderer", "OrdererUnavailable", "SoloOrderer"]
