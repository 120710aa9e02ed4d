"""The rewards pages in a real browser, on the demo's programme at St Mary's: a patient
reads her statement (balance recomputed, each entry's transaction), a new patient joins
from the page, earns points for a kept appointment and redeems them, then leaves keeping
her points; a redemption past her balance is refused with the node's reason and changes
nothing; the sponsor's officer reads the totals, another hospital's clinician is refused
them with the code, anyone reads the terms; the pages are accessible and fit a phone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from browser import Watched, accessibility_violations, chromium, screenshot, sign_in
from salus.client import SalusClient
from salus.identity import Identity
from salus.records.demo import fhir_bundle
from salus.rewards import demo as demo_rewards
from salus.rewards.events import award_args
from web_demo import SCREENSHOTS, Demo

PAGE = "/ui/pages/rewards"
PROGRAMMES = "/ui/pages/programmes"
PROGRAMME = demo_rewards.PROGRAMME
CARD = f"#mine article[data-programme='{PROGRAMME}']"


def opened(browser: Any, demo: Demo, key: Path, path: str = PAGE, **context: Any) -> Watched:
    page = sign_in(browser, demo.url, key, **context)
    page.goto(f"{demo.url}{path}")
    return page


def statement_rows(page: Any) -> list[list[str]]:
    return page.evaluate(f"""() => [...document.querySelectorAll("{CARD} table.statement tbody tr")]
        .map(r => [...r.cells].map(c => c.textContent))""")


def earn(demo: Demo, person: Identity, mrn: str) -> str:
    """St Mary's EHR feed sends a finished visit of ``person``'s; the node's rewards
    service awards it (salus.rewards.demo.awarded waits for it). Returns the award's
    transaction id."""
    did = person.did
    visit = {"resourceType": "Encounter", "status": "finished",
             "class": {"system": demo_rewards.ENCOUNTER_CLASS, "code": "AMB"}}
    bundle = fhir_bundle(mrn, {"name": [{"family": "Test", "given": ["Rewards"]}]}, visit)
    with demo.client("office-uma") as feed:
        stored = feed.ingest("st-mary", did, bundle)
    (record,) = [r["record"] for r in stored if r["type"] == "Encounter"]
    args = award_args(PROGRAMME, record, bundle["entry"][1]["resource"])
    assert args is not None
    with demo.client("rewards-svc") as service, SalusClient(demo.url, person) as patient:
        return demo_rewards.awarded(patient, service, args)["tx"]


def test_a_patient_reads_her_statement(demo_site: Demo) -> None:
    seeded = demo_site.made["rewards"]
    with chromium() as browser:
        page = opened(browser, demo_site, demo_site.key_path("patient-ivy"))
        page.wait_for_selector(CARD)
        card = page.text_content(CARD)
        assert "Balance40 points" in card.replace("\n", "")
        assert "✔ equals the balance the contract keeps" in card
        rows = statement_rows(page)
        assert [r[1] for r in rows] == ["Award", "Award", "Redemption"]
        assert [r[4] for r in rows] == ["100", "140", "40"]  # the balance after each entry
        assert rows[2][3] == "\u2212100" and rows[2][2] == "parking (PARK-DAY)"
        assert sorted(r[2].split(" (record ")[0] for r in rows[:2]) == [
            "a completed survey", "a kept appointment"]
        assert all(r[2].endswith(" at st-mary)") for r in rows[:2])
        titles = page.evaluate(f"""() => [...document.querySelectorAll("{CARD} table.statement code")]
            .map(c => c.title)""")
        assert set(titles) == {*(a["tx"] for a in seeded["awards"]["patient-ivy"]),
                               seeded["redemption"]["tx"]}
        # the catalogue, with what each item costs
        assert page.locator(f"{CARD} button[data-redeem]").count() == 4
        screenshot(page, SCREENSHOTS, "rewards")
        assert page.errors == []


def test_a_redemption_past_the_balance_is_refused_with_its_reason(demo_site: Demo) -> None:
    with chromium() as browser:
        page = opened(browser, demo_site, demo_site.key_path("patient-ivy"))
        page.wait_for_selector(CARD)
        before = statement_rows(page)
        page.click(f"{CARD} button[data-redeem='water-bottle']")
        page.wait_for_selector("#action-status.bad")
        assert page.text_content("#action-status") == (
            "✘ Refused by the node: CONFLICT: RW8: item water-bottle costs 200 points; your "
            "balance is 40. Nothing changed.")
        page.wait_for_selector(f"{CARD} button[data-redeem]:not([disabled])")
        assert statement_rows(page) == before
        assert page.errors == []


def test_a_new_patient_joins_earns_redeems_and_leaves(demo_site: Demo, tmp_path: Path) -> None:
    person, key = demo_site.patient(tmp_path, "rewards-rosa")
    with chromium() as browser:
        page = opened(browser, demo_site, key)
        page.wait_for_selector(f"#open article[data-programme='{PROGRAMME}']")
        assert page.text_content("#mine-status") == "You have not joined a programme yet."
        offer = page.text_content(f"#open article[data-programme='{PROGRAMME}']")
        assert "a kept appointment: 100 points ($5.00)" in offer
        assert "$15.00 an item, $75.00 a year per patient" in offer
        # from the keyboard
        page.focus(f"#open button[data-enrol='{PROGRAMME}']")
        page.keyboard.press("Enter")
        page.wait_for_selector("#action-status.ok")
        assert page.text_content("#action-status") == f"✔ You joined {PROGRAMME}."
        page.wait_for_selector(CARD)
        tx = earn(demo_site, person, "SM-RW-1")
        page.reload()
        page.wait_for_selector(f"{CARD} table.statement code[title='{tx}']")
        page.click(f"{CARD} button[data-redeem='parking']")
        page.wait_for_selector("#action-status.ok")
        assert "Redeemed parking for 100 points" in page.text_content("#action-status")
        page.wait_for_selector(f"{CARD} tr[data-kind=redemption]")
        assert [r[4] for r in statement_rows(page)] == ["100", "0"]
        page.click(f"{CARD} button[data-leave='{PROGRAMME}']")
        page.wait_for_selector(f"{CARD} button[data-enrol='{PROGRAMME}']")
        assert "not enrolled: no new awards" in page.text_content(CARD)
        assert page.errors == []
    with SalusClient(demo_site.url, person) as me:
        (mine,) = me.rewards_statement()["programmes"]
    assert (mine["awarded"], mine["redeemed"], mine["balance"], mine["enrolled"]) == (
        100, 100, 0, False)
    assert [e["kind"] for e in mine["entries"]] == ["award", "redemption"]


def test_the_page_is_for_patients(demo_site: Demo) -> None:
    with chromium() as browser:
        page = opened(browser, demo_site, demo_site.key_path("dr-alice"))
        page.wait_for_selector("#page-status:has-text('This page is for patients')")
        assert page.is_hidden("#rewards")
        assert page.errors == []


def test_the_sponsor_reads_its_totals_others_the_terms(demo_site: Demo) -> None:
    seeded = demo_site.made["rewards"]
    with chromium() as browser:
        rita = opened(browser, demo_site, demo_site.key_path("rewards-rita"),
                      f"{PROGRAMMES}?programme={PROGRAMME}")
        rita.wait_for_selector("#totals-status.ok")
        assert rita.input_value("#programme") == PROGRAMME
        totals = rita.text_content("#totals")
        assert "Patients enrolled" in totals and "Outstanding" in totals
        breakdown = rita.evaluate("""() => [...document.querySelectorAll('#breakdown tbody tr')]
            .map(r => r.cells[0].textContent)""")
        assert "Awards for a kept appointment" in breakdown and "Redemptions of parking" in breakdown
        text = rita.text_content("main")
        assert not any(did in text for did in seeded["patients"].values())
        screenshot(rita, SCREENSHOTS, "programmes")
        assert rita.errors == []
        # another hospital's clinician: the terms, and the node's refusal of the totals
        bob = opened(browser, demo_site, demo_site.key_path("dr-bob"),
                     f"{PROGRAMMES}?programme={PROGRAMME}")
        bob.wait_for_selector("#totals-status.bad")
        assert bob.text_content("#totals-status").startswith(
            "✘ The node refused the totals: FORBIDDEN_READ: only an admin or rewards officer "
            "of the programme's sponsor")
        assert "A point is worth$0.05 of retail value" in bob.text_content("#terms")
        assert bob.is_hidden("#totals-view")
        assert bob.errors_besides(403) == []
        # anyone, without signing in: the terms and catalogue
        anyone = Watched(browser.new_page())
        anyone.goto(f"{demo_site.url}{PROGRAMMES}?programme={PROGRAMME}")
        anyone.wait_for_selector("#catalogue tbody tr")
        assert "sign in" in anyone.text_content("#totals-status")
        assert anyone.locator("#catalogue tbody tr").count() == 4
        assert anyone.errors == []


def test_the_rewards_pages_are_accessible_and_fit_a_phone(demo_site: Demo) -> None:
    with chromium() as browser:
        assert accessibility_violations(browser, f"{demo_site.url}{PAGE}", CARD,
                                        key_file=demo_site.key_path("patient-ivy")) == []
        assert accessibility_violations(browser, f"{demo_site.url}{PROGRAMMES}",
                                        "#totals-status.ok",
                                        key_file=demo_site.key_path("rewards-rita")) == []
        assert accessibility_violations(browser, f"{demo_site.url}{PROGRAMMES}",
                                        "#catalogue tbody tr") == []
        for key, path, ready in ((demo_site.key_path("patient-ivy"), PAGE, CARD),
                                 (demo_site.key_path("rewards-rita"), PROGRAMMES,
                                  "#totals-status.ok")):
            page = opened(browser, demo_site, key, path, viewport={"width": 390, "height": 844})
            page.wait_for_selector(ready)
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
            assert page.errors == []
