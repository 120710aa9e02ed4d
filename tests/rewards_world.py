"""Rewards on a test ledger: St Mary's (the genesis hospital) and Riverside as hospital
sponsors, Acme Health as an insurer sponsor, each with a rewards officer, a rewards
service key, and (the hospitals) a gateway and a clinician to register records; patients
ana and ben. Used by the rewards tests and the authority matrix."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from conftest import Chain, ContractWorld, ident
from salus.identity import Identity
from salus.records.ingest_request import REQUEST_HEADER, signed_headers
from salus.rewards.statement import patient_statement, programme_totals

HOSPITAL, OTHER_HOSPITAL, INSURER = "st-mary", "riverside", "acme-health"
#: Staff: actor -> (org, roles)
STAFF = {
    "officer": (HOSPITAL, ["rewards_officer"]),
    "service": (HOSPITAL, ["rewards_service"]),
    "gateway": (HOSPITAL, ["gateway"]),
    "clinician": (HOSPITAL, ["clinician"]),
    "other_officer": (OTHER_HOSPITAL, ["rewards_officer"]),
    "other_service": (OTHER_HOSPITAL, ["rewards_service"]),
    "other_gateway": (OTHER_HOSPITAL, ["gateway"]),
    "other_clinician": (OTHER_HOSPITAL, ["clinician"]),
    "insurer_officer": (INSURER, ["rewards_officer"]),
    "insurer_service": (INSURER, ["rewards_service"]),
}
GATEWAYS = {HOSPITAL: ("gateway", "clinician"), OTHER_HOSPITAL: ("other_gateway",
                                                                 "other_clinician")}
CATALOGUE = [
    {"id": "mug", "code": "MUG-STMARY", "points": 10, "retail_cents": 800, "kind": "merchandise"},
    {"id": "parking", "code": "PARK-1DAY", "points": 5, "retail_cents": 400, "kind": "parking"},
    {"id": "meal", "code": "CAFE-MEAL", "points": 15, "retail_cents": 1_200, "kind": "meal"},
]


def programme(pid: str = "stm-keep", **changes: Any) -> dict[str, Any]:
    """St Mary's programme of the tests: a point is worth 100 cents; 5 points a kept
    appointment, 3 a survey; points expire after 30 days; the nominal-value caps."""
    return {"programme": pid, "events": [{"kind": "appointment_kept", "points": 5},
                                         {"kind": "survey_completed", "points": 3}],
            "point_cents": 100, "expiry_days": 30, "catalogue": CATALOGUE, **changes}


@dataclass
class Rewards(ContractWorld):
    key: dict[str, Identity] = field(default_factory=dict)
    n: int = 0

    def did(self, actor: str) -> str:
        return self.key[actor].did

    def call(self, actor: str | Identity, method: str, args: dict[str, Any]) -> bytes:
        who = self.key[actor] if isinstance(actor, str) else actor
        return self.chain.tx(who, "rewards", method, args)

    def items(self, prefix: str) -> list[tuple[str, Any]]:
        return self.chain.ledger.store.state_items(prefix)

    def statement(self, patient: str) -> dict[str, Any]:
        return patient_statement(self.get, self.items, self.did(patient))

    def programme_of(self, patient: str, pid: str) -> dict[str, Any]:
        return next(p for p in self.statement(patient)["programmes"] if p["programme"] == pid)

    def totals(self, pid: str) -> dict[str, Any] | None:
        return programme_totals(self.get, self.items, pid)

    def record(self, patient: str, resource_type: str = "Encounter",
               custodian: str = HOSPITAL) -> str:
        """A new record of ``patient``'s at ``custodian``, registered by its gateway."""
        self.n += 1
        name = f"{patient} {resource_type} {custodian} {self.n}"
        record = "r-" + hashlib.sha256(name.encode()).hexdigest()[:32]
        gateway, author = GATEWAYS[custodian]
        request = signed_headers(self.key[author], chain=self.chain.genesis.chain_id,
                                 custodian=custodian, patient=self.did(patient), body=b"{}",
                                 nonce=self.n, time=self.chain.time, salt=b"")[REQUEST_HEADER]
        self.ok(self.chain.tx(self.key[gateway], "records", "register", {
            "record": record, "patient": self.did(patient), "resource_type": resource_type,
            "content_hash": hashlib.sha256(name.encode()).hexdigest(), "request": request}))
        return record

    def award(self, record: str, event: str = "appointment_kept", pid: str = "stm-keep",
              who: str = "service") -> bytes:
        return self.call(who, "award", {"programme": pid, "event": event, "record": record})


def build_rewards(chain: Chain, keys: dict[str, Identity] | None = None,
                  patients: tuple[str, ...] = ("ana", "ben"), enrol: bool = True) -> Rewards:
    """Add Riverside and Acme Health, enrol the staff, register the patients (those of
    ``keys`` not members yet), publish St Mary's programme and enrol the patients in it."""
    w = Rewards(chain)
    keys = keys or {}
    for actor in [*STAFF, *patients, "riverside_admin", "acme_admin"]:
        w.key[actor] = keys.get(actor) or ident(f"rewards-{actor}")
    reg = ident("regulator-admin")
    admins = {HOSPITAL: ident("st-mary-admin"), OTHER_HOSPITAL: w.key["riverside_admin"],
              INSURER: w.key["acme_admin"]}
    w.key["admin"] = admins[HOSPITAL]
    new_orgs = [(org, kind) for org, kind in ((OTHER_HOSPITAL, "hospital"), (INSURER, "insurer"))
                if w.get(f"org/{org}") is None]
    if new_orgs:
        w.ok(*[chain.tx(reg, "membership", "add_organisation", {
            "id": org, "name": org.replace("-", " ").title(), "type": kind,
            "admins": [admins[org].did]}) for org, kind in new_orgs])
    new = [a for a in [*STAFF, *patients] if w.get(f"key/{w.did(a)}") is None]
    w.ok(*[chain.tx(admins[org], "membership", "enrol", {
        "org": org, "member": w.did(actor), "roles": roles})
        for actor, (org, roles) in STAFF.items() if actor in new],
        *[chain.tx(w.key[p], "membership", "register_patient", {})
          for p in patients if p in new])
    w.ok(w.call("officer", "publish_programme", programme()))
    if enrol:
        w.ok(*[w.call(p, "enrol", {"programme": "stm-keep"}) for p in patients])
    return w
