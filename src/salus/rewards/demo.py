"""The demo's rewards programme at St Mary's (issue 18), seeded through the API after the
records, credentials and supply chain.

What it leaves behind, for a user to explore (``demo-rewards.json`` names every id):

- St Mary's admin enrols ``rewards-rita`` (rewards officer) and ``rewards-svc`` (its
  rewards service key: the only signer of awards); Rita publishes ``stm-care``: 100
  points for a kept appointment, 40 for a completed survey, a point worth 5 cents of
  retail value, points expiring after a year, the nominal-value caps, and a catalogue of
  in-kind items (parking, a café meal, a pill organiser, a water bottle);
- patient-ivy, patient-jack and patient-kim enrol themselves;
- St Mary's EHR feed (office-uma) sends their next visits: ivy's follow-up (finished) and
  her satisfaction survey (completed), jack's diabetes review (finished), kim's
  appointment (cancelled). The service reads each resource it was sent, as it reads its
  vault, and awards only what :func:`salus.rewards.events.award_args` finds to be an
  event (kim's cancelled visit earns nothing);
- ivy redeems a day's parking.

Every person is invented; what each visit was for stays in St Mary's vault.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from salus.client import SalusClient, SalusError, TransactionRejected
from salus.demo.marker import once
from salus.identity import Identity
from salus.node.bootstrap import admin_key_path
from salus.node.datadir import DataDir
from salus.records.demo import IVY, JACK, KIM, LOINC, SNOMED, codeable, fhir_bundle
from salus.rewards.events import award_args
from salus.rewards.statement import AWARD

MARKER = "demo-rewards.json"
SPONSOR = "st-mary"
PROGRAMME = "stm-care"
#: The demo's new members: key name -> their role at St Mary's.
STAFF = {"rewards-rita": "rewards_officer", "rewards-svc": "rewards_service"}
PATIENTS = ("patient-ivy", "patient-jack", "patient-kim")
#: Who sends St Mary's records (its EHR feed, a registrar: salus.records.demo).
FEED = "office-uma"
#: The item ivy redeems.
REDEEMED = "parking"

TERMS: dict[str, Any] = {
    "programme": PROGRAMME,
    "events": [{"kind": "appointment_kept", "points": 100},
               {"kind": "survey_completed", "points": 40}],
    "point_cents": 5, "expiry_days": 365, "custodians": "sponsor",
    "catalogue": [
        {"id": "parking", "code": "PARK-DAY", "points": 100, "retail_cents": 500,
         "kind": "parking"},
        {"id": "cafe-meal", "code": "CAFE-MEAL", "points": 150, "retail_cents": 750,
         "kind": "meal"},
        {"id": "pill-organiser", "code": "PILLBOX-7D", "points": 120, "retail_cents": 600,
         "kind": "health_supply"},
        {"id": "water-bottle", "code": "BOTTLE-STM", "points": 200, "retail_cents": 1_000,
         "kind": "merchandise"},
    ],
}

ENCOUNTER_CLASS = "http://terminology.hl7.org/CodeSystem/v3-ActCode"


def _visit(status: str, reason: str, display: str) -> dict[str, Any]:
    return {"resourceType": "Encounter", "status": status,
            "class": {"system": ENCOUNTER_CLASS, "code": "AMB"},
            "reasonCode": [codeable(SNOMED, reason, display)]}


def visits() -> dict[str, list[dict[str, Any]]]:
    """Each patient's new resources at St Mary's (health information: for the vault)."""
    survey = {"resourceType": "QuestionnaireResponse", "status": "completed",
              "questionnaire": "http://st-mary.example/Questionnaire/visit-satisfaction",
              "item": [{"linkId": "1", "text": "How was your blood pressure review?",
                        "answer": [{"valueInteger": 5}]}]}
    return {
        "patient-ivy": [fhir_bundle("SM-100231", IVY,
                                    _visit("finished", "38341003", "Hypertensive disorder"),
                                    survey,
                                    {"resourceType": "Observation", "status": "final",
                                     "code": codeable(LOINC, "8480-6", "Systolic blood pressure"),
                                     "valueQuantity": {"value": 142, "unit": "mm[Hg]"}})],
        "patient-jack": [fhir_bundle("SM-100877", JACK,
                                     _visit("finished", "46635009", "Diabetes mellitus type 1"))],
        "patient-kim": [fhir_bundle("SM-100990", KIM,
                                    _visit("cancelled", "271737000", "Anaemia"))],
    }


def _key(keys: Path, name: str) -> Identity:
    """The demo member's key file, made once (a seed that failed half way reuses it)."""
    path = keys / f"{name}.key"
    if path.exists():
        return Identity.load(path)
    who = Identity.generate()
    who.save(path)
    return who


def _is_member(admin: SalusClient, did: str) -> bool:
    try:
        admin.member(did)
    except SalusError as exc:
        if exc.code in ("NOT_FOUND", "NOT_A_MEMBER"):
            return False
        raise
    return True


#: How long the node's own rewards service is given to award a demo visit.
SERVICE_WAIT_S = 20.0


def _award_of(patient: SalusClient, record: str) -> dict[str, Any] | None:
    for programme in patient.rewards_statement()["programmes"]:
        for line in programme["entries"]:
            if line["kind"] == AWARD and line.get("record") == record:
                return line
    return None


def awarded(patient: SalusClient, service: SalusClient, args: dict[str, Any]
             ) -> dict[str, Any]:
    """The award of one visit: made by the node's rewards service (which watches every
    block), or, on a node running without it (``--no-rewards``), by the demo's
    rewards-service key after a wait."""
    deadline = time.monotonic() + SERVICE_WAIT_S
    while (line := _award_of(patient, args["record"])) is None:
        if time.monotonic() > deadline:
            try:
                service.call("rewards", "award", args)
            except TransactionRejected as exc:
                if exc.code != "CONFLICT":  # CONFLICT: the service awarded it meanwhile
                    raise
            line = _award_of(patient, args["record"])
            assert line is not None
            break
        time.sleep(0.2)
    return {"record": args["record"], "event": line["event"], "points": line["points"],
            "tx": line["tx"]}


def seed_rewards(url: str, data: Path, say: Callable[[str], None] = lambda _: None
                 ) -> dict[str, Any]:
    keys = data / "keys"
    admin = Identity.load(admin_key_path(DataDir(data), SPONSOR))
    staff = {name: _key(keys, name) for name in STAFF}
    people = {name: Identity.load(keys / f"{name}.key") for name in (*PATIENTS, FEED)}
    clients = {name: SalusClient(url, who) for name, who in {**staff, **people}.items()}
    try:
        say("St Mary's admin enrols its rewards officer and rewards service ...")
        with SalusClient(url, admin) as a:
            for name, role in STAFF.items():
                if not _is_member(a, staff[name].did):
                    a.call("membership", "enrol", {
                        "org": SPONSOR, "member": staff[name].did, "roles": [role],
                        "encryption_key": staff[name].encryption_did})
        say(f"rewards-rita publishes {PROGRAMME}; the demo patients enrol ...")
        version = clients["rewards-rita"].call("rewards", "publish_programme",
                                               TERMS).output["version"]
        for name in PATIENTS:
            clients[name].call("rewards", "enrol", {"programme": PROGRAMME})

        say("St Mary's EHR feed sends the patients' next visits; its service awards ...")
        awards: dict[str, list[dict[str, Any]]] = {}
        not_awarded: dict[str, list[str]] = {}
        for name, bundles in visits().items():
            did = people[name].did
            for bundle in bundles:
                stored = clients[FEED].ingest(SPONSOR, did, bundle)
                sent = {e["resource"]["resourceType"]: e["resource"] for e in bundle["entry"]}
                for record in stored:
                    resource = sent[record["type"]]  # (one resource of each type a visit)
                    # the service's reading of the resource (in its vault): only the
                    # event's kind and the record id leave it
                    args = award_args(PROGRAMME, record["record"], resource)
                    if args is None:
                        if resource["resourceType"] == "Encounter":
                            not_awarded.setdefault(name, []).append(record["record"])
                        continue
                    awards.setdefault(name, []).append(
                        awarded(clients[name], clients["rewards-svc"], args))

        say(f"patient-ivy redeems {REDEEMED} ...")
        redeemed = clients["patient-ivy"].call("rewards", "redeem",
                                               {"programme": PROGRAMME, "item": REDEEMED})
        balances = {name: clients[name].rewards_statement()["programmes"][0]["balance"]
                    for name in PATIENTS}
    finally:
        for client in clients.values():
            client.close()
    return {"sponsor": SPONSOR, "programme": PROGRAMME, "version": version,
            "keys": {name: f"{name}.key" for name in STAFF},
            "staff": {name: {"did": staff[name].did, "role": role}
                      for name, role in STAFF.items()},
            "patients": {name: people[name].did for name in PATIENTS},
            "awards": awards, "not_awarded": not_awarded,
            "redemption": {"patient": "patient-ivy", "item": REDEEMED,
                           "points": redeemed.output["points"], "tx": redeemed.tx_id},
            "balances": balances}


def seed_once(url: str, data: Path, say: Callable[[str], None]) -> dict[str, Any] | None:
    """Seed the rewards programme unless this data directory already has it."""
    return once(data / MARKER, lambda: seed_rewards(url, data, say))
