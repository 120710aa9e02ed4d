"""One custodian organisation as a node hosts it: its gateway key, vault and ledger writer.

The gateway key is a member of the custodian's organisation with the ``gateway`` role.
It signs the custodian's record registrations and access-log transactions, and its
X25519 key holds the custodian's own copy of every document key (needed to serve a
grant made to a role or an organisation, or a break-glass override, where the reader is
only known at read time).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from pathlib import Path

from salus.identity import Identity
from salus.ledger.members import org_key
from salus.node.datadir import DataDir
from salus.node.node import Node
from salus.node.service_key import LedgerWriter, ServiceKeyError, service_key
from salus.records.contracts.layout import GATEWAY_ROLE
from salus.records.vault import Vault

log = logging.getLogger("salus.records")


class CustodianError(RuntimeError):
    """A custodian cannot be set up (no key, not enrolled)."""


class Custodian:
    def __init__(self, org: str, key: Identity, vault: Vault, node: Node) -> None:
        self.org = org
        self.key = key
        self.vault = vault
        self.writer = LedgerWriter(node, key)
        # Record ids are keyed hashes of the sender's ids, so an EHR id (often an MRN)
        # never reaches the ledger, and cannot be recovered by hashing guesses.
        self._id_key = hashlib.sha256(b"salus-record-ids|" + bytes(key.signing_key)).digest()

    @property
    def member_id(self) -> str:
        return self.key.did

    def keyed(self, text: str) -> str:
        return hmac.new(self._id_key, text.encode(), hashlib.sha256).hexdigest()

    def record_id(self, patient: str, resource_type: str, source_id: str) -> str:
        """Stable per (patient, type, sender's id): re-sending a resource amends it."""
        return "r-" + self.keyed(f"{patient}|{resource_type}/{source_id}")[:32]

    def close(self) -> None:
        self.vault.close()


def gateway_key_path(datadir: DataDir, org: str) -> Path:
    return datadir.keys_dir / f"{org}-gateway.key"


def vault_path(datadir: DataDir, org: str) -> Path:
    return datadir.path / "vaults" / f"{org}.db"


async def open_custodian(node: Node, datadir: DataDir, org: str, admin: Identity | None,
                         now_ms: int) -> Custodian:
    """Load (or create) an organisation's gateway key and vault, enrolling the key with
    the ``gateway`` role if it is not yet, using the organisation admin's key."""
    ledger = node.ledger
    if ledger.state_value(org_key(org)) is None:
        raise CustodianError(f"no organisation {org!r} on this chain")
    try:
        key = await service_key(node, gateway_key_path(datadir, org), org, GATEWAY_ROLE,
                                admin, now_ms)
    except ServiceKeyError as exc:
        raise CustodianError(str(exc)) from None
    return Custodian(org, key, Vault(vault_path(datadir, org)), node)
