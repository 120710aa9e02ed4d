"""Where the records application keeps its state, and the vocabularies it accepts.

* ``record/<record id>`` -> ``{id, patient, custodian, type, hash, version, amends,
  author, height, time, status, history: [{version, hash, amends, height, time}]}``
* ``patient-record/<patient>/<record id>`` -> ``{custodian, type}``: a patient's record
  index across every custodian
* ``consent/<patient>`` -> ``{patient, break_glass_opt_out, grants: {grant id: grant}}``
* ``emergency/<patient>/<clinician>`` -> the clinician's break-glass override
* ``audit/<custodian>/<height>/<index>/<n>`` -> one access entry (granted or refused)
* ``access-log/<patient>/<height>/<index>/<n>`` -> the same entry, indexed for the patient
* ``review/<custodian>/<height>/<index>/<n>`` -> emergency accesses awaiting the privacy officer
* ``erasure/<patient>/<height>/<index>/0`` -> an erasure event (the ledger keeps the hashes)

Nothing here is personal health information: ids, pseudonymous dids, hashes, codes.
"""

from __future__ import annotations

import re

#: FHIR resource types a custodian may register (Binary carries large attachments).
RESOURCE_TYPES = frozenset({
    "Patient", "Encounter", "Observation", "Condition", "AllergyIntolerance",
    "MedicationRequest", "MedicationStatement", "Immunization", "Procedure",
    "DiagnosticReport", "DocumentReference", "ImagingStudy", "Binary",
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

#: Record ids double as FHIR resource ids, so they follow FHIR's id rule.
RECORD_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}\Z")


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

#: Roles whose holders may author a record a custodian registers.
AUTHOR_ROLES = ("clinician", "emergency_clinician", "nurse", "registrar", "lab_technician",
                "pharmacist")
