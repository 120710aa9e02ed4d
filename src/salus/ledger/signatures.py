"""Ed25519 verification on every core.

libsodium's verify releases the GIL (through cffi), so a thread pool keeps every core busy
verifying without the pickling cost of a process pool: one core verifies ~18,000
signatures a second, and this is the ledger's physical throughput limit.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from salus.ledger.transaction import Transaction, signature_ok

_WORKERS = max(2, os.cpu_count() or 2)
_pool = ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="ed25519")
_SERIAL_BELOW = 64


def _chunk(txs: Sequence[Transaction]) -> list[bool]:
    return [signature_ok(tx) for tx in txs]


def verify_all(txs: Sequence[Transaction]) -> list[bool]:
    """Whether each transaction's signature verifies, in order, using every core."""
    if len(txs) < _SERIAL_BELOW:
        return _chunk(txs)
    step = -(-len(txs) // _WORKERS)
    parts = _pool.map(_chunk, [txs[i : i + step] for i in range(0, len(txs), step)])
    return [ok for part in parts for ok in part]


def signatures_ok(items: Sequence[Transaction | bytes], trusted: Sequence[bool] | None = None
                  ) -> list[bool]:
    """Per item: True if trusted (verified earlier by this node) or if its signature verifies;
    False for bytes that did not even decode (they fail validation anyway)."""
    trusted = trusted or [False] * len(items)
    todo = [t for t, ok in zip(items, trusted, strict=True) if not ok and isinstance(t, Transaction)]
    checked = iter(verify_all(todo))
    return [ok or (isinstance(t, Transaction) and next(checked))
            for t, ok in zip(items, trusted, strict=True)]
