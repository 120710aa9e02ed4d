"""What the supply pages read that the node had no route for, through a real node on the
demo's supply chain (REST, SDK and CLI): a pack's CO2e and labour now and per shipment
(GET /v1/supply/impact, `salus supply footprint impact`), and the investigations a viewer
may read (GET /v1/supply/investigations, `salus supply investigation list`). Who may ask,
and what each is told: labour only from making events the viewer may read, CO2e only
from a footprint declared per pack, no figure rather than a wrong one."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction
from typing import Any

import httpx
import pytest

from salus.client import SalusClient, SalusError
from salus.supply import demo_footprints as fp
from salus.supply.contracts.layout import item_key
from salus.supply.identifiers import parse
from salus.supply.impact import co2e_per_pack
from salus.supply.labour import COST, CURRENCY, HOURS
from supply_net import salus
from web_demo import Demo
from web_supply import DISTRIBUTOR, MAKER, client, fresh_lot, key_of, quarantine, supply

UG = 10**9  # µg per kg


def ug(kg: str, packs: int = 1) -> int:
    return int(Decimal(kg) * UG) * packs


def impact(demo: Demo, org: str, item: str, role: str = "supply_operator") -> dict[str, Any]:
    with client(demo, org, role) as c:
        return c.impact(item)


def test_the_maker_and_regulator_see_co2e_and_labour_a_pharmacy_only_co2e(demo_site: Demo
                                                                         ) -> None:
    made = supply(demo_site)
    first, second = made["lots"]
    pallet = made["pallet"]["epc"]
    for org, role in ((MAKER, "supply_operator"), ("health-dept", "auditor")):
        doc = impact(demo_site, org, pallet, role)
        assert doc["kind"] == "container" and doc["gtin"] is None
        (lot,) = doc["now"]["lots"]  # the case still on it: five packs of the second lot
        assert (lot["lot"], lot["packs"]) == (second["lot"], 5)
        assert lot["footprint"]["applies"] == "batch"
        assert lot["footprint"]["hash"] == made["footprints"]["lot"]["hash"]
        assert lot["co2e_per_pack_ug"]["excluding_biogenic"] == ug(fp.SECOND_LOT.excluding_biogenic)
        assert lot["labour_per_pack"] == {"hours_milli": 300, "cost_milli": {"EUR": 14250},
                                          "packs": 5}
        (shipped,) = doc["shipments"]  # Meridian to Northway, all twenty packs
        assert (shipped["org"], shipped["to"], shipped["packs"]) == (MAKER, DISTRIBUTOR, 20)
        assert shipped["co2e_ug"]["fossil"] == ug(fp.CURRENT.fossil, 10) + ug(fp.SECOND_LOT.fossil, 10)
        assert shipped["labour"] == {"hours_milli": 5500, "cost_milli": {"EUR": 261250},
                                     "packs": 20}
        assert shipped["rounded"] is False and shipped["unresolved"] == 0
    # Riverside: its pack's CO2e and its shipment's, no labour (Meridian's making events
    # name packs Riverside never held: R-S2), and no shipment it was not party to
    doc = impact(demo_site, "riverside-pharmacy", made["packs"]["saleable_at_riverside"]["datamatrix"])
    (lot,) = doc["now"]["lots"]
    assert lot["lot"] == first["lot"] and lot["labour_per_pack"] is None
    assert lot["labour_events"] == [] and doc["now"]["labour"] is None
    assert lot["co2e_per_pack_ug"]["including_biogenic"] == ug(fp.CURRENT.including_biogenic)
    (shipped,) = doc["shipments"]
    assert (shipped["org"], shipped["to"], shipped["packs"]) == (DISTRIBUTOR, "riverside-pharmacy", 8)
    assert shipped["labour"] is None
    assert shipped["co2e_ug"]["excluding_biogenic"] == (ug(fp.CURRENT.excluding_biogenic, 7)
                                                        + ug(fp.SECOND_LOT.excluding_biogenic))


def test_who_is_refused_the_figures_and_nothing_changes(demo_site: Demo) -> None:
    made = supply(demo_site)
    corners = made["packs"]["saleable_at_corner"]["epc"]
    url = f"{demo_site.url}/v1/supply/impact"
    with client(demo_site, MAKER) as maker:
        height = maker.status()["height"]
    with client(demo_site, "riverside-pharmacy") as other:  # never held Corner's pack
        with pytest.raises(SalusError) as refused:
            other.impact(corners)
        assert refused.value.code == "FORBIDDEN_READ"
    with demo_site.client("patient-ivy") as patient:
        with pytest.raises(SalusError) as refused:
            patient.impact(corners)
        assert refused.value.code == "FORBIDDEN_READ"
    assert httpx.get(url, params={"item": corners}).status_code == 401
    with client(demo_site, "health-dept", "auditor") as regulator:
        gtin = parse(corners).gtin
        assert gtin is not None
        wrong = f"(01){gtin[:13]}{(int(gtin[13]) + 1) % 10}(21)X1"  # a bad check digit
        for item, code in ((wrong, "BAD_IDENTIFIER"),
                           (made["packs"]["counterfeit"]["epc"], "NOT_FOUND"),
                           ("urn:epc:id:sgtin:" + "9" * 600, "BAD_REQUEST")):
            with pytest.raises(SalusError) as bad:
                regulator.impact(item)
            assert bad.value.code in (code, "VALIDATION_ERROR"), (item, bad.value.code)
        assert regulator.status()["height"] == height  # a read: nothing written


def test_a_footprint_per_kilogram_gives_no_pack_figure_and_a_fraction_is_rounded_and_said(
        demo_site: Demo) -> None:
    per_kg = {"declared_unit": "kilogram", "declared_amount_milli": 1000,
              "pcf_excluding_biogenic_ug": 5}
    assert co2e_per_pack(per_kg) is None  # a pack's mass is not on the ledger
    per_three = {"declared_unit": "piece", "declared_amount_milli": 3000,
                 "pcf_excluding_biogenic_ug": 100, "fossil_ghg_ug": 99}
    assert co2e_per_pack(per_three) == {"excluding_biogenic": Fraction(100, 3),
                                        "fossil": Fraction(33)}
    assert co2e_per_pack({**per_three, "declared_amount_milli": 0}) is None
    # through the node: a lot of 3 packs, a footprint per 3 pieces, labour of 1 h for 3
    labour = {f"{fp.LABOUR_PREFIX}:{HOURS}": "1", f"{fp.LABOUR_PREFIX}:{COST}": "10",
              f"{fp.LABOUR_PREFIX}:{CURRENCY}": "EUR"}
    lot, urns = fresh_lot(demo_site, packs=3, lot_data=labour)
    doc = fp.footprint(supply(demo_site)["footprints"]["gtin"], fp.CURRENT,
                       "2026-01-01T00:00:00Z")
    doc["pcf"]["declaredUnitAmount"] = "3"
    with client(demo_site, MAKER) as maker:
        maker.attach_footprint(doc, doc["productIds"][0].removeprefix("urn:gtin:"), lot=lot)
        got = maker.impact(urns[0])["now"]
    (found,) = got["lots"]
    assert found["co2e_per_pack_ug"]["excluding_biogenic"] == round(
        Fraction(ug(fp.CURRENT.excluding_biogenic), 3))
    assert found["labour_per_pack"] == {"hours_milli": 333, "cost_milli": {"EUR": 3333},
                                        "packs": 1}
    assert got["rounded"] is True


def test_a_labour_figure_that_cannot_be_read_exactly_is_left_out(demo_site: Demo) -> None:
    finer = {f"{fp.LABOUR_PREFIX}:{HOURS}": "1.2345"}  # finer than a thousandth of an hour
    lot, urns = fresh_lot(demo_site, packs=2, lot_data=finer)
    found = impact(demo_site, MAKER, urns[1])["now"]
    assert found["lots"][0]["lot"] == lot and found["labour"] is None
    assert found["co2e_ug"] is not None  # the product's footprint still applies


def test_the_investigations_each_viewer_may_read(demo_site: Demo) -> None:
    made = supply(demo_site)
    demo_suspect = item_key(parse(made["packs"]["suspect"]["epc"]))
    _, urns = fresh_lot(demo_site, packs=2)
    quarantine(demo_site, DISTRIBUTOR, urns[0])
    mine = item_key(parse(urns[0]))

    def listed(org: str, role: str = "supply_operator", status: str = "open") -> set[str]:
        with client(demo_site, org, role) as c:
            return {i["item"] for i in c.investigations(status)["investigations"]}

    assert {demo_suspect, mine} <= listed(MAKER)  # the brand owner: both
    assert {demo_suspect, mine} <= listed("health-dept", "auditor")
    assert demo_suspect in listed("corner-pharmacy") and mine not in listed("corner-pharmacy")
    assert mine in listed(DISTRIBUTOR) and demo_suspect not in listed(DISTRIBUTOR)
    assert listed("riverside-pharmacy") & {demo_suspect, mine} == set()
    with client(demo_site, MAKER) as maker:
        entry = next(i for i in maker.investigations()["investigations"] if i["item"] == mine)
        assert entry["opened_by"] == DISTRIBUTOR and entry["brand_owner"] == MAKER
        assert entry["gtin"] == made["recall"]["gtin"] and entry["overdue"] is False
        assert entry["due"] == entry["time"] + 24 * 3600 * 1000
        maker.close_investigation(urns[0], "cleared")
    assert mine not in listed(MAKER) and mine in listed(MAKER, status="closed")
    assert mine in listed(DISTRIBUTOR, status="all")
    with demo_site.client("patient-ivy") as patient:
        with pytest.raises(SalusError) as refused:
            patient.investigations()
        assert refused.value.code == "FORBIDDEN_READ"
    url = f"{demo_site.url}/v1/supply/investigations"
    assert httpx.get(url).status_code == 401
    with client(demo_site, MAKER) as maker:
        token = maker.token()
    for params in ({"status": "nonsense"}, {"after": "../" + "0" * 61}, {"after": "A" * 64}):
        r = httpx.get(url, params=params, headers={"authorization": f"Bearer {token}"})
        assert r.status_code in (400, 422), (params, r.status_code)
    with pytest.raises(ValueError):
        SalusClient(demo_site.url).investigations("nonsense")


def test_the_cli_lists_investigations_and_shows_a_packs_figures(demo_site: Demo) -> None:
    made = supply(demo_site)
    key = str(demo_site.key_path(key_of(demo_site, MAKER)))
    listed = json.loads(salus("supply", "investigation", "list", "-k", key, "--node",
                              demo_site.url))
    suspect = item_key(parse(made["packs"]["suspect"]["epc"]))
    assert suspect in {i["item"] for i in listed["investigations"]}
    salus("supply", "investigation", "list", "-k", key, "--status", "maybe", "--node",
          demo_site.url, code=2)
    shown = json.loads(salus("supply", "footprint", "impact", made["pallet"]["digital_link"],
                             "-k", key, "--node", demo_site.url))
    assert shown["shipments"][0]["packs"] == 20
    rosa = str(demo_site.key_path(key_of(demo_site, "riverside-pharmacy")))
    out = salus("supply", "footprint", "impact", made["packs"]["saleable_at_corner"]["epc"],
                "-k", rosa, "--node", demo_site.url, code=1)
    assert "FORBIDDEN_READ" in out
