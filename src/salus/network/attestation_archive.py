"""Every attestation a peer has accepted, kept on disk, and how far it read the stream.

The attestation stream has retention limits like the ordering stream; without an
archive, a restarted peer could only answer k-of-n receipts for blocks whose
attestations the stream still held. The archive is the peer's own SQLite file beside its
ledger (``attestations.db``). It holds verified attestations only, so reading one back
needs no second check, and the stream sequence read up to, so a restart resumes there.

Durability is ``synchronous=NORMAL``: a power cut may lose the last few writes, which
the stream (or the signing peer's backfill) supplies again; nothing here is promised to
a client before it is in the ledger itself.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

from salus.network.attestation import Attestation

SCHEMA = """
CREATE TABLE IF NOT EXISTS attestations (
    height INTEGER NOT NULL,
    signer TEXT NOT NULL,
    block_hash BLOB NOT NULL,
    state_hash BLOB NOT NULL,
    signature BLOB NOT NULL,
    PRIMARY KEY (height, signer)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

_CURSOR = "stream_cursor"


class AttestationArchive:
    """Verified attestations of one chain, by height; safe to use from any thread."""

    def __init__(self, path: str | Path, chain_id: str) -> None:
        self.path = Path(path)
        self.chain_id = chain_id
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def add(self, atts: Iterable[Attestation], stream_cursor: int | None = None) -> None:
        """Keep ``atts`` (one per signer and height; a repeat is ignored) and, if given,
        the stream sequence they were read up to, in one transaction."""
        rows = [(a.height, a.signer, a.block_hash, a.state_hash, a.signature) for a in atts
                if a.chain_id == self.chain_id]
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany("INSERT OR IGNORE INTO attestations VALUES (?, ?, ?, ?, ?)",
                                     rows)
                if stream_cursor is not None:
                    self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                                     (_CURSOR, stream_cursor))
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def at(self, height: int) -> list[Attestation]:
        return self._select("height=?", height)

    def since(self, height: int) -> list[Attestation]:
        """Every attestation at ``height`` or above, lowest height first."""
        return self._select("height>=?", height)

    def _select(self, where: str, height: int) -> list[Attestation]:
        with self._lock:
            rows = self._db.execute(
                "SELECT height, block_hash, state_hash, signer, signature FROM attestations "
                f"WHERE {where} ORDER BY height, signer", (height,)).fetchall()
        return [Attestation(self.chain_id, h, b, s, signer, sig) for h, b, s, signer, sig in rows]

    def highest(self) -> int:
        """The highest height attested by anyone (0 when empty)."""
        with self._lock:
            row = self._db.execute("SELECT MAX(height) FROM attestations").fetchone()
        return row[0] or 0

    @property
    def stream_cursor(self) -> int:
        """The last attestation-stream sequence read (0: none)."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key=?", (_CURSOR,)).fetchone()
        return 0 if row is None else int(row[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
