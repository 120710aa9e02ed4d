"""Coded elements whose binding is *required* in FHIR R4 (4.0.1), for the resource types
records ingest takes, and the check that each holds a code of its value set.

``fhir.resources`` checks structure and types, not codes: it stored an Observation with
``status: "bogus"``, a value no FHIR reader can interpret (is it final? entered in
error?). The value sets are the spec's, element by element ("Terminology Bindings" of
each resource page); only required ones are here: an extensible or preferred binding
allows other codes by definition.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

_TERMINOLOGY = "http://terminology.hl7.org/CodeSystem/"


@dataclass(frozen=True, slots=True)
class Binding:
    """An element (a path from the resource, lists walked through) bound to ``codes``.
    ``system`` is set for a CodeableConcept: it must hold a coding of that system, and
    every coding of that system must use one of the codes."""

    path: str
    codes: frozenset[str]
    system: str | None = None


def _codes(text: str) -> frozenset[str]:
    return frozenset(text.split())


_NARRATIVE = Binding("text.status", _codes("generated extensions additional empty"))
_GENDER = _codes("male female other unknown")
_EVENT_STATUS = _codes("preparation in-progress not-done on-hold stopped completed "
                       "entered-in-error unknown")
_ENCOUNTER_STATUS = _codes("planned arrived triaged in-progress onleave finished cancelled "
                           "entered-in-error unknown")
_DOCUMENT_STATUS = _codes("preliminary final amended entered-in-error")

REQUIRED: dict[str, tuple[Binding, ...]] = {
    "Patient": (
        Binding("gender", _GENDER),
        Binding("contact.gender", _GENDER),
        Binding("link.type", _codes("replaced-by replaces refer seealso")),
    ),
    "Encounter": (
        Binding("status", _ENCOUNTER_STATUS),
        Binding("statusHistory.status", _ENCOUNTER_STATUS),
        Binding("location.status", _codes("planned active reserved completed")),
    ),
    "Observation": (
        Binding("status", _codes("registered preliminary final amended corrected cancelled "
                                 "entered-in-error unknown")),
    ),
    "Condition": (
        Binding("clinicalStatus", _codes("active recurrence relapse inactive remission "
                                         "resolved"), _TERMINOLOGY + "condition-clinical"),
        Binding("verificationStatus", _codes("unconfirmed provisional differential confirmed "
                                             "refuted entered-in-error"),
                _TERMINOLOGY + "condition-ver-status"),
    ),
    "AllergyIntolerance": (
        Binding("clinicalStatus", _codes("active inactive resolved"),
                _TERMINOLOGY + "allergyintolerance-clinical"),
        Binding("verificationStatus", _codes("unconfirmed confirmed refuted entered-in-error"),
                _TERMINOLOGY + "allergyintolerance-verification"),
        Binding("type", _codes("allergy intolerance")),
        Binding("category", _codes("food medication environment biologic")),
        Binding("criticality", _codes("low high unable-to-assess")),
        Binding("reaction.severity", _codes("mild moderate severe")),
    ),
    "MedicationRequest": (
        Binding("status", _codes("active on-hold cancelled completed entered-in-error stopped "
                                 "draft unknown")),
        Binding("intent", _codes("proposal plan order original-order reflex-order "
                                 "filler-order instance-order option")),
        Binding("priority", _codes("routine urgent asap stat")),
    ),
    "MedicationStatement": (
        Binding("status", _codes("active completed entered-in-error intended stopped on-hold "
                                 "unknown not-taken")),
    ),
    "Immunization": (
        Binding("status", _codes("completed entered-in-error not-done")),
    ),
    "Procedure": (
        Binding("status", _EVENT_STATUS),
    ),
    "DiagnosticReport": (
        Binding("status", _codes("registered partial preliminary final amended corrected "
                                 "appended cancelled entered-in-error unknown")),
    ),
    "DocumentReference": (
        Binding("status", _codes("current superseded entered-in-error")),
        Binding("docStatus", _DOCUMENT_STATUS),
        Binding("relatesTo.code", _codes("replaces transforms signs appends")),
    ),
    "ImagingStudy": (
        Binding("status", _codes("registered available cancelled entered-in-error unknown")),
    ),
    "QuestionnaireResponse": (
        Binding("status", _codes("in-progress completed amended entered-in-error stopped")),
    ),
}


def _values(node: Any, path: list[str], where: str) -> Iterator[tuple[str, Any]]:
    """Each value at ``path`` under ``node``, with its FHIRPath (lists walked through)."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            yield from _values(item, path, f"{where}[{i}]")
        return
    if not path:
        yield where, node
        return
    if isinstance(node, dict) and path[0] in node:
        yield from _values(node[path[0]], path[1:], f"{where}.{path[0]}")


def _allowed(codes: frozenset[str]) -> str:
    return ", ".join(sorted(codes))


def _check(binding: Binding, value: Any) -> str | None:
    """Why ``value`` breaks ``binding``, or None."""
    if binding.system is None:
        if value in binding.codes:
            return None
        return (f"{value!r} is not a code of this element's required value set "
                f"({_allowed(binding.codes)})")
    codings = value.get("coding") if isinstance(value, dict) else None
    ours = [c for c in codings or [] if isinstance(c, dict) and c.get("system") == binding.system]
    if ours and all(c.get("code") in binding.codes for c in ours):
        return None
    return f"needs a coding of {binding.system} with one of its codes ({_allowed(binding.codes)})"


def check(resource: dict[str, Any], where: str) -> list[tuple[str, str]]:
    """(FHIRPath, why) of every element of ``resource``, found at ``where``, that breaks
    a required binding."""
    found = []
    for binding in (*REQUIRED.get(resource.get("resourceType", ""), ()), _NARRATIVE):
        for at, value in _values(resource, binding.path.split("."), where):
            why = _check(binding, value)
            if why is not None:
                found.append((at, why))
    return found
