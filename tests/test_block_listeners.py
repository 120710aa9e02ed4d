"""Block listeners: a slow one is let go and told so; commits never wait for it."""

from __future__ import annotations

import asyncio

from conftest import GENESIS_TIME, Chain, ident
from salus.node.node import Node
from salus.ordering import SoloOrderer


def test_a_listener_that_falls_behind_is_told_it_was_dropped(chain: Chain) -> None:
    admin = ident("st-mary-admin")
    def clock() -> int:
        return GENESIS_TIME + 1000

    node = Node(chain.ledger, SoloOrderer(max_txs=1, max_wait_ms=1, clock=clock), clock=clock)

    async def run() -> tuple[list[int | None], list[int]]:
        await node.start()
        slow = node.subscribe_blocks(maxsize=2)
        keeping_up = node.subscribe_blocks(maxsize=0)
        try:
            for i in range(5):  # five blocks, one transaction each; nobody reads meanwhile
                raw = chain.tx(admin, "notary", "anchor", {"hash": f"{i:064x}"},
                               time=GENESIS_TIME + 1000)
                (receipt,) = await node.submit([raw], wait=True, timeout=10)
                assert receipt.valid, receipt
            seen_slow = []
            while not slow.empty():
                block = slow.get_nowait()
                seen_slow.append(None if block is None else block.header.height)
            seen = [keeping_up.get_nowait().header.height for _ in range(keeping_up.qsize())]
            return seen_slow, seen
        finally:
            await node.stop()

    seen_slow, seen = asyncio.run(run())
    start = chain.ledger.height - 4
    assert seen == list(range(start, start + 5))  # the unbounded listener has every block
    assert seen_slow == [None]  # the slow one: emptied, told once, and no longer fed
    assert chain.ledger.height == start + 4  # commits went on regardless
