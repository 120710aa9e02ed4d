"""FHIR documents a provider's system sends the claims services, as the demo sends them:
a Da Vinci PAS request Bundle (``Claim/$submit``) and an eligibility Bundle
(``CoverageEligibilityRequest/$submit``). The member is named only as a payer knows her
(the Coverage's member id); the insurer by its Salus organisation id, the provider and
practitioner by NPI, the practitioner also by licence number (the claims service finds
the licence credential by it). Every person and number in them is invented."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TERMINOLOGY = "http://terminology.hl7.org/CodeSystem/"
CPT = "http://www.ama-assn.org/go/cpt"
POS = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
NPI = "http://hl7.org/fhir/sid/us-npi"
SALUS_ORG = "urn:salus:org"
MEMBER_ID = "http://example.org/member-id"
LICENCE = "http://example.org/us-ca/medical-board/licence"
TRACE = "http://example.org/PATIENT_EVENT_TRACE_NUMBER"
BASE = "http://example.org/fhir/"


@dataclass(frozen=True)
class Patient:
    """The provider's copy of the patient: its own id, her demographics, her member id."""

    mrn: str
    family: str
    given: str
    gender: str
    birth_date: str
    member_id: str


@dataclass(frozen=True)
class Practitioner:
    npi: str
    licence: str
    family: str


@dataclass(frozen=True)
class Provider:
    org: str
    npi: str
    name: str


@dataclass(frozen=True)
class Line:
    """One service line: CPT code, units, date of service, place, billed cents (a claim)."""

    code: str
    units: int
    date: str
    place: str = "11"
    cents: int | None = None


@dataclass(frozen=True)
class Parties:
    """Whom a document is between: the payer (its Salus id), provider, practitioner."""

    payer: str
    provider: Provider
    practitioner: Practitioner


def _entry(kind: str, rid: str, **body: Any) -> dict[str, Any]:
    return {"fullUrl": f"{BASE}{kind}/{rid}", "resource": {"resourceType": kind, "id": rid,
                                                           **body}}


def _shared(patient: Patient, parties: Parties) -> list[dict[str, Any]]:
    """The Patient, the member's Coverage, the payer, the provider and the practitioner."""
    p, doc = parties.provider, parties.practitioner
    return [
        _entry("Coverage", "coverage", status="active",
               identifier=[{"system": MEMBER_ID, "value": patient.member_id}],
               subscriberId=patient.member_id,
               beneficiary={"reference": f"Patient/{patient.mrn}"},
               payor=[{"reference": "Organization/payer"}]),
        _entry("Patient", patient.mrn, name=[{"family": patient.family,
                                              "given": [patient.given]}],
               gender=patient.gender, birthDate=patient.birth_date),
        _entry("Organization", "payer", identifier=[{"system": SALUS_ORG,
                                                     "value": parties.payer}]),
        _entry("Organization", "provider", name=p.name,
               identifier=[{"system": NPI, "value": p.npi}]),
        _entry("Practitioner", "practitioner", name=[{"family": doc.family}],
               identifier=[{"system": NPI, "value": doc.npi},
                           {"system": LICENCE, "value": doc.licence}]),
    ]


def pas_request(use: str, trace: str, created: str, patient: Patient, parties: Parties,
                lines: list[Line], *, expedited: bool = False,
                pre_auth_refs: tuple[str, ...] = ()) -> dict[str, Any]:
    """A PAS request Bundle (``use``: ``preauthorization`` or ``claim``), the Claim first;
    ``trace`` is the provider's number for it, ``created`` its dateTime."""
    items = []
    for i, line in enumerate(lines, start=1):
        item: dict[str, Any] = {
            "sequence": i, "careTeamSequence": [1],
            "productOrService": {"coding": [{"system": CPT, "code": line.code}]},
            "servicedDate": line.date, "quantity": {"value": line.units},
            "locationCodeableConcept": {"coding": [{"system": POS, "code": line.place}]}}
        if line.cents is not None:
            item["net"] = {"value": line.cents / 100, "currency": "USD"}
        items.append(item)
    insurance: dict[str, Any] = {"sequence": 1, "focal": True,
                                 "coverage": {"reference": "Coverage/coverage"}}
    if pre_auth_refs:
        insurance["preAuthRef"] = list(pre_auth_refs)
    claim = {
        "resourceType": "Claim", "id": trace, "status": "active",
        "identifier": [{"system": TRACE, "value": trace}],
        "type": {"coding": [{"system": TERMINOLOGY + "claim-type", "code": "professional"}]},
        "use": use, "patient": {"reference": f"Patient/{patient.mrn}"}, "created": created,
        "insurer": {"reference": "Organization/payer"},
        "provider": {"reference": "Organization/provider"},
        "priority": {"coding": [{"system": TERMINOLOGY + "processpriority",
                                 "code": "stat" if expedited else "normal"}]},
        "careTeam": [{"sequence": 1, "provider": {"reference": "Practitioner/practitioner"}}],
        "insurance": [insurance], "item": items}
    return {"resourceType": "Bundle", "type": "collection",
            "identifier": {"system": "http://example.org/SUBMITTER_TRANSACTION_IDENTIFIER",
                           "value": f"T-{trace}"},
            "entry": [{"fullUrl": f"{BASE}Claim/{trace}", "resource": claim},
                      *_shared(patient, parties)]}


def eligibility_request(trace: str, created: str, patient: Patient, parties: Parties,
                        day: str | None = None) -> dict[str, Any]:
    """A CoverageEligibilityRequest Bundle (FHIR's ``$submit`` input): is the member's
    coverage in force on ``day`` (None: today)?"""
    request: dict[str, Any] = {
        "resourceType": "CoverageEligibilityRequest", "id": trace, "status": "active",
        "identifier": [{"system": TRACE, "value": trace}],
        "purpose": ["validation"], "patient": {"reference": f"Patient/{patient.mrn}"},
        "created": created, "insurer": {"reference": "Organization/payer"},
        "provider": {"reference": "Organization/provider"},
        "insurance": [{"focal": True, "coverage": {"reference": "Coverage/coverage"}}]}
    if day is not None:
        request["servicedDate"] = day
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [{"fullUrl": f"{BASE}CoverageEligibilityRequest/{trace}",
                       "resource": request}, *_shared(patient, parties)]}
