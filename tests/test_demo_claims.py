"""`make run`'s claims (issue 17 item 9), seeded into a fresh demo on a real node: what
``demo-claims.json`` claims is what the ledger holds, every key it names is a member with
the role claimed, a holder verifies the decisions, no claim content is in the ledger file,
and seeding again does nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from demo_stage import Seeded, seeded
from salus.claims import demo as demo_claims
from salus.claims.contracts.layout import coverage_key, member_key, request_key
from salus.claims.keys import member_hash, member_key_path, read_secret_key
from salus.cli.main import app
from salus.client import SalusClient
from salus.identity import Identity
from salus.ledger.members import has_role, member_of_key
from salus.node.datadir import DataDir


def request(demo: Seeded, name: str) -> dict[str, Any]:
    return demo.state(request_key(demo.made["requests"][name]["id"]))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    with seeded(tmp_path_factory.mktemp("demo-claims"), demo_claims.seed_once) as found:
        yield found


def test_the_json_is_written_once_and_seeding_again_does_nothing(demo: Seeded) -> None:
    assert json.loads((demo.data / demo_claims.MARKER).read_text()) == demo.made
    height = demo.node.ledger.height
    assert demo_claims.seed_once(demo.url, demo.data, lambda _: None) is None
    assert demo.node.ledger.height == height


def test_coverage_is_found_by_the_member_ids_listed(demo: Seeded) -> None:
    key = read_secret_key(member_key_path(DataDir(demo.data), demo.made["payer"]))
    for patient, cover in demo.made["coverage"].items():
        found = demo.state(member_key(demo.made["payer"], member_hash(key, cover["member_id"])))
        assert found == cover["coverage"]
        on_ledger = demo.state(coverage_key(found))
        did = Identity.load(demo.data / "keys" / f"{patient}.key").did
        assert on_ledger["patient"] == member_of_key(demo.state, did)["id"]
        assert (on_ledger["start"], on_ledger["end"]) == (cover["start"], cover["end"])


def test_every_key_named_is_a_member_with_the_role_claimed(demo: Seeded) -> None:
    keys, height = demo.made["keys"], demo.node.ledger.height
    for org, role, files in ((demo.made["provider"], "registrar", [keys["provider"]["registrar"]]),
                             (demo.made["provider"], "clinician", [keys["provider"]["clinician"]]),
                             (demo.made["payer"], "claims_officer",
                              [keys["payer"]["claims_officer"]]),
                             (demo.made["payer"], "medical_reviewer",
                              keys["payer"]["medical_reviewers"])):
        for file in files:
            member = member_of_key(demo.state, Identity.load(demo.data / "keys" / file).did)
            assert has_role(demo.state, member, role, org, height), (org, role, file)


def test_each_request_shows_what_the_json_says(demo: Seeded) -> None:
    def line(name: str, n: int = 0) -> dict[str, Any]:
        return request(demo, name)["lines"][n]

    assert (line("pa-approved")["outcome"], line("pa-approved")["human"]) == ("approved", False)
    pended = request(demo, "pa-pended")
    reviewer = member_of_key(demo.state, Identity.load(
        demo.data / "keys" / "dr-mona.key").did)["id"]
    assert [d["items"][0]["outcome"] for d in pended["decisions"]] == ["pended", "approved"]
    assert pended["decisions"][1]["reviewer"] == reviewer
    assert pended["decisions"][1]["human_review"] is True
    denied = request(demo, "pa-denied")
    first, after = denied["decisions"]
    assert (first["items"][0]["outcome"], first["items"][0]["reason"],
            first["items"][0]["carc"]) == ("denied", "age", "6")
    assert after["appeal"] == 1 and after["items"][0]["outcome"] == "approved"
    assert after["reviewer"] not in (first["reviewer"], reviewer)  # a different reviewer
    paid = request(demo, "claim-paid")
    assert paid["lines"][0]["outcome"] == "approved"
    assert paid["prior_auths"] == [demo.made["requests"]["pa-approved"]["id"]]
    assert paid["payments"][0]["paid_cents"] == demo.made["requests"]["claim-paid"]["paid_cents"]
    assert (line("claim-duplicate")["reason"], line("claim-duplicate")["carc"]) == \
        ("duplicate", "18")
    assert (line("claim-without-pa")["reason"], line("claim-without-pa")["carc"]) == \
        ("prior_auth_absent", "197")
    assert line("claim-phantom")["flagged"]
    for name, shown in demo.made["requests"].items():
        assert request(demo, name)["id"] == shown["id"] and shown["shows"]


def test_the_patient_verifies_her_claim_and_eligibility_answers(demo: Seeded) -> None:
    keys = demo.data / "keys"
    claim = demo.made["requests"]["claim-paid"]
    ask = ["claims", "verify", claim["file"], "--key", str(keys / "patient-ivy.key"),
           "--node", demo.url]
    run = CliRunner().invoke(app, [*ask, "--licence", demo.made["licence"]["valid"]])
    assert run.exit_code == 0, run.output
    assert [i["verdict"] for i in json.loads(run.output)["items"]] == ["same"]
    # without the licence period the rules give B7: the decision is not what they give
    assert CliRunner().invoke(app, ask).exit_code == 1
    with SalusClient(demo.url, Identity.load(keys / "office-uma.key")) as registrar:
        for asked in demo.made["eligibility"].values():
            answer = registrar.coverage_eligibility(Path(asked["file"]).read_bytes())
            assert answer["insurance"][0]["inforce"] is asked["inforce"]


def test_no_claim_content_in_the_ledger_file(demo: Seeded) -> None:
    ledger = DataDir(demo.data).ledger_file.read_bytes()
    for patient in demo_claims.PATIENTS.values():
        for secret in (patient.member_id, patient.birth_date, patient.mrn, patient.family):
            assert secret.encode() not in ledger, secret
    for shown in demo.made["requests"].values():
        doc = json.loads(Path(shown["file"]).read_text())
        trace = doc["entry"][0]["resource"]["identifier"][0]["value"]
        assert trace.encode() not in ledger
