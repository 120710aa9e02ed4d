"""Decisions anyone holding the claim can check: re-adjudication under the recorded rule
version, with the facts each decision recorded, reproduces every stored decision; a
decision the rules do not give, or a document changed by a byte, is caught."""

from __future__ import annotations

from dataclasses import replace

import pytest

from claims_world import (
    FP_KEY,
    LICENSED,
    Claims,
    approve_pa,
    build_claims,
    item,
    register_record,
    table,
)
from salus.claims.verify import verify


@pytest.fixture
def c(chain) -> Claims:
    return build_claims(chain)


def check(c: Claims, rid: str, claim, licence=LICENSED, **kw):
    return verify(c.documents[rid], claim, c.get, licence, key=FP_KEY, **kw)


def test_every_stored_decision_is_what_the_recorded_rules_give(c: Claims) -> None:
    """A seeded run through every kind of decision; then each is re-adjudicated."""
    note = register_record(c, "ana", "diary")
    pt, pt_request = approve_pa(c, "ana", "97110", 10)
    mri, mri_request = approve_pa(c, "ana", "72148", 3)  # the rule allows 1: modified
    sleep = c.facts("ana", [item(1, "95810", 1, 0)], use="preauthorization", evidence=(note,))
    sleep_id = c.submit(sleep)
    c.decide(sleep_id, sleep)  # pended for review by the rules
    c.ok(c.call("reviewer", "decide", {"request": sleep_id, "human_review": True, "items": [
        {"sequence": 1, "outcome": "approved", "rule": "sleep-study", "reason": None,
         "carc": None, "units": 1, "amount_cents": 0}]}))  # then a human approves it
    claims = {
        "paid": c.facts("ana", [item(1, "97110", 6, 24_000), item(2, "99213", 2, 40_000),
                                item(3, "72148", 1, 90_000)], prior_auths=(pt, mri)),
        "exceeds": c.facts("ana", [item(1, "97161", 6, 24_000)], prior_auths=(pt,)),
        "mixed": c.facts("ben", [item(1, "15780"), item(2, "12345"), item(3, "77067"),
                                 item(4, "99214", place="21")], sex="male"),
        "no licence": c.facts("ben", [item(1, "99213")]),
    }
    ids = {name: c.submit(claim, salt=name) for name, claim in claims.items()}
    # the payer publishes new rules after the claims came in: they are judged by the old
    c.ok(c.call("officer", "publish_rules", {"table": table(unlisted="pend")}))
    for name, claim in claims.items():
        licence = (("2020-01-01", "2025-11-20"),) if name == "no licence" else LICENSED
        c.decide(ids[name], claim, licence=licence)
    duplicate = c.submit(claims["mixed"], salt="again")
    c.decide(duplicate, claims["mixed"])
    ids["duplicate"], claims["duplicate"] = duplicate, claims["mixed"]
    outcomes = {name: [(line["outcome"], line["carc"]) for line in c.request(rid)["lines"]]
                for name, rid in ids.items()}
    assert outcomes == {
        "paid": [("approved", None), ("modified", "119"), ("approved", None)],
        "exceeds": [("modified", "198")],  # 4 of the 10 units were left
        "mixed": [("denied", "204"), ("denied", "96"), ("denied", "7"), ("denied", "5")],
        "no licence": [("denied", "B7")],
        "duplicate": [("denied", "18")] * 4,
    }
    assert c.request(pt)["lines"][0]["used"] == 10 and c.request(mri)["lines"][0]["used"] == 1
    for name in ids:
        licence = (("2020-01-01", "2025-11-20"),) if name == "no licence" else LICENSED
        report = check(c, ids[name], claims[name], licence)
        assert report.ok and report.problems == [], (name, report)
        assert {i.verdict for i in report.items} == {"same"}, name
    for rid, request in ((pt, pt_request), (mri, mri_request)):
        assert {i.verdict for i in check(c, rid, request).items} == {"same"}
    sleep_report = check(c, sleep_id, sleep)
    assert [(i.decision, i.verdict) for i in sleep_report.items] == [(1, "same"), (2, "human")]


def test_a_decision_the_rules_do_not_give_is_caught(c: Claims) -> None:
    claim = c.facts("ana", [item(1, "99213")])
    rid = c.submit(claim)
    # the table allows denying an office visit for its place; this one was in an office
    c.ok(c.call("officer", "decide", {"request": rid, "human_review": False, "items": [
        {"sequence": 1, "outcome": "denied", "rule": "office-visit", "reason": "place",
         "carc": "5", "units": None, "amount_cents": None}]}))
    report = check(c, rid, claim)
    (found,) = report.items
    assert not report.ok and found.verdict == "differs"
    assert found.rules["outcome"] == "approved" and found.ledger["reason"] == "place"


def test_an_approval_despite_a_revoked_licence_is_caught(c: Claims) -> None:
    claim = c.facts("ana", [item(1, "99213")])
    rid = c.submit(claim)
    c.decide(rid, claim)  # decided as if the licence were valid
    revoked = (("2020-01-01", "2025-11-20"),)
    (found,) = check(c, rid, claim, revoked).items
    assert found.verdict == "differs" and found.rules["carc"] == "B7"


def test_a_byte_changed_in_the_stored_claim_is_detected(c: Claims) -> None:
    claim = c.facts("ana", [item(1, "99213", 1, 15_000)])
    rid = c.submit(claim)
    c.decide(rid, claim)
    document = c.documents[rid]
    assert check(c, rid, claim).ok
    for i in (0, len(document) // 2, len(document) - 1):
        changed = bytearray(document)
        changed[i] ^= 0x01
        report = verify(bytes(changed), claim, c.get, LICENSED, request=rid, key=FP_KEY)
        assert not report.ok and "not the document registered" in report.problems[0]
    # facts that are not the registered document's: another amount, patient or provider
    for other in (replace(claim, items=(item(1, "99213", 1, 14_000),)),
                  replace(claim, patient=c.did("ben")), replace(claim, provider="riverside")):
        report = verify(document, other, c.get, LICENSED, request=rid, key=FP_KEY)
        assert not report.ok and report.problems
    assert not verify(b"no such claim", claim, c.get, LICENSED).ok
