"""``salus init``: found a chain in a data directory.

Generates the orderer key and one admin key per organisation (each 0600), writes the
genesis document naming them, and leaves the ledger to be created on first start.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from salus.claims.keys import provision_fingerprint_key
from salus.identity import Identity
from salus.ledger import genesis as genesis_mod
from salus.ledger import transaction
from salus.ledger.ledger import Ledger
from salus.ledger.members import ORG_TYPES
from salus.ledger.signatures import executable
from salus.node.datadir import DataDir

_ORG_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}\Z")


class InitError(ValueError):
    pass


@dataclass(frozen=True)
class OrgSpec:
    id: str
    type: str
    name: str

    @classmethod
    def parse(cls, text: str) -> OrgSpec:
        """``id:type:Display Name`` (the name may be omitted)."""
        parts = text.split(":", 2)
        if len(parts) < 2:
            raise InitError(f"organisation {text!r} must be written id:type[:name]")
        org_id, org_type = parts[0].strip(), parts[1].strip()
        name = parts[2].strip() if len(parts) == 3 else org_id
        if not _ORG_ID.match(org_id):
            raise InitError(f"organisation id {org_id!r} must be lowercase letters, digits, '-'")
        if org_type not in ORG_TYPES:
            raise InitError(f"organisation type {org_type!r} is not one of {', '.join(sorted(ORG_TYPES))}")
        return cls(org_id, org_type, name)


def admin_key_path(datadir: DataDir, org_id: str) -> Path:
    return datadir.keys_dir / f"{org_id}-admin.key"


def init_datadir(path: str | Path, chain_id: str, orgs: list[OrgSpec],
                 now_ms: int | None = None) -> genesis_mod.Genesis:
    datadir = DataDir(Path(path))
    if datadir.initialised():
        raise InitError(f"{datadir.path} already holds a chain (genesis.json exists)")
    if not orgs:
        raise InitError("a consortium needs at least one organisation")
    if len({o.id for o in orgs}) != len(orgs):
        raise InitError("organisation ids must be unique")
    datadir.path.mkdir(parents=True, exist_ok=True)
    orderer = Identity.generate()
    organisations = []
    for org in orgs:
        admin = Identity.generate()
        admin.save(admin_key_path(datadir, org.id))
        organisations.append({"id": org.id, "name": org.name, "type": org.type,
                              "admins": [{"did": admin.did, "encryption_key": admin.encryption_did}]})
    genesis = genesis_mod.build(chain_id, orderer.did, organisations,
                                time.time_ns() // 1_000_000 if now_ms is None else now_ms)
    orderer.save(datadir.key_file)
    # the consortium's shared claims fingerprint key (salus.claims.keys)
    provision_fingerprint_key([datadir])
    datadir.write_genesis(genesis)
    return genesis


class LedgerSession:
    """Signs transactions and commits them as blocks straight to a ledger, before any node
    runs on it (a demo's or a benchmark's founding activity): signed, verified, executed
    and logged exactly as a node would."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.nonce = 0
        self.pending: list[bytes] = []

    def tx(self, who: Identity, contract: str, method: str, args: dict[str, Any]) -> None:
        self.nonce += 1
        self.pending.append(transaction.encode(
            who, chain=self.ledger.chain_id, contract=contract, method=method, args=args,
            nonce=self.nonce, time=time.time_ns() // 1_000_000))

    def commit(self) -> list[tuple[str, str]]:
        txs, sig_ok = executable(self.pending, self.ledger.executor.max_tx_bytes)
        self.pending = []
        block = self.ledger.commit(time.time_ns() // 1_000_000, txs, sig_ok)
        return [(r.code, r.reason) for r in block.results]
