"""Decoding and Ed25519 verification of wire transactions, on every core.

Large batches go to a pool of worker *processes*: verification is the one CPU-heavy step
that parallelises, and doing it in threads of the node's own process makes every thread
fight over the GIL (each libsodium call releases and retakes it). Workers also parse
each envelope, which is the next largest per-transaction cost the node's busy threads
would otherwise carry, and answer with the envelope's fields, not objects. Small batches
are handled in-line, where a round trip to a worker would cost more than the work.

Given an :class:`Admission`, the workers also *admit* each transaction that verifies
(``Executor.admit``: signer, method, arguments, authority), reading the ledger's
committed state from its SQLite file: the node's ingress then does that work off its own
busy process as well.
"""

from __future__ import annotations

import atexit
import importlib
import logging
import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from salus.canonical import loads_strict
from salus.ledger import genesis as genesis_mod
from salus.ledger.codes import Rejected
from salus.ledger.executor import Executor
from salus.ledger.store import StateReader
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


@dataclass(frozen=True, slots=True)
class Admission:
    """What a worker needs to admit transactions into a ledger's next block: the ledger's
    file, where its contract registry comes from (``module:function``: the ledger layer
    does not know the applications), the next block's height and the time now."""

    ledger: str
    registry: str
    height: int
    now: int


#: Open ledgers of this worker: (file, registry) -> (reader, executor); few, reused.
_admitters: dict[tuple[str, str], tuple[StateReader, Executor]] = {}
_ADMITTERS_KEPT = 8


def _admitter(admission: Admission) -> tuple[StateReader, Executor]:
    key = (admission.ledger, admission.registry)
    found = _admitters.get(key)
    if found is None:
        if len(_admitters) >= _ADMITTERS_KEPT:  # a test run opens many ledgers in turn
            _admitters.pop(next(iter(_admitters)))[0].close()
        reader = StateReader(admission.ledger)
        module, _, function = admission.registry.partition(":")
        registry = getattr(importlib.import_module(module), function)()
        genesis = genesis_mod.load(loads_strict(reader.meta("genesis") or b"null"))
        found = _admitters[key] = (reader, Executor(genesis, registry))
    return found


def _check_chunk(raws: list[bytes], max_bytes: int, admission: Admission | None = None
                 ) -> list[_Answer]:
    """Worker side: decode and verify each transaction (and, given ``admission``, admit
    those that verify: a refusal comes back as the transaction's (code, reason))."""
    admitter = None if admission is None else _admitter(admission)
    out: list[_Answer] = []
    for raw in raws:
        try:
            tx = decode(raw, max_bytes)
            verified = signature_ok(tx)
            if verified and admitter is not None:
                reader, executor = admitter
                executor.admit(reader.state, tx, admission.height, admission.now)
        except Rejected as exc:
            out.append((exc.code, exc.reason))
            continue
        out.append((verified, tx.id, tx.chain, tx.contract, tx.method, tx.args,
                    tx.signer, tx.nonce, tx.time))
    return out


def _checked(raw: bytes, answer: _Answer) -> Checked:
    if len(answer) == 2:
        return Rejected(*answer), False
    return Transaction(raw, *answer[1:]), answer[0]


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
    for future in [pool.submit(_check_chunk, [], 0) for _ in range(WORKERS)]:
        future.result()


def shutdown() -> None:
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.shutdown(wait=True, cancel_futures=True)
            _pool = None


def in_workers(count: int) -> bool:
    """Whether :func:`check_all` hands a batch of ``count`` to the workers (smaller ones
    are checked in the caller's thread, where an :class:`Admission` is not used)."""
    return count >= _IN_LINE_BELOW


def check_all(raws: Sequence[bytes], max_bytes: int, admission: Admission | None = None
              ) -> list[Checked]:
    """Decode and verify wire transactions, in order, using every core. With
    ``admission``, a batch that goes to the workers (:func:`in_workers`) is also admitted
    there: a transaction that fails admission comes back as its refusal."""
    if not in_workers(len(raws)):
        answers = _check_chunk(list(raws), max_bytes)
    else:
        try:
            answers = _in_workers(raws, max_bytes, admission)
        except BrokenProcessPool:
            # A worker died (killed, out of memory): that pool is unusable from then on,
            # so a new one takes over and the batch, which has no side effects, is
            # checked again. Without this, one dead worker would halt the node.
            log.warning("a signature worker died; starting a new pool")
            answers = _in_workers(raws, max_bytes, admission)
    return [_checked(raw, a) for raw, a in zip(raws, answers, strict=True)]


def _in_workers(raws: Sequence[bytes], max_bytes: int, admission: Admission | None
                ) -> list[_Answer]:
    step = -(-len(raws) // WORKERS)
    pool = _get_pool()
    try:
        parts = [pool.submit(_check_chunk, list(raws[i : i + step]), max_bytes, admission)
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
