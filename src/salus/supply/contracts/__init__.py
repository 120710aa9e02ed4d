"""The supply chain's on-ledger part: the rules every serialised pack obeys."""

from salus.supply.contracts.supply import SupplyContract

__all__ = ["SupplyContract"]
