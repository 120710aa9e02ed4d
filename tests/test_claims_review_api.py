"""The claims pages' reads (salus.claims.routes_review) on a real node: the vocabulary is
the rules module's own; a payer's rules are public, any version, with each rule's
decisions the contract allows; the phantom-billing list only for the payer's reviewers;
the queue, requests and EOB carry what the pages show. Refusals with stable codes."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from claims_pages_world import claims_pages_site
from claims_site import OTHER_PAYER, PAYER, Site
from salus.claims.rules import CARC_MEANINGS, DEFAULT_CARC, REASON_WORDS, REASONS
from salus.client import SalusError


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[tuple[Site, dict[str, str]]]:
    with claims_pages_site(tmp_path_factory.mktemp("claims-review-api")) as found:
        yield found


def test_every_reason_has_words_and_the_vocabulary_is_served_whole(world) -> None:
    site, _ = world
    assert set(REASON_WORDS) == REASONS
    doc = httpx.get(f"{site.url}/v1/claims/vocabulary").json()
    assert doc["carc"] == CARC_MEANINGS
    assert {r: v["carc"] for r, v in doc["reasons"].items()} == {
        r: DEFAULT_CARC.get(r) for r in REASONS}


def test_rules_are_public_with_their_choices_and_bad_asks_are_refused(world) -> None:
    site, _ = world
    doc = httpx.get(f"{site.url}/v1/claims/rules", params={"payer": PAYER}).json()
    assert doc["rules"]["version"] == doc["current"] == doc["versions"][-1]["version"]
    mri = doc["choices"]["rules"]["mri-brain"]
    assert mri["preauthorization"]["units_max"] == 2
    assert mri["preauthorization"]["modify"] == {"units": "119"}
    assert "age" not in mri["preauthorization"]["deny"]  # no age limit: no age denial
    assert "licence" not in mri["preauthorization"]["deny"]  # a claim's reason only
    assert mri["claim"]["needs_reservation"] is True
    cosmetic = doc["choices"]["rules"]["cosmetic"]["claim"]
    assert cosmetic["grants"] is False and cosmetic["deny"]["not_covered"] == "204"
    same = httpx.get(f"{site.url}/v1/claims/rules",
                     params={"payer": PAYER, "version": doc["current"]}).json()
    assert same["rules"] == doc["rules"]
    for params, status in (({"payer": "st-mary"}, 404),  # not an insurer
                           ({"payer": "nobody"}, 404),
                           ({"payer": "Acme Health"}, 400),  # free text for an id
                           ({"payer": OTHER_PAYER, "version": doc["current"]}, 404),
                           ({"payer": PAYER, "version": "00" * 32}, 404),
                           ({"payer": PAYER, "version": "x" * 64}, 400)):
        r = httpx.get(f"{site.url}/v1/claims/rules", params=params)
        assert r.status_code == status, (params, r.text)


def test_the_phantom_list_is_the_payers_reviewers_only(world) -> None:
    site, made = world
    with site.client("ana") as ana:
        ana.call("claims", "flag_phantom", {"request": made["visit"], "items": [1]})
    with site.client("reviewer") as c:
        flags = c._request("GET", "/v1/claims/review", auth=True)["flags"]
    assert [(f["request"], f["sequence"], f["kind"]) for f in flags] == [
        (made["visit"], 1, "phantom")]
    assert flags[0]["services"]["items"][0]["code"] == "99213"
    for who in ("other-officer", "registrar", "ana"):
        with site.client(who) as c, pytest.raises(SalusError) as refused:
            c._request("GET", "/v1/claims/review", auth=True, params={"payer": PAYER})
        assert (refused.value.status, refused.value.code) == (403, "FORBIDDEN_READ"), who
    assert httpx.get(f"{site.url}/v1/claims/review").status_code == 401


def test_the_queue_requests_and_eob_carry_what_the_pages_show(world) -> None:
    site, made = world
    with site.client("officer") as c:
        queue = {r["id"]: r for r in c.claims_queue()["requests"]}
    pended = queue[made["review_ben"]]
    assert pended["services"]["items"][0] | {"date": None} == {
        "ledger_item": 1, "sequence": 1, "system": "http://www.ama-assn.org/go/cpt",
        "code": "70450", "units": 1, "billed_cents": 80_000, "date": None, "end": "2026-03-10",
        "place": "22"}
    # who decided it so far: the payer's service (the automatic pend), not a person
    with site.client("officer") as c, site.client("reviewer") as r:
        people = {c.member_id(), r.member_id()}
    assert len(pended["reviewers"]) == 1 and not people & set(pended["reviewers"])
    with site.client("ana") as ana:
        eobs = {e["resource"]["id"]: e["resource"] for e in ana.explanations_of_benefit()["entry"]}
    visit = eobs[made["visit"]]
    assert visit["provider"] == {"identifier": {"system": "urn:salus:org", "value": "st-mary"},
                                 "display": "St Mary"}
    assert visit["item"][0]["extension"] == [  # ana flagged it above: under review
        {"url": "urn:salus:claims:ledger-item", "valuePositiveInt": 1},
        {"url": "urn:salus:claims:phantom-flag", "valueCode": "under-review"}]
    owed = [t for t in visit["total"] if t["category"]["coding"][0]["code"] == "memberliability"]
    assert owed[0]["amount"] == {"value": 30, "currency": "USD"}
