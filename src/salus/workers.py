"""The node's worker processes, for CPU-heavy pure work its busy threads should not carry.

Signature checks (:mod:`salus.ledger.signatures`) and EPCIS document digests
(:mod:`salus.supply.capture`) run here: work that parallelises, on every core, out of the
node process's GIL. Workers are *spawned*, not forked (the node process has threads:
uvicorn, SQLite, the committer).

Workers die with the node: each watches its parent process and exits the moment it is
gone, however it went (``kill -9`` included), and multiprocessing's resource tracker,
which lives while anyone holds its pipe, follows them (:func:`_die_with_parent`).
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import select
import threading
import time
from concurrent.futures import ProcessPoolExecutor

WORKERS = max(2, os.cpu_count() or 2)
_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


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


def pool() -> ProcessPoolExecutor:
    """The shared pool, started on first use."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_die_with_parent, initargs=(os.getpid(),))
            atexit.register(shutdown)
        return _pool


def _nothing() -> None:
    return None


def warm_up() -> None:
    """Start the worker processes now, so the first large batch does not wait for them."""
    running = pool()
    for future in [running.submit(_nothing) for _ in range(WORKERS)]:
        future.result()


def discard(broken: ProcessPoolExecutor) -> None:
    """Forget a broken pool (a worker died), unless another thread already replaced it;
    the next :func:`pool` starts a new one."""
    global _pool
    with _pool_lock:
        if _pool is broken:
            _pool = None
    broken.shutdown(wait=False, cancel_futures=True)


def shutdown() -> None:
    global _pool
    with _pool_lock:
        if _pool is not None:
            _pool.shutdown(wait=True, cancel_futures=True)
            _pool = None
