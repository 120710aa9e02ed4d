"""A custodian's vault: encrypted documents, content-addressed, with per-reader keys.

Only ciphertext and wrapped keys are ever written; plaintext exists in memory while a
document is being stored or served. Ciphertext is addressed by its SHA-256, which is
also the content hash the records contract puts on the ledger, so anything altered at
rest is caught before it is served (:class:`TamperedContent`).

Erasure (crypto-shredding) deletes a record's ciphertext and every wrapped key. SQLite's
``secure_delete`` overwrites freed pages with zeros, and the write-ahead log is
truncated afterwards, so the bytes are gone from the files, not merely unlinked.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from salus.records import sealing

_SCHEMA = """
CREATE TABLE IF NOT EXISTS blobs (
    hash TEXT PRIMARY KEY,          -- sha256(body), hex: the ledger's content hash
    body BLOB NOT NULL              -- nonce || AES-256-GCM ciphertext
);
CREATE TABLE IF NOT EXISTS documents (
    record TEXT NOT NULL,
    version INTEGER NOT NULL,
    hash TEXT NOT NULL,
    patient TEXT NOT NULL,          -- the patient's did (pseudonymous)
    type TEXT NOT NULL,             -- FHIR resource type
    PRIMARY KEY (record, version)
);
CREATE INDEX IF NOT EXISTS documents_by_patient ON documents (patient, type);
CREATE TABLE IF NOT EXISTS wrapped_keys (
    record TEXT NOT NULL,
    version INTEGER NOT NULL,
    recipient TEXT NOT NULL,        -- member id the key is sealed to
    wrapped BLOB NOT NULL,
    PRIMARY KEY (record, version, recipient)
);
CREATE INDEX IF NOT EXISTS wrapped_keys_by_recipient ON wrapped_keys (recipient);
CREATE TABLE IF NOT EXISTS patient_links (
    source TEXT PRIMARY KEY,        -- keyed hash of the sending system's patient reference
    patient TEXT NOT NULL           -- the patient's did
);
"""


class VaultError(Exception):
    """Base of vault failures."""


class TamperedContent(VaultError):
    """Stored ciphertext no longer matches its content hash."""


@dataclass(frozen=True, slots=True)
class Document:
    record: str
    version: int
    hash: str
    patient: str
    type: str


def content_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


class Vault:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA secure_delete=ON")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- writing -------------------------------------------------------------------------
    def seal(self, record: str, version: int, patient: str, resource_type: str, plaintext: bytes,
             recipients: dict[str, str]) -> Document:
        """Encrypt a document under a fresh key wrapped to each recipient
        (member id -> X25519 did:key), store it, and return where it is."""
        if not recipients:
            raise VaultError("a document needs at least one recipient")
        key = sealing.new_document_key()
        body = sealing.encrypt(key, plaintext, record, version)
        doc = Document(record, version, content_hash(body), patient, resource_type)
        wrapped = [(record, version, member, sealing.wrap(key, enc)) for member, enc in
                   sorted(recipients.items())]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("INSERT INTO blobs VALUES (?, ?)", (doc.hash, body))
                self._db.execute("INSERT INTO documents VALUES (?, ?, ?, ?, ?)",
                                 (record, version, doc.hash, patient, resource_type))
                self._db.executemany("INSERT INTO wrapped_keys VALUES (?, ?, ?, ?)", wrapped)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return doc

    def forget(self, record: str, version: int) -> None:
        """Drop a document that never made it onto the ledger (its registration failed)."""
        self.erase([record], versions={record: version})

    def add_wrapped_key(self, record: str, version: int, recipient: str, wrapped: bytes) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO wrapped_keys VALUES (?, ?, ?, ?)",
                             (record, version, recipient, wrapped))

    def drop_recipient(self, recipient: str, records: Iterable[str] | None = None) -> int:
        """Delete the keys wrapped to ``recipient`` (all, or for some records)."""
        with self._lock:
            if records is None:
                cur = self._db.execute("DELETE FROM wrapped_keys WHERE recipient = ?", (recipient,))
            else:
                cur = self._db.executemany(
                    "DELETE FROM wrapped_keys WHERE recipient = ? AND record = ?",
                    [(recipient, r) for r in records])
            return cur.rowcount

    def erase(self, records: Sequence[str], versions: dict[str, int] | None = None) -> int:
        """Crypto-shred: remove ciphertext and every wrapped key of ``records``."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                hashes: list[str] = []
                for record in records:
                    where, args = "record = ?", [record]
                    if versions and record in versions:
                        where, args = "record = ? AND version = ?", [record, versions[record]]
                    hashes += [h for (h,) in self._db.execute(
                        f"SELECT hash FROM documents WHERE {where}", args)]
                    self._db.execute(f"DELETE FROM wrapped_keys WHERE {where}", args)
                    self._db.execute(f"DELETE FROM documents WHERE {where}", args)
                self._db.executemany("DELETE FROM blobs WHERE hash = ?", [(h,) for h in hashes])
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            # The WAL still holds the old pages until it is checkpointed and truncated.
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return len(hashes)

    def link_patient(self, source: str, patient: str) -> str:
        """Link the sending system's (hashed) patient reference to a patient did, or
        return the did it is already linked to."""
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO patient_links VALUES (?, ?)", (source, patient))
            (linked,) = self._db.execute("SELECT patient FROM patient_links WHERE source = ?",
                                         (source,)).fetchone()
        return linked

    def unlink_patient(self, patient: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM patient_links WHERE patient = ?", (patient,))

    # -- reading -------------------------------------------------------------------------
    def document(self, record: str, version: int | None = None) -> Document | None:
        with self._lock:
            if version is None:
                row = self._db.execute(
                    "SELECT * FROM documents WHERE record = ? ORDER BY version DESC LIMIT 1",
                    (record,)).fetchone()
            else:
                row = self._db.execute("SELECT * FROM documents WHERE record = ? AND version = ?",
                                       (record, version)).fetchone()
        return None if row is None else Document(*row)

    def documents_of(self, patient: str, resource_type: str | None = None) -> list[Document]:
        """The latest version of each of a patient's documents held here."""
        sql = ("SELECT d.* FROM documents d WHERE d.patient = ? AND d.version = "
               "(SELECT MAX(version) FROM documents WHERE record = d.record)")
        args: list[str] = [patient]
        if resource_type is not None:
            sql += " AND d.type = ?"
            args.append(resource_type)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY d.record", args).fetchall()
        return [Document(*r) for r in rows]

    def ciphertext(self, doc: Document) -> bytes:
        """The stored ciphertext, checked against its content hash before it is served."""
        with self._lock:
            row = self._db.execute("SELECT body FROM blobs WHERE hash = ?", (doc.hash,)).fetchone()
        if row is None:
            raise VaultError(f"ciphertext of {doc.record} v{doc.version} is missing")
        body = bytes(row[0])
        if content_hash(body) != doc.hash:
            raise TamperedContent(
                f"stored ciphertext of {doc.record} v{doc.version} does not match its content hash")
        return body

    def wrapped_key(self, doc: Document, recipient: str) -> bytes | None:
        with self._lock:
            row = self._db.execute(
                "SELECT wrapped FROM wrapped_keys WHERE record = ? AND version = ? AND recipient = ?",
                (doc.record, doc.version, recipient)).fetchone()
        return None if row is None else bytes(row[0])

    def recipients(self, doc: Document) -> list[str]:
        with self._lock:
            return [r for (r,) in self._db.execute(
                "SELECT recipient FROM wrapped_keys WHERE record = ? AND version = ? ORDER BY 1",
                (doc.record, doc.version))]
