"""The demo's patient records, seeded through the SDK once the node serves.

Records need the running gateway (it encrypts into each custodian's vault and registers
the hashes on the ledger), so they are written the way a hospital's EHR would write them:
over the API, each call with its sender's signed request, so every record names its
author. A gateway registers nothing on its own: St Mary's EHR feed is a member of St
Mary's with the registrar role (office-uma), and signs what it sends like a clinician.
Every person in the records is invented.

What it leaves behind, for a user to explore:

- patient-ivy: records at St Mary's (dr-alice), City General (dr-bob) and North
  Diagnostics (tech-dan); a grant to dr-bob (TREAT), a grant to St Mary's clinicians, a
  revoked grant to Acme's claims officer (whose later read was refused and audited);
- patient-jack: records at St Mary's (sent by its EHR feed, office-uma), read by dr-bob
  under a break-glass override while unconscious; the read waits on St Mary's privacy
  officer's review list;
- patient-kim: a lab result at North Diagnostics, and an opt-out of break-glass.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from salus.client import SalusClient, SalusError
from salus.demo.marker import once
from salus.identity import Identity

#: Written once the records are seeded; a reused demo directory is not seeded twice.
MARKER = "demo-records.json"

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def codeable(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}]}


def fhir_bundle(mrn: str, person: dict[str, Any], *resources: dict[str, Any]) -> dict[str, Any]:
    """A FHIR transaction Bundle of one patient (``mrn`` in the sending EHR)."""
    patient = {"resourceType": "Patient", "id": mrn, **person}
    subject = {"reference": f"Patient/{mrn}"}
    entries = [{"resource": patient}]
    for i, res in enumerate(resources):
        field = "patient" if res["resourceType"] in ("AllergyIntolerance", "Immunization") \
            else "subject"
        entries.append({"resource": {"id": f"{mrn}-{i}", **res, field: subject}})
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


IVY = {"name": [{"family": "Marlowe", "given": ["Ivy"]}], "gender": "female",
       "birthDate": "1961-07-02"}
JACK = {"name": [{"family": "Okafor", "given": ["Jack"]}], "gender": "male",
        "birthDate": "1979-11-23"}
KIM = {"name": [{"family": "Lindqvist", "given": ["Kim"]}], "gender": "female",
       "birthDate": "1994-04-17"}


def _ivy_st_mary() -> dict[str, Any]:
    return fhir_bundle("SM-100231", IVY,
                   {"resourceType": "Encounter", "status": "finished",
                    "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                              "code": "AMB"}},
                   {"resourceType": "Condition",
                    "code": codeable(SNOMED, "38341003", "Hypertensive disorder")},
                   {"resourceType": "MedicationRequest", "status": "active", "intent": "order",
                    "medicationCodeableConcept": codeable(RXNORM, "314076",
                                                       "lisinopril 10 MG Oral Tablet")},
                   {"resourceType": "AllergyIntolerance",
                    "code": codeable(SNOMED, "91936005", "Allergy to penicillin")},
                   {"resourceType": "Immunization", "status": "completed",
                    "vaccineCode": codeable("http://hl7.org/fhir/sid/cvx", "140", "Influenza"),
                    "occurrenceDateTime": "2026-10-02"})


def _ivy_city_general() -> dict[str, Any]:
    return fhir_bundle("CG-55810", IVY,
                   {"resourceType": "Encounter", "status": "finished",
                    "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                              "code": "EMER"}},
                   {"resourceType": "Observation", "status": "final",
                    "code": codeable(LOINC, "8480-6", "Systolic blood pressure"),
                    "valueQuantity": {"value": 168, "unit": "mm[Hg]"}},
                   {"resourceType": "Procedure", "status": "completed",
                    "code": codeable(SNOMED, "29303009", "Electrocardiographic procedure")})


def _ivy_northlab() -> dict[str, Any]:
    return fhir_bundle("NL-9024", IVY,
                   {"resourceType": "Observation", "status": "final",
                    "code": codeable(LOINC, "13457-7", "LDL cholesterol"),
                    "valueQuantity": {"value": 162, "unit": "mg/dL"}},
                   {"resourceType": "DiagnosticReport", "status": "final",
                    "code": codeable(LOINC, "57698-3", "Lipid panel")})


def _jack_st_mary() -> dict[str, Any]:
    return fhir_bundle("SM-100877", JACK,
                   {"resourceType": "Condition",
                    "code": codeable(SNOMED, "46635009", "Diabetes mellitus type 1")},
                   {"resourceType": "MedicationStatement", "status": "active",
                    "medicationCodeableConcept": codeable(RXNORM, "311041", "insulin glargine")})


def _kim_northlab() -> dict[str, Any]:
    return fhir_bundle("NL-9311", KIM,
                   {"resourceType": "Observation", "status": "final",
                    "code": codeable(LOINC, "4548-4", "Hemoglobin A1c"),
                    "valueQuantity": {"value": 5, "unit": "%"}})


PEOPLE = ("patient-ivy", "patient-jack", "patient-kim", "dr-alice", "dr-bob", "tech-dan",
          "officer-frank", "office-uma")


def seed_records(url: str, keys: Path, say: Callable[[str], None] = lambda _: None
                 ) -> dict[str, Any]:
    """Write the demo's records, consents and accesses to the node at ``url``; return
    what was made (record and grant ids) so a user can find them."""
    people = {name: Identity.load(keys / f"{name}.key") for name in PEOPLE}
    did = {name: who.did for name, who in people.items()}
    c = {name: SalusClient(url, who) for name, who in people.items()}
    records: dict[str, list[dict[str, str]]] = {}
    grants: dict[str, str] = {}
    try:
        say("ingesting FHIR records at st-mary, city-general and northlab ...")
        for author, custodian, patient, bundle in (
                ("dr-alice", "st-mary", "patient-ivy", _ivy_st_mary()),
                ("dr-bob", "city-general", "patient-ivy", _ivy_city_general()),
                ("tech-dan", "northlab", "patient-ivy", _ivy_northlab()),
                ("office-uma", "st-mary", "patient-jack", _jack_st_mary()),
                ("tech-dan", "northlab", "patient-kim", _kim_northlab())):
            stored = c[author].ingest(custodian, did[patient], bundle)
            records.setdefault(patient, []).extend(
                {"id": r["record"], "custodian": custodian, "type": r["type"]} for r in stored)

        say("patient-ivy grants access, dr-bob reads, a grant is revoked ...")
        ivy = c["patient-ivy"]
        grants["dr-bob"] = ivy.grant({"member": did["dr-bob"]}, ["TREAT"])
        grants["st-mary clinicians"] = ivy.grant({"org": "st-mary", "role": "clinician"},
                                                 ["TREAT"])
        grants["officer-frank"] = ivy.grant({"member": did["officer-frank"]}, ["HPAYMT"],
                                            resource_types=["Encounter", "Procedure"])
        c["dr-bob"].read_record("st-mary", records["patient-ivy"][0]["id"], "TREAT")
        ivy.revoke(grants["officer-frank"])
        encounter = next(r for r in records["patient-ivy"] if r["type"] == "Encounter")
        try:
            c["officer-frank"].read_sealed(encounter["custodian"], encounter["id"], "HPAYMT")
        except SalusError as exc:
            refused = exc.code
        else:
            raise RuntimeError("the demo's revoked grant still allowed a read")

        say("dr-bob breaks the glass for patient-jack; patient-kim opts out ...")
        c["dr-bob"].break_glass(did["patient-jack"], "unconscious")
        first = records["patient-jack"][0]
        c["dr-bob"].read_record(first["custodian"], first["id"], "ETREAT")
        c["patient-kim"].set_break_glass(False)
    finally:
        for client in c.values():
            client.close()
    return {"patients": {p: did[p] for p in records}, "records": records, "grants": grants,
            "revoked": ["officer-frank"], "refused_after_revocation": refused}


def seed_once(url: str, data: Path, say: Callable[[str], None]) -> dict[str, Any] | None:
    """Seed the records unless this data directory already has them."""
    return once(data / MARKER, lambda: seed_records(url, data / "keys", say))
