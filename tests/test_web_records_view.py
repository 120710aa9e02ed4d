"""The patient page's record logic (salus/web/static/js/records_view.js) in Node: an
``$everything`` Bundle sorted into the groups a person looks for, with the custodian of
each resource, the numeric observations as series over time, what was not served as
outcomes, hostile or malformed entries kept as text or skipped; and the grant form's
period, local midnights across a daylight-saving change."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

RUNNER = Path(__file__).parent / "js" / "records_view_cases.mjs"
HOSTILE = "<img src=x onerror=alert(1)>"


def _res(rtype: str, rid: str, custodian: str, **fields: Any) -> dict[str, Any]:
    return {"resource": {"resourceType": rtype, "id": rid,
                         "meta": {"source": f"urn:salus:{custodian}"}, **fields}}


def _concept(code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": "http://loinc.org", "code": code, "display": display}]}


def _run(bundle: dict[str, Any], periods: list[list[str]], tz: str = "UTC") -> dict[str, Any]:
    node = shutil.which("node")
    assert node, "Node.js runs the browser modules' tests (the machine has it; see README)"
    done = subprocess.run([node, str(RUNNER)], input=json.dumps({"bundle": bundle,
                                                                  "periods": periods}),
                          capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "TZ": tz})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


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
        _res("Observation", "o2", "city-general", code=sbp, effectiveDateTime="2026-06-01T09:00:00Z",
             valueQuantity={"value": 142, "unit": "mm[Hg]"}),
        _res("Observation", "o1", "northlab", code=sbp, effectiveDateTime="2026-03-01T09:00:00Z",
             valueQuantity={"value": 151, "unit": "mm[Hg]"}),
        _res("Observation", "o3", "northlab", code=_concept("72166-2", "Smoking"),
             valueCodeableConcept=_concept("x", "Never smoked")),
        _res("Observation", "o4", "northlab", code=_concept("bad", "Not a number"),
             valueQuantity={"value": "1e999", "unit": "g"}),
        _res("Procedure", "x1", "city-general", code=_concept("5", "ECG")),
        {"resource": {"resourceType": "Provenance", "target": [{"reference": "Condition/c1"}],
                      "recorded": "2026-11-28T12:00:00Z"}},
        {"resource": {"resourceType": "OperationOutcome", "issue": [
            {"severity": "error", "code": "exception", "expression": ["Observation/r-1"],
             "diagnostics": "TAMPERED: the vault's copy does not match the ledger"}]}},
        {"resource": "not an object"}, None, {"resource": {"resourceType": "Basic", "id": "b"}},
    ]}
    out = _run(bundle, [])
    groups = out["groups"]
    assert [(i["id"], i["custodian"]) for i in groups["medications"]] == \
        [("m1", "st-mary"), ("m2", "northlab")]
    (problem,) = groups["problems"]
    assert problem["what"] == HOSTILE  # text, for textContent; never parsed
    assert problem["registered"] == 1795867200000  # from its Provenance
    assert groups["immunisations"][0]["date"] == "2026-10-02"
    assert groups["encounters"][0]["what"] == "Emergency visit"
    assert [i["id"] for i in groups["observations"]][:2] == ["o2", "o1"]  # newest first
    assert [i["id"] for i in groups["other"]] == ["x1"]
    assert sum(len(v) for v in groups.values()) == 11  # Basic, junk and Patient are not listed
    assert out["name"] == "Ivy Marlowe"
    assert out["unserved"] == [{"record": "Observation/r-1", "severity": "error",
                                "reason": "TAMPERED: the vault's copy does not match the ledger"}]
    (series,) = out["series"]  # the coded and the non-numeric values make no series
    assert series["name"] == "Systolic blood pressure" and series["unit"] == "mm[Hg]"
    assert [(p["value"], p["custodian"]) for p in series["points"]] == \
        [(151, "northlab"), (142, "city-general")]  # oldest first, across custodians


def test_the_grant_period_is_local_midnights_across_a_clock_change() -> None:
    zone = ZoneInfo("Europe/Paris")
    out = _run({"entry": []}, [["2027-03-27", "2027-03-28"], ["", "2027-10-30"], ["", ""]],
               tz="Europe/Paris")
    ms = [int(datetime(2027, 3, d, tzinfo=zone).timestamp() * 1000) for d in (27, 29)]
    assert out["periods"][0] == {"start": ms[0], "end": ms[1]}  # the 28th had 23 hours
    assert out["periods"][1] == {"end": int(datetime(2027, 10, 31, tzinfo=zone).timestamp() * 1000)}
    assert out["periods"][2] == {}
