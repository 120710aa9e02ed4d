"""What a client is told about its transaction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from salus.ledger.codes import Code


@dataclass(slots=True)
class Receipt:
    tx_id: str
    status: str  # "committed", "refused" (never ordered) or "pending" (not committed yet)
    code: str | None = None
    reason: str = ""
    height: int | None = None
    leaf_index: int | None = None
    block_hash: str | None = None
    output: Any = None
    events: list[dict[str, Any]] | None = None
    #: On a network: matching attestations of the block from k organisations, when asked.
    attestations: list[dict[str, Any]] | None = None

    @property
    def valid(self) -> bool:
        return self.status == "committed" and self.code == Code.VALID

    def to_json(self) -> dict[str, Any]:
        # Hand-listed rather than dataclasses.asdict: this runs once per transaction per
        # response, and asdict deep-copies.
        return {"tx_id": self.tx_id, "status": self.status, "code": self.code,
                "reason": self.reason, "height": self.height, "leaf_index": self.leaf_index,
                "block_hash": self.block_hash, "output": self.output, "events": self.events,
                "attestations": self.attestations}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Receipt:
        return cls(**{k: doc.get(k) for k in cls.__dataclass_fields__ if k in doc})
