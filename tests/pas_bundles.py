"""PAS request Bundles for the claims tests: the reference implementation's examples
(tests/fixtures/pas/), with each change they need said where it is made, and a small
valid Bundle to break one element at a time."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures" / "pas"
TERMINOLOGY = "http://terminology.hl7.org/CodeSystem/"
CPT = "http://www.ama-assn.org/go/cpt"
POS = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
NPI = "http://hl7.org/fhir/sid/us-npi"
MEMBER = "10A3D58WH22"  # the Medicare id the examples' QuestionnaireResponse gives


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def encode(doc: Any) -> bytes:
    return json.dumps(doc, default=str).encode()


def resource(bundle: dict[str, Any], kind: str, rid: str | None = None) -> dict[str, Any]:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind
                and (rid is None or e["resource"].get("id") == rid))


def to_r4(bundle: dict[str, Any]) -> dict[str, Any]:
    """The STU3 shapes left in the 2019 examples, written as R4 says: Condition statuses as
    CodeableConcepts, QuestionnaireResponse answers as valueInteger, DeviceRequest.insurance
    as a list, Coverage.grouping as class, DeviceRequest.intent present."""
    for entry in bundle["entry"]:
        res = entry["resource"]
        kind = res["resourceType"]
        if kind == "Condition":
            for name, system in (("clinicalStatus", "condition-clinical"),
                                 ("verificationStatus", "condition-ver-status")):
                if isinstance(res.get(name), str):
                    res[name] = {"coding": [{"system": TERMINOLOGY + system, "code": res[name]}]}
        elif kind == "QuestionnaireResponse":
            _answers_to_r4(res.get("item", []))
        elif kind == "DeviceRequest":
            if isinstance(res.get("insurance"), dict):
                res["insurance"] = [res["insurance"]]
            res.setdefault("intent", "original-order")
        elif kind == "Coverage" and "grouping" in res:
            plan = res.pop("grouping")["plan"]
            res["class"] = [{"type": {"coding": [{"system": TERMINOLOGY + "coverage-class",
                                                  "code": "plan"}]}, "value": plan}]
    return bundle


def _answers_to_r4(items: list[dict[str, Any]]) -> None:
    for item in items:
        for answer in item.get("answer", []):
            if "integer" in answer:
                answer["valueInteger"] = int(answer.pop("integer"))
        _answers_to_r4(item.get("item", []))


def name_member(coverage: dict[str, Any], member: str = MEMBER) -> None:
    """What every example lacks to be decided: the member id the payer knows."""
    coverage["subscriberId"] = member


def coverage_entry(rid: str, patient: str, payer: str, member: str = MEMBER) -> dict[str, Any]:
    return {"fullUrl": f"http://example.org/fhir/Coverage/{rid}", "resource": {
        "resourceType": "Coverage", "id": rid, "status": "active",
        "identifier": [{"system": "http://example.org/MIN", "value": member}],
        "beneficiary": {"reference": patient}, "payor": [{"reference": payer}]}}


def service_item(sequence: int, code: str, **more: Any) -> dict[str, Any]:
    return {"sequence": sequence,
            "productOrService": {"coding": [{"system": CPT, "code": code}]}} | more


def minimal(use: str = "preauthorization") -> dict[str, Any]:
    """A valid PAS request: one item (CPT 70551, an MRI), a Coverage naming member M-1001,
    the requesting organisation and practitioner by NPI."""
    claim = {
        "resourceType": "Claim", "id": "req-1", "status": "active",
        "identifier": [{"system": "http://example.org/PATIENT_EVENT_TRACE_NUMBER",
                        "value": "111099"}],
        "type": {"coding": [{"system": TERMINOLOGY + "claim-type", "code": "professional"}]},
        "use": use, "patient": {"reference": "Patient/pat-1"}, "created": "2026-03-02T10:00:00Z",
        "insurer": {"reference": "Organization/payer"},
        "provider": {"reference": "Organization/clinic"},
        "priority": {"coding": [{"system": TERMINOLOGY + "processpriority", "code": "normal"}]},
        "careTeam": [{"sequence": 1, "provider": {"reference": "Practitioner/dr"}}],
        "insurance": [{"sequence": 1, "focal": True, "coverage": {"reference": "Coverage/cov"}}],
        "item": [service_item(1, "70551", servicedDate="2026-03-10", careTeamSequence=[1],
                              quantity={"value": 1}, net={"value": 1200.5, "currency": "USD"},
                              locationCodeableConcept={"coding": [{"system": POS, "code": "22"}]},
                              extension=[{"url": "http://hl7.org/fhir/us/davinci-pas/"
                                                 "StructureDefinition/extension-itemTraceNumber",
                                          "valueIdentifier": {"system": "http://example.org/TRN",
                                                              "value": "1122334"}}])],
    }
    return {"resourceType": "Bundle", "type": "collection",
            "identifier": {"system": "http://example.org/SUBMITTER_TRANSACTION_IDENTIFIER",
                           "value": "A12345"},
            "entry": [
                {"fullUrl": "http://example.org/fhir/Claim/req-1", "resource": claim},
                coverage_entry("cov", "Patient/pat-1", "Organization/payer", "M-1001"),
                {"fullUrl": "http://example.org/fhir/Patient/pat-1", "resource": {
                    "resourceType": "Patient", "id": "pat-1", "gender": "female"}},
                {"fullUrl": "http://example.org/fhir/Organization/payer", "resource": {
                    "resourceType": "Organization", "id": "payer", "identifier": [
                        {"system": NPI, "value": "1234567893"}]}},
                {"fullUrl": "http://example.org/fhir/Organization/clinic", "resource": {
                    "resourceType": "Organization", "id": "clinic", "identifier": [
                        {"system": NPI, "value": "8189991234"}]}},
                {"fullUrl": "http://example.org/fhir/Practitioner/dr", "resource": {
                    "resourceType": "Practitioner", "id": "dr", "identifier": [
                        {"system": NPI, "value": "1122334455"}]}},
            ]}


def claim_of(bundle: dict[str, Any]) -> dict[str, Any]:
    return bundle["entry"][0]["resource"]


def variant(change: Any, use: str = "preauthorization") -> bytes:
    """:func:`minimal` with ``change(bundle)`` applied, encoded."""
    bundle = copy.deepcopy(minimal(use))
    change(bundle)
    return encode(bundle)
