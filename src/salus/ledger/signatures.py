"""Ed25519 verification on every core.

Large batches go to a pool of worker *processes*: verification is the one CPU-heavy step
that parallelises, and doing it in threads of the node's own process makes every thread
fight over the GIL (each libsodium call releases and retakes it). Workers receive only
the wire bytes and public keys and answer one byte per transaction. Small batches are
verified in-line, where a round trip to a worker would cost more than the work.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

import nacl.bindings
import nacl.exceptions

from salus.identity import ed25519_from_did
from salus.identity.did import DIDError
from salus.ledger.transaction import Transaction, signature_ok

WORKERS = max(2, os.cpu_count() or 2)
_IN_LINE_BELOW = 256
_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def _verify_chunk(raws: list[bytes], keys: list[bytes]) -> bytes:
    """Worker side: one byte per transaction, 1 if its signature verifies."""
    out = bytearray(len(raws))
    for i, (raw, key) in enumerate(zip(raws, keys, strict=True)):
        if key:
            try:
                nacl.bindings.crypto_sign_open(raw, key)
                out[i] = 1
            except nacl.exceptions.BadSignatureError:
                pass
    return bytes(out)


def _get_pool() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            # spawn, not fork: the node process has threads (uvicorn, SQLite, commit).
            _pool = ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("spawn"))
            atexit.register(shutdown)
        return _pool


def warm_up() -> None:
    """Start the worker processes now, so the first large batch does not wait for them."""
    pool = _get_pool()
    for future in [pool.submit(_verify_chunk, [], []) for _ in range(WORKERS)]:
        future.result()


def shutdown() -> None:
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.shutdown(wait=True, cancel_futures=True)
            _pool = None


def _key(did: str) -> bytes:
    try:
        return ed25519_from_did(did)
    except DIDError:
        return b""


def verify_all(txs: Sequence[Transaction]) -> list[bool]:
    """Whether each transaction's signature verifies, in order, using every core."""
    if len(txs) < _IN_LINE_BELOW:
        return [signature_ok(tx) for tx in txs]
    raws = [tx.raw for tx in txs]
    keys = [_key(tx.signer) for tx in txs]
    step = -(-len(txs) // WORKERS)
    pool = _get_pool()
    parts = [pool.submit(_verify_chunk, raws[i : i + step], keys[i : i + step])
             for i in range(0, len(txs), step)]
    return [b == 1 for part in parts for b in part.result()]


def signatures_ok(items: Sequence[Transaction | bytes], trusted: Sequence[bool] | None = None
                  ) -> list[bool]:
    """Per item: True if trusted (verified earlier by this node) or if its signature verifies;
    False for bytes that did not even decode (they fail validation anyway)."""
    trusted = trusted or [False] * len(items)
    todo = [t for t, ok in zip(items, trusted, strict=True) if not ok and isinstance(t, Transaction)]
    checked = iter(verify_all(todo))
    return [ok or (isinstance(t, Transaction) and next(checked))
            for t, ok in zip(items, trusted, strict=True)]
