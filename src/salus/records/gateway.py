"""The record gateway (MedRec's "database gatekeeper").

A request to read a record names a requester, a record and a purpose of use. The
gateway decides with :func:`salus.records.policy.decide` against the ledger's committed
state at the current height, writes the decision (granted or refused) to the ledger as
an access-log entry, and only once that entry is with the orderer does it release
anything: the ciphertext with the requester's wrapped key, or (for the FHIR facade) the
decrypted resource. No audit, no data.

Ingest is asked for by a member, never by the gateway alone: the caller signs a
``records.ingest`` request over what they send (:mod:`salus.records.ingest_request`), the
gateway checks it before doing any work, and every registration carries it to the
contract, which checks it again (``records.RegisterRule``).

Entries are batched: while one access-log transaction is being handed to the orderer,
the next accesses queue and go out together in the following one.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import logging
import math
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from salus.clock import wall_clock_ms
from salus.ledger import transaction
from salus.ledger.codes import Rejected
from salus.ledger.members import has_role, key_valid_at, member_key, member_of_key
from salus.ledger.transaction import DEFAULT_MAX_TX_BYTES
from salus.node.node import Node, NodeUnavailable
from salus.node.rate_limits import Buckets, RateLimits
from salus.node.receipt import Receipt
from salus.records import fhir_ingest, sealing
from salus.records.contracts.access import MAX_ENTRIES, UNKNOWN_PURPOSE
from salus.records.contracts.layout import (
    AUTHOR_ROLES,
    PURPOSES,
    RECORD_ID,
    patient_records_prefix,
    record_key,
)
from salus.records.contracts.request import decode_request
from salus.records.custodian import Custodian
from salus.records.ingest_request import (
    MAX_SALT_BYTES,
    MIN_SALT_BYTES,
    REQUEST_HEADER,
    SALT_HEADER,
    body_digest,
)
from salus.records.policy import NOT_RELEASED, AccessCode, Decision, covering_grants, decide
from salus.records.replay import ReplayGuard
from salus.records.vault import Document, TamperedContent, VaultError

log = logging.getLogger("salus.records")

READ_REQUEST = ("access", "read")  # (contract, method) a signed read request names
#: How far a read request's signing time may be from the gateway's clock. Short, since a
#: request is made to be sent at once, and every id seen within it is remembered.
READ_REQUEST_WINDOW_MS = 2 * 60 * 1000
#: Codes of a record the ledger registered but this custodian's vault cannot produce as
#: registered (missing, a different version or hash, altered bytes): the record is
#: withheld, and everything else is still served.
VAULT_CODES = frozenset({"VAULT_INCONSISTENT", "TAMPERED"})


def _base64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise GatewayError(400, "BAD_REQUEST", f"{what} must be standard base64") from None


class GatewayError(Exception):
    """A request the gateway will not serve: HTTP status, stable code, reason."""

    def __init__(self, status: int, code: str, reason: str,
                 retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.code = code
        self.reason = reason
        self.retry_after = retry_after  # seconds, for a 429


class AccessRefused(GatewayError):
    def __init__(self, decision: Decision) -> None:
        status = {AccessCode.UNKNOWN_RECORD: 404, AccessCode.RECORD_ERASED: 404,
                  AccessCode.BAD_REQUEST_SIGNATURE: 401,
                  AccessCode.NO_ENCRYPTION_KEY: 409}.get(decision.code, 403)
        super().__init__(status, decision.code, decision.reason)
        self.decision = decision


@dataclass(frozen=True, slots=True)
class Requester:
    did: str | None  # None when the request's signature did not verify
    member: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class SignedIngest:
    """A checked ingest request: the base64 every registration carries, and its author."""

    text: str
    author: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Release:
    """A granted access: what may now be handed to the requester."""

    custodian: Custodian
    record: dict[str, Any]
    document: Document
    decision: Decision


NO_KEY_REASON = ("you have no encryption key on the ledger to wrap the document key to; set "
                 "one with membership.set_encryption_key")

#: Room left in an ``access.log`` transaction for everything around its entries (the
#: signature and the envelope's other fields, well under 1 KB).
ENVELOPE_ROOM = 2048

_Queued = tuple[dict[str, Any], "asyncio.Future[None]"]


#: An entry's bytes in canonical JSON besides its string values: the ten keys, quotes,
#: separators, two integers of up to 16 digits, and ``null`` for absent values.
_ENTRY_FRAME = 200


def _entry_bytes(entry: dict[str, Any]) -> int:
    """An upper bound of an entry's size in the transaction's canonical JSON (its string
    values are ids, dids, hashes and codes: ASCII, nothing to escape). Counted per read,
    so counted rather than serialised (about a quarter of the cost)."""
    return _ENTRY_FRAME + sum(len(v) for v in entry.values() if type(v) is str)


class AuditTrail:
    """Batches a custodian's access entries into ``access.log`` transactions, each as
    many entries as fit the contract's count and the chain's transaction size (a backlog
    of long entries once made a batch the node refused as ``TOO_LARGE``)."""

    def __init__(self, custodian: Custodian, clock: Callable[[], int],
                 max_tx_bytes: int = DEFAULT_MAX_TX_BYTES) -> None:
        self.custodian = custodian
        self.clock = clock
        self.budget = max_tx_bytes - ENVELOPE_ROOM
        self._queue: asyncio.Queue[_Queued] = asyncio.Queue()
        self._carry: _Queued | None = None  # taken from the queue, did not fit the last batch
        self._task: asyncio.Task[None] | None = None
        self._sending = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"audit-{self.custodian.org}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @property
    def pending(self) -> int:
        """Entries waiting to be handed to the orderer."""
        return self._queue.qsize() + self._sending + (self._carry is not None)

    async def record(self, entry: dict[str, Any]) -> None:
        """Return once the entry is with the orderer; raise if it cannot be."""
        fut = asyncio.get_running_loop().create_future()
        await self._queue.put((entry, fut))
        await fut

    async def _batch(self) -> list[_Queued]:
        first, self._carry = self._carry or await self._queue.get(), None
        batch, size = [first], _entry_bytes(first[0])
        while len(batch) < MAX_ENTRIES and not self._queue.empty():
            item = self._queue.get_nowait()
            size += _entry_bytes(item[0])
            if size > self.budget:
                self._carry = item
                break
            batch.append(item)
        return batch

    async def _run(self) -> None:
        while True:
            batch = await self._batch()
            self._sending = len(batch)
            try:
                result = await self.custodian.writer.send(
                    "access", "log", {"entries": [e for e, _ in batch]}, self.clock(),
                    want_commit=False)
                error = None
                if isinstance(result, Receipt) and result.status == "refused":
                    error = GatewayError(503, "AUDIT_UNAVAILABLE",
                                         f"the access could not be audited ({result.code}: "
                                         f"{result.reason}); nothing was released")
            except NodeUnavailable as exc:
                error = GatewayError(503, "AUDIT_UNAVAILABLE",
                                     f"the access could not be audited ({exc.code}); "
                                     "nothing was released")
            self._sending = 0
            for _, fut in batch:
                if not fut.done():
                    if error is None:
                        fut.set_result(None)
                    else:
                        fut.set_exception(error)


class Gateway:
    def __init__(self, node: Node, custodians: dict[str, Custodian], *,
                 replay_file: str | Path, clock: Callable[[], int] = wall_clock_ms,
                 rate_limits: RateLimits | None = None) -> None:
        """``replay_file``: where the gateway remembers the signed requests it served
        (a restarted gateway must still refuse them): ``DataDir.replay_file``.
        ``rate_limits``: the node's budgets, of which the gateway keeps
        ``refused_reads``, how many refused reads a member may cause, at once and then a
        second. Past it, the gateway answers 429 without deciding, so without writing to
        anyone's access log."""
        self.node = node
        limits = rate_limits or RateLimits()
        self.refusals = (Buckets(limits.refused_reads, limits.table_size)
                         if limits.refused_reads.limited else None)
        self.ledger = node.ledger
        self.custodians = custodians
        self.clock = clock
        self.trails = {org: AuditTrail(c, clock, self.ledger.executor.max_tx_bytes)
                       for org, c in custodians.items()}
        # A read's id goes to disk in the background, within about a millisecond (before its
        # audit entry is in a block); awaiting it cost ~4% of a read. Ingests wait for it.
        self._requests = ReplayGuard(replay_file, "read_requests", READ_REQUEST_WINDOW_MS)
        self._ingests = ReplayGuard(replay_file, "ingest_requests", READ_REQUEST_WINDOW_MS)
        self._follower: asyncio.Task[None] | None = None

    def get(self, key: str) -> Any:
        return self.ledger.state_value(key)

    @property
    def settled(self) -> bool:
        """No access entry is waiting or uncommitted (every access so far is on the ledger)."""
        return self.node.pending == 0 and all(t.pending == 0 for t in self.trails.values())

    # -- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        for trail in self.trails.values():
            trail.start()
        self._follower = asyncio.create_task(self._follow(), name="records-follower")

    async def stop(self) -> None:
        for trail in self.trails.values():
            await trail.stop()
        if self._follower is not None:
            self._follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follower
        for custodian in self.custodians.values():
            custodian.close()
        self._requests.close()
        self._ingests.close()

    def custodian(self, org: str) -> Custodian:
        found = self.custodians.get(org)
        if found is None:
            raise GatewayError(404, "UNKNOWN_CUSTODIAN",
                               f"this node does not hold a vault for {org!r} "
                               f"(it holds: {', '.join(sorted(self.custodians)) or 'none'})")
        return found

    @staticmethod
    async def _remembered(guard: ReplayGuard) -> None:
        """Wait until the requests ``guard`` accepted so far are on disk: a request served
        before the node stops must still be refused after it starts again."""
        try:
            await guard.written()
        except sqlite3.Error as exc:
            raise GatewayError(503, "REPLAY_MEMORY_UNAVAILABLE",
                               f"the node could not record the request as served ({exc}); "
                               "nothing was released") from None

    # -- who is asking -------------------------------------------------------------------
    def requester(self, did: str) -> Requester:
        """The member behind a key, if the key is active now."""
        member = member_of_key(self.get, did)
        if member is None or not key_valid_at(member, did, self.ledger.height):
            return Requester(did, None)
        return Requester(did, member)

    def signed_request(self, raw: bytes) -> tuple[Requester, str, str, str, str]:
        """Check a signed read request (a transaction envelope for ``access.read`` that
        is never submitted). Returns (requester, custodian, record, purpose, request hash).
        A bad signature still yields a request to audit, with no requester."""
        try:
            tx = self.ledger.executor.decode(raw)
        except Rejected as exc:
            raise GatewayError(400, "BAD_REQUEST", f"not a signed request: {exc.reason}") from None
        if (tx.contract, tx.method) != READ_REQUEST:
            raise GatewayError(400, "BAD_REQUEST", "a read request must be signed for access.read")
        if tx.chain != self.ledger.chain_id:
            raise GatewayError(400, "WRONG_CHAIN", f"the request was signed for chain {tx.chain!r}")
        args = tx.args
        if set(args) != {"custodian", "record", "purpose"} or not all(
                isinstance(v, str) for v in args.values()):
            raise GatewayError(400, "BAD_REQUEST", "a read request's args are custodian, record, purpose")
        now = self.clock()
        if abs(now - tx.time) > READ_REQUEST_WINDOW_MS:
            raise GatewayError(400, "STALE", f"the request's time is more than "
                                             f"{READ_REQUEST_WINDOW_MS} ms from now")
        request = tx.id_hex
        if not self._requests.fresh(request, tx.time, now):
            raise GatewayError(409, "REPLAYED_REQUEST", "this exact request was already served")
        who = self.requester(tx.signer) if transaction.signature_ok(tx) else Requester(None, None)
        return who, args["custodian"], args["record"], args["purpose"], request

    # -- reading -------------------------------------------------------------------------
    async def read(self, who: Requester, custodian_org: str, record_id: str, purpose: str,
                   request: str, *, sealed: bool = False) -> Release:
        """Decide, audit, then release (or raise :class:`AccessRefused`). ``sealed``: the
        release will be :meth:`sealed` for the reader, who then needs a key to wrap the
        document key to; an allowed read they have none for is audited as
        ``NO_ENCRYPTION_KEY`` (allowed, nothing released), not as granted.

        A request nobody can be tied to (its signature does not verify, or its key is no
        member's) is refused before any decision and audited nowhere: an entry naming no
        reader would let anyone write to a patient's access log."""
        custodian = self.custodian(custodian_org)
        if who.did is None:
            raise AccessRefused(Decision(AccessCode.BAD_REQUEST_SIGNATURE,
                                         "the request's signature does not verify"))
        if who.member is None:
            raise AccessRefused(Decision(AccessCode.NOT_A_MEMBER,
                                         "the requester is not a member of this ledger"))
        member_id = who.member["id"]
        if self.refusals is not None and (wait := self.refusals.wait(member_id)):
            # Not decided, so not audited: the refusals that spent the budget are.
            raise GatewayError(429, "RATE_LIMITED",
                               f"too many refused reads by this member; try again in "
                               f"{math.ceil(wait)} s", retry_after=wait)
        height, now = self.ledger.height, self.clock()
        well_formed = RECORD_ID.match(record_id) is not None
        record = self.get(record_key(record_id)) if well_formed else None
        if record is not None and record["custodian"] != custodian.org:
            decision = Decision(AccessCode.WRONG_CUSTODIAN,
                                f"record {record_id} is held by {record['custodian']}")
            record = None  # a gateway logs only its own custodian's records
        else:
            decision = decide(self.get, who.member, record, purpose, height, now)
            if decision.allowed and sealed and not self._can_wrap_to(custodian, record, who):
                decision = Decision(AccessCode.NO_ENCRYPTION_KEY, NO_KEY_REASON)
        await self.trails[custodian.org].record({
            "record": record["id"] if record else None,
            "patient": record["patient"] if record else None,
            "requester": who.did, "requester_org": who.member["org"],
            "purpose": purpose if purpose in PURPOSES else UNKNOWN_PURPOSE,
            "code": decision.code.value, "basis": decision.basis,
            "request": request, "at": now, "height": height,
        })
        if not decision.allowed:
            if self.refusals is not None and decision.code not in NOT_RELEASED:
                self.refusals.charge(member_id)
            raise AccessRefused(decision)
        assert record is not None
        document = custodian.vault.document(record_id, record["version"])
        if document is None or document.hash != record["hash"]:
            raise GatewayError(500, "VAULT_INCONSISTENT",
                               f"the vault of {custodian.org} does not hold version "
                               f"{record['version']} of {record_id} as registered")
        return Release(custodian, record, document, decision)

    def sealed(self, release: Release, who: Requester) -> dict[str, Any]:
        """Ciphertext plus the document key wrapped to the requester (made now from the
        custodian's copy if the requester has none yet)."""
        vault, doc = release.custodian.vault, release.document
        assert who.member is not None
        body = self._ciphertext(release)
        wrapped = vault.wrapped_key(doc, who.member["id"])
        if wrapped is None:
            encryption_key = who.member.get("encryption_key")
            if encryption_key is None:  # read(sealed=True) refused this already
                raise GatewayError(409, "NO_ENCRYPTION_KEY", NO_KEY_REASON)
            key = self._custodian_key(release)
            wrapped = sealing.wrap(key, encryption_key)
            vault.add_wrapped_key(doc.record, doc.version, who.member["id"], wrapped)
        return {"record": doc.record, "version": doc.version, "type": doc.type,
                "custodian": release.custodian.org, "content_hash": doc.hash,
                "ciphertext": body, "wrapped_key": wrapped,
                "access": {"code": release.decision.code.value, "basis": release.decision.basis}}

    @staticmethod
    def _can_wrap_to(custodian: Custodian, record: dict[str, Any], who: Requester) -> bool:
        """Can the document key of ``record`` reach the reader: a key of theirs on the
        ledger, or one wrapped to them before?"""
        assert who.member is not None
        if who.member.get("encryption_key"):
            return True
        document = custodian.vault.document(record["id"], record["version"])
        return document is not None and \
            custodian.vault.wrapped_key(document, who.member["id"]) is not None

    @staticmethod
    def _ciphertext(release: Release) -> bytes:
        try:
            return release.custodian.vault.ciphertext(release.document)
        except TamperedContent as exc:
            raise GatewayError(500, "TAMPERED", str(exc)) from None
        except VaultError as exc:  # the document row is there, its ciphertext is not
            raise GatewayError(500, "VAULT_INCONSISTENT", str(exc)) from None

    def _custodian_key(self, release: Release) -> bytes:
        vault, doc = release.custodian.vault, release.document
        own = vault.wrapped_key(doc, release.custodian.member_id)
        if own is None:
            raise GatewayError(500, "VAULT_INCONSISTENT", f"no custodian key for {doc.record}")
        try:
            return sealing.unwrap(own, release.custodian.key.encryption_key)
        except sealing.SealingError as exc:
            raise GatewayError(500, "VAULT_INCONSISTENT",
                               f"the custodian's key for {doc.record} does not open: {exc}") from None

    def plaintext(self, release: Release) -> dict[str, Any]:
        """The decrypted resource (for the FHIR facade), after the hash check."""
        body = self._ciphertext(release)
        doc = release.document
        try:
            return json.loads(sealing.decrypt(self._custodian_key(release), body, doc.record,
                                              doc.version))
        except (sealing.SealingError, ValueError) as exc:
            raise GatewayError(500, "TAMPERED", f"{doc.record} v{doc.version} does not open "
                                                f"as a FHIR resource: {exc}") from None

    # -- the record index ----------------------------------------------------------------
    def patient_records(self, patient: str) -> list[dict[str, Any]]:
        """Every record of a patient on the ledger, at every custodian (erased ones too)."""
        rows = self.ledger.store.state_scan(patient_records_prefix(patient), "", 100_000)
        return [self.get(record_key(key.rsplit("/", 1)[1])) for key, _value, _height in rows]

    def index(self, patient: str) -> list[dict[str, Any]]:
        """The patient's record index (who may see it: ``records/routes.py: READ_INDEX``)."""
        return [{k: record.get(k) for k in ("id", "custodian", "type", "version", "hash",
                                            "amends", "author", "status", "height", "time")}
                for record in self.patient_records(patient)]

    # -- ingest ----------------------------------------------------------------------------
    def ingest_request(self, caller: str, custodian: str, patient: str, body: bytes,
                       request: str | None, salt: str | None = None) -> SignedIngest:
        """Check the caller's signed ``records.ingest`` request for this call (see
        :mod:`salus.records.ingest_request`): well formed, for this chain, signed by the
        caller's own active key, whose member holds a clinical role in ``custodian``,
        naming this custodian, patient and body, signed within the request window, and
        not seen before. Raises :class:`GatewayError`; does nothing else."""
        if not request:
            raise GatewayError(400, "MISSING_REQUEST",
                               f"an ingest needs your signed records.ingest request in the "
                               f"{REQUEST_HEADER} header (see docs/api.md)")
        raw = _base64(request, REQUEST_HEADER)
        salt_bytes = b"" if salt is None else _base64(salt, SALT_HEADER)
        if salt is not None and not MIN_SALT_BYTES <= len(salt_bytes) <= MAX_SALT_BYTES:
            raise GatewayError(400, "BAD_REQUEST", f"{SALT_HEADER} must be {MIN_SALT_BYTES} "
                                                   f"to {MAX_SALT_BYTES} bytes")
        try:
            tx = decode_request(raw)
        except Rejected as exc:
            raise GatewayError(400, "BAD_REQUEST", exc.reason) from None
        if tx.chain != self.ledger.chain_id:
            raise GatewayError(400, "WRONG_CHAIN", f"the request was signed for chain {tx.chain!r}")
        if not transaction.signature_ok(tx):
            raise GatewayError(401, "BAD_REQUEST_SIGNATURE", "the request's signature does not "
                                                             "verify under the key it names")
        if tx.signer != caller:
            raise GatewayError(403, "FORBIDDEN", "the request is signed by another key than "
                                                 "the one you authenticated with")
        who = self.requester(tx.signer)
        if who.member is None:
            raise GatewayError(403, "NOT_A_MEMBER", "the request's key is not an active "
                                                    "member key")
        height = self.ledger.height
        if not any(has_role(self.get, who.member, r, custodian, height) for r in AUTHOR_ROLES):
            raise GatewayError(403, "FORBIDDEN", f"only clinical staff of {custodian} may ask "
                                                 "it to ingest records")
        args = tx.args
        for name, want in (("custodian", custodian), ("patient", patient),
                           ("body", body_digest(body, salt_bytes))):
            if args[name] != want:
                raise GatewayError(403, "REQUEST_MISMATCH",
                                   f"the request names another {name} than this call's")
        now = self.clock()
        if abs(now - tx.time) > READ_REQUEST_WINDOW_MS:
            raise GatewayError(400, "STALE", f"the request's time is more than "
                                             f"{READ_REQUEST_WINDOW_MS} ms from now")
        if not self._ingests.fresh(tx.id_hex, tx.time, now):
            raise GatewayError(409, "REPLAYED_REQUEST", "this exact request was already used")
        return SignedIngest(base64.b64encode(raw).decode(), who.member)

    async def ingest(self, custodian_org: str, caller: str, patient: str, body: bytes,
                     request: str | None, salt: str | None = None) -> list[dict[str, Any]]:
        """Check the caller's signed request (:meth:`ingest_request`), then validate FHIR,
        seal each resource in the vault, and register it on the ledger."""
        custodian = self.custodian(custodian_org)
        signed = self.ingest_request(caller, custodian.org, patient, body, request, salt)
        await self._remembered(self._ingests)
        items = fhir_ingest.parse(body)
        patient_member = self._patient(patient)
        source = fhir_ingest.patient_reference(items)
        if source is not None:
            linked = custodian.vault.link_patient(custodian.keyed(source), patient)
            if linked != patient:
                raise GatewayError(422, "WRONG_PATIENT",
                                   f"{source} is linked to another patient at {custodian.org}")
        sealed = []
        for item in items:
            for path, blob, content_type in item.attachments:
                binary = fhir_ingest.Incoming("Binary", None, {"resourceType": "Binary",
                                                               "contentType": content_type})
                sealed.append(await self._seal(custodian, patient_member, binary, blob))
                index = int(path.split("[")[1].rstrip("]"))
                item.resource["content"][index]["attachment"]["url"] = \
                    f"Binary/{sealed[-1]['record']}"
            sealed.append(await self._seal(custodian, patient_member, item))
        return await self._register(custodian, signed, sealed)

    async def store_binary(self, custodian_org: str, caller: str, patient: str, data: bytes,
                           content_type: str, request: str | None, salt: str | None = None
                           ) -> dict[str, Any]:
        """Check the caller's signed request over ``data``, then store it as a Binary."""
        custodian = self.custodian(custodian_org)
        signed = self.ingest_request(caller, custodian.org, patient, data, request, salt)
        await self._remembered(self._ingests)
        item = fhir_ingest.Incoming("Binary", None, {"resourceType": "Binary",
                                                     "contentType": content_type})
        sealed = await self._seal(custodian, self._patient(patient), item, data)
        (stored,) = await self._register(custodian, signed, [sealed])
        return stored

    def _patient(self, patient: str) -> dict[str, Any]:
        member = self.get(member_key(patient))
        if member is None or member["kind"] != "patient":
            raise GatewayError(422, "UNKNOWN_PATIENT", f"{patient} is not a registered patient")
        return member

    def _recipients(self, custodian: Custodian, patient: dict[str, Any], record: dict[str, Any]
                    ) -> dict[str, str]:
        """Everyone a new document key is wrapped to: the custodian, the patient, and
        every practitioner whose grant covers the record now."""
        out = {custodian.member_id: custodian.key.encryption_did}
        if patient.get("encryption_key"):
            out[patient["id"]] = patient["encryption_key"]
        for grant in covering_grants(self.get, record, self.clock()):
            member_id = grant["grantee"].get("member")
            grantee = self.get(member_key(member_id)) if member_id else None
            if grantee and grantee.get("encryption_key"):
                out[member_id] = grantee["encryption_key"]
        return out

    async def _seal(self, custodian: Custodian, patient: dict[str, Any],
                    item: fhir_ingest.Incoming, data: bytes | None = None) -> dict[str, Any]:
        """Encrypt one resource into the vault; returns its registration arguments."""
        source_id = item.source_id or hashlib.sha256(
            json.dumps(item.resource, sort_keys=True).encode() + (data or b"")).hexdigest()
        record_id = custodian.record_id(patient["id"], item.resource_type, source_id)
        current = self.get(record_key(record_id))
        version = 1 if current is None else current["version"] + 1
        resource = dict(item.resource, id=record_id,
                        meta={**item.resource.get("meta", {}), "versionId": str(version)})
        if data is not None:  # a Binary: the bytes travel base64 inside the sealed resource
            resource["data"] = base64.b64encode(data).decode()
        doc = await asyncio.get_running_loop().run_in_executor(
            None, custodian.vault.seal, record_id, version, patient["id"], item.resource_type,
            json.dumps(resource, separators=(",", ":")).encode(),
            self._recipients(custodian, patient, {"id": record_id, "type": item.resource_type,
                                                  "patient": patient["id"]}))
        args: dict[str, Any] = {"record": record_id, "patient": patient["id"],
                                "resource_type": item.resource_type, "content_hash": doc.hash,
                                "version": version}
        if current is not None:
            args["amends"] = current["hash"]
        return args

    async def _register(self, custodian: Custodian, signed: SignedIngest,
                        sealed: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Register sealed documents on the ledger (all sent, then all awaited), each
        carrying the member's signed request; a document whose registration fails is
        removed from the vault again."""
        pending = []
        for args in sealed:
            args["request"] = signed.text
            pending.append(await custodian.writer.send("records", "register", args, self.clock(),
                                                       want_commit=True))
        out, failures = [], []
        for args, result in zip(sealed, pending, strict=True):
            try:
                receipt = result if isinstance(result, Receipt) else await asyncio.wait_for(result, 30)
            except TimeoutError:
                receipt = Receipt("", "pending", reason="not committed within 30 s")
            if receipt.valid:
                out.append({"record": args["record"], "version": args["version"],
                            "type": args["resource_type"], "content_hash": args["content_hash"],
                            "author": signed.author["id"], "tx_id": receipt.tx_id,
                            "height": receipt.height})
            else:
                custodian.vault.forget(args["record"], args["version"])
                failures.append(f"{args['record']}: {receipt.code or 'NOT_COMMITTED'} {receipt.reason}")
        if failures:
            raise GatewayError(422, "NOT_REGISTERED",
                               f"{len(failures)} of {len(sealed)} records were not registered "
                               f"(stored: {len(out)}): {'; '.join(failures[:5])}")
        return out

    # -- following the ledger ------------------------------------------------------------
    async def _follow(self) -> None:
        """Apply committed revocations and erasures to the vaults this node holds."""
        # Unbounded: a revocation must never be skipped because this fell behind.
        queue = self.node.subscribe_blocks(maxsize=0)
        try:
            while (block := await queue.get()) is not None:
                for result in block.results:
                    for event in result.events or []:
                        self._apply(event)
        finally:
            self.node.unsubscribe_blocks(queue)

    def _apply(self, event: dict[str, Any]) -> None:
        if event["kind"] == "consent_revoked" and "member" in event["grantee"]:
            grantee = event["grantee"]["member"]
            for custodian in self.custodians.values():
                records = [d.record for d in custodian.vault.documents_of(event["patient"])]
                custodian.vault.drop_recipient(grantee, records)
        elif event["kind"] == "encryption_key_set":
            # Keys wrapped to the old X25519 key would be handed out and not open (a
            # patient who recovered a lost key); drop them, the next read re-wraps.
            for custodian in self.custodians.values():
                custodian.vault.drop_recipient(event["member"])
        elif event["kind"] == "records_erased":
            for custodian in self.custodians.values():
                mine = [r["record"] for r in event["records"] if r["custodian"] == custodian.org]
                if mine:
                    shredded = custodian.vault.erase(mine)
                    custodian.vault.unlink_patient(event["patient"])
                    log.info("erased %d documents of %d records at %s", shredded, len(mine),
                             custodian.org)
