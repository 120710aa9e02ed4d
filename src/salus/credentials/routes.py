"""REST routes of the credentials application: the signed verification context, and
verification of credentials, dossiers and presentations over the API.

All of them are public: verifying a professional's credential is the point of the
application (a hospital, a patient, an employer may ask), and none of it is health data.

FastAPI needs real annotations here, so no ``from __future__ import annotations``.
"""

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Request

from salus.api.body import loads_body, read_capped
from salus.api.errors import ApiError
from salus.api.read_rules import public
from salus.clock import ms_from_iso
from salus.credentials.context import VerificationContext, snapshot
from salus.credentials.presentation import MAX_CREDENTIALS, verify_presentation
from salus.credentials.verifier import Verifier
from salus.ledger.ledger import Ledger

#: A verification's body: up to MAX_CREDENTIALS credentials (a dossier, or a presentation
#: of them) of 4 KB each; a typical credential is under 2 KB.
MAX_BODY = 2 * 1024 * 1024
_AT = {"type": "string", "format": "date-time",
       "description": "verify as of this time (ISO 8601 with its offset); default now"}
_VERIFY_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "oneOf": [
        {"type": "object", "required": ["credential"],
         "properties": {"credential": {"type": "object"}, "at": _AT}},
        {"type": "object", "required": ["credentials"],
         "properties": {"credentials": {"type": "array", "items": {"type": "object"},
                                        "maxItems": MAX_CREDENTIALS},
                        "subject": {"type": "string", "description": "the holder's did"},
                        "at": _AT}}]}}}}}
_PRESENTATION_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": {"type": "object", "required": ["presentation", "challenge", "domain"],
               "properties": {"presentation": {"type": "object"},
                              "challenge": {"type": "string", "minLength": 1},
                              "domain": {"type": "string", "minLength": 1}, "at": _AT}}}}}}
READ_CONTEXT = public("GET", "/v1/credentials/context",
                      "the orderer-signed verification context: issuers' key histories, "
                      "anchors, status lists")
READ_VERIFY = public("POST", "/v1/credentials/verify",
                     "the report on a credential or dossier they send")
READ_VERIFY_VP = public("POST", "/v1/credentials/verify-presentation",
                        "the report on a presentation they send")


class ContextCache:
    """The context, and a verifier over it. It is rebuilt when the ledger has moved on and
    the one held is older than ``max_age`` seconds: under a steady stream of blocks a
    verification answers as of at most that long ago (every report names its height)."""

    def __init__(self, ledger: Ledger, max_age: float = 1.0) -> None:
        self.ledger = ledger
        self.max_age = max_age
        self._built = 0.0
        self._height = -1
        self._doc: dict[str, Any] = {}
        self._verifier: Verifier | None = None
        self._lock = asyncio.Lock()

    async def current(self) -> tuple[dict[str, Any], Verifier]:
        async with self._lock:
            stale = time.monotonic() - self._built >= self.max_age
            if self._verifier is None or (stale and self._height != self.ledger.height):
                doc = await asyncio.get_running_loop().run_in_executor(
                    None, snapshot, self.ledger)
                self._built = time.monotonic()
                ctx = VerificationContext(doc)
                self._height, self._doc, self._verifier = ctx.height, doc, Verifier(ctx)
            return self._doc, self._verifier


async def _body(request: Request) -> dict[str, Any]:
    doc = loads_body(await read_capped(request, MAX_BODY))
    if not isinstance(doc, dict):
        raise ApiError(400, "BAD_REQUEST", "the body is a JSON object")
    return doc


def _at(doc: dict[str, Any]) -> int | None:
    at = doc.get("at")
    if at is None:
        return None
    try:
        return ms_from_iso(at)
    except (TypeError, ValueError):
        raise ApiError(400, "BAD_REQUEST", "at is an ISO 8601 date-time with its offset, "
                                           "e.g. 2026-11-21T09:00:00Z") from None


def build_router(ledger: Ledger, context_max_age: float = 1.0) -> APIRouter:
    router = APIRouter(tags=["credentials"])
    cache = ContextCache(ledger, context_max_age)

    @READ_CONTEXT.route(router, summary="The verification context, signed by the orderer: "
                        "issuer key histories, anchors, status lists (for offline checks)")
    async def context() -> dict[str, Any]:
        doc, _ = await cache.current()
        return doc

    @READ_VERIFY.route(router, openapi_extra=_VERIFY_BODY,
                 summary="Verify a credential ({credential}) or a dossier ({credentials, "
                         "subject?}), optionally as of {at}")
    async def verify(request: Request) -> dict[str, Any]:
        doc = await _body(request)
        _, verifier = await cache.current()
        at = _at(doc)
        if "credential" in doc:
            return verifier.verify(doc["credential"], at).to_json()  # ~0.2 ms: inline
        creds = doc.get("credentials")
        if not isinstance(creds, list):
            raise ApiError(400, "BAD_REQUEST", "send {credential: {...}} or "
                                               "{credentials: [...], subject?: did}")
        if len(creds) > MAX_CREDENTIALS:
            raise ApiError(400, "TOO_MANY", f"a dossier holds at most {MAX_CREDENTIALS} "
                                            "credentials")
        subject = doc.get("subject")
        if subject is not None and not isinstance(subject, str):
            raise ApiError(400, "BAD_REQUEST", "subject is a did")
        # a dossier may hold hundreds: verify it off the event loop
        report = await asyncio.get_running_loop().run_in_executor(
            None, verifier.verify_dossier, creds, subject, at)
        return report.to_json()

    @READ_VERIFY_VP.route(router, openapi_extra=_PRESENTATION_BODY,
                 summary="Verify a presentation ({presentation, challenge, domain}) and "
                         "every credential in it")
    async def verify_vp(request: Request) -> dict[str, Any]:
        doc = await _body(request)
        challenge, domain = doc.get("challenge"), doc.get("domain")
        if not isinstance(challenge, str) or not isinstance(domain, str) or \
                not challenge or not domain:
            raise ApiError(400, "BAD_REQUEST", "challenge and domain are the strings this "
                                               "verifier gave the holder")
        _, verifier = await cache.current()
        at = _at(doc)
        report = await asyncio.get_running_loop().run_in_executor(None, lambda: (
            verify_presentation(doc.get("presentation"), challenge=challenge, domain=domain,
                                verifier=verifier, at_ms=at)))
        return report.to_json()

    return router
