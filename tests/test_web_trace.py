"""The trace page in a real browser, on the demo's supply chain: the regulator scans a pack
still in its case on the pallet and sees its whole chain of custody (each event checked
against the ledger, with its hash), its recalled lot and the pallet -> case -> pack tree;
a pharmacy sees only the events it may read of its own pack, and is refused another
pharmacy's (FORBIDDEN_READ); the page is accessible, fits a phone and works from the
keyboard, as a scanner types."""

from __future__ import annotations

from typing import Any

from browser import accessibility_violations, chromium, screenshot, sign_in
from salus.client import SalusClient
from salus.identity import Identity
from salus.supply.contracts.layout import item_key
from salus.supply.identifiers import parse
from web_demo import SCREENSHOTS, Demo
from web_supply import key_of, supply

PAGE = "/ui/pages/trace"
GS = "\x1d"


def scanner_text(label: str) -> str:
    """What a keyboard-wedge scanner types for a pack's DataMatrix: the symbology
    identifier, the element string with GS after each variable-length field."""
    pack = parse(label)
    assert pack.gtin and pack.serial and pack.lot and pack.expiry
    return (f"]d201{pack.gtin}21{pack.serial}{GS}10{pack.lot}{GS}"
            f"17{pack.expiry.strftime('%y%m%d')}")


def api_trace(demo: Demo, who: str, item: str) -> dict[str, Any]:
    with SalusClient(demo.url, Identity.load(demo.key_path(who))) as c:
        return c.trace(item)


def shown(page: Any) -> dict[str, Any]:
    return page.evaluate("""() => ({
      hashes: [...document.querySelectorAll('#timeline li')].map(li => li.dataset.hash),
      checked: [...document.querySelectorAll('#timeline li')].map(li => li.className),
      steps: [...document.querySelectorAll('#timeline li strong')].map(s => s.textContent),
      facts: Object.fromEntries([...document.querySelectorAll('#facts dt')]
               .map(dt => [dt.textContent, dt.nextElementSibling.textContent])),
      tree: (function walk(li) { return { item: li.dataset.item, current: li.getAttribute('aria-current'),
               text: li.firstElementChild.textContent,
               children: [...(li.querySelector(':scope > ul')?.children ?? [])].map(walk) }; })
             (document.querySelector('#tree > ul > li')),
    })""")


def test_the_regulator_scans_a_pack_on_the_pallet_and_sees_its_whole_chain(demo_site: Demo
                                                                            ) -> None:
    made = supply(demo_site)
    pack, case, pallet = made["packs"]["on_pallet"], made["case"], made["pallet"]
    regulator = key_of(demo_site, "health-dept", "auditor")
    expected = api_trace(demo_site, regulator, pack["epc"])
    with chromium() as browser:
        page = sign_in(browser, demo_site.url, demo_site.key_path(regulator))
        page.goto(f"{demo_site.url}{PAGE}")
        page.wait_for_function("() => document.activeElement?.id === 'item'")  # ready for a scan
        page.locator("#item").press_sequentially(scanner_text(pack["datamatrix"]))
        page.keyboard.press("Enter")  # the scanner's last key submits
        page.wait_for_selector("#trace-status.ok")
        got = shown(page)
        assert got["hashes"] == [e["hash"] for e in expected["events"]]
        assert len(got["hashes"]) >= 5 and set(got["checked"]) == {"checked"}
        for step in ("commissioning", "packing", "shipping", "receiving",
                     "sale (TransactionEvent"):  # the DSCSA transaction information
            assert any(s.startswith(step) for s in got["steps"]), got["steps"]
        assert "✔ On the ledger: recorded by meridian-pharma as commission" in page.text_content(
            "#timeline")
        lot = parse(pack["datamatrix"])
        facts = got["facts"]
        assert facts["GTIN"] == lot.gtin and facts["Lot"] == lot.lot
        assert facts["Expiry"] == lot.expiry.isoformat()  # type: ignore[union-attr]
        assert facts["Status"].startswith("active; lot recalled (potency, by meridian-pharma")
        assert facts["Held by"] == "northway-distribution"
        # pallet -> case -> pack, this pack marked, each named by its SSCC
        tree = got["tree"]
        assert tree["item"] == item_key(parse(pallet["epc"]))
        assert tree["text"] == f"Case or pallet: SSCC {parse(pallet['epc']).sscc}"
        (in_case,) = tree["children"]
        assert in_case["item"] == item_key(parse(case["epc"])) and in_case["current"] is None
        (me,) = in_case["children"]
        assert me["item"] == item_key(parse(pack["epc"])) and me["current"] == "true"
        assert "this item" in me["text"]
        assert page.get_attribute("#download", "href").startswith("blob:")
        screenshot(page, SCREENSHOTS, "trace")
        assert page.errors == []


def test_a_pharmacy_sees_its_part_and_is_refused_another_pharmacys_pack(demo_site: Demo
                                                                       ) -> None:
    made = supply(demo_site)
    mine, theirs = made["packs"]["saleable_at_corner"], made["packs"]["saleable_at_riverside"]
    corner = key_of(demo_site, "corner-pharmacy")
    regulator = key_of(demo_site, "health-dept", "auditor")
    own = api_trace(demo_site, corner, mine["epc"])
    whole = api_trace(demo_site, regulator, mine["epc"])
    assert 0 < len(own["events"]) < len(whole["events"])
    with chromium() as browser:
        page = sign_in(browser, demo_site.url, demo_site.key_path(corner))
        # signed in, a supply operator is led to the supply pages
        page.wait_for_selector("#next a[href='/ui/pages/trace']")
        assert page.locator("#next a[href='/ui/pages/footprint']").count() == 1
        page.goto(f"{demo_site.url}{PAGE}")
        page.fill("#item", mine["digital_link"])
        page.click("#trace-form button")
        page.wait_for_selector("#trace-status.ok")
        got = shown(page)
        assert got["hashes"] == [e["hash"] for e in own["events"]]
        assert not any(s.startswith("commissioning") for s in got["steps"])  # Meridian's
        assert "may not read are not shown" in page.text_content("#events-note")
        # Riverside's pack: the node's code, and nothing of the pack shown before
        page.fill("#item", theirs["epc"])
        page.click("#trace-form button")
        page.wait_for_selector("#trace-status.bad")
        assert page.text_content("#trace-status").startswith(
            "✘ Refused by the node: FORBIDDEN_READ: only ")
        assert page.is_hidden("#result") and page.text_content("#timeline") == ""
        # a mistyped check digit never reaches the ledger
        gtin = parse(mine["epc"]).gtin
        assert gtin is not None
        bad = f"(01){gtin[:13]}{(int(gtin[13]) + 1) % 10}(21)X1"
        page.fill("#item", bad)
        page.click("#trace-form button")
        page.wait_for_function("() => document.getElementById('trace-status')"
                               ".textContent.includes('BAD_IDENTIFIER')")
        assert page.errors_besides(400, 403) == []


def test_the_trace_page_is_accessible_fits_a_phone_and_asks_for_a_key(demo_site: Demo
                                                                      ) -> None:
    made = supply(demo_site)
    regulator = key_of(demo_site, "health-dept", "auditor")

    def traced(page: Any) -> None:
        page.fill("#item", made["packs"]["dispensed"]["digital_link"])
        page.click("#trace-form button")
        page.wait_for_selector("#trace-status.ok")

    with chromium() as browser:
        assert accessibility_violations(browser, f"{demo_site.url}{PAGE}", "#item",
                                        key_file=demo_site.key_path(regulator),
                                        act=traced) == []
        page = sign_in(browser, demo_site.url, demo_site.key_path(regulator),
                       viewport={"width": 390, "height": 844})
        page.goto(f"{demo_site.url}{PAGE}")
        page.wait_for_function("() => document.activeElement?.id === 'item'")
        traced(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        # from the keyboard: the next stop after the button is the result, in order
        page.focus("#trace-form button")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "download"
        assert page.errors == []
        signed_out = browser.new_page()
        signed_out.goto(f"{demo_site.url}{PAGE}")
        signed_out.wait_for_selector("main [role=alert]")
        assert "Sign in" in signed_out.text_content("main")
