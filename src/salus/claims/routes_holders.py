"""Claims reads for whoever holds a claim, beside the PAS routes (issue 17; docs/claims.md,
"Eligibility" and "Verifying without a copy of the ledger").

* ``POST /fhir/CoverageEligibilityRequest/$submit``: FHIR's eligibility operation, for a
  registrar or clinician of a provider: is the member's coverage in force on a day?
  Answered from the ledger's coverage; nothing is recorded.
* ``GET /v1/claims/requests/{request}/ledger``: exactly the ledger values
  ``salus claims verify`` reads for one request, for the request's patient, its
  provider's registrars and clinicians, its payer's reviewers, auditors and regulators.

FastAPI needs real annotations here, so no ``from __future__ import annotations``.
"""

import hashlib
import re
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from salus.api.auth import Principal
from salus.api.body import read_capped
from salus.api.errors import ApiError
from salus.api.read_rules import OVERSEERS, Own, ReadRule, Sees, ViewerDep
from salus.claims import eligibility
from salus.claims import submission as sub
from salus.claims.contracts.layout import (
    PROVIDER_ROLES,
    PROVIDER_TYPES,
    coverage_key,
    request_key,
    rules_key,
)
from salus.claims.pas_request import MAX_BUNDLE_BYTES, PasRefused
from salus.claims.routes import PAYER_REVIEWERS, PROVIDER_STAFF, claims_of
from salus.clock import iso_from_ms, wall_clock_ms
from salus.ledger.members import has_role, member_key, org_key
from salus.records.contracts.layout import record_key
from salus.records.routes_fhir import FHIR_JSON

ELIGIBILITY_PATH = "/fhir/CoverageEligibilityRequest/$submit"
_REQUEST = re.compile(r"[0-9a-f]{64}")
READ_CLAIM_LEDGER = ReadRule("GET", "/v1/claims/requests/{request}/ledger", (
    Sees((Own("patient", "patient"), PROVIDER_STAFF, PAYER_REVIEWERS, *OVERSEERS),
         "the ledger values `salus claims verify` reads for one request: the request as "
         "recorded (decisions, and the facts each was made on), the rule set of its recorded "
         "version, its coverage, and the custodian and patient of each record it cites"),))


def provider_org(get: Any, caller: dict[str, Any] | None, height: int) -> str:
    """The caller's provider organisation, if they are its registrar or clinician now."""
    org = None if caller is None else caller.get("org")
    if org is None or (get(org_key(org)) or {}).get("type") not in PROVIDER_TYPES or not any(
            has_role(get, caller, role, org, height) for role in PROVIDER_ROLES):
        raise ApiError(403, "FORBIDDEN", f"eligibility is asked by a {' or '.join(PROVIDER_ROLES)}"
                                         " of a hospital, lab or pharmacy")
    return str(org)


def ledger_values(get: Callable[[str], Any], request: dict[str, Any]) -> dict[str, Any]:
    """What :func:`salus.claims.verify.verify` (and the CLI around it) read of the ledger
    for ``request``, by state key. Of a cited record only what
    :func:`salus.claims.facts.from_snapshot` reads: its custodian and patient."""
    out = {request_key(request["id"]): request,
           rules_key(request["rules"]): get(rules_key(request["rules"])),
           coverage_key(request["coverage"]): get(coverage_key(request["coverage"]))}
    for cited in request["evidence"]:
        found = get(record_key(cited["record"])) or {}
        out[record_key(cited["record"])] = {"custodian": found.get("custodian"),
                                            "patient": found.get("patient")}
    return out


def build_router(member: Callable[..., Any]) -> APIRouter:
    router = APIRouter(tags=["claims"])
    Member = Annotated[Principal, Depends(member)]

    @router.post(ELIGIBILITY_PATH, summary="FHIR CoverageEligibilityRequest/$submit: is the "
                                           "member's coverage in force (a provider's staff)")
    async def eligibility_submit(request: Request, principal: Member) -> JSONResponse:
        service = claims_of(request)
        ledger = service.node.ledger
        get = ledger.state_value
        provider_org(get, get(member_key(principal.member_id)), ledger.height)
        body = await read_capped(request, MAX_BUNDLE_BYTES)
        try:
            asked = eligibility.read(body)
            # find_coverage reads only the payer named and the member's ids
            _payer, coverage = sub.find_coverage(service, asked, get)  # type: ignore[arg-type]
        except PasRefused as exc:
            return JSONResponse(exc.outcome(), exc.status, media_type=FHIR_JSON)
        except sub.ClaimsError as exc:
            raise ApiError(exc.status, exc.code, exc.reason) from None
        # "today" is the ledger's: the day of its latest block, the clock every claims
        # decision is judged by (a servicedDate asks about another day)
        day = asked.serviced_date or iso_from_ms(ledger.head.time)[:10]
        answer = eligibility.response(
            asked, response_id=hashlib.sha256(body).hexdigest(),
            created=iso_from_ms(wall_clock_ms()), day=day,
            inforce=eligibility.in_force(coverage, day),
            period=(coverage["start"], coverage["end"]))
        return JSONResponse(answer, media_type=FHIR_JSON)

    @READ_CLAIM_LEDGER.route(router, summary="What `salus claims verify` reads of the ledger "
                                             "for one request")
    async def claim_ledger(request: Request, viewer: ViewerDep) -> dict[str, Any]:
        rid = request.path_params["request"]
        if not _REQUEST.fullmatch(rid):
            raise ApiError(400, "BAD_REQUEST", "a request id is 64 lowercase hex digits")
        ledger = request.app.state.node.ledger
        height = ledger.height
        found = ledger.state_value(request_key(rid)) or {}
        # the rule first: whether a request exists is itself not everyone's
        READ_CLAIM_LEDGER.check(viewer, patient=found.get("patient"),
                                provider=found.get("provider"), payer=found.get("payer"))
        if not found:
            raise ApiError(404, "NOT_FOUND", f"no claims request {rid}")
        return {"request": rid, "height": height,
                "state": ledger_values(ledger.state_value, found)}

    return router
