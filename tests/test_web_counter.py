"""The pharmacy counter page in Chromium, on the demo's supply chain: a saleable pack
verifies and is dispensed, and scanned again shows it dispensed; the counterfeit finds
no match; the recalled, suspect and dispensed packs warn and cannot be dispensed; a
pharmacy cannot dispense another pharmacy's pack (FORBIDDEN), nor a pack recalled after
it was checked (CONFLICT), and nothing changes; the page says nothing of who holds a
pack. Packs a test dispenses are its own, from a fresh lot (web_demo: tests change the
demo, so each makes the state it asserts on)."""

from __future__ import annotations

import logging
import secrets
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from browser import Watched, accessibility_violations, chromium, screenshot, sign_in, violations
from salus.client import SalusClient
from salus.clock import iso_from_ms, ms_from_iso, wall_clock_ms
from salus.identity import Identity
from salus.node.bootstrap import admin_key_path
from salus.node.datadir import DataDir
from salus.supply import demo as demo_supply
from salus.supply import epcis_events as ev
from salus.supply.identifiers import Identity as GS1Id
from salus.supply.identifiers import Kind
from web_demo import SCREENSHOTS, Demo

CORNER, RIVERSIDE = demo_supply.CORNER, demo_supply.RIVERSIDE
MAKER, DISTRIBUTOR = demo_supply.MAKER, demo_supply.DISTRIBUTOR
GS = "\x1d"
#: What the page must never say about a pack: who made, shipped, owns or holds it.
HOLDERS = [*demo_supply.PARTIES, *(p.gln for p in demo_supply.PARTIES.values())]


def made(demo: Demo) -> dict[str, Any]:
    return demo.made["supply"]  # type: ignore[no-any-return]


def key_name(demo: Demo, org: str, role: str = "supply_operator") -> str:
    return str(made(demo)["keys"][org][role]).removesuffix(".key")


def raw_datamatrix(pack: GS1Id) -> str:
    """What a USB scanner types for the pack's DataMatrix: the symbology identifier, the
    fixed-length AIs, the lot ended by GS (FNC1), the serial."""
    assert pack.expiry is not None
    return (f"]d201{pack.gtin}17{pack.expiry.strftime('%y%m%d')}10{pack.lot}{GS}"
            f"21{pack.serial}")


def fresh_packs(demo: Demo, at: str, n: int = 1) -> tuple[str, list[GS1Id]]:
    """A new lot of ``n`` packs Meridian commissions and sells to the pharmacy ``at``,
    which receives them: saleable packs no other test touches."""
    lot = "C" + secrets.token_hex(4).upper()
    packs = [GS1Id(Kind.SGTIN, gtin=demo_supply.GTIN, serial=secrets.token_hex(6).upper(),
                   lot=lot, expiry=date(2030, 12, 31)) for _ in range(n)]
    urns = [demo_supply.epc(p) for p in packs]
    t = wall_clock_ms() - 3_600_000
    order = [("po", f"urn:epcglobal:cbv:bt:{demo_supply.PARTIES[at].gln}:PO-{lot}")]
    seller, buyer = demo_supply.party(MAKER), demo_supply.party(at)
    with demo.client(key_name(demo, MAKER)) as maker:
        job = maker.capture(ev.document([
            ev.commissioning(urns, lot, date(2030, 12, 31), t, demo_supply.place(MAKER)),
            ev.sale(urns, t + 1000, source=seller, destination=buyer, transactions=order),
            ev.shipping(urns, t + 1000, source=seller, destination=buyer,
                        place=demo_supply.place(MAKER), transactions=order)], t))
        assert job["success"], job
    with demo.client(key_name(demo, at)) as holder:
        job = holder.capture(ev.document([ev.receiving(urns, t + 2000,
                                                       demo_supply.place(at))], t))
        assert job["success"], job
    return lot, packs


def ledger_state(demo: Demo, pack: GS1Id | str) -> dict[str, Any]:
    item = pack if isinstance(pack, str) else pack.digital_link
    with demo.client(key_name(demo, demo_supply.REGULATOR, "auditor")) as regulator:
        return regulator.trace(item)["state"]  # type: ignore[no-any-return]


def open_counter(page: Watched, demo: Demo, dispenser: bool = True) -> None:
    page.goto(f"{demo.url}/ui/pages/counter")
    page.wait_for_selector("#dispense-note:not(:empty)")  # who is signed in is known
    assert page.evaluate("document.activeElement.id") == "scan"  # ready for the scanner
    assert ("You dispense as" in page.text_content("#dispense-note")) == dispenser


def scan(page: Watched, code: str, expect: str = "ok") -> str:
    """Scan ``code`` as a scanner does (typed into the focused field, then Enter); the
    verdict's class once answered (``expect``: ok or bad)."""
    page.focus("#scan")
    page.keyboard.press("Control+A")
    page.keyboard.type(code)
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#verdict.{expect}")
    return page.text_content("#verdict") or ""


def shown_pack(page: Watched) -> dict[str, str]:
    names = page.eval_on_selector_all("#pack dt", "els => els.map(e => e.textContent)")
    values = page.eval_on_selector_all("#pack dd", "els => els.map(e => e.textContent)")
    return dict(zip(names, values, strict=True))


def warning_codes(page: Watched) -> list[str]:
    return page.eval_on_selector_all("#warnings li", "els => els.map(e => e.dataset.code)")


def says_nothing_of_holders(page: Watched) -> None:
    text = page.text_content("#result") or ""
    assert not [h for h in HOLDERS if h in text], text


def dispense(page: Watched, expect: str) -> str:
    assert page.is_enabled("#dispense")
    page.click("#dispense")
    page.wait_for_selector(f"#dispense-status.{expect}")
    return page.text_content("#dispense-status") or ""


def test_a_saleable_pack_verifies_is_dispensed_and_then_shows_dispensed(
        demo_site: Demo, caplog: pytest.LogCaptureFixture) -> None:
    lot, (pack,) = fresh_packs(demo_site, CORNER)
    for name in ("", "salus", "uvicorn", "uvicorn.error", "uvicorn.access"):
        caplog.set_level(logging.DEBUG, logger=name)
    caplog.clear()  # what the node logs from here: the page's requests only
    with chromium() as browser:
        page = sign_in(browser, demo_site.url, demo_site.key_path(key_name(demo_site, CORNER)),
                       timezone_id="Asia/Kolkata")  # the event says the counter's offset
        open_counter(page, demo_site)
        assert page.is_disabled("#dispense")
        assert "Verified" in scan(page, raw_datamatrix(pack))  # with GS, as scanned
        assert shown_pack(page) == {"Product (GTIN)": demo_supply.GTIN, "Lot": lot,
                                    "Expiry": "2030-12-31", "Serial number": pack.serial}
        assert warning_codes(page) == [] and page.is_hidden("#warnings")
        assert page.text_content("#dispense-why") == "This pack may be dispensed."
        says_nothing_of_holders(page)
        done = dispense(page, "ok")
        assert "Dispensed" in done and "ni:///sha-256;" in done
        assert page.is_disabled("#dispense")  # once per scan
        assert page.evaluate("document.activeElement.id") == "scan"  # the next pack
        screenshot(page, SCREENSHOTS, "counter")
        # scanned again (its Digital Link this time): the ledger says dispensed
        verdict = scan(page, demo_supply.label(pack)["digital_link"], expect="bad")
        assert "already dispensed" in verdict and "do not dispense" in verdict
        assert warning_codes(page) == ["Dispensed"] and page.is_disabled("#dispense")
        assert page.errors == []
    # the node logged the page's requests as the pack was scanned and dispensed, never
    # its serial
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "/v1/supply/scan" in logged and "/epcis/capture" in logged
    assert pack.serial not in logged
    assert ledger_state(demo_site, pack)["status"] == "dispensed"
    with demo_site.client(key_name(demo_site, CORNER)) as corner:  # in Corner's repository
        found = corner.epcis_events(biz_steps=["dispensing"],
                                    since=iso_from_ms(wall_clock_ms() - 600_000))
    (event,) = [e for e in found["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
                if e["epcList"] == [pack.digital_link]]
    assert event["action"] == "DELETE" and event["disposition"] == "dispensed"
    assert event["eventTimeZoneOffset"] == "+05:30"
    assert abs(ms_from_iso(event["eventTime"]) - wall_clock_ms()) < 600_000


def test_the_counterfeit_and_packs_with_warnings_cannot_be_dispensed(demo_site: Demo) -> None:
    packs = made(demo_site)["packs"]
    recalled_before = ledger_state(demo_site, packs["recalled"]["epc"])
    saleable = packs["saleable_at_corner"]
    with chromium() as browser:
        page = sign_in(browser, demo_site.url, demo_site.key_path(key_name(demo_site, CORNER)))
        open_counter(page, demo_site)
        verdict = scan(page, packs["counterfeit"]["datamatrix"], expect="bad")
        assert "Not verified: no such pack: possibly counterfeit" in verdict
        assert "No_match_GTIN_Serial" in page.text_content("#reason")
        assert page.is_disabled("#dispense")
        assert "did not verify" in page.text_content("#dispense-why")
        says_nothing_of_holders(page)
        # a real serial under a label whose lot is not its own
        relabelled = saleable["datamatrix"].replace(f"(10){made(demo_site)['lots'][0]['lot']}",
                                                    "(10)FAKE1")
        assert "(10)FAKE1" in relabelled
        assert "lot on the label is not this pack's" in scan(page, relabelled, expect="bad")
        assert "No_match_GTIN_Serial_Lot" in page.text_content("#reason")
        for name, code in (("recalled", "Recalled"), ("suspect", "Suspect"),
                           ("dispensed", "Dispensed")):
            verdict = scan(page, packs[name]["digital_link"], expect="bad")
            assert "Genuine, but" in verdict and "do not dispense" in verdict, name
            assert warning_codes(page) == [code], name
            assert page.is_disabled("#dispense"), name
            assert "warning" in page.text_content("#dispense-why"), name
            says_nothing_of_holders(page)
        # a misread check digit: not a pack's code, said by the node
        bad = packs["counterfeit"]["datamatrix"].replace(f"(01){demo_supply.GTIN}",
                                                         f"(01){demo_supply.GTIN[:-1]}9")
        assert "BAD_CHECK_DIGIT" in scan(page, bad, expect="bad")
        assert page.is_hidden("#pack") and page.is_disabled("#dispense")
        assert page.errors_besides(400) == []
    assert ledger_state(demo_site, packs["recalled"]["epc"]) == recalled_before


def test_a_pack_recalled_after_it_was_checked_is_refused_and_nothing_changes(
        demo_site: Demo) -> None:
    lot, (pack,) = fresh_packs(demo_site, CORNER)
    with chromium() as browser:
        page = sign_in(browser, demo_site.url, demo_site.key_path(key_name(demo_site, CORNER)))
        open_counter(page, demo_site)
        scan(page, pack.element_string)
        with demo_site.client(key_name(demo_site, MAKER)) as maker:  # meanwhile
            maker.call("supply", "recall", {"gtin": demo_supply.GTIN, "lot": lot,
                                            "reason": "potency"})
        refused = dispense(page, "bad")
        assert "CONFLICT" in refused and "Nothing was recorded" in refused
        assert "recalled" in refused
        assert warning_codes(page) == [] and page.is_disabled("#dispense")
        scan(page, pack.element_string, expect="bad")
        assert warning_codes(page) == ["Recalled"]
        assert page.errors == []
    state = ledger_state(demo_site, pack)
    assert state["status"] == "active" and state["possessor"] == CORNER


def test_a_pharmacy_cannot_dispense_another_pharmacys_pack(demo_site: Demo) -> None:
    _lot, (pack,) = fresh_packs(demo_site, CORNER)
    before = ledger_state(demo_site, pack)
    with chromium() as browser:
        page = sign_in(browser, demo_site.url,
                       demo_site.key_path(key_name(demo_site, RIVERSIDE)))
        open_counter(page, demo_site)
        assert RIVERSIDE in page.text_content("#dispense-note")
        # the counter verifies it as for anyone (it says nothing of who holds it) ...
        assert "Verified" in scan(page, raw_datamatrix(pack))
        says_nothing_of_holders(page)
        # ... but the ledger refuses Riverside's dispensing of Corner's pack
        refused = dispense(page, "bad")
        assert "FORBIDDEN" in refused and "does not hold this pack" in refused
        assert CORNER not in refused
        assert page.errors == []
    assert ledger_state(demo_site, pack) == before


def test_a_pharmacist_dispenses_and_a_distributor_only_checks(demo_site: Demo,
                                                              tmp_path: Path) -> None:
    _lot, (pack, kept) = fresh_packs(demo_site, CORNER, 2)
    leaving, leaving_key = demo_site.enrol(CORNER, ["pharmacist"], tmp_path, "pharm-lee")
    with chromium() as browser:
        page = sign_in(browser, demo_site.url,
                       demo_site.key_path(key_name(demo_site, CORNER, "pharmacist")))
        open_counter(page, demo_site)
        assert "pharmacist of corner-pharmacy" in page.text_content("#dispense-note")
        scan(page, raw_datamatrix(pack))
        assert "Dispensed" in dispense(page, "ok")
        distributor = sign_in(browser, demo_site.url,
                              demo_site.key_path(key_name(demo_site, DISTRIBUTOR)))
        open_counter(distributor, demo_site, dispenser=False)
        assert "Only a supply operator or pharmacist of a pharmacy" in \
            distributor.text_content("#dispense-note")
        scan(distributor, made(demo_site)["packs"]["saleable_at_riverside"]["datamatrix"])
        assert distributor.is_disabled("#dispense")
        assert page.errors == [] and distributor.errors == []
        # a pharmacist whose role is revoked while the page is open: the node refuses
        # the capture itself (403, an RFC 7807 problem), and the page says its code
        gone = sign_in(browser, demo_site.url, leaving_key)
        open_counter(gone, demo_site)
        scan(gone, raw_datamatrix(kept))
        with SalusClient(demo_site.url, Identity.load(admin_key_path(
                DataDir(demo_site.data), CORNER))) as admin:
            admin.call("membership", "revoke_roles", {"member": leaving.did,
                                                      "roles": ["pharmacist"]})
        refused = dispense(gone, "bad")
        assert "FORBIDDEN" in refused and "supply_operator" in refused
        assert gone.errors_besides(403) == []
    assert ledger_state(demo_site, pack)["status"] == "dispensed"
    assert ledger_state(demo_site, kept)["status"] == "active"


def test_the_counter_is_accessible_fits_a_phone_and_checks_without_a_key(
        demo_site: Demo) -> None:
    packs = made(demo_site)["packs"]
    cora = demo_site.key_path(key_name(demo_site, CORNER))
    with chromium() as browser:
        phone = sign_in(browser, demo_site.url, cora, viewport={"width": 390, "height": 844})
        open_counter(phone, demo_site)
        scan(phone, packs["saleable_at_riverside"]["datamatrix"])
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        scan(phone, packs["recalled"]["digital_link"], expect="bad")
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        assert phone.errors == []
        checked = sign_in(browser, demo_site.url, cora, bypass_csp=True)
        open_counter(checked, demo_site)
        assert violations(checked) == []  # nothing scanned yet
        scan(checked, packs["saleable_at_riverside"]["digital_link"])
        assert violations(checked) == []  # verified, Dispense enabled
        scan(checked, packs["recalled"]["datamatrix"], expect="bad")
        assert violations(checked) == []  # warnings
        # signed out: a pack is checked all the same, and nothing offers to dispense it
        context = browser.new_context()
        anyone = Watched(context.new_page())
        open_counter(anyone, demo_site, dispenser=False)
        assert "sign in" in anyone.text_content("#dispense-note")
        assert "recalled" in scan(anyone, packs["recalled"]["datamatrix"], expect="bad")
        assert warning_codes(anyone) == ["Recalled"] and anyone.is_disabled("#dispense")
        assert "Verified" in scan(anyone, packs["saleable_at_riverside"]["datamatrix"])
        assert anyone.is_disabled("#dispense")
        assert anyone.errors == []
        context.close()
        assert accessibility_violations(
            browser, f"{demo_site.url}/ui/pages/counter", "#dispense-note:not(:empty)",
            act=lambda p: (p.fill("#scan", packs["counterfeit"]["datamatrix"]),
                           p.press("#scan", "Enter"),
                           p.wait_for_selector("#verdict.bad"))) == []
