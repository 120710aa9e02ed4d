"""The demo's claims and prior authorisations, through the real endpoints and transactions
once the node serves (issue 17 item 9).

Acme Health (the demo's insurer) publishes a rule set (:func:`rules`) and records
coverage for the demo patients, each under a member id only Acme's keyed hash of which
reaches the ledger (Kim's lapsed last year). St Mary's billing office (office-uma, a
registrar) then sends Da Vinci PAS Bundles to ``Claim/$submit``, for services dr-alice
renders (her licence, as the board issued it, is with St Mary's claims service), and
Acme's people act with their own keys:

* Ivy's brain MRI: a prior authorisation approved at once (A1);
* Jack's lumbar MRI: pended for review (A4), then approved by medical reviewer dr-mona;
* Jack's bone density scan: denied (age, CARC 6); St Mary's appeals and a different
  reviewer, dr-nate, overturns it;
* Ivy's MRI claim, citing her authorisation: approved, the units used, and paid
  (``record_payment``); the same claim sent again: denied as a duplicate (CARC 18);
* Jack's brain MRI claim without an authorisation: denied (CARC 197);
* Ivy's office visit claim: approved, and flagged by Ivy as a service she never had.

Every Bundle sent is kept in ``DATA/claims-demo/`` (so the patient or the provider can
``salus claims verify`` it), with eligibility questions for Ivy (in force) and Kim (not);
``DATA/demo-claims.json`` lists what was made and marks it done. Trace numbers are drawn
at random on each attempt; a claim's fingerprint is not (the same service on the same
day is the same service), so an attempt that failed after its first claim leaves a
duplicate the next attempt runs into: start again from an empty directory then.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from salus.claims import demo_bundles as cb
from salus.claims.keys import member_hash, member_key_path, read_secret_key
from salus.claims.licences import licences_dir
from salus.client import SalusClient
from salus.clock import iso_from_ms, wall_clock_ms
from salus.credentials.issuer import CredentialRequest, Issuer
from salus.demo.marker import once
from salus.identity import Identity
from salus.node.datadir import DataDir

MARKER = "demo-claims.json"
DOCUMENTS = "claims-demo"
PAYER, PROVIDER = "acme-health", "st-mary"
#: Acme's people: the claims officer is founded with the consortium; the two medical
#: reviewers are enrolled here by Acme's admin (a directory founded before them works).
OFFICER, REVIEWERS = "officer-frank", ("dr-mona", "dr-nate")
SUBMITTER, PRACTITIONER = "office-uma", "dr-alice"
LICENCE_NUMBER = "A120000"  # dr-alice's, as the credentials demo issues it
PATIENTS = {
    "patient-ivy": cb.Patient("SM-100231", "Marlowe", "Ivy", "female", "1961-07-02",
                              "ACM-IVY-1001"),
    "patient-jack": cb.Patient("SM-100877", "Okafor", "Jack", "male", "1979-11-23",
                               "ACM-JACK-1002"),
    "patient-kim": cb.Patient("SM-100950", "Lindqvist", "Kim", "female", "1994-04-17",
                              "ACM-KIM-1003"),
}
PARTIES = cb.Parties(PAYER, cb.Provider(PROVIDER, "1234567893", "St Mary's Hospital"),
                     cb.Practitioner("1122334455", LICENCE_NUMBER, "Alice"))


def _rule(rule_id: str, **fields: Any) -> dict[str, Any]:
    base = {"id": rule_id, "codes": [], "code_sets": [], "plans": [], "covered": True,
            "prior_auth": False, "review": False, "documentation": False, "units": None,
            "age": None, "sex": None, "places": None, "allowed_cents": None, "carc": {}}
    return {**base, **fields}


def rules() -> dict[str, Any]:
    """Acme's published rule set: what needs authorisation, review, units, ages, sexes,
    places and the allowed amount per unit (cents)."""
    return {"payer": PAYER, "unlisted": "deny", "carc": {}, "code_sets": [
        {"id": "physical-therapy", "codes": ["97110"],
         "ranges": [{"low": "97161", "high": "97163"}]}],
        "rules": [
            _rule("mri-brain", codes=["70551", "70553"], prior_auth=True,
                  units={"max": 1, "period_days": 60}, places=["11", "22"],
                  allowed_cents=120_000),
            _rule("mri-lumbar", codes=["72148"], prior_auth=True, review=True,
                  units={"max": 1, "period_days": 60}, allowed_cents=90_000),
            _rule("bone-density", codes=["77080"], prior_auth=True, sex=["female", "male"],
                  age={"min": 50, "max": 120}, units={"max": 1, "period_days": 365},
                  allowed_cents=12_000),
            _rule("physical-therapy", code_sets=["physical-therapy"], prior_auth=True,
                  units={"max": 12, "period_days": 90}, allowed_cents=4_000),
            _rule("office-visit", codes=["99213", "99214"], units={"max": 1, "period_days": 1},
                  places=["11", "22"], allowed_cents=15_000),
            _rule("mammogram", codes=["77067"], sex=["female"], age={"min": 40, "max": 120},
                  units={"max": 1, "period_days": 1}, allowed_cents=20_000),
            _rule("cosmetic", codes=["15780"], covered=False),
        ]}


def coverage_id(member_id: str) -> str:
    """The opaque coverage id: the same on every attempt, so an attempt again changes
    the same coverage rather than colliding with it."""
    return "cv-" + hashlib.sha256(f"acme-demo/{member_id}".encode()).hexdigest()[:32]


def _member_key(data: Path, timeout: float = 60.0) -> bytes:
    """Acme's member-hash key, which the node makes when its claims service opens."""
    path = member_key_path(DataDir(data), PAYER)
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{path} never appeared: the node's claims service is not open")
        time.sleep(0.2)
    return read_secret_key(path)


class _Demo:
    def __init__(self, url: str, data: Path, today: date) -> None:
        self.url, self.data, self.keys = url, data, data / "keys"
        self.today = today.isoformat()
        self.docs = data / DOCUMENTS
        self.docs.mkdir(exist_ok=True)
        self.clients: dict[str, SalusClient] = {}
        self.requests: dict[str, dict[str, Any]] = {}

    def client(self, name: str) -> SalusClient:
        if name not in self.clients:
            self.clients[name] = SalusClient(self.url, Identity.load(self.keys / f"{name}.key"))
        return self.clients[name]

    def close(self) -> None:
        for client in self.clients.values():
            client.close()

    def enrol_reviewers(self) -> None:
        for name in REVIEWERS:
            path = self.keys / f"{name}.key"
            if path.exists():
                continue
            who = Identity.generate()
            self.client(f"{PAYER}-admin").call("membership", "enrol", {
                "org": PAYER, "member": who.did, "roles": ["medical_reviewer"],
                "encryption_key": who.encryption_did})
            who.save(path)

    def licence(self) -> dict[str, str]:
        """dr-alice's licence as the board issued it (valid from the start of last year),
        kept with St Mary's claims service: a claim line is paid only for a licensed day."""
        alice = Identity.load(self.keys / f"{PRACTITIONER}.key").did
        start = f"{int(self.today[:4]) - 1}-01-01"
        end = f"{int(self.today[:4]) + 3}-12-31"
        (self.data / "issuers").mkdir(exist_ok=True)
        with Issuer(self.client("registrar-grace"),
                    self.data / "issuers" / "registrar-grace.db") as board:
            (issued,) = board.issue([CredentialRequest("LicenseCredential", {
                "id": alice, "achievement": {"type": ["Achievement"],
                                             "achievementType": "License",
                                             "name": "Physician and surgeon"},
                "jurisdiction": "US-CA", "licenseNumber": LICENCE_NUMBER,
                "licenseStatus": "active"},
                valid_from=f"{start}T00:00:00Z", valid_until=f"{end}T23:59:59Z")])
        folder = licences_dir(self.data, PROVIDER)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{PRACTITIONER}.json"
        path.write_text(json.dumps(issued, indent=1))
        # what `salus claims verify --licence` is given: the licence periods are the one
        # fact of a decision the claims state does not hold
        return {"file": str(path), "practitioner": PRACTITIONER, "valid": f"{start}:{end}"}

    def coverage(self, member_key: bytes) -> dict[str, dict[str, Any]]:
        year = int(self.today[:4])
        out = {}
        for name, patient in PATIENTS.items():
            lapsed = name == "patient-kim"
            args: dict[str, Any] = {
                "coverage": coverage_id(patient.member_id), "plan": "gold",
                "start": f"{year - 1}-01-01", "member": member_hash(member_key,
                                                                   patient.member_id),
                "patient": Identity.load(self.keys / f"{name}.key").did}
            if lapsed:
                args["end"] = f"{year - 1}-12-31"
            self.client(OFFICER).record_coverage(args)
            out[name] = {"member_id": patient.member_id, "coverage": args["coverage"],
                         "plan": "gold", "start": args["start"], "end": args.get("end")}
        return out

    def submit(self, name: str, use: str, patient: str, lines: list[cb.Line], shows: str,
               **kw: Any) -> dict[str, Any]:
        """A PAS Bundle to ``Claim/$submit`` as St Mary's registrar, kept in the documents
        folder; the request as the ledger then holds it."""
        trace = f"{name}-{secrets.token_hex(4)}"
        doc = cb.pas_request(use, trace, iso_from_ms(wall_clock_ms()), PATIENTS[patient],
                             PARTIES, lines, **kw)
        body = json.dumps(doc, indent=1).encode()
        path = self.docs / f"{name}.json"
        path.write_bytes(body)
        response = self.client(SUBMITTER).pas_submit(body)
        rid = hashlib.sha256(body).hexdigest()
        assert response["entry"][0]["resource"]["resourceType"] == "ClaimResponse"
        self.requests[name] = {"id": rid, "use": use, "patient": patient, "file": str(path),
                               "shows": shows}
        return self.state(name)

    def state(self, name: str) -> dict[str, Any]:
        found = self.client(SUBMITTER).claims_request(self.requests[name]["id"])
        if found is None:
            raise RuntimeError(f"the demo's request {name} is not on the ledger")
        return found

    def expect(self, name: str, outcome: str, reason: str | None = None) -> None:
        line = self.state(name)["lines"][0]
        if (line["outcome"], line["reason"]) != (outcome, reason):
            raise RuntimeError(f"the demo's {name} was {line['outcome']} ({line['reason']}, "
                               f"CARC {line['carc']}), not {outcome} ({reason})")
        self.requests[name].update(outcome=outcome, reason=reason, carc=line["carc"])


def seed_claims(url: str, data: Path, say: Callable[[str], None] = lambda _: None
                ) -> dict[str, Any]:
    """Run the demo's claims on the node at ``url``; return what was made."""
    today = datetime.now(UTC).date()
    d = _Demo(url, data, today)
    try:
        say("claims: Acme publishes its rules and records coverage; medical reviewers ...")
        member_key = _member_key(data)
        d.enrol_reviewers()
        published = d.client(OFFICER).publish_rules(rules())
        coverage = d.coverage(member_key)
        licence = d.licence()
        day = d.today

        say("claims: St Mary's sends prior authorisations: approved, pended, denied ...")
        d.submit("pa-approved", "preauthorization", "patient-ivy",
                 [cb.Line("70551", 1, day)], "a prior authorisation approved at once (A1)")
        d.expect("pa-approved", "approved")
        d.submit("pa-pended", "preauthorization", "patient-jack", [cb.Line("72148", 1, day)],
                 "pended for review (A4), then approved by medical reviewer dr-mona")
        d.expect("pa-pended", "pended", "review")
        d.client(REVIEWERS[0]).decide_claim(d.requests["pa-pended"]["id"], [
            {"sequence": 1, "outcome": "approved", "rule": "mri-lumbar", "reason": None,
             "carc": None, "units": 1, "amount_cents": 0}])
        d.expect("pa-pended", "approved")
        d.requests["pa-pended"]["reviewer"] = REVIEWERS[0]
        d.submit("pa-denied", "preauthorization", "patient-jack", [cb.Line("77080", 1, day)],
                 "denied by the rules: under the rule's age (CARC 6); appealed by St Mary's "
                 "and approved by a different reviewer, dr-nate")
        d.expect("pa-denied", "denied", "age")
        denied = dict(d.requests["pa-denied"])
        d.client(SUBMITTER).call("claims", "appeal", {"request": denied["id"], "items": [1]})
        d.client(REVIEWERS[1]).decide_claim(denied["id"], [
            {"sequence": 1, "outcome": "approved", "rule": "bone-density", "reason": None,
             "carc": None, "units": 1, "amount_cents": 0}])
        d.requests["pa-denied"].update(outcome="denied", reason="age", carc=denied["carc"],
                                       appeal={"by": SUBMITTER, "decided_by": REVIEWERS[1],
                                               "outcome": "approved"})

        say("claims: claims paid, a duplicate, one without its authorisation, a phantom ...")
        auth = d.requests["pa-approved"]["id"]
        d.submit("claim-paid", "claim", "patient-ivy", [cb.Line("70551", 1, day, cents=145_000)],
                 "a claim citing the authorisation: approved at the allowed amount, units "
                 "used, paid", pre_auth_refs=(auth,))
        d.expect("claim-paid", "approved")
        granted = d.state("claim-paid")["lines"][0]["amount_cents"]
        remittance = hashlib.sha256(f"835 remittance for {d.requests['claim-paid']['id']}"
                                    .encode()).hexdigest()
        d.client(OFFICER).call("claims", "record_payment", {
            "claim": d.requests["claim-paid"]["id"], "paid_cents": granted * 4 // 5,
            "patient_cents": granted - granted * 4 // 5, "remittance": remittance})
        d.requests["claim-paid"]["paid_cents"] = granted * 4 // 5
        d.submit("claim-duplicate", "claim", "patient-ivy",
                 [cb.Line("70551", 1, day, cents=145_000)],
                 "the same service billed again: denied as a duplicate (CARC 18)",
                 pre_auth_refs=(auth,))
        d.expect("claim-duplicate", "denied", "duplicate")
        d.submit("claim-without-pa", "claim", "patient-jack",
                 [cb.Line("70551", 1, day, cents=145_000)],
                 "a claim for a service that needs an authorisation, citing none: denied "
                 "(CARC 197)")
        d.expect("claim-without-pa", "denied", "prior_auth_absent")
        d.submit("claim-phantom", "claim", "patient-ivy",
                 [cb.Line("99213", 1, day, cents=18_000)],
                 "an office visit claim, approved; Ivy flags it as a service she never had "
                 "(on Acme's review list)")
        d.expect("claim-phantom", "approved")
        d.client("patient-ivy").call("claims", "flag_phantom", {
            "request": d.requests["claim-phantom"]["id"], "items": [1]})

        eligibility = {}
        for name in ("patient-ivy", "patient-kim"):
            path = d.docs / f"eligibility-{name.removeprefix('patient-')}.json"
            path.write_text(json.dumps(cb.eligibility_request(
                f"el-{secrets.token_hex(4)}", iso_from_ms(wall_clock_ms()), PATIENTS[name],
                PARTIES), indent=1))
            eligibility[name] = {"file": str(path), "inforce": name != "patient-kim"}
    finally:
        d.close()
    return {
        "payer": PAYER, "provider": PROVIDER,
        "rules": {"version": published["version"], "payer": PAYER},
        "coverage": coverage,
        "keys": {"provider": {"registrar": f"{SUBMITTER}.key",
                              "clinician": f"{PRACTITIONER}.key"},
                 "payer": {"claims_officer": f"{OFFICER}.key",
                           "medical_reviewers": [f"{r}.key" for r in REVIEWERS]},
                 "patients": {p: f"{p}.key" for p in PATIENTS},
                 "auditor": "auditor-heidi.key"},
        "keys_dir": str(data / "keys"), "documents": str(d.docs),
        "licence": licence, "date_of_service": day,
        "requests": d.requests, "eligibility": eligibility,
    }


def seed_once(url: str, data: Path, say: Callable[[str], None]) -> dict[str, Any] | None:
    """Seed the claims unless this data directory already has them."""
    return once(data / MARKER, lambda: seed_claims(url, data, say))
