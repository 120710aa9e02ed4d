"""The browser's record view (salus/web/static/js/fhir_view.js), run in Node on Bundles
built by the FHIR facade's own functions: resources grouped by kind with their
custodian, the records not served with the node's code, and patient dids turned into
FHIR ids exactly as the facade names patients."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from salus.api.fhir import withheld_entries
from salus.identity import Identity
from salus.records import fhir_export
from salus.records.fhir_ingest import Issue

RUNNER = Path(__file__).parent / "js" / "fhir_view_cases.mjs"


def _run(cases: list[dict[str, Any]]) -> list[Any]:
    node = shutil.which("node")
    assert node, "Node.js runs the browser modules' tests (the machine has it; see README)"
    done = subprocess.run([node, str(RUNNER)], input=json.dumps(cases), capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _served(resource: dict[str, Any], custodian: str, n: int) -> list[dict[str, Any]]:
    """A resource as the facade serves it, and its Provenance."""
    rid = f"r-{n:032x}"
    resource = {**resource, "id": rid, "meta": {"source": f"urn:salus:{custodian}"}}
    record = {"id": rid, "custodian": custodian, "time": 1_790_000_000_000 + n, "version": 1,
              "hash": "ab" * 32, "amends": None}
    return [resource, fhir_export.provenance(resource, record)]


def test_a_bundle_is_grouped_by_kind_with_custodians_and_what_was_not_served() -> None:
    snomed = "http://snomed.info/sct"
    resources = [
        *_served({"resourceType": "Patient", "name": [{"family": "Doe", "given": ["Ann"]}]},
                 "st-mary", 1),
        *_served({"resourceType": "Condition", "code": {"coding": [
            {"system": snomed, "code": "1", "display": "<b>Asthma</b>"}]}}, "st-mary", 2),
        *_served({"resourceType": "MedicationRequest", "status": "active",
                  "medicationCodeableConcept": {"text": "salbutamol"}}, "city-general", 3),
        *_served({"resourceType": "Observation", "status": "final",
                  "code": {"coding": [{"code": "8480-6"}]},
                  "valueQuantity": {"value": 0, "unit": "mm[Hg]"},
                  "effectiveDateTime": "2026-01-02"}, "northlab", 4),
        *_served({"resourceType": "Procedure", "code": {"text": "ECG"}}, "city-general", 5),
    ]
    bundle = fhir_export.bundle("searchset", resources, "http://node/fhir")
    bundle["entry"].append({"resource": {**fhir_export.operation_outcome(
        [Issue("Observation/r-9", "NO_CONSENT: the patient has not granted you access", "forbidden"),
         Issue("Condition/r-8", "held by far-away, whose gateway is not on this node",
               "not-found")], "warning"), "id": "not-served"}, "search": {"mode": "outcome"}})
    bundle["entry"] += withheld_entries([Issue("Encounter/r-7", "TAMPERED: altered", "exception")])
    view, empty = _run([{"bundle": bundle}, {"bundle": {"resourceType": "Bundle"}}])

    groups = {g["key"]: g["items"] for g in view["groups"]}
    assert [g["key"] for g in view["groups"]] == ["problems", "medications", "allergies",
                                                  "immunisations", "encounters", "observations",
                                                  "other"]
    (problem,) = groups["problems"]
    assert problem["title"] == "<b>Asthma</b>"  # text, for textContent: never markup
    assert problem["custodian"] == "st-mary" and problem["type"] == "Condition"
    assert problem["registered"] == fhir_export.instant(1_790_000_000_002)
    (med,) = groups["medications"]
    assert (med["title"], med["custodian"], med["details"]) == ("salbutamol", "city-general",
                                                                ["active"])
    (obs,) = groups["observations"]
    assert obs["details"] == ["0 mm[Hg]", "final"] and obs["date"] == "2026-01-02"
    assert obs["title"] == "8480-6"  # no display: the code
    assert [i["title"] for i in groups["other"]] == ["ECG"]
    assert groups["allergies"] == [] and groups["encounters"] == []
    assert [p["name"] for p in view["patient"]] == [[{"family": "Doe", "given": ["Ann"]}]]
    assert view["notServed"] == [
        {"record": "Observation/r-9", "code": "NO_CONSENT",
         "reason": "the patient has not granted you access", "severity": "warning"},
        {"record": "Condition/r-8", "code": "not-found",
         "reason": "held by far-away, whose gateway is not on this node", "severity": "warning"},
        {"record": "Encounter/r-7", "code": "TAMPERED", "reason": "altered", "severity": "error"}]
    assert empty["notServed"] == [] and all(g["items"] == [] for g in empty["groups"])


def test_a_patients_did_becomes_the_fhir_id_the_facade_names_them_by() -> None:
    did = Identity.generate().did
    cases = [did, fhir_export.patient_fhir_id(did), f"  {did}\n", "did:key:zshort",
             "Patient/../../v1/state", did + "/$everything", "", "did:web:example.org"]
    got = _run([{"did": c} for c in cases])
    want = fhir_export.patient_fhir_id(did)
    assert got == [want, want, want, None, None, None, None, None]
    assert fhir_export.patient_did(want) == did
