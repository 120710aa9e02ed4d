"""A lean HTTP/1.1 load generator: requests over kept-alive connections, one request
at a time on each, for benchmarks whose single requests cost the node ~0.2 ms.

Why not aiohttp (records/bench's load generator): on this class of machine aiohttp's
client spends 175-275 us of CPU per request, as much as the node spends answering a
verification, and both share the machine's two cores; this one spends ~70 us
(docs/benchmarks.md, "Supply chain"). It speaks just enough HTTP/1.1 for answers that
carry a Content-Length, and refuses anything else.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from salus.bench.harness import drive


class HttpError(RuntimeError):
    pass


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(HttpError(f"connection lost: {exc}"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.waiter is None:
            return
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buffer[:end].lower()
        at = head.find(b"\r\ncontent-length:")
        if at < 0:
            self.waiter.set_exception(HttpError(f"an answer without a Content-Length: {head!r}"))
            return
        stop = head.find(b"\r\n", at + 2)
        total = end + 4 + int(head[at + 17:stop if stop > 0 else None])
        if len(self.buffer) < total:
            return
        body, self.buffer = self.buffer[end + 4:total], self.buffer[total:]
        waiter, self.waiter = self.waiter, None
        waiter.set_result((int(head[9:12]), body))

    def get(self, request: bytes) -> asyncio.Future[tuple[int, bytes]]:
        assert self.transport is not None and self.waiter is None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self.waiter


def _request(host: str, path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()


async def fire(host: str, port: int, paths: list[str], connections: int,
               check: Callable[[int, bytes], str | None], interval: float | None = None
               ) -> tuple[float, list[float]]:
    """GET every path (:func:`send_all`); each connection first answers a GET of the first
    path before the clock starts."""
    authority = f"{host}:{port}"
    return await send_all(host, port, [_request(authority, p) for p in paths], connections,
                          check, interval, warm=_request(authority, paths[0]))


async def send_all(host: str, port: int, requests: list[bytes], connections: int,
                   check: Callable[[int, bytes], str | None], interval: float | None = None,
                   warm: bytes | None = None) -> tuple[float, list[float]]:
    """Send every request (whole HTTP/1.1 requests, bytes): on ``connections``
    connections, each sending its next request once the last is answered (closed loop),
    or one request every ``interval`` seconds on a free connection (open loop; a request
    waits for one if all are busy). ``check`` returns what is wrong with an answer, or
    None. Returns the elapsed seconds and each request's latency (ms, from the moment it
    was due)."""
    loop = asyncio.get_running_loop()
    pool: asyncio.Queue[_Connection] = asyncio.Queue()
    conns = []
    for _ in range(connections):
        _, conn = await loop.create_connection(_Connection, host, port)
        conns.append(conn)
        pool.put_nowait(conn)
    latencies: list[float] = []
    failures: list[str] = []

    async def one(request: bytes, due: float) -> None:
        conn = await pool.get()
        if conn.transport is None or conn.transport.is_closing():
            # the server let an idle connection go (uvicorn: after 5 s); a client would
            # connect again, and so this request's latency includes that
            _, conn = await loop.create_connection(_Connection, host, port)
            conns.append(conn)
        try:
            status, body = await conn.get(request)
        finally:
            pool.put_nowait(conn)
        latencies.append((time.perf_counter() - due) * 1000)
        if (wrong := check(status, body)) is not None:
            failures.append(wrong)

    try:
        # Each connection answers once before the clock starts (``warm``): a counter's
        # client keeps its connections, and a fresh one's first answer costs the server
        # its setup.
        if warm is not None:
            await asyncio.gather(*(conn.get(warm) for conn in conns))
        elapsed = await drive(one, requests, connections, interval)
    finally:
        for conn in conns:
            if conn.transport is not None:
                conn.transport.close()
    if failures:
        raise HttpError(f"{len(failures)} requests failed, first: {failures[0]}")
    return elapsed, latencies
