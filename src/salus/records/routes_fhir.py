"""The FHIR R4 REST facade: reads and searches over the records this node's custodians
hold, each one consent-checked by the gateway and written to the access log.

Authentication is the node's bearer token; the purpose of use comes from the
``X-Purpose-Of-Use`` header (an HL7 v3 ActReason code, default TREAT). Errors are FHIR
OperationOutcomes. FastAPI needs real annotations here (no ``from __future__``).

A record the ledger registered but whose custodian's vault cannot produce it as
registered (no copy, another hash, altered bytes: ``gateway.VAULT_CODES``) is withheld:
searches and ``$everything`` still answer with the patient's other records, and one
OperationOutcome entry (search mode ``outcome``) per withheld record says which and why.
"""

import hashlib
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse

from salus.api.auth import Principal
from salus.api.errors import ApiError
from salus.api.read_rules import ReadRule, Sees, ViewerDep, public
from salus.clock import wall_clock_ms
from salus.records import fhir_export
from salus.records.contracts.layout import PURPOSES, record_key
from salus.records.fhir_ingest import Issue
from salus.records.gateway import VAULT_CODES, Gateway, GatewayError, Requester
from salus.records.policy import listed_for
from salus.records.read_rules import CONSENT
from salus.records.routes import CONSENT_VIEW, READ_INDEX, consent_view, gateway_of

FHIR_JSON = "application/fhir+json"
#: A patient search parameter: a FHIR id (R4 datatype ``id``), alone or as a reference.
PatientParam = Annotated[str, Query(pattern=r"^(Patient/)?[A-Za-z0-9\-.]{1,64}$",
                                    description="the patient's FHIR id, or Patient/<id>")]


READ_METADATA = public("GET", "/fhir/metadata", "the CapabilityStatement")


def _consented(path: str, what: str) -> ReadRule:
    return ReadRule("GET", path, (Sees((CONSENT,), what),))


READ_PATIENT = _consented("/fhir/Patient/{patient_id}", "the patient's demographics")
READ_EVERYTHING = _consented("/fhir/Patient/{patient_id}/$everything",
                             "every record of the patient they may read, from every custodian "
                             "on this node, with provenance; what they may not, as outcomes")
READ_RESOURCE = _consented("/fhir/{resource_type}/{record_id}", "one record")
READ_SEARCH = _consented("/fhir/{resource_type}", "the patient's records of that type they "
                                                  "may read (and code)")
READ_FHIR_CONSENT = ReadRule("GET", "/fhir/Consent", CONSENT_VIEW)
ISSUE_CODE = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 409: "conflict",
              413: "too-costly", 429: "throttled",
              500: "exception", 503: "transient"}


def outcome(status: int, code: str, reason: str) -> JSONResponse:
    """An OperationOutcome; ``code`` is Salus's stable code (or a FHIR issue type)."""
    issue_type = ISSUE_CODE.get(status, "processing")
    text = reason if code == issue_type else f"{code}: {reason}"
    return JSONResponse(fhir_export.operation_outcome([Issue("", text, issue_type)]), status,
                        media_type=FHIR_JSON)


def fhir_base(request: Request) -> str:
    """The facade's base URL as this node's clients name it (``--public-url``), never the
    request's Host header, which any client sets: links in an answer point home."""
    return request.app.state.tokens.public_url + "/fhir"


def fhir(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, media_type=FHIR_JSON)


def _issue(record: dict[str, Any], exc: GatewayError, code: str) -> Issue:
    return Issue(f"{record['type']}/{record['id']}", f"{exc.code}: {exc.reason}", code)


def withheld_entries(withheld: list[Issue]) -> list[dict[str, Any]]:
    """One OperationOutcome entry per withheld record (search mode ``outcome``)."""
    return [{"resource": {**fhir_export.operation_outcome([issue]),
                          "id": "withheld-" + issue.expression.rsplit("/", 1)[-1]},
             "search": {"mode": "outcome"}} for issue in withheld]


def _request_hash(principal: Principal, request: Request) -> str:
    return hashlib.sha256(f"{principal.did}|{request.method} {request.url}|{time.time_ns()}"
                          .encode()).hexdigest()


class Reader:
    """One FHIR request's view: who asks, why, and the resources they may see."""

    def __init__(self, gateway: Gateway, principal: Principal, purpose: str, request: Request):
        self.gateway = gateway
        self.who: Requester = gateway.requester(principal.did)
        self.purpose = purpose
        self.request_hash = _request_hash(principal, request)

    async def resource(self, record: dict[str, Any]) -> dict[str, Any]:
        release = await self.gateway.read(self.who, record["custodian"], record["id"], self.purpose,
                                          self.request_hash)
        resource = self.gateway.plaintext(release)
        resource.setdefault("meta", {})["source"] = f"urn:salus:{record['custodian']}"
        return resource

    def records_of(self, patient: str, resource_type: str | None = None) -> list[dict[str, Any]]:
        """The patient's active records (of ``resource_type``) this reader asks for: a
        grantee only those their grants cover, so that neither the answer's outcome list
        nor the access log speaks of records outside the grant; a reader with no view of
        the index all of them, each refused and audited."""
        listed = listed_for(self.gateway.get, self.who.member, patient,
                            self.gateway.ledger.height, self.gateway.clock())
        return [r for r in self.gateway.patient_records(patient) if r["status"] == "active"
                and (resource_type is None or r["type"] == resource_type)
                and (listed is None or listed(r))]

    async def readable(self, records: list[dict[str, Any]]
                       ) -> tuple[list[tuple[dict[str, Any], dict[str, Any]]], list[Issue],
                                  list[Issue]]:
        """Read each record the requester may. Returns what was read, the records not
        served to this reader (refused, or held elsewhere) and the records withheld
        because the vault cannot produce them as registered. Any other failure (the
        audit trail unavailable) fails the whole answer: nothing unaudited is served."""
        found, issues, withheld = [], [], []
        for record in records:
            if record["custodian"] not in self.gateway.custodians:
                issues.append(Issue(f"{record['type']}/{record['id']}",
                                    f"held by {record['custodian']}, whose gateway is not on this "
                                    "node", "not-found"))
                continue
            try:
                found.append((record, await self.resource(record)))
            except GatewayError as exc:
                if exc.code in VAULT_CODES:
                    withheld.append(_issue(record, exc, "exception"))
                elif exc.status >= 500:
                    raise
                else:
                    issues.append(_issue(record, exc, "forbidden"))
        return found, issues, withheld


def _codes(resource: dict[str, Any]) -> set[str]:
    out = set()
    for field in ("code", "vaccineCode", "medicationCodeableConcept"):
        concept = resource.get(field)
        for coding in (concept or {}).get("coding", []) if isinstance(concept, dict) else []:
            out.add(coding.get("code"))
            out.add(f"{coding.get('system')}|{coding.get('code')}")
    return out


#: What a reader who may not see a patient's index is told when nothing is theirs to read.
NOTHING_FOR_YOU = ("NO_CONSENT: no grant, break-glass or role of yours covers this patient's "
                   "records")


def build_router(member: Any) -> APIRouter:
    router = APIRouter(prefix="/fhir", tags=["fhir"])
    Member = Annotated[Principal, Depends(member)]
    Purpose = Annotated[str, Header(alias="X-Purpose-Of-Use",
                                    pattern=f"^({'|'.join(sorted(PURPOSES))})$",
                                    description="an HL7 v3 ActReason purpose of use")]

    def reader(request: Request, principal: Principal, purpose: str) -> Reader:
        return Reader(gateway_of(request), principal, purpose, request)

    def nothing_for(viewer: Any, patient: str, request: Request, otherwise: JSONResponse
                    ) -> JSONResponse:
        """The answer when the reader gets nothing: ``otherwise`` (404 no records, or 403
        naming the refused records) for one who may see the patient's index (or the part
        their grants cover) anyway; for anyone else one refusal, the same whether the
        patient has records or not, so that it tells nobody whether (or how many)
        records exist."""
        if READ_INDEX.view(viewer, patient=patient, now=gateway_of(request).clock()) in (
                "all", "granted"):
            return otherwise
        return outcome(403, "forbidden", NOTHING_FOR_YOU)

    @READ_METADATA.route(router, summary="CapabilityStatement")
    async def metadata(request: Request) -> JSONResponse:
        return fhir(fhir_export.capability_statement(fhir_base(request),
                                                     wall_clock_ms()))

    @READ_PATIENT.route(router, summary="The patient's demographics (consent-checked)")
    async def read_patient(patient_id: str, request: Request, principal: Member,
                           viewer: ViewerDep, purpose: Purpose = "TREAT") -> JSONResponse:
        r = reader(request, principal, purpose)
        patient = fhir_export.patient_did(patient_id)
        records = r.records_of(patient, "Patient")
        if not records:
            return nothing_for(viewer, patient, request, outcome(
                404, "not-found", f"no Patient resource is registered for {patient_id}"))
        try:
            found, issues, withheld = await r.readable(sorted(records, key=lambda x: -x["time"]))
        except GatewayError as exc:
            return outcome(exc.status, exc.code, exc.reason)
        if not found and withheld:  # the reader may see it, but no copy can be served
            return outcome(500, "exception", "; ".join(i.diagnostics for i in withheld))
        if not found:
            return nothing_for(viewer, patient, request, outcome(
                403, "forbidden", "; ".join(sorted({i.diagnostics for i in issues}))))
        resource = found[0][1]
        resource["id"] = patient_id
        return fhir(resource)

    @READ_EVERYTHING.route(router, summary="Everything readable about a patient, merged "
                                           "across custodians")
    async def everything(patient_id: str, request: Request, principal: Member,
                         viewer: ViewerDep, purpose: Purpose = "TREAT") -> JSONResponse:
        r = reader(request, principal, purpose)
        patient = fhir_export.patient_did(patient_id)
        records = r.records_of(patient)
        if not records:
            return nothing_for(viewer, patient, request, outcome(
                404, "not-found", f"no records are registered for {patient_id}"))
        try:
            found, issues, withheld = await r.readable(records)
        except GatewayError as exc:
            return outcome(exc.status, exc.code, exc.reason)
        if not found and not withheld:
            return nothing_for(viewer, patient, request, outcome(
                403, "forbidden", "; ".join(i.diagnostics for i in issues) or "no access"))
        resources = []
        for record, resource in found:
            if resource["resourceType"] == "Patient":
                resource["id"] = patient_id
            resources.append(resource)
            resources.append(fhir_export.provenance(resource, record))
        base = fhir_base(request)
        out = fhir_export.bundle("searchset", resources, base)
        if issues:
            out["entry"].append({"resource": {**fhir_export.operation_outcome(issues, "warning"),
                                              "id": "not-served"},
                                 "search": {"mode": "outcome"}})
        out["entry"] += withheld_entries(withheld)
        return fhir(out)

    @READ_FHIR_CONSENT.route(router, summary="A patient's consents (the patient, grantees: "
                                             "the grants naming them, overseers)")
    async def consents(request: Request, viewer: ViewerDep, patient: PatientParam) -> JSONResponse:
        did = fhir_export.patient_did(patient.removeprefix("Patient/"))
        gateway = gateway_of(request)
        try:
            doc = consent_view(viewer, did, gateway, READ_FHIR_CONSENT)
        except ApiError as exc:
            if exc.status == 401:
                raise
            return outcome(exc.status, exc.code, exc.reason)
        return fhir(fhir_export.bundle("searchset", [
            fhir_export.consent(did, g, gateway.clock()) for g in doc["grants"].values()],
            fhir_base(request)))

    @READ_RESOURCE.route(router, summary="Read one record (consent-checked)")
    async def read_one(resource_type: str, record_id: str, request: Request, principal: Member,
                       purpose: Purpose = "TREAT") -> JSONResponse:
        r = reader(request, principal, purpose)
        record = r.gateway.get(record_key(record_id))
        if record is None or record["type"] != resource_type:
            return outcome(404, "not-found", f"no {resource_type}/{record_id}")
        if record["custodian"] not in r.gateway.custodians:
            return outcome(404, "not-found", f"held by {record['custodian']}, not on this node")
        try:
            return fhir(await r.resource(record))
        except GatewayError as exc:
            return outcome(exc.status, exc.code, exc.reason)

    @READ_SEARCH.route(router, summary="Search by patient (and code)")
    async def search(resource_type: str, request: Request, principal: Member, patient: PatientParam,
                     code: str | None = None, purpose: Purpose = "TREAT") -> JSONResponse:
        if resource_type not in fhir_export.SEARCH_TYPES:
            return outcome(400, "not-supported", f"search on {resource_type} is not supported; "
                                                 f"see /fhir/metadata")
        r = reader(request, principal, purpose)
        did = fhir_export.patient_did(patient.removeprefix("Patient/"))
        try:
            found, _refused, withheld = await r.readable(r.records_of(did, resource_type))
        except GatewayError as exc:
            return outcome(exc.status, exc.code, exc.reason)
        wanted = set(code.split(",")) if code else None
        resources = [res for _rec, res in found if wanted is None or _codes(res) & wanted]
        out = fhir_export.bundle("searchset", resources, fhir_base(request))
        # A withheld record's codes cannot be read, so it is reported whatever ``code`` asked.
        out["entry"] += withheld_entries(withheld)
        return fhir(out)

    return router

