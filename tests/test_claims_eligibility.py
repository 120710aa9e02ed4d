"""Eligibility (issue 17 item 1): ``POST /fhir/CoverageEligibilityRequest/$submit`` on a
real node. The member is found as ``Claim/$submit`` finds her (the payer's keyed hash of
the Coverage's ids); the answer is a CoverageEligibilityResponse validated against R4;
refusals are one OperationOutcome and nothing is ever recorded."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fhir.resources.R4B import get_fhir_model_class

from claims_site import MEMBERS, OTHER_PAYER, PAYER, Site, claims_site
from claims_world import coverage_id
from salus.claims import demo_bundles as cb
from salus.claims.keys import member_hash, payer_member_key
from salus.node.datadir import DataDir

PATH = "/fhir/CoverageEligibilityRequest/$submit"
PARTIES = cb.Parties(PAYER, cb.Provider("st-mary", "1234567893", "St Mary"),
                     cb.Practitioner("1122334455", "A1", "Adams"))


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    with claims_site(tmp_path_factory.mktemp("claims-eligibility")) as s:
        # ben's coverage lapsed at the end of 2025; a coverage that starts in 2030
        with s.client("officer") as officer:
            key = payer_member_key(DataDir(s.data), PAYER)
            officer.record_coverage({"coverage": coverage_id("ben"), "plan": "gold",
                                     "start": "2025-01-01", "end": "2025-12-31",
                                     "member": member_hash(key, MEMBERS["ben"]),
                                     "patient": s.key("ben").did})
        yield s


def _ask(site: Site, who: str, body: bytes) -> httpx.Response:
    with site.client(who) as c:
        token = c.token()
    return httpx.post(site.url + PATH, content=body, timeout=30, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"})


def _bundle(member: str, day: str | None = None, payer: str = PAYER) -> dict:
    patient = cb.Patient("pat-1", "Doe", "Ana", "female", "1970-03-15", member)
    parties = cb.Parties(payer, PARTIES.provider, PARTIES.practitioner)
    return cb.eligibility_request("el-1", "2026-03-02T10:00:00Z", patient, parties, day)


def _height(site: Site) -> int:
    with site.client("officer") as c:
        return int(c.status()["height"])


def _response(resp: httpx.Response) -> dict:
    assert resp.status_code == 200, resp.text
    doc = resp.json()
    get_fhir_model_class("CoverageEligibilityResponse").model_validate(doc)
    assert doc["outcome"] == "complete" and doc["request"]["identifier"]["value"] == "el-1"
    return doc


def _outcome(resp: httpx.Response, status: int) -> dict:
    assert resp.status_code == status, resp.text
    doc = resp.json()
    assert doc["resourceType"] == "OperationOutcome", doc
    return doc


def test_in_force_on_the_day_asked_and_today_with_the_period(site: Site) -> None:
    before = _height(site)
    for day in ("2026-03-10", None):
        doc = _response(_ask(site, "registrar", json.dumps(_bundle(MEMBERS["ana"], day)).encode()))
        (insurance,) = doc["insurance"]
        assert insurance["inforce"] is True
        assert insurance["benefitPeriod"] == {"start": "2025-01-01"}
        assert insurance["coverage"] == {"reference": "Coverage/coverage"}
        if day is not None:
            assert doc["servicedDate"] == day
    assert _height(site) == before  # nothing recorded


def test_not_yet_in_force_and_lapsed(site: Site) -> None:
    early = _response(_ask(site, "registrar",
                           json.dumps(_bundle(MEMBERS["ana"], "2024-12-31")).encode()))
    assert early["insurance"][0]["inforce"] is False and "not in force" in early["disposition"]
    lapsed = _response(_ask(site, "registrar",
                            json.dumps(_bundle(MEMBERS["ben"], "2026-01-01")).encode()))
    assert lapsed["insurance"][0]["inforce"] is False
    assert lapsed["insurance"][0]["benefitPeriod"] == {"start": "2025-01-01",
                                                       "end": "2025-12-31"}
    last_day = _response(_ask(site, "registrar",
                              json.dumps(_bundle(MEMBERS["ben"], "2025-12-31")).encode()))
    assert last_day["insurance"][0]["inforce"] is True


def test_another_payers_member_or_an_unknown_one_is_not_found(site: Site) -> None:
    # the insurer named is acme, the member id known to nobody here
    resp = _ask(site, "registrar", json.dumps(_bundle("M-NOBODY-9")).encode())
    assert "NO_COVERAGE" in json.dumps(_outcome(resp, 422))
    # the insurer named is beacon (not hosted here): told where to go, nothing looked up
    resp = _ask(site, "registrar", json.dumps(_bundle(MEMBERS["ana"], payer=OTHER_PAYER)).encode())
    assert OTHER_PAYER in json.dumps(_outcome(resp, 409))


def test_bad_input_is_one_operation_outcome_and_records_nothing(site: Site) -> None:
    before = _height(site)
    doc = _bundle(MEMBERS["ana"])
    request = doc["entry"][0]["resource"]
    request["purpose"] = ["a free text purpose"]
    request["servicedDate"] = "2026-13-40"
    out = _outcome(_ask(site, "registrar", json.dumps(doc).encode()), 422)
    assert len(out["issue"]) >= 2
    assert "a free text purpose" not in json.dumps(out)  # never quotes what was sent
    no_coverage = _bundle(MEMBERS["ana"])
    no_coverage["entry"] = [e for e in no_coverage["entry"]
                            if e["resource"]["resourceType"] != "Coverage"]
    _outcome(_ask(site, "registrar", json.dumps(no_coverage).encode()), 422)
    bare = json.dumps(_bundle(MEMBERS["ana"])["entry"][0]["resource"]).encode()
    _outcome(_ask(site, "registrar", bare), 422)
    claim_first = _bundle(MEMBERS["ana"])
    claim_first["entry"].reverse()
    _outcome(_ask(site, "registrar", json.dumps(claim_first).encode()), 422)
    deep: object = 1
    for _ in range(200):
        deep = [deep]
    _outcome(_ask(site, "registrar", json.dumps(deep).encode()), 400)
    _outcome(_ask(site, "registrar", b'{"resourceType": "Bundle", "type": "collection", '
                                     b'"total": 18446744073709551616}'), 400)
    _outcome(_ask(site, "registrar", b" " * (17 * 1024 * 1024)), 413)
    assert _height(site) == before


def test_only_a_providers_registrar_or_clinician_asks(site: Site) -> None:
    body = json.dumps(_bundle(MEMBERS["ana"])).encode()
    for who in ("officer", "reviewer", "nurse", "ana"):
        _outcome(_ask(site, who, body), 403)
    resp = httpx.post(site.url + PATH, content=body, timeout=30,
                      headers={"Content-Type": "application/fhir+json"})
    assert resp.status_code == 401
    # another provider's registrar (not hosted here) may ask: eligibility records nothing
    # and needs no provider key
    assert _ask(site, "other-registrar", body).status_code == 200


def test_the_sdk_and_cli_ask_too(site: Site, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from salus.cli.main import app

    with site.client("registrar") as c:
        assert c.coverage_eligibility(_bundle(MEMBERS["ana"]))["insurance"][0]["inforce"]
    doc = tmp_path / "ask.json"
    doc.write_text(json.dumps(_bundle(MEMBERS["ben"], "2026-02-01")))
    keys = DataDir(site.data).keys_dir
    run = CliRunner().invoke(app, ["claims", "eligibility", str(doc), "--key",
                                   str(keys / "registrar.key"), "--node", site.url,
                                   "--field", "insurance.0.inforce"])
    assert run.exit_code == 0, run.output
    assert run.output.strip() == "false"
