"""The ledger's own contracts: membership (who is who) and notary (content hashes)."""

from salus.ledger.contracts.membership import MembershipContract
from salus.ledger.contracts.notary import NotaryContract

__all__ = ["MembershipContract", "NotaryContract"]
