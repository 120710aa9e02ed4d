"""The issuer service: sign credentials, anchor them in batches, keep their status.

An issuer is a member holding the ``issuer`` role (a board's registrar, a school's
registrar, a CME provider). It talks to its node through :class:`SalusClient` and keeps
its own SQLite file with

* the status lists it opened on the ledger (one revocation and one suspension list at a
  time, each of at least 131,072 entries);
* which random entry of which list each credential holds, so it can revoke it later;
* every credential it issued (credentials about professionals are not health data).

Nothing but the batch root, its size and its credential types reaches the ledger.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from salus.canonical import jcs, loads_strict
from salus.client import SalusClient, SalusError, TransactionRejected
from salus.clock import iso_from_ms, wall_clock_ms
from salus.credentials import batch as batch_mod
from salus.credentials.anchor_proof import AnchorEvidence, attach
from salus.credentials.context import status_list_url
from salus.credentials.contracts.layout import STATUS_PURPOSES
from salus.credentials.data_integrity import add_proof
from salus.credentials.status_list import MIN_ENTRIES, random_index
from salus.credentials.types import OB3_CONTEXT, TYPES, VC_CONTEXT, SchemaError, check_schema
from salus.ledger.log import leaf_hash, verify_inclusion

SCHEMA = """
CREATE TABLE IF NOT EXISTS lists (
    id TEXT PRIMARY KEY, purpose TEXT NOT NULL, size INTEGER NOT NULL, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    list_id TEXT NOT NULL, idx INTEGER NOT NULL, credential_id TEXT NOT NULL,
    PRIMARY KEY (list_id, idx));
CREATE INDEX IF NOT EXISTS entries_credential ON entries (credential_id);
CREATE TABLE IF NOT EXISTS credentials (
    id TEXT PRIMARY KEY, type TEXT NOT NULL, subject TEXT NOT NULL, root TEXT NOT NULL,
    issued_at INTEGER NOT NULL, document TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS credentials_subject ON credentials (subject);
"""

#: A list is retired once this share of it is taken: random assignment stays cheap and
#: a list always hides each holder among many unused entries.
FILL_LIMIT = 0.5


class IssueError(SalusError):
    """A credential request that cannot be issued; nothing was anchored."""


@dataclass(frozen=True)
class CredentialRequest:
    type: str  # one of salus.credentials.types.TYPES
    subject: dict[str, Any]  # credentialSubject, with the holder's did as "id"
    valid_from: str | None = None  # default: now
    valid_until: str | None = None
    name: str | None = None


class Issuer:
    def __init__(self, client: SalusClient, store: Path | str) -> None:
        if client.identity is None:
            raise IssueError("NO_KEY", "an issuer signs: give the client the issuer's key")
        self.client = client
        self.identity = client.identity
        self.db = sqlite3.connect(store, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)
        self._lock = threading.Lock()
        self._record: dict[str, Any] | None = None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Issuer:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _member(self) -> dict[str, Any]:
        """The issuer's member record, found through its current key."""
        if self._record is None:
            key = self.identity.did
            try:
                record = self.client.member(key)
            except SalusError as exc:
                if exc.code != "NOT_FOUND":
                    raise
                record = None
            if record is None or record.get("org") is None:
                raise IssueError("NOT_A_MEMBER", f"{key} is not the key of an organisation's "
                                                 f"member")
            self._record = record
        return self._record

    @property
    def did(self) -> str:
        """The issuer's did: its member id, which stays the same when its key rotates."""
        return str(self._member()["id"])

    def org(self) -> str:
        return str(self._member()["org"])

    # -- status lists ----------------------------------------------------------------------
    def _current_list(self, purpose: str, wanted: int) -> tuple[str, int, set[int]]:
        """The list of ``purpose`` new credentials go on, with the entries it has taken;
        opens a new one on the ledger when there is none or it is full enough."""
        row = self.db.execute("SELECT id, size, seq FROM lists WHERE purpose=? ORDER BY seq "
                              "DESC LIMIT 1", (purpose,)).fetchone()
        if row is not None:
            taken = {r[0] for r in self.db.execute("SELECT idx FROM entries WHERE list_id=?",
                                                   (row[0],))}
            if len(taken) + wanted <= row[1] * FILL_LIMIT:
                return row[0], row[1], taken
        seq = 1 if row is None else row[2] + 1
        # the issuer's own namespace: two issuers of one organisation never share a list
        tag = hashlib.sha256(self.did.encode()).hexdigest()[:8]
        list_id = f"{self.org()}.{tag}.{purpose}.{seq}"
        try:
            self.client.call("credentials", "create_status_list",
                             {"status_list": list_id, "purpose": purpose, "size": MIN_ENTRIES})
        except TransactionRejected as exc:
            raise IssueError(exc.code, f"the ledger refused a new status list: {exc.reason}") \
                from None
        self.db.execute("INSERT INTO lists VALUES (?, ?, ?, ?)",
                        (list_id, purpose, MIN_ENTRIES, seq))
        return list_id, MIN_ENTRIES, set()

    # -- issuing ---------------------------------------------------------------------------
    def _draft(self, request: CredentialRequest, credential_id: str, now: int,
               entries: list[dict[str, Any]]) -> dict[str, Any]:
        kind = TYPES.get(request.type)
        if kind is None:
            raise IssueError("BAD_REQUEST", f"unknown credential type {request.type!r}; "
                                            f"known: {', '.join(sorted(TYPES))}")
        doc: dict[str, Any] = {
            "@context": [VC_CONTEXT, OB3_CONTEXT] if kind.achievement_type else [VC_CONTEXT],
            "id": credential_id,
            "type": ["VerifiableCredential", request.type],
            "issuer": self.did,
            "validFrom": request.valid_from or iso_from_ms(now),
            "credentialSubject": request.subject,
        }
        if request.valid_until is not None:
            doc["validUntil"] = request.valid_until
        if request.name is not None:
            doc["name"] = request.name
        doc["credentialStatus"] = entries
        try:
            check_schema(doc)
        except SchemaError as exc:
            raise IssueError("BAD_REQUEST", f"{request.type}: {exc}") from None
        return doc

    def issue(self, requests: Sequence[CredentialRequest]) -> list[dict[str, Any]]:
        """Sign every request, anchor them as one batch, return the issued credentials
        (each with its issuer proof and anchor proof), in request order."""
        if not requests:
            raise IssueError("BAD_REQUEST", "nothing to issue")
        with self._lock:
            return self._issue(requests)

    def _issue(self, requests: Sequence[CredentialRequest]) -> list[dict[str, Any]]:
        now = wall_clock_ms()
        chain_id = self.client.chain_id
        lists = {p: self._current_list(p, len(requests)) for p in STATUS_PURPOSES}
        allocations: list[tuple[str, int, str]] = []
        signed = []
        for request in requests:
            entries = []
            credential_id = f"urn:uuid:{uuid.uuid4()}"
            for purpose, (list_id, size, taken) in lists.items():
                index = random_index(size, taken)
                taken.add(index)
                allocations.append((list_id, index, credential_id))
                url = status_list_url(chain_id, list_id)
                entries.append({"id": f"{url}#{index}", "type": "BitstringStatusListEntry",
                                "statusPurpose": purpose, "statusListIndex": str(index),
                                "statusListCredential": url})
            draft = self._draft(request, credential_id, now, entries)
            signed.append(add_proof(draft, self.identity, created=iso_from_ms(now)))

        issued = anchor_batch(self.client, signed, sorted({r.type for r in requests}))
        root = issued[0]["proof"][1]["batchRoot"]
        self.db.execute("BEGIN")
        self.db.executemany("INSERT INTO entries VALUES (?, ?, ?)", allocations)
        self.db.executemany("INSERT INTO credentials VALUES (?, ?, ?, ?, ?, ?)", [
            (c["id"], c["type"][1], c["credentialSubject"]["id"], root, now,
             jcs(c).decode()) for c in issued])
        self.db.execute("COMMIT")
        return issued

    # -- status ----------------------------------------------------------------------------
    def set_status(self, credential_id: str, purpose: str, value: bool, reason: str
                   ) -> dict[str, Any]:
        """Revoke (``revocation``, True), suspend (``suspension``, True) or lift a
        suspension (``suspension``, False) of a credential this issuer issued."""
        rows = self.db.execute(
            "SELECT e.list_id, e.idx FROM entries e JOIN lists l ON l.id = e.list_id "
            "WHERE e.credential_id=? AND l.purpose=?", (credential_id, purpose)).fetchall()
        if not rows:
            raise IssueError("NOT_FOUND", f"this issuer has no {purpose} entry for "
                                          f"{credential_id}")
        list_id, index = rows[0]
        receipt = self.client.call("credentials", "set_status", {
            "status_list": list_id, "changes": [{"index": index, "value": value,
                                                 "reason": reason}]})
        return {"credential": credential_id, "list": list_id, "index": index,
                "purpose": purpose, "value": value, "height": receipt.height}

    def revoke(self, credential_id: str, reason: str) -> dict[str, Any]:
        return self.set_status(credential_id, "revocation", True, reason)

    def suspend(self, credential_id: str, reason: str) -> dict[str, Any]:
        return self.set_status(credential_id, "suspension", True, reason)

    def reinstate(self, credential_id: str, reason: str) -> dict[str, Any]:
        return self.set_status(credential_id, "suspension", False, reason)

    # -- the register ----------------------------------------------------------------------
    def issued(self, subject: str | None = None) -> list[dict[str, Any]]:
        """Credentials this issuer issued (to ``subject``, if given), oldest first."""
        sql = "SELECT document FROM credentials"
        args: tuple[Any, ...] = ()
        if subject is not None:
            sql, args = sql + " WHERE subject=?", (subject,)
        return [loads_strict(r[0]) for r in self.db.execute(sql + " ORDER BY issued_at, id",
                                                            args)]


def anchor_batch(client: SalusClient, signed: Sequence[dict[str, Any]], types: Sequence[str]
                 ) -> list[dict[str, Any]]:
    """Anchor credentials already signed by their issuer as one batch declared to hold
    ``types``; return them with their anchor proofs. The ledger judges the declaration
    (who may issue what); a verifier checks each credential's type is among them."""
    tree = batch_mod.build([batch_mod.credential_leaf(c) for c in signed])
    raw = client.sign("credentials", "anchor",
                      {"root": tree.root.hex(), "size": tree.size, "types": list(types)})
    try:
        receipt = client.submit(raw)
    except TransactionRejected as exc:  # refused at admission: it never reached the log
        raise IssueError(exc.code, f"the ledger refused the batch anchor: {exc.reason}") from None
    if not receipt.valid:
        raise IssueError(receipt.code or "REJECTED",
                         f"the ledger refused the batch anchor: {receipt.reason}")
    evidence = anchor_evidence(client, raw)
    return [attach(c, tree, i, evidence) for i, c in enumerate(signed)]


def anchor_evidence(client: SalusClient, raw: bytes) -> AnchorEvidence:
    """The anchor's inclusion proof under the node's current tree head, checked here so
    that a credential never leaves with a proof that does not verify."""
    head = client.sth()
    leaf = leaf_hash(raw)
    index, path = client.inclusion_proof(leaf, head.tree_size)
    verify_inclusion(index, head.tree_size, leaf, path, head.root_hash)
    return AnchorEvidence(raw, index, path, head)
