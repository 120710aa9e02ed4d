"""Independent re-verification of a whole stored ledger, from genesis.

For every block: the stored hash matches the header, the header links to its parent, the
orderer's signatures on header and tree head verify, every transaction's leaf hash and
signature check out, re-executing the block reproduces every validation code, the
transaction root, the results hash, the state hash and the log root, and the log nodes
kept for proofs are the ones the transactions imply. Finally the stored state table must
equal the state rebuilt by re-execution. The first discrepancy is reported with its height.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from salus.canonical import JSONError, loads_strict
from salus.ledger import genesis as genesis_mod
from salus.ledger.block import BlockHeader, results_hash, tx_root
from salus.ledger.contract import Registry
from salus.ledger.executor import Executor
from salus.ledger.log import CompactRange, SignedTreeHead, STHError, leaf_hash
from salus.ledger.signatures import executable
from salus.ledger.state import next_state_hash
from salus.ledger.store import Store


@dataclass(frozen=True)
class AuditReport:
    ok: bool
    blocks: int
    transactions: int
    height: int | None = None  # where the first discrepancy is
    problem: str | None = None
    state_hash: str | None = None


class _Discrepancy(Exception):
    def __init__(self, height: int, problem: str) -> None:
        super().__init__(problem)
        self.height = height
        self.problem = problem


def audit(store: Store, registry: Registry,
          progress: Callable[[int, int], None] | None = None) -> AuditReport:
    """Re-verify everything in ``store``; ``progress(done, total)`` is called per block."""
    raw_genesis = store.get_meta("genesis")
    head = store.head_height()
    if raw_genesis is None or head is None:
        return AuditReport(False, 0, 0, 0, "no genesis: this is not a Salus ledger")
    try:
        genesis = genesis_mod.load(loads_strict(raw_genesis))
    except (JSONError, genesis_mod.GenesisError) as exc:
        return AuditReport(False, 0, 0, 0, f"genesis document is invalid: {exc}")
    executor = Executor(genesis, registry)
    state: dict[str, bytes] = {}
    written_at: dict[str, int] = {}
    seen_ids: set[bytes] = set()
    log = CompactRange()
    prev_hash, state_hash, prev_time = genesis.hash, genesis.hash, genesis.time
    tx_total = 0
    try:
        for height in range(head + 1):
            row = store.block(height)
            if row is None:
                raise _Discrepancy(height, "block is missing")
            if hashlib.sha256(row.header).digest() != row.hash:
                raise _Discrepancy(height, "stored block hash does not match the header bytes")
            try:
                header = BlockHeader.from_json(loads_strict(row.header))
            except (JSONError, TypeError, ValueError, KeyError) as exc:
                raise _Discrepancy(height, f"header is unreadable: {exc}") from None
            if header.height != height or header.chain_id != genesis.chain_id:
                raise _Discrepancy(height, "header names another height or chain")
            if header.prev_hash != prev_hash:
                raise _Discrepancy(height, "header does not link to the previous block")
            if not genesis.block_signed(header, row.signature, row.signer):
                raise _Discrepancy(height, "block is not signed by a block signer of genesis")
            if header.time < prev_time:
                raise _Discrepancy(height, "block time goes backwards")
            txs = store.txs_of_block(height)
            if len(txs) != header.tx_count or [t.seq for t in txs] != list(
                range(log.size, log.size + len(txs))
            ):
                raise _Discrepancy(height, "transactions are missing or out of order")
            if height == 0:
                writes = genesis.initial_writes()
                results: list[tuple[str, str]] = []
            else:
                for t in txs:
                    if leaf_hash(t.raw) != t.id:
                        raise _Discrepancy(height, f"transaction {t.seq}'s bytes do not match its id")
                decoded, sig_ok = executable([t.raw for t in txs], executor.max_tx_bytes)
                outcome = executor.execute(
                    state.get, height, header.time, decoded, sig_ok,
                    {t.id for t in txs} & seen_ids)
                if outcome.dropped:
                    d = outcome.dropped[0]
                    raise _Discrepancy(height, f"transaction {d.id.hex()} is in the block but "
                                               f"fails admission ({d.code}: {d.reason})")
                for t, r in zip(txs, outcome.results, strict=True):
                    if (t.code, t.reason) != (r.code, r.reason):
                        raise _Discrepancy(height, f"transaction {t.seq} is recorded as {t.code} "
                                                   f"but re-executes as {r.code}")
                writes = outcome.writes
                results = [(r.code, r.reason) for r in outcome.results]
            if tx_root([t.id for t in txs]) != header.tx_root:
                raise _Discrepancy(height, "transaction Merkle root does not match the header")
            if results_hash(results) != header.results_hash:
                raise _Discrepancy(height, "validation results do not match the header")
            state_hash = next_state_hash(state_hash, writes.items())
            if state_hash != header.state_hash:
                raise _Discrepancy(height, "state hash after re-execution differs from the header")
            created = [n for t in txs for n in log.append(t.id)]
            if log.size != header.log_size or log.root() != header.log_root:
                raise _Discrepancy(height, "transparency log root does not match the header")
            stored = store.log_nodes([(lv, ix) for lv, ix, _ in created])
            if any(stored.get((lv, ix)) != value for lv, ix, value in created):
                raise _Discrepancy(height, "stored log nodes differ from the transactions' hashes")
            sth = SignedTreeHead(genesis.chain_id, header.log_size, header.log_root, header.time,
                                 row.sth_signature)
            try:
                sth.verify(row.signer)
            except STHError:
                raise _Discrepancy(height, "signed tree head does not verify") from None
            for key, value in writes.items():
                written_at[key] = height
                if value is None:
                    state.pop(key, None)
                else:
                    state[key] = value
            seen_ids.update(t.id for t in txs)
            tx_total += len(txs)
            prev_hash, prev_time = row.hash, header.time
            if progress:
                progress(height + 1, head + 1)
        _compare_state(store, state, written_at, head)
    except _Discrepancy as d:
        return AuditReport(False, d.height, tx_total, d.height, d.problem)
    return AuditReport(True, head + 1, tx_total, state_hash=state_hash.hex())


def _compare_state(store: Store, state: dict[str, bytes], written_at: dict[str, int],
                   head: int) -> None:
    # A running node may commit while the audit runs: rows written after the audited
    # head are beyond this audit (the next one covers them).
    stored_keys = set()
    for key, value, height in store.all_state():
        stored_keys.add(key)
        if height > head:
            continue
        if state.get(key) != value:
            at = written_at.get(key, height)
            raise _Discrepancy(at, f"stored state for {key!r} differs from re-execution")
        if written_at.get(key) != height:
            raise _Discrepancy(written_at.get(key, height),
                               f"stored state for {key!r} claims the wrong height")
    missing = sorted(set(state) - stored_keys)
    if missing:
        raise _Discrepancy(written_at[missing[0]], f"state key {missing[0]!r} is missing from storage")
