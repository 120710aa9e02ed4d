"""The recall board in a real browser, on the demo's supply chain: anyone reads the board
without signing in; the brand owner recalls a fresh lot from the form and the distributor
holding its packs hears it live, with how many it holds; a pharmacy's recall is refused
with the node's code and changes nothing; the brand owner follows suspect packs to their
deadline (a new report arrives live), the distributor sees none of them and a patient is
refused; the page is accessible and fits a phone."""

from __future__ import annotations

from typing import Any

from browser import Watched, accessibility_violations, chromium, screenshot, sign_in
from salus.client import SalusClient
from salus.supply.contracts.layout import item_key
from salus.supply.identifiers import parse
from web_demo import SCREENSHOTS, Demo
from web_supply import DISTRIBUTOR, MAKER, client, fresh_lot, key_of, quarantine, supply

PAGE = "/ui/pages/recalls"


def board(page: Any) -> list[list[str]]:
    return page.evaluate("""() => [...document.querySelectorAll('#board tbody tr')]
        .map(r => [...r.cells].map(c => c.textContent))""")


def opened(browser: Any, demo: Demo, who: str, **context: Any) -> Watched:
    page = sign_in(browser, demo.url, demo.key_path(who), **context)
    page.goto(f"{demo.url}{PAGE}")
    page.wait_for_selector("#board-status:not(:empty)")
    return page


def test_anyone_reads_the_board_without_signing_in(demo_site: Demo) -> None:
    recalled = supply(demo_site)["recall"]
    with chromium() as browser:
        page = Watched(browser.new_page())
        page.goto(f"{demo_site.url}{PAGE}")
        page.wait_for_selector("#board tbody tr")
        row = next(r for r in board(page) if r[2] == recalled["lot"])
        assert row[1:6] == [recalled["gtin"], recalled["lot"], recalled["reason"],
                            MAKER, MAKER]
        assert "Sign in with your key" in page.text_content("#suspects-status")
        assert page.is_hidden("#recall-form")
        assert page.errors == []


def test_the_brand_owner_recalls_and_the_holder_hears_how_many_packs_it_holds(
        demo_site: Demo) -> None:
    made = supply(demo_site)
    lot, _ = fresh_lot(demo_site, packs=3)
    gtin = made["recall"]["gtin"]
    with chromium() as browser:
        northway = opened(browser, demo_site, key_of(demo_site, DISTRIBUTOR))
        northway.wait_for_selector("#notices-status.ok")  # the live feed is open
        assert northway.text_content("#notices-status").startswith(
            f"✔ Listening for {DISTRIBUTOR}'s notices")
        maker = opened(browser, demo_site, key_of(demo_site, MAKER))
        maker.wait_for_selector("#recall-reason option", state="attached")
        assert "supply_operator role in the brand owner" in maker.text_content("#recall-who")
        before = len(board(maker))
        maker.fill("#recall-gtin", gtin.lstrip("0"))  # as printed: a GTIN-13
        maker.fill("#recall-lot", lot)
        maker.select_option("#recall-reason", "contamination")
        maker.click("#recall-form button")
        maker.wait_for_selector("#recall-status.ok")
        assert f"Lot {lot} of GTIN {gtin} recalled (contamination)" in maker.text_content(
            "#recall-status")
        maker.wait_for_function(f"() => document.querySelectorAll('#board tbody tr').length > {before}")
        assert [gtin, lot, "contamination", MAKER, MAKER] in [r[1:6] for r in board(maker)]
        # the holder hears it as it commits, with its own count
        heard = northway.wait_for_selector(
            f"#notices li[data-kind=supply_recalled]:has-text('{lot}')")
        assert "It concerns you: 3 packs of it in your possession." in heard.text_content()
        assert lot in [r[2] for r in board(northway)]  # and its board follows
        # the maker, who shipped them all and received them back never, holds none
        mine = maker.wait_for_selector(f"#notices li[data-kind=supply_recalled]:has-text('{lot}')")
        assert "You hold none of its packs." in mine.text_content()
        screenshot(maker, SCREENSHOTS, "recalls")
        assert northway.errors == [] and maker.errors == []


def test_a_pharmacy_is_refused_the_recall_and_nothing_changes(demo_site: Demo) -> None:
    made = supply(demo_site)
    lot = next(entry for entry in made["lots"] if not entry["recalled"])
    corner = key_of(demo_site, "corner-pharmacy")
    with chromium() as browser:
        page = opened(browser, demo_site, corner)
        page.wait_for_selector("#recall-reason option", state="attached")
        before = board(page)
        # from the keyboard only
        page.focus("#recall-gtin")
        page.keyboard.type(lot["gtin"])
        page.keyboard.press("Tab")
        page.keyboard.type(lot["lot"])
        page.keyboard.press("Tab")
        page.keyboard.press("ArrowDown")  # the second reason
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Sign and recall the lot"
        page.keyboard.press("Enter")
        page.wait_for_selector("#recall-status.bad")
        assert page.text_content("#recall-status").startswith(
            "✘ Refused by the node: FORBIDDEN: ")
        fresh = browser.new_page()  # the board as anyone reads it now
        fresh.goto(f"{demo_site.url}{PAGE}")
        fresh.wait_for_selector("#board tbody tr")
        assert board(fresh) == before
        assert page.errors == []
    with SalusClient(demo_site.url) as anyone:  # the lot is not recalled on the ledger
        assert anyone.recalls(lot["gtin"], lot["lot"])["recalls"] == []


def test_suspect_packs_and_their_deadlines_for_the_brand_owner_only(demo_site: Demo) -> None:
    made = supply(demo_site)
    suspect = item_key(parse(made["packs"]["suspect"]["epc"]))
    _, urns = fresh_lot(demo_site, packs=2)
    with chromium() as browser:
        maker = opened(browser, demo_site, key_of(demo_site, MAKER))
        maker.wait_for_selector(f"#suspects tbody tr[data-item='{suspect}']")
        cells = maker.evaluate(f"""() => [...document.querySelector(
            "#suspects tbody tr[data-item='{suspect}']").cells].map(c => c.textContent)""")
        assert cells[1].startswith(made["recall"]["gtin"]) and cells[2] == "corner-pharmacy"
        assert cells[5].startswith("open")
        maker.wait_for_selector("#notices-status.ok")
        # Northway finds one of its new packs suspect: the brand owner hears it live
        quarantine(demo_site, DISTRIBUTOR, urns[0])
        fresh = item_key(parse(urns[0]))
        heard = maker.wait_for_selector(f"#notices li[data-kind=supply_reported][data-item='{fresh}']")
        assert f"A pack reported suspect by {DISTRIBUTOR}" in heard.text_content()
        assert "investigation due" in heard.text_content()
        row = maker.wait_for_selector(f"#suspects tbody tr[data-item='{fresh}']")
        assert "h" in row.text_content() and "left" in row.text_content()
        # the pharmacy that opened the demo's sees its own, and not Northway's
        corner = opened(browser, demo_site, key_of(demo_site, "corner-pharmacy"))
        corner.wait_for_selector("#suspects-status.ok")
        items = corner.evaluate("() => [...document.querySelectorAll('#suspects tbody tr')]"
                                ".map(r => r.dataset.item)")
        assert suspect in items and fresh not in items
        # a patient is refused the list and the feed, with the node's code
        patient = opened(browser, demo_site, "patient-ivy")
        patient.wait_for_selector("#suspects-status.bad")
        assert "FORBIDDEN_READ" in patient.text_content("#suspects-status")
        patient.wait_for_selector("#notices-status.bad")
        assert "FORBIDDEN_READ" in patient.text_content("#notices-status")
        assert patient.is_hidden("#suspects-wrap")
        assert maker.errors == [] and corner.errors == [] and patient.errors_besides(403) == []
    with client(demo_site, "health-dept", "auditor") as regulator:  # the list is the node's
        listed = {i["item"] for i in regulator.investigations()["investigations"]}
        assert {suspect, fresh} <= listed


def test_the_recall_board_is_accessible_and_fits_a_phone(demo_site: Demo) -> None:
    regulator = key_of(demo_site, "health-dept", "auditor")

    def ready(page: Any) -> None:
        page.wait_for_selector("#suspects-status.ok")
        page.wait_for_selector("#notices-status.ok")

    with chromium() as browser:
        assert accessibility_violations(browser, f"{demo_site.url}{PAGE}", "#board tbody tr",
                                        key_file=demo_site.key_path(regulator), act=ready) == []
        assert accessibility_violations(browser, f"{demo_site.url}{PAGE}", "#board tbody tr") == []
        page = opened(browser, demo_site, regulator, viewport={"width": 390, "height": 844})
        ready(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert page.errors == []
