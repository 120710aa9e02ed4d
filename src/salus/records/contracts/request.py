"""A member's signed ingest request: what lets a custodian's gateway register a record.

The member who sends FHIR to a custodian's gateway (a clinician, or an EHR feed enrolled
as a ``registrar``) signs a transaction envelope that is never submitted: contract
``records``, method ``ingest``, args ``{custodian, patient, body}``, ``body`` being the
SHA-256 hex of what they sent (docs/api.md). The gateway checks it before doing any work
and passes it, base64, to every ``records.register`` it sends for that call; the contract
checks it again at admission (``records.RegisterRule``), so a gateway cannot register a
record that no clinical member of its own custodian asked it to, for that patient.

Only decoding lives here, shared by the gateway and the contract: deterministic, no I/O.
"""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache

from salus.ledger import transaction
from salus.ledger.codes import Code, Rejected
from salus.ledger.contract import SHA256_HEX
from salus.ledger.schema import text

INGEST_REQUEST = ("records", "ingest")
REQUEST_ARGS = frozenset({"custodian", "patient", "body"})
#: A request envelope is about 400 bytes; this leaves room for a long chain id.
MAX_REQUEST_BYTES = 1024
MAX_REQUEST_CHARS = 4 * -(-MAX_REQUEST_BYTES // 3)

RequestText = text(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?",
                   MAX_REQUEST_CHARS,
                   "base64 of the ingesting member's signed records.ingest request envelope")


def _bad(reason: str) -> Rejected:
    return Rejected(Code.BAD_ARGUMENTS, f"request: {reason}")


def decode_request(raw: bytes) -> transaction.Transaction:
    """The envelope of a ``records.ingest`` request, well formed (its signature is not
    checked here). Raises ``BAD_ARGUMENTS``."""
    try:
        tx = transaction.decode(raw, MAX_REQUEST_BYTES)
    except Rejected as exc:
        raise _bad(f"not a signed request envelope ({exc.code}: {exc.reason})") from None
    if (tx.contract, tx.method) != INGEST_REQUEST:
        raise _bad(f"signed for {tx.contract}.{tx.method}, not records.ingest")
    args = tx.args
    if args.keys() != REQUEST_ARGS or not all(type(v) is str for v in args.values()):
        raise _bad("args must be exactly custodian, patient and body (strings)")
    if not SHA256_HEX.match(args["body"]):
        raise _bad("body must be the SHA-256 of the request body, 64 lowercase hex digits")
    return tx


@lru_cache(maxsize=4096)
def request_of(text_b64: str) -> transaction.Transaction:
    """:func:`decode_request` of the base64 text a ``records.register`` carries. Every
    record of one ingest call carries the same request, so it is decoded once."""
    try:
        raw = base64.b64decode(text_b64, validate=True)
    except (binascii.Error, ValueError):
        raise _bad("not base64") from None
    return decode_request(raw)


@lru_cache(maxsize=4096)
def signed_by_signer(raw: bytes) -> bool:
    """Whether the envelope's signer signed it (a pure function of the bytes, so
    remembered: one verification per ingest call, not per record)."""
    return transaction.signature_ok(transaction.decode(raw, MAX_REQUEST_BYTES))
