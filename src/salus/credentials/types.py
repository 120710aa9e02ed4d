"""The credential types Salus issues: their JSON Schemas and who may issue them.

Every credential is a W3C Verifiable Credential 2.0 document. Its ``type`` is
``["VerifiableCredential", <one of TYPES>]`` and, where Open Badges 3.0 has a fitting
achievement type, its subject names it in ``achievement.achievementType``. The schema
of each type checks the credential's own fields; the envelope schema checks the VC 2.0
structure shared by all of them. Which organisation types may issue which credential
types is ledger policy: the credentials contract enforces :data:`ISSUER_ORG_TYPES`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import fastjsonschema

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB3_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"

#: The 13 AAMC Core Entrustable Professional Activities for Entering Residency.
AAMC_CORE_EPAS = {
    1: "Gather a history and perform a physical examination",
    2: "Prioritize a differential diagnosis following a clinical encounter",
    3: "Recommend and interpret common diagnostic and screening tests",
    4: "Enter and discuss orders and prescriptions",
    5: "Document a clinical encounter in the patient record",
    6: "Provide an oral presentation of a clinical encounter",
    7: "Form clinical questions and retrieve evidence to advance patient care",
    8: "Give or receive a patient handover to transition care responsibility",
    9: "Collaborate as a member of an interprofessional team",
    10: "Recognize a patient requiring urgent or emergent care and initiate evaluation "
        "and management",
    11: "Obtain informed consent for tests and/or procedures",
    12: "Perform general procedures of a physician",
    13: "Identify system failures and contribute to a culture of safety and improvement",
}

_DID = {"type": "string", "pattern": "^did:[a-z0-9]+:[A-Za-z0-9._:%-]+$"}
_DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
_DATETIME = {"type": "string",
             "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$"}
_TEXT = {"type": "string", "minLength": 1, "maxLength": 500}
_CODE = {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"}


def _achievement(kind: str) -> dict[str, Any]:
    return {"type": "object", "required": ["type", "achievementType", "name"],
            "properties": {"type": {"const": ["Achievement"]},
                           "achievementType": {"const": kind}, "name": _TEXT,
                           "description": _TEXT, "id": {"type": "string"}}}


def _subject(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False,
            "required": ["id", *required],
            "properties": {"id": _DID, "name": _TEXT, **properties}}


@dataclass(frozen=True)
class CredentialType:
    name: str
    issuers: tuple[str, ...]  # organisation types allowed to issue it
    subject: dict[str, Any]  # JSON Schema of credentialSubject
    achievement_type: str | None = None  # Open Badges 3.0 AchievementType, if one fits


TYPES: dict[str, CredentialType] = {t.name: t for t in [
    CredentialType("DegreeCredential", ("school",), _subject(
        ["achievement", "degree", "awarded"],
        {"achievement": _achievement("Degree"), "degree": _CODE, "field": _TEXT,
         "awarded": _DATE}), "Degree"),
    CredentialType("LicenseCredential", ("board",), _subject(
        ["achievement", "jurisdiction", "licenseNumber", "licenseStatus"],
        {"achievement": _achievement("License"), "jurisdiction": _CODE,
         "licenseNumber": _CODE, "licenseStatus": {"enum": ["active", "restricted", "probation"]},
         "specialty": _TEXT}), "License"),
    CredentialType("BoardCertificationCredential", ("board",), _subject(
        ["achievement", "specialty", "certified"],
        {"achievement": _achievement("Certification"), "specialty": _TEXT,
         "subspecialty": _TEXT, "certified": _DATE}), "Certification"),
    CredentialType("CMECredential", ("cme_provider",), _subject(
        ["achievement", "hours", "category", "completed"],
        # hours in hundredths (no floats in signed data): 150 = 1.5 hours
        {"achievement": _achievement("CertificateOfCompletion"),
         "hours": {"type": "integer", "minimum": 1, "maximum": 100_000},
         "category": {"enum": ["AMA_PRA_1", "AMA_PRA_2", "MOC", "OTHER"]},
         "activity": _TEXT, "completed": _DATE}), "CertificateOfCompletion"),
    CredentialType("ProcedureLogCredential", ("hospital", "residency", "school"), _subject(
        ["procedure", "performed", "role", "supervisor"],
        {"procedure": {"type": "object", "additionalProperties": False,
                       "required": ["system", "code"],
                       "properties": {"system": {"type": "string", "maxLength": 200},
                                      "code": _CODE, "display": _TEXT}},
         "performed": _DATE, "role": {"enum": ["observed", "assisted", "performed",
                                               "supervised"]},
         "supervisor": _DID, "count": {"type": "integer", "minimum": 1, "maximum": 1000}})),
    CredentialType("EPAAssessmentCredential", ("school", "residency", "hospital"), _subject(
        ["achievement", "epa", "entrustmentLevel", "assessor", "assessed"],
        {"achievement": _achievement("Assessment"),
         "epa": {"type": "integer", "minimum": 1, "maximum": 13},
         "entrustmentLevel": {"type": "integer", "minimum": 1, "maximum": 5},
         "assessor": _DID, "assessed": _DATE, "setting": _TEXT}), "Assessment"),
    CredentialType("MalpracticeHistoryCredential", ("insurer",), _subject(
        ["periodStart", "periodEnd", "claims"],
        {"periodStart": _DATE, "periodEnd": _DATE,
         "claims": {"type": "integer", "minimum": 0, "maximum": 10_000},
         "paidClaims": {"type": "integer", "minimum": 0, "maximum": 10_000},
         "statement": _TEXT})),
    CredentialType("HospitalPrivilegesCredential", ("hospital",), _subject(
        ["facility", "privileges", "granted"],
        {"facility": _CODE, "privileges": {"type": "array", "minItems": 1, "maxItems": 100,
                                           "items": _TEXT},
         "granted": _DATE, "department": _TEXT})),
]}

ISSUER_ORG_TYPES = {name: t.issuers for name, t in TYPES.items()}

_STATUS_ENTRY = {
    "type": "object", "required": ["id", "type", "statusPurpose", "statusListIndex",
                                   "statusListCredential"],
    "properties": {"id": {"type": "string"}, "type": {"const": "BitstringStatusListEntry"},
                   "statusPurpose": {"enum": ["revocation", "suspension"]},
                   "statusListIndex": {"type": "string", "pattern": "^(0|[1-9][0-9]{0,9})$"},
                   "statusListCredential": {"type": "string", "minLength": 1}}}

ENVELOPE: dict[str, Any] = {
    "type": "object",
    "required": ["@context", "id", "type", "issuer", "validFrom", "credentialSubject",
                 "credentialStatus"],
    "properties": {
        "@context": {"type": "array", "minItems": 1, "items": {"type": "string"}},
        "id": {"type": "string", "pattern": "^urn:uuid:[0-9a-f-]{36}$"},
        "type": {"type": "array", "minItems": 2, "maxItems": 2,
                 "items": [{"const": "VerifiableCredential"}, {"enum": sorted(TYPES)}]},
        "issuer": _DID, "validFrom": _DATETIME, "validUntil": _DATETIME,
        "name": _TEXT, "description": _TEXT,
        "credentialSubject": {"type": "object"},
        "credentialStatus": {"type": "array", "minItems": 1, "maxItems": 2,
                             "items": _STATUS_ENTRY},
        "proof": {},
    },
    "additionalProperties": False,
}

_envelope = fastjsonschema.compile(ENVELOPE)
_subjects = {name: fastjsonschema.compile(t.subject) for name, t in TYPES.items()}


class SchemaError(ValueError):
    """The credential does not match its type's schema; ``str()`` says where."""


def credential_type(credential: dict[str, Any]) -> str:
    """The Salus type of a credential, after checking the VC 2.0 envelope."""
    try:
        _envelope(credential)
    except fastjsonschema.JsonSchemaValueException as exc:
        raise SchemaError(f"{exc.name}: {exc.message}") from None
    if credential["@context"][0] != VC_CONTEXT:
        raise SchemaError(f"data.@context[0] must be {VC_CONTEXT}")
    return credential["type"][1]


def check_schema(credential: dict[str, Any]) -> str:
    """Raise :class:`SchemaError` unless the credential is a well-formed Salus credential;
    return its type."""
    kind = credential_type(credential)
    try:
        _subjects[kind](credential["credentialSubject"])
    except fastjsonschema.JsonSchemaValueException as exc:
        where = "credentialSubject" + exc.name.removeprefix("data")
        raise SchemaError(f"{where} ({kind}): {exc.message.removeprefix(exc.name).strip()}") from None
    return kind
