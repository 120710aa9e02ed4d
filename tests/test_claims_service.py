"""The claims services on a real node (issue 17): PAS Claim/$submit, $inquire,
explanations of benefit, the payer's queue and the provider's requests. Refusals first:
each changes nothing and the node keeps serving."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import httpx
import pytest

import pas_bundles as pb
from claims_site import OTHER_PAYER, PAYER, PROVIDER, Site, bundle, claims_site
from salus.client import SalusError
from salus.node.datadir import DataDir


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    with claims_site(tmp_path_factory.mktemp("claims-site")) as s:
        yield s


def _post(site: Site, who: str, path: str, body: bytes) -> httpx.Response:
    with site.client(who) as c:
        token = c.token()
    return httpx.post(site.url + path, content=body, timeout=30, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"})


def _height(site: Site) -> int:
    with site.client("officer") as c:
        return int(c.status()["height"])


def _action(response: dict, n: int = 0) -> str:
    item = response["entry"][0]["resource"]["item"][n]
    ext = item["adjudication"][0]["extension"][0]["extension"]
    return next(e["valueCodeableConcept"]["coding"][0]["code"] for e in ext
                if e["url"].endswith("reviewActionCode"))


def _outcome(resp: httpx.Response) -> dict:
    doc = resp.json()
    assert doc["resourceType"] == "OperationOutcome", doc
    return doc


# -- who must be refused ----------------------------------------------------------------
def test_a_non_provider_member_cannot_submit(site: Site) -> None:
    before = _height(site)
    for who in ("officer", "nurse", "ana"):
        resp = _post(site, who, "/fhir/Claim/$submit", pb.encode(bundle(tag=f"x-{who}")))
        assert resp.status_code == 403, (who, resp.text)
        _outcome(resp)
    assert _height(site) == before


def test_a_provider_this_node_does_not_host_is_told_where_to_go(site: Site) -> None:
    resp = _post(site, "other-registrar", "/fhir/Claim/$submit", pb.encode(bundle()))
    assert resp.status_code == 409 and "riverside" in resp.text and "NOT_HOSTED" in resp.text


def test_a_bundle_for_another_payers_coverage_is_refused(site: Site) -> None:
    doc = bundle(tag="other-payer")
    pb.resource(doc, "Organization", "payer")["identifier"].append(
        {"system": "urn:salus:org", "value": OTHER_PAYER})
    resp = _post(site, "registrar", "/fhir/Claim/$submit", pb.encode(doc))
    # the other payer is not hosted here
    assert resp.status_code == 409 and OTHER_PAYER in resp.text, resp.text
    unknown = bundle("M-NOBODY", tag="nobody")
    resp = _post(site, "registrar", "/fhir/Claim/$submit", pb.encode(unknown))
    assert resp.status_code == 422 and "NO_COVERAGE" in resp.text


def test_free_text_for_a_code_huge_and_deep_bodies_are_refused_with_one_outcome(
        site: Site) -> None:
    before = _height(site)
    doc = bundle(tag="free-text")
    pb.claim_of(doc)["item"][0]["productOrService"]["coding"][0]["code"] = "an MRI please"
    resp = _post(site, "registrar", "/fhir/Claim/$submit", pb.encode(doc))
    assert resp.status_code == 422
    assert len(_outcome(resp)["issue"]) == 1
    deep: object = 1
    for _ in range(200):
        deep = [deep]
    resp = _post(site, "registrar", "/fhir/Claim/$submit", json.dumps(deep).encode())
    assert resp.status_code == 400
    _outcome(resp)
    resp = _post(site, "registrar", "/fhir/Claim/$submit", b" " * (17 * 1024 * 1024))
    assert resp.status_code == 413
    _outcome(resp)
    assert _height(site) == before


# -- the happy paths --------------------------------------------------------------------
def test_a_request_is_approved_at_once_and_replayed_bytes_are_refused(site: Site) -> None:
    body = pb.encode(bundle(tag="approve-1"))
    resp = _post(site, "registrar", "/fhir/Claim/$submit", body)
    assert resp.status_code == 200, resp.text
    answer = resp.json()
    cr = answer["entry"][0]["resource"]
    assert cr["resourceType"] == "ClaimResponse" and _action(answer) == "A1"
    rid = hashlib.sha256(body).hexdigest()
    assert cr["preAuthRef"] == rid and cr["preAuthPeriod"]["start"]
    before = _height(site)
    again = _post(site, "registrar", "/fhir/Claim/$submit", body)
    assert again.status_code == 409 and "DUPLICATE_SUBMISSION" in again.text
    assert _height(site) == before
    # no claim content in the ledger file: the member id, the birth date, the trace number
    ledger = (DataDir(site.data).ledger_file).read_bytes()
    # (the service code is in the published rules, which are public policy)
    for secret in (b"M-ANA-1", b"1970-03-15", b"111099", b"approve-1", b"pat-1"):
        assert secret not in ledger, secret


def test_a_request_a_rule_sends_to_review_is_pended_and_queued_for_the_payer(
        site: Site) -> None:
    resp = _post(site, "registrar", "/fhir/Claim/$submit",
                 pb.encode(bundle("ben", code="70450", tag="review-1")))
    assert resp.status_code == 200, resp.text
    assert _action(resp.json()) == "A4"
    with site.client("reviewer") as reviewer:
        queue = reviewer.claims_queue()
    mine = [r for r in queue["requests"] if r["owed"] == [1]]
    assert mine and mine[-1]["document"]["resourceType"] == "Bundle"
    with site.client("other-officer") as other, pytest.raises(SalusError) as refused:
        other.claims_queue(PAYER)
    assert refused.value.status == 403
    with site.client("registrar") as provider, pytest.raises(SalusError):
        provider.claims_queue(PAYER)


def test_a_provider_reads_its_own_requests_only(site: Site) -> None:
    with site.client("registrar") as provider:
        mine = provider.claims_requests()
    assert mine["provider"] == PROVIDER and mine["requests"]
    with site.client("other-registrar") as other, pytest.raises(SalusError) as refused:
        other.claims_requests(PROVIDER)
    assert refused.value.status == 403


def test_a_patient_reads_her_explanations_of_benefit_and_not_anothers(site: Site) -> None:
    _post(site, "registrar", "/fhir/Claim/$submit", pb.encode(bundle(tag="eob-1")))
    with site.client("ana") as ana:
        eobs = ana.explanations_of_benefit()
        ben = site.key("ben").did
        with pytest.raises(SalusError) as refused:
            ana.explanations_of_benefit(ben)
    assert refused.value.status == 403
    assert eobs["total"] >= 1
    assert all(e["resource"]["resourceType"] == "ExplanationOfBenefit" for e in eobs["entry"])


def test_an_inquiry_answers_the_providers_request_and_a_cancel_ends_it(site: Site) -> None:
    doc = bundle("ben", tag="cancel-me")
    resp = _post(site, "registrar", "/fhir/Claim/$submit", pb.encode(doc))
    assert resp.status_code == 200, resp.text
    rid = resp.json()["entry"][0]["resource"]["id"]
    inquiry = bundle("ben", tag="cancel-me")
    resp = _post(site, "registrar", "/fhir/Claim/$inquire", pb.encode(inquiry))
    assert resp.status_code == 200, resp.text
    found = [e["resource"]["id"] for e in resp.json().get("entry", [])]
    assert rid in found
    # another provider's registrar asks about it: not hosted here, nothing said
    assert _post(site, "other-registrar", "/fhir/Claim/$inquire",
                 pb.encode(inquiry)).status_code == 409
    cancel = bundle("ben", tag="cancel-2")
    claim = pb.claim_of(cancel)
    claim["status"] = "cancelled"
    claim["related"] = [{"claim": {"identifier": {
        "system": "http://example.org/PATIENT_EVENT_TRACE_NUMBER", "value": "cancel-me"}}}]
    resp = _post(site, "registrar", "/fhir/Claim/$submit", pb.encode(cancel))
    assert resp.status_code == 200, resp.text
    with site.client("registrar") as c:
        assert c.claims_request(rid)["status"] == "cancelled"
    # cancelling again: nothing live to cancel
    assert _post(site, "registrar", "/fhir/Claim/$submit",
                 pb.encode(cancel)).status_code == 422


def test_a_claim_uses_the_authorisation_it_cites_and_a_second_one_is_a_duplicate(
        site: Site) -> None:
    pa = _post(site, "registrar", "/fhir/Claim/$submit",
               pb.encode(bundle(tag="pa-claim", servicedDate="2026-03-12")))
    ref = pa.json()["entry"][0]["resource"]["preAuthRef"]
    doc = bundle(use="claim", tag="claim-1", net={"value": 900, "currency": "USD"},
                 servicedDate="2026-03-12")
    pb.claim_of(doc)["insurance"][0]["preAuthRef"] = [ref]
    resp = _post(site, "registrar", "/fhir/Claim/$submit", pb.encode(doc))
    assert resp.status_code == 200, resp.text
    rid = hashlib.sha256(pb.encode(doc)).hexdigest()
    with site.client("registrar") as c:
        line = c.claims_request(rid)["lines"][0]
    # no licence credential is held for the practitioner: denied B7, never approved
    assert (line["outcome"], line["reason"], line["carc"]) == ("denied", "licence", "B7")
    again = bundle(use="claim", tag="claim-2", net={"value": 900, "currency": "USD"},
                   servicedDate="2026-03-12")
    pb.claim_of(again)["insurance"][0]["preAuthRef"] = [ref]
    resp = _post(site, "registrar", "/fhir/Claim/$submit", pb.encode(again))
    rid2 = hashlib.sha256(pb.encode(again)).hexdigest()
    with site.client("registrar") as c:
        assert c.claims_request(rid2)["lines"][0]["reason"] == "duplicate"


def test_every_founded_data_directory_holds_the_same_fingerprint_key(tmp_path) -> None:
    from salus.claims.keys import ClaimsKeyError, load_fingerprint_key
    from salus.network.local import LocalNetwork

    net = LocalNetwork.create(tmp_path / "net", 3, chain_id="salus-fp-test")
    keys = {load_fingerprint_key(DataDir(p)) for p in (tmp_path / "net" / "peers").iterdir()}
    assert len(keys) == 1 and len(keys.pop()) == 32
    assert net is not None
    with pytest.raises(ClaimsKeyError, match="founding data directory"):
        load_fingerprint_key(DataDir(tmp_path / "elsewhere"))


def test_the_cli_submits_a_bundle_and_verify_reproduces_its_decision(site: Site,
                                                                      tmp_path) -> None:
    from typer.testing import CliRunner

    from salus.cli.main import app

    keys = DataDir(site.data).keys_dir
    doc = tmp_path / "pa.json"
    doc.write_bytes(pb.encode(bundle("ben", tag="cli-1", servicedDate="2026-04-01")))
    run = CliRunner().invoke(app, ["claims", "submit", str(doc), "--key",
                                   str(keys / "registrar.key"), "--node", site.url])
    assert run.exit_code == 0, run.output
    assert json.loads(run.output)["entry"][0]["resource"]["resourceType"] == "ClaimResponse"
    run = CliRunner().invoke(app, ["claims", "verify", str(doc), "--data", str(site.data)])
    assert run.exit_code == 0, run.output
    report = json.loads(run.output)
    assert report["ok"] and [i["verdict"] for i in report["items"]] == ["same"]
    # a byte changed: not the document registered
    doc.write_bytes(doc.read_bytes().replace(b"cli-1", b"cli-2"))
    run = CliRunner().invoke(app, ["claims", "verify", str(doc), "--data", str(site.data)])
    assert run.exit_code == 1 and "not the document registered" in run.output


def test_the_cli_flags_a_service_and_the_payer_resolves_it_once(site: Site) -> None:
    from typer.testing import CliRunner

    from salus.cli.main import app

    keys = DataDir(site.data).keys_dir
    doc = bundle(use="claim", tag="cli-flag", net={"value": 900, "currency": "USD"},
                 servicedDate="2026-06-02")
    assert _post(site, "registrar", "/fhir/Claim/$submit", pb.encode(doc)).status_code == 200
    rid = hashlib.sha256(pb.encode(doc)).hexdigest()

    def cli(who: str, *args: str) -> object:
        return CliRunner().invoke(app, ["claims", *args, "--key", str(keys / f"{who}.key"),
                                        "--node", site.url])

    run = cli("ben", "flag", rid, "1")  # not her claim
    assert run.exit_code != 0 and "FORBIDDEN" in run.output
    run = cli("ana", "flag", rid, "1")
    assert run.exit_code == 0, run.output
    run = cli("other-officer", "resolve-flag", rid, "1", "unfounded")  # another insurer
    assert run.exit_code != 0 and "FORBIDDEN" in run.output
    run = cli("reviewer", "resolve-flag", rid, "1", "not a code")
    assert run.exit_code != 0 and "BAD_ARGUMENTS" in run.output
    run = cli("reviewer", "resolve-flag", rid, "1", "confirmed")
    assert run.exit_code == 0, run.output
    with site.client("registrar") as c:
        flag = c.claims_request(rid)["lines"][0]["flag"]
    assert flag["finding"] == "confirmed"
    run = cli("officer", "resolve-flag", rid, "1", "unfounded")
    assert run.exit_code != 0 and "resolved already" in run.output


# -- verify for whoever holds the claim (GET /v1/claims/requests/{request}/ledger) --------
def test_the_patient_and_the_provider_verify_a_decision_others_are_refused(
        site: Site, tmp_path) -> None:
    from typer.testing import CliRunner

    from salus.cli.main import app

    keys = DataDir(site.data).keys_dir
    doc = tmp_path / "held.json"
    doc.write_bytes(pb.encode(bundle("ana", tag="held-1", servicedDate="2026-05-04")))
    assert _post(site, "registrar", "/fhir/Claim/$submit", doc.read_bytes()).status_code == 200
    rid = hashlib.sha256(doc.read_bytes()).hexdigest()

    def verify(who: str, path=doc) -> object:
        return CliRunner().invoke(app, ["claims", "verify", str(path), "--key",
                                        str(keys / f"{who}.key"), "--node", site.url])

    for holder in ("ana", "registrar", "reviewer"):
        run = verify(holder)
        assert run.exit_code == 0, (holder, run.output)
        report = json.loads(run.output)
        assert report["ok"] and [i["verdict"] for i in report["items"]] == ["same"], holder
    # what is served is what verify reads, nothing of the document
    with site.client("ana") as ana:
        served = ana.claims_request_ledger(rid)
    recorded = served["state"][f"claims/request/{rid}"]
    assert set(served["state"]) == {f"claims/request/{rid}",
                                    f"claims/coverage/{recorded['coverage']}",
                                    f"claims/rules/{recorded['rules']}"}
    assert "M-ANA-1" not in json.dumps(served) and "held-1" not in json.dumps(served)
    # another patient, another provider, a nurse of the provider: refused, the same way
    # whether or not the request exists
    missing = "ab" * 32
    for who in ("ben", "other-registrar", "other-officer", "nurse"):
        with site.client(who) as c:
            for request in (rid, missing):
                with pytest.raises(SalusError) as refused:
                    c.claims_request_ledger(request)
                assert (refused.value.status, refused.value.code) == (403, "FORBIDDEN_READ")
        run = verify(who)
        assert run.exit_code != 0 and "FORBIDDEN_READ" in run.output, (who, run.output)
    with site.client("ana") as ana, pytest.raises(SalusError) as refused:
        ana.claims_request_ledger("not-an-id")
    assert refused.value.status in (400, 404)
    # a byte changed: the patient is told it is not the document registered
    changed = tmp_path / "changed.json"
    changed.write_bytes(doc.read_bytes().replace(b"held-1", b"held-2"))
    run = verify("ana", changed)
    assert run.exit_code == 1 and "not the document registered" in run.output
