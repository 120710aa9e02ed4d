"""One custodian organisation as a node hosts it: its gateway key, vault and ledger writer.

The gateway key is a member of the custodian's organisation with the ``gateway`` role.
It signs the custodian's record registrations and access-log transactions, and its
X25519 key holds the custodian's own copy of every document key (needed to serve a
grant made to a role or an organisation, or a break-glass override, where the reader is
only known at read time).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from pathlib import Path
from typing import Any

from salus.identity import Identity
from salus.ledger import transaction
from salus.ledger.executor import nonce_key
from salus.ledger.members import has_role, member_of_key, org_key
from salus.node.datadir import DataDir
from salus.node.node import Node, NodeUnavailable
from salus.node.receipt import Receipt
from salus.records.contracts.layout import GATEWAY_ROLE
from salus.records.vault import Vault

log = logging.getLogger("salus.records")


class CustodianError(RuntimeError):
    """A custodian cannot be set up (no key, not enrolled)."""


class LedgerWriter:
    """Signs one key's transactions with strictly increasing nonces, in submission order."""

    def __init__(self, node: Node, key: Identity) -> None:
        self.node = node
        self.key = key
        self._lock = asyncio.Lock()
        self._nonce: int | None = None

    def _next_nonce(self) -> int:
        if self._nonce is None:
            self._nonce = int(self.node.ledger.state_value(nonce_key(self.key.did)) or 0)
        self._nonce += 1
        return self._nonce

    async def send(self, contract: str, method: str, args: dict[str, Any], now_ms: int, *,
                   want_commit: bool) -> Receipt | asyncio.Future[Receipt]:
        """Hand one transaction to the node. Returns the refusal or pending receipt, or a
        future of the commit receipt."""
        async with self._lock:  # nonce order must be submission order
            raw = transaction.encode(self.key, chain=self.node.ledger.chain_id, contract=contract,
                                     method=method, args=args, nonce=self._next_nonce(), time=now_ms)
            (result,) = await self.node.enqueue([raw], want_commit=want_commit)
            if isinstance(result, Receipt) and result.status == "refused":
                self._nonce = None  # re-read from the ledger next time
                return result
        return result[1] if isinstance(result, tuple) else result


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


#: How long a starting gateway retries its enrolment while the ordering service is busy
#: (a network peer may start before its NATS cluster has elected stream leaders).
ENROL_PATIENCE_S = 60.0


async def _enrol_gateway(writer: LedgerWriter, org: str, method: str, args: dict[str, Any],
                         now_ms: int) -> Receipt:
    loop = asyncio.get_running_loop()
    started = loop.time()
    delay = 0.1
    while True:
        waited = loop.time() - started
        try:
            result = await writer.send("membership", method, args, now_ms + int(waited * 1000),
                                       want_commit=True)
            return result if isinstance(result, Receipt) else await result
        except NodeUnavailable as exc:
            if exc.code != "BUSY" or waited + delay > ENROL_PATIENCE_S:
                raise CustodianError(f"could not enrol the gateway of {org}: {exc.code} "
                                     f"{exc.reason}") from None
            log.info("ordering not ready (%s); retrying the gateway enrolment of %s", exc.reason, org)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)


async def open_custodian(node: Node, datadir: DataDir, org: str, admin: Identity | None,
                         now_ms: int) -> Custodian:
    """Load (or create) an organisation's gateway key and vault, enrolling the key with
    the ``gateway`` role if it is not yet, using the organisation admin's key."""
    ledger = node.ledger
    if ledger.state_value(org_key(org)) is None:
        raise CustodianError(f"no organisation {org!r} on this chain")
    path = gateway_key_path(datadir, org)
    key = Identity.load(path) if path.exists() else Identity.generate()
    if not path.exists():
        key.save(path)
    member = member_of_key(ledger.state_value, key.did)
    if not has_role(ledger.state_value, member, GATEWAY_ROLE, org, ledger.height):
        if admin is None:
            raise CustodianError(
                f"the gateway key of {org} ({key.did}) is not enrolled; an admin of {org} must "
                f"run: salus tx membership enrol org={org} member={key.did} roles=gateway")
        if member is None:
            method, args = "enrol", {"org": org, "member": key.did, "roles": [GATEWAY_ROLE],
                                     "encryption_key": key.encryption_did}
        else:
            method, args = "grant_roles", {"member": key.did, "roles": [GATEWAY_ROLE]}
        receipt = await _enrol_gateway(LedgerWriter(node, admin), org, method, args, now_ms)
        if not receipt.valid:
            raise CustodianError(f"could not enrol the gateway of {org}: {receipt.code} {receipt.reason}")
        log.info("enrolled gateway key %s for %s", key.did, org)
    return Custodian(org, key, Vault(vault_path(datadir, org)), node)
