"""The genesis document: the consortium's founding organisations, admins and rules.

Every peer starts from the same genesis; its RFC 8785 hash is block 0's ``prev_hash``, so
two chains with different founders or rules can never be confused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from salus.canonical import jcs
from salus.identity import ed25519_from_did, x25519_from_did
from salus.identity.did import DIDError
from salus.ledger.codes import Rejected
from salus.ledger.contracts.membership import check_org, install_organisation
from salus.ledger.state import BlockState, TxState
from salus.ledger.transaction import DEFAULT_MAX_TX_BYTES

if TYPE_CHECKING:
    from salus.ledger.block import BlockHeader

GENESIS_FORMAT = "salus-genesis/1"
DEFAULT_PARAMS = {
    "max_tx_bytes": DEFAULT_MAX_TX_BYTES,
    # A transaction's own time must be within this of the block time: bounds replays of
    # transactions that were rejected (and so never consumed their nonce).
    "tx_time_window_ms": 10 * 60 * 1000,
}


class GenesisError(ValueError):
    """A genesis document that cannot found a chain."""


@dataclass(frozen=True)
class Genesis:
    doc: dict[str, Any]

    @property
    def chain_id(self) -> str:
        return self.doc["chain_id"]

    @property
    def orderer(self) -> str | None:
        """did:key of the embedded orderer, which signs blocks and tree heads; None on a
        network chain, where each peer signs the blocks it builds."""
        return self.doc.get("orderer")

    @property
    def peers(self) -> list[dict[str, str]]:
        """The network's peers: ``{"org", "did"}`` each (empty on an embedded chain)."""
        return list(self.doc.get("peers", []))

    @cached_property
    def block_signers(self) -> frozenset[str]:
        """Keys whose signature on a block header or tree head this chain accepts."""
        keys = {p["did"] for p in self.peers}
        if self.orderer is not None:
            keys.add(self.orderer)
        return frozenset(keys)

    def block_signed(self, header: BlockHeader, signature: bytes, signer: str) -> bool:
        """Whether ``signer`` is one of this chain's block signers and signed ``header``."""
        return signer in self.block_signers and header.signature_valid(signature, signer)

    def peer_org(self, did: str) -> str | None:
        """The organisation running the peer with key ``did``."""
        return next((p["org"] for p in self.peers if p["did"] == did), None)

    @property
    def time(self) -> int:
        return self.doc["time"]

    @property
    def params(self) -> dict[str, int]:
        return {**DEFAULT_PARAMS, **self.doc.get("params", {})}

    @property
    def hash(self) -> bytes:
        return hashlib.sha256(jcs(self.doc)).digest()

    def initial_writes(self) -> dict[str, bytes | None]:
        """The state that genesis establishes (height 0)."""
        state = BlockState(lambda _key: None)
        tx = TxState(state)
        for org in self.doc["organisations"]:
            install_organisation(tx.get, tx.put, org, org["admins"], 0)
        tx.commit()
        return state.writes


def build(chain_id: str, orderer: str | None, organisations: list[dict[str, Any]], time: int,
          params: dict[str, int] | None = None, peers: list[dict[str, str]] | None = None
          ) -> Genesis:
    """An embedded chain names its ``orderer``; a network chain names its ``peers``."""
    doc: dict[str, Any] = {
        "format": GENESIS_FORMAT,
        "chain_id": chain_id,
        "time": time,
        "params": {**DEFAULT_PARAMS, **(params or {})},
        "organisations": organisations,
    }
    if orderer is not None:
        doc["orderer"] = orderer
    if peers:
        doc["peers"] = peers
    return load(doc)


def load(doc: Any) -> Genesis:
    """Validate a genesis document (as parsed JSON)."""
    if not isinstance(doc, dict) or doc.get("format") != GENESIS_FORMAT:
        raise GenesisError(f"not a genesis document (expected format {GENESIS_FORMAT!r})")
    for field, kind in (("chain_id", str), ("time", int), ("organisations", list)):
        if not isinstance(doc.get(field), kind):
            raise GenesisError(f"genesis field {field!r} must be a {kind.__name__}")
    if "orderer" not in doc and not doc.get("peers"):
        raise GenesisError("genesis must name an orderer (embedded chain) or peers (network)")
    if "orderer" in doc:
        _check_did(doc["orderer"], "orderer")
    params = doc.get("params", {})
    if not isinstance(params, dict) or any(
        k not in DEFAULT_PARAMS or type(v) is not int or v <= 0 for k, v in params.items()
    ):
        raise GenesisError(f"genesis params must be positive integers among {sorted(DEFAULT_PARAMS)}")
    ids = set()
    for org in doc["organisations"]:
        try:
            check_org(org)
        except Rejected as exc:
            raise GenesisError(exc.reason) from None
        if org["id"] in ids:
            raise GenesisError(f"organisation {org['id']!r} appears twice")
        ids.add(org["id"])
        if not org.get("admins") or not isinstance(org["admins"], list):
            raise GenesisError(f"organisation {org['id']!r} needs at least one admin")
        for admin in org["admins"]:
            if not isinstance(admin, dict):
                raise GenesisError(f"each admin of {org['id']!r} is {{did, encryption_key}}")
            _check_did(admin.get("did"), f"admin of {org['id']}")
            if admin.get("encryption_key") is not None:
                try:
                    x25519_from_did(admin["encryption_key"])
                except (DIDError, TypeError) as exc:
                    raise GenesisError(f"genesis admin encryption_key of {org['id']}: {exc}") from None
    _check_peers(doc.get("peers", []), ids)
    genesis = Genesis(doc)
    try:
        jcs(doc)
        genesis.initial_writes()
    except Rejected as exc:
        raise GenesisError(exc.reason) from None
    except ValueError as exc:
        raise GenesisError(str(exc)) from None
    return genesis


def _check_did(value: Any, what: str) -> None:
    try:
        ed25519_from_did(value)
    except (DIDError, TypeError) as exc:
        raise GenesisError(f"genesis {what} must be an Ed25519 did:key: {exc}") from None


def _check_peers(peers: Any, org_ids: set[str]) -> None:
    if not isinstance(peers, list):
        raise GenesisError("genesis peers must be a list of {org, did}")
    seen: set[str] = set()
    for peer in peers:
        if not isinstance(peer, dict) or set(peer) != {"org", "did"}:
            raise GenesisError("each genesis peer must be exactly {\"org\": ..., \"did\": ...}")
        if peer["org"] not in org_ids:
            raise GenesisError(f"peer of unknown organisation {peer['org']!r}")
        _check_did(peer["did"], f"peer of {peer['org']}")
        if peer["did"] in seen:
            raise GenesisError(f"peer key {peer['did']} appears twice")
        seen.add(peer["did"])
