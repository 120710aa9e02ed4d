"""FHIR and REST routes of the claims services (issue 17; docs/claims.md, "Services").

* ``POST /fhir/Claim/$submit``, ``POST /fhir/Claim/$inquire``: Da Vinci PAS, for a
  registrar or clinician of a provider this node hosts (the payer too, for ``$submit``).
* ``GET /fhir/ExplanationOfBenefit?patient=``: every claim and authorisation in her name.
* ``GET /v1/claims/queue``: a payer's requests owing a decision, with each one's document
  (its reviewers read it to decide); ``GET /v1/claims/requests``: a provider's requests;
  ``GET /v1/claims/events``: server-sent decisions as they commit.

Reviewers' decisions, appeals, payments and phantom flags are members' own signed
transactions (``POST /v1/txs``): only reads are here.

FastAPI needs real annotations here, so no ``from __future__ import annotations``.
"""

import json
import re
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent

from salus.api.auth import Principal
from salus.api.body import read_capped
from salus.api.errors import ApiError
from salus.api.read_rules import Audience, Own, ReadRule, Sees, Viewer, ViewerDep
from salus.api.streams import BlockStream
from salus.claims import eob, pas, review_view
from salus.claims import submission as sub
from salus.claims.contracts.layout import (
    PAYER_TYPES,
    PROVIDER_ROLES,
    PROVIDER_TYPES,
    REVIEW_ROLES,
    request_key,
)
from salus.claims.pas_request import MAX_BUNDLE_BYTES, PasRefused
from salus.claims.service import ClaimsService
from salus.clock import iso_from_ms, wall_clock_ms
from salus.ledger.members import member_key, org_key
from salus.records.contracts.layout import consent_key
from salus.records.policy import emergency_override, grant_in_force, grantee_matches
from salus.records.routes_fhir import FHIR_JSON, fhir_base

MAX_PAGE = 500
_ORG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_PATIENT = re.compile(r"did:key:z[1-9A-HJ-NP-Za-km-z]{40,60}")


@dataclass(frozen=True)
class OrgStaff(Audience):
    """A member holding one of ``roles`` now in the organisation ``about[arg]`` names,
    which is of ``types``."""

    arg: str
    roles: tuple[str, ...]
    types: frozenset[str]
    who: str

    def admits(self, viewer: Viewer, about: Mapping[str, Any]) -> bool:
        member = viewer.member
        org = about.get(self.arg)
        return member is not None and member["org"] == org and viewer.holds(
            self.roles, org, self.types)

    def describe(self) -> str:
        return f"a {' or '.join(self.roles)} of {self.who} (`{self.arg}`)"


@dataclass(frozen=True)
class WholeRecordGrantee(Audience):
    """A member a grant in force of the patient ``about[arg]`` names for her whole record
    (no resource types, no record list), or an emergency clinician with an open
    break-glass override on her. A claim carries her services and diagnoses at every
    provider: a grant scoped to some records (immunisations for a school nurse) covers
    none of it, and no grant can name claims by type."""

    arg: str

    def admits(self, viewer: Viewer, about: Mapping[str, Any]) -> bool:
        member, patient = viewer.member, about.get(self.arg)
        if member is None or not isinstance(patient, str):
            return False
        height, now = viewer.ledger.height, about["now"]
        if emergency_override(viewer.get, patient, member, height, now).allowed:
            return True
        consent = viewer.get(consent_key(patient)) or {"grants": {}}
        return any(grant_in_force(g, now) and not g["resource_types"] and not g["records"]
                   and grantee_matches(viewer.get, g["grantee"], member, height)
                   for g in consent["grants"].values())

    def describe(self) -> str:
        return (f"a member a grant in force of the patient's (`{self.arg}`) names for her "
                "whole record, or an emergency clinician with an open break-glass override")


PAYER_REVIEWERS = OrgStaff("payer", REVIEW_ROLES, PAYER_TYPES, "the payer")
PROVIDER_STAFF = OrgStaff("provider", PROVIDER_ROLES, PROVIDER_TYPES, "the provider")
READ_QUEUE = ReadRule("GET", "/v1/claims/queue", (
    Sees((PAYER_REVIEWERS,), "the payer's requests owing a decision, each with its items' "
                             "current decisions and its document (decrypted from the payer's "
                             "vault) for review"),))
READ_REQUESTS = ReadRule("GET", "/v1/claims/requests", (
    Sees((PROVIDER_STAFF,), "the provider's requests and claims, each with its status and "
                            "its items' decisions as the ledger holds them"),))
READ_EOB = ReadRule("GET", "/fhir/ExplanationOfBenefit", (
    Sees((Own("patient", "patient"), WholeRecordGrantee("patient")),
         "an ExplanationOfBenefit of every claim and authorisation in the patient's name, "
         "decrypted from the vaults this node holds"),))
READ_CLAIM_EVENTS = ReadRule("GET", "/v1/claims/events", (
    Sees((PAYER_REVIEWERS, PROVIDER_STAFF),
         "decisions, appeals, extensions, cancellations and phantom flags (raised, resolved) "
         "of the organisation's requests, "
         "as they commit (ids, statuses and codes; no claim content)"),))
#: Ledger events a claims stream carries, and who (field) hears each.
EVENT_KINDS = ("claims_submitted", "claims_decided", "claims_appealed", "claims_extended",
               "claims_cancelled", "claims_updated", "claims_phantom_flagged",
               "claims_phantom_resolved")


def claims_of(request: Request) -> ClaimsService:
    service = request.app.state.claims
    if service is None:
        raise ApiError(503, "CLAIMS_UNAVAILABLE", request.app.state.claims_unavailable
                       or "this node does not run the claims services")
    return service  # type: ignore[no-any-return]


def _org(value: str | None, viewer: Viewer) -> str:
    if value is None:
        member = viewer.member
        if member is None or member["org"] is None:
            return ""
        return str(member["org"])
    if not _ORG.fullmatch(value):
        raise ApiError(400, "BAD_REQUEST", "an organisation id is lowercase letters, digits, -")
    return value


def _scan(request: Request, prefix: str, after: str, limit: int) -> list[tuple[str, Any]]:
    store = request.app.state.node.ledger.store
    return [(k, json.loads(v)) for k, v, _h in store.state_scan(prefix, prefix + after, limit)]


def _summary(state: dict[str, Any]) -> dict[str, Any]:
    """A request as the ledger holds it, without its facts and fingerprints."""
    keep = ("id", "use", "coverage", "payer", "provider", "patient", "rules", "items",
            "priority", "height", "time", "due", "extended", "status", "replaces",
            "replaced_by", "decided_time", "late", "duplicates")
    return {**{k: state[k] for k in keep}, "lines": [
        {k: line.get(k) for k in ("sequence", "outcome", "rule", "reason", "carc", "units",
                                  "amount_cents", "human", "period", "flagged", "flag")}
        for line in state["lines"]], "appeals": state["appeals"],
        "payments": state["payments"]}


def _party(get: Callable[[str], Any], org: str) -> dict[str, Any]:
    """A Reference to a member organisation by its Salus id, with its name (the patient
    reads who billed and who decided, not the sender's local references)."""
    found = get(org_key(org))
    return {"identifier": {"system": "urn:salus:org", "value": org},
            "display": found["name"] if found and found.get("name") else org}


def _refused(exc: PasRefused) -> JSONResponse:
    return JSONResponse(exc.outcome(), exc.status, media_type=FHIR_JSON)


def build_router(member: Callable[..., Any]) -> APIRouter:
    router = APIRouter(tags=["claims"])
    Member = Annotated[Principal, Depends(member)]

    async def _body(request: Request) -> bytes:
        return await read_capped(request, MAX_BUNDLE_BYTES)

    def _caller(request: Request, principal: Principal) -> dict[str, Any] | None:
        ledger = request.app.state.node.ledger
        return ledger.state_value(member_key(principal.member_id))  # type: ignore[no-any-return]

    @router.post("/fhir/Claim/$submit", summary="Da Vinci PAS: submit a prior-authorisation "
                 "request or claim Bundle; answers the PAS response Bundle")
    async def claim_submit(request: Request, principal: Member) -> JSONResponse:
        service = claims_of(request)
        body = await _body(request)
        try:
            bundle = await sub.submit(service, body, _caller(request, principal),
                                      fhir_base(request))
        except PasRefused as exc:
            return _refused(exc)
        except sub.ClaimsError as exc:
            raise ApiError(exc.status, exc.code, exc.reason) from None
        return JSONResponse(bundle, media_type=FHIR_JSON)

    @router.post("/fhir/Claim/$inquire", summary="Da Vinci PAS: the current state of the "
                 "provider's requests an inquiry Bundle matches")
    async def claim_inquire(request: Request, principal: Member) -> JSONResponse:
        service = claims_of(request)
        body = await _body(request)
        ledger = service.node.ledger
        get = ledger.state_value
        try:
            inquiry = pas.read_inquiry(body)
            provider = sub.provider_of(service, _caller(request, principal), ledger.height, get)
            payer, coverage = sub.find_coverage(service, inquiry, get)
        except PasRefused as exc:
            return _refused(exc)
        except sub.ClaimsError as exc:
            raise ApiError(exc.status, exc.code, exc.reason) from None
        found = []
        for rid, stored in sub.stored_requests(provider, coverage["patient"]):
            state = get(request_key(rid))
            if state is not None and state["provider"] == provider.org \
                    and state["payer"] == payer.org and pas.inquiry_matches(inquiry, stored):
                found.append((stored, sub.answer(stored, state)))
        now = wall_clock_ms()
        return JSONResponse(pas.inquire_response(
            inquiry, found, bundle_id=f"inquiry-{now}", timestamp=iso_from_ms(now),
            base=fhir_base(request)), media_type=FHIR_JSON)

    @READ_EOB.route(router, summary="The patient's explanations of benefit")
    async def explanations(request: Request, viewer: ViewerDep,
                           patient: Annotated[str, Query(max_length=80)]) -> JSONResponse:
        if not _PATIENT.fullmatch(patient):
            raise ApiError(400, "BAD_REQUEST", "patient is a member id (did:key)")
        READ_EOB.check(viewer, patient=patient, now=wall_clock_ms())
        service = claims_of(request)
        get = service.node.ledger.state_value
        seen: set[str] = set()
        entries = []
        for host in [*service.payers.values(), *service.providers.values()]:
            for rid, stored in sub.stored_requests(host, patient):
                state = get(request_key(rid))
                if rid in seen or state is None or state["patient"] != patient:
                    continue
                seen.add(rid)
                paid = sum(p["paid_cents"] for p in state["payments"]) \
                    if state["payments"] else None
                paid_on = iso_from_ms(state["payments"][-1]["time"])[:10] \
                    if state["payments"] else None
                owed = sum(p["patient_cents"] for p in state["payments"]) \
                    if state["payments"] else None
                live = {item.sequence: n for n, item in
                        enumerate(sub.live_items(stored), start=1)}
                entries.append({"resource": eob.explanation_of_benefit(
                    stored, sub.answer(stored, state), patient=f"Patient/{patient}",
                    coverage=f"Coverage/{state['coverage']}", paid_cents=paid,
                    payment_date=paid_on, patient_cents=owed, ledger_items=live,
                    flags={n: f for n, line in enumerate(state["lines"], start=1)
                           if (f := eob.phantom_flag(line)) is not None},
                    insurer=_party(get, state["payer"]),
                    provider=_party(get, state["provider"]))})
        return JSONResponse({"resourceType": "Bundle", "type": "searchset",
                             "total": len(entries), "entry": entries}, media_type=FHIR_JSON)

    @READ_QUEUE.route(router, summary="A payer's review queue")
    async def queue(request: Request, viewer: ViewerDep, payer: str | None = None,
                    after: Annotated[str, Query(max_length=200)] = "",
                    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100) -> dict[str, Any]:
        org = _org(payer, viewer)
        READ_QUEUE.check(viewer, payer=org)
        service = request.app.state.claims
        host = None if service is None else service.payers.get(org)
        out = []
        for key, _ in _scan(request, f"claims/open/{org}/", after, limit):
            rid = key.rpartition("/")[2]
            state = request.app.state.node.ledger.state_value(request_key(rid))
            body = None if host is None else sub.unseal(host, rid)
            out.append({**_summary(state), "reviewers": sorted(  # an appeal: someone else
                {d["reviewer"] for d in state["decisions"]}), "owed": [
                line["sequence"] for line in state["lines"]
                if line["outcome"] in (None, "pended")],
                "document": None if body is None else json.loads(body),
                # its live items read from the document, each with its ledger sequence
                "services": None if body is None else review_view.items_of(body)})
        return {"payer": org, "requests": out}

    @READ_REQUESTS.route(router, summary="A provider's requests and claims")
    async def requests(request: Request, viewer: ViewerDep, provider: str | None = None,
                       after: Annotated[str, Query(max_length=200)] = "",
                       limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100
                       ) -> dict[str, Any]:
        org = _org(provider, viewer)
        READ_REQUESTS.check(viewer, provider=org)
        ledger = request.app.state.node.ledger
        service = request.app.state.claims
        host = None if service is None else service.providers.get(org)
        out = []
        for key, _ in _scan(request, f"claims/by-provider/{org}/", after, limit):
            rid = key.rpartition("/")[2]
            body = None if host is None else sub.unseal(host, rid)
            # its live items, from the provider's own vault copy
            out.append({**_summary(ledger.state_value(request_key(rid))),
                        "services": None if body is None else review_view.items_of(body)})
        return {"provider": org, "requests": out}

    async def _subscriber(viewer: ViewerDep) -> Viewer:
        org = _org(None, viewer)
        READ_CLAIM_EVENTS.check(viewer, payer=org, provider=org)
        return viewer

    @READ_CLAIM_EVENTS.route(router, response_class=EventSourceResponse,
                             summary="Server-sent events: your organisation's claims as they "
                                     "are decided")
    async def claim_events(request: Request, viewer: Annotated[Viewer, Depends(_subscriber)]
                           ) -> AsyncIterator[ServerSentEvent]:
        ledger = request.app.state.node.ledger
        blocks = BlockStream(request, request.app.state.node, "GET /v1/claims/requests")
        org = viewer.member["org"]
        try:
            yield ServerSentEvent(event="ready", data={"org": org, "height": ledger.height})
            async for block in blocks:
                if isinstance(block, ServerSentEvent):
                    yield block
                    continue
                found = [(r, e) for r in block.results for e in r.events or []
                         if e["kind"] in EVENT_KINDS and org in (e.get("payer"),
                                                                 e.get("provider"))]
                if not found:
                    continue
                now = Viewer(viewer.principal, ledger)  # a role that ends hears no more
                if READ_CLAIM_EVENTS.view(now, payer=org, provider=org) is None:
                    yield ServerSentEvent(event="closed", data={
                        "code": "FORBIDDEN_READ", "height": block.header.height})
                    return
                for result, event in found:
                    data = {k: v for k, v in event.items() if k not in ("kind", "patient")}
                    yield ServerSentEvent(event=event["kind"], id=result.id.hex(),
                                          data={**data, "height": block.header.height})
        finally:
            blocks.close()

    return router
