"""The credentials application's on-ledger part: batch anchors and status lists."""

from salus.credentials.contracts.credentials import CredentialsContract

__all__ = ["CredentialsContract"]
