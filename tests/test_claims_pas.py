"""Reading Da Vinci PAS request Bundles (salus.claims.pas): the reference implementation's
examples, and every way a Bundle is refused with one OperationOutcome."""

from __future__ import annotations

import copy
import json
import time
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from hypothesis import given, settings
from hypothesis import strategies as st

from pas_bundles import (
    MEMBER,
    NPI,
    claim_of,
    coverage_entry,
    encode,
    load,
    minimal,
    name_member,
    resource,
    service_item,
    to_r4,
    variant,
)
from salus.claims import pas
from salus.claims.fhir_values import CPT, HCPCS, Coded, Identifier


def refused(body: bytes) -> pas.PasRefused:
    with pytest.raises(pas.PasRefused) as caught:
        pas.read_request(body)
    outcome = caught.value.outcome()
    get_fhir_model_class("OperationOutcome").model_validate(outcome)  # one valid outcome
    assert len(outcome["issue"]) == len(caught.value.issues) >= 1
    return caught.value


def expressions(exc: pas.PasRefused) -> set[str]:
    return {issue.expression for issue in exc.issues}


# -- the reference implementation's examples --------------------------------------------


def test_bundle_prior_auth_reads_once_its_coverage_names_the_member() -> None:
    bundle = to_r4(load("bundle-prior-auth.json"))
    name_member(resource(bundle, "Coverage", "cov1234"))  # the Coverage the Claim cites
    request = pas.read_request(encode(bundle))
    assert (request.use, request.kind, request.priority, request.expedited) == \
        ("preauthorization", "new", "normal", False)
    assert request.member.ids() == {MEMBER}
    assert request.member.coverage_reference == "Coverage/cov1234"
    # No Claim.item: the service is the prescribed DeviceRequest's (the 2019 RI's form).
    [item] = request.items
    assert (item.sequence, item.service) == (1, Coded(HCPCS, "E0424"))
    assert request.provider.npi == request.practitioner.npi == "1122334455"
    assert request.payer.reference == "Organization/org1234"
    assert request.patient_reference == "Patient/pat013"
    [info] = request.supporting_info
    assert (info.reference, info.resource_type) == ("QuestionnaireResponse/response1",
                                                     "QuestionnaireResponse")


def test_bundle_prior_auth_as_published_is_refused_with_every_stu3_leftover_in_one_outcome() -> None:
    exc = refused(encode(load("bundle-prior-auth.json")))
    found = expressions(exc)
    for i in (7, 8, 9):  # three Conditions with STU3 string statuses
        assert f"Bundle.entry[{i}].resource.clinicalStatus" in found
        assert f"Bundle.entry[{i}].resource.verificationStatus" in found
    assert "Bundle.entry[1].resource.insurance" in found  # DeviceRequest.insurance not a list
    assert "Bundle.entry[2].resource.item[3].item[1].answer[0].integer" in found
    assert "Bundle.entry[13].resource" in found  # and the Coverage names no member
    assert exc.status == 422


def test_bundle_with_only_claim_reads_once_given_its_coverage_and_a_service() -> None:
    bundle = load("bundle-with-only-claim.json")
    exc = refused(encode(bundle))
    assert expressions(exc) == {"Bundle.entry[0].resource.insurance[0].coverage",
                                "Bundle.entry[0].resource.item"}
    bundle["entry"].append(coverage_entry("1", "Patient/1", "Organization/1"))
    claim_of(bundle)["item"] = [service_item(1, "99212")]
    request = pas.read_request(encode(bundle))
    assert request.member.ids() == {MEMBER}
    assert request.provider == pas.Party("Organization/1", None, ())  # not in the Bundle
    assert request.items[0].service == Coded(CPT, "99212")


def test_claim_complete_reads_once_r4_shaped_with_a_member_and_its_order_cited() -> None:
    bundle = to_r4(load("claim-complete.json"))
    coverage = resource(bundle, "Coverage")
    coverage |= {"status": "active", "beneficiary": {"reference": claim_of(bundle)["patient"]
                                                     ["reference"]}}
    name_member(coverage)
    # The example's Claim does not cite the DeviceRequest it comes with; PAS 1.0 names it
    # as the requested service, the 2019 RI as the prescription.
    claim_of(bundle)["prescription"] = {"reference": "DeviceRequest/123"}
    request = pas.read_request(encode(bundle))
    assert request.items[0].service == Coded(HCPCS, "E0424")
    assert request.payer.reference == "Organization/75f39025-65db-43c8-9127-693cdf75e712"
    assert request.practitioner.npi == "1122334455"


def test_claim_update_reads_as_an_update_of_the_earlier_request() -> None:
    claim = load("claim-update.json")
    exc = refused(encode(claim))  # a bare Claim is not a PAS request
    assert expressions(exc) == {"Bundle"}
    claim["item"] = [service_item(1, "99212")]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": claim}, coverage_entry("1", "Patient/1", "Organization/1")]}
    request = pas.read_request(encode(bundle))
    assert request.kind == "update"
    # The 2019 RI names the earlier Claim by the related element's own id.
    assert request.related == (pas.Related("Claim/claim1", None, "replaces"),)


def test_the_granted_examples_request_reads_with_its_withdrawn_item() -> None:
    response = load("GrantedResponse.json")
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [e for e in response["entry"] if e["resource"]["resourceType"] != "ClaimResponse"]}
    name_member(resource(bundle, "Coverage", "cov1234"))
    request = pas.read_request(encode(to_r4(bundle)))
    assert [(i.sequence, i.service.code, i.cancelled) for i in request.items] == \
        [(1, "G0154", True), (2, "B4184", False)]  # the RI's itemCancelled modifier
    assert request.kind == "new"


def test_a_valid_request_reads_every_fact() -> None:
    request = pas.read_request(encode(minimal()))
    assert request.identifier == Identifier("http://example.org/PATIENT_EVENT_TRACE_NUMBER",
                                            "111099")
    assert request.bundle_identifier.value == "A12345"
    assert request.member.ids() == {"M-1001"}
    assert (request.payer.npi, request.provider.npi, request.practitioner.npi) == \
        ("1234567893", "8189991234", "1122334455")
    [item] = request.items
    assert (item.units, item.amount_cents, item.service_date, item.place_of_service) == \
        (1, 120050, "2026-03-10", "22")
    assert item.trace_number == Identifier("http://example.org/TRN", "1122334")
    assert item.practitioner.npi == "1122334455"
    assert request.currency == "USD"


def test_unit_price_times_units_is_the_line_amount_and_a_stat_request_is_expedited() -> None:
    def change(b: dict) -> None:
        claim = claim_of(b)
        claim["priority"]["coding"][0]["code"] = "stat"
        del claim["item"][0]["net"]
        claim["item"][0] |= {"quantity": {"value": 3}, "unitPrice": {"value": 19.99}}
    request = pas.read_request(variant(change))
    assert (request.items[0].units, request.items[0].amount_cents) == (3, 5997)
    assert request.expedited


def test_a_cancellation_names_what_it_cancels() -> None:
    def cancel(b: dict) -> None:
        claim_of(b)["status"] = "cancelled"
    exc = refused(variant(cancel))
    assert expressions(exc) == {"Bundle.entry[0].resource.related"}

    def cancel_named(b: dict) -> None:
        cancel(b)
        claim_of(b)["related"] = [{"claim": {"identifier": {"system": "http://example.org/T",
                                                             "value": "111098"}}}]
    request = pas.read_request(variant(cancel_named))
    assert request.kind == "cancel"
    assert request.related[0].identifier == Identifier("http://example.org/T", "111098")


def test_a_claim_cites_its_authorisation_and_needs_a_date_of_service() -> None:
    def cite(b: dict) -> None:
        claim_of(b)["insurance"][0]["preAuthRef"] = ["PA-77"]
    assert pas.read_request(variant(cite, use="claim")).pre_auth_refs == ("PA-77",)

    def undated(b: dict) -> None:
        del claim_of(b)["item"][0]["servicedDate"]
    assert expressions(refused(variant(undated, use="claim"))) == \
        {"Bundle.entry[0].resource.item[0]"}
    assert pas.read_request(variant(undated)).items[0].service_date is None  # a PA may omit it


def test_an_inquiry_needs_no_items() -> None:
    def no_items(b: dict) -> None:
        del claim_of(b)["item"]
    inquiry = pas.read_inquiry(variant(no_items))
    assert inquiry.items == ()
    refused(variant(no_items))  # but a request does


# -- refused, one OperationOutcome each ------------------------------------------------


def test_not_json_duplicate_keys_and_integers_past_2_53_are_400() -> None:
    assert refused(b"{not json").status == 400
    assert refused(b'{"resourceType": "Bundle", "resourceType": "Claim"}').status == 400
    body = encode(minimal()).replace(b'"value": 1}', b'"value": 9007199254740993}')
    assert b"9007199254740993" in body
    exc = refused(body)
    assert exc.status == 400 and "INVALID_JSON" in exc.issues[0].diagnostics


def test_too_large_is_refused_before_it_is_parsed() -> None:
    body = b"[" * (pas.MAX_BUNDLE_BYTES + 1)
    started = time.perf_counter()
    exc = refused(body)
    assert exc.status == 413 and exc.issues[0].code == "too-costly"
    assert time.perf_counter() - started < 1.0


def test_deep_nesting_is_400() -> None:
    def deep(b: dict) -> None:
        node: dict = {"url": "http://example.org/x", "valueString": "x"}
        for _ in range(200):
            node = {"url": "http://example.org/x", "extension": [node]}
        claim_of(b)["extension"] = [node]
    exc = refused(variant(deep))
    assert exc.status == 400 and "nested" in exc.issues[0].diagnostics


def test_not_a_bundle_and_claim_not_first() -> None:
    assert expressions(refused(encode(claim_of(minimal())))) == {"Bundle"}

    def coverage_first(b: dict) -> None:
        b["entry"].insert(0, b["entry"].pop(1))
    assert "Bundle.entry[0].resource" in expressions(refused(variant(coverage_first)))


def test_no_coverage_or_a_coverage_without_member_id() -> None:
    def drop(b: dict) -> None:
        del b["entry"][1]
    assert expressions(refused(variant(drop))) == {
        "Bundle.entry[0].resource.insurance[0].coverage"}

    def anonymous(b: dict) -> None:
        del b["entry"][1]["resource"]["identifier"]
    exc = refused(variant(anonymous))
    assert expressions(exc) == {"Bundle.entry[1].resource"} and exc.issues[0].code == "required"


@pytest.mark.parametrize("value", ["10.005", "0.001", "1.000000000000000000000000000001",
                                   "1e-7"])
def test_a_fraction_of_a_cent_is_refused(value: str) -> None:
    body = encode(minimal()).replace(b'"value": 1200.5', b'"value": ' + value.encode())
    exc = refused(body)
    assert expressions(exc) == {"Bundle.entry[0].resource.item[0].net.value"}


@pytest.mark.parametrize("value", ["10000000000000", "1e300", "-5"])
def test_an_amount_out_of_range_is_refused(value: str) -> None:
    body = encode(minimal()).replace(b'"value": 1200.5', b'"value": ' + value.encode())
    assert expressions(refused(body)) == {"Bundle.entry[0].resource.item[0].net.value"}


@pytest.mark.parametrize("value", ["1.5", "0", "1000001"])
def test_units_are_a_whole_number_in_range(value: str) -> None:
    body = encode(minimal()).replace(b'"quantity": {"value": 1}',
                                     b'"quantity": {"value": ' + value.encode() + b"}")
    assert expressions(refused(body)) == {"Bundle.entry[0].resource.item[0].quantity.value"}


def test_free_text_where_a_code_belongs() -> None:
    def text(b: dict) -> None:
        item = claim_of(b)["item"][0]
        item["productOrService"]["coding"][0]["code"] = "MRI of the brain please"
        item["locationCodeableConcept"]["coding"][0]["code"] = "office"
        claim_of(b)["priority"]["coding"][0]["code"] = "asap please"
    assert expressions(refused(variant(text))) == {
        "Bundle.entry[0].resource.item[0].productOrService.coding[0].code",
        "Bundle.entry[0].resource.item[0].locationCodeableConcept.coding[0].code",
        "Bundle.entry[0].resource.priority"}

    def described(b: dict) -> None:
        claim_of(b)["item"][0]["productOrService"] = {"text": "an MRI"}
    assert expressions(refused(variant(described))) == {
        "Bundle.entry[0].resource.item[0].productOrService.coding"}


def test_codes_the_models_do_not_check() -> None:
    def bad(b: dict) -> None:
        claim_of(b)["use"] = "predetermination"
        claim_of(b)["item"][0]["servicedDate"] = "2026"  # a valid FHIR date, not a day
        b["entry"][1]["resource"]["status"] = "bogus"
        claim_of(b)["type"]["coding"][0]["code"] = "dental-ish"
    assert expressions(refused(variant(bad))) == {
        "Bundle.entry[0].resource.use", "Bundle.entry[0].resource.item[0].servicedDate",
        "Bundle.entry[1].resource.status", "Bundle.entry[0].resource.type"}


def test_every_problem_is_in_the_one_outcome() -> None:
    def many(b: dict) -> None:
        item = claim_of(b)["item"][0]
        item["net"]["value"] = 10.005
        item["quantity"]["value"] = 0
        claim_of(b)["item"].append(copy.deepcopy(item) | {"sequence": 1})
        b["entry"][1]["resource"]["identifier"][0]["value"] = "has spaces in it"
        b["entry"][2]["resource"]["gender"] = "unknown-ish"
    exc = refused(variant(many))
    found = expressions(exc)
    assert {"Bundle.entry[0].resource.item[0].net.value",
            "Bundle.entry[0].resource.item[0].quantity.value",
            "Bundle.entry[0].resource.item[1].sequence",
            "Bundle.entry[1].resource.identifier[0].value",
            "Bundle.entry[2].resource.gender"} <= found


def test_two_entries_one_reference_could_mean() -> None:
    def twin(b: dict) -> None:
        twin = copy.deepcopy(b["entry"][1])
        twin["resource"]["identifier"][0]["value"] = "M-9999"
        twin.pop("fullUrl")
        b["entry"].append(twin)
    exc = refused(variant(twin))
    assert exc.issues[0].code == "business-rule"


def test_a_coverage_of_another_patient() -> None:
    def other(b: dict) -> None:
        b["entry"][1]["resource"]["beneficiary"] = {"reference": "Patient/someone-else"}
    assert expressions(refused(variant(other))) == {"Bundle.entry[1].resource.beneficiary"}


def test_modifier_extensions_salus_does_not_understand() -> None:
    def modify(b: dict) -> None:
        ext = [{"url": "http://example.org/not-really", "valueBoolean": True}]
        claim_of(b)["modifierExtension"] = ext
        claim_of(b)["item"][0]["modifierExtension"] = ext
        b["entry"][1]["resource"]["modifierExtension"] = ext
    assert expressions(refused(variant(modify))) == {
        "Bundle.entry[0].resource.modifierExtension[0]",
        "Bundle.entry[0].resource.item[0].modifierExtension[0]",
        "Bundle.entry[1].resource.modifierExtension[0]"}


def test_net_must_agree_with_unit_price() -> None:
    def disagree(b: dict) -> None:
        claim_of(b)["item"][0]["unitPrice"] = {"value": 99}
    assert expressions(refused(variant(disagree))) == {"Bundle.entry[0].resource.item[0].net"}


def test_references_must_point_somewhere() -> None:
    def dangling(b: dict) -> None:
        claim_of(b)["item"][0] |= {"careTeamSequence": [9], "informationSequence": [4]}
    assert expressions(refused(variant(dangling))) == {
        "Bundle.entry[0].resource.item[0].careTeamSequence[0]",
        "Bundle.entry[0].resource.item[0].informationSequence[0]"}


def test_too_many_items() -> None:
    def lots(b: dict) -> None:
        claim_of(b)["item"] = [service_item(i, "99212") for i in range(1, 102)]
    assert refused(variant(lots)).issues[0].code == "too-costly"


def test_diagnostics_never_quote_what_was_sent() -> None:
    marker = "ZZPHI4242"

    def leaky(b: dict) -> None:
        item = claim_of(b)["item"][0]
        item["productOrService"]["coding"][0]["code"] = f"{marker} mri"
        item["servicedDate"] = f"{marker}"
        b["entry"][1]["resource"]["subscriberId"] = f"{marker} x"
        b["entry"][2]["resource"]["birthDate"] = marker
        b["entry"][5]["resource"]["identifier"][0]["value"] = f"{marker}!"
    exc = refused(variant(leaky))
    assert len(exc.issues) >= 4
    assert marker not in json.dumps(exc.outcome())


def test_npi_of_a_practitioner_role_is_its_practitioners() -> None:
    def role(b: dict) -> None:
        claim_of(b)["careTeam"][0]["provider"] = {"reference": "PractitionerRole/r"}
        b["entry"].append({"resource": {"resourceType": "PractitionerRole", "id": "r",
                                        "practitioner": {"reference": "Practitioner/dr"}}})
    request = pas.read_request(variant(role))
    assert request.practitioner.resource_type == "PractitionerRole"
    assert request.practitioner.identifiers == (Identifier(NPI, "1122334455"),)


def _paths(node: Any, path: tuple = ()) -> list[tuple]:
    out = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*path, i))
    return out


JSON = st.recursive(st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1)
                    | st.decimals(allow_nan=False, allow_infinity=False, places=4).map(float)
                    | st.text(max_size=12),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
PATHS = _paths(minimal())[1:]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(PATHS), JSON), min_size=1, max_size=3))
def test_any_element_replaced_by_any_json_is_read_or_refused_never_a_crash(
        changes: list[tuple[tuple, Any]]) -> None:
    bundle = minimal()
    for path, value in changes:
        node = bundle
        try:
            for step in path[:-1]:
                node = node[step]
            node[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed this path
    try:
        pas.read_request(encode(bundle))
    except pas.PasRefused as exc:
        get_fhir_model_class("OperationOutcome").model_validate(exc.outcome())


@pytest.mark.parametrize("kind", ["", "Coding", "DomainResource", "Bundle", "NotAThing"])
def test_an_entry_that_is_not_a_concrete_resource(kind: str) -> None:
    def odd(b: dict) -> None:
        b["entry"].append({"resource": {"resourceType": kind, "id": "x"}})
    exc = refused(variant(odd))
    assert expressions(exc) == {"Bundle.entry[6].resource.resourceType"}
    assert exc.issues[0].code == "not-supported"


def test_too_many_entries_is_refused_before_any_is_validated() -> None:
    def crowd(b: dict) -> None:  # each invalid (a Basic has a code): none is looked at
        b["entry"] += [{"resource": {"resourceType": "Basic", "bogus": 1}}] * 300
    exc = refused(variant(crowd))
    assert [(i.expression, i.code) for i in exc.issues] == [("Bundle.entry", "too-costly")]
