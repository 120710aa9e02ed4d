"""`make run`'s rewards programme at St Mary's (issue 18), seeded into the demo the
browser tests serve: what ``demo-rewards.json`` says is what the ledger holds, read as
the patients, the sponsor and the auditor read it; no health information is in any
reward entry or transaction; seeding again does nothing."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx

from salus.rewards import demo as demo_rewards
from salus.rewards.contracts.layout import PREFIX
from web_demo import Demo

#: What the demo's visits say (salus.rewards.demo.visits): none of it may reach a reward.
HEALTH = ("Hypertensive", "38341003", "Diabetes", "46635009", "Anaemia", "271737000",
          "blood pressure", "8480-6", "mm[Hg]", "satisfaction", "Questionnaire/", "valueInteger",
          "Marlowe", "Okafor", "Lindqvist", "SM-100231", "SM-100877", "SM-100990", "reasonCode",
          "cancelled", "finished")


def made(demo: Demo) -> dict[str, Any]:
    seeded = demo.made["rewards"]
    assert seeded is not None
    assert json.loads((demo.data / demo_rewards.MARKER).read_text()) == seeded
    return seeded


def mine(demo: Demo, patient: str) -> dict[str, Any]:
    with demo.client(patient) as me:
        (programme,) = [p for p in me.rewards_statement()["programmes"]
                        if p["programme"] == demo_rewards.PROGRAMME]
    return programme


def test_the_programme_awards_and_redemption_are_on_the_ledger(demo_site: Demo) -> None:
    seeded = made(demo_site)
    with demo_site.client("patient-ivy") as anyone:
        terms = anyone.rewards_programme(demo_rewards.PROGRAMME)
    assert terms["sponsor"] == "st-mary" and terms["version"] == seeded["version"] == 1
    assert terms["catalogue"] == demo_rewards.TERMS["catalogue"]
    assert terms["annual_cap_cents"] == 7_500 and terms["item_cap_cents"] == 1_500
    ivy = mine(demo_site, "patient-ivy")
    awards = [e for e in ivy["entries"] if e["kind"] == "award"]
    assert sorted(e["event"] for e in awards) == ["appointment_kept", "survey_completed"]
    assert {(e["record"], e["tx"], e["points"]) for e in awards} == {
        (a["record"], a["tx"], a["points"]) for a in seeded["awards"]["patient-ivy"]}
    assert all(e["sponsor"] == e["custodian"] == "st-mary" for e in awards)
    (redeemed,) = [e for e in ivy["entries"] if e["kind"] == "redemption"]
    assert redeemed["item"] == "parking" and redeemed["tx"] == seeded["redemption"]["tx"]
    assert (ivy["awarded"], ivy["redeemed"], ivy["balance"]) == (140, 100, 40)
    assert ivy["consistent"] and ivy["enrolled"]
    jack = mine(demo_site, "patient-jack")
    assert [e["event"] for e in jack["entries"]] == ["appointment_kept"]
    assert jack["balance"] == seeded["balances"]["patient-jack"] == 100
    # kim's appointment was cancelled: the service's reading awards nothing
    kim = mine(demo_site, "patient-kim")
    assert kim["entries"] == [] and kim["balance"] == 0 and kim["enrolled"]
    (cancelled,) = seeded["not_awarded"]["patient-kim"]
    with demo_site.client("patient-kim") as me:
        index = {r["id"]: r for r in me.record_index()}
    assert index[cancelled]["type"] == "Encounter" and index[cancelled]["custodian"] == "st-mary"
    # each award names a registered record of the event's type, at St Mary's
    with demo_site.client("patient-ivy") as me:
        index = {r["id"]: r for r in me.record_index()}
    assert {index[e["record"]]["type"] for e in awards} == {"Encounter", "QuestionnaireResponse"}


def test_the_sponsor_reads_totals_without_a_patient(demo_site: Demo) -> None:
    seeded = made(demo_site)
    with demo_site.client("rewards-rita") as rita:
        totals = rita.rewards_totals(demo_rewards.PROGRAMME)
    assert totals["enrolled"] >= 3 and totals["awards"] >= 3 and totals["redemptions"] >= 1
    assert totals["by_event"]["appointment_kept"] >= 2
    assert totals["by_item"]["parking"] >= 1
    text = json.dumps(totals)
    for did in seeded["patients"].values():
        assert did not in text
    for awards in seeded["awards"].values():
        assert all(a["record"] not in text and a["tx"] not in text for a in awards)


def test_no_health_information_in_reward_entries_or_their_transactions(demo_site: Demo) -> None:
    seeded = made(demo_site)
    auditor = demo_site.client("auditor-heidi")
    with auditor:
        token = auditor.token()
        entries, after = [], ""
        while True:
            page = httpx.get(f"{demo_site.url}/v1/state", params={
                "prefix": PREFIX, "after": after, "limit": 1000},
                headers={"authorization": f"Bearer {token}"}, timeout=30).json()
            entries += page["entries"]
            if not page["next"]:
                break
            after = page["next"]
        txs = [a["tx"] for awards in seeded["awards"].values() for a in awards]
        txs.append(seeded["redemption"]["tx"])
        signed = [base64.b64decode(auditor.tx(tx)["tx"]) for tx in txs]
    state = json.dumps(entries)
    assert any(e["key"].startswith(f"{PREFIX}entry/") for e in entries)
    assert seeded["awards"]["patient-ivy"][0]["record"] in state  # (it searched the right place)
    for word in HEALTH:
        assert word not in state, word
        for raw in signed:
            assert word.encode() not in raw, word


def test_seeding_again_does_nothing(demo_site: Demo) -> None:
    seeded = made(demo_site)
    before = mine(demo_site, "patient-jack")
    assert demo_rewards.seed_once(demo_site.url, demo_site.data, lambda _: None) is None
    assert mine(demo_site, "patient-jack") == before
    assert json.loads((demo_site.data / demo_rewards.MARKER).read_text()) == seeded
