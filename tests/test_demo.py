"""`make run`'s demo: the consortium, its records, and the records CLI used on them."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from salus.cli.main import app
from salus.client import SalusClient
from salus.demo import seed, seed_once
from salus.identity import Identity
from salus.ledger.audit import audit
from salus.ledger.store import Store
from salus.node.contracts import registry
from salus.node.datadir import DataDir
from salus.records.demo import MARKER
from servers import node_server

runner = CliRunner()


def cli(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    data = tmp_path_factory.mktemp("demo")
    seed(data)
    served, node = node_server(data, block_max_wait_ms=5)
    with served as server:
        made = seed_once(server.url, data, lambda _: None)
        yield data, server.url, made
    node.ledger.close()


def key(data: Path, name: str) -> Identity:
    return Identity.load(data / "keys" / f"{name}.key")


def test_demo_has_records_at_two_hospitals_and_a_lab(demo) -> None:
    data, url, made = demo
    assert json.loads((data / MARKER).read_text()) == made
    with SalusClient(url, key(data, "patient-ivy")) as ivy:
        index = ivy.record_index()
        assert {r["custodian"] for r in index} == {"st-mary", "city-general", "northlab"}
        consents = ivy.consents()["grants"]
    by_id = consents
    assert by_id[made["grants"]["officer-frank"]]["status"] == "revoked"
    assert by_id[made["grants"]["dr-bob"]]["status"] == "active"
    assert made["refused_after_revocation"] == "CONSENT_REVOKED"
    # A second start on the same directory does not seed again.
    assert seed_once(url, data, lambda _: None) is None


def test_demo_break_glass_is_on_the_privacy_officers_review_list(demo) -> None:
    data, url, made = demo
    with SalusClient(url, key(data, "officer-olga")) as officer:
        pending = officer.review_list("st-mary")["entries"]
    assert [e["patient"] for e in pending] == [made["patients"]["patient-jack"]]
    with SalusClient(url, key(data, "patient-jack")) as jack:
        log = jack.access_log()["entries"]
    assert any(e.get("emergency") for e in log), log
    with SalusClient(url, key(data, "patient-kim")) as kim:
        assert kim.consents()["break_glass_opt_out"] is True


def test_the_issues_read_attacks_on_the_demo_are_refused(demo) -> None:
    """Issue 14, as tried against `salus demo`: patient-jack's token reading every
    patient's consents and access log through raw state, and anyone without a token
    reading every transaction's bytes. Each is refused; the views still serve what is
    jack's and the public still gets proofs."""
    data, url, made = demo
    ivy = made["patients"]["patient-ivy"]
    with SalusClient(url, key(data, "patient-jack")) as jack:
        bearer = {"authorization": f"Bearer {jack.token()}"}
        for path, params in (("/v1/state", {"prefix": "consent/"}),
                             ("/v1/state", {"prefix": "access"}),
                             (f"/v1/state/consent/{ivy}", {}),
                             ("/v1/consent", {"patient": ivy}),
                             ("/v1/access/log", {"patient": ivy}),
                             ("/v1/access/review", {"custodian": "st-mary"}),
                             (f"/v1/members/{ivy}", {})):
            r = httpx.get(url + path, params=params, headers=bearer)
            assert (r.status_code, r.json()["error"]["code"]) == (403, "FORBIDDEN_READ"), path
        assert jack.access_log()["entries"] and jack.member_id() == made["patients"]["patient-jack"]
    for path, params in (("/v1/log/entries", {"start": 0, "end": 10}),
                         ("/v1/ledger/export", {})):
        r = httpx.get(url + path, params=params)
        assert (r.status_code, r.json()["error"]["code"]) == (401, "UNAUTHENTICATED"), path
    tx = httpx.get(f"{url}/v1/blocks/1").json()["txs"][0]["tx_id"]
    public = httpx.get(f"{url}/v1/tx/{tx}").json()
    assert "tx" not in public and public["inclusion"]["audit_path"] is not None


def test_records_cli_on_the_demo(demo) -> None:
    data, url, made = demo
    keys = data / "keys"
    ivy, bob, frank = (str(keys / f"{n}.key") for n in ("patient-ivy", "dr-bob", "officer-frank"))
    listed = json.loads(cli("records", "list", "-k", ivy, "--node", url))
    assert len(listed) == len(made["records"]["patient-ivy"])
    # filtered by custodian and type; --field prints the ids alone, one a line
    at_lab = json.loads(cli("records", "list", "-k", ivy, "--custodian", "northlab",
                            "--node", url))
    assert {r["custodian"] for r in at_lab} == {"northlab"}
    assert len(at_lab) == sum(r["custodian"] == "northlab" for r in listed) > 1
    reports = cli("records", "list", "-k", ivy, "--custodian", "northlab", "--type",
                  "DiagnosticReport", "--field", "id", "--node", url)
    assert reports.split() == [r["id"] for r in made["records"]["patient-ivy"]
                               if r["type"] == "DiagnosticReport"]
    assert json.loads(cli("records", "list", "-k", ivy, "--custodian", "nowhere",
                          "--node", url)) == []

    lab = next(r for r in made["records"]["patient-ivy"] if r["type"] == "DiagnosticReport")
    report = json.loads(cli("records", "read", lab["id"], "--custodian", "northlab",
                            "-k", bob, "--node", url))
    assert report["resourceType"] == "DiagnosticReport"
    assert report["code"]["coding"][0]["code"] == "57698-3"

    # The claims officer's (revoked) grant never covered lab reports: refused, exit status 1.
    refused = cli("records", "read", lab["id"], "--custodian", "northlab", "--purpose", "HPAYMT",
                  "-k", frank, "--node", url, code=1)
    assert "NO_CONSENT" in refused

    frank_did = key(data, "officer-frank").did
    granted = json.loads(cli("consent", "grant", "-k", ivy, "--member", frank_did,
                             "--purpose", "HPAYMT", "--resource-type", "DiagnosticReport",
                             "--days", "30", "--node", url))
    read = json.loads(cli("records", "read", lab["id"], "--custodian", "northlab", "--purpose",
                          "HPAYMT", "-k", frank, "--node", url))
    assert read["id"] == report["id"]
    cli("consent", "revoke", granted["grant"], "-k", ivy, "--node", url)
    grants = json.loads(cli("consent", "list", "-k", ivy, "--node", url))["grants"]
    assert grants[granted["grant"]]["status"] == "revoked"
    assert "name a grantee" in cli("consent", "grant", "-k", ivy, "--purpose", "TREAT",
                                   "--node", url, code=1)

    log = json.loads(cli("access", "log", "-k", ivy, "--node", url))["entries"]
    frank_reads = [(e["outcome"], e["code"]) for e in log if e["requester"] == frank_did]
    # the demo's read after revocation, this test's uncovered read, then the new grant's
    assert frank_reads == [("refused", "CONSENT_REVOKED"), ("refused", "NO_CONSENT"),
                           ("granted", "CONSENT")]
    with SalusClient(url, key(data, "patient-ivy")) as patient:  # page by page, same entries
        paged, after = [], ""
        while True:
            page = patient.access_log(limit=2, after=after)
            paged += page["entries"]
            if page["next"] is None:
                break
            after = page["next"]
    assert [e["key"] for e in paged] == [e["key"] for e in log]
    fhir = json.loads(cli("access", "log", "--fhir", "-k", ivy, "--node", url))
    assert fhir["resourceType"] == "Bundle" and fhir["entry"][0]["resource"]["resourceType"] \
        == "AuditEvent"

    missing = cli("records", "ingest", str(data / "nope.json"), "--custodian", "st-mary",
                  "--patient", made["patients"]["patient-ivy"], "-k", bob, "--node", url, code=1)
    assert "cannot read" in missing
    bad = data / "bad.json"
    bad.write_text(json.dumps({"resourceType": "Observation", "status": "bogus"}))
    invalid = cli("records", "ingest", str(bad), "--custodian", "city-general",
                  "--patient", made["patients"]["patient-ivy"], "-k", bob, "--node", url, code=1)
    assert "INVALID_FHIR: Observation.code: Field required" in invalid


def test_demo_ledger_passes_audit(demo) -> None:
    data, _, _ = demo
    store = Store(DataDir(data).ledger_file)
    try:
        report = audit(store, registry())
    finally:
        store.close()
    assert report.ok, report


def test_demo_credentials_wallets_and_the_revoked_licence(demo) -> None:
    from salus.credentials import demo as demo_credentials
    from salus.credentials.context import VerificationContext
    from salus.credentials.credentialing import check_report
    from salus.credentials.verifier import Verifier
    from salus.credentials.wallet import Wallet

    data, url, _ = demo
    made = demo_credentials.seed_once(url, data, lambda _: None)
    assert made is not None and demo_credentials.seed_once(url, data, lambda _: None) is None
    orderer = DataDir(data).genesis().orderer
    with SalusClient(url) as c:
        verifier = Verifier(VerificationContext.load(c.credentials_context(), orderer))
    alice = Wallet.open(data / "wallets" / "dr-alice")
    kinds = {s["type"] for s in alice.summary()}
    assert {"DegreeCredential", "LicenseCredential", "BoardCertificationCredential",
            "CMECredential", "HospitalPrivilegesCredential"} <= kinds
    assert verifier.verify_dossier(alice.all()).ok
    walt = Wallet.open(data / "wallets" / "dr-walt")
    licence = next(c for c in walt.all() if c["type"][1] == "LicenseCredential")
    assert licence["id"] == made["revoked"]["credential"]
    assert verifier.verify(licence).failed_step == "status"
    vic = Wallet.open(data / "wallets" / "resident-vic")
    assert sum(c["type"][1] == "EPAAssessmentCredential" for c in vic.all()) == 3

    report = json.loads(Path(made["credentialing_report"]["file"]).read_text())
    assert report["complete"]
    check_report(report, key(data, "office-uma").did)

    ruth, vic_did = key(data, "dean-ruth"), vic.did
    with SalusClient(url, ruth) as c:
        lineage = c.education_lineage(ruth.did)
        assert [g["count"] for g in lineage["generations"]] == [2, 1]
        assert lineage["generations"][1]["members"] == [vic_did]
        assert c.education_progress(vic_did)["epas_entrusted"] == ["EPA1"]
        cme = c.cme_status(key(data, "dr-alice").did, "state-board/biennial", "2026-11-21")
        assert cme["earned_hours"] == 3500 and not cme["met"]
        assert c.module_stats("sepsis-101")["completions"] == 3
    # the CLI lists a wallet and verifies the revoked licence as such
    listed = json.loads(cli("wallet", "list", "--wallet", str(data / "wallets" / "dr-walt")))
    assert len(listed["credentials"]) == 2
    path = data / "wallets" / "dr-walt" / "credentials" / \
        f"{licence['id'].removeprefix('urn:uuid:')}.json"
    out = cli("verify", "credential", str(path), "--orderer", orderer, "--node", url, code=2)
    assert "revoked since" in out
