"""Capture (EPCIS 2.0 §8.2, REST binding ``POST /capture``) for one organisation a node hosts.

A document is taken all or nothing, the binding's default (``GS1-Capture-Error-Behaviour:
rollback``), in this order, so that nothing of a refused document is kept anywhere:

1. it is read and validated against GS1's schema (:func:`document.read_document`: every
   reason, 400);
2. each event is hashed (CBV 2.0 §8.9) and mapped to its ledger step
   (:mod:`salus.supply.capture_plan`: every reason, 400);
3. the steps go to the ledger as one ``supply.capture`` transaction signed by the
   organisation's supply service key; the contract refuses the whole document or takes
   it whole (SC11);
4. only once the ledger took it are the events stored in the organisation's repository
   (off-ledger: docs/supply.md, "Decision").

The job is the binding's capture job document (``captureID``, ``running``, ``success``,
``captureErrorBehaviour``, ``errors``) plus the ledger transaction's id, kept in the
repository. Capturing a document again is idempotent end to end: the contract repeats
each step's first outcome, and the repository keeps each event once.
"""

from __future__ import annotations

import asyncio
import secrets
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from salus import workers
from salus.clock import iso_from_ms, wall_clock_ms
from salus.identity import Identity
from salus.ledger.codes import Code
from salus.node.node import Node
from salus.node.receipt import Receipt
from salus.node.service_key import LedgerWriter
from salus.supply.capture_plan import PlanError, plan
from salus.supply.contracts.layout import MAX_STEPS, party_key
from salus.supply.document import DocumentInvalid, TooManyEvents, read_document
from salus.supply.event_hash import EventHashError, document_events, document_hashes
from salus.supply.repository import EventRow, Repository, event_rows

#: The capture job's error behaviour: the only one offered (the whole document or none).
ERROR_BEHAVIOUR = "rollback"


class CaptureRefused(Exception):
    """A document refused before anything was kept: ``status`` (400, 413), a stable
    ``code`` and every reason."""

    def __init__(self, status: int, code: str, reason: str, problems: list[str] | None = None
                 ) -> None:
        super().__init__(status, code, reason, problems)  # all of them: it is pickled
        self.status, self.code, self.reason = status, code, reason
        self.problems = problems or []

    def __str__(self) -> str:
        return self.reason


def _list(value: Any) -> list[Any]:
    return [] if value is None else value if isinstance(value, list) else [value]


def _with_context(event: Any, context: Any) -> dict[str, Any]:
    """The event with the document's ``@context`` (JSON-LD §4.1) beside its own, so that
    a stored event keeps the namespaces its extensions are written in and hashes alone
    to what it hashed in its document (the hash leaves ``@context`` out)."""
    merged = [*_list(context), *_list(event.get("@context"))]
    return {**event, "@context": merged} if merged else dict(event)


@dataclass(frozen=True)
class Digest:
    """What a document is, worked out from its bytes alone (steps 1-2 but the mapping):
    its events (each with the document's ``@context``), their CBV 2.0 hashes, and the
    rows the repository will store."""

    events: list[dict[str, Any]]
    hashes: list[str]
    rows: list[EventRow]


def digest(data: bytes) -> Digest | CaptureRefused:
    """Read, validate and hash a document: a pure function of its bytes, so it runs in a
    worker process (:func:`digest_off_loop`). A refusal is returned, not raised: it
    crosses the process boundary as a value."""
    try:
        # counted before validation and hashing: a document past the capture limit would
        # otherwise cost seconds of a worker (10,000 events, ~2 s) only to be refused
        document = read_document(data, max_events=MAX_STEPS)
    except TooManyEvents as exc:
        return CaptureRefused(413, "CAPTURE_TOO_LARGE", f"{exc.problems[0].message} "
                              "(GS1-EPCIS-Capture-Limit)")
    except DocumentInvalid as exc:
        return CaptureRefused(400, "INVALID_DOCUMENT", "the document is not valid EPCIS 2.0",
                              [str(p) for p in exc.problems])
    try:
        events = [_with_context(e, document.get("@context")) for e in document_events(document)]
        hashes = document_hashes(document)
        rows = event_rows(zip(hashes, events, strict=True))
    except EventHashError as exc:
        return CaptureRefused(400, "INVALID_DOCUMENT", str(exc), [str(exc)])
    return Digest(events, hashes, rows)


#: Below this many bytes a document is digested in the node's own thread: a worker round
#: trip (pickling the events back) costs more than a few events' work.
_IN_LINE_BELOW = 16 * 1024


async def digest_off_loop(data: bytes) -> Digest | CaptureRefused:
    """:func:`digest`, in the node's worker processes for any but a small document, so
    that validation and hashing run on another core, out of the node's GIL."""
    if len(data) < _IN_LINE_BELOW:
        return digest(data)
    loop = asyncio.get_running_loop()
    pool = workers.pool()
    try:
        return await loop.run_in_executor(pool, digest, data)
    except BrokenProcessPool:  # a worker died: a new pool, and the same pure work again
        workers.discard(pool)
        return await loop.run_in_executor(workers.pool(), digest, data)


@dataclass
class Site:
    """One organisation's capture: its supply service key, ledger writer and repository."""

    org: str
    key: Identity
    node: Node
    repository: Repository
    writer: LedgerWriter = field(init=False)

    def __post_init__(self) -> None:
        self.writer = LedgerWriter(self.node, self.key)

    def _party(self, gln: str) -> str | None:
        found = self.node.ledger.state_value(party_key(gln))
        return None if found is None else str(found["org"])

    def plan(self, digest: Digest) -> list[dict[str, Any]]:
        """Step 2's mapping, which reads the ledger's party register: the steps, or
        CaptureRefused."""
        try:
            steps = plan(digest.events, digest.hashes, self._party)
        except PlanError as exc:
            raise CaptureRefused(400, "NOT_CAPTURABLE", "the ledger cannot take these events "
                                 "as written", exc.problems) from None
        if len(steps) > MAX_STEPS:
            raise CaptureRefused(413, "CAPTURE_TOO_LARGE", f"{len(steps)} events; at most "
                                 f"{MAX_STEPS} per document (GS1-EPCIS-Capture-Limit)")
        return steps

    async def capture(self, data: bytes, member: str, only: frozenset[str] | None = None
                      ) -> dict[str, Any]:
        """Capture a document; the finished job. CaptureRefused if nothing was kept.
        ``only``: the step methods the member may capture (None: any); a document with
        an event of any other kind is refused whole (403) before the ledger sees it."""
        found = await digest_off_loop(data)
        if isinstance(found, CaptureRefused):
            raise found
        steps = self.plan(found)
        if only is not None and (len(steps) != len(found.events)
                                 or any(s["method"] not in only for s in steps)):
            raise CaptureRefused(403, "FORBIDDEN", "this member captures only "
                                 f"{', '.join(sorted(only))} events: each event of the "
                                 "document must be one")
        events, hashes = found.events, found.hashes
        created = wall_clock_ms()
        job: dict[str, Any] = {
            "captureID": "c" + secrets.token_hex(12), "createdAt": iso_from_ms(created),
            "running": False, "success": True, "captureErrorBehaviour": ERROR_BEHAVIOUR,
            "errors": [], "eventCount": len(events), "eventHashes": hashes, "tx": None,
            "member": member}
        if steps:
            receipt = await self._submit(steps, created)
            job["tx"] = receipt.tx_id
            if not receipt.valid:
                if receipt.code == Code.TOO_LARGE:  # refused at ingress: nothing kept
                    raise CaptureRefused(413, "CAPTURE_TOO_LARGE", f"the document's ledger "
                                         f"transaction is too large ({receipt.reason}): split "
                                         "the document")
                job["success"] = False
                job["errors"] = [{"code": str(receipt.code), "reason": receipt.reason}]
        job["finishedAt"] = iso_from_ms(wall_clock_ms())
        # off the event loop: the write waits for the disk (fsync), and other requests need not
        await asyncio.to_thread(self.repository.add_rows, found.rows if job["success"] else [],
                                created, job)
        return job

    async def _submit(self, steps: list[dict[str, Any]], now_ms: int) -> Receipt:
        result = await self.writer.send("supply", "capture", {"steps": steps}, now_ms,
                                        want_commit=True)
        return result if isinstance(result, Receipt) else await result
