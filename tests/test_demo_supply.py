"""`make run`'s supply chain (issue 16 item 10), seeded into a fresh demo on a real node:
what ``demo-supply.json`` claims is what the ledger holds, read as the regulator reads it
(its ``trace``) and as the counter verifies it; seeding again does nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from demo_stage import Seeded, seeded
from salus.client import SalusError
from salus.identity import Identity
from salus.ledger.members import has_role, member_of_key
from salus.node.datadir import DataDir
from salus.supply import demo as demo_supply
from salus.supply.contracts.layout import (
    INVESTIGATION_MS,
    footprint_key,
    investigation_key,
    item_key,
    lot_id,
    lot_key,
    party_key,
    prefix_key,
)
from salus.supply.identifiers import check_digit, parse
from salus.supply.labour import labour
from salus.supply.verification import verify


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    with seeded(tmp_path_factory.mktemp("demo-supply"), demo_supply.seed_once) as found:
        yield found


def trace(demo: Seeded, item: str) -> dict[str, Any]:
    with demo.client(demo.made["keys"]["health-dept"]["auditor"]) as regulator:
        return regulator.trace(item)


def today() -> int:
    return int(datetime.now(UTC).strftime("%Y%m%d"))


def at_the_counter(demo: Seeded, scanned: str) -> dict[str, Any]:
    return verify(demo.state, parse(scanned), today()).data()


def test_the_json_is_written_once_and_seeding_again_does_nothing(demo: Seeded) -> None:
    assert json.loads((demo.data / demo_supply.MARKER).read_text()) == demo.made
    height = demo.node.ledger.height
    assert demo_supply.seed_once(demo.url, demo.data, lambda _: None) is None
    assert demo.node.ledger.height == height


def test_the_prefix_glns_gtin_and_lots_are_what_the_ledger_registered(demo: Seeded) -> None:
    made = demo.made
    assert demo.state(prefix_key(made["company_prefix"]))["org"] == made["orgs"]["manufacturer"]
    for org, gln in made["glns"].items():
        assert demo.state(party_key(gln))["org"] == org
        assert check_digit(gln[:12]) == gln[12]
    (gtin,) = made["gtins"].values()
    lots = {lot["lot"]: lot for lot in made["lots"]}
    assert len(lots) == 2
    for lot in lots.values():
        on_ledger = demo.state(lot_key(lot_id(gtin, lot["lot"])))
        assert on_ledger["owner"] == made["orgs"]["manufacturer"]
        assert str(on_ledger["expiry"]) == lot["expiry"].replace("-", "")
    for name, pack in made["packs"].items():  # each label names a lot of the json
        label = parse(pack["datamatrix"])
        assert label.gtin == gtin and label.lot in lots, name
        assert label.expiry is not None and label.expiry.isoformat() == lots[label.lot]["expiry"]


def test_every_key_file_is_a_member_with_the_role_claimed(demo: Seeded) -> None:
    height = demo.node.ledger.height
    for org, roles in demo.made["keys"].items():
        for role, file in roles.items():
            member = member_of_key(demo.state, Identity.load(demo.data / "keys" / file).did)
            assert has_role(demo.state, member, role, org, height), (org, role, file)


def test_saleable_packs_are_at_each_pharmacy_and_verify_clean(demo: Seeded) -> None:
    for name, pharmacy in (("saleable_at_corner", "corner-pharmacy"),
                           ("saleable_at_riverside", "riverside-pharmacy")):
        pack = demo.made["packs"][name]
        assert pack["at"] == pharmacy
        for form in ("datamatrix", "digital_link", "epc"):  # one pack, three spellings
            assert parse(pack[form]) == parse(pack["epc"])
        state = trace(demo, pack["epc"])["state"]
        assert (state["status"], state["possessor"], state["owner"], state["parent"]) == \
            ("active", pharmacy, pharmacy, None), (name, state)
        assert state["parties"] == ["meridian-pharma", "northway-distribution", pharmacy]
        assert at_the_counter(demo, pack["datamatrix"]) == {"verified": True}
        assert at_the_counter(demo, pack["digital_link"]) == {"verified": True}


def test_the_dispensed_pack_says_so_and_its_trace_is_on_the_ledger(demo: Seeded) -> None:
    pack = demo.made["packs"]["dispensed"]
    found = trace(demo, pack["digital_link"])
    assert found["state"]["status"] == "dispensed" and found["state"]["possessor"] == "corner-pharmacy"
    steps = [e["event"].get("bizStep") for e in found["events"]]
    # the regulator sees its whole life, through the case and the pallet it travelled in
    for step in ("commissioning", "packing", "shipping", "receiving", "unpacking",
                 "dispensing"):
        assert step in steps, steps
    assert steps[0] == "commissioning" and steps[-1] == "dispensing"
    assert all(e["on_ledger"] for e in found["events"])
    assert {e["org"] for e in found["events"]} == {"meridian-pharma", "northway-distribution",
                                                   "corner-pharmacy"}
    assert at_the_counter(demo, pack["datamatrix"]) == {"verified": True,
                                                        "additionalInfo": "Suspect",
                                                        "additionalInfoAll": ["Dispensed"]}


def test_the_recalled_lot_is_recalled_and_its_pack_was_not_dispensed(demo: Seeded) -> None:
    recall, pack = demo.made["recall"], demo.made["packs"]["recalled"]
    assert [lot["lot"] for lot in demo.made["lots"] if lot["recalled"]] == [recall["lot"]]
    lot = demo.state(lot_key(lot_id(recall["gtin"], recall["lot"])))
    assert lot["recall"]["reason"] == recall["reason"] and lot["recall"]["org"] == "meridian-pharma"
    assert parse(pack["digital_link"]).lot == recall["lot"] == parse(pack["datamatrix"]).lot
    state = trace(demo, pack["epc"])["state"]
    assert (state["lot"], state["status"], state["possessor"]) == (
        recall["lot"], "active", "corner-pharmacy")  # still on the shelf
    assert at_the_counter(demo, pack["digital_link"]) == {"verified": True,
                                                          "additionalInfo": "Recalled",
                                                          "additionalInfoAll": ["Recalled"]}
    refused = demo.made["refused"]["dispense_recalled"]
    assert refused["code"] == "CONFLICT"
    with demo.client(demo.made["keys"]["corner-pharmacy"]["supply_operator"]) as corner:
        job = corner.capture_job(refused["captureID"])
    assert job["success"] is False and "recalled" in job["errors"][0]["reason"]


def test_the_counterfeit_is_caught_and_nowhere_on_the_ledger(demo: Seeded) -> None:
    fake = demo.made["packs"]["counterfeit"]
    real = parse(demo.made["packs"]["saleable_at_corner"]["datamatrix"])
    forged = parse(fake["datamatrix"])
    # the label is plausible: the maker's GTIN, a real lot and its expiry
    assert (forged.gtin, forged.lot, forged.expiry) == (real.gtin, real.lot, real.expiry)
    for form in ("datamatrix", "digital_link"):
        assert at_the_counter(demo, fake[form]) == {"verified": False,
                                                    "verificationFailureReason":
                                                        "No_match_GTIN_Serial"}
    with pytest.raises(SalusError) as unknown:
        trace(demo, fake["epc"])
    assert unknown.value.status == 404


def test_the_suspect_pack_is_quarantined_with_an_investigation_due_in_24_hours(
        demo: Seeded) -> None:
    pack = demo.made["packs"]["suspect"]
    assert trace(demo, pack["epc"])["state"]["status"] == "suspect"
    found = demo.state(investigation_key(item_key(parse(pack["epc"]))))
    assert found["status"] == "open" and found["opened_by"] == "corner-pharmacy"
    assert found["due"] == found["time"] + INVESTIGATION_MS
    assert at_the_counter(demo, pack["datamatrix"]) == {"verified": True,
                                                        "additionalInfo": "Suspect",
                                                        "additionalInfoAll": ["Suspect"]}


def test_the_pallet_still_holds_a_case_of_packs_at_the_distributor(demo: Seeded) -> None:
    pallet, case = demo.made["pallet"], demo.made["case"]
    for unit in (pallet, case):
        assert parse(unit["datamatrix"]) == parse(unit["digital_link"]) == parse(unit["epc"])
    on_pallet = trace(demo, pallet["epc"])
    assert on_pallet["state"]["kind"] == "container"
    assert on_pallet["state"]["possessor"] == "northway-distribution"
    assert [c["item"] for c in on_pallet["hierarchy"]["contents"]] == [
        item_key(parse(case["epc"]))]
    in_case = trace(demo, case["digital_link"])
    assert in_case["state"]["parent"] == item_key(parse(pallet["epc"]))
    packs = in_case["hierarchy"]["contents"]
    assert len(packs) == demo_supply.PACKS_PER_CASE
    assert {p["kind"] for p in packs} == {"pack"} and {p["status"] for p in packs} == {"active"}
    # pallet -> case -> pack, seen from a pack inside
    inner = demo.state(f"supply/item/{packs[0]['item']}")
    assert inner["lot"] == demo.made["recall"]["lot"]  # a recalled lot still at the wholesaler


def test_each_capture_job_is_kept_by_the_organisation_that_captured_it(demo: Seeded) -> None:
    jobs = demo.made["captures"]
    assert {j["org"] for j in jobs} == {"meridian-pharma", "northway-distribution",
                                        "corner-pharmacy", "riverside-pharmacy"}
    with demo.client(demo.made["keys"]["health-dept"]["auditor"]) as regulator:
        for job in jobs:
            kept = regulator.capture_job(job["captureID"], org=job["org"])
            assert kept["success"] is True and kept["tx"] == job["tx"], job
            assert kept["eventCount"] == job["events"]


def test_no_serial_of_the_demo_is_in_the_ledger_files(demo: Seeded) -> None:
    serials = [parse(p["epc"]).serial for p in demo.made["packs"].values()]
    ledger = DataDir(demo.data).ledger_file  # the database and its write-ahead log
    blobs = b"".join(p.read_bytes() for p in ledger.parent.glob(ledger.name + "*"))
    assert len(blobs) > 100_000
    for serial in serials:
        assert serial is not None and serial.encode() not in blobs, serial


def test_the_footprints_and_labour_are_what_the_json_says(demo: Seeded) -> None:
    made = demo.made["footprints"]
    product = demo.state(footprint_key(made["gtin"]))
    assert (product["hash"], product["replaces"]) == (made["product"], made["replaced"])
    assert product["declared_unit"] == "piece" and product["declared_amount_milli"] == 1000
    own = demo.state(footprint_key(made["gtin"], lot_id(made["gtin"], made["lot"]["lot"])))
    assert own["hash"] == made["lot"]["hash"] and own["replaces"] is None
    # each lot's labour is on its commissioning event, in Meridian's repository only
    with demo.client(demo.made["keys"]["meridian-pharma"]["supply_operator"]) as maker:
        events = maker.epcis_events(biz_steps=["commissioning"])["epcisBody"]["queryResults"][
            "resultsBody"]["eventList"]
    stated = {e["ilmd"]["cbvmda:lotNumber"]: labour(e) for e in events}
    for lot in demo.made["labour"]:
        found = stated[lot["lot"]]
        assert found is not None and found.currency == lot["currency"]
        assert found.hours_milli == int(Decimal(lot["hours"]) * 1000)
        assert found.cost_milli == int(Decimal(lot["cost"]) * 1000)
