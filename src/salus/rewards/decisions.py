"""What the sponsor's service decided about each record version, kept across restarts.

A refusal is remembered with its code and never tried again for that version (a new
version, such as an encounter amended to ``finished``, is a new question); an award is
remembered so that catch-up after a restart does not even read the vault again (the
ledger's ``rewards/event/<sponsor>/<record>`` says so too, and the contract refuses a
second award: RW6). Record ids, versions, codes and heights only.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
    record TEXT NOT NULL,
    version INTEGER NOT NULL,
    code TEXT NOT NULL,             -- AWARD, or the refusal's code
    tx TEXT,                        -- the award's transaction id
    height INTEGER NOT NULL,        -- the ledger height when decided
    PRIMARY KEY (record, version)
);
"""


class Decisions:
    def __init__(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def decided(self, record: str, version: int) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT code FROM decisions WHERE record = ? AND version = ?",
                                   (record, version)).fetchone()
        return None if row is None else str(row[0])

    def remember(self, record: str, version: int, code: str, height: int,
                 tx: str | None = None) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO decisions VALUES (?, ?, ?, ?, ?)",
                             (record, version, code, tx, height))

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._db.execute("SELECT code, COUNT(*) FROM decisions GROUP BY code"))

    def close(self) -> None:
        with self._lock:
            self._db.close()
