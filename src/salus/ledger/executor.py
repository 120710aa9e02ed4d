"""Deterministic execution of one block: the only place transactions change state.

Given the committed state, the block's height and time and its transactions in order,
:meth:`Executor.execute` returns each transaction's result and the block's net writes.
It does no I/O and reads no clock: the node's commit path and ``salus audit`` both run
it, and any two peers running it over the same blocks reach the same state hash.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from salus.ledger import transaction
from salus.ledger.codes import Code, Rejected
from salus.ledger.contract import Context, Registry
from salus.ledger.contracts.membership import key_entry, key_index, member_of_key
from salus.ledger.genesis import Genesis
from salus.ledger.log import leaf_hash
from salus.ledger.state import BlockState, Reader, TxState

SELF_REGISTRATION = ("membership", "register_patient")
_RECORD_CACHE_LIMIT = 100_000
_MEMBERSHIP_PREFIXES = ("member/", "key/")


def nonce_key(did: str) -> str:
    return f"nonce/{did}"


@dataclass(slots=True)
class TxResult:
    id: bytes
    raw: bytes
    code: str
    reason: str
    rw: dict[str, Any] | None = None
    output: Any = None
    events: list[dict[str, Any]] = field(default_factory=list)
    signer: str | None = None
    contract: str | None = None
    method: str | None = None


@dataclass(slots=True)
class BlockOutcome:
    results: list[TxResult]
    writes: dict[str, bytes | None]


class Executor:
    def __init__(self, genesis: Genesis, registry: Registry) -> None:
        self.chain_id = genesis.chain_id
        self.max_tx_bytes = genesis.params["max_tx_bytes"]
        self.window = genesis.params["tx_time_window_ms"]
        self.registry = registry
        # Membership records by their exact bytes, parsed once: every transaction looks
        # up its signer's record, and parsing it again was a fifth of execution.
        self._records: dict[bytes, Any] = {}

    def decode(self, raw: bytes) -> transaction.Transaction:
        return transaction.decode(raw, self.max_tx_bytes)

    def check_stateless(self, tx: transaction.Transaction) -> None:
        """Checks that need no state: a node runs these at ingress too."""
        if tx.chain != self.chain_id:
            raise Rejected(Code.WRONG_CHAIN,
                           f"signed for chain {tx.chain!r}; this is {self.chain_id!r}")
        if not self.registry.has(tx.contract):
            raise Rejected(Code.UNKNOWN_CONTRACT, f"no contract named {tx.contract!r}")

    def execute(
        self,
        read: Reader,
        height: int,
        time: int,
        txs: list[transaction.Transaction | bytes],
        signature_ok: list[bool],
        already_ordered: set[bytes],
    ) -> BlockOutcome:
        """Run a block. ``signature_ok[i]`` says whether tx i's signature verified;
        ``already_ordered`` holds ids of earlier transactions that appear again."""
        block = BlockState(read)
        results = []
        seen: set[bytes] = set()
        # Signer lookups, valid until a transaction in this block changes membership.
        signers: dict[str, dict[str, Any] | None] = {}
        for index, (tx, sig_ok) in enumerate(zip(txs, signature_ok, strict=True)):
            if isinstance(tx, bytes):
                try:
                    tx = self.decode(tx)
                except Rejected as exc:
                    results.append(TxResult(leaf_hash(tx), tx, exc.code, exc.reason))
                    continue
            result = TxResult(tx.id, tx.raw, Code.VALID, "", signer=tx.signer,
                              contract=tx.contract, method=tx.method)
            try:
                if not sig_ok:
                    raise Rejected(Code.BAD_SIGNATURE, transaction.BAD_SIGNATURE_REASON)
                if tx.id in seen or tx.id in already_ordered:
                    raise Rejected(Code.DUPLICATE, "this exact transaction was already ordered")
                seen.add(tx.id)
                self.check_stateless(tx)
                if abs(time - tx.time) > self.window:
                    raise Rejected(Code.STALE, f"transaction time {tx.time} is more than "
                                               f"{self.window} ms from block time {time}")
                self._run(block, height, time, index, tx, result, signers)
            except Rejected as exc:
                result.code, result.reason = exc.code, exc.reason
                result.rw, result.output, result.events = None, None, []
            results.append(result)
        return BlockOutcome(results, block.writes)

    def _membership_record(self, state: TxState, key: str) -> Any:
        """``state.get`` for the signer lookup. Equal bytes parse to equal records, and
        the record is only read (a contract that changes a member loads it afresh), so
        one parsed copy serves every transaction that reads the same bytes."""
        raw = state.get_bytes(key)
        if raw is None:
            return None
        try:
            return self._records[raw]
        except KeyError:
            if len(self._records) >= _RECORD_CACHE_LIMIT:
                self._records.clear()
            record = self._records[raw] = json.loads(raw)
            return record

    def _run(self, block: BlockState, height: int, time: int, index: int,
             tx: transaction.Transaction,
             result: TxResult, signers: dict[str, dict[str, Any] | None]) -> None:
        state = TxState(block)
        if tx.signer in signers:
            member = signers[tx.signer]
            state.reads.append(key_index(tx.signer))
        else:
            member = signers[tx.signer] = member_of_key(
                lambda key: self._membership_record(state, key), tx.signer)
        if member is None:
            if (tx.contract, tx.method) != SELF_REGISTRATION:
                raise Rejected(Code.UNKNOWN_SIGNER, f"{tx.signer} is not enrolled on this chain")
        else:
            entry = key_entry(member, tx.signer)
            if entry is None or entry["status"] != "active":
                status = entry["status"] if entry else "unknown"
                raise Rejected(Code.KEY_NOT_ACTIVE, f"signing key is {status}; sign with the "
                                                    "member's current key")
        nonce_at = nonce_key(tx.signer)
        last = state.get_bytes(nonce_at)
        if last is not None and tx.nonce <= int(last):
            raise Rejected(Code.REPLAYED_NONCE,
                           f"nonce {tx.nonce} is not above the last committed nonce {int(last)}")
        ctx = Context(state=state, signer=tx.signer, member=member, height=height, time=time,
                      tx_id=tx.id.hex(), chain_id=self.chain_id, index=index)
        try:
            output = self.registry.call(ctx, tx.contract, tx.method, tx.args)
        except Rejected:
            raise
        except Exception as exc:  # a contract bug must not stop the chain
            raise Rejected(Code.CONTRACT_ERROR, f"{type(exc).__name__}: {exc}") from None
        if any(k.startswith(_MEMBERSHIP_PREFIXES) for k in state.writes):
            signers.clear()
        state.writes[nonce_at] = b"%d" % tx.nonce  # == state_bytes(tx.nonce)
        state.commit()
        result.rw = state.rw_set()
        result.output = output
        result.events = ctx.events
