"""One peer's ledger: commits ordered batches as signed blocks and answers for them.

:meth:`Ledger.commit` is the single write path: execute the batch (``executor``), append
every transaction to the transparency log, seal the header, sign header and tree head,
write it all durably (``store``), then update the in-memory head. Reads (blocks,
transactions, state, proofs) come straight from storage.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from salus.canonical import compact_json, jcs, loads_strict
from salus.identity import Identity
from salus.ledger import genesis as genesis_mod
from salus.ledger.block import BlockHeader, results_hash, tx_root
from salus.ledger.contract import Registry
from salus.ledger.executor import BlockOutcome, Executor, TxResult
from salus.ledger.log import (
    EMPTY_ROOT,
    CompactRange,
    SignedTreeHead,
    consistency_proof,
    inclusion_proof,
)
from salus.ledger.state import next_state_hash
from salus.ledger.store import BlockRow, BlockWriter, Store
from salus.ledger.transaction import Transaction

#: Log node levels at or above this stay cached in memory once read or written: about one
#: cached hash per two leaves, so an inclusion proof reads at most two nodes from SQLite.
_CACHED_LEVEL = 2
_NODE_CACHE_LIMIT = 4_000_000
_STATE_CACHE_LIMIT = 2_000_000


class LedgerError(Exception):
    """The ledger cannot do what was asked (bad range, unknown item)."""


class LedgerCorrupt(LedgerError):
    """Stored data does not check out; run ``salus audit`` to locate it."""


class BlockRefused(LedgerError):
    """A block this peer built was refused before it was stored (see ``Ledger.commit``)."""


#: Checks a sealed header before its block is stored; raises :class:`BlockRefused` to
#: refuse it (nothing is written).
HeaderCheck = Callable[[BlockHeader], None]

#: Meta key under which ledgers before per-block cursors kept the head's cursor.
CURSOR_META = "ordering_cursor"


def cursor_at(store: Store, height: int) -> int | None:
    """The ordering position stored with block ``height`` of ``store`` (see
    :meth:`Ledger.cursor_at`); ledgers from before per-block cursors kept only the
    head's, in meta."""
    cursor = store.block_cursor(height)
    if cursor is None and height == store.head_height():
        raw = store.get_meta(CURSOR_META)
        cursor = None if raw is None else int(raw)
    return cursor


@dataclass(frozen=True, slots=True)
class _Sealed:
    header: BlockHeader
    row: BlockRow
    sth: SignedTreeHead
    log: CompactRange
    first_seq: int
    nodes: list[tuple[int, int, bytes]]


@dataclass(frozen=True, slots=True)
class CommittedBlock:
    header: BlockHeader
    block_hash: bytes
    signature: bytes
    sth: SignedTreeHead
    first_seq: int
    results: list[TxResult]
    #: Transactions of the batch that failed admission: not in the block (see executor).
    dropped: list[TxResult]


class Ledger:
    def __init__(self, store: Store, genesis: genesis_mod.Genesis, registry: Registry,
                 signer: Identity | None) -> None:
        self.store = store
        self.genesis = genesis
        self.chain_id = genesis.chain_id
        self.registry = registry
        self.executor = Executor(genesis, registry)
        self.signer = signer
        self._state_cache: dict[str, bytes | None] = {}
        # Bumped (under the lock) each time a commit updates the cache: a value another
        # thread read from the store goes into the cache only if no commit came between.
        self._cache_lock = threading.Lock()
        self._cache_generation = 0
        self._node_cache: dict[tuple[int, int], bytes] = {}
        self._recover()

    # -- opening -------------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | Path, genesis: genesis_mod.Genesis, registry: Registry,
               signer: Identity) -> Ledger:
        """Found a new ledger at ``path`` from ``genesis`` (block 0)."""
        store = Store(path)
        if store.head_height() is not None:
            store.close()
            raise LedgerError(f"{path} already holds a ledger")
        if signer.did not in genesis.block_signers:
            store.close()
            raise LedgerError("the signing key is not a block signer named in genesis "
                              "(the orderer of an embedded chain, or one of a network's peers)")
        store.set_meta("genesis", jcs(genesis.doc))
        writes = genesis.initial_writes()
        header = BlockHeader(
            chain_id=genesis.chain_id, height=0, prev_hash=genesis.hash, time=genesis.time,
            tx_count=0, tx_root=EMPTY_ROOT, results_hash=results_hash([]),
            state_hash=next_state_hash(genesis.hash, writes.items()),
            log_size=0, log_root=EMPTY_ROOT)
        sth = SignedTreeHead.sign(signer, genesis.chain_id, 0, EMPTY_ROOT, genesis.time)
        encoded = header.encode()
        with store.block_transaction() as w:
            w.write(BlockRow(0, hashlib.sha256(encoded).digest(), encoded, signer.did,
                             header.sign(signer), sth.signature), [], [], writes)
        return cls(store, genesis, registry, signer)

    @classmethod
    def open(cls, path: str | Path, registry: Registry, signer: Identity | None = None) -> Ledger:
        """Open an existing ledger; its head is verified before anything is served."""
        if not Path(path).exists():
            raise LedgerError(f"no ledger at {path}")
        store = Store(path)
        raw = store.get_meta("genesis")
        if raw is None:
            store.close()
            raise LedgerError(f"{path} holds no genesis; create the ledger with `salus init`")
        try:
            return cls(store, genesis_mod.load(loads_strict(raw)), registry, signer)
        except BaseException:
            store.close()
            raise

    def _recover(self) -> None:
        height = self.store.head_height()
        if height is None:
            raise LedgerCorrupt("the ledger has no genesis block")
        row = self.store.block(height)
        assert row is not None
        header = self._header_of(row)
        if not self.genesis.block_signed(header, row.signature, row.signer):
            raise LedgerCorrupt(f"head block {height} is not signed by a block signer of genesis")
        if height > 0:
            prev = self.store.block(height - 1)
            if prev is None or prev.hash != header.prev_hash:
                raise LedgerCorrupt(f"head block {height} does not link to block {height - 1}")
        if self.store.tx_count() != header.log_size:
            raise LedgerCorrupt(f"log holds {self.store.tx_count()} transactions; head block "
                                f"{height} says {header.log_size}")
        border_ids = CompactRange.border_ids(header.log_size)
        found = self.store.log_nodes(border_ids)
        if len(found) != len(border_ids):
            raise LedgerCorrupt("log nodes for the head tree are missing")
        self._log = CompactRange(header.log_size, [found[i] for i in border_ids])
        if self._log.root() != header.log_root:
            raise LedgerCorrupt(f"stored log does not match head block {height}'s log root")
        self.head = header
        self.head_row = row

    @staticmethod
    def _header_of(row: BlockRow) -> BlockHeader:
        if hashlib.sha256(row.header).digest() != row.hash:
            raise LedgerCorrupt(f"block {row.height}'s stored hash does not match its header")
        return BlockHeader.from_json(loads_strict(row.header))

    def close(self) -> None:
        self.store.close()

    # -- the write path ------------------------------------------------------------------

    def commit(self, time: int, txs: Sequence[Transaction | bytes],
               signature_ok: Sequence[bool], *, cursor: int | None = None,
               check: HeaderCheck | None = None) -> CommittedBlock:
        """Execute and durably store one block. Returns once it is on disk.

        ``cursor`` is the ordering service's position after this batch, stored with the
        block so that a restarted peer resumes exactly there (Fabric's Kafka orderer kept
        its offset in block metadata the same way). ``check`` sees the sealed header
        before anything is written and may refuse the block."""
        if self.signer is None:
            raise LedgerError("this ledger was opened read-only (no signing key)")
        prev = self.head
        height = prev.height + 1
        time = max(time, prev.time)
        decoded_ids = [tx.id for tx in txs if isinstance(tx, Transaction)]
        with self.store.block_transaction() as w:
            cache = self._state_cache

            def read(key: str) -> bytes | None:
                try:
                    return cache[key]
                except KeyError:
                    value = cache[key] = w.state(key)
                    return value

            outcome = self.executor.execute(read, height, time, list(txs), list(signature_ok),
                                            w.known_ids(decoded_ids))
            block = self._seal(prev, height, time, outcome, w, check)
            if cursor is not None:
                w.set_block_cursor(height, cursor)
        return self._advance(block, outcome)

    @property
    def ordering_cursor(self) -> int | None:
        """The ordering position stored with the head block (None if never given)."""
        return self.cursor_at(self.height)

    def cursor_at(self, height: int) -> int | None:
        """The ordering position stored with block ``height``: where a peer holding the
        ledger up to that block resumes reading the ordering service."""
        return cursor_at(self.store, height)

    def _seal(self, prev: BlockHeader, height: int, time: int, outcome: BlockOutcome,
              w: BlockWriter, check: HeaderCheck | None) -> _Sealed:
        results = outcome.results
        log = self._log.copy()
        first_seq = log.size
        nodes: list[tuple[int, int, bytes]] = []
        tx_rows = []
        for offset, r in enumerate(results):
            nodes.extend(log.append(r.id))
            detail = None if r.rw is None else compact_json(
                {"rw": r.rw, "output": r.output, "events": r.events}).decode()
            tx_rows.append((first_seq + offset, r.id, height, r.code, r.reason, r.raw, detail))
        header = BlockHeader(
            chain_id=self.chain_id, height=height, prev_hash=self.head_row.hash, time=time,
            tx_count=len(results), tx_root=tx_root([r.id for r in results]),
            results_hash=results_hash([(r.code, r.reason) for r in results]),
            state_hash=next_state_hash(prev.state_hash, outcome.writes.items()),
            log_size=log.size, log_root=log.root())
        if check is not None:
            check(header)
        encoded = header.encode()
        sth = SignedTreeHead.sign(self.signer, self.chain_id, log.size, header.log_root, time)
        row = BlockRow(height, hashlib.sha256(encoded).digest(), encoded, self.signer.did,
                       header.sign(self.signer), sth.signature)
        w.write(row, tx_rows, nodes, outcome.writes)
        return _Sealed(header, row, sth, log, first_seq, nodes)

    def _advance(self, block: _Sealed, outcome: BlockOutcome) -> CommittedBlock:
        # Durable: now, and only now, the in-memory view moves forward.
        self._log = block.log
        with self._cache_lock:
            if len(self._state_cache) > _STATE_CACHE_LIMIT:
                self._state_cache.clear()
            self._state_cache.update(outcome.writes)
            self._cache_generation += 1
        self.head, self.head_row = block.header, block.row
        if len(self._node_cache) > _NODE_CACHE_LIMIT:
            self._node_cache.clear()
        for level, idx, value in block.nodes:
            if level >= _CACHED_LEVEL:
                self._node_cache[(level, idx)] = value
        return CommittedBlock(block.header, block.row.hash, block.row.signature, block.sth,
                              block.first_seq, outcome.results, outcome.dropped)

    # -- reads ---------------------------------------------------------------------------
    @property
    def height(self) -> int:
        return self.head.height

    @property
    def log_size(self) -> int:
        return self.head.log_size

    def sth(self) -> SignedTreeHead:
        return SignedTreeHead(self.chain_id, self.head.log_size, self.head.log_root,
                              self.head.time, self.head_row.sth_signature)

    def sth_at(self, tree_size: int) -> SignedTreeHead | None:
        """The signed head published when the log had exactly ``tree_size`` leaves."""
        if tree_size == self.head.log_size:
            return self.sth()
        row = self.store.block_of_seq(tree_size - 1) if tree_size > 0 else self.store.block(0)
        if row is None:
            return None
        header = self._header_of(row)
        if header.log_size != tree_size:
            return None
        return SignedTreeHead(self.chain_id, header.log_size, header.log_root, header.time,
                              row.sth_signature)

    def block(self, height: int) -> tuple[BlockRow, BlockHeader] | None:
        row = self.store.block(height)
        return None if row is None else (row, self._header_of(row))

    def _read_nodes(self, ids: Sequence[tuple[int, int]]) -> list[bytes]:
        cache = self._node_cache
        missing = [i for i in ids if i not in cache]
        if missing:
            found = self.store.log_nodes(missing)
            if len(found) != len(missing):
                raise LedgerCorrupt("log nodes are missing from storage")
            for node, value in found.items():
                if node[0] >= _CACHED_LEVEL:
                    cache[node] = value
            return [cache.get(i) or found[i] for i in ids]
        return [cache[i] for i in ids]

    def _check_size(self, tree_size: int) -> None:
        if not 0 < tree_size <= self.head.log_size:
            raise LedgerError(f"tree_size must be between 1 and {self.head.log_size}")

    def inclusion_proof(self, leaf_index: int, tree_size: int) -> list[bytes]:
        self._check_size(tree_size)
        if not 0 <= leaf_index < tree_size:
            raise LedgerError(f"leaf {leaf_index} is not in a tree of size {tree_size}")
        return inclusion_proof(leaf_index, tree_size, self._read_nodes)

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        self._check_size(second)
        if not 0 < first <= second:
            raise LedgerError(f"first must be between 1 and second ({second})")
        return consistency_proof(first, second, self._read_nodes)

    def state_bytes(self, key: str) -> bytes | None:
        """The committed bytes of ``key`` (None if absent): what admission at ingress reads.
        A value read from the store is kept (absent keys too: a new signer's nonce) unless
        a commit moved the cache on meanwhile, when the read may predate that block's
        writes. Each read of the store was a read transaction of its own that held back
        the writer's checkpoints (docs/benchmarks.md)."""
        try:
            return self._state_cache[key]
        except KeyError:
            pass
        generation = self._cache_generation
        row = self.store.state_row(key)
        value = None if row is None else row[0]
        with self._cache_lock:
            if generation == self._cache_generation and len(self._state_cache) < _STATE_CACHE_LIMIT:
                self._state_cache.setdefault(key, value)
        return value

    def state_value(self, key: str) -> Any:
        """The committed value of ``key``. Served from the commit path's cache when the
        key is in it (the cache only ever holds committed values; only commits fill it)."""
        raw = self.state_bytes(key)
        return None if raw is None else json.loads(raw)
