"""Decoding and Ed25519 verification of wire transactions, on every core.

Large batches go to a pool of worker *processes*: verification is the one CPU-heavy step
that parallelises, and doing it in threads of the node's own process makes every thread
fight over the GIL (each libsodium call releases and retakes it). Workers also parse
each envelope, which is the next largest per-transaction cost the node's busy threads
would otherwise carry, and answer with the envelope's fields, not objects. Small batches
are handled in-line, where a round trip to a worker would cost more than the work.

The workers are the node's shared pool (:mod:`salus.workers`), which die with the node.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from salus import workers
from salus.ledger.codes import Rejected
from salus.ledger.transaction import Transaction, decode, signature_ok

log = logging.getLogger("salus.ledger")

#: Below this many transactions a batch is handled in the caller's thread. A worker round
#: trip costs about as much as one or two verifications, and work done in-line is CPU
#: taken inside the node's own process: at 5,000 tx/s in batches of 50 that was ~30% of a
#: core, enough to make the node fall behind (docs/benchmarks.md).
_IN_LINE_BELOW = 16

#: One wire transaction, checked: the transaction, or why it does not even decode; and
#: whether its signature verifies (always False when it does not decode).
Checked = tuple[Transaction | Rejected, bool]

# Worker answers, per transaction: (signature_ok, id, chain, contract, method, args,
# signer, nonce, time) when it decodes, (code, reason) when it does not.
_Answer = tuple[Any, ...]


def _check_chunk(raws: list[bytes], max_bytes: int) -> list[_Answer]:
    """Worker side: decode and verify each transaction."""
    out: list[_Answer] = []
    for raw in raws:
        try:
            tx = decode(raw, max_bytes)
        except Rejected as exc:
            out.append((exc.code, exc.reason))
            continue
        out.append((signature_ok(tx), tx.id, tx.chain, tx.contract, tx.method, tx.args,
                    tx.signer, tx.nonce, tx.time))
    return out


def _checked(raw: bytes, answer: _Answer) -> Checked:
    if len(answer) == 2:
        return Rejected(*answer), False
    return Transaction(raw, *answer[1:]), answer[0]


def check_all(raws: Sequence[bytes], max_bytes: int) -> list[Checked]:
    """Decode and verify wire transactions, in order, using every core."""
    if len(raws) < _IN_LINE_BELOW:
        answers = _check_chunk(list(raws), max_bytes)
    else:
        try:
            answers = _in_workers(raws, max_bytes)
        except BrokenProcessPool:
            # A worker died (killed, out of memory): that pool is unusable from then on,
            # so a new one takes over and the batch, which has no side effects, is
            # checked again. Without this, one dead worker would halt the node.
            log.warning("a signature worker died; starting a new pool")
            answers = _in_workers(raws, max_bytes)
    return [_checked(raw, a) for raw, a in zip(raws, answers, strict=True)]


def _in_workers(raws: Sequence[bytes], max_bytes: int) -> list[_Answer]:
    step = -(-len(raws) // workers.WORKERS)
    pool = workers.pool()
    try:
        parts = [pool.submit(_check_chunk, list(raws[i : i + step]), max_bytes)
                 for i in range(0, len(raws), step)]
        return [a for part in parts for a in part.result()]
    except BrokenProcessPool:
        workers.discard(pool)
        raise


def executable(items: Sequence[Transaction | bytes], max_bytes: int
               ) -> tuple[list[Transaction | bytes], list[bool]]:
    """A block's items as :meth:`Executor.execute` takes them, with their signature
    verdicts. A :class:`Transaction` is trusted: only a node's own ingress makes one, and
    it verified it. Wire bytes are decoded and verified here; bytes that do not decode
    stay bytes, and execution records them as MALFORMED or TOO_LARGE."""
    wire = [item for item in items if isinstance(item, bytes)]
    checked = iter(check_all(wire, max_bytes))
    txs: list[Transaction | bytes] = []
    ok: list[bool] = []
    for item in items:
        if isinstance(item, Transaction):
            txs.append(item)
            ok.append(True)
            continue
        tx, verified = next(checked)
        txs.append(item if isinstance(tx, Rejected) else tx)
        ok.append(verified)
    return txs, ok
