"""The genesis document: the consortium's founding organisations, admins and rules.

Every peer starts from the same genesis; its RFC 8785 hash is block 0's ``prev_hash``, so
two chains with different founders or rules can never be confused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from salus.canonical import jcs
from salus.ledger.codes import Rejected
from salus.ledger.contracts.membership import check_org, install_organisation
from salus.ledger.state import BlockState, TxState
from salus.ledger.transaction import DEFAULT_MAX_TX_BYTES

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
    def orderer(self) -> str:
        """did:key of the key that signs blocks and tree heads."""
        return self.doc["orderer"]

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


def build(chain_id: str, orderer: str, organisations: list[dict[str, Any]], time: int,
          params: dict[str, int] | None = None) -> Genesis:
    doc = {
        "format": GENESIS_FORMAT,
        "chain_id": chain_id,
        "orderer": orderer,
        "time": time,
        "params": {**DEFAULT_PARAMS, **(params or {})},
        "organisations": organisations,
    }
    return load(doc)


def load(doc: Any) -> Genesis:
    """Validate a genesis document (as parsed JSON)."""
    if not isinstance(doc, dict) or doc.get("format") != GENESIS_FORMAT:
        raise GenesisError(f"not a genesis document (expected format {GENESIS_FORMAT!r})")
    for field, kind in (("chain_id", str), ("orderer", str), ("time", int),
                        ("organisations", list)):
        if not isinstance(doc.get(field), kind):
            raise GenesisError(f"genesis field {field!r} must be a {kind.__name__}")
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
        if not org.get("admins"):
            raise GenesisError(f"organisation {org['id']!r} needs at least one admin")
    genesis = Genesis(doc)
    try:
        jcs(doc)
        genesis.initial_writes()
    except Rejected as exc:
        raise GenesisError(exc.reason) from None
    except ValueError as exc:
        raise GenesisError(str(exc)) from None
    return genesis
