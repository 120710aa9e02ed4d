"""``solo``: the in-process ordering service of the embedded node.

A batch is cut when ``max_txs`` transactions are pending, or ``max_wait_ms`` after the
first pending transaction arrived, whichever comes first (Fabric's BatchSize and
BatchTimeout). Batch times never go backwards. Nothing is persisted here: a transaction
is only promised to a client once its block is durable, so a crash loses only what no
one was told was committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence

from salus.clock import wall_clock_ms
from salus.ledger.transaction import Transaction
from salus.ordering.orderer import Batch, OrdererUnavailable

#: Defaults for a node's block cutting. A short wait keeps commit latency low: at 5,000
#: tx/s offered, 5 ms gave p50 / p99 of ~21 / ~50 ms against ~45 / ~85 ms with 20 ms, and
#: the same throughput under load, where blocks fill by count (docs/benchmarks.md).
DEFAULT_MAX_TXS = 2000
DEFAULT_MAX_WAIT_MS = 5


class SoloOrderer:
    def __init__(self, max_txs: int = DEFAULT_MAX_TXS, max_wait_ms: int = DEFAULT_MAX_WAIT_MS,
                 max_pending: int = 200_000,
                 clock: Callable[[], int] = wall_clock_ms) -> None:
        if max_txs < 1 or max_wait_ms < 0:
            raise ValueError("max_txs must be >= 1 and max_wait_ms >= 0")
        self.max_txs = max_txs
        self.max_wait_ms = max_wait_ms
        self.max_pending = max_pending
        self._clock = clock
        self._pending: list[Transaction | bytes] = []
        self._queue: asyncio.Queue[Batch | None] = asyncio.Queue()
        self._queued_txs = 0
        self._timer: asyncio.TimerHandle | None = None
        self._next = 1
        self._last_time = 0
        self._running = False
        self.read_through_start = asyncio.Event()  # it keeps nothing: never behind
        self.read_through_start.set()

    async def start(self, next_number: int, cursor: int | None = None) -> None:
        self._next = next_number
        self._running = True

    @property
    def backlog(self) -> int:
        """Transactions accepted but not yet delivered."""
        return len(self._pending) + self._queued_txs

    async def broadcast(self, txs: Sequence[Transaction | bytes]) -> None:
        if not self._running:
            raise OrdererUnavailable("the orderer is stopped")
        if self.backlog + len(txs) > self.max_pending:
            raise OrdererUnavailable(
                f"ordering backlog is full ({self.backlog} transactions); retry shortly")
        self._pending.extend(txs)
        while len(self._pending) >= self.max_txs:
            self._cut(self.max_txs)
        if self._pending and self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self.max_wait_ms / 1000, self._on_timeout)

    def _on_timeout(self) -> None:
        self._timer = None
        if self._pending:
            self._cut(len(self._pending))

    def _cut(self, n: int) -> None:
        txs, self._pending = self._pending[:n], self._pending[n:]
        if not self._pending and self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._last_time = max(self._last_time, self._clock())
        self._queue.put_nowait(Batch(self._next, self._last_time, txs))
        self._queued_txs += len(txs)
        self._next += 1

    async def deliver(self) -> AsyncIterator[Batch]:
        while True:
            batch = await self._queue.get()
            if batch is None:
                return
            self._queued_txs -= len(batch.txs)
            yield batch

    async def stop(self) -> None:
        self._running = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._queue.put_nowait(None)
