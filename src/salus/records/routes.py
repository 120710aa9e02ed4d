"""REST routes of the records application: ingest, the gateway, consent, the access log.

FastAPI needs real annotations here, so no ``from __future__ import annotations``.
"""

import base64
import json
import math
from collections.abc import AsyncIterator, Iterable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel, Field

from salus.api.auth import Principal
from salus.api.body import json_body, parse_json, read_capped
from salus.api.errors import ApiError
from salus.api.rate_limit import RateLimiter, client_address
from salus.api.read_rules import MEMBER, OVERSEERS, Own, ReadRule, Sees, Viewer, ViewerDep
from salus.api.streams import BlockStream
from salus.canonical import MAX_SAFE_INTEGER
from salus.ledger.members import has_role, member_key
from salus.records import fhir_export
from salus.records.contracts.layout import (
    AUTHOR_ROLES,
    PRIVACY_OFFICER_ROLE,
    access_log_prefix,
    audit_prefix,
    consent_key,
    record_key,
    review_prefix,
    session_key,
)
from salus.records.fhir_ingest import InvalidFHIR
from salus.records.gateway import Gateway, GatewayError
from salus.records.ingest_request import REQUEST_HEADER, SALT_HEADER
from salus.records.policy import covering_grants, grantee_matches, listed_for
from salus.records.read_rules import CONSENT, CustodianStaff, Grantee, grants_naming

MAX_LOG = 1000
MAX_BINARY = 64 * 1024 * 1024
#: A resource or a Bundle (at most fhir_ingest.MAX_ENTRIES resources), inline
#: attachments included; a larger image or document goes to /binary on its own.
MAX_INGEST = 16 * 1024 * 1024
#: A signed read request is a few hundred bytes of base64.
MAX_READ_REQUEST = 16 * 1024
#: A wrapped key: a version, a member id and 80 bytes of base64.
MAX_KEY_REQUEST = 4 * 1024


PATIENT = Own("patient", "patient")
READ_INDEX = ReadRule("GET", "/v1/records", (
    Sees((PATIENT, *OVERSEERS),
         "every record of the patient at every custodian: ids, types, versions, hashes, "
         "authors (never contents)", "all"),
    Sees((Grantee("patient", to_list=True),),
         "the records a grant in force naming them covers (all of them under an open "
         "break-glass override)", "granted"),
    Sees((CustodianStaff(),), "the patient's records their own organisation holds",
         "custodian's"),
))
READ_RECORD = ReadRule("POST", "/v1/records/read", (
    Sees((CONSENT,), "one record's ciphertext and the reader's wrapped key (a signed "
                     "request; no token)"),))
#: The consent view, as JSON here and as FHIR at /fhir/Consent.
CONSENT_VIEW = (
    Sees((PATIENT, *OVERSEERS), "all of the patient's grants and their break-glass opt-out",
         "all"),
    Sees((Grantee("patient"),), "the patient's grants that name them (by member, role or "
                                "organisation)", "named"),
)
READ_CONSENT = ReadRule("GET", "/v1/consent", CONSENT_VIEW)
READ_ACCESS_LOG = ReadRule("GET", "/v1/access/log", (
    Sees((PATIENT, *OVERSEERS), "every access to the patient's records, granted or refused"),))
#: A custodian's own privacy officers and (internal) auditors.
OFFICERS = CustodianStaff("custodian", (PRIVACY_OFFICER_ROLE, "auditor"))
READ_AUDIT = ReadRule("GET", "/v1/access/audit", (
    Sees((OFFICERS, *OVERSEERS), "every access to the custodian's records"),))
READ_REVIEW = ReadRule("GET", "/v1/access/review", (
    Sees((OFFICERS, *OVERSEERS), "the custodian's emergency (break-glass) accesses and their "
                                 "findings"),))
READ_EVENTS = ReadRule("GET", "/v1/access/events", (
    Sees((MEMBER,), "their own: each access to their records, break-glass override, erasure "
                    "and recovery step, as it commits"),))


async def _subscriber(viewer: ViewerDep) -> Viewer:
    # checked in a dependency: once the event stream has started, a refusal cannot be sent
    READ_EVENTS.check(viewer)
    return viewer


def consent_view(viewer: Viewer, patient: str, gateway: Gateway, rule: ReadRule
                 ) -> dict[str, Any]:
    """The patient's consent document as this viewer may see it (``rule``'s refusal
    if they may see none of it)."""
    view = rule.check(viewer, patient=patient)
    doc = gateway.get(consent_key(patient)) or {"patient": patient, "grants": {},
                                               "break_glass_opt_out": False}
    if view == "named":
        return {"patient": patient, "grants": grants_naming(viewer, doc)}
    return doc


class ReadRequest(BaseModel):
    request: str = Field(description="base64 of a signed access.read request envelope")


class WrappedKey(BaseModel):
    version: int = Field(ge=1, le=MAX_SAFE_INTEGER)
    recipient: str = Field(description="member id the key is wrapped to", max_length=256)
    wrapped_key: str = Field(description="base64 sealed box of the document key",
                             max_length=256)


def gateway_of(request: Request) -> Gateway:
    gateway = getattr(request.app.state, "gateway", None)
    if gateway is None:
        unavailable = getattr(request.app.state, "records_unavailable", None)
        if unavailable:
            raise ApiError(503, "RECORDS_UNAVAILABLE", unavailable, {"Retry-After": "5"})
        raise ApiError(404, "RECORDS_DISABLED", "this node does not run a records gateway")
    return gateway


async def _gateway_dependency(request: Request) -> Gateway:
    # async: FastAPI runs a plain-def dependency in a worker thread, a hop per request
    return gateway_of(request)


def as_api_error(exc: GatewayError) -> ApiError:
    headers = None if exc.retry_after is None else {"Retry-After": str(math.ceil(exc.retry_after))}
    return ApiError(exc.status, exc.code, exc.reason, headers)


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise ApiError(400, "BAD_REQUEST", f"{what} must be standard base64") from None


def _entries(gateway: Gateway, prefix: str, after: str, limit: int) -> dict[str, Any]:
    rows = gateway.ledger.store.state_scan(prefix, after, limit)
    return {"entries": [{"key": k[len(prefix):], **json.loads(v)} for k, v, _ in rows],
            "next": rows[-1][0][len(prefix):] if len(rows) == limit else None}


def _with_override(gateway: Gateway, entry: dict[str, Any]) -> dict[str, Any]:
    """A review entry with what its reviewer must weigh: the break-glass override it was
    read under (the clinician's coded reason, its window) and the type of record read."""
    override = gateway.get(session_key(entry["basis"])) if entry.get("basis") else None
    record = gateway.get(record_key(entry["record"])) if entry.get("record") else None
    return {**entry, "override": override, "record_type": record["type"] if record else None}


def _holder(gateway: Gateway, principal: Principal, org: str, roles: Iterable[str]
            ) -> dict[str, Any] | None:
    """The principal's member record if they hold one of ``roles`` in ``org`` now."""
    who = gateway.requester(principal.did).member
    height = gateway.ledger.height
    return who if any(has_role(gateway.get, who, r, org, height) for r in roles) else None


def _writer_of(principal: Principal, custodian: str, gateway: Gateway) -> dict[str, Any]:
    who = _holder(gateway, principal, custodian, AUTHOR_ROLES)
    if who is None:
        raise ApiError(403, "FORBIDDEN", f"only clinical staff of {custodian} may write its records")
    return who


def build_router(member: Any) -> APIRouter:
    router = APIRouter()
    Member = Annotated[Principal, Depends(member)]
    GatewayDep = Annotated[Gateway, Depends(_gateway_dependency)]
    SignedRequest = Annotated[str | None, Header(
        alias=REQUEST_HEADER, description="base64 of your signed records.ingest request "
                                          "{custodian, patient, body} (see docs/api.md)")]
    RequestSalt = Annotated[str | None, Header(
        alias=SALT_HEADER, description="base64 of the salt hashed before the body (optional)")]

    @router.post("/v1/records/{custodian}/ingest", tags=["records"],
                 summary="Ingest a FHIR R4 resource or Bundle for a patient",
                 openapi_extra={"requestBody": {"content": {"application/fhir+json": {
                     "schema": {"type": "object"}}}}})
    async def ingest(custodian: str, patient: str, request: Request, principal: Member,
                     gateway: GatewayDep, signed: SignedRequest = None, salt: RequestSalt = None
                     ) -> JSONResponse:
        # Clinical staff (an EHR feed too: a member with the registrar role) author what
        # they send, and sign a request for it that every registration carries.
        _writer_of(principal, custodian, gateway)
        try:
            stored = await gateway.ingest(custodian, principal.did, patient,
                                          await read_capped(request, MAX_INGEST), signed, salt)
        except InvalidFHIR as exc:
            return JSONResponse(fhir_export.operation_outcome(exc.issues), exc.status,
                                media_type="application/fhir+json")
        except GatewayError as exc:
            raise as_api_error(exc) from None
        return JSONResponse({"records": stored}, 201)

    @router.post("/v1/records/{custodian}/binary", tags=["records"],
                 summary="Store a large binary (image, PDF) for a patient; returns its record")
    async def binary(custodian: str, patient: str, request: Request, principal: Member,
                     gateway: GatewayDep, signed: SignedRequest = None, salt: RequestSalt = None
                     ) -> JSONResponse:
        _writer_of(principal, custodian, gateway)
        data = await read_capped(request, MAX_BINARY)
        if not data:
            raise ApiError(400, "BAD_REQUEST", f"a binary must be 1 byte to {MAX_BINARY} bytes")
        try:
            stored = await gateway.store_binary(
                custodian, principal.did, patient, data,
                request.headers.get("content-type", "application/octet-stream"), signed, salt)
        except GatewayError as exc:
            raise as_api_error(exc) from None
        return JSONResponse(stored, 201)

    @READ_INDEX.route(router, tags=["records"],
                      summary="A patient's record index across every custodian")
    async def index(patient: str, viewer: ViewerDep, gateway: GatewayDep) -> dict[str, Any]:
        view = READ_INDEX.check(viewer, patient=patient, now=gateway.clock())
        records = gateway.index(patient)
        if view == "granted":
            listed = listed_for(gateway.get, viewer.member, patient, gateway.ledger.height,
                                gateway.clock())
            records = [r for r in records if listed is not None and listed(r)]
        elif view == "custodian's":
            records = [r for r in records if r["custodian"] == viewer.member["org"]]
        return {"patient": patient, "records": records}

    @READ_RECORD.route(router, tags=["records"],
                       summary="Read a record through the gateway (signed request; consent "
                               "checked, access audited); returns ciphertext and your wrapped key",
                       openapi_extra=json_body(ReadRequest))
    async def read(request: Request, gateway: GatewayDep) -> dict[str, Any]:
        # A request nobody can be tied to (malformed, stale, replayed, a bad signature, a
        # key that is no member's) is refused unaudited and counts against its address's
        # authentication failures; an address that has spent them is refused here,
        # before its body is read. Refusals of a member's request are audited instead.
        limiter: RateLimiter = request.app.state.rate_limiter
        address = client_address(request)
        limiter.check_failures(address)
        who = None
        try:
            body = parse_json(await read_capped(request, MAX_READ_REQUEST), ReadRequest)
            who, custodian, record, purpose, request_hash = gateway.signed_request(
                _b64(body.request, "request"))
            release = await gateway.read(who, custodian, record, purpose, request_hash,
                                         sealed=True)
            out = gateway.sealed(release, who)
        except (GatewayError, ApiError, RequestValidationError) as exc:
            if who is None or who.member is None:
                code = exc.code if isinstance(exc, GatewayError | ApiError) else "BAD_REQUEST"
                limiter.failed(address, "records_read", code)
            if isinstance(exc, GatewayError):
                raise as_api_error(exc) from None
            raise
        out["ciphertext"] = base64.b64encode(out["ciphertext"]).decode()
        out["wrapped_key"] = base64.b64encode(out["wrapped_key"]).decode()
        return out

    @router.post("/v1/records/{record}/keys", tags=["records"],
                 summary="The patient hands a grantee the document key, re-wrapped",
                 openapi_extra=json_body(WrappedKey))
    async def add_key(record: str, request: Request, principal: Member,
                      gateway: GatewayDep) -> dict[str, Any]:
        body = parse_json(await read_capped(request, MAX_KEY_REQUEST), WrappedKey)
        found = gateway.get(record_key(record))
        if found is None or found["status"] != "active":
            raise ApiError(404, "UNKNOWN_RECORD", f"no record {record}")
        if principal.member_id != found["patient"]:
            raise ApiError(403, "FORBIDDEN", "only the record's patient may hand out its keys")
        try:
            custodian = gateway.custodian(found["custodian"])
        except GatewayError as exc:
            raise as_api_error(exc) from None
        grantee = gateway.get(member_key(body.recipient))
        if grantee is None or not any(
                grantee_matches(gateway.get, g["grantee"], grantee, gateway.ledger.height)
                for g in covering_grants(gateway.get, found, gateway.clock())):
            raise ApiError(403, "NO_CONSENT", "no active grant covers that recipient and record")
        if custodian.vault.document(record, body.version) is None:
            raise ApiError(404, "UNKNOWN_VERSION", f"{record} has no version {body.version} here")
        wrapped = _b64(body.wrapped_key, "wrapped_key")
        if len(wrapped) != 80:
            raise ApiError(400, "BAD_REQUEST", "a wrapped key is an 80-byte sealed box")
        custodian.vault.add_wrapped_key(record, body.version, body.recipient, wrapped)
        return {"record": record, "version": body.version, "recipient": body.recipient}

    @READ_CONSENT.route(router, tags=["consent"],
                        summary="A patient's consent grants (yours by default)")
    async def consent(viewer: ViewerDep, gateway: GatewayDep, patient: str | None = None,
                      format: Annotated[str, Query(pattern="^(json|fhir)$")] = "json"
                      ) -> dict[str, Any]:
        patient = patient or viewer.member_id or ""
        doc = consent_view(viewer, patient, gateway, READ_CONSENT)
        if format == "fhir":
            return fhir_export.bundle("searchset", [
                fhir_export.consent(patient, g, gateway.clock()) for g in doc["grants"].values()],
                "urn:salus")
        return doc

    @READ_ACCESS_LOG.route(router, tags=["access"],
                           summary="Every access to a patient's records (yours by default)")
    async def access_log(viewer: ViewerDep, gateway: GatewayDep, patient: str | None = None,
                         after: str = "", limit: Annotated[int, Query(ge=1, le=MAX_LOG)] = 100,
                         format: Annotated[str, Query(pattern="^(json|fhir)$")] = "json"
                         ) -> dict[str, Any]:
        patient = patient or viewer.member_id or ""
        READ_ACCESS_LOG.check(viewer, patient=patient)
        prefix = access_log_prefix(patient)
        page = _entries(gateway, prefix, prefix + after if after else "", limit)
        if format == "fhir":
            return fhir_export.bundle("searchset", [fhir_export.audit_event(e["key"], e)
                                                    for e in page["entries"]], "urn:salus")
        return page

    @READ_AUDIT.route(router, tags=["access"],
                      summary="A custodian's full access log (privacy officers and auditors)")
    async def custodian_log(custodian: str, viewer: ViewerDep, gateway: GatewayDep,
                            after: str = "", limit: Annotated[int, Query(ge=1, le=MAX_LOG)] = 100
                            ) -> dict[str, Any]:
        READ_AUDIT.check(viewer, custodian=custodian)
        prefix = audit_prefix(custodian)
        return _entries(gateway, prefix, prefix + after if after else "", limit)

    @READ_REVIEW.route(router, tags=["access"],
                       summary="Emergency (break-glass) accesses awaiting the privacy officer")
    async def review(custodian: str, viewer: ViewerDep, gateway: GatewayDep,
                     pending: bool = True, after: str = "",
                     limit: Annotated[int, Query(ge=1, le=MAX_LOG)] = 100) -> dict[str, Any]:
        READ_REVIEW.check(viewer, custodian=custodian)
        prefix = review_prefix(custodian)
        page = _entries(gateway, prefix, prefix + after if after else "", limit)
        if pending:
            page["entries"] = [e for e in page["entries"] if e["finding"] is None]
        page["entries"] = [_with_override(gateway, e) for e in page["entries"]]
        return page

    @READ_EVENTS.route(router, tags=["access"], response_class=EventSourceResponse,
                       summary="Server-sent events: each new access to your records as it "
                               "commits")
    async def access_events(request: Request, viewer: Annotated[Viewer, Depends(_subscriber)],
                            gateway: GatewayDep) -> AsyncIterator[ServerSentEvent]:
        patient = viewer.member_id  # the stream is always the caller's own
        blocks = BlockStream(request, gateway.node, "GET /v1/access/log")
        try:
            yield ServerSentEvent(event="ready", data={"patient": patient,
                                                       "height": gateway.ledger.height})
            async for block in blocks:
                if isinstance(block, ServerSentEvent):  # a keep-alive, or the end
                    yield block
                    continue
                for result in block.results:
                    for event in result.events or []:
                        if event.get("patient") == patient and event["kind"] in (
                                "access", "break_glass", "records_erased",
                                # someone is recovering this patient's identity: the
                                # patient must hear of it in time to cancel
                                "recovery_started", "recovery_approved", "recovery_pending",
                                "recovery_cancelled", "key_recovered"):
                            yield ServerSentEvent(event=event["kind"], id=result.id.hex(),
                                                  data={**event, "height": block.header.height})
        finally:
            blocks.close()

    return router

