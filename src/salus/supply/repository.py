"""One organisation's EPCIS repository: the events it captured, off the ledger.

The ledger holds each event's hash and the minimum state a verifier needs (docs/supply.md,
"Decision"); the events themselves, which say who shipped what to whom, stay here, in a
SQLite file beside the organisation's records vault, and are shown only to whom the
ledger says may see them (the service decides; this module stores and finds).

Rules this module keeps:

1. An event is stored under its CBV 2.0 §8.9 canonical hash (``event_hash``), so the
   same event captured again, however re-serialised, is stored once (EPCIS 2.0 §8.2.2:
   capture is idempotent for us by construction): :meth:`Repository.add` says whether it
   was new.
2. An event is never deleted or changed. An error declaration (EPCIS 2.0 §7.4.1.4) is
   the erroneous event captured again with an ``errorDeclaration``, so it has the
   original's hash: the original stays as it was, marked with the declaration (its
   reason and the ids of the corrective events, which are captured as events of their
   own).
3. Every EPC an event names (``epcList``, ``parentID``, ``childEPCs``, ``inputEPCList``,
   ``outputEPCList``, and the classes of quantity lists) is indexed by its constrained
   canonical Digital Link (CBV 2.0 §8.9 step 17, ``identifiers``), so an item's events
   are found whichever form the capturer wrote.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from salus.canonical import compact_json
from salus.supply.capture_plan import vocabulary
from salus.supply.event_hash import normalise_time
from salus.supply.identifiers import constrained_digital_link, epc_uri_to_digital_link

SCHEMA = """
CREATE TABLE IF NOT EXISTS event (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    hash TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    event_time INTEGER NOT NULL,  -- ms since the epoch, UTC
    biz_step TEXT,
    body BLOB NOT NULL,           -- the event as captured (compact JSON)
    captured INTEGER NOT NULL,    -- ms since the epoch, when this repository took it
    correction TEXT               -- the error declaration (JSON) that says it was wrong
);
CREATE TABLE IF NOT EXISTS event_item (
    hash TEXT NOT NULL,
    item TEXT NOT NULL,           -- constrained canonical Digital Link
    role TEXT NOT NULL,           -- which field named it
    PRIMARY KEY (item, hash, role)
);
CREATE INDEX IF NOT EXISTS event_time_idx ON event (event_time);
CREATE TABLE IF NOT EXISTS capture_job (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    job TEXT NOT NULL             -- the capture job document (JSON), as GET /capture shows it
);
"""
#: Event fields that name items, and quantity lists (which name classes).
ITEM_FIELDS = ("epcList", "parentID", "childEPCs", "inputEPCList", "outputEPCList")
QUANTITY_FIELDS = ("quantityList", "childQuantityList", "inputQuantityList",
                   "outputQuantityList")


def canonical_item(uri: str) -> str | None:
    """An EPC URN or a Digital Link as its constrained canonical Digital Link; None when it
    names no GS1 key (then it is not indexed)."""
    if uri.startswith("urn:epc:"):
        return epc_uri_to_digital_link(uri)
    return constrained_digital_link(uri)


def items_of(event: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(canonical item, field) for every item or class the event names."""
    for field in ITEM_FIELDS:
        value = event.get(field)
        for uri in value if isinstance(value, list) else [value] if value else []:
            if isinstance(uri, str) and (item := canonical_item(uri)):
                yield item, field
    for field in QUANTITY_FIELDS:
        for entry in event.get(field) or []:
            uri = entry.get("epcClass") if isinstance(entry, Mapping) else None
            if isinstance(uri, str) and (item := canonical_item(uri)):
                yield item, field


def event_time_ms(event: Mapping[str, Any]) -> int:
    """The event's time as ms since the epoch (normalised as the hash normalises it)."""
    text = normalise_time(str(event["eventTime"]))
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


@dataclass(frozen=True)
class EventRow:
    """One event as the repository stores it: a pure function of the event and its hash
    (:func:`event_rows`), so it can be made off the node's busy threads."""

    hash: str
    type: str
    event_time: int
    biz_step: str | None
    body: bytes
    items: list[tuple[str, str]]
    correction: bytes | None


def event_rows(events: Iterable[tuple[str, Mapping[str, Any]]]) -> list[EventRow]:
    out = []
    for digest, event in events:
        declaration = event.get("errorDeclaration")
        out.append(EventRow(
            digest, str(event.get("type")), event_time_ms(event),
            vocabulary("bizStep", event.get("bizStep")), compact_json(dict(event)),
            list(items_of(event)),
            compact_json(dict(declaration)) if isinstance(declaration, Mapping) else None))
    return out


@dataclass(frozen=True)
class Stored:
    seq: int
    hash: str
    event: dict[str, Any]
    captured: int
    correction: dict[str, Any] | None


class Repository:
    """The events one organisation captured (a SQLite file)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def add(self, events: Iterable[tuple[str, Mapping[str, Any]]], captured: int) -> list[bool]:
        """Store ``(hash, event)`` pairs in one transaction; for each, whether it was new
        (rule 1). An error declaration marks the event it names as corrected (rule 2)."""
        return self.add_rows(event_rows(events), captured)

    def add_rows(self, rows: Iterable[EventRow], captured: int,
                 job: Mapping[str, Any] | None = None) -> list[bool]:
        """:meth:`add`, of rows :func:`event_rows` made (perhaps in another process), and
        the capture ``job`` that took them, in one SQLite transaction (one fsync)."""
        fresh = []
        with self._transaction():
            if job is not None:
                self._add_job(job)
            for row in rows:
                cursor = self._db.execute(
                    "INSERT OR IGNORE INTO event (hash, type, event_time, biz_step, body, "
                    "captured) VALUES (?, ?, ?, ?, ?, ?)",
                    (row.hash, row.type, row.event_time, row.biz_step, row.body, captured))
                fresh.append(cursor.rowcount == 1)
                if cursor.rowcount == 1:
                    self._db.executemany(
                        "INSERT OR IGNORE INTO event_item (hash, item, role) VALUES (?, ?, ?)",
                        [(row.hash, item, role) for item, role in row.items])
                if row.correction is not None:
                    self._declare_error(row.hash, row.correction)
        return fresh

    def _declare_error(self, digest: str, declaration: bytes) -> None:
        # An error declaration is the erroneous event captured again with an
        # errorDeclaration (EPCIS 2.0 §7.4.1.4), and the hash leaves that field out: it
        # has the original's hash, so the original row is the one marked. The first
        # declaration stands; the event itself is kept as it was.
        self._db.execute("UPDATE event SET correction = ? WHERE hash = ? AND correction IS NULL",
                         (declaration, digest))

    def get(self, digest: str) -> Stored | None:
        row = self._read("SELECT seq, hash, body, captured, correction FROM event "
                         "WHERE hash = ?", (digest,), one=True)
        return _stored(row) if row else None

    def events_of(self, item: str, limit: int = 1000) -> list[Stored]:
        """Every event naming ``item`` (any form), oldest event time first."""
        canonical = canonical_item(item) or item
        rows = self._read(
            "SELECT DISTINCT e.seq, e.hash, e.body, e.captured, e.correction FROM event e "
            "JOIN event_item i ON i.hash = e.hash WHERE i.item = ? "
            "ORDER BY e.event_time, e.seq LIMIT ?", (canonical, limit))
        return [_stored(r) for r in rows]

    def query(self, *, event_types: Iterable[str] = (), biz_steps: Iterable[str] = (),
              from_ms: int | None = None, until_ms: int | None = None, after_seq: int = 0,
              limit: int = 100) -> list[Stored]:
        """Events by type, business step and event time (``from_ms`` inclusive,
        ``until_ms`` exclusive: EPCIS 2.0 §8.2.7 GE_eventTime / LT_eventTime), in capture
        order after ``after_seq`` (the page cursor)."""
        where, args = ["seq > ?"], [after_seq]
        steps = [vocabulary("bizStep", s) for s in biz_steps]
        for column, values in (("type", list(event_types)), ("biz_step", steps)):
            if values:
                where.append(f"{column} IN ({','.join('?' * len(values))})")
                args.extend(values)
        if from_ms is not None:
            where.append("event_time >= ?")
            args.append(from_ms)
        if until_ms is not None:
            where.append("event_time < ?")
            args.append(until_ms)
        rows = self._read(
            "SELECT seq, hash, body, captured, correction FROM event WHERE "
            + " AND ".join(where) + " ORDER BY seq LIMIT ?", (*args, limit))
        return [_stored(r) for r in rows]

    # -- capture jobs (EPCIS 2.0 REST binding, /capture/{captureID}) -------------------------
    def add_job(self, job: Mapping[str, Any]) -> None:
        with self._transaction():
            self._add_job(job)

    def _add_job(self, job: Mapping[str, Any]) -> None:
        self._db.execute("INSERT INTO capture_job (id, job) VALUES (?, ?)",
                         (job["captureID"], compact_json(dict(job))))

    def job(self, capture_id: str) -> dict[str, Any] | None:
        row = self._read("SELECT job FROM capture_job WHERE id = ?", (capture_id,), one=True)
        return json.loads(row[0]) if row else None

    def jobs(self, after_seq: int = 0, limit: int = 100) -> list[tuple[int, dict[str, Any]]]:
        rows = self._read("SELECT seq, job FROM capture_job WHERE seq > ? ORDER BY seq LIMIT ?",
                          (after_seq, limit))
        return [(seq, json.loads(job)) for seq, job in rows]

    def _read(self, sql: str, args: tuple[Any, ...], one: bool = False) -> Any:
        with self._lock:  # never inside another thread's open write
            cursor = self._db.execute(sql, args)
            return cursor.fetchone() if one else cursor.fetchall()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        # writes may come from a thread (capture writes off the event loop): one at a time
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")


def _stored(row: tuple[Any, ...]) -> Stored:
    seq, digest, body, captured, correction = row
    return Stored(seq, digest, json.loads(body), captured,
                  json.loads(correction) if correction else None)
