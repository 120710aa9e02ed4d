"""A service key's LedgerWriter: calls that wait go to the node together, signed in the
order they were made; a refusal among them refuses that call only, and the nonces after
it stay above every nonce the writer has used."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from conftest import GENESIS_TIME, Chain, ident
from salus.ledger import transaction
from salus.node.node import Node
from salus.node.service_key import LedgerWriter
from salus.ordering import SoloOrderer


class CountingNode(Node):
    """The real node, remembering how many transactions each enqueue handed it."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.batches: list[int] = []

    async def enqueue(self, raws: Sequence[bytes], **kw: Any) -> Any:
        self.batches.append(len(raws))
        return await super().enqueue(raws, **kw)


def _clock() -> int:
    return GENESIS_TIME + 1000


def test_concurrent_calls_go_together_in_call_order_and_all_commit(chain: Chain) -> None:
    node = CountingNode(chain.ledger, SoloOrderer(max_txs=1000, max_wait_ms=5, clock=_clock),
                        clock=_clock)
    writer = LedgerWriter(node, ident("st-mary-admin"))

    async def run() -> tuple[list[Any], list[Any]]:
        await node.start()
        blocks = node.subscribe_blocks(maxsize=0)
        try:
            pending = await asyncio.gather(*(
                writer.send("notary", "anchor", {"hash": f"{i:064x}"}, _clock(),
                            want_commit=True) for i in range(20)))
            done = [await p if isinstance(p, asyncio.Future) else p for p in pending]
            return done, [blocks.get_nowait() for _ in range(blocks.qsize())]
        finally:
            await node.stop()

    receipts, blocks = asyncio.run(run())
    assert all(r.valid for r in receipts), receipts
    assert sum(node.batches) == 20 and len(node.batches) < 20  # waiting calls went together
    # the nonces follow the calls: the i-th call's transaction anchors hash i
    by_hash = {}
    for block in blocks:
        for result in block.results:
            tx = transaction.decode(result.raw)
            by_hash[int(tx.args["hash"], 16)] = tx.nonce
    nonces = [by_hash[i] for i in range(20)]
    assert nonces == sorted(nonces) and len(set(nonces)) == 20


def test_a_refused_call_refuses_itself_only_and_later_nonces_stay_above(chain: Chain) -> None:
    node = Node(chain.ledger, SoloOrderer(max_txs=1000, max_wait_ms=5, clock=_clock),
                clock=_clock)
    writer = LedgerWriter(node, ident("st-mary-admin"))

    async def run() -> tuple[list[Any], Any]:
        await node.start()
        try:
            calls = [writer.send("notary", "anchor", {"hash": f"{i:064x}"}, _clock(),
                                 want_commit=True) for i in range(6)]
            # a call the node refuses at admission (no such method), among the others
            calls.insert(3, writer.send("notary", "no_such_method", {}, _clock(),
                                        want_commit=True))
            pending = await asyncio.gather(*calls)
            done = [await p if isinstance(p, asyncio.Future) else p for p in pending]
            after = await writer.send("notary", "anchor", {"hash": "ab" * 32}, _clock(),
                                      want_commit=True)
            return done, await after if isinstance(after, asyncio.Future) else after
        finally:
            await node.stop()

    done, after = asyncio.run(run())
    assert [r.valid for r in done] == [True, True, True, False, True, True, True], done
    assert done[3].status == "refused"
    assert after.valid, after  # its nonce is above the in-flight ones, not a reused one


def test_a_call_cancelled_while_it_waits_is_never_signed_or_sent(chain: Chain) -> None:
    node = Node(chain.ledger, SoloOrderer(max_txs=1000, max_wait_ms=5, clock=_clock),
                clock=_clock)
    writer = LedgerWriter(node, ident("st-mary-admin"))

    async def run() -> tuple[Any, list[Any]]:
        await node.start()
        blocks = node.subscribe_blocks(maxsize=0)
        try:
            async with writer._lock:  # the key busy: the call waits its turn
                waiting = asyncio.create_task(writer.send(
                    "notary", "anchor", {"hash": "cd" * 32}, _clock(), want_commit=True))
                await asyncio.sleep(0.05)
                waiting.cancel()  # e.g. its client went away
                await asyncio.sleep(0)
            after = await writer.send("notary", "anchor", {"hash": "ef" * 32}, _clock(),
                                      want_commit=True)
            receipt = await after if isinstance(after, asyncio.Future) else after
            await asyncio.sleep(0.05)
            return receipt, [blocks.get_nowait() for _ in range(blocks.qsize())]
        finally:
            await node.stop()

    receipt, blocks = asyncio.run(run())
    assert receipt.valid, receipt
    anchored = [transaction.decode(r.raw).args["hash"] for b in blocks for r in b.results]
    assert anchored == ["ef" * 32]
