"""Each signed request is served once, across restarts of the node.

A request carries its signing time; the gateway refuses one whose time is more than
``window_ms`` from its clock (``STALE``), so it only has to remember the ids it saw in
the last ``window_ms`` to refuse a second copy (``REPLAYED_REQUEST``). The token
endpoint remembers each client assertion's ``jti`` until the assertion expires, for the
same reason.

The memory is a table in the node's own SQLite file (``replay.db`` in its data
directory): a restarted node still refuses what it served before it stopped. It is this
node's memory, not the ledger's consensus state: every node keeps its own, and nothing
in it is ever a block. Each id is kept with the time after which it can no longer be
presented (``expires``), and rows past it are deleted at most once a second, so the
table holds about a window's worth of ids. ``synchronous=NORMAL`` (WAL): a request the
node answered is on disk before its answer leaves, unless the machine itself loses
power in that instant.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS seen (
    guard TEXT NOT NULL,
    id TEXT NOT NULL,
    expires INTEGER NOT NULL,
    PRIMARY KEY (guard, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS seen_by_expiry ON seen (guard, expires);
"""

#: How often (ms of the caller's clock) expired ids are deleted: each request pays for
#: one insert; the clean-up is amortised over a second's requests.
PRUNE_EVERY_MS = 1000

# One statement decides: a new id is inserted; a remembered one whose time has passed
# is renewed (it may be served again: STALE refuses it anyway); a live one changes
# nothing, and the zero rows changed say "replay".
_OFFER = ("INSERT INTO seen (guard, id, expires) VALUES (?, ?, ?) "
          "ON CONFLICT (guard, id) DO UPDATE SET expires = excluded.expires "
          "WHERE seen.expires < ?")


class ReplayGuard:
    """Remembers the ids offered to one guard (``name``) of a node, in ``path``."""

    def __init__(self, path: str | Path, name: str, window_ms: int) -> None:
        self.path = path
        self.name = name
        self.window_ms = window_ms
        self._lock = threading.Lock()
        self._pruned: int | None = None
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(SCHEMA)

    def fresh(self, request: str, request_time: int, now: int) -> bool:
        """True once for each ``request`` within the window; False for a replay."""
        return self.first_use(request, request_time + self.window_ms, now)

    def first_use(self, request: str, expires: int, now: int) -> bool:
        """True the first time ``request`` is offered; False while it is remembered, that
        is until ``expires`` (the last time it could be accepted) has passed."""
        with self._lock:
            if self._pruned is None or now - self._pruned >= PRUNE_EVERY_MS:
                self._db.execute("DELETE FROM seen WHERE guard = ? AND expires < ?",
                                 (self.name, now))
                self._pruned = now
            return self._db.execute(_OFFER, (self.name, request, expires, now)).rowcount == 1

    def __len__(self) -> int:
        """Ids kept now (expired ones included until the next clean-up)."""
        with self._lock:
            return self._db.execute("SELECT count(*) FROM seen WHERE guard = ?",
                                    (self.name,)).fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
