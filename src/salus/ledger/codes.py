"""Validation codes: every transaction ends with exactly one of these.

Like Hyperledger Fabric's TxValidationCode, a code is stable (clients and dashboards
match on it) and always comes with a human-readable reason. ``VALID`` is the only code
under which a transaction changes state.
"""

from __future__ import annotations

from enum import StrEnum


class Code(StrEnum):
    VALID = "VALID"
    # Refused at ingress or in validation: the transaction itself is wrong.
    MALFORMED = "MALFORMED"  # not a well-formed signed envelope
    TOO_LARGE = "TOO_LARGE"  # over the chain's size limit
    WRONG_CHAIN = "WRONG_CHAIN"  # signed for another chain id
    BAD_SIGNATURE = "BAD_SIGNATURE"  # signature does not verify under the signer's key
    STALE = "STALE"  # its time is too far from the block time
    DUPLICATE = "DUPLICATE"  # the exact same transaction was already ordered
    # Refused by the ledger's rules for the signer.
    UNKNOWN_SIGNER = "UNKNOWN_SIGNER"  # key is not enrolled
    KEY_NOT_ACTIVE = "KEY_NOT_ACTIVE"  # key was rotated or revoked
    REPLAYED_NONCE = "REPLAYED_NONCE"  # nonce not above the signer's last committed nonce
    FORBIDDEN = "FORBIDDEN"  # signer lacks the role or ownership the method needs
    # Refused by the contract.
    UNKNOWN_CONTRACT = "UNKNOWN_CONTRACT"
    UNKNOWN_METHOD = "UNKNOWN_METHOD"
    BAD_ARGUMENTS = "BAD_ARGUMENTS"
    NOT_FOUND = "NOT_FOUND"  # the thing the method acts on does not exist
    CONFLICT = "CONFLICT"  # the state does not allow it (already exists, already revoked...)
    CONTRACT_ERROR = "CONTRACT_ERROR"  # the contract failed unexpectedly (a bug: report it)


class Rejected(Exception):
    """Raised anywhere in validation or execution to reject one transaction."""

    def __init__(self, code: Code, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason
