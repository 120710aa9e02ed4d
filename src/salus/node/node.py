"""The node: takes signed transactions in, gets them ordered, commits blocks, answers.

Ingress admits a transaction only if a block would (format, size, chain, signature,
method, argument schema, signer's key, authority rule: ``Executor.admit`` against the
committed head), and refuses the rest at once: they are never ordered and change
nothing.
Signatures are verified on every core (``salus.ledger.signatures``). Accepted
transactions go to the orderer; a single commit loop takes the batches it delivers, in
order, and commits each as one durable block on a dedicated thread, so the event loop
keeps serving while the disk syncs. Clients that asked to wait get their receipt once
the block is on disk, never before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from salus import workers
from salus.clock import wall_clock_ms
from salus.ledger.codes import Code, Rejected
from salus.ledger.ledger import BlockRefused, CommittedBlock, HeaderCheck, Ledger
from salus.ledger.log import leaf_hash
from salus.ledger.signatures import check_all, executable
from salus.ledger.transaction import BAD_SIGNATURE_REASON, Transaction
from salus.node.metrics import NodeMetrics
from salus.node.receipt import Receipt
from salus.ordering import Batch, Orderer, OrdererUnavailable

log = logging.getLogger("salus.node")

MAX_BATCH = 10_000


#: Decides, on the event loop, whether an admitted transaction may be ordered now: None
#: lets it through, a (refused) receipt refuses it instead. The API's per-signer budget.
BudgetCheck = Callable[[Transaction], Receipt | None]


class NodeUnavailable(Exception):
    """The node cannot take transactions now; ``code`` says why (BUSY, HALTED, STOPPED)."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class Node:
    def __init__(self, ledger: Ledger, orderer: Orderer,
                 clock: Callable[[], int] = wall_clock_ms) -> None:
        self.ledger = ledger
        self.orderer = orderer
        #: Ingress judges a transaction's time against this (blocks, against block time).
        self.clock = clock
        #: Sees each block's sealed header before it is stored and may refuse it; a
        #: network peer installs its check of what other peers attested.
        self.check_block: HeaderCheck | None = None
        self.metrics = NodeMetrics()
        self.halted: str | None = None
        #: Set when this peer's ledger disagrees with the network's: writes are refused
        #: until an operator acts (see salus.network.peer).
        self.diverged: str | None = None
        self._stopping = False
        self._waiters: dict[bytes, list[asyncio.Future[Receipt]]] = {}
        self._inflight: dict[bytes, int] = {}  # tx id -> ingress time (ns)
        self._committer = ThreadPoolExecutor(1, thread_name_prefix="commit")
        self._task: asyncio.Task[None] | None = None
        self._block_listeners: set[asyncio.Queue[CommittedBlock | None]] = set()
        self._sync_metrics()

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        await asyncio.get_running_loop().run_in_executor(None, workers.warm_up)
        await self.orderer.start(self.ledger.height + 1, self.ledger.ordering_cursor)
        self._task = asyncio.create_task(self._commit_loop(), name="salus-commit")

    async def stop(self) -> None:
        self._stopping = True
        await self.orderer.stop()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._task, timeout=30)
        self._fail_waiters("STOPPED", "the node stopped before the transaction was committed")
        self._committer.shutdown(wait=True)

    # -- ingress -------------------------------------------------------------------------
    def _prepare(self, raws: Sequence[bytes]) -> list[Transaction | Receipt]:
        """Admission (runs off the event loop): format and signature, the duplicate
        check, then every check a block would drop the transaction for, against the
        committed head. What fails is refused here and never ordered."""
        ledger = self.ledger
        executor = ledger.executor
        checked = check_all(raws, executor.max_tx_bytes)
        known = ledger.store.known_ids([tx.id for tx, _ in checked if isinstance(tx, Transaction)])
        height, now = ledger.height + 1, self.clock()
        out: list[Transaction | Receipt] = []
        for raw, (tx, sig_ok) in zip(raws, checked, strict=True):
            try:
                if isinstance(tx, Rejected):
                    raise tx
                if not sig_ok:
                    raise Rejected(Code.BAD_SIGNATURE, BAD_SIGNATURE_REASON)
                if tx.id in known:
                    raise Rejected(Code.DUPLICATE, "this exact transaction is already on the ledger")
                executor.admit(ledger.state_bytes, tx, height, now)
                out.append(tx)
            except Rejected as exc:
                out.append(Receipt(leaf_hash(raw).hex(), "refused", exc.code, exc.reason))
        return out

    async def submit(self, raws: Sequence[bytes], *, wait: bool = False,
                     timeout: float = 30.0, budget: BudgetCheck | None = None) -> list[Receipt]:
        """Submit signed transactions; with ``wait``, return once each is committed."""
        results = await self.enqueue(raws, want_commit=wait, budget=budget)
        futures = [r[1] for r in results if isinstance(r, tuple)]
        if futures:
            await asyncio.wait(futures, timeout=timeout)
        return [self.resolve(r) for r in results]

    async def enqueue(self, raws: Sequence[bytes], *, want_commit: bool = True,
                      budget: BudgetCheck | None = None
                      ) -> list[Receipt | tuple[str, asyncio.Future[Receipt]]]:
        """Check and hand transactions to the orderer. For each: a refusal, or (with
        ``want_commit``) its id and a future that resolves to the commit receipt, or a
        pending receipt. When this returns, every accepted transaction is with the
        orderer, in the order given. ``budget`` is asked last, about transactions that
        passed every other check (so only a signer's own new, admissible transactions
        count against it: a replay of its old ones is a DUPLICATE first)."""
        if self.halted:
            raise NodeUnavailable("HALTED", f"the node stopped committing: {self.halted}")
        if self.diverged:
            raise NodeUnavailable("DIVERGED", f"this peer disagrees with the network and takes "
                                              f"no writes until an operator acts: {self.diverged}")
        if self._stopping:
            raise NodeUnavailable("STOPPED", "the node is shutting down")
        if len(raws) > MAX_BATCH:
            raise NodeUnavailable("TOO_LARGE", f"at most {MAX_BATCH} transactions per request")
        self.metrics.received.inc(len(raws))
        loop = asyncio.get_running_loop()
        prepared = await loop.run_in_executor(None, self._prepare, raws)
        now = time.monotonic_ns()
        accepted: list[Transaction] = []
        results: list[Receipt | tuple[str, asyncio.Future[Receipt]]] = []
        for item in prepared:
            if isinstance(item, Transaction):
                if item.id in self._inflight:
                    item = Receipt(item.id_hex, "refused", Code.DUPLICATE,
                                   "this exact transaction is already being ordered")
                elif budget is not None and (refusal := budget(item)) is not None:
                    item = refusal
                else:
                    self._inflight[item.id] = now
                    accepted.append(item)
                    if want_commit:
                        fut = loop.create_future()
                        self._waiters.setdefault(item.id, []).append(fut)
                        results.append((item.id_hex, fut))
                    else:
                        results.append(Receipt(item.id_hex, "pending"))
                    continue
            self.metrics.refused.labels(item.code).inc()
            results.append(item)
        if accepted:
            try:
                await self.orderer.broadcast(accepted)
            except OrdererUnavailable as exc:
                for tx in accepted:
                    self._inflight.pop(tx.id, None)
                    for fut in self._waiters.pop(tx.id, []):
                        fut.cancel()
                raise NodeUnavailable("BUSY", str(exc)) from None
        return results

    @staticmethod
    def resolve(item: Receipt | tuple[str, asyncio.Future[Receipt]]) -> Receipt:
        """The receipt of one :meth:`enqueue` result (pending if its future is not done)."""
        if isinstance(item, Receipt):
            return item
        tx_id, fut = item
        if fut.done() and not fut.cancelled():
            return fut.result()
        fut.cancel()
        return Receipt(tx_id, "pending", reason=f"not committed yet; poll GET /v1/tx/{tx_id}")

    # -- commit --------------------------------------------------------------------------
    async def _commit_loop(self) -> None:
        try:
            await self._consume()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the ordering service failed for good (e.g. trimmed)
            log.error("ordering stopped; node halted: %s", exc)
            self.halt(f"ordering: {exc}")

    async def _consume(self) -> None:
        loop = asyncio.get_running_loop()
        async for batch in self.orderer.deliver():
            self.metrics.backlog.set(getattr(self.orderer, "backlog", 0))
            try:
                block = await loop.run_in_executor(self._committer, self._commit, batch)
            except BlockRefused as exc:
                log.error("block %d refused; node halted: %s", batch.number, exc)
                self.halt(f"block {batch.number} refused: {exc}")
                return
            except Exception as exc:  # storage failure: stop rather than diverge
                log.exception("commit of block %d failed; node halted", batch.number)
                self.halt(f"block {batch.number}: {type(exc).__name__}: {exc}")
                return
            self._committed(block)

    @property
    def caught_up(self) -> bool:
        """Whether this node has committed everything its ordering service held when it
        started (always, for the embedded orderer). Until then its state is behind the
        network's, and decisions on it (a records gateway's, say) would be stale."""
        return self.orderer.read_through_start.is_set()

    async def wait_caught_up(self) -> None:
        await self.orderer.read_through_start.wait()

    def halt(self, reason: str) -> None:
        """Stop committing for good (until restart): better than a ledger that diverges."""
        self.halted = reason
        self.metrics.halted.set(1)
        self._fail_waiters("HALTED", reason)

    def _commit(self, batch: Batch) -> CommittedBlock:
        if batch.number != self.ledger.height + 1:
            raise RuntimeError(f"orderer delivered batch {batch.number} at height {self.ledger.height}")
        started = time.perf_counter()
        txs, sig_ok = executable(batch.txs, self.ledger.executor.max_tx_bytes)
        block = self.ledger.commit(batch.time, txs, sig_ok, cursor=batch.cursor,
                                   check=self.check_block)
        self.metrics.commit_seconds.observe(time.perf_counter() - started)
        return block

    def _committed(self, block: CommittedBlock) -> None:
        now = time.monotonic_ns()
        h = block.header
        block_hash = block.block_hash.hex()
        for code, count in Counter(r.code for r in block.results).items():
            self.metrics.committed.labels(code).inc(count)
        for offset, r in enumerate(block.results):
            started = self._inflight.pop(r.id, None)
            if started is not None:
                self.metrics.latency_seconds.observe((now - started) / 1e9)
            waiters = self._waiters.pop(r.id, None)
            if waiters:
                receipt = Receipt(r.id.hex(), "committed", r.code, r.reason, h.height,
                                  block.first_seq + offset, block_hash, r.output, r.events)
                for fut in waiters:
                    if not fut.done():
                        fut.set_result(receipt)
        for r in block.dropped:  # admitted at ingress, but not by the block's state
            self._inflight.pop(r.id, None)
            self.metrics.refused.labels(r.code).inc()
            for fut in self._waiters.pop(r.id, ()):
                if not fut.done():
                    fut.set_result(Receipt(r.id.hex(), "refused", r.code, r.reason))
        self.metrics.blocks.inc()
        self._sync_metrics()
        for queue in list(self._block_listeners):
            try:
                queue.put_nowait(block)
            except asyncio.QueueFull:  # a listener that stopped reading must not stop commits
                log.warning("a block listener fell %d blocks behind and was dropped", queue.qsize())
                self._block_listeners.discard(queue)
                while not queue.empty():  # ... and is told so, rather than left waiting
                    queue.get_nowait()
                queue.put_nowait(None)

    def _sync_metrics(self) -> None:
        self.metrics.height.set(self.ledger.height)
        self.metrics.log_size.set(self.ledger.log_size)

    def _fail_waiters(self, code: str, reason: str) -> None:
        for tx_id, futures in self._waiters.items():
            for fut in futures:
                if not fut.done():
                    fut.set_result(Receipt(tx_id.hex(), "pending", None, f"{code}: {reason}"))
        self._waiters.clear()

    @property
    def pending(self) -> int:
        """Transactions accepted and not yet committed."""
        return len(self._inflight)

    # -- subscriptions -------------------------------------------------------------------
    def subscribe_blocks(self, maxsize: int = 10_000) -> asyncio.Queue[CommittedBlock | None]:
        """Every block committed from now on, in order. With ``maxsize`` (0 = unbounded),
        a listener that falls that many blocks behind is dropped rather than allowed to
        hold memory or stall commits: its queue is emptied and then yields ``None``, once,
        so it can tell its own client to start over."""
        queue: asyncio.Queue[CommittedBlock | None] = asyncio.Queue(maxsize=maxsize)
        self._block_listeners.add(queue)
        return queue

    def unsubscribe_blocks(self, queue: asyncio.Queue[CommittedBlock | None]) -> None:
        self._block_listeners.discard(queue)
