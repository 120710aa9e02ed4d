"""SQLite storage for one peer: blocks, transactions, log nodes, state.

WAL mode with ``synchronous=FULL``: a block's rows are one SQLite transaction, and
:meth:`Store.write_block` returns only after it is on disk, which is what lets the node
say "committed". One connection writes (the committer); every other thread reads through
its own connection, which WAL lets proceed while a block is being written.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("salus.ledger")

#: Log frames (pages) after which the checkpointer makes the next block start the WAL
#: over: 16,384 frames of 4 KiB is 64 MiB.
WAL_RESTART_FRAMES = 16_384

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (
    height INTEGER PRIMARY KEY,
    hash BLOB NOT NULL,
    header BLOB NOT NULL,      -- RFC 8785 JSON of the header, exactly as signed
    signer TEXT NOT NULL,      -- did:key that signed header and tree head
    signature BLOB NOT NULL,
    sth_signature BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS txs (
    seq INTEGER PRIMARY KEY,   -- leaf index in the transparency log
    id BLOB NOT NULL,          -- leaf hash
    height INTEGER NOT NULL,
    code TEXT NOT NULL,
    reason TEXT NOT NULL,
    raw BLOB NOT NULL,         -- exact signed bytes (the log leaf's data)
    detail TEXT                -- JSON: read/write sets, output, events
);
CREATE INDEX IF NOT EXISTS txs_id ON txs (id);
CREATE TABLE IF NOT EXISTS log_nodes (
    level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS block_cursors (
    height INTEGER PRIMARY KEY,
    cursor INTEGER NOT NULL    -- the ordering service's position after this block
);
CREATE TABLE IF NOT EXISTS state (
    key TEXT PRIMARY KEY, value BLOB NOT NULL, height INTEGER NOT NULL
) WITHOUT ROWID;
"""


def _known_ids(conn: sqlite3.Connection, ids: Sequence[bytes]) -> set[bytes]:
    """Which of ``ids`` are already in the log (chunked under SQLite's parameter limit)."""
    found: set[bytes] = set()
    for i in range(0, len(ids), 900):
        chunk = ids[i : i + 900]
        marks = ",".join("?" * len(chunk))
        found.update(r[0] for r in conn.execute(f"SELECT id FROM txs WHERE id IN ({marks})", chunk))
    return found


@dataclass(frozen=True, slots=True)
class BlockRow:
    height: int
    hash: bytes
    header: bytes
    signer: str
    signature: bytes
    sth_signature: bytes


@dataclass(frozen=True, slots=True)
class TxRow:
    seq: int
    id: bytes
    height: int
    code: str
    reason: str
    raw: bytes
    detail: str | None


class Store:
    def __init__(self, path: str | Path, checkpoint_interval: float = 0.5,
                 wal_restart_frames: int = WAL_RESTART_FRAMES) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._writer = self._connect()
        self._writer.executescript(SCHEMA)
        # Checkpoints run beside the writer, not inside its commits: an automatic checkpoint
        # would copy the whole WAL into the database while the committer waits.
        self._writer.execute("PRAGMA wal_autocheckpoint=0")
        self._write_lock = threading.Lock()
        self._closing = threading.Event()
        self._checkpointer = threading.Thread(
            target=self._checkpoint_loop, args=(checkpoint_interval, wal_restart_frames), daemon=True,
            name="sqlite-checkpoint")
        self._checkpointer.start()

    def _checkpoint_loop(self, interval: float, restart_frames: int) -> None:
        conn = self._connect()
        try:
            while not self._closing.wait(interval):
                try:
                    self._checkpoint(conn, restart_frames)
                except sqlite3.Error as exc:  # next round may do better; the log is safe
                    log.warning("WAL checkpoint of %s failed: %s", self.path, exc)
        finally:
            conn.close()

    def _checkpoint(self, conn: sqlite3.Connection, restart_frames: int) -> None:
        _, frames, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if frames > restart_frames:
            # Under steady writes a passive checkpoint never finds the log fully copied
            # with no block in between, so SQLite never starts the log over: it grew by
            # ~80 MB/s at 5,000 tx/s, and every page read got slower as the log's index
            # grew. Between two blocks, with the log just copied, a RESTART has little
            # left to do, and the next block writes the log from its start.
            with self._write_lock:
                conn.execute("PRAGMA wal_checkpoint(RESTART)")

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA cache_size=-65536")
        conn.execute("PRAGMA busy_timeout=10000")
        return conn

    @property
    def reader(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    def close(self) -> None:
        if self._closing.is_set():
            return
        self._closing.set()
        self._checkpointer.join()
        with self._write_lock:
            self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._writer.close()
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- meta ----------------------------------------------------------------------------
    def get_meta(self, key: str) -> bytes | None:
        row = self.reader.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else row[0]

    def set_meta(self, key: str, value: bytes) -> None:
        with self._write_lock:
            self._writer.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    # -- reads ---------------------------------------------------------------------------
    def head_height(self) -> int | None:
        return self.reader.execute("SELECT MAX(height) FROM blocks").fetchone()[0]

    def block(self, height: int) -> BlockRow | None:
        row = self.reader.execute(
            "SELECT height, hash, header, signer, signature, sth_signature FROM blocks "
            "WHERE height=?", (height,)).fetchone()
        return None if row is None else BlockRow(*row)

    def blocks(self, start: int, end: int) -> list[BlockRow]:
        rows = self.reader.execute(
            "SELECT height, hash, header, signer, signature, sth_signature FROM blocks "
            "WHERE height BETWEEN ? AND ? ORDER BY height", (start, end)).fetchall()
        return [BlockRow(*r) for r in rows]

    def block_of_seq(self, seq: int) -> BlockRow | None:
        """The block holding log leaf ``seq``."""
        row = self.reader.execute(
            "SELECT height, hash, header, signer, signature, sth_signature FROM blocks "
            "WHERE height = (SELECT height FROM txs WHERE seq=?)", (seq,)).fetchone()
        return None if row is None else BlockRow(*row)

    _TX_COLUMNS = "seq, id, height, code, reason, raw, detail"

    def tx_by_id(self, tx_id: bytes) -> TxRow | None:
        row = self.reader.execute(
            f"SELECT {self._TX_COLUMNS} FROM txs WHERE id=? ORDER BY seq LIMIT 1",
            (tx_id,)).fetchone()
        return None if row is None else TxRow(*row)

    def tx_by_seq(self, seq: int) -> TxRow | None:
        row = self.reader.execute(f"SELECT {self._TX_COLUMNS} FROM txs WHERE seq=?",
                                  (seq,)).fetchone()
        return None if row is None else TxRow(*row)

    def txs_in_range(self, start: int, end: int) -> list[TxRow]:
        rows = self.reader.execute(
            f"SELECT {self._TX_COLUMNS} FROM txs WHERE seq BETWEEN ? AND ? ORDER BY seq",
            (start, end)).fetchall()
        return [TxRow(*r) for r in rows]

    def txs_of_block(self, height: int) -> list[TxRow]:
        rows = self.reader.execute(
            f"SELECT {self._TX_COLUMNS} FROM txs WHERE height=? ORDER BY seq", (height,)).fetchall()
        return [TxRow(*r) for r in rows]

    def tx_count(self) -> int:
        row = self.reader.execute("SELECT MAX(seq) FROM txs").fetchone()
        return 0 if row[0] is None else row[0] + 1

    def known_ids(self, ids: Sequence[bytes]) -> set[bytes]:
        return _known_ids(self.reader, ids)

    def block_cursor(self, height: int) -> int | None:
        """The ordering position stored with block ``height`` (None if none was)."""
        row = self.reader.execute("SELECT cursor FROM block_cursors WHERE height=?",
                                  (height,)).fetchone()
        return None if row is None else int(row[0])

    def log_nodes(self, ids: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        # Point lookups on the primary key: SQLite does not use the key for a row-value
        # IN (VALUES ...) list and would scan the table.
        out: dict[tuple[int, int], bytes] = {}
        cur = self.reader
        for level, idx in ids:
            row = cur.execute("SELECT hash FROM log_nodes WHERE level=? AND idx=?",
                              (level, idx)).fetchone()
            if row is not None:
                out[(level, idx)] = row[0]
        return out

    def state_row(self, key: str) -> tuple[bytes, int] | None:
        row = self.reader.execute("SELECT value, height FROM state WHERE key=?", (key,)).fetchone()
        return None if row is None else (row[0], row[1])

    def state_scan(self, prefix: str, after: str = "", limit: int = 100
                   ) -> list[tuple[str, bytes, int]]:
        rows = self.reader.execute(
            "SELECT key, value, height FROM state WHERE key >= ? AND key > ? ORDER BY key LIMIT ?",
            (prefix, after, limit + 1)).fetchall()
        return [r for r in rows if r[0].startswith(prefix)][:limit]

    @contextmanager
    def read_snapshot(self) -> Iterator[Store]:
        """Reads inside the block see one committed state: a read transaction on this
        thread's connection, so a block committing meanwhile is not half seen."""
        conn = self.reader
        conn.execute("BEGIN")
        try:
            yield self
        finally:
            conn.execute("COMMIT")

    def state_prefix(self, prefix: str) -> Iterator[tuple[str, bytes]]:
        """Every state entry under ``prefix``, in key order."""
        # prefix + U+10FFFF is above every key that starts with prefix
        rows = self.reader.execute("SELECT key, value FROM state WHERE key >= ? AND key < ? "
                                   "ORDER BY key", (prefix, prefix + "\U0010ffff"))
        yield from rows

    def state_items(self, prefix: str) -> list[tuple[str, Any]]:
        """Every state entry under ``prefix``, in key order, as (the key after the
        prefix, the decoded value)."""
        return [(key[len(prefix):], json.loads(value)) for key, value in self.state_prefix(prefix)]

    def all_state(self) -> Iterable[tuple[str, bytes, int]]:
        return self.reader.execute("SELECT key, value, height FROM state ORDER BY key")

    # -- the one write -------------------------------------------------------------------
    @contextmanager
    def block_transaction(self) -> Iterator[BlockWriter]:
        """Hold the write lock and one SQLite transaction for a whole block: the block's
        state reads and its writes share it, and it commits (durably) on exit."""
        with self._write_lock:
            c = self._writer
            c.execute("BEGIN IMMEDIATE")
            try:
                yield BlockWriter(c)
            except BaseException:
                c.execute("ROLLBACK")
                raise
            c.execute("COMMIT")


class BlockWriter:
    """Reads and writes inside one block's transaction (see :meth:`Store.block_transaction`)."""

    __slots__ = ("_c",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._c = conn

    def state(self, key: str) -> bytes | None:
        row = self._c.execute("SELECT value FROM state WHERE key=?", (key,)).fetchone()
        return None if row is None else row[0]

    def known_ids(self, ids: Sequence[bytes]) -> set[bytes]:
        return _known_ids(self._c, ids)

    def set_meta(self, key: str, value: bytes) -> None:
        self._c.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def set_block_cursor(self, height: int, cursor: int) -> None:
        self._c.execute("INSERT INTO block_cursors VALUES (?, ?)", (height, cursor))

    def write(
        self,
        block: BlockRow,
        txs: list[tuple[int, bytes, int, str, str, bytes, str | None]],
        nodes: list[tuple[int, int, bytes]],
        writes: dict[str, bytes | None],
    ) -> None:
        c = self._c
        c.execute("INSERT INTO blocks VALUES (?, ?, ?, ?, ?, ?)", (
            block.height, block.hash, block.header, block.signer, block.signature,
            block.sth_signature))
        c.executemany("INSERT INTO txs VALUES (?, ?, ?, ?, ?, ?, ?)", txs)
        c.executemany("INSERT INTO log_nodes VALUES (?, ?, ?)", nodes)
        puts = [(k, v, block.height) for k, v in writes.items() if v is not None]
        if puts:
            c.executemany("INSERT OR REPLACE INTO state VALUES (?, ?, ?)", puts)
        dels = [(k,) for k, v in writes.items() if v is None]
        if dels:
            c.executemany("DELETE FROM state WHERE key=?", dels)
