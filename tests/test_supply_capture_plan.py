"""capture_plan: each EPCIS event as the ledger step it implies (docs/supply.md, "Capture")."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from salus.supply import epcis_events as ev
from salus.supply.capture_plan import PlanError, plan, vocabulary
from salus.supply.contracts.layout import item_key
from salus.supply.document import read_document
from salus.supply.event_hash import document_events, document_hashes
from salus.supply.identifiers import check_digit, parse

EXAMPLES = Path(__file__).resolve().parent / "fixtures" / "epcis" / "examples"
GTIN, PREFIX_LEN = "09506000134352", 7
GLN = "950600000001" + check_digit("950600000001")
PARTIES = {GLN: "northway"}


def steps_of(events: list[dict], parties: dict[str, str] | None = None) -> list[dict]:
    doc = read_document(json.dumps(ev.document(events, 0)))
    return plan(document_events(doc), document_hashes(doc), (parties or PARTIES).get)


def pack(serial: str) -> str:
    return ev.sgtin(GTIN, serial, PREFIX_LEN)


def key(serial: str) -> str:
    return item_key(parse(pack(serial)))


@pytest.mark.parametrize("path", sorted(EXAMPLES.rglob("*.jsonld")), ids=lambda p: p.name)
def test_every_gs1_example_is_planned_or_refused_with_reasons(path: Path) -> None:
    """GS1's examples are not DSCSA flows: each either maps to steps (associations,
    sensor readings and aggregations observed; error declarations declared) or is refused
    naming its event (a shipment to no registered party, a transformation without lot)."""
    try:
        doc = read_document(path.read_bytes())
    except ValueError:
        pytest.skip("not valid as shipped (see docs/supply.md: AssociationEvent-h)")
    try:
        steps = plan(document_events(doc), document_hashes(doc), lambda gln: None)
    except PlanError as exc:
        assert exc.problems and all(p.startswith("event ") for p in exc.problems)
        return
    assert {s["method"] for s in steps} <= {"observe", "declare_error", "receive", "aggregate"}
    assert all(s["event"].startswith("ni:///sha-256;") for s in steps)


def test_a_dscsa_life_maps_to_its_steps() -> None:
    t = 1_800_000_000_000
    po = [("po", "urn:x:po-1")]
    got = steps_of([
        ev.commissioning([pack("A"), pack("B")], "L1", date(2030, 1, 31), t,
                         "urn:epc:id:sgln:9506000.00001.0"),
        ev.packing(ev.sscc("095060000000000017", PREFIX_LEN), [pack("A"), pack("B")], t, "urn:x"),
        ev.sale([pack("A")], t, source="urn:x", destination=ev.pgln(GLN, PREFIX_LEN), transactions=po),
        ev.shipping([pack("A")], t, source="urn:x", destination=ev.pgln(GLN, PREFIX_LEN),
                    place="urn:x", transactions=po),
        ev.receiving([pack("A")], t, "urn:x"),
        ev.dispensing(pack("A"), t, "urn:x"),
        ev.quarantine(pack("B"), t, "urn:x")])
    assert [s["method"] for s in got] == ["commission", "aggregate", "ship", "receive",
                                          "dispense", "report"]
    commission, _, ship, *_, report = got
    assert commission["gtin"] == GTIN and commission["lot"] == "L1"
    assert commission["expiry"] == 20300131 and commission["items"] == [key("A"), key("B")]
    assert ship["to"] == "northway" and ship["sale"].startswith("ni:///sha-256;")
    assert report["status"] == "suspect"
    assert "A" not in json.dumps(got).replace("ADD", "")  # serials never: item keys only


def test_cbv_terms_are_read_in_every_spelling() -> None:
    for spelling in ("receiving", "urn:epcglobal:cbv:bizstep:receiving",
                     "https://ref.gs1.org/cbv/BizStep-receiving", "cbv:BizStep-receiving"):
        assert vocabulary("bizStep", spelling) == "receiving"
    # the JSON-LD schema takes the bare term and the Web URI (not the 1.x URN)
    for spelling in ("receiving", "https://ref.gs1.org/cbv/BizStep-receiving"):
        event = {**ev.receiving([pack("A")], 0, "urn:x"), "bizStep": spelling}
        assert [s["method"] for s in steps_of([event])] == ["receive"]


def test_every_problem_names_its_event() -> None:
    no_lot = ev.commissioning([pack("A")], "L", date(2030, 1, 1), 0, "urn:x")
    del no_lot["ilmd"]
    two = ev.dispensing(pack("A"), 0, "urn:x") | {"epcList": [pack("A"), pack("B")]}
    nowhere = ev.shipping([pack("A")], 0, source="urn:x",
                          destination=ev.pgln("950600000002" + check_digit("950600000002"), 7),
                          place="urn:x")
    bad_gln = ev.shipping([pack("A")], 0, source="urn:x",
                          destination="urn:epc:id:pgln:9506000.00001X", place="urn:x")
    mixed = ev.commissioning([pack("A"), ev.sgtin("04012345111118", "C", 7)], "L",
                             date(2030, 1, 1), 0, "urn:x")
    with pytest.raises(PlanError) as refused:
        steps_of([no_lot, two, nowhere, bad_gln, mixed])
    problems = refused.value.problems
    assert [p.split(" (")[0] for p in problems] == [f"event {i}" for i in range(5)]
    assert "lot and expiry" in problems[0] and "one pack" in problems[1]
    assert "no registered party" in problems[2] and "names no party" in problems[3]
    assert "one GTIN" in problems[4]


def test_an_event_of_classes_only_is_observed() -> None:
    event = ev.receiving([pack("A")], 0, "urn:x")
    del event["epcList"]
    event["quantityList"] = [{"epcClass": "urn:epc:class:lgtin:9506000.013435.L1",
                              "quantity": 10, "uom": "EA"}]
    assert [s["method"] for s in steps_of([event])] == ["observe"]
