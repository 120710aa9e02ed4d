"""FHIR R4 input: validate resources and Bundles, and split them into documents.

Validation uses the ``fhir.resources`` models of FHIR R4B (4.3), which for every
resource type accepted here has the same structure as R4 (4.0.1). A resource that fails
is reported as a FHIR OperationOutcome issue with the FHIRPath of the bad element, and
nothing from that request is stored.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from salus.canonical import JSONError, loads_strict
from salus.records import fhir_bindings
from salus.records.contracts.layout import RESOURCE_TYPES

MAX_ENTRIES = 1000
#: Where a clinical resource names its patient.
SUBJECT_FIELDS = ("subject", "patient")


@dataclass
class Issue:
    expression: str
    diagnostics: str
    code: str = "invalid"


class InvalidFHIR(ValueError):
    """One or more problems, each an OperationOutcome issue. ``status``: 400 for a body
    that is not JSON Salus reads at all, 422 for JSON that is not valid FHIR."""

    def __init__(self, issues: list[Issue], status: int = 422) -> None:
        super().__init__("; ".join(f"{i.expression}: {i.diagnostics}" for i in issues))
        self.issues = issues
        self.status = status


@dataclass
class Incoming:
    """One resource to store: its JSON, and the attachments lifted out of it."""

    resource_type: str
    source_id: str | None  # the id the sending system gave it
    resource: dict[str, Any]
    attachments: list[tuple[str, bytes, str]] = field(default_factory=list)  # (path, data, type)


def _loc(prefix: str, loc: tuple[Any, ...]) -> str:
    out = prefix
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def validate(resource: Any, where: str) -> None:
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        raise InvalidFHIR([Issue(where, "expected a FHIR resource (a JSON object with resourceType)",
                                 "structure")])
    kind = resource["resourceType"]
    if kind not in RESOURCE_TYPES or kind == "Binary":
        raise InvalidFHIR([Issue(f"{where}.resourceType",
                                 f"resource type {kind!r} is not accepted here; send one of "
                                 f"{', '.join(sorted(RESOURCE_TYPES - {'Binary'}))}", "not-supported")])
    try:
        get_fhir_model_class(kind).model_validate(resource)
    except ValidationError as exc:
        raise InvalidFHIR([Issue(_loc(f"{where}", tuple(e["loc"])), e["msg"])
                           for e in exc.errors()[:20]]) from None
    # Codes with a required binding (the models check only that they are codes).
    unbound = fhir_bindings.check(resource, where)
    if unbound:
        raise InvalidFHIR([Issue(at, why, "code-invalid") for at, why in unbound[:20]])


def _patient_ref(resource: dict[str, Any]) -> str | None:
    for name in SUBJECT_FIELDS:
        ref = resource.get(name)
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
            return ref["reference"]
    return None


def _lift_attachments(item: Incoming, where: str) -> None:
    """Move inline attachment data out of a DocumentReference into separate Binary documents."""
    if item.resource_type != "DocumentReference":
        return
    for i, content in enumerate(item.resource.get("content", [])):
        attachment = content.get("attachment", {})
        if "data" in attachment:
            try:
                data = base64.b64decode(attachment["data"], validate=True)
            except (binascii.Error, ValueError):
                raise InvalidFHIR([Issue(f"{where}.content[{i}].attachment.data",
                                         "attachment data must be base64")]) from None
            item.attachments.append((f"content[{i}]", data,
                                     attachment.get("contentType", "application/octet-stream")))
            del attachment["data"]
            attachment["size"] = len(data)


def parse(body: bytes) -> list[Incoming]:
    """Validate a resource or a Bundle of them; all of one patient."""
    try:
        doc = loads_strict(body, decimals=True)
    except JSONError as exc:  # not JSON, duplicate keys, nested too deeply
        raise InvalidFHIR([Issue("$", f"INVALID_JSON: {exc}", "structure")], 400) from None
    if isinstance(doc, dict) and doc.get("resourceType") == "Bundle":
        entries = doc.get("entry")
        if not isinstance(entries, list) or not entries:
            raise InvalidFHIR([Issue("Bundle.entry", "a Bundle needs at least one entry", "required")])
        if len(entries) > MAX_ENTRIES:
            raise InvalidFHIR([Issue("Bundle.entry", f"at most {MAX_ENTRIES} entries", "too-costly")])
        pairs = [(e.get("resource") if isinstance(e, dict) else None, f"Bundle.entry[{i}].resource",
                  e.get("fullUrl") if isinstance(e, dict) else None) for i, e in enumerate(entries)]
    else:
        pairs = [(doc, doc.get("resourceType", "$") if isinstance(doc, dict) else "$", None)]
    issues: list[Issue] = []
    items: list[tuple[Incoming, str, str | None]] = []
    for resource, where, full_url in pairs:
        try:
            validate(resource, where)
        except InvalidFHIR as exc:
            issues += exc.issues
            continue
        item = Incoming(resource["resourceType"], resource.get("id"), resource)
        _lift_attachments(item, where)
        items.append((item, where, full_url))
    if issues:
        raise InvalidFHIR(issues)
    _check_one_patient(items)
    return [item for item, _, _ in items]


def _check_one_patient(items: list[tuple[Incoming, str, str | None]]) -> None:
    """Every resource must be about the same patient (the Bundle's Patient, if any)."""
    patients = [(i, full) for i, _, full in items if i.resource_type == "Patient"]
    if len(patients) > 1:
        raise InvalidFHIR([Issue("Bundle.entry", "a Bundle may hold one patient's records only",
                                 "business-rule")])
    names: set[str] = set()
    if patients:
        patient, full_url = patients[0]
        if patient.source_id:
            names.add(f"Patient/{patient.source_id}")
        if full_url:
            names.add(full_url)
    seen: set[str] = set()
    for item, where, _ in items:
        ref = _patient_ref(item.resource)
        if ref is None:
            continue
        if names and ref not in names:
            raise InvalidFHIR([Issue(f"{where}.subject",
                                     f"refers to {ref}, but this Bundle's patient is "
                                     f"{sorted(names)[0]}", "business-rule")])
        seen.add(ref)
    if not names and len(seen) > 1:
        raise InvalidFHIR([Issue("Bundle.entry", "the resources refer to more than one patient",
                                 "business-rule")])


def patient_reference(items: list[Incoming]) -> str | None:
    """The sending system's reference to the patient these resources are about."""
    for item in items:
        if item.resource_type == "Patient" and item.source_id:
            return f"Patient/{item.source_id}"
    for item in items:
        ref = _patient_ref(item.resource)
        if ref is not None:
            return ref
    return None
