"""Server-sent event streams over committed blocks (``GET /v1/access/events``,
``GET /v1/supply/events``): each block as it commits, keep-alives while nothing does, and
an end when a slow reader falls too far behind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import Request
from fastapi.sse import ServerSentEvent

from salus.ledger.ledger import CommittedBlock
from salus.node.node import Node

KEEP_ALIVE_S = 15


class BlockStream:
    """Subscribed when made (so a ``ready`` event sent after it misses no block); iterate
    it for each committed block, or a keep-alive comment after 15 s of quiet, until the
    client disconnects. A reader that falls too far behind gets a ``dropped`` event
    saying where to read what it ``missed``, and the end. :meth:`close` unsubscribes."""

    def __init__(self, request: Request, node: Node, missed: str) -> None:
        self.request, self.node, self.missed = request, node, missed
        self.queue = node.subscribe_blocks()

    async def __aiter__(self) -> AsyncIterator[CommittedBlock | ServerSentEvent]:
        while not await self.request.is_disconnected():
            try:
                block = await asyncio.wait_for(self.queue.get(), timeout=KEEP_ALIVE_S)
            except TimeoutError:
                yield ServerSentEvent(comment="keep-alive")
                continue
            if block is None:  # this stream fell too far behind and the node let go
                yield ServerSentEvent(event="dropped", data={
                    "code": "TOO_SLOW", "height": self.node.ledger.height,
                    "reason": "this stream fell too far behind the ledger and was closed; "
                              f"reconnect, and read {self.missed} for what was missed"})
                return
            yield block

    def close(self) -> None:
        self.node.unsubscribe_blocks(self.queue)
