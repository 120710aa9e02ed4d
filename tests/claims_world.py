"""Claims on a test ledger: two payers with claims officers and medical reviewers, two
providers with registrars and clinicians, patients with coverage, records to cite, and a
payer's service that decides as Salus does (facts from the ledger, the pure adjudication,
units reserved, the decision recorded).

Used by the claims tests and by the authority matrix's world."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any

from conftest import Chain, ContractWorld, ident
from salus.canonical import jcs
from salus.claims import facts as ledger_facts
from salus.claims.adjudicate import ClaimFacts, Item, ItemDecision, adjudicate, fingerprints
from salus.claims.contracts.layout import request_key
from salus.claims.rules import load
from salus.identity import Identity
from salus.records.ingest_request import REQUEST_HEADER, signed_headers

PAYER, OTHER_PAYER = "acme-health", "beacon-health"
PROVIDER, OTHER_PROVIDER = "st-mary", "riverside"  # st-mary is conftest's genesis hospital
FP_KEY = hashlib.sha256(b"the consortium's fingerprint key").digest()
#: The rendering practitioner's licence, valid all through the tests' dates.
LICENSED = (("2020-01-01", None),)
#: Staff: actor -> (org, roles)
STAFF = {
    "officer": (PAYER, ["claims_officer"]),
    "reviewer": (PAYER, ["medical_reviewer"]),
    "second_reviewer": (PAYER, ["medical_reviewer"]),
    "other_officer": (OTHER_PAYER, ["claims_officer"]),
    "registrar": (PROVIDER, ["registrar"]),
    "clinician": (PROVIDER, ["clinician"]),
    "gateway": (PROVIDER, ["gateway"]),
    "other_registrar": (OTHER_PROVIDER, ["registrar"]),
}


def rule(rule_id: str, **fields: Any) -> dict[str, Any]:
    """A rule of a table, every field given (those not named: their neutral value)."""
    base = {"id": rule_id, "codes": [], "code_sets": [], "plans": [], "covered": True,
            "prior_auth": False, "review": False, "documentation": False, "units": None,
            "age": None, "sex": None, "places": None, "allowed_cents": None, "carc": {}}
    assert set(fields) <= set(base)
    return {**base, **fields}


def units(most: int, days: int) -> dict[str, int]:
    return {"max": most, "period_days": days}


def table(payer: str = PAYER, **changes: Any) -> dict[str, Any]:
    """The payer's rule set of the tests."""
    return {"payer": payer, "unlisted": "deny", "carc": {}, "code_sets": [
        {"id": "physical-therapy", "codes": ["97110"],
         "ranges": [{"low": "97161", "high": "97163"}]}],
        "rules": [
            rule("mri-lumbar", codes=["72148"], prior_auth=True, units=units(1, 60),
                 allowed_cents=50_000),
            rule("physical-therapy", code_sets=["physical-therapy"], prior_auth=True,
                 units=units(12, 90), allowed_cents=4_000),
            rule("office-visit", codes=["99213", "99214"], units=units(1, 1),
                 places=["11", "22"], allowed_cents=15_000),
            rule("mammogram", codes=["77067"], sex=["female"], age={"min": 40, "max": 150},
                 units=units(1, 1)),
            rule("cosmetic", codes=["15780"], covered=False),
            rule("sleep-study", codes=["95810"], prior_auth=True, review=True,
                 documentation=True, units=units(1, 30)),
            rule("psychotherapy", codes=["90837"], documentation=True, units=units(1, 1),
                 carc={"documentation": "16"}),
            rule("genetic-gold", codes=["81162"], plans=["gold"], units=units(1, 1)),
        ], **changes}


def coverage_id(name: str) -> str:
    return "cv-" + hashlib.sha256(name.encode()).hexdigest()[:32]


def member_hash(member_id: str, payer: str = PAYER) -> str:
    """The payer's keyed hash of a member id (the key: the payer's own secret)."""
    return hmac.new(f"{payer} member key".encode(), member_id.encode(), "sha256").hexdigest()


def item(sequence: int, code: str, n: int = 1, cents: int = 10_000,
         date: str = "2025-11-21", place: str = "11") -> Item:
    return Item(sequence, code, n, cents, date, place)


@dataclass
class Claims(ContractWorld):
    key: dict[str, Identity] = field(default_factory=dict)
    patients: dict[str, str] = field(default_factory=dict)  # name -> coverage id
    documents: dict[str, bytes] = field(default_factory=dict)  # request id -> document

    # -- transactions ----------------------------------------------------------------------
    def did(self, actor: str) -> str:
        return self.key[actor].did

    def call(self, actor: str | Identity, method: str, args: dict[str, Any]) -> bytes:
        who = self.key[actor] if isinstance(actor, str) else actor
        return self.chain.tx(who, "claims", method, args)

    def request(self, rid: str) -> dict[str, Any]:
        return self.get(request_key(rid))

    # -- the provider ------------------------------------------------------------------------
    def facts(self, patient: str, items: list[Item], *, use: str = "claim",
              priority: str = "standard", evidence: tuple[str, ...] = (),
              prior_auths: tuple[str, ...] = (), provider: str = PROVIDER,
              birth_date: str = "1970-03-15", sex: str = "female",
              coverage: str | None = None) -> ClaimFacts:
        return ClaimFacts(use=use, coverage=coverage or self.patients[patient],
                          patient=self.did(patient), birth_date=birth_date, sex=sex,
                          provider=provider, practitioner=self.did("clinician"),
                          priority=priority, items=tuple(items), evidence=evidence,
                          prior_auths=prior_auths)

    def document(self, claim: ClaimFacts, salt: str = "",
                 extra: dict[str, Any] | None = None) -> bytes:
        """The claim document (what a vault would hold), here the facts' JCS bytes, with
        whatever else (``extra``: names, diagnoses) a real one carries."""
        return jcs({"facts": _plain(claim), "salt": salt, **(extra or {})})

    def submit_args(self, claim: ClaimFacts, salt: str = "",
                    extra: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        doc = self.document(claim, salt, extra)
        rid = hashlib.sha256(doc).hexdigest()
        self.documents[rid] = doc
        args: dict[str, Any] = {
            "use": claim.use, "claim": rid, "coverage": claim.coverage,
            "items": len(claim.items), "fingerprints": fingerprints(FP_KEY, claim),
            "priority": claim.priority}
        if claim.evidence:
            args["evidence"] = list(claim.evidence)
        if claim.prior_auths:
            args["prior_auths"] = list(claim.prior_auths)
        return rid, args

    def submit(self, claim: ClaimFacts, who: str = "registrar", salt: str = "",
               extra: dict[str, Any] | None = None) -> str:
        rid, args = self.submit_args(claim, salt, extra)
        self.ok(self.call(who, "submit", args))
        return rid

    # -- the payer ---------------------------------------------------------------------------
    def adjudicate(self, rid: str, claim: ClaimFacts,
                   licence: tuple = LICENSED) -> tuple[ItemDecision, ...]:
        """What the payer's service decides, on the ledger's facts as of the next block."""
        found = self.request(rid)
        rules = load(self.get(f"claims/rules/{found['rules']}")["table"])
        now = self.chain.time + 1000  # the next block's time (Chain.commit)
        return adjudicate(claim, rules, ledger_facts.current(self.get, rid, now, licence))

    def decide(self, rid: str, claim: ClaimFacts, who: str = "officer",
               licence: tuple = LICENSED, human: bool = False) -> tuple[ItemDecision, ...]:
        """Adjudicate, reserve the authorised units it uses, and record the decision."""
        decisions = self.adjudicate(rid, claim, licence)
        uses = [{"sequence": d.sequence, "prior_auth": d.prior_auth[0],
                 "prior_auth_item": d.prior_auth[1], "units": d.units}
                for d in decisions if d.prior_auth is not None]
        if uses:
            self.ok(self.call(who, "use_units", {"claim": rid, "uses": uses}))
            # reserving changed no fact the decision reads (units before this claim)
            assert self.adjudicate(rid, claim, licence) == decisions
        self.ok(self.call(who, "decide", {"request": rid, "items": [d.ledger() for d in decisions],
                                          "human_review": human}))
        return decisions


def _plain(claim: ClaimFacts) -> dict[str, Any]:
    out = dict(claim.__dict__)
    out["items"] = [dict(i.__dict__) for i in claim.items]
    out["evidence"] = list(claim.evidence)
    out["prior_auths"] = list(claim.prior_auths)
    return out


def build_claims(chain: Chain, keys: dict[str, Identity] | None = None,
                 patients: tuple[str, ...] = ("ana", "ben")) -> Claims:
    """Add the payers and the second provider, enrol their staff and register the patients
    (those ``keys`` names that are not members yet), publish both payers' rule sets and
    record each patient's coverage (plan gold)."""
    c = Claims(chain)
    keys = keys or {}
    for actor in [*STAFF, *patients, "payer_admin", "other_payer_admin", "riverside_admin"]:
        c.key[actor] = keys.get(actor) or ident(f"claims-{actor}")
    reg, st_mary = ident("regulator-admin"), ident("st-mary-admin")
    admins = {PAYER: c.key["payer_admin"], OTHER_PAYER: c.key["other_payer_admin"],
              OTHER_PROVIDER: c.key["riverside_admin"], PROVIDER: st_mary}
    c.ok(*[chain.tx(reg, "membership", "add_organisation", {
        "id": org, "name": org.replace("-", " ").title(), "type": kind,
        "admins": [admins[org].did]})
        for org, kind in ((PAYER, "insurer"), (OTHER_PAYER, "insurer"),
                          (OTHER_PROVIDER, "hospital"))])
    new = [a for a in [*STAFF, *patients] if c.get(f"key/{c.did(a)}") is None]
    c.ok(*[chain.tx(admins[org], "membership", "enrol", {
        "org": org, "member": c.did(actor), "roles": roles})
        for actor, (org, roles) in STAFF.items() if actor in new],
        *[chain.tx(c.key[p], "membership", "register_patient", {})
          for p in patients if p in new])
    c.ok(c.call("officer", "publish_rules", {"table": table()}),
         c.call("other_officer", "publish_rules", {"table": table(OTHER_PAYER)}))
    for p in patients:
        c.patients[p] = coverage_id(p)
        c.ok(c.call("officer", "record_coverage", {
            "coverage": c.patients[p], "plan": "gold", "start": "2025-01-01",
            "member": member_hash(f"M-{p}"), "patient": c.did(p)}))
    return c


def register_record(c: Claims, patient: str, name: str, gateway: str = "gateway",
                    author: str = "clinician", custodian: str = PROVIDER) -> str:
    """A record of ``patient``'s at ``custodian``, registered by its gateway; its id."""
    record = "r-" + hashlib.sha256(name.encode()).hexdigest()[:32]
    request = signed_headers(c.key[author], chain=c.chain.genesis.chain_id,
                             custodian=custodian, patient=c.did(patient), body=b"{}", nonce=1,
                             time=c.chain.time, salt=b"")[REQUEST_HEADER]
    c.ok(c.chain.tx(c.key[gateway], "records", "register", {
        "record": record, "patient": c.did(patient), "resource_type": "DocumentReference",
        "content_hash": hashlib.sha256(name.encode()).hexdigest(), "request": request}))
    return record


def approve_pa(c: Claims, patient: str, code: str, n: int, date: str = "2025-11-21",
               priority: str = "standard") -> tuple[str, ClaimFacts]:
    """A prior authorisation approved by the rules, for ``n`` units of ``code``."""
    request = c.facts(patient, [item(1, code, n, 0, date)], use="preauthorization",
                      priority=priority)
    rid = c.submit(request, salt=f"pa {patient} {code} {n} {c.chain.ledger.height}")
    c.decide(rid, request)
    return rid, request

