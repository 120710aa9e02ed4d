"""Each signed request is served once, across restarts of the node.

A request carries its signing time; the gateway refuses one whose time is more than
``window_ms`` from its clock (``STALE``), so it only has to remember the ids it saw in
the last ``window_ms`` to refuse a second copy (``REPLAYED_REQUEST``). The token
endpoint remembers each client assertion's ``jti`` until the assertion expires, for the
same reason.

The memory is kept twice. In this process, a set and a deque of ids in arrival order,
dropped from the front once expired: the decision costs O(1) and no I/O. On disk, a
table in the node's own SQLite file (``replay.db`` in its data directory), read back
when the node starts, so a restarted node still refuses what it served before. It is
this node's memory, not the ledger's consensus state: every node keeps its own, and
nothing in it is ever a block. Rows are written in batches on a thread of their own,
started as soon as an id is decided (a commit per request cost ~80 us, a sixth of a
read's budget), so an id is on disk about a millisecond after it was decided; a caller
that must not answer before that awaits :meth:`ReplayGuard.written` (the token endpoint,
ingests). Closing the guard writes what is left. Rows past their expiry are deleted at
most once a second. ``synchronous=NORMAL`` (WAL): a written batch survives the process,
and is lost only if the machine itself loses power.

An id whose expiry is later than one behind it keeps that one in memory until it
expires itself, which costs memory only: the second one is refused as ``STALE`` anyway.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# An append-only log of ids: memory decides, so the file need not refuse duplicates, and
# rows arrive in about the order of their expiry, so every insert (row and index entry)
# lands on the last page instead of at a random place in a table of ~250k ids.
SCHEMA = """
CREATE TABLE IF NOT EXISTS seen (
    guard TEXT NOT NULL,
    id TEXT NOT NULL,
    expires INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS seen_by_expiry ON seen (guard, expires);
"""

#: How often (ms of the caller's clock) expired rows are deleted from the file.
PRUNE_EVERY_MS = 1000


class ReplayGuard:
    """The ids offered to one guard (``name``) of a node, kept in ``path``. Decide from
    one thread (the node's event loop); the file is written from a thread of its own."""

    def __init__(self, path: str | Path, name: str, window_ms: int) -> None:
        self.path = path
        self.name = name
        self.window_ms = window_ms
        self._seen: set[str] = set()
        self._order: deque[tuple[int, str]] = deque()
        self._queue: list[tuple[str, str, int]] = []  # decided, not yet written
        self._queued = 0  # ids decided fresh so far
        self._written = 0  # ... of which the first this many are on disk
        self._writer: asyncio.Future[None] | None = None
        self._now: int | None = None  # the latest "now" a caller gave
        self._pruned: int | None = None
        self._lock = threading.Lock()  # one statement at a time on the connection
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"replay-{name}")
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(SCHEMA)
        for request, expires in self._db.execute(
                "SELECT id, max(expires) AS until FROM seen WHERE guard = ? GROUP BY id "
                "ORDER BY until", (name,)):
            self._seen.add(request)
            self._order.append((expires, request))

    def fresh(self, request: str, request_time: int, now: int) -> bool:
        """True once for each ``request`` within the window; False for a replay."""
        return self.first_use(request, request_time + self.window_ms, now)

    def first_use(self, request: str, expires: int, now: int) -> bool:
        """True the first time ``request`` is offered; False while it is remembered, that
        is until ``expires`` (the last time it could be accepted) has passed."""
        while self._order and self._order[0][0] < now:
            self._seen.discard(self._order.popleft()[1])
        if request in self._seen:
            return False
        self._seen.add(request)
        self._order.append((expires, request))
        self._queue.append((self.name, request, expires))
        self._queued += 1
        self._now = now
        self._start_writing()
        return True

    def _start_writing(self) -> None:
        """Start writing at once (from a running event loop), so that the batch is often
        on disk before the caller asks: :meth:`written` then costs nothing."""
        if self._writer is None or self._writer.done():
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no loop here: written() or close() writes it
                return
            self._writer = loop.create_task(self._drain(), name=f"replay-{self.name}")

    async def written(self) -> None:
        """Return once every id decided fresh before this call is on disk."""
        target = self._queued
        while self._written < target:
            if self._writer is None or self._writer.done():
                self._writer = asyncio.get_running_loop().create_task(self._drain())
            await asyncio.shield(self._writer)

    async def _drain(self) -> None:
        """Write batches until nothing decided is left unwritten."""
        loop = asyncio.get_running_loop()
        while self._queue:
            rows, upto, now = self._queue, self._queued, self._now
            self._queue = []
            try:
                await loop.run_in_executor(self._executor, self._write, rows, now)
            except BaseException:
                self._queue = rows + self._queue  # written with the next batch
                raise
            self._written = upto

    def _write(self, rows: list[tuple[str, str, int]], now: int | None) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany("INSERT INTO seen (guard, id, expires) VALUES (?, ?, ?)",
                                     rows)
                if now is not None and (self._pruned is None
                                        or now - self._pruned >= PRUNE_EVERY_MS):
                    self._db.execute("DELETE FROM seen WHERE guard = ? AND expires < ?",
                                     (self.name, now))
                    self._pruned = now
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def __len__(self) -> int:
        """Ids remembered now (expired ones included until the next one is offered)."""
        return len(self._seen)

    def close(self) -> None:
        """Write what is decided and not yet written, and close the file."""
        self._executor.shutdown(wait=True)
        rows, self._queue = self._queue, []
        if rows:
            self._write(rows, self._now)
        with self._lock:
            self._db.close()
