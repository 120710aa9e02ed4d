"""Answering PAS requests (salus.claims.pas, salus.claims.eob): every reviewAction path,
the reference implementation's responses item by item, $inquire, and the patient's EOB."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from hypothesis import given, settings
from hypothesis import strategies as st

from pas_bundles import (
    claim_of,
    coverage_entry,
    encode,
    load,
    name_member,
    resource,
    service_item,
    to_r4,
    variant,
)
from salus.claims import eob, pas
from salus.claims.fhir_values import CARC, HCPCS, Coded
from salus.claims.pas_response import REVIEW_ACTION, REVIEW_ACTION_CODE

A = pas.Action
NOW = "2026-03-02T10:00:05Z"
PERIOD = ("2026-03-02", "2026-06-30")
TRACE = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/extension-itemTraceNumber"


def two_items(use: str = "preauthorization") -> pas.PasRequest:
    """Item 1: CPT 70551 x1 for $1,200.50; item 2: CPT 97110 x10 at $30 = $300."""
    def change(b: dict) -> None:
        claim_of(b)["item"].append(service_item(2, "97110", quantity={"value": 10},
                                                unitPrice={"value": 30, "currency": "USD"},
                                                servicedDate="2026-03-12"))
    return pas.read_request(variant(change, use))


def review_action(adjudication: dict[str, Any]) -> tuple[str | None, str]:
    [ext] = [e for e in adjudication.get("extension", []) if e["url"] == REVIEW_ACTION]
    parts = {p["url"]: p for p in ext["extension"]}
    code = parts[REVIEW_ACTION_CODE]["valueCodeableConcept"]["coding"][0]
    assert code["system"] == "https://codesystem.x12.org/005010/306"
    return parts.get("number", {}).get("valueString"), code["code"]


def first(bundle: dict[str, Any]) -> dict[str, Any]:
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    get_fhir_model_class("Bundle").model_validate(bundle)
    response = bundle["entry"][0]["resource"]
    assert response["resourceType"] == "ClaimResponse"
    return response


def answer(request: pas.PasRequest, *decisions: pas.ItemDecision, **more: Any) -> dict[str, Any]:
    return first(pas.response_bundle(request, decisions, response_id="resp-1", created=NOW,
                                     **more))


# -- each review action -------------------------------------------------------------------


def test_approved_items_echo_their_sequence_and_trace_number_and_carry_the_authorisation() -> None:
    request = two_items()
    response = answer(request, pas.ItemDecision(1, A.APPROVED), pas.ItemDecision(2, A.APPROVED),
                      pre_auth_ref="PA-0001", pre_auth_period=PERIOD)
    assert [i["itemSequence"] for i in response["item"]] == [1, 2]
    first_item = response["item"][0]
    assert {"url": TRACE, "valueIdentifier": {"system": "http://example.org/TRN",
                                              "value": "1122334"}} in first_item["extension"]
    for item in response["item"]:
        assert review_action(item["adjudication"][0]) == ("PA-0001", "A1")
        period = next(e for e in item["extension"] if e["url"].endswith("itemPreAuthPeriod"))
        assert period["valuePeriod"] == {"start": PERIOD[0], "end": PERIOD[1]}
    assert response["item"][1]["adjudication"][1] == {
        "category": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/adjudication",
                                 "code": "benefit"}]}, "amount": {"value": 300, "currency": "USD"}}
    assert (response["preAuthRef"], response["preAuthPeriod"]) == \
        ("PA-0001", {"start": PERIOD[0], "end": PERIOD[1]})
    assert (response["outcome"], response["disposition"]) == ("complete", "Granted")
    assert review_action(response["adjudication"][0]) == ("PA-0001", "A1")
    assert response["request"]["identifier"]["value"] == "111099"
    assert response["requestor"]["identifier"]["value"] == "8189991234"


def test_a_denied_item_names_its_carc_and_its_rule_and_nothing_is_authorised() -> None:
    request = two_items()
    response = answer(request, pas.ItemDecision(1, A.DENIED, reason="197", rule="pa-70551"),
                      pas.ItemDecision(2, A.DENIED, reason="50", rule="med-nec-97110"))
    item = response["item"][0]
    assert review_action(item["adjudication"][0]) == (None, "A3")
    assert item["adjudication"][0]["reason"] == {"coding": [{"system": CARC, "code": "197"}]}
    note = next(n for n in response["processNote"] if n["number"] == item["noteNumber"][0])
    assert "rule pa-70551" in note["text"] and "CARC 197" in note["text"]
    assert "preAuthRef" not in response and "preAuthPeriod" not in response
    assert response["disposition"] == "Denied"
    assert item["adjudication"][1]["amount"]["value"] == 0


def test_a_pended_request_is_queued_and_a_partly_pended_one_partial() -> None:
    request = two_items()
    queued = answer(request, pas.ItemDecision(1, A.PENDED), pas.ItemDecision(2, A.PENDED))
    assert (queued["outcome"], queued["disposition"]) == ("queued", "Pended")
    assert [review_action(i["adjudication"][0])[1] for i in queued["item"]] == ["A4", "A4"]
    assert all(len(i["adjudication"]) == 1 for i in queued["item"])  # nothing decided yet
    partial = answer(request, pas.ItemDecision(1, A.PENDED), pas.ItemDecision(2, A.APPROVED),
                     pre_auth_ref="PA-2", pre_auth_period=PERIOD)
    assert partial["outcome"] == "partial"
    assert review_action(partial["adjudication"][0])[1] == "A4"


def test_certified_in_part_approves_fewer_units() -> None:
    response = answer(two_items(), pas.ItemDecision(1, A.APPROVED),
                      pas.ItemDecision(2, A.PARTIAL, reason="119", rule="pt-visits", units=6),
                      pre_auth_ref="PA-3", pre_auth_period=PERIOD)
    item = response["item"][1]
    assert review_action(item["adjudication"][0]) == ("PA-3", "A2")
    detail = next(e for e in item["extension"] if e["url"].endswith("itemAuthorizedDetail"))
    assert detail["extension"] == [{"url": "quantity", "valueQuantity": {"value": 6}}]
    assert item["adjudication"][1]["amount"]["value"] == 180  # 6 of 10 units at $30
    assert response["disposition"] == "Granted in part"
    assert review_action(response["adjudication"][0])[1] == "A2"


def test_a_modified_item_carries_the_approved_detail_in_add_item() -> None:
    substitute = Coded(HCPCS, "70553")
    response = answer(two_items(), pas.ItemDecision(1, A.MODIFIED, reason="150", rule="mri-tier",
                                                    amount_cents=95000, service=substitute),
                      pas.ItemDecision(2, A.APPROVED), pre_auth_ref="PA-4", pre_auth_period=PERIOD)
    assert review_action(response["item"][0]["adjudication"][0]) == ("PA-4", "A6")
    [added] = response["addItem"]
    assert added["itemSequence"] == [1]
    assert added["productOrService"] == substitute.concept()
    assert (added["quantity"], added["net"]) == ({"value": 1}, {"value": 950, "currency": "USD"})
    assert review_action(added["adjudication"][0]) == ("PA-4", "A6")
    assert added["extension"][0]["url"] == TRACE
    assert response["disposition"] == "Modified"


def test_a_withdrawn_item_is_answered_cancelled() -> None:
    def withdraw(b: dict) -> None:
        claim_of(b)["item"].append(service_item(2, "97110", modifierExtension=[{
            "url": "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/"
                   "modifierextension-infoCancelled", "valueBoolean": True}]))
        claim_of(b)["related"] = [{"claim": {"reference": "Claim/req-0"}}]
    request = pas.read_request(variant(withdraw))
    assert request.kind == "update"
    response = answer(request, pas.ItemDecision(1, A.APPROVED), pas.ItemDecision(2, A.CANCELLED),
                      pre_auth_ref="PA-5", pre_auth_period=PERIOD)
    assert review_action(response["item"][1]["adjudication"][0]) == (None, "C")
    assert response["disposition"] == "Granted"  # withdrawn items do not count
    with pytest.raises(ValueError, match="withdrawn"):
        answer(request, pas.ItemDecision(1, A.APPROVED), pas.ItemDecision(2, A.APPROVED),
               pre_auth_ref="PA-5", pre_auth_period=PERIOD)


@pytest.mark.parametrize(("decisions", "more", "why"), [
    ([pas.ItemDecision(1, A.APPROVED)], {}, "one decision per item"),
    ([pas.ItemDecision(1, A.APPROVED)] * 2, {}, "one decision per item"),
    ([pas.ItemDecision(1, A.DENIED), pas.ItemDecision(2, A.PENDED)], {}, "reason"),
    ([pas.ItemDecision(1, A.DENIED, reason="not covered", rule="r"),
      pas.ItemDecision(2, A.PENDED)], {}, "CARC"),
    ([pas.ItemDecision(1, A.DENIED, reason="50", rule="rule with spaces"),
      pas.ItemDecision(2, A.PENDED)], {}, "rule id"),
    ([pas.ItemDecision(1, A.PENDED), pas.ItemDecision(2, A.PARTIAL, reason="119", rule="r",
                                                      units=10)], {"pre_auth_ref": "P",
                                                                   "pre_auth_period": PERIOD},
     "fewer units"),
    ([pas.ItemDecision(1, A.MODIFIED, reason="150", rule="r"), pas.ItemDecision(2, A.PENDED)],
     {"pre_auth_ref": "P", "pre_auth_period": PERIOD}, "instead"),
    ([pas.ItemDecision(1, A.APPROVED), pas.ItemDecision(2, A.PENDED)], {}, "preAuthRef"),
    ([pas.ItemDecision(1, A.APPROVED), pas.ItemDecision(2, A.PENDED)],
     {"pre_auth_ref": "P", "pre_auth_period": ("2026-06-30", "2026-03-02")}, "period"),
    ([pas.ItemDecision(1, A.APPROVED, amount_cents=10**15), pas.ItemDecision(2, A.PENDED)],
     {"pre_auth_ref": "P", "pre_auth_period": PERIOD}, "out of range"),
    ([pas.ItemDecision(1, A.CANCELLED), pas.ItemDecision(2, A.PENDED)], {}, "withdrawn"),
])
def test_decisions_that_do_not_fit_the_request_are_a_bug_not_a_response(
        decisions: list[pas.ItemDecision], more: dict[str, Any], why: str) -> None:
    with pytest.raises(ValueError, match=why):
        pas.response_bundle(two_items(), decisions, response_id="r", created=NOW, **more)


def test_the_response_bundle_carries_the_submitters_transaction_back() -> None:
    bundle = pas.response_bundle(two_items(), [pas.ItemDecision(1, A.PENDED),
                                               pas.ItemDecision(2, A.PENDED)],
                                 response_id="resp-9", created=NOW, base="https://payer.example/fhir")
    assert bundle["identifier"]["value"] == "A12345"
    assert bundle["entry"][0]["fullUrl"] == "https://payer.example/fhir/ClaimResponse/resp-9"
    assert bundle["timestamp"] == NOW


def test_a_claims_response_has_amounts_and_no_review_action() -> None:
    response = answer(two_items("claim"), pas.ItemDecision(1, A.APPROVED),
                      pas.ItemDecision(2, A.DENIED, reason="18", rule="duplicate"))
    assert response["use"] == "claim"
    assert all(REVIEW_ACTION not in str(i["adjudication"]) for i in response["item"])
    assert "preAuthRef" not in response and "adjudication" not in response
    assert response["item"][0]["adjudication"][1]["amount"]["value"] == 1200.5


# -- the reference implementation's responses ----------------------------------------------


def granted_request() -> pas.PasRequest:
    """The request inside GrantedResponse.json (its Claim and what came with it)."""
    response = load("GrantedResponse.json")
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [e for e in response["entry"]
                        if e["resource"]["resourceType"] != "ClaimResponse"]}
    name_member(resource(bundle, "Coverage", "cov1234"))
    return pas.read_request(encode(to_r4(bundle)))


def example(name: str) -> dict[str, Any]:
    doc = load(name)
    return doc["entry"][0]["resource"] if doc["resourceType"] == "Bundle" else doc


def legacy_action(response: dict[str, Any]) -> str:
    """The 2019 RI put reviewAction on the ClaimResponse itself, as a string."""
    return next(e["valueString"] for e in response["extension"] if e["url"] == REVIEW_ACTION)


def same_header(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    for name in ("resourceType", "use", "outcome", "patient"):
        assert ours[name] == theirs[name], name
    assert ours["type"]["coding"][0]["code"] == theirs["type"]["coding"][0]["code"]


@pytest.mark.parametrize(("name", "action", "disposition"), [
    ("GrantedResponse.json", A.APPROVED, "Granted"),
    ("PendedFinalResponse.json", A.APPROVED, "Granted"),  # the final answer after pending
    ("DeniedResponse.json", A.DENIED, "Denied"),
])
def test_the_reference_responses_item_by_item(name: str, action: A, disposition: str) -> None:
    theirs = example(name)
    request = granted_request()
    decided = pas.ItemDecision(2, action, *(("50", "med-nec") if action is A.DENIED else ()))
    more = {"pre_auth_ref": theirs["preAuthRef"], "pre_auth_period": PERIOD} \
        if action.approves else {}
    ours = answer(request, pas.ItemDecision(1, A.CANCELLED), decided, **more)
    same_header(ours, theirs)
    assert (ours["disposition"], theirs["disposition"]) == (disposition, disposition)
    assert review_action(ours["adjudication"][0])[1] == legacy_action(theirs) == action.value
    # Item by item: the Claim's two items, the withdrawn one answered C.
    assert [(i["itemSequence"], review_action(i["adjudication"][0])[1]) for i in ours["item"]] \
        == [(1, "C"), (2, action.value)]
    if action.approves:
        assert ours["preAuthRef"] == theirs["preAuthRef"]
    else:  # the RI numbered its denials too; an authorisation number authorises, so not here
        assert "preAuthRef" not in ours


def only_claim_request() -> pas.PasRequest:
    """bundle-with-only-claim.json with its Coverage/1 and a service: the request the
    IG-shaped examples (bundle-response, claimresponse-*) answer (Patient/1,
    Organization/1)."""
    bundle = load("bundle-with-only-claim.json")
    bundle["entry"].append(coverage_entry("1", "Patient/1", "Organization/1"))
    claim_of(bundle)["item"] = [service_item(1, "99212")]
    return pas.read_request(encode(bundle))


@pytest.mark.parametrize("name", ["bundle-response.json", "claimresponse-only.json"])
def test_the_certified_referral_response(name: str) -> None:
    theirs = example(name)
    assert theirs["extension"][0]["valueCode"] == "A1"
    period = theirs["extension"][1]["valuePeriod"]
    ours = answer(only_claim_request(), pas.ItemDecision(1, A.APPROVED),
                  pre_auth_ref=theirs["identifier"][0]["value"],
                  pre_auth_period=(period["start"], period["end"]))
    same_header(ours, theirs)
    assert ours["insurer"] == theirs["insurer"]
    assert review_action(ours["item"][0]["adjudication"][0]) == ("AUTH0001", "A1")
    assert ours["preAuthPeriod"] == period


def test_the_pended_response() -> None:
    theirs = example("claimresponse-pended.json")
    ours = answer(only_claim_request(), pas.ItemDecision(1, A.PENDED))
    same_header(ours, theirs)
    assert ours["insurer"] == theirs["insurer"]
    assert review_action(ours["item"][0]["adjudication"][0]) == (None, "A4")


# -- $inquire -----------------------------------------------------------------------------


def inquiry(change: Any = None) -> pas.PasRequest:
    def base(b: dict) -> None:
        claim_of(b)["item"] = [service_item(1, "70551")]
        if change:
            change(b)
    return pas.read_inquiry(variant(base))


def test_an_inquiry_matches_by_member_provider_identifier_and_service() -> None:
    stored = two_items()
    assert pas.inquiry_matches(inquiry(), stored)

    def other_member(b: dict) -> None:
        b["entry"][1] = coverage_entry("cov", "Patient/pat-1", "Organization/payer", "M-2002")
    assert not pas.inquiry_matches(inquiry(other_member), stored)

    def other_provider(b: dict) -> None:
        b["entry"][4]["resource"]["identifier"][0]["value"] = "1999999984"
    assert not pas.inquiry_matches(inquiry(other_provider), stored)

    def other_request(b: dict) -> None:
        claim_of(b)["identifier"][0]["value"] = "111100"
    assert not pas.inquiry_matches(inquiry(other_request), stored)

    def other_service(b: dict) -> None:
        claim_of(b)["item"][0]["productOrService"]["coding"][0]["code"] = "70553"
    assert not pas.inquiry_matches(inquiry(other_service), stored)


def test_inquire_answers_the_current_state_of_each_match() -> None:
    stored = two_items()
    pended = pas.Answer("resp-1", NOW, (pas.ItemDecision(1, A.PENDED), pas.ItemDecision(2, A.PENDED)))
    decided = pas.Answer("resp-1", "2026-03-04T09:00:00Z",
                         (pas.ItemDecision(1, A.APPROVED), pas.ItemDecision(2, A.DENIED, "50", "r")),
                         "PA-6", PERIOD)
    for state, outcome, code in ((pended, "queued", "A4"), (decided, "complete", "A1")):
        bundle = pas.inquire_response(inquiry(), [(stored, state)], bundle_id="inq-1",
                                      timestamp="2026-03-05T00:00:00Z")
        response = first(bundle)
        assert response["outcome"] == outcome
        assert review_action(response["item"][0]["adjudication"][0])[1] == code
    none = pas.inquire_response(inquiry(), [], bundle_id="inq-2", timestamp=NOW)
    assert "entry" not in none
    cancelled = pas.Answer("resp-1", NOW, decided.decisions, "PA-6", PERIOD, cancelled=True)
    response = first(pas.inquire_response(inquiry(), [(stored, cancelled)], bundle_id="inq-3",
                                          timestamp=NOW))
    assert response["status"] == "cancelled" and "preAuthRef" not in response


# -- the patient's explanation of benefit ---------------------------------------------


def test_an_eob_shows_the_patient_each_line_its_decision_and_the_payment() -> None:
    def cite(b: dict) -> None:
        claim_of(b)["insurance"][0]["preAuthRef"] = ["PA-6"]
        claim_of(b)["item"].append(service_item(2, "97110", quantity={"value": 10},
                                                unitPrice={"value": 30, "currency": "USD"},
                                                servicedDate="2026-03-12"))
    request = pas.read_request(variant(cite, "claim"))
    decided = pas.Answer("eob-1", NOW, (pas.ItemDecision(1, A.APPROVED),
                                        pas.ItemDecision(2, A.DENIED, "18", "duplicate")))
    out = eob.explanation_of_benefit(request, decided, patient="Patient/z6Mkp",
                                     coverage="Coverage/cov-77", paid_cents=120050,
                                     payment_date="2026-03-20")
    assert out["patient"] == {"reference": "Patient/z6Mkp"}  # hers, not the provider's
    assert out["insurance"] == [{"focal": True, "coverage": {"reference": "Coverage/cov-77"},
                                 "preAuthRef": ["PA-6"]}]
    line = out["item"][1]
    assert (line["servicedDate"], line["quantity"], line["net"]) == \
        ("2026-03-12", {"value": 10}, {"value": 300, "currency": "USD"})
    assert line["adjudication"][0]["reason"]["coding"][0]["code"] == "18"
    note = out["processNote"][line["noteNumber"][0] - 1]["text"]
    assert "rule duplicate" in note
    totals = {t["category"]["coding"][0]["code"]: t["amount"]["value"] for t in out["total"]}
    assert totals == {"submitted": 1500.5, "benefit": 1200.5}
    assert out["payment"]["amount"] == {"value": 1200.5, "currency": "USD"}
    assert out["item"][0]["locationCodeableConcept"]["coding"][0]["code"] == "22"
    assert out["provider"]["identifier"]["value"] == "8189991234"


def test_an_eob_of_an_authorisation_names_it() -> None:
    request = two_items()
    decided = pas.Answer("eob-2", NOW, (pas.ItemDecision(1, A.APPROVED), pas.ItemDecision(2, A.PENDED)),
                         "PA-7", PERIOD)
    out = eob.explanation_of_benefit(request, decided, patient="Patient/p", coverage="Coverage/c")
    assert out["preAuthRef"] == ["PA-7"] and out["outcome"] == "partial"
    assert out["preAuthRefPeriod"] == [{"start": PERIOD[0], "end": PERIOD[1]}]
    assert [len(i["adjudication"]) for i in out["item"]] == [2, 1]  # pended: nothing decided


@pytest.mark.parametrize(("paid", "day"), [(100, None), (None, "2026-03-20"), (-1, "2026-03-20"),
                                           (100, "20 March")])
def test_an_eob_payment_is_an_amount_and_a_day(paid: int | None, day: str | None) -> None:
    request = two_items("claim")
    decided = pas.Answer("eob-3", NOW, (pas.ItemDecision(1, A.APPROVED),
                                        pas.ItemDecision(2, A.APPROVED)))
    with pytest.raises(ValueError, match="payment"):
        eob.explanation_of_benefit(request, decided, patient="Patient/p", coverage="Coverage/c",
                                   paid_cents=paid, payment_date=day)


def test_responses_never_carry_the_requests_supporting_documents() -> None:
    bundle = to_r4(load("bundle-prior-auth.json"))
    name_member(resource(bundle, "Coverage", "cov1234"))
    request = pas.read_request(encode(bundle))
    out = pas.response_bundle(request, [pas.ItemDecision(1, A.APPROVED)], response_id="r2",
                              created=NOW, pre_auth_ref="PA-8", pre_auth_period=PERIOD)
    text = str(out)
    for phi in ("Smith", "1979-07-04", "J44.9", "10A3D58WH22"):
        assert phi not in text
    assert len(out["entry"]) == 1
    assert copy.deepcopy(out) == out  # plain JSON values only


ACTIONS = [A.APPROVED, A.PARTIAL, A.DENIED, A.PENDED, A.MODIFIED]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=8))
def test_any_mix_of_decisions_gives_a_valid_response_echoing_every_item(actions: list[A]) -> None:
    def items(b: dict) -> None:
        claim_of(b)["item"] = [service_item(i + 1, "97110", quantity={"value": 4},
                                            net={"value": 120}) for i in range(len(actions))]
    request = pas.read_request(variant(items))
    decisions = [pas.ItemDecision(i + 1, a, *(("50", "r1") if a in (A.DENIED, A.PARTIAL, A.MODIFIED)
                                              else ()), units=2 if a in (A.PARTIAL, A.MODIFIED) else None)
                 for i, a in enumerate(actions)]
    approves = any(a.approves for a in actions)
    more = {"pre_auth_ref": "PA-9", "pre_auth_period": PERIOD} if approves else {}
    response = answer(request, *decisions, **more)
    assert [(i["itemSequence"], review_action(i["adjudication"][0])[1]) for i in response["item"]] \
        == [(i + 1, a.value) for i, a in enumerate(actions)]
    assert ("preAuthRef" in response) == approves
    assert len(response.get("addItem", [])) == actions.count(A.MODIFIED)
    assert review_action(response["adjudication"][0])[1] == pas.summary(decisions).value
    assert response["outcome"] == ("queued" if set(actions) == {A.PENDED} else
                                   "partial" if A.PENDED in actions else "complete")
