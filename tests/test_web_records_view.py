"""The pages' record logic (salus/web/static/js/records_view.js, used by the patient's
and the clinician's pages) in Node: an ``$everything`` Bundle, hand-made or built by the
FHIR facade's own functions, sorted into the groups a person looks for, with the
custodian of each resource, the numeric observations as series over time, what was not
served with the node's code, hostile or malformed entries kept as text or skipped;
patient dids turned into FHIR ids exactly as the facade names patients; and the patient's
grant form's period, local midnights across a daylight-saving change."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from node_cases import run_cases
from salus.identity import Identity
from salus.records import fhir_export
from salus.records.contracts.layout import RESOURCE_TYPES
from salus.records.fhir_ingest import Issue
from salus.records.routes_fhir import withheld_entries

RUNNER = Path(__file__).parent / "js" / "records_view_cases.mjs"
HOSTILE = "<img src=x onerror=alert(1)>"
KEYS = ["problems", "medications", "allergies", "immunisations", "encounters", "observations",
        "other"]


def _res(rtype: str, rid: str, custodian: str, **fields: Any) -> dict[str, Any]:
    return {"resource": {"resourceType": rtype, "id": rid,
                         "meta": {"source": f"urn:salus:{custodian}"}, **fields}}


def _concept(code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": "http://loinc.org", "code": code, "display": display}]}


def _groups(view: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    assert [g["key"] for g in view["groups"]] == KEYS  # every group, in the pages' order
    return {g["key"]: g["items"] for g in view["groups"]}


def _served(resource: dict[str, Any], custodian: str, n: int) -> list[dict[str, Any]]:
    """A resource as the facade serves it, and its Provenance."""
    rid = f"r-{n:032x}"
    resource = {**resource, "id": rid, "meta": {"source": f"urn:salus:{custodian}"}}
    record = {"id": rid, "custodian": custodian, "time": 1_790_000_000_000 + n, "version": 1,
              "hash": "ab" * 32, "amends": None}
    return [resource, fhir_export.provenance(resource, record)]


def test_a_bundle_is_sorted_into_groups_with_custodians_and_series() -> None:
    sbp = _concept("8480-6", "Systolic blood pressure")
    bundle = {"resourceType": "Bundle", "entry": [
        _res("Patient", "p", "st-mary", name=[{"given": ["Ivy"], "family": "Marlowe"}]),
        _res("Condition", "c1", "st-mary", code={"text": HOSTILE}),
        _res("MedicationRequest", "m1", "st-mary", status="active",
             medicationCodeableConcept=_concept("1", "lisinopril")),
        _res("MedicationStatement", "m2", "northlab", medicationCodeableConcept=_concept("2", "insulin")),
        _res("AllergyIntolerance", "a1", "st-mary", code=_concept("3", "penicillin")),
        _res("Immunization", "i1", "st-mary", vaccineCode=_concept("4", "Influenza"),
             occurrenceDateTime="2026-10-02"),
        _res("Encounter", "e1", "city-general", **{"class": {"code": "EMER"}}),
        _res("Encounter", "e2", "city-general", **{"class": {"code": "AMB", "display": "ambulatory"}}),
        _res("Observation", "o2", "city-general", code=sbp, effectiveDateTime="2026-06-01T09:00:00Z",
             valueQuantity={"value": 142, "unit": "mm[Hg]"}),
        _res("Observation", "o1", "northlab", code=sbp, effectiveDateTime="2026-03-01T09:00:00Z",
             valueQuantity={"value": 151, "unit": "mm[Hg]"}),
        _res("Observation", "o3", "northlab", code=_concept("72166-2", "Smoking"),
             valueCodeableConcept=_concept("x", "Never smoked")),
        _res("Observation", "o4", "northlab", code=_concept("bad", "Not a number"),
             valueQuantity={"value": "1e999", "unit": "g"}),
        _res("Procedure", "x1", "city-general", code=_concept("5", "ECG"),
             meta={"source": "http://elsewhere.example"}),
        {"resource": {"resourceType": "Provenance", "target": [{"reference": "Condition/c1"}],
                      "recorded": "2026-11-28T12:00:00Z"}},
        {"resource": {"resourceType": "OperationOutcome", "issue": [
            {"severity": "error", "code": "exception", "expression": ["Observation/r-1"],
             "diagnostics": "TAMPERED: the vault's copy does not match the ledger"}]}},
        {"resource": "not an object"}, None, {"resource": {"resourceType": "Basic", "id": "b"}},
    ]}
    (out,) = run_cases(RUNNER, [{"bundle": bundle}], tz="UTC")
    groups = _groups(out)
    assert [(i["id"], i["custodian"]) for i in groups["medications"]] == \
        [("m1", "st-mary"), ("m2", "northlab")]
    assert groups["medications"][0]["details"] == ["prescribed", "active"]
    (problem,) = groups["problems"]
    assert problem["what"] == HOSTILE  # text, for textContent; never parsed
    assert problem["registered"] == 1795867200000  # from its Provenance
    assert problem["date"] == "" and problem["when"].startswith("registered ")
    assert groups["immunisations"][0]["date"] == groups["immunisations"][0]["when"] == "2026-10-02"
    # the class in the custodian's words, else the class code in words
    assert sorted(i["what"] for i in groups["encounters"]) == ["Emergency visit", "ambulatory"]
    assert [i["id"] for i in groups["observations"]][:2] == ["o2", "o1"]  # newest first
    assert [(i["id"], i["custodian"]) for i in groups["other"]] == [("x1", "")]  # not urn:salus:
    assert sum(len(v) for v in groups.values()) == 12  # Basic, junk and Patient are not listed
    assert out["name"] == "Ivy Marlowe"
    assert out["notServed"] == [{"record": "Observation/r-1", "code": "TAMPERED", "severity": "error",
                                 "reason": "the vault's copy does not match the ledger"}]
    (series,) = out["series"]  # the coded and the non-numeric values make no series
    assert series["name"] == "Systolic blood pressure" and series["unit"] == "mm[Hg]"
    assert [(p["value"], p["custodian"]) for p in series["points"]] == \
        [(151, "northlab"), (142, "city-general")]  # oldest first, across custodians


def test_a_facade_bundle_is_grouped_by_kind_with_custodians_and_what_was_not_served() -> None:
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
    view, empty = run_cases(RUNNER, [{"bundle": bundle}, {"bundle": {"resourceType": "Bundle"}}])

    groups = _groups(view)
    (problem,) = groups["problems"]
    assert problem["what"] == "<b>Asthma</b>"  # text, for textContent: never markup
    assert problem["custodian"] == "st-mary" and problem["type"] == "Condition"
    assert problem["registered"] == 1_790_000_000_002  # its Provenance's instant, to the ms
    (med,) = groups["medications"]
    assert (med["what"], med["custodian"], med["details"]) == ("salbutamol", "city-general",
                                                               ["prescribed", "active"])
    (obs,) = groups["observations"]
    assert obs["details"] == ["0 mm[Hg]", "final"] and obs["date"] == "2026-01-02"
    assert obs["what"] == "8480-6"  # no display: the code
    assert [i["what"] for i in groups["other"]] == ["ECG"]
    assert groups["allergies"] == [] and groups["encounters"] == []
    assert [p["name"] for p in view["patients"]] == [[{"family": "Doe", "given": ["Ann"]}]]
    assert view["name"] == "Ann Doe"
    assert view["notServed"] == [
        {"record": "Observation/r-9", "code": "NO_CONSENT",
         "reason": "the patient has not granted you access", "severity": "warning"},
        {"record": "Condition/r-8", "code": "not-found",
         "reason": "held by far-away, whose gateway is not on this node", "severity": "warning"},
        {"record": "Encounter/r-7", "code": "TAMPERED", "reason": "altered", "severity": "error"}]
    assert empty["notServed"] == [] and all(g["items"] == [] for g in empty["groups"])
    assert [g["key"] for g in empty["groups"]] == KEYS and empty["name"] == ""


def test_every_type_the_ledger_holds_has_a_group() -> None:
    (groups,) = run_cases(RUNNER, [{"groups": True}])
    types = [t for _, _, kinds in groups for t in kinds]
    assert sorted(types) == sorted(RESOURCE_TYPES - {"Patient"})  # each in exactly one group


def test_a_patients_did_becomes_the_fhir_id_the_facade_names_them_by() -> None:
    did = Identity.generate().did
    cases = [did, fhir_export.patient_fhir_id(did), f"  {did}\n", "did:key:zshort",
             "Patient/../../v1/state", did + "/$everything", "", "did:web:example.org"]
    got = run_cases(RUNNER, [{"did": c} for c in cases])
    want = fhir_export.patient_fhir_id(did)
    assert got == [want, want, want, None, None, None, None, None]
    assert fhir_export.patient_did(want) == did


def test_the_grant_period_is_local_midnights_across_a_clock_change() -> None:
    zone = ZoneInfo("Europe/Paris")
    out = run_cases(RUNNER, [{"period": p} for p in
                             (["2027-03-27", "2027-03-28"], ["", "2027-10-30"], ["", ""])],
                    tz="Europe/Paris")
    ms = [int(datetime(2027, 3, d, tzinfo=zone).timestamp() * 1000) for d in (27, 29)]
    assert out[0] == {"start": ms[0], "end": ms[1]}  # the 28th had 23 hours
    assert out[1] == {"end": int(datetime(2027, 10, 31, tzinfo=zone).timestamp() * 1000)}
    assert out[2] == {}
