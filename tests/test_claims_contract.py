"""The claims contract on a real ledger: rules CL1-CL15, each attacked."""

from __future__ import annotations

import copy
import hashlib

import pytest

from claims_world import (
    FP_KEY,
    OTHER_PAYER,
    PAYER,
    Claims,
    approve_pa,
    build_claims,
    coverage_id,
    item,
    member_hash,
    register_record,
    table,
)
from conftest import ident
from salus.claims.adjudicate import fingerprints
from salus.claims.contracts.layout import DAY_MS, HOUR_MS, open_key
from salus.claims.rules import version
from salus.ledger.codes import Code


@pytest.fixture
def c(chain) -> Claims:
    return build_claims(chain)


def verdict(c: Claims, raw: bytes) -> tuple[str, str]:
    (v,) = c.run(raw)
    return v


def refused(c: Claims, raw: bytes, code: Code, words: str = "") -> None:
    """``raw`` is refused with ``code`` (and a reason holding ``words``), changing nothing."""
    before = list(c.chain.ledger.store.all_state())
    got, reason = verdict(c, raw)
    assert got == code and words in reason, (got, reason)
    assert list(c.chain.ledger.store.all_state()) == before


def decision(**kw) -> dict:
    base = {"sequence": 1, "outcome": "approved", "rule": "office-visit", "reason": None,
            "carc": None, "units": 1, "amount_cents": 10_000}
    return {**base, **kw}


def decide(c: Claims, rid: str, items: list[dict], who: str = "officer", human: bool = False
           ) -> bytes:
    return c.call(who, "decide", {"request": rid, "items": items, "human_review": human})


# -- CL1 rule sets ---------------------------------------------------------------------------
def test_rules_are_published_by_version_and_every_version_stays_readable(c: Claims) -> None:
    first = version(table())
    assert c.get(f"claims/rules-current/{PAYER}")["version"] == first
    newer = table(unlisted="pend")
    (out,) = c.ok(c.call("officer", "publish_rules", {"table": newer}))
    assert out == {"version": version(newer), "height": c.chain.ledger.height, "changed": True}
    assert c.get(f"claims/rules/{first}")["table"] == table()  # the old one, whole
    assert c.get(f"claims/rules/{version(newer)}")["previous"] == first
    (again,) = c.ok(c.call("payer_admin", "publish_rules", {"table": newer}))
    assert again["changed"] is False
    c.ok(c.call("officer", "publish_rules", {"table": table()}))  # back to the first
    assert c.get(f"claims/rules-current/{PAYER}")["version"] == first
    history = [v for _, v, _ in c.chain.ledger.store.state_scan(
        f"claims/rules-history/{PAYER}/", "", 10)]
    assert [bytes(v).decode().strip('"') for v in history] == [first, version(newer), first]
    rule = c.get(f"claims/rule/{first}/psychotherapy")
    assert rule["carc"]["documentation"] == "16" and rule["carc"]["age"] == "6"


def test_only_the_payers_own_staff_publish_its_rules(c: Claims) -> None:
    refused(c, c.call("other_officer", "publish_rules", {"table": table()}), Code.FORBIDDEN,
            "CL1")
    refused(c, c.call("reviewer", "publish_rules", {"table": table()}), Code.FORBIDDEN)
    refused(c, c.call("registrar", "publish_rules", {"table": table()}), Code.FORBIDDEN)
    bad = table()
    bad["rules"].append(copy.deepcopy(bad["rules"][0]))
    refused(c, c.call("officer", "publish_rules", {"table": bad}), Code.BAD_ARGUMENTS,
            "RULE_TWICE")
    hostile = table()
    hostile["rules"][0]["note"] = "covers Ivy Smith's MRI"
    refused(c, c.call("officer", "publish_rules", {"table": hostile}), Code.BAD_ARGUMENTS)


# -- CL2 coverage ----------------------------------------------------------------------------
def test_coverage_is_opaque_and_changed_only_by_its_payer_for_its_patient(c: Claims) -> None:
    cov = c.patients["ana"]
    doc = c.get(f"claims/coverage/{cov}")
    assert doc["member"] == member_hash("M-ana") and "M-ana" not in str(doc)
    assert c.get(f"claims/member/{PAYER}/{member_hash('M-ana')}") == cov
    args = {"coverage": cov, "plan": "gold", "start": "2025-01-01", "end": "2025-10-31",
            "member": member_hash("M-ana-2"), "patient": c.did("ana")}
    refused(c, c.call("other_officer", "record_coverage", args), Code.FORBIDDEN, "CL2")
    refused(c, c.call("officer", "record_coverage", {**args, "patient": c.did("ben")}),
            Code.CONFLICT, "another patient")
    refused(c, c.call("officer", "record_coverage", {**args, "end": "2024-12-31"}),
            Code.BAD_ARGUMENTS, "before it starts")
    refused(c, c.call("officer", "record_coverage", {**args, "end": "2025-02-30"}),
            Code.BAD_ARGUMENTS)  # no such date
    refused(c, c.call("officer", "record_coverage", {**args, "member": member_hash("M-ben")}),
            Code.CONFLICT, "another coverage")
    refused(c, c.call("officer", "record_coverage", {**args, "coverage": "cv-M-ana-12345"}),
            Code.BAD_ARGUMENTS)  # an id that is not opaque
    refused(c, c.call("officer", "record_coverage", {**args, "member": "M-ana"}),
            Code.BAD_ARGUMENTS)  # the member id in the clear
    c.ok(c.call("officer", "record_coverage", args))  # terminated, member id changed
    assert c.get(f"claims/coverage/{cov}")["end"] == "2025-10-31"
    assert c.get(f"claims/member/{PAYER}/{member_hash('M-ana')}") is None
    assert c.get(f"claims/member/{PAYER}/{member_hash('M-ana-2')}") == cov


# -- CL3-CL5 submission ------------------------------------------------------------------------
def test_a_submission_records_hash_rules_fingerprints_and_due_time(c: Claims) -> None:
    t0 = c.chain.time + 1000
    expedited = c.submit(c.facts("ana", [item(1, "97110", 6, 0)], use="preauthorization",
                                 priority="expedited"))
    standard = c.submit(c.facts("ana", [item(1, "97110", 6, 0)], use="preauthorization"),
                        salt="2")
    claim = c.facts("ana", [item(1, "99213")])
    bill = c.submit(claim)
    e, s, b = (c.request(r) for r in (expedited, standard, bill))
    assert e["due"] == t0 + 72 * HOUR_MS and s["due"] == t0 + 1000 + 7 * DAY_MS
    assert b["due"] is None and b["fingerprints"] == fingerprints(FP_KEY, claim)
    assert e["rules"] == version(table()) and e["provider"] == "st-mary"
    assert e["patient"] == c.did("ana") and e["payer"] == PAYER
    assert c.get(open_key(PAYER, expedited))["due"] == e["due"]


def test_submission_refusals(c: Claims) -> None:
    claim = c.facts("ana", [item(1, "99213"), item(2, "99214")])
    _, args = c.submit_args(claim)
    refused(c, c.call("registrar", "submit", {**args, "fingerprints": args["fingerprints"][:1]}),
            Code.BAD_ARGUMENTS, "CL5")
    refused(c, c.call("officer", "submit", args), Code.FORBIDDEN)  # a payer is no provider
    refused(c, c.call("ana", "submit", args), Code.FORBIDDEN)  # nor a patient
    refused(c, c.call("registrar", "submit", {**args, "coverage": coverage_id("nobody")}),
            Code.NOT_FOUND)
    refused(c, c.call("registrar", "submit", {**args, "prior_auths": ["ab" * 32]}),
            Code.NOT_FOUND)
    refused(c, c.call("registrar", "submit", {**args, "items": 2**53 - 1}), Code.BAD_ARGUMENTS)
    refused(c, c.call("registrar", "submit", {**args, "priority": "urgent please"}),
            Code.BAD_ARGUMENTS)
    c.ok(c.call("registrar", "submit", args))
    refused(c, c.call("clinician", "submit", args), Code.CONFLICT, "submitted once")
    # a payer with no rules published: nothing to judge a request by
    admin = ident("new-insurer-admin")
    c.ok(c.chain.tx(ident("regulator-admin"), "membership", "add_organisation", {
        "id": "new-insurer", "name": "New Insurer", "type": "insurer", "admins": [admin.did]}))
    cover = {"coverage": coverage_id("ana@new"), "plan": "basic", "start": "2025-01-01",
             "member": member_hash("N-ana", "new-insurer"), "patient": c.did("ana")}
    c.ok(c.call(admin, "record_coverage", cover))
    _, args = c.submit_args(c.facts("ana", [item(1, "99213")], coverage=cover["coverage"]))
    refused(c, c.call("registrar", "submit", args), Code.CONFLICT, "no rules")


def test_evidence_is_the_providers_own_for_this_patient_pinned_at_submission(c: Claims) -> None:
    note = register_record(c, "ana", "ana's note")
    bens = register_record(c, "ben", "ben's note")
    claim = c.facts("ana", [item(1, "90837")], evidence=(note,))
    rid, args = c.submit_args(claim)
    refused(c, c.call("other_registrar", "submit", args), Code.FORBIDDEN, "CL4")
    refused(c, c.call("registrar", "submit", {**args, "evidence": [bens]}), Code.CONFLICT,
            "CL4")
    later = "r-" + hashlib.sha256(b"registered after").hexdigest()[:32]
    refused(c, c.call("registrar", "submit", {**args, "evidence": [later]}), Code.NOT_FOUND)
    c.ok(c.call("registrar", "submit", args))
    (cited,) = c.request(rid)["evidence"]
    record = c.get(f"record/{note}")
    assert cited == {"record": note, "version": 1, "hash": record["hash"],
                     "height": record["height"]}


def test_duplicates_are_caught_even_at_another_payer_and_denied_18(c: Claims) -> None:
    claim = c.facts("ana", [item(1, "99213"), item(2, "99214")])
    first = c.submit(claim)
    again = c.submit(claim, salt="resent")
    assert c.request(again)["duplicates"] == [1, 2]
    c.ok(c.call("other_officer", "record_coverage", {
        "coverage": coverage_id("ana@beacon"), "plan": "basic", "start": "2025-01-01",
        "member": member_hash("B-ana", OTHER_PAYER), "patient": c.did("ana")}))
    elsewhere = c.submit(c.facts("ana", [item(1, "99214", date="2025-11-21"), item(2, "99213")],
                                 coverage=coverage_id("ana@beacon")))
    assert c.request(elsewhere)["duplicates"] == [1, 2]  # same services, another payer
    approve = [decision(sequence=1), decision(sequence=2, rule="office-visit")]
    refused(c, decide(c, again, approve), Code.BAD_ARGUMENTS, "CL5")
    refused(c, decide(c, first, [decision(sequence=1, outcome="denied", reason="duplicate",
                                          carc="18", units=None, amount_cents=None),
                                 decision(sequence=2)]), Code.BAD_ARGUMENTS, "CL5")
    ds = c.decide(again, claim)
    assert [(d.outcome, d.carc) for d in ds] == [("denied", "18")] * 2
    # cancelling the first releases its fingerprints: a fresh submission is no duplicate
    c.ok(c.call("registrar", "cancel", {"request": first}))
    assert c.request(c.submit(claim, salt="after cancel"))["duplicates"] == []


# -- CL6-CL8 decisions -------------------------------------------------------------------------
@pytest.mark.parametrize(("items", "words"), [
    ([decision(outcome="denied", reason="not_covered", carc="204", units=None,
               amount_cents=None)], "CL7"),  # office visits are covered
    ([decision(outcome="denied", reason="age", carc="6", units=None, amount_cents=None)],
     "CL7"),  # the office-visit rule has no age limit
    ([decision(outcome="denied", reason="place", carc="96", units=None, amount_cents=None)],
     "carries CARC 5"),
    ([decision(rule="no-such-rule")], "has no rule"),
    ([decision(rule="cosmetic")], "covered rule"),
    ([decision(units=2)], "at most 1 units"),
    ([decision(amount_cents=15_001)], "15000 cents"),
    ([decision(carc="119")], "no reason or CARC"),
    ([decision(outcome="modified", reason="place", carc="5")], "why its units"),
    ([decision(outcome="pended", reason="review", units=None, amount_cents=None)],
     "CL7"),  # office visits are not reviewed
    ([decision(outcome="pended", reason="unlisted", rule=None, units=None, amount_cents=None)],
     "not a reason to pend"),  # this table denies unlisted codes
    ([decision(outcome="denied", reason="review", units=None, amount_cents=None)], "CL7"),
    ([decision(outcome="denied", reason="prior_auth_absent", carc="197", units=None,
               amount_cents=None, rule="mri-lumbar")], ""),
])
def test_decisions_follow_the_published_table(c: Claims, items, words) -> None:
    rid = c.submit(c.facts("ana", [item(1, "99213")]))
    got, reason = verdict(c, decide(c, rid, items))
    if items[0]["reason"] == "prior_auth_absent":  # allowed by the table: the rules decide
        assert got == Code.VALID
        return
    assert got == Code.BAD_ARGUMENTS and words in reason, reason
    assert c.request(rid)["status"] == "submitted"


def test_who_decides_and_when(c: Claims) -> None:
    claim = c.facts("ana", [item(1, "99213"), item(2, "15780")])
    rid = c.submit(claim)
    ok = [d.ledger() for d in c.adjudicate(rid, claim)]
    for who in ("other_officer", "registrar", "clinician", "ana", "payer_admin"):
        refused(c, decide(c, rid, ok, who), Code.FORBIDDEN)
    refused(c, decide(c, rid, ok[:1]), Code.BAD_ARGUMENTS, "every item")
    refused(c, decide(c, rid, [ok[0], ok[0]]), Code.BAD_ARGUMENTS, "once")
    refused(c, decide(c, rid, [ok[0], {**ok[1], "sequence": 3}]), Code.BAD_ARGUMENTS, "no item 3")
    c.ok(decide(c, rid, ok))
    refused(c, decide(c, rid, ok), Code.CONFLICT, "only on appeal")
    refused(c, decide(c, rid, ok, "reviewer", human=True), Code.CONFLICT, "only on appeal")
    d = c.request(rid)["decisions"][0]
    assert d["reviewer"] == c.did("officer") and d["human_review"] is False
    assert d["facts"]["coverage"]["plan"] == "gold" and d["late"] is False


def test_a_medical_necessity_denial_needs_a_medical_reviewer_flagged_human(c: Claims) -> None:
    rid = c.submit(c.facts("ana", [item(1, "99213")]))
    necessity = [decision(outcome="denied", reason="medical_necessity", carc="50", units=None,
                          amount_cents=None)]
    refused(c, decide(c, rid, necessity, "officer", human=True), Code.FORBIDDEN, "CL8")
    refused(c, decide(c, rid, necessity, "reviewer", human=False), Code.FORBIDDEN, "CL8")
    c.ok(decide(c, rid, necessity, "reviewer", human=True))
    assert c.request(rid)["lines"][0]["carc"] == "50"


def test_pended_items_are_decided_later_by_a_human_review(c: Claims) -> None:
    note = register_record(c, "ana", "sleep diary")
    request = c.facts("ana", [item(1, "95810", 1, 0), item(2, "97110", 6, 0)],
                      use="preauthorization", evidence=(note,))
    rid = c.submit(request)
    ds = c.decide(rid, request)
    assert [d.outcome for d in ds] == ["pended", "approved"]
    assert c.request(rid)["status"] == "pended" and c.get(open_key(PAYER, rid)) is not None
    approve = [decision(rule="sleep-study", amount_cents=0)]
    refused(c, decide(c, rid, approve, "reviewer"), Code.BAD_ARGUMENTS, "human review")
    refused(c, decide(c, rid, [decision(sequence=2, rule="physical-therapy", amount_cents=0)],
                      "reviewer", human=True), Code.BAD_ARGUMENTS, "pended items")
    refused(c, decide(c, rid, [decision(outcome="pended", reason="review", rule="sleep-study",
                                        units=None, amount_cents=None)], "reviewer", human=True),
            Code.BAD_ARGUMENTS, "does not pend again")
    c.ok(decide(c, rid, approve, "reviewer", human=True))
    found = c.request(rid)
    assert found["status"] == "decided" and found["lines"][0]["human"] is True
    assert found["lines"][0]["period"][0] == "2025-11-21"
    assert c.get(open_key(PAYER, rid)) is None


# -- CL10 due times ----------------------------------------------------------------------------
def test_due_times_and_lateness_in_block_time(c: Claims) -> None:
    pa = c.facts("ana", [item(1, "97110", 6, 0)], use="preauthorization", priority="expedited")
    rid = c.submit(pa)
    c.chain.time += 72 * HOUR_MS  # the next block lands 1 s past the due time
    c.decide(rid, pa)
    found = c.request(rid)
    assert found["late"] is True and found["decisions"][0]["late"] is True
    on_time = c.facts("ana", [item(1, "97110", 6, 0)], use="preauthorization")
    rid = c.submit(on_time, salt="2")
    c.chain.time += 7 * DAY_MS - 2000  # the decision's block lands 1 s before it is due
    c.decide(rid, on_time)
    assert c.request(rid)["late"] is False


def test_an_extension_is_taken_once_before_the_due_time(c: Claims) -> None:
    pa = c.facts("ana", [item(1, "97110", 6, 0)], use="preauthorization")
    rid = c.submit(pa)
    due = c.request(rid)["due"]
    refused(c, c.call("other_officer", "extend", {"request": rid}), Code.FORBIDDEN)
    refused(c, c.call("registrar", "extend", {"request": rid}), Code.FORBIDDEN)
    c.ok(c.call("officer", "extend", {"request": rid}))
    assert c.request(rid)["due"] == due + 14 * DAY_MS and c.request(rid)["extended"] is True
    refused(c, c.call("officer", "extend", {"request": rid}), Code.CONFLICT, "already")
    c.chain.time = due + DAY_MS  # past the first due time, within the extension
    c.decide(rid, pa)
    assert c.request(rid)["late"] is False
    late = c.submit(pa, salt="late")
    c.chain.time += 8 * DAY_MS
    refused(c, c.call("officer", "extend", {"request": late}), Code.CONFLICT, "before")
    bill = c.submit(c.facts("ana", [item(1, "99213", date="2025-11-30")]))
    refused(c, c.call("officer", "extend", {"request": bill}), Code.CONFLICT, "CL10")


# -- CL9 authorisation units -------------------------------------------------------------------
def test_authorised_units_never_go_below_zero(c: Claims) -> None:
    pa, _ = approve_pa(c, "ana", "97110", 12)
    first = c.facts("ana", [item(1, "97110", 12, 48_000)], prior_auths=(pa,))
    second = c.facts("ana", [item(1, "97161", 1, 4_000)], prior_auths=(pa,))
    r1, r2 = c.submit(first), c.submit(second)
    use = {"sequence": 1, "prior_auth": pa, "prior_auth_item": 1, "units": 12}
    c.ok(c.call("officer", "use_units", {"claim": r1, "uses": [use]}))
    assert c.request(pa)["lines"][0]["used"] == 12
    refused(c, c.call("officer", "use_units", {"claim": r2, "uses": [{**use, "units": 1}]}),
            Code.CONFLICT, "0 units left")
    refused(c, c.call("officer", "use_units", {"claim": r1, "uses": [use]}), Code.CONFLICT,
            "already")
    # the payer denies the first claim's item: its units go back
    c.ok(decide(c, r1, [decision(outcome="denied", reason="licence", carc="B7",
                                 rule="physical-therapy", units=None, amount_cents=None)]))
    assert c.request(pa)["lines"][0]["used"] == 0
    ds = c.decide(r2, second)
    assert (ds[0].outcome, ds[0].units) == ("approved", 1)
    assert c.request(pa)["lines"][0]["used"] == 1


def test_a_claim_item_needing_authorisation_is_granted_only_with_its_reserved_units(
        c: Claims) -> None:
    pa, _ = approve_pa(c, "ana", "97110", 12)
    mri, _ = approve_pa(c, "ana", "72148", 1)
    claim = c.facts("ana", [item(1, "97110", 4, 16_000)], prior_auths=(pa, mri))
    rid = c.submit(claim)
    grant = [decision(rule="physical-therapy", units=4, amount_cents=16_000)]
    refused(c, decide(c, rid, grant), Code.CONFLICT, "reserve exactly 4 units")
    uncited, _ = approve_pa(c, "ana", "97110", 3)
    use = {"sequence": 1, "prior_auth": uncited, "prior_auth_item": 1, "units": 4}
    refused(c, c.call("officer", "use_units", {"claim": rid, "uses": [use]}), Code.BAD_ARGUMENTS,
            "does not cite")
    c.ok(c.call("officer", "use_units", {"claim": rid, "uses": [{**use, "prior_auth": mri,
                                                                 "units": 1}]}))
    refused(c, decide(c, rid, [{**grant[0], "units": 1, "amount_cents": 4_000}]), Code.CONFLICT,
            "of rule physical-therapy")  # the reservation is of the MRI's rule
    other = c.submit(c.facts("ben", [item(1, "97110", 1, 4_000)]))
    refused(c, c.call("registrar", "submit", c.submit_args(
        c.facts("ben", [item(1, "97110", 1, 4_000)], prior_auths=(pa,)), salt="x")[1]),
            Code.CONFLICT, "no authorisation under this coverage")
    refused(c, c.call("other_officer", "use_units", {"claim": other, "uses": [use]}),
            Code.FORBIDDEN)


def test_a_cancelled_authorisation_grants_nothing_more(c: Claims) -> None:
    pa, _ = approve_pa(c, "ana", "97110", 12)
    claim = c.facts("ana", [item(1, "97110", 2, 8_000)], prior_auths=(pa,))
    rid = c.submit(claim)
    c.ok(c.call("officer", "use_units", {"claim": rid, "uses": [
        {"sequence": 1, "prior_auth": pa, "prior_auth_item": 1, "units": 2}]}))
    c.ok(c.call("registrar", "cancel", {"request": pa}))
    refused(c, decide(c, rid, [decision(rule="physical-therapy", units=2, amount_cents=8_000)]),
            Code.CONFLICT, "was ended")
    ds = c.decide(rid, claim)  # the rules say: the authorisation is no longer valid
    assert (ds[0].outcome, ds[0].reason, ds[0].carc) == ("denied", "prior_auth_invalid", "15")


# -- CL11 appeals ------------------------------------------------------------------------------
def test_an_appeal_is_decided_by_another_reviewer(c: Claims) -> None:
    claim = c.facts("ana", [item(1, "99213"), item(2, "99214", place="21")])
    rid = c.submit(claim)
    c.ok(decide(c, rid, [decision(), decision(sequence=2, outcome="denied", reason="place",
                                             carc="5", units=None, amount_cents=None)],
                "reviewer"))
    refused(c, c.call("registrar", "appeal", {"request": rid, "items": [1]}), Code.CONFLICT,
            "approved")
    refused(c, c.call("ben", "appeal", {"request": rid, "items": [2]}), Code.FORBIDDEN)
    refused(c, c.call("other_registrar", "appeal", {"request": rid, "items": [2]}),
            Code.FORBIDDEN)
    refused(c, c.call("officer", "appeal", {"request": rid, "items": [2]}), Code.FORBIDDEN)
    c.ok(c.call("ana", "appeal", {"request": rid, "items": [2]}))  # the patient appeals
    assert c.get(open_key(PAYER, rid))["status"] == "appealed"
    overturn = [decision(sequence=2)]
    refused(c, decide(c, rid, overturn, "reviewer", human=True), Code.FORBIDDEN, "CL11")
    refused(c, decide(c, rid, overturn, "second_reviewer"), Code.BAD_ARGUMENTS, "human")
    refused(c, decide(c, rid, [decision(sequence=1), *overturn], "second_reviewer", human=True),
            Code.BAD_ARGUMENTS, "appealed items")
    c.ok(decide(c, rid, overturn, "second_reviewer", human=True))
    found = c.request(rid)
    assert found["status"] == "decided" and found["appeals"][0]["decision"] == 2
    assert found["decisions"][1]["appeal"] == 1 and found["lines"][1]["outcome"] == "approved"
    refused(c, decide(c, rid, overturn, "officer", human=True), Code.CONFLICT, "only on appeal")


def test_at_most_two_appeals(c: Claims) -> None:
    rid = c.submit(c.facts("ana", [item(1, "15780")]))
    deny = [decision(outcome="denied", reason="not_covered", carc="204", rule="cosmetic",
                     units=None, amount_cents=None)]
    c.ok(decide(c, rid, deny))
    for reviewer in ("reviewer", "second_reviewer"):
        c.ok(c.call("registrar", "appeal", {"request": rid, "items": [1]}))
        c.ok(decide(c, rid, deny, reviewer, human=True))
    refused(c, c.call("registrar", "appeal", {"request": rid, "items": [1]}), Code.CONFLICT,
            "2 times")


# -- CL12 payments -----------------------------------------------------------------------------
def test_payments_never_exceed_what_was_granted(c: Claims) -> None:
    claim = c.facts("ana", [item(1, "99213", 1, 20_000), item(2, "15780")])
    rid = c.submit(claim)
    pay = {"claim": rid, "paid_cents": 12_000, "patient_cents": 3_000, "remittance": "ee" * 32}
    refused(c, c.call("officer", "record_payment", pay), Code.CONFLICT, "decided claim")
    c.decide(rid, claim)  # office visit allowed 150.00; the cosmetic item denied
    refused(c, c.call("reviewer", "record_payment", pay), Code.FORBIDDEN)
    refused(c, c.call("other_officer", "record_payment", pay), Code.FORBIDDEN)
    refused(c, c.call("officer", "record_payment", {**pay, "paid_cents": 12_001}),
            Code.CONFLICT, "15000 cents")
    refused(c, c.call("officer", "record_payment", {**pay, "paid_cents": 1.5}),
            Code.MALFORMED)  # no floats in signed data
    c.ok(c.call("officer", "record_payment", pay))
    refused(c, c.call("officer", "record_payment", {**pay, "paid_cents": 1, "patient_cents": 0}),
            Code.CONFLICT)
    refused(c, c.call("registrar", "cancel", {"request": rid}), Code.CONFLICT, "paid")


# -- CL13 phantom billing ----------------------------------------------------------------------
def test_the_patient_flags_services_she_never_received(c: Claims) -> None:
    rid = c.submit(c.facts("ana", [item(1, "99213"), item(2, "99214")]))
    refused(c, c.call("ben", "flag_phantom", {"request": rid, "items": [1]}), Code.FORBIDDEN)
    refused(c, c.call("registrar", "flag_phantom", {"request": rid, "items": [1]}),
            Code.FORBIDDEN)
    refused(c, c.call("ana", "flag_phantom", {"request": rid, "items": [3]}), Code.BAD_ARGUMENTS)
    c.ok(c.call("ana", "flag_phantom", {"request": rid, "items": [2]}))
    refused(c, c.call("ana", "flag_phantom", {"request": rid, "items": [2]}), Code.CONFLICT)
    rows = c.chain.ledger.store.state_scan(f"claims/review/{PAYER}/", "", 10)
    assert len(rows) == 1 and b'"phantom"' in bytes(rows[0][1])
    assert c.request(rid)["lines"][1]["flagged"] is True
    pa = c.submit(c.facts("ana", [item(1, "97110", 2, 0)], use="preauthorization"))
    refused(c, c.call("ana", "flag_phantom", {"request": pa, "items": [1]}), Code.CONFLICT)


def test_the_payer_resolves_a_flag_once_and_the_item_leaves_its_review_list(c: Claims) -> None:
    rid = c.submit(c.facts("ana", [item(1, "99213"), item(2, "99214")]))
    resolve = {"request": rid, "sequence": 2, "finding": "confirmed"}
    refused(c, c.call("officer", "resolve_phantom", resolve), Code.CONFLICT, "not flagged")
    c.ok(c.call("ana", "flag_phantom", {"request": rid, "items": [2]}))
    before = c.request(rid)
    for who in ("ana", "registrar", "clinician", "other_officer", "ben"):
        refused(c, c.call(who, "resolve_phantom", resolve), Code.FORBIDDEN)
    refused(c, c.call("officer", "resolve_phantom", {**resolve, "finding": "he lied"}),
            Code.BAD_ARGUMENTS)
    refused(c, c.call("officer", "resolve_phantom", {**resolve, "sequence": 1}), Code.CONFLICT,
            "not flagged")
    refused(c, c.call("officer", "resolve_phantom", {**resolve, "sequence": 3}),
            Code.BAD_ARGUMENTS)
    refused(c, c.call("officer", "resolve_phantom", {**resolve, "sequence": 0}),
            Code.BAD_ARGUMENTS)
    assert c.request(rid) == before  # refusals change nothing
    c.ok(c.call("reviewer", "resolve_phantom", resolve))
    assert c.chain.ledger.store.state_scan(f"claims/review/{PAYER}/", "", 10) == []
    flag = c.request(rid)["lines"][1]["flag"]
    assert flag["finding"] == "confirmed" and flag["by"] == c.did("reviewer")
    assert c.request(rid)["lines"][1]["flagged"] is True  # the patient still sees her flag
    refused(c, c.call("officer", "resolve_phantom", {**resolve, "finding": "unfounded"}),
            Code.CONFLICT, "resolved already")
    assert c.request(rid)["lines"][1]["flag"]["finding"] == "confirmed"


# -- CL14 cancel and update --------------------------------------------------------------------
def test_an_update_replaces_the_request_and_links_both(c: Claims) -> None:
    claim = c.facts("ana", [item(1, "99213")])
    rid = c.submit(claim)
    corrected = c.facts("ana", [item(1, "99213", 1, 12_000)])
    new_id, args = c.submit_args(corrected, salt="corrected")
    del args["use"], args["coverage"]
    refused(c, c.call("other_registrar", "update", {"request": rid, **args}), Code.FORBIDDEN,
            "CL14")
    c.ok(c.call("clinician", "update", {"request": rid, **args}))
    old, new = c.request(rid), c.request(new_id)
    assert (old["status"], old["replaced_by"], new["replaces"]) == ("replaced", new_id, rid)
    assert c.get(open_key(PAYER, rid)) is None and new["status"] == "submitted"
    refused(c, decide(c, rid, [decision()]), Code.CONFLICT, "replaced")
    refused(c, c.call("registrar", "cancel", {"request": rid}), Code.CONFLICT, "replaced")
    # the replaced request's fingerprints were released, so its services are no duplicate
    assert c.request(c.submit(claim, salt="resubmitted"))["duplicates"] == []
    refused(c, c.call("other_registrar", "cancel", {"request": new_id}), Code.FORBIDDEN)
    c.ok(c.call("registrar", "cancel", {"request": new_id}))
    assert c.request(new_id)["status"] == "cancelled"
