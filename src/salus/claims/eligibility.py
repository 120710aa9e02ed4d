"""Eligibility: a ``CoverageEligibilityRequest`` read, and its ``CoverageEligibilityResponse``
built, as pure functions (issue 17 item 1; docs/claims.md, "Eligibility").

The operation is FHIR's own ``[base]/CoverageEligibilityRequest/$submit``
(OperationDefinition ``CoverageEligibilityRequest-submit``, Financial Management): its
input a Bundle holding one CoverageEligibilityRequest "plus referenced resources", its
output one CoverageEligibilityResponse. Salus asks for the Bundle because the member is
found as ``Claim/$submit`` finds her: from the ids of the request's focal Coverage
(``identifier``, ``subscriberId``), which must therefore travel with it; no Salus id is
needed, so an X12 270-style client works unchanged.

Reading is PAS's (:mod:`salus.claims.pas_request`): the same size cap, strict JSON, every
entry against its R4 model and the required bindings, references resolved inside the
Bundle; every problem one issue of one OperationOutcome (:class:`PasRefused`), whose
diagnostics never quote a submitted value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from salus.claims import pas_request as pr
from salus.claims.pas_request import Member, Party, PasRefused
from salus.records.fhir_ingest import Issue

REQUEST = "CoverageEligibilityRequest"
RESPONSE = "CoverageEligibilityResponse"
#: FHIR eligibilityrequest-purpose (required binding).
PURPOSES = ("auth-requirements", "benefits", "discovery", "validation")


@dataclass(frozen=True, slots=True)
class EligibilityRequest:
    """What the payer answers from: the member's ids, the insurer as named, the day asked
    about (None: today), and what is echoed back."""

    member: Member
    payer: Party
    provider: Party | None
    patient_reference: str
    request_reference: str | None
    identifier: pr.Identifier | None
    purpose: tuple[str, ...]
    serviced_date: str | None


def read(body: bytes) -> EligibilityRequest:
    """A ``CoverageEligibilityRequest/$submit`` Bundle (the request first, its Patient and
    focal Coverage among the entries), or :class:`PasRefused` with every issue found."""
    doc = pr._load(body)
    if isinstance(doc, dict) and doc.get("resourceType") == REQUEST:
        raise PasRefused([Issue(REQUEST, "send a Bundle holding the request, its Patient and "
                                         "its Coverage: the Coverage names the member",
                                "structure")])
    issues = pr._Issues()
    entries = pr._entries(doc, issues)
    pr._validate(doc, entries, issues)
    index = pr._Index(entries, issues)
    first = entries[0] if entries else None
    if first is None or first.resource["resourceType"] != REQUEST:
        issues.add("Bundle.entry[0].resource", f"the first entry is the {REQUEST}", "structure")
        issues.raise_if_any()
        raise PasRefused([Issue("Bundle.entry[0].resource", f"not a {REQUEST}")])
    res, where = first.resource, first.where
    pr._unknown_modifiers(res, where, issues)
    if res.get("status") not in pr.CLAIM_STATUS:
        issues.add(f"{where}.status", "a request's status is active, cancelled, draft or "
                                      "entered-in-error", "code-invalid")
    elif res["status"] != "active":
        issues.add(f"{where}.status", "only an active request is answered", "business-rule")
    purpose = tuple(p for p in pr._l(res.get("purpose")) if isinstance(p, str))
    if not purpose or any(p not in PURPOSES for p in purpose):
        issues.add(f"{where}.purpose", "a purpose is auth-requirements, benefits, discovery or "
                                       "validation", "code-invalid")
    served = pr._full_date(res.get("servicedDate"), f"{where}.servicedDate", issues)
    if "servicedPeriod" in res:
        issues.add(f"{where}.servicedPeriod", "ask about one day (servicedDate); without it, "
                                              "today", "not-supported")
    patient = pr._s(pr._d(res.get("patient")).get("reference"))
    patient_entry = index.get(patient)
    if patient_entry is None or patient_entry.resource["resourceType"] != "Patient":
        issues.add(f"{where}.patient", "the patient must be a Patient entry of the Bundle",
                   "required")
    member = _member(res, where, index, patient, issues)
    payer = pr._party(res.get("insurer"), f"{where}.insurer", index, issues)
    provider = pr._party(res["provider"], f"{where}.provider", index, issues) \
        if "provider" in res else None
    ident = pr._identifiers(res.get("identifier"), f"{where}.identifier", issues)
    issues.raise_if_any()
    assert member is not None and patient is not None  # else an issue was raised
    return EligibilityRequest(
        member=member, payer=payer, provider=provider, patient_reference=patient,
        request_reference=first.full_url or (f"{REQUEST}/{res['id']}" if res.get("id")
                                             else None),
        identifier=ident[0] if ident else None, purpose=purpose, serviced_date=served)


def _member(res: dict[str, Any], where: str, index: pr._Index, patient: str | None,
            issues: pr._Issues) -> Member | None:
    """The focal Coverage's member ids (as a Claim's, :func:`pas_request._coverage`)."""
    insurances = pr._l(res.get("insurance"))
    focal = [i for i, raw in enumerate(insurances) if pr._d(raw).get("focal") is True]
    if len(insurances) == 1 and not focal:
        focal = [0]  # one coverage named: it is the one asked about
    if len(focal) != 1:
        issues.add(f"{where}.insurance", "exactly one insurance is focal: the coverage asked "
                                         "about", "business-rule")
        return None
    claim_like = {"insurance": [{**pr._d(raw), "focal": i == focal[0]}
                                for i, raw in enumerate(insurances)],
                  "patient": {"reference": patient}}
    member, _coverage, refs = pr._coverage(claim_like, where, index, issues)
    if refs:
        issues.add(f"{where}.insurance[{focal[0]}].preAuthRef", "an eligibility request "
                                                                "cites no authorisation",
                   "not-supported")
    return member


def response(request: EligibilityRequest, *, response_id: str, created: str, day: str,
             inforce: bool, period: tuple[str, str | None]) -> dict[str, Any]:
    """The CoverageEligibilityResponse: ``inforce`` on ``day`` (the request's servicedDate,
    or today), the coverage's ``period`` as ``benefitPeriod``, outcome complete; validated
    against the R4 model before it is returned."""
    start, end = period
    benefit: dict[str, str] = {"start": start, **({"end": end} if end else {})}
    said = "in force" if inforce else "not in force"
    out: dict[str, Any] = {
        "resourceType": RESPONSE, "id": response_id, "status": "active",
        "purpose": list(request.purpose), "patient": {"reference": request.patient_reference},
        "created": created, "request": _request_reference(request),
        "outcome": "complete", "disposition": f"Coverage {said} on {day}.",
        "insurer": request.payer.fhir(), "servicedDate": day,
        "insurance": [{"coverage": {"reference": request.member.coverage_reference},
                       "inforce": inforce, "benefitPeriod": benefit}]}
    if request.provider is not None:
        out["requestor"] = request.provider.fhir()
    get_fhir_model_class(RESPONSE).model_validate(out)
    return out


def _request_reference(request: EligibilityRequest) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if request.request_reference:
        out["reference"] = request.request_reference
    if request.identifier is not None:
        out["identifier"] = request.identifier.fhir()
    return out or {"display": "the CoverageEligibilityRequest submitted"}


def in_force(coverage: dict[str, Any], day: str) -> bool:
    """Whether a ledger coverage (``start``, ``end`` as YYYY-MM-DD, end inclusive or None)
    covers ``day``."""
    return coverage["start"] <= day and (coverage["end"] is None or day <= coverage["end"])
