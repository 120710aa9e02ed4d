"""Where the records application keeps its state, and the vocabularies it accepts.

* ``record/<record id>`` -> ``{id, patient, custodian, type, hash, version, amends,
  author, request, height, time, status, history: [{version, hash, amends, author,
  request, height, time}]}``: ``author`` is the member whose signed ingest request
  registered the version, ``request`` that request's id (its leaf hash)
* ``patient-record/<patient>/<record id>`` -> ``{custodian, type}``: a patient's record
  index across every custodian
* ``consent/<patient>`` -> ``{patient, break_glass_opt_out, grants: {grant id: grant}}``
* ``emergency/<patient>/<clinician>`` -> the clinician's latest break-glass override
* ``emergency-session/<override id>`` -> every override, by id (what access entries cite)
* ``audit/<custodian>/<height>/<index>/<n>`` -> one access entry (granted or refused)
* ``access-log/<patient>/<height>/<index>/<n>`` -> the same entry, indexed for the patient
* ``review/<custodian>/<height>/<index>/<n>`` -> emergency accesses awaiting the privacy officer
* ``erasure/<patient>/<height>/<index>/0`` -> an erasure event (the ledger keeps the hashes)

Nothing here is personal health information: ids, pseudonymous dids, hashes, codes.
"""

from __future__ import annotations

import re

from salus.ledger.schema import one_of, reference, text

#: FHIR resource types a custodian may register (Binary carries large attachments;
#: QuestionnaireResponse is a completed survey, what rewards programmes count: issue 18).
RESOURCE_TYPES = frozenset({
    "Patient", "Encounter", "Observation", "Condition", "AllergyIntolerance",
    "MedicationRequest", "MedicationStatement", "Immunization", "Procedure",
    "DiagnosticReport", "DocumentReference", "ImagingStudy", "QuestionnaireResponse", "Binary",
})
#: HL7 v3 ActReason purposes of use (the subset health data sharing needs).
PURPOSES = frozenset({"TREAT", "ETREAT", "HPAYMT", "HOPERAT", "HRESCH", "PUBHLTH", "PATRQT"})
EMERGENCY_PURPOSE = "ETREAT"
#: Coded reasons for a break-glass override: free text could carry health information.
BREAK_GLASS_REASONS = frozenset({
    "unconscious", "unable_to_consent", "life_threatening", "no_proxy_available",
})
#: How long a break-glass override lasts (ms of block time).
BREAK_GLASS_MS = 60 * 60 * 1000
GATEWAY_ROLE = "gateway"
EMERGENCY_ROLE = "emergency_clinician"
PRIVACY_OFFICER_ROLE = "privacy_officer"

#: Record ids are made by the custodian (``r-`` and a keyed hash of the sender's ids, see
#: ``Custodian.record_id``) and double as FHIR resource ids.
RECORD_ID_PATTERN = "r-[0-9a-f]{32}"
RECORD_ID = re.compile(f"{RECORD_ID_PATTERN}\\Z")


def record_key(record: str) -> str:
    return f"record/{record}"


def patient_record_key(patient: str, record: str) -> str:
    return f"patient-record/{patient}/{record}"


def patient_records_prefix(patient: str) -> str:
    return f"patient-record/{patient}/"


def consent_key(patient: str) -> str:
    return f"consent/{patient}"


def emergency_key(patient: str, clinician: str) -> str:
    return f"emergency/{patient}/{clinician}"


def session_key(session: str) -> str:
    """A break-glass override by its id, kept for ever (``emergency/`` holds the latest)."""
    return f"emergency-session/{session}"


def entry_suffix(height: int, index: int, n: int) -> str:
    """``<height>/<tx index in block>/<n>``, zero-padded: a prefix scan is ledger order."""
    return f"{height:012d}/{index:05d}/{n:04d}"


def audit_prefix(custodian: str) -> str:
    return f"audit/{custodian}/"


def access_log_prefix(patient: str) -> str:
    return f"access-log/{patient}/"


def review_prefix(custodian: str) -> str:
    return f"review/{custodian}/"


def erasure_prefix(patient: str) -> str:
    return f"erasure/{patient}/"

#: Roles whose holders may author a record a custodian registers (sign its ingest request).
AUTHOR_ROLES = ("clinician", "emergency_clinician", "nurse", "registrar", "lab_technician",
                "pharmacist")


# -- argument types (salus.ledger.schema) ----------------------------------------------------
RecordId = text(RECORD_ID_PATTERN, 34, "a record id, as its custodian made it")
RecordRef = reference(RecordId, "record", record_key)
Purpose = one_of(PURPOSES, "purpose of use (HL7 v3 ActReason)")
ResourceType = one_of(RESOURCE_TYPES, "FHIR resource type")
GrantId = text("c-[0-9a-f]{24}", 26, "a consent grant id")
SessionId = text("bg-[0-9a-f]{24}", 27, "a break-glass override id")
