"""The footprint page in a real browser, on the demo's supply chain: the brand owner sees
its product's footprint (and the one it replaced) and a lot's own, as exact figures in
human units; the CO2e and labour of the pallet and of the shipment it travelled in; a
pharmacy sees the CO2e of its pack and its shipment, but no labour (the manufacturer's
making event is not its to read), and is refused another pharmacy's pack; the page is
accessible and fits a phone."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from browser import accessibility_violations, chromium, screenshot, sign_in
from salus.supply import demo_footprints as fp
from web_demo import SCREENSHOTS, Demo
from web_supply import MAKER, key_of, supply

PAGE = "/ui/pages/footprint"
PACKS_PER_LOT = 10


def grams(kg_per_pack: str, packs: int = 1) -> str:
    """What the page says of ``packs`` packs of ``kg_per_pack`` kg CO2e: grams (kilograms
    from a kilogram on) and the exact micrograms."""
    ug = int(Decimal(kg_per_pack) * 10**9) * packs
    unit, scale = ("kg", Decimal(10**9)) if ug >= 10**9 else ("g", Decimal(10**6))
    return f"{(Decimal(ug) / scale).normalize():f} {unit} CO2e ({ug:,} µg)"


def labour(*shares: tuple[fp.LotLabour, int]) -> str:
    """The page's words for the labour of ``(lot, packs)`` shares (ten packs a lot)."""
    h = sum(Decimal(lot.hours) * n / PACKS_PER_LOT for lot, n in shares)
    cost = sum(Decimal(lot.cost) * n / PACKS_PER_LOT for lot, n in shares)
    return (f"{Decimal(h).normalize():f} h ({(h * 60).normalize():f} min); "
            f"{Decimal(cost).normalize():f} {shares[0][0].currency}")


def rows(page: Any, table: str) -> list[list[str]]:
    return page.evaluate("""t => [...document.querySelectorAll(t + ' tbody tr')]
        .map(r => [...r.cells].map(c => c.textContent))""", table)


def facts(page: Any, kind: str) -> dict[str, str]:
    return page.evaluate("""k => Object.fromEntries([...document.querySelectorAll(
        `#footprints section[data-kind=${k}] dt`)].map(dt => [dt.textContent,
        dt.nextElementSibling.textContent]))""", kind)


def test_the_brand_owner_sees_footprints_and_what_the_pallet_and_its_shipment_came_to(
        demo_site: Demo) -> None:
    made = supply(demo_site)
    first, second = made["lots"]
    footprints = made["footprints"]
    with chromium() as browser:
        page = sign_in(browser, demo_site.url, demo_site.key_path(key_of(demo_site, MAKER)))
        page.goto(f"{demo_site.url}{PAGE}")
        page.fill("#gtin", footprints["gtin"])
        page.fill("#lot", second["lot"])
        page.click("#footprint-form button")
        page.wait_for_selector("#footprint-status.ok")
        own, product = facts(page, "batch"), facts(page, "product")
        assert own["Applies to its packs"] == "yes" and product["Applies to its packs"].startswith("no")
        assert own["Footprint hash (SHA-256)"] == footprints["lot"]["hash"]
        assert product["Footprint hash (SHA-256)"] == footprints["product"]
        assert product["Replaces"] == footprints["replaced"]
        assert own["Replaces"] == "nothing: the first attached"
        assert product["Declared unit"] == "1 piece (one pack of the GTIN)"
        assert product["CO2e, excluding biogenic uptake, per declared unit"] == grams(
            fp.CURRENT.excluding_biogenic)
        assert own["Fossil greenhouse gas emissions, per declared unit"] == grams(
            fp.SECOND_LOT.fossil)
        assert product["Brand owner"] == MAKER
        # a lot without its own: the product's applies
        page.fill("#lot", first["lot"])
        page.click("#footprint-form button")
        page.wait_for_function("() => document.getElementById('footprint-status')"
                               f".textContent.includes('Lot {first['lot']} has no footprint')")
        assert page.locator("#footprints section").count() == 1

        # the pallet still at the distributor holds a case of the second lot
        page.fill("#item", made["pallet"]["epc"])
        page.click("#impact-form button")
        page.wait_for_selector("#impact-status.ok")
        assert rows(page, "#now") == [[second["lot"], "5", rows(page, "#now")[0][2],
                                       grams(fp.SECOND_LOT.excluding_biogenic),
                                       labour((fp.LABOUR[1], 1))]]
        assert rows(page, "#now")[0][2].startswith("the lot's own ")
        # it left Meridian with all twenty packs on it
        (shipped,) = rows(page, "#shipments")
        assert shipped[1:] == [
            f"{MAKER} to northway-distribution", "20",
            grams(str(Decimal(fp.CURRENT.excluding_biogenic) * 10
                      + Decimal(fp.SECOND_LOT.excluding_biogenic) * 10)),
            labour((fp.LABOUR[0], 10), (fp.LABOUR[1], 10))]
        screenshot(page, SCREENSHOTS, "footprint")
        assert page.errors == []


def test_a_pharmacy_sees_co2e_but_no_labour_and_only_its_own_packs(demo_site: Demo) -> None:
    made = supply(demo_site)
    first = made["lots"][0]
    mine, theirs = made["packs"]["saleable_at_riverside"], made["packs"]["saleable_at_corner"]
    with chromium() as browser:
        page = sign_in(browser, demo_site.url,
                       demo_site.key_path(key_of(demo_site, "riverside-pharmacy")))
        page.goto(f"{demo_site.url}{PAGE}")
        page.fill("#item", mine["datamatrix"])
        page.click("#impact-form button")
        page.wait_for_selector("#impact-status.ok")
        (now,) = rows(page, "#now")
        assert now[:2] == [first["lot"], "1"] and now[3] == grams(fp.CURRENT.excluding_biogenic)
        assert now[4].startswith("not shown: the event that made these packs is not yours")
        # the shipment from Northway: five packs in a case, two loose, one of the second lot
        (shipped,) = rows(page, "#shipments")
        assert shipped[1:4] == [
            "northway-distribution to riverside-pharmacy", "8",
            grams(str(Decimal(fp.CURRENT.excluding_biogenic) * 7
                      + Decimal(fp.SECOND_LOT.excluding_biogenic)))]
        assert shipped[4].startswith("not shown")
        assert "no labour you may read" in page.text_content("#now-summary")
        page.fill("#item", theirs["epc"])
        page.click("#impact-form button")
        page.wait_for_selector("#impact-status.bad")
        assert page.text_content("#impact-status").startswith(
            "✘ Refused by the node: FORBIDDEN_READ: only ")
        assert page.is_hidden("#impact") and rows(page, "#now") == []
        assert page.errors_besides(403) == []


def test_the_footprint_page_is_accessible_and_fits_a_phone(demo_site: Demo) -> None:
    made = supply(demo_site)
    maker = key_of(demo_site, MAKER)

    def shown(page: Any) -> None:
        page.fill("#gtin", made["footprints"]["gtin"])
        page.fill("#lot", made["lots"][1]["lot"])
        page.click("#footprint-form button")
        page.wait_for_selector("#footprint-status.ok")
        page.fill("#item", made["pallet"]["digital_link"])
        page.click("#impact-form button")
        page.wait_for_selector("#impact-status.ok")

    with chromium() as browser:
        assert accessibility_violations(browser, f"{demo_site.url}{PAGE}", "#gtin",
                                        key_file=demo_site.key_path(maker), act=shown) == []
        page = sign_in(browser, demo_site.url, demo_site.key_path(maker),
                       viewport={"width": 390, "height": 844})
        page.goto(f"{demo_site.url}{PAGE}")
        page.wait_for_selector("#gtin")
        # from the keyboard: the GTIN, Tab, the lot, Enter submits
        page.focus("#gtin")
        page.keyboard.type(made["footprints"]["gtin"])
        page.keyboard.press("Tab")
        page.keyboard.type(made["lots"][1]["lot"])
        page.keyboard.press("Enter")
        page.wait_for_selector("#footprint-status.ok")
        shown(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert page.errors == []
