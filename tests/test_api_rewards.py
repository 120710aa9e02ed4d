"""The rewards reads over REST, the SDK and the CLI, on the demo's programme at St Mary's:
programmes are public; a statement is the patient's own (another patient, the sponsor, a
clinician, an auditor are refused); totals are the sponsor's officers' and the
regulators' and name no patient; malformed requests are refused with a code and the node
keeps serving."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import typer
from typer.testing import CliRunner

from salus.api.read_rules import FORBIDDEN_READ
from salus.client import SalusClient, SalusError
from salus.identity import Identity
from salus.node.bootstrap import admin_key_path
from salus.node.datadir import DataDir
from salus.rewards import cli_statement as rewards_statement
from salus.rewards import demo as demo_rewards
from web_demo import Demo

PROGRAMME = demo_rewards.PROGRAMME
STATEMENT = "/v1/rewards/statement"
TOTALS = f"/v1/rewards/programmes/{PROGRAMME}/totals"


def get(demo: Demo, path: str, who: str | None = None, **params: Any) -> httpx.Response:
    headers = {}
    if who is not None:
        with demo.client(who) as c:
            headers["authorization"] = f"Bearer {c.token()}"
    return httpx.get(f"{demo.url}{path}", params=params, headers=headers, timeout=30)


def refused(r: httpx.Response, status: int, code: str) -> str:
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code, r.text
    return str(r.json()["error"]["reason"])


def ivy(demo: Demo) -> str:
    return str(demo.made["rewards"]["patients"]["patient-ivy"])


def test_programmes_are_public(demo_site: Demo) -> None:
    listed = get(demo_site, "/v1/rewards/programmes").json()
    ids = [p["id"] for p in listed["programmes"]]
    assert PROGRAMME in ids and ids == sorted(ids)
    one = get(demo_site, f"/v1/rewards/programmes/{PROGRAMME}").json()
    assert one["catalogue"] == demo_rewards.TERMS["catalogue"] and one["sponsor"] == "st-mary"
    assert "patient" not in json.dumps(one)
    mine = get(demo_site, "/v1/rewards/programmes", sponsor="st-mary").json()["programmes"]
    assert PROGRAMME in [p["id"] for p in mine] and {p["sponsor"] for p in mine} == {"st-mary"}
    assert get(demo_site, "/v1/rewards/programmes", sponsor="city-general").json() == {
        "programmes": [], "next": None}
    with SalusClient(demo_site.url) as anyone:  # the SDK, without a key
        assert anyone.rewards_programme(PROGRAMME) == one
        assert PROGRAMME in [p["id"] for p in anyone.rewards_programmes("st-mary")["programmes"]]


def test_programmes_page_by_page(demo_site: Demo) -> None:
    with demo_site.client("rewards-rita") as rita:  # a second programme of St Mary's
        rita.call("rewards", "publish_programme", {**demo_rewards.TERMS, "programme": "stm-zz"})
    first = get(demo_site, "/v1/rewards/programmes", limit=1).json()
    assert len(first["programmes"]) == 1 and first["next"] == first["programmes"][0]["id"]
    seen = [first["programmes"][0]["id"]]
    after = first["next"]
    while after:
        page = get(demo_site, "/v1/rewards/programmes", limit=1, after=after).json()
        seen += [p["id"] for p in page["programmes"]]
        after = page["next"]
    assert {PROGRAMME, "stm-zz"} <= set(seen) and seen == sorted(set(seen))


def test_a_statement_is_the_patients_own(demo_site: Demo) -> None:
    own = get(demo_site, STATEMENT, "patient-ivy", patient=ivy(demo_site)).json()
    (programme,) = [p for p in own["programmes"] if p["programme"] == PROGRAMME]
    assert programme["consistent"] and programme["balance"] == (
        programme["awarded"] - programme["redeemed"] - programme["expired"]
        - programme["reversed"])
    assert {e["kind"] for e in programme["entries"]} == {"award", "redemption"}
    assert all(len(e["tx"]) == 64 and e["sponsor"] == "st-mary" for e in programme["entries"])
    for who in ("patient-jack", "rewards-rita", "rewards-svc", "dr-alice", "auditor-heidi"):
        reason = refused(get(demo_site, STATEMENT, who, patient=ivy(demo_site)), 403,
                         FORBIDDEN_READ)
        assert reason.startswith("only the patient themself"), reason
    refused(get(demo_site, STATEMENT, patient=ivy(demo_site)), 401, "UNAUTHENTICATED")
    with demo_site.client("patient-jack") as jack:
        with pytest.raises(SalusError) as no:
            jack.rewards_statement(ivy(demo_site))
        assert no.value.code == FORBIDDEN_READ
        assert jack.rewards_statement()["patient"] == demo_site.made["rewards"]["patients"][
            "patient-jack"]


def test_totals_are_the_sponsors_and_name_no_patient(demo_site: Demo) -> None:
    seeded = demo_site.made["rewards"]
    admin = SalusClient(demo_site.url,
                        Identity.load(admin_key_path(DataDir(demo_site.data), "st-mary")))
    with admin:
        by_admin = admin.rewards_totals(PROGRAMME)
    by_officer = get(demo_site, TOTALS, "rewards-rita").json()
    by_regulator = get(demo_site, TOTALS, "auditor-heidi").json()
    assert by_admin == by_officer == by_regulator
    assert by_officer["programme"] == PROGRAMME and by_officer["points"]["outstanding"] >= 140
    assert not any(did in json.dumps(by_officer) for did in seeded["patients"].values())
    # the service signs awards but reads no totals; another sponsor, a patient, a clinician
    # of the sponsor, none either
    for who in ("rewards-svc", "dr-bob", "patient-ivy", "dr-alice", "officer-olga"):
        reason = refused(get(demo_site, TOTALS, who), 403, FORBIDDEN_READ)
        assert "rewards officer of the programme's sponsor" in reason
    refused(get(demo_site, TOTALS), 401, "UNAUTHENTICATED")
    refused(get(demo_site, "/v1/rewards/programmes/no-such/totals", "rewards-rita"), 404,
            "NOT_FOUND")


def test_malformed_requests_are_refused_and_the_node_serves(demo_site: Demo) -> None:
    for path in ("/v1/rewards/programmes/Not_An_Id", f"/v1/rewards/programmes/{'a' * 64}",
                 "/v1/rewards/programmes/-x/totals"):
        assert get(demo_site, path).status_code == 400, path
    assert get(demo_site, "/v1/rewards/programmes", limit=10**30).status_code == 400
    assert get(demo_site, "/v1/rewards/programmes", limit=0).status_code == 400
    assert get(demo_site, "/v1/rewards/programmes", after="x" * 5000).status_code == 400
    assert get(demo_site, STATEMENT, "patient-ivy", patient="d" * 10_000).status_code == 400
    refused(get(demo_site, STATEMENT, "patient-ivy", patient="did:key:zNobody"), 403,
            FORBIDDEN_READ)
    refused(get(demo_site, "/v1/rewards/programmes/no-such"), 404, "NOT_FOUND")
    with SalusClient(demo_site.url) as anyone:
        with pytest.raises(ValueError):
            anyone.rewards_programme("../state/x")
        assert anyone.status()["height"] > 0


runner = CliRunner()


def cli() -> typer.Typer:
    """The commands as the `salus rewards` group mounts them (register)."""
    group = typer.Typer()
    rewards_statement.register(group)
    return group


def test_the_cli_reads_statement_programmes_and_totals(demo_site: Demo) -> None:
    node = ["--node", demo_site.url]
    out = runner.invoke(cli(), ["statement", "-k", str(demo_site.key_path("patient-ivy")),
                                *node])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert PROGRAMME in [p["programme"] for p in doc["programmes"]]
    out = runner.invoke(cli(), ["programmes", "--sponsor", "st-mary", "--field",
                                "programmes.id", *node])
    assert out.exit_code == 0 and PROGRAMME in out.output.split(), out.output
    out = runner.invoke(cli(), ["totals", PROGRAMME, "-k",
                                str(demo_site.key_path("rewards-rita")), "--field",
                                "by_item.parking", *node])
    assert out.exit_code == 0 and int(out.output) >= 1, out.output
    out = runner.invoke(cli(), ["totals", PROGRAMME, "-k",
                                str(demo_site.key_path("patient-ivy")), *node])
    assert out.exit_code == 1 and FORBIDDEN_READ in out.output
    out = runner.invoke(cli(), ["totals", "Bad_Id", "-k",
                                str(demo_site.key_path("rewards-rita")), *node])
    assert out.exit_code == 1 and "not a programme id" in out.output


def test_the_cli_shows_a_programme_without_a_key(demo_site: Demo) -> None:
    from salus.cli.main import app

    out = runner.invoke(app, ["rewards", "programme", "show", PROGRAMME,
                              "--node", demo_site.url])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["catalogue"] == demo_rewards.TERMS["catalogue"]
    out = runner.invoke(app, ["rewards", "programme", "show", "no-such-programme",
                              "--node", demo_site.url])
    assert out.exit_code == 1 and "NOT_FOUND" in out.output
