"""The claims application's on-ledger part: rules, coverage and decisions."""

from salus.claims.contracts.claims import ClaimsContract

__all__ = ["ClaimsContract"]
