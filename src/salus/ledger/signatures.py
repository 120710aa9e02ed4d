"""Decoding and Ed25519 verification of wire transactions, on every core.

Large batches go to a pool of worker *processes*: verification is the one CPU-heavy step
that parallelises, and doing it in threads of the node's own process makes every thread
fight over the GIL (each libsodium call releases and retakes it). Workers also parse
each envelope, which is the next largest per-transaction cost the node's busy threads
would otherwise carry, and answer with the envelope's fields, not objects. Small batches
are handled in-line, where a round trip to a worker would cost more than the work.

Workers die with the node: each watches its parent process and exits the moment it is
gone, however it went (``kill -9`` included), and multiprocessing's resource tracker,
which lives while anyone holds its pipe, follows them (:func:`_die_with_parent`).
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import select
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from salus.ledger.codes import Rejected
from salus.ledger.transaction import Transaction, decode, signature_ok

log = logging.getLogger("salus.ledger")

WORKERS = max(2, os.cpu_count() or 2)
#: Below this many transactions a batch is handled in the caller's thread. A worker round
#: trip costs about as much as one or two verifications, and work done in-line is CPU
#: taken inside the node's own process: at 5,000 tx/s in batches of 50 that was ~30% of a
#: core, enough to make the node fall behind (docs/benchmarks.md).
_IN_LINE_BELOW = 16
_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()

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


def _die_with_parent(parent: int) -> None:
    """Worker side, before any work: exit as soon as process ``parent`` (the node) ends.

    A spawned worker otherwise outlives a node that was killed: it waits on its call
    queue, whose pipe it holds both ends of itself, so it never reads end-of-file. On
    Linux a pidfd of the parent turns readable when the parent exits; elsewhere the
    watcher polls for being re-parented. The parent is named by the pool, not read here:
    a node that died before this ran has already made this process someone else's."""
    try:
        pidfd: int | None = os.pidfd_open(parent)
    except (AttributeError, OSError):  # not Linux >= 5.3, or the parent is gone
        pidfd = None
    if os.getppid() != parent:  # it died before the pidfd was taken, or as it was
        os._exit(0)
    threading.Thread(target=_exit_when_gone, args=(parent, pidfd), daemon=True,
                     name="salus-parent-watch").start()


def _exit_when_gone(parent: int, pidfd: int | None) -> None:
    if pidfd is not None:
        select.select([pidfd], [], [])
    else:
        while os.getppid() == parent:
            time.sleep(0.5)
    os._exit(0)  # nothing to flush: a worker's only state is the batch it was handed


def _checked(raw: bytes, answer: _Answer) -> Checked:
    if len(answer) == 2:
        return Rejected(*answer), False
    return Transaction(raw, *answer[1:]), answer[0]


def _get_pool() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            # spawn, not fork: the node process has threads (uvicorn, SQLite, commit).
            _pool = ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_die_with_parent, initargs=(os.getpid(),))
            atexit.register(shutdown)
        return _pool


def warm_up() -> None:
    """Start the worker processes now, so the first large batch does not wait for them."""
    pool = _get_pool()
    for future in [pool.submit(_check_chunk, [], 0) for _ in range(WORKERS)]:
        future.result()


def shutdown() -> None:
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.shutdown(wait=True, cancel_futures=True)
            _pool = None


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
    step = -(-len(raws) // WORKERS)
    pool = _get_pool()
    try:
        parts = [pool.submit(_check_chunk, list(raws[i : i + step]), max_bytes)
                 for i in range(0, len(raws), step)]
        return [a for part in parts for a in part.result()]
    except BrokenProcessPool:
        _discard(pool)
        raise


def _discard(pool: ProcessPoolExecutor) -> None:
    """Forget a broken pool, unless another thread already replaced it."""
    global _pool
    with _pool_lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


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
