"""FHIR R4 resources Salus produces: OperationOutcome, Consent, AuditEvent, Provenance,
Bundle and the CapabilityStatement of the FHIR facade.

Ledger times are ms since the epoch; FHIR wants instants, so they are written as UTC.
A patient's FHIR id is their did:key without the ``did:key:`` prefix (a did's colons are
not allowed in FHIR ids).
"""

from __future__ import annotations

from typing import Any

import salus
from salus.clock import iso_from_ms
from salus.records.fhir_ingest import Issue

DID_PREFIX = "did:key:"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
AUDIT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
RESTFUL = "http://hl7.org/fhir/restful-interaction"
SEARCH_TYPES = ("Observation", "Condition", "MedicationStatement", "MedicationRequest",
                "AllergyIntolerance", "Immunization", "Procedure", "DiagnosticReport", "Encounter",
                "DocumentReference", "ImagingStudy", "QuestionnaireResponse")


def patient_fhir_id(did: str) -> str:
    return did.removeprefix(DID_PREFIX)


def patient_did(fhir_id: str) -> str:
    return DID_PREFIX + fhir_id


instant = iso_from_ms


def operation_outcome(issues: list[Issue], severity: str = "error") -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": [
        {"severity": severity, "code": i.code, "diagnostics": i.diagnostics}
        | ({"expression": [i.expression]} if i.expression else {}) for i in issues]}


def bundle(kind: str, resources: list[dict[str, Any]], base: str) -> dict[str, Any]:
    out: dict[str, Any] = {"resourceType": "Bundle", "type": kind}
    if kind == "searchset":
        out["total"] = len(resources)
    out["entry"] = [{"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r}
                    for r in resources]
    return out


def _grantee_actor(grantee: dict[str, Any]) -> dict[str, Any]:
    if "member" in grantee:
        ref = {"identifier": {"system": "urn:ietf:rfc:3986", "value": grantee["member"]},
               "type": "Practitioner"}
    elif "role" in grantee:
        ref = {"display": f"role {grantee['role']}" + (f" in {grantee['org']}" if "org" in grantee
                                                        else "")}
    else:
        ref = {"identifier": {"system": "urn:salus:org", "value": grantee["org"]},
               "type": "Organization"}
    return {"role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                                 "code": "IRCP", "display": "information recipient"}]},
            "reference": ref}


def consent(patient: str, grant: dict[str, Any], now: int) -> dict[str, Any]:
    """A grant as a FHIR R4 Consent (patient-privacy scope, permit provision)."""
    in_force = grant["status"] == "active" and (grant["end"] is None or now < grant["end"])
    provision: dict[str, Any] = {
        "type": "permit",
        "actor": [_grantee_actor(grant["grantee"])],
        "action": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentaction",
                                "code": "access"}]}],
        "purpose": [{"system": ACT_REASON, "code": p} for p in grant["purposes"]],
    }
    period = {k: instant(grant[s]) for k, s in (("start", "start"), ("end", "end")) if grant[s]}
    if period:
        provision["period"] = period
    if grant["resource_types"]:
        provision["class"] = [{"system": "http://hl7.org/fhir/resource-types", "code": t}
                              for t in grant["resource_types"]]
    if grant["records"]:
        provision["data"] = [{"meaning": "instance", "reference": {"reference": f"Resource/{r}"}}
                             for r in grant["records"]]
    return {
        "resourceType": "Consent", "id": grant["id"],
        "status": "active" if in_force else "inactive",
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope",
                              "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": f"Patient/{patient_fhir_id(patient)}"},
        "dateTime": instant(grant["granted_time"]),
        "policyRule": {"coding": [{"system": ACT_REASON, "code": "OPTIN"}]},
        "provision": provision,
    }


def audit_event(key: str, entry: dict[str, Any]) -> dict[str, Any]:
    """An access entry as FHIR R4 AuditEvent (DICOM 110110 Patient Record; 110113 + 110127
    Emergency Override Started for break-glass)."""
    emergency = entry.get("emergency", False)
    if emergency:
        kind = {"system": DCM, "code": "110113", "display": "Security Alert"}
        subtype = [{"system": DCM, "code": "110127", "display": "Emergency Override Started"}]
    else:
        kind = {"system": DCM, "code": "110110", "display": "Patient Record"}
        subtype = [{"system": RESTFUL, "code": "read"}]
    # 0 success; 4 minor failure: refused, or allowed but nothing released
    granted = entry["outcome"] in ("granted", "override_started")
    agent: dict[str, Any] = {
        "requestor": True,
        "who": {"identifier": {"system": "urn:ietf:rfc:3986", "value": entry["requester"] or "unknown"}},
        "purposeOfUse": [{"coding": [{"system": ACT_REASON, "code": entry["purpose"]}]}],
    }
    if entry.get("requester_org"):
        agent["who"]["display"] = f"member of {entry['requester_org']}"
    event: dict[str, Any] = {
        "resourceType": "AuditEvent", "id": key.replace("/", "-")[-64:],
        "type": kind, "subtype": subtype, "action": "R",
        "recorded": instant(entry["at"]),
        "outcome": "0" if granted else "4",
        "outcomeDesc": entry["code"],
        "purposeOfEvent": [{"coding": [{"system": ACT_REASON, "code": entry["purpose"]}]}],
        "agent": [agent],
        "source": {"observer": {"display": f"salus gateway of {entry.get('custodian') or 'ledger'}"},
                   "type": [{"system": "http://terminology.hl7.org/CodeSystem/security-source-type",
                             "code": "4", "display": "Application Server"}]},
        "entity": [],
    }
    if entry.get("patient"):
        event["entity"].append({"what": {"reference": f"Patient/{patient_fhir_id(entry['patient'])}"},
                                "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                                         "code": "1"}})
    if entry.get("record"):
        event["entity"].append({"what": {"identifier": {"system": "urn:salus:record",
                                                        "value": entry["record"]}},
                                "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                                         "code": "2"}})
    return event


def provenance(resource: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    """Where a served resource came from: custodian, ledger registration, version chain."""
    entity = [{"role": "revision", "what": {"identifier": {"system": "urn:salus:content-hash",
                                                           "value": record["amends"]}}}
              ] if record.get("amends") else []
    return {
        "resourceType": "Provenance", "id": f"prov-{record['id']}"[:64],
        "target": [{"reference": f"{resource['resourceType']}/{resource['id']}"}],
        "recorded": instant(record["time"]),
        "agent": [{"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                                        "code": "custodian"}]},
                   "who": {"identifier": {"system": "urn:salus:org", "value": record["custodian"]}}}],
        "entity": entity,
        "policy": [f"urn:salus:record:{record['id']}:v{record['version']}:{record['hash']}"],
    }


def capability_statement(base: str, now: int) -> dict[str, Any]:
    search = [{"name": "patient", "type": "reference"}, {"name": "code", "type": "token"}]
    resources = [{"type": "Patient", "interaction": [{"code": "read"}],
                  "operation": [{"name": "everything",
                                 "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"}]}]
    resources += [{"type": t, "interaction": [{"code": "read"}, {"code": "search-type"}],
                   "searchParam": search} for t in SEARCH_TYPES]
    resources += [{"type": "Binary", "interaction": [{"code": "read"}]},
                  {"type": "Consent", "interaction": [{"code": "search-type"}],
                   "searchParam": [search[0]]},
                  {"type": "AuditEvent", "interaction": [{"code": "search-type"}],
                   "searchParam": [search[0]]}]
    return {
        "resourceType": "CapabilityStatement", "status": "active", "date": instant(now),
        "kind": "instance", "fhirVersion": "4.0.1", "format": ["json"],
        "software": {"name": "Salus", "version": salus.__version__},
        "implementation": {"description": "Salus FHIR facade: consent-checked, audited reads",
                           "url": base},
        "rest": [{"mode": "server", "security": {
            "service": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                     "code": "SMART-on-FHIR"}]}],
            "description": "Bearer token from POST /v1/auth/token (JWT client assertion). "
                           "Purpose of use in the X-Purpose-Of-Use header (default TREAT)."},
            "resource": resources}],
    }
