"""Open the claims application for the organisations a node hosts (issue 17).

* A hosted **payer** (an insurer) acts through its claims service key (a member of the
  payer holding ``claims_officer``, enrolled by its admin's key the first time), which
  signs the automatic decisions and unit reservations, never a medical-necessity denial;
  its member key (:mod:`salus.claims.keys`) finds a Bundle's coverage; its vault holds
  the payer's encrypted copy of every request it is sent.
* A hosted **provider** (hospital, lab, pharmacy) acts through its claims service key
  (``registrar``), which signs ``submit``, ``update`` and ``cancel`` for its members'
  Bundles; its vault holds the provider's copy; its practitioners' licence credentials
  are in ``claims/licences/<provider>/``.

Keys: ``keys/<org>-claims.key``; vaults: ``claims/<org>-vault.db`` (the records
application's :class:`salus.records.vault.Vault`, so documents are sealed exactly as
records are: AES-256-GCM under a fresh key wrapped to each reader, the patient among them).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from salus.claims.contracts.layout import PAYER_TYPES, PROVIDER_TYPES
from salus.claims.keys import ClaimsKeyError, load_fingerprint_key, payer_member_key
from salus.claims.licences import licences_dir
from salus.claims.rules import RuleSet
from salus.clock import wall_clock_ms
from salus.identity import Identity
from salus.ledger.members import org_key
from salus.node.bootstrap import admin_key_path
from salus.node.datadir import DataDir
from salus.node.node import Node
from salus.node.service_key import LedgerWriter, service_key
from salus.node.service_key import hosted_orgs as hosted
from salus.records.vault import Vault

PAYER_ROLE = "claims_officer"
PROVIDER_ROLE = "registrar"


def claims_key_path(datadir: DataDir, org: str) -> Path:
    return datadir.keys_dir / f"{org}-claims.key"


def claims_vault_path(datadir: DataDir, org: str) -> Path:
    return datadir.path / "claims" / f"{org}-vault.db"


def hosted_orgs(node: Node, datadir: DataDir) -> list[str]:
    """Insurers, hospitals, labs and pharmacies whose admin or claims key is here."""
    return hosted(node, datadir, PAYER_TYPES | PROVIDER_TYPES, claims_key_path)


@dataclass
class Host:
    """One organisation the node acts for in claims: its service key, writer and vault."""

    org: str
    key: Identity
    writer: LedgerWriter
    vault: Vault
    member_key: bytes | None = None  # a payer's
    licences: Path | None = None  # a provider's licence credentials


#: Rule tables kept read (a table's version is the hash of its bytes: it never changes).
MAX_RULE_TABLES = 64


@dataclass
class ClaimsService:
    node: Node
    datadir: DataDir
    fingerprint_key: bytes
    payers: dict[str, Host] = field(default_factory=dict)
    providers: dict[str, Host] = field(default_factory=dict)
    #: The vaults' writes (encryption, a SQLite commit and its fsync each), off the loop.
    vault_io: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(
        4, thread_name_prefix="salus-claims-vault"))
    _tables: dict[str, RuleSet] = field(default_factory=dict)

    def rule_table(self, version: str, read: Callable[[str], RuleSet]) -> RuleSet:
        """The published table ``version``, read (``read``) once."""
        table = self._tables.get(version)
        if table is None:
            if len(self._tables) >= MAX_RULE_TABLES:
                self._tables.clear()
            table = self._tables[version] = read(version)
        return table

    def close(self) -> None:
        self.vault_io.shutdown(wait=True)
        for host in [*self.payers.values(), *self.providers.values()]:
            host.vault.close()


async def open_claims(node: Node, datadir: DataDir, orgs: list[str] | None = None
                      ) -> ClaimsService:
    orgs = hosted_orgs(node, datadir) if orgs is None else orgs
    kinds = {org: (node.ledger.state_value(org_key(org)) or {}).get("type") for org in orgs}
    if not any(kind in PAYER_TYPES for kind in kinds.values()):
        # A submission is answered by a node that hosts its payer too: without a payer
        # here there is nothing to serve, and no provider key is enrolled for nothing.
        return ClaimsService(node, datadir, b"")
    service = ClaimsService(node, datadir, load_fingerprint_key(datadir))
    now = wall_clock_ms()
    try:
        for org, kind in kinds.items():
            if kind is None:
                raise ClaimsKeyError(f"no organisation {org!r} on this chain")
            payer = kind in PAYER_TYPES
            admin_file = admin_key_path(datadir, org)
            admin = Identity.load(admin_file) if admin_file.exists() else None
            key = await service_key(node, claims_key_path(datadir, org), org,
                                    PAYER_ROLE if payer else PROVIDER_ROLE, admin, now)
            host = Host(org, key, LedgerWriter(node, key),
                        Vault(claims_vault_path(datadir, org)))
            if payer:
                host.member_key = payer_member_key(datadir, org)
                service.payers[org] = host
            else:
                host.licences = licences_dir(datadir.path, org)
                service.providers[org] = host
    except Exception:
        service.close()
        raise
    return service
