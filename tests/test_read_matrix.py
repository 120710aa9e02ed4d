"""The read permission matrix: every read endpoint, REST and FHIR, asked by every kind of
actor, against a real node holding records at two custodians.

The expected table below is written out from the issue's rules, independently of the
declarations (``salus.api.read_rules``): for each endpoint, what each actor gets, as a
status or as the view it is served (``all`` of a patient's grants or only the ones
``named`` for them, a transaction's ``bytes`` or only its ``proof``, ...). An actor not
listed gets 403 (401 without a token). Tests below hold the routes to the declarations,
so no read endpoint can be added without a rule, nor a rule without a row here.
"""

from __future__ import annotations

import ast
import base64
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import ident
from records_net import RecordsNet, bundle_for, start, stop
from salus.api import app as api_app
from salus.api import network
from salus.api.read_rules import DECLARED, FORBIDDEN_READ, ReadRule
from salus.claims import routes as claims
from salus.claims import routes_holders as claims_holders
from salus.claims import routes_metrics as claims_metrics
from salus.claims import routes_review as claims_review
from salus.client import SalusClient
from salus.credentials import routes as credentials
from salus.credentials import routes_education as education
from salus.identity import Identity
from salus.node.bootstrap import admin_key_path
from salus.node.datadir import DataDir
from salus.records import routes as records
from salus.records import routes_fhir as fhir
from salus.rewards import routes as rewards
from salus.supply import routes as supply
from salus.supply import routes_footprints as footprints
from salus.supply import routes_impact as supply_impact
from salus.supply import routes_notices as supply_notices
from salus.supply import routes_verification as verification

SALUS = Path(__file__).resolve().parent.parent / "src" / "salus"
#: Every module that registers routes: the node's own (salus.api) and each application's
#: (salus.<application>.routes*).
ROUTE_MODULES = sorted([*(SALUS / "api").glob("*.py"), *(
    path for name in ("records", "credentials", "supply", "claims", "rewards")
    for path in (SALUS / name).glob("routes*.py"))])

PATIENTS = ("patient", "other_patient", "guardian")
STAFF = ("grantee", "clinician_without_grant", "custodian_staff", "privacy_officer",
         "other_custodian_staff", "other_org_admin", "auditor", "regulator")
MEMBERS = PATIENTS + STAFF
ACTORS = (*MEMBERS, "peer_operator", "no_token")
#: actor -> (key name in the records network, or how to make it)
STAFF_KEYS = {"grantee": "dr-adams", "clinician_without_grant": "er-chen",
              "custodian_staff": "nurse-diaz", "privacy_officer": "po-green",
              "other_custodian_staff": "dr-baker", "other_org_admin": "acme-ins-admin"}

#: Endpoints that change something, with their own authority (not read rules).
WRITES = {
    ("POST", "/v1/tx"): "a signed transaction; admission decides (docs/security.md S1-S7)",
    ("POST", "/v1/txs"): "the same, in a batch",
    ("POST", "/v1/auth/token"): "a signed client assertion of an active key",
    ("POST", "/v1/records/{custodian}/ingest"): "clinical staff of the custodian, signed",
    ("POST", "/v1/records/{custodian}/binary"): "the same, for a binary",
    ("POST", "/v1/records/{record}/keys"): "the record's patient",
    ("POST", "/epcis/capture"): "a supply operator of a trading organisation the node hosts",
    ("OPTIONS", "/epcis/capture"): "the capture interface's limits (EPCIS discovery), public",
    ("POST", "/fhir/Claim/$submit"): "a registrar or clinician of a provider the node hosts "
                                     "(tests/test_claims_service.py)",
    ("POST", "/fhir/Claim/$inquire"): "the same, for its own requests",
    ("POST", "/fhir/CoverageEligibilityRequest/$submit"):
        "a registrar or clinician of a provider; records nothing "
        "(tests/test_claims_eligibility.py)",
    ("POST", "/v1/rewards/awards"): "an admin or rewards officer of a sponsor the node serves "
                                    "(tests/test_rewards_service.py)",
}
#: Rules only a network peer mounts; their public answers are read without a token by
#: tests/test_network.py (test_attestations_outlive_their_trimmed_stream_and_a_restart,
#: test_network_status_reports_agreement).
PEER_ONLY = {network.READ_NETWORK, network.READ_ATTESTATIONS}
#: An insurer's rewards programme (issue 18), published by its admin ("other_org_admin").
REWARDS_PROGRAMME = {"programme": "acme-care", "point_cents": 100, "expiry_days": 30,
                     "events": [{"kind": "appointment_kept", "points": 5}],
                     "catalogue": [{"id": "bottle", "code": "BOTTLE", "points": 5,
                                    "retail_cents": 500, "kind": "merchandise"}]}


@dataclass
class World:
    net: RecordsNet
    key: dict[str, Identity] = field(default_factory=dict)
    token: dict[str, str] = field(default_factory=dict)
    grant_tx: str = ""
    grant_height: int = 0
    grants: tuple[str, str] = ("", "")
    st_mary_obs: str = ""
    north_record: str = ""

    def did(self, actor: str) -> str:
        return self.key[actor].did

    def fhir_id(self, actor: str) -> str:
        return self.did(actor).removeprefix("did:key:")


def build(net: RecordsNet) -> World:
    w = World(net)
    datadir = DataDir(net.data)
    for actor, name in STAFF_KEYS.items():
        w.key[actor] = net.people[name]
    for actor in PATIENTS:
        w.key[actor] = net.patient(f"reads-{actor}")
    w.key["regulator"] = net.people["health-dept-admin"] = Identity.load(
        admin_key_path(datadir, "health-dept"))
    w.key["auditor"] = net.people["reads-auditor"] = ident("reads-auditor")
    w.key["peer_operator"] = Identity.load(datadir.key_file)  # the node's block-signing key
    with net.client("health-dept-admin") as admin:
        admin.call("membership", "enrol", {"org": "health-dept", "member": w.did("auditor"),
                                           "roles": ["auditor"]})
    with net.client("dr-adams") as doc:
        stored = doc.ingest("st-mary", w.did("patient"), bundle_for("MRN-READS"))
    w.st_mary_obs = next(s["record"] for s in stored if s["type"] == "Observation")
    observation = next(e["resource"] for e in bundle_for("MRN-READS-N")["entry"]
                       if e["resource"]["resourceType"] == "Observation")
    with net.client("dr-baker") as doc:
        (north,) = doc.ingest("north", w.did("patient"), observation)
    w.north_record = north["record"]
    with SalusClient(net.url, w.key["patient"]) as me:
        granted = me.call("consent", "grant", {"grantee": {"member": w.did("grantee")},
                                               "purposes": ["TREAT"]})
        other = me.call("consent", "grant", {"grantee": {"role": "nurse", "org": "north"},
                                             "purposes": ["TREAT"]})
        me.call("membership", "set_recovery", {"guardians": [w.did("guardian")],
                                               "threshold": 1})
    with net.client("acme-ins-admin") as insurer:
        insurer.call("rewards", "publish_programme", REWARDS_PROGRAMME)
    w.grant_tx, w.grant_height = granted.tx_id, granted.height
    w.grants = (granted.output["grant"], other.output["grant"])
    for actor in ACTORS[:-1]:
        with SalusClient(net.url, w.key[actor]) as c:
            w.token[actor] = c.token()
    return w


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    net, server, node = start(tmp_path_factory.mktemp("reads"))
    try:
        yield build(net)
    finally:
        stop(server, node)


# -- what an answer shows ----------------------------------------------------------------
Observe = Callable[[World, str, httpx.Response], str]


def status(w: World, actor: str, r: httpx.Response) -> str:
    """``ok`` once past the rule (the handler may still answer 404 or 400), else the
    refusal's status (or a server error's)."""
    return str(r.status_code) if r.status_code in (401, 403) or r.status_code >= 500 else "ok"


def viewed(see: Callable[[World, str, Any], str]) -> Observe:
    def observe(w: World, actor: str, r: httpx.Response) -> str:
        if r.status_code != 200:
            return status(w, actor, r)
        return see(w, actor, r.json())
    return observe


def _tx(w: World, actor: str, doc: dict[str, Any]) -> str:
    if "tx" in doc:
        assert doc["envelope"]["signer"] == w.did("patient") and doc["receipt"]["code"]
        return "bytes"
    assert {"envelope", "detail"}.isdisjoint(doc) and not doc["receipt"]["reason"]
    assert doc["leaf_hash"] == w.grant_tx and doc["inclusion"]["audit_path"] is not None
    return "proof"


def _block(w: World, actor: str, doc: dict[str, Any]) -> str:
    has = {"reason" in t for t in doc["txs"]}
    assert len(has) == 1 and doc["header"]
    return "reasons" if has == {True} else "header"


def _members(w: World, actor: str, doc: dict[str, Any]) -> str:
    ids = {m["id"] for m in doc["members"]}
    patients = ids & {w.did(p) for p in PATIENTS}
    assert w.did("grantee") in ids  # the staff directory, whoever asks
    if patients == {w.did(p) for p in PATIENTS}:
        return "all"
    assert patients <= ({w.did(actor)} if actor in PATIENTS else set()), actor
    return "directory"


def _index(w: World, actor: str, doc: dict[str, Any]) -> str:
    custodians = {r["custodian"] for r in doc["records"]}
    return "+".join(sorted(custodians)) or "none"


def _grants(w: World, actor: str, doc: dict[str, Any]) -> str:
    grants = set(doc["grants"])
    if grants == set(w.grants):
        assert "break_glass_opt_out" in doc
        return "all"
    assert grants == {w.grants[0]}, grants
    return "named"


def _fhir_grants(w: World, actor: str, doc: dict[str, Any]) -> str:
    ids = {e["resource"]["id"] for e in doc["entry"]}
    return "all" if len(ids) == 2 else "named" if len(ids) == 1 else "none"


def _bundle(w: World, actor: str, doc: dict[str, Any]) -> str:
    found = [e for e in doc["entry"] if e["resource"]["resourceType"] == "Observation"]
    return "records" if found else "none"


# -- the matrix ----------------------------------------------------------------------------
Request = Callable[[World], tuple[str, dict[str, Any]]]


@dataclass
class Case:
    rule: ReadRule
    request: Request
    allowed: dict[str, str]  # actor -> what they get; everyone else: 403 (401 without a token)
    observe: Observe = status
    method: str = "GET"


def everyone(what: str = "ok") -> dict[str, str]:
    return dict.fromkeys(ACTORS, what)


def only(*actors: str, what: str = "ok") -> dict[str, str]:
    return dict.fromkeys(actors, what)


def get(path: Callable[[World], str], **params: Callable[[World], Any]) -> Request:
    return lambda w: (path(w), {"params": {k: v(w) for k, v in params.items()}})


OVERSEE = ("auditor", "regulator")
CASES: list[Case] = [
    # public: proofs and the node's own description
    *[Case(rule, get(lambda w, p=rule.path: p), everyone()) for rule in (
        api_app.READ_STATUS, api_app.READ_CONTRACTS, api_app.READ_STH, api_app.READ_SMART,
        api_app.READ_HEALTH, api_app.READ_METRICS, credentials.READ_CONTEXT,
        fhir.READ_METADATA)],
    Case(api_app.READ_CONTRACT, get(lambda w: "/v1/contracts/consent/grant"), everyone()),
    Case(api_app.READ_PROOF, get(lambda w: "/v1/log/proof", hash=lambda w: w.grant_tx,
                                 tree_size=lambda w: w.grant_height + 1), everyone()),
    Case(api_app.READ_CONSISTENCY, get(lambda w: "/v1/log/consistency", first=lambda w: 1,
                                       second=lambda w: 2), everyone()),
    Case(credentials.READ_VERIFY, lambda w: ("/v1/credentials/verify",
                                             {"json": {"credential": {"type": "nothing"}}}),
         everyone(), method="POST"),
    Case(credentials.READ_VERIFY_VP, lambda w: (
        "/v1/credentials/verify-presentation",
        {"json": {"presentation": {}, "challenge": "c", "domain": "d"}}),
        everyone(), method="POST"),
    # transactions: proofs for all, bytes for the signer, overseers and peer operators
    Case(api_app.READ_TX, get(lambda w: f"/v1/tx/{w.grant_tx}"),
         {**everyone("proof"), **only("patient", *OVERSEE, "peer_operator", what="bytes")},
         viewed(_tx)),
    Case(api_app.READ_BLOCK, get(lambda w: f"/v1/blocks/{w.grant_height}"),
         {**everyone("header"), **only(*OVERSEE, "peer_operator", what="reasons")},
         viewed(_block)),
    Case(api_app.READ_ENTRIES, get(lambda w: "/v1/log/entries", start=lambda w: 0,
                                   end=lambda w: 5), only(*OVERSEE, "peer_operator")),
    Case(api_app.READ_EXPORT, get(lambda w: "/v1/ledger/export"),
         only(*OVERSEE, "peer_operator")),
    # raw state: the auditor and peer operators
    Case(api_app.READ_STATE_SCAN, get(lambda w: "/v1/state", prefix=lambda w: "consent/"),
         only("auditor", "peer_operator")),
    Case(api_app.READ_STATE_KEY, get(lambda w: f"/v1/state/consent/{w.did('patient')}"),
         only("auditor", "peer_operator")),
    # members: the staff directory, and each patient's own record
    Case(api_app.READ_MEMBERS, get(lambda w: "/v1/members"),
         {**only(*MEMBERS, what="directory"), **only(*OVERSEE, what="all")},
         viewed(_members)),
    Case(api_app.READ_MEMBER, get(lambda w: f"/v1/members/{w.did('grantee')}"),
         only(*MEMBERS)),
    Case(api_app.READ_MEMBER, get(lambda w: f"/v1/members/{w.did('patient')}"),
         only("patient", *OVERSEE)),
    Case(api_app.READ_RECOVERY, get(lambda w: f"/v1/members/{w.did('patient')}/recovery"),
         only("patient", "guardian", *OVERSEE)),
    # records: the index, reads through the gateway, consent, logs
    Case(records.READ_INDEX, get(lambda w: "/v1/records", patient=lambda w: w.did("patient")),
         {**only("patient", "grantee", *OVERSEE, what="north+st-mary"),
          **only("custodian_staff", "privacy_officer", what="st-mary"),
          **only("clinician_without_grant", "other_custodian_staff", what="north"),
          "other_org_admin": "none"}, viewed(_index)),
    # (no token here: a signed request, and "no_token" signs with a key that is no member's)
    Case(records.READ_RECORD, lambda w: ("/v1/records/read", {}),
         {**only("patient", "grantee"), "no_token": "403"}, method="POST"),
    Case(records.READ_CONSENT, get(lambda w: "/v1/consent", patient=lambda w: w.did("patient")),
         {**only("patient", *OVERSEE, what="all"), "grantee": "named"}, viewed(_grants)),
    Case(records.READ_ACCESS_LOG, get(lambda w: "/v1/access/log",
                                      patient=lambda w: w.did("patient")),
         only("patient", *OVERSEE)),
    Case(records.READ_AUDIT, get(lambda w: "/v1/access/audit", custodian=lambda w: "st-mary"),
         only("privacy_officer", *OVERSEE)),
    Case(records.READ_REVIEW, get(lambda w: "/v1/access/review", custodian=lambda w: "st-mary"),
         only("privacy_officer", *OVERSEE)),
    Case(records.READ_EVENTS, get(lambda w: "/v1/access/events"), only(*MEMBERS)),
    # FHIR: contents only as the patient's consent allows, whatever the role
    Case(fhir.READ_FHIR_CONSENT, get(lambda w: "/fhir/Consent",
                                     patient=lambda w: f"Patient/{w.fhir_id('patient')}"),
         {**only("patient", *OVERSEE, what="all"), "grantee": "named"}, viewed(_fhir_grants)),
    Case(fhir.READ_PATIENT, get(lambda w: f"/fhir/Patient/{w.fhir_id('patient')}"),
         only("patient", "grantee")),
    Case(fhir.READ_EVERYTHING, get(lambda w: f"/fhir/Patient/{w.fhir_id('patient')}/$everything"),
         only("patient", "grantee")),
    Case(fhir.READ_RESOURCE, get(lambda w: f"/fhir/Observation/{w.st_mary_obs}"),
         only("patient", "grantee")),
    Case(fhir.READ_SEARCH, get(lambda w: "/fhir/Observation", patient=lambda w: w.fhir_id("patient")),
         {**only(*MEMBERS, "peer_operator", what="none"),
          **only("patient", "grantee", what="records")}, viewed(_bundle)),
    # claims: the metrics CMS-0057-F has payers publish, public
    Case(claims_metrics.READ_CLAIMS_METRICS, get(lambda w: "/v1/claims/metrics",
                                                 payer=lambda w: "acme-ins",
                                                 year=lambda w: "2025"), everyone()),
    Case(claims_metrics.READ_METRICS_PAYERS, get(lambda w: "/v1/claims/metrics/payers"),
         everyone()),
    # the claims pages' reads: codes in words and published rules are public policy; a
    # payer's phantom-billing list for its reviewers (none here: claims-fox is no actor)
    Case(claims_review.READ_VOCABULARY, get(lambda w: "/v1/claims/vocabulary"), everyone()),
    Case(claims_review.READ_RULES, get(lambda w: "/v1/claims/rules", payer=lambda w: "acme-ins"),
         everyone()),
    Case(claims_review.READ_PHANTOM, get(lambda w: "/v1/claims/review"), only()),
    # education: about professionals, for the organisations' staff
    Case(education.READ_PROGRESS, get(lambda w: f"/v1/education/progress/{w.did('grantee')}"),
         only(*STAFF)),
    Case(education.READ_LINEAGE, get(lambda w: f"/v1/education/lineage/{w.did('grantee')}"),
         only(*STAFF)),
    Case(education.READ_CME, get(lambda w: f"/v1/education/cme/{w.did('grantee')}",
                                 requirement=lambda w: "medboard/biennial"), only(*STAFF)),
    Case(education.READ_MODULE, get(lambda w: "/v1/education/modules/airway-101"),
         only(*STAFF)),
    # supply: an organisation's own events and jobs (its supply staff or admins), the
    # overseers; a pack's custody for its parties (tests/test_supply_capture_api.py)
    *[Case(rule, get(lambda w, p=path: p), only("other_org_admin", *OVERSEE))
      for rule, path in ((supply.READ_JOBS, "/epcis/capture"),
                         (supply.READ_JOB, "/epcis/capture/c0"),
                         (supply.READ_EVENTS, "/epcis/events"))],
    Case(supply.READ_ITEM_EVENTS,
         get(lambda w: "/epcis/epcs/urn:epc:id:sgtin:9506000.013435.X1/events"),
         only(*MEMBERS, "peer_operator")),
    Case(supply.READ_TRACE, get(lambda w: "/v1/supply/trace",
                                item=lambda w: "urn:epc:id:sgtin:9506000.013435.X1"),
         only(*OVERSEE)),
    # claims (tests/test_claims_service.py): her EOBs for the patient and whom her consent
    # lets list her records; a payer's queue for its reviewers, a provider's requests and
    # events for its registrars and clinicians (their own organisation's, by default)
    Case(claims.READ_EOB, get(lambda w: "/fhir/ExplanationOfBenefit",
                              patient=lambda w: w.did("patient")), only("patient", "grantee")),
    Case(claims.READ_QUEUE, get(lambda w: "/v1/claims/queue"), only()),
    # what verify reads of one request: its holders (none here: no request) and overseers,
    # who are then told there is none (tests/test_claims_service.py reads a real one)
    Case(claims_holders.READ_CLAIM_LEDGER,
         get(lambda w: "/v1/claims/requests/" + "ab" * 32 + "/ledger"), only(*OVERSEE)),
    *[Case(rule, get(lambda w, p=path: p),
           only("grantee", "clinician_without_grant", "other_custodian_staff"))
      for rule, path in ((claims.READ_REQUESTS, "/v1/claims/requests"),
                         (claims.READ_CLAIM_EVENTS, "/v1/claims/events"))],
    # supply: recalls are public notices; an investigation is its parties' and regulators'
    # (no supply chain here: nobody but regulators passes the rule, and then finds none);
    # supply notices for supply staff of trading organisations (a hospital's clinicians
    # and nurses hold no supply role) and regulators; footprints for members
    Case(supply_notices.READ_RECALLS, get(lambda w: "/v1/supply/recalls"), everyone()),
    Case(supply_notices.READ_INVESTIGATION,
         get(lambda w: "/v1/supply/investigations/" + "ab" * 32), only(*OVERSEE)),
    Case(supply_notices.READ_SUPPLY_EVENTS, get(lambda w: "/v1/supply/events"),
         only(*OVERSEE)),
    Case(footprints.READ_FOOTPRINT, get(lambda w: "/v1/supply/footprints/09506000134352"),
         only(*MEMBERS)),
    # supply: any holder of a pack's identifier verifies it; a saleable return is for
    # the trading organisations' supply operators and pharmacists (none in this world)
    *[Case(verification.READ_VRS, get(lambda w: "/vrs/gtin/09506000134352/lot/L1/ser/S1",
                                      exp=lambda w: "271231", context=lambda w, c=context: c),
           allowed) for context, allowed in (("dispense", everyone()),
                                             ("dscsaSaleableReturn", only()))],
    *[Case(verification.READ_SCAN, lambda w, c=context: ("/v1/supply/scan", {"json": {
        "scan": "(01)09506000134352(21)S1", "context": c}}), allowed, method="POST")
      for context, allowed in (("dispense", everyone()), ("dscsaSaleableReturn", only()))],
    # supply pages: the investigations a viewer may read (supply staff of trading
    # organisations and regulators may ask; none here but the overseers), a pack's CO2e
    # and labour for its parties (tests/test_supply_impact.py)
    Case(supply_notices.READ_INVESTIGATIONS, get(lambda w: "/v1/supply/investigations"),
         only(*OVERSEE)),
    Case(supply_impact.READ_IMPACT, get(lambda w: "/v1/supply/impact",
                                        item=lambda w: "urn:epc:id:sgtin:9506000.013435.X1"),
         only(*OVERSEE)),
    # rewards (issue 18): programmes are public policy; a statement is the patient's own;
    # a programme's totals its sponsor's admins and rewards officers', and the overseers'
    Case(rewards.READ_PROGRAMMES, get(lambda w: "/v1/rewards/programmes"), everyone()),
    Case(rewards.READ_PROGRAMME, get(lambda w: "/v1/rewards/programmes/acme-care"), everyone()),
    Case(rewards.READ_TOTALS, get(lambda w: "/v1/rewards/programmes/acme-care/totals"),
         only("other_org_admin", *OVERSEE)),
    Case(rewards.READ_STATEMENT, get(lambda w: "/v1/rewards/statement",
                                     patient=lambda w: w.did("patient")), only("patient")),
]


def expected(actor: str, allowed: dict[str, str]) -> str:
    return allowed.get(actor, "401" if actor == "no_token" else "403")


def ask(w: World, case: Case, actor: str) -> httpx.Response:
    path, kw = case.request(w)
    headers = kw.pop("headers", {})
    if case.rule is records.READ_RECORD:  # a signed request, no token
        signer = w.key.get(actor) or Identity.generate()  # no token: a key that is no member's
        with SalusClient(w.net.url, signer) as c:
            raw = c.sign("access", "read", {"custodian": "st-mary", "record": w.st_mary_obs,
                                            "purpose": "TREAT"})
        kw["json"] = {"request": base64.b64encode(raw).decode()}
    elif actor in w.token:
        headers["authorization"] = f"Bearer {w.token[actor]}"
    if case.rule in (records.READ_EVENTS, supply_notices.READ_SUPPLY_EVENTS,
                     claims.READ_CLAIM_EVENTS):
        # a stream: its status, then hang up
        with httpx.stream(case.method, w.net.url + path, headers=headers, timeout=10, **kw) as r:
            if r.status_code != 200:
                r.read()
            return r
    return httpx.request(case.method, w.net.url + path, headers=headers, timeout=30, **kw)


@pytest.mark.parametrize("case", CASES, ids=[f"{i:02d} {c.method} {c.rule.path}"
                                             for i, c in enumerate(CASES)])
def test_every_actor_against_every_read_endpoint(world: World, case: Case) -> None:
    got = {}
    for actor in ACTORS:
        r = ask(world, case, actor)
        got[actor] = case.observe(world, actor, r)
        if r.status_code in (401, 403):
            _refusal_is_structured(case, actor, r)
    want = {actor: expected(actor, case.allowed) for actor in ACTORS}
    assert got == want, {a: (got[a], want[a]) for a in ACTORS if got[a] != want[a]}


def _refusal_is_structured(case: Case, actor: str, r: httpx.Response) -> None:
    """A refusal is JSON with a stable code and a reason naming who may read (FHIR: an
    OperationOutcome saying the same)."""
    doc = r.json()
    if r.status_code == 401:
        code = (doc["issue"][0]["diagnostics"].partition(":")[0]
                if doc.get("resourceType") == "OperationOutcome"
                else doc["code"] if "detail" in doc else doc["error"]["code"])
        assert code == "UNAUTHENTICATED" and actor == "no_token", doc
        return
    if doc.get("resourceType") == "OperationOutcome":
        assert doc["issue"][0]["code"] == "forbidden" and doc["issue"][0]["diagnostics"], doc
        return
    if "detail" in doc:  # RFC 7807, under /epcis/
        assert doc["status"] == r.status_code and doc["type"].startswith("epcisException:")
        doc = {"error": {"code": doc["code"], "reason": doc["detail"]}}
    code, reason = doc["error"]["code"], doc["error"]["reason"]
    if case.rule is records.READ_RECORD:  # the gateway's consent decision
        assert code in {"NO_CONSENT", "NOT_A_MEMBER"}, doc
        return
    assert code == FORBIDDEN_READ and reason.startswith("only ") and case.rule.path in reason


def test_a_signer_reads_its_transaction_with_any_of_its_keys(world: World) -> None:
    """The signer of a transaction is a member, not a key: after rotating, the patient
    still reads the bytes of the grant she signed with her first key."""
    new = ident("reads-patient-rotated")
    with SalusClient(world.net.url, world.key["patient"]) as me:
        me.call("membership", "rotate_key", {"new_key": new.did})
    with SalusClient(world.net.url, new) as me:
        doc = me.tx(world.grant_tx)
        assert base64.b64decode(doc["tx"])[64:].find(world.did("patient").encode()) > 0
        assert me.member_id() == world.did("patient")
    world.key["patient"] = new
    with SalusClient(world.net.url, new) as me:
        world.token["patient"] = me.token()


def test_a_token_of_a_revoked_key_reads_nothing(world: World) -> None:
    who = ident("reads-revoked-nurse")
    with world.net.client("st-mary-admin") as admin:
        admin.call("membership", "enrol", {"org": "st-mary", "member": who.did,
                                           "roles": ["nurse"]})
    with SalusClient(world.net.url, who) as c:
        token = c.token()
    with world.net.client("st-mary-admin") as admin:
        admin.call("membership", "revoke_key", {"key": who.did, "reason": "key_compromise"})
    r = httpx.get(f"{world.net.url}/v1/members", headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 401, r.text


def test_the_matrix_covers_every_read_rule() -> None:
    assert set(map(id, DECLARED)) == {id(c.rule) for c in CASES} | set(map(id, PEER_ONLY))


def test_every_route_declares_a_read_rule_or_is_a_write(world: World) -> None:
    """Every operation the node serves (its OpenAPI document, which lists included
    routers' routes too) is a known write or carries the rule it was registered with."""
    declared = {(r.method, r.path.replace(":path", "")): r for r in DECLARED}
    served = {(method.upper(), path): op
              for path, item in world.net.app.openapi()["paths"].items()
              for method, op in item.items()}
    assert set(WRITES) <= set(served)
    for (method, path), op in served.items():
        if (method, path) in WRITES:
            continue
        assert "x-salus-read" in op, f"{method} {path} declares no read rule"
        assert op["x-salus-read"] == declared[method, path].openapi()["x-salus-read"]
    assert {k for k, r in declared.items() if r not in PEER_ONLY} <= set(served)


def test_no_route_is_registered_around_the_rules() -> None:
    """Statically, in every API module (the network peer's too): a route decorator other
    than a rule's ``route`` must be one of the known writes."""
    verbs = {"get", "post", "put", "patch", "delete", "head", "options", "api_route",
             "websocket"}
    found = []
    for path in ROUTE_MODULES:
        tree = ast.parse(path.read_text())
        # a route may be named by a constant (TOKEN_PATH): the module's own value of it
        module = ".".join(path.relative_to(SALUS.parent).with_suffix("").parts)
        constants = vars(importlib.import_module(module))
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for deco in node.decorator_list:
                if isinstance(deco, ast.Call) and isinstance(deco.func, ast.Attribute) \
                        and deco.func.attr in verbs:
                    first = deco.args[0] if deco.args else None
                    route = (constants.get(first.id) if isinstance(first, ast.Name)
                             else ast.literal_eval(first) if first is not None else None)
                    found.append((deco.func.attr.upper(), route, f"{path.name}:{node.name}"))
    assert found, "the scan found no route at all"
    for verb, route, where in found:
        assert (verb, route) in WRITES, f"{where} registers {verb} {route} without a read rule"


def test_fhir_tells_nobody_without_the_index_whether_a_patient_has_records(world: World) -> None:
    """To a reader the patient's index is closed to, a patient with records and one with
    none look the same (one refusal, no record ids); the patient and a grantee still learn
    what they may (404 for none, the records they may read)."""
    def ask(actor: str, path: str) -> httpx.Response:
        return httpx.get(f"{world.net.url}/fhir/{path}", timeout=60,
                         headers={"Authorization": f"Bearer {world.token[actor]}"})

    with SalusClient(world.net.url, world.key["patient"]) as me:  # (her key may have rotated)
        patient = me.member_id().removeprefix("did:key:")
    for route in ("Patient/{}", "Patient/{}/$everything"):
        with_records = ask("clinician_without_grant", route.format(patient))
        without = ask("clinician_without_grant", route.format(world.fhir_id("other_patient")))
        assert with_records.status_code == without.status_code == 403, route
        assert with_records.json() == without.json(), route
        assert world.st_mary_obs not in with_records.text and "r-" not in with_records.text
        # the patient with none is told so; a grantee reads what the grant covers
        assert ask("other_patient", route.format(world.fhir_id("other_patient"))).status_code == 404
        assert ask("grantee", route.format(patient)).status_code == 200, route
