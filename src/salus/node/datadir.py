"""A node's data directory: what ``salus init`` writes and ``salus node`` reads.

::

    DIR/genesis.json     the chain's genesis document
    DIR/orderer.key      an embedded node's signing key (genesis's orderer), mode 0600
    DIR/node.key         a network peer's signing key (one of genesis's peers), mode 0600
    DIR/ledger.db        SQLite ledger (created from genesis on first start)
    DIR/keys/*.key       keys ``salus init`` generated for organisation admins
    DIR/replay.db        this node's memory of requests it served (salus.records.replay)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from salus.identity import Identity
from salus.ledger import genesis as genesis_mod
from salus.ledger.ledger import Ledger, LedgerError
from salus.node.contracts import registry


@dataclass(frozen=True)
class DataDir:
    path: Path

    @property
    def genesis_file(self) -> Path:
        return self.path / "genesis.json"

    @property
    def key_file(self) -> Path:
        """The key that signs this node's blocks: a peer's ``node.key`` if there is one,
        else the embedded orderer's ``orderer.key``."""
        peer = self.path / "node.key"
        return peer if peer.exists() else self.path / "orderer.key"

    @property
    def ledger_file(self) -> Path:
        return self.path / "ledger.db"

    @property
    def attestations_file(self) -> Path:
        """A network peer's archive of attestations (salus.network.attestation_archive)."""
        return self.path / "attestations.db"

    @property
    def replay_file(self) -> Path:
        """Ids of the signed requests and client assertions this node accepted, until
        they expire (salus.records.replay): not consensus state, this node's own."""
        return self.path / "replay.db"

    @property
    def keys_dir(self) -> Path:
        return self.path / "keys"

    def initialised(self) -> bool:
        return self.genesis_file.exists()

    def genesis(self) -> genesis_mod.Genesis:
        if not self.genesis_file.exists():
            raise LedgerError(f"no genesis at {self.genesis_file}; run `salus init --data {self.path}`")
        try:
            return genesis_mod.load(json.loads(self.genesis_file.read_text()))
        except ValueError as exc:
            raise LedgerError(f"{self.genesis_file}: {exc}") from None

    def write_genesis(self, genesis: genesis_mod.Genesis) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self.genesis_file.write_text(json.dumps(genesis.doc, indent=2) + "\n")

    def open_ledger(self, *, read_only: bool = False) -> Ledger:
        """Open the ledger, creating it from genesis the first time."""
        if read_only:
            return Ledger.open(self.ledger_file, registry())
        key = Identity.load(self.key_file)
        if self.ledger_file.exists():
            return Ledger.open(self.ledger_file, registry(), key)
        return Ledger.create(self.ledger_file, self.genesis(), registry(), key)
