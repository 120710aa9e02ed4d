"""A small consortium with one member in every position the authority rules distinguish,
for the permission matrix and the PHI guard.

Everyone is named: ``world.key[actor]`` is the actor's key. The patient ``patient`` has a
record at St Mary's, a grant to ``clinician_with_grant``, a recovery set (``other_patient``
and St Mary's registrar) and an emergency override opened on her by
``clinician_without_grant`` (who holds the emergency role)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from claims_world import Claims, approve_pa, build_claims, item
from conftest import Chain, ident
from rewards_world import Rewards, build_rewards, programme
from salus.identity import Identity
from salus.ledger.members import member_of_key
from salus.records.contracts.layout import review_prefix
from salus.records.ingest_request import REQUEST_HEADER, signed_headers
from supply_world import build_supply, event, pack

#: The actors of the matrix: the issue's list, then holders of the roles some methods need.
ACTORS = (
    "patient", "other_patient", "target_org_admin", "other_org_admin", "regulator_admin",
    "own_gateway", "other_gateway", "clinician_with_grant", "clinician_without_grant",
    "non_member",
    "registrar", "privacy_officer", "board_issuer", "board_admin", "assessor", "cme_issuer",
    "nurse",
    "maker_operator", "other_maker_operator", "distributor_operator", "pharmacy_operator",
    "other_pharmacy_operator", "maker_admin",
    "payer_officer", "payer_reviewer", "other_payer_officer", "payer_admin",
    "other_provider_registrar",
    "sponsor_officer", "sponsor_service", "other_sponsor_officer", "other_sponsor_service",
)
#: The claims world's actors (claims_world.build_claims) as the matrix names them.
CLAIMS_ACTORS = {"officer": "payer_officer", "reviewer": "payer_reviewer",
                 "other_officer": "other_payer_officer", "payer_admin": "payer_admin",
                 "other_registrar": "other_provider_registrar", "registrar": "registrar",
                 "clinician": "clinician_with_grant", "gateway": "own_gateway",
                 "ana": "patient", "ben": "other_patient"}
#: The rewards world's actors (rewards_world.build_rewards) as the matrix names them: St
#: Mary's is the sponsor, Riverside the other one.
REWARDS_ACTORS = {"officer": "sponsor_officer", "service": "sponsor_service",
                  "other_officer": "other_sponsor_officer",
                  "other_service": "other_sponsor_service", "gateway": "own_gateway",
                  "clinician": "clinician_with_grant", "ana": "patient", "ben": "other_patient"}
#: The supply chain's actors: a supply operator of each organisation of supply_world, and
#: pharmaco's admin (who holds no supply role).
SUPPLY_OPERATORS = {"pharmaco": "maker_operator", "genericco": "other_maker_operator",
                    "wholesale": "distributor_operator", "corner-pharmacy": "pharmacy_operator",
                    "other-pharmacy": "other_pharmacy_operator"}
#: Packs of pharmaco's lot: still at pharmaco, in transit (sold) to the distributor, at the
#: corner pharmacy, dispensed there, and suspect there (an investigation open).
MADE, IN_TRANSIT, AT_COUNTER, DISPENSED, SUSPECT = (
    pack(f"W-{name}") for name in ("MADE", "TRANSIT", "COUNTER", "DISPENSED", "SUSPECT"))
MEMBERS = {  # actor -> (org, roles)
    "own_gateway": ("st-mary", ["gateway"]),
    "other_gateway": ("northlab", ["gateway"]),
    "clinician_with_grant": ("st-mary", ["clinician"]),
    "clinician_without_grant": ("st-mary", ["clinician", "emergency_clinician"]),
    "registrar": ("st-mary", ["registrar"]),
    "privacy_officer": ("st-mary", ["privacy_officer"]),
    "board_issuer": ("medboard", ["issuer"]),
    "assessor": ("st-mary", ["assessor", "educator"]),
    "cme_issuer": ("cme-co", ["issuer"]),
    "nurse": ("st-mary", ["nurse"]),
}
ADMINS = {"target_org_admin": "st-mary", "other_org_admin": "northlab",
          "regulator_admin": "health-dept", "board_admin": "medboard"}
CONTENT = hashlib.sha256(b"the patient's discharge summary, sealed").hexdigest()
RECORD = "r-" + hashlib.sha256(b"world record").hexdigest()[:32]


@dataclass
class World:
    chain: Chain
    key: dict[str, Identity] = field(default_factory=dict)
    grant: str = ""
    recovery: str = ""
    override: str = ""
    review_entry: str = ""
    record_hash: str = ""
    claims: Claims | None = None
    #: Claims-world requests: an approved authorisation, one awaiting a decision, a claim
    #: awaiting one (citing it), a claim decided with a denial, one decided and payable.
    pa: str = ""
    open_pa: str = ""
    open_claim: str = ""
    denied_claim: str = ""
    decided_claim: str = ""
    rewards: Rewards | None = None
    #: Rewards: an award of St Mary's programme to the patient (5 points, hers to spend),
    #: and a kept appointment of hers registered and not rewarded yet.
    award: str = ""
    unrewarded: str = ""

    def did(self, actor: str) -> str:
        return self.key[actor].did

    def valid(self, *raws: bytes) -> Any:
        block = self.chain.commit(*raws)
        assert self.chain.codes(block) == ["VALID"] * len(raws), self.chain.verdicts(block)
        return block


def build_world(chain: Chain) -> World:
    w = World(chain)
    reg = ident("regulator-admin")
    for actor in ACTORS:
        w.key[actor] = ident(f"world-{actor}")
    w.key["target_org_admin"] = ident("st-mary-admin")
    w.key["board_admin"] = ident("medboard-admin")
    w.key["regulator_admin"] = reg
    w.valid(chain.tx(reg, "membership", "add_organisation", {
                "id": "northlab", "name": "North Lab", "type": "lab",
                "admins": [w.did("other_org_admin")]}),
            chain.tx(reg, "membership", "add_organisation", {
                "id": "cme-co", "name": "CME Co", "type": "cme_provider",
                "admins": [ident("cme-co-admin").did]}))
    admins = {"st-mary": w.key["target_org_admin"], "northlab": w.key["other_org_admin"],
              "medboard": w.key["board_admin"], "cme-co": ident("cme-co-admin")}
    w.valid(*[chain.tx(admins[org], "membership", "enrol", {
        "org": org, "member": w.did(actor), "roles": roles,
        "encryption_key": w.key[actor].encryption_did}) for actor, (org, roles) in MEMBERS.items()],
        *[chain.tx(w.key[p], "membership", "register_patient",
                   {"encryption_key": w.key[p].encryption_did})
          for p in ("patient", "other_patient")])
    w.valid(chain.tx(w.key["own_gateway"], "records", "register", {
        "record": RECORD, "patient": w.did("patient"), "resource_type": "Observation",
        "content_hash": CONTENT, "request": ingest_request(w, "clinician_with_grant")}))
    granted = w.valid(
        chain.tx(w.key["patient"], "consent", "grant", {
            "grantee": {"member": w.did("clinician_with_grant")}, "purposes": ["TREAT"]}),
        chain.tx(w.key["patient"], "membership", "set_recovery", {
            "guardians": [w.did("other_patient"), w.did("registrar")], "threshold": 2}),
        chain.tx(w.key["board_issuer"], "credentials", "create_status_list", {
            "status_list": "board-rev", "purpose": "revocation"}))
    w.grant = granted.results[0].output["grant"]
    opened = w.valid(
        chain.tx(w.key["other_patient"], "membership", "start_recovery", {
            "patient": w.did("patient"), "new_key": ident("world-new-key").did}),
        chain.tx(w.key["clinician_without_grant"], "access", "break_glass", {
            "patient": w.did("patient"), "reason": "unconscious"}))
    w.recovery = opened.results[0].output["recovery"]
    w.override = opened.results[1].output["id"]
    logged = w.valid(chain.tx(w.key["own_gateway"], "access", "log", {"entries": [
        read_entry(w, "clinician_without_grant", "BREAK_GLASS", w.override, "ETREAT")]}))
    rows = chain.ledger.store.state_scan(review_prefix("st-mary"), "", 10)
    w.review_entry = rows[0][0][len(review_prefix("st-mary")):]
    w.record_hash = chain.ledger.state_value(f"record/{RECORD}")["hash"]
    assert logged.header.height > 0
    _build_supply(w)
    _build_claims(w)
    _build_rewards(w)
    return w


def _build_rewards(w: World) -> None:
    assert w.claims is not None
    keys = {actor: w.key[matrix] for actor, matrix in REWARDS_ACTORS.items()}
    keys.update(riverside_admin=w.claims.key["riverside_admin"], acme_admin=w.key["payer_admin"])
    r = w.rewards = build_rewards(w.chain, keys)
    r.ok(r.call("officer", "publish_programme", programme("stm-matrix")))
    (out,) = r.ok(r.award(r.record("ana")))
    w.award = out["award"]
    w.unrewarded = r.record("ana")


def _build_claims(w: World) -> None:
    c = w.claims = build_claims(w.chain, {actor: w.key[matrix]
                                          for actor, matrix in CLAIMS_ACTORS.items()})
    w.pa, _ = approve_pa(c, "ana", "97110", 12)
    w.open_pa = c.submit(c.facts("ana", [item(1, "97110", 4, 0)], use="preauthorization"))
    w.open_claim = c.submit(c.facts("ana", [item(1, "97110", 2, 8_000), item(2, "99213")],
                                    prior_auths=(w.pa,)))
    denied = c.facts("ana", [item(1, "15780", 1, 30_000)])
    w.denied_claim = c.submit(denied)
    c.decide(w.denied_claim, denied)
    payable = c.facts("ben", [item(1, "99214", 1, 12_000)])
    w.decided_claim = c.submit(payable)
    c.decide(w.decided_claim, payable)
    c.ok(c.call("ana", "flag_phantom", {"request": w.denied_claim, "items": [1]}))


def _build_supply(w: World) -> None:
    s = build_supply(w.chain, {org: w.key[a] for org, a in SUPPLY_OPERATORS.items()},
                     {"pharmaco": w.key["maker_admin"]})
    s.ok(s.commission("pharmaco", "world commissioning",
                      [MADE, IN_TRANSIT, AT_COUNTER, DISPENSED, SUSPECT]))
    s.move([AT_COUNTER, DISPENSED, SUSPECT], ("pharmaco", "wholesale"),
           ("wholesale", "corner-pharmacy"))
    s.ok(s.ship("pharmaco", "world shipment", [IN_TRANSIT], "wholesale", "world sale"),
         s.call("corner-pharmacy", "dispense", {"event": event("world dispensing"),
                                                "item": DISPENSED}),
         s.call("corner-pharmacy", "report", {"event": event("world report"), "item": SUSPECT,
                                              "status": "suspect"}))


def ingest_request(w: World, author: str) -> str:
    """A St Mary's member's signed ``records.ingest`` request for the patient, as the SDK
    sends it: what every registration carries."""
    return signed_headers(w.key[author], chain=w.chain.genesis.chain_id, custodian="st-mary",
                          patient=w.did("patient"), body=b"{}", nonce=1, time=w.chain.time,
                          salt=b"")[REQUEST_HEADER]


def read_entry(w: World, reader: str, code: str, basis: str | None,
               purpose: str = "TREAT") -> dict[str, Any]:
    member = member_of_key(w.chain.ledger.state_value, w.did(reader))
    return {"record": RECORD, "patient": w.did("patient"), "requester": w.did(reader),
            "requester_org": member["org"], "purpose": purpose, "code": code, "basis": basis,
            "request": hashlib.sha256(f"{reader}{code}".encode()).hexdigest(),
            "at": w.chain.time, "height": w.chain.ledger.height}
