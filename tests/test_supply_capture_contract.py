"""``supply.capture`` (SC11): the events of one document as one transaction, all or
nothing, each step judged by its own method's rule; and the steps only capture needs
(SC9 observe / declare_error, SC10 transform, SC12 party GLNs)."""

from __future__ import annotations

import json

import pytest

from conftest import Chain, ident
from salus.supply.contracts.layout import MAX_STEPS, MAX_TOUCHED
from salus.supply.identifiers import check_digit
from supply_world import EXPIRY, GTIN, LOT, OTHER_GTIN, Supply, build_supply, case, event, pack


@pytest.fixture
def s(chain: Chain) -> Supply:
    return build_supply(chain)


def capture(s: Supply, org: str, *steps: dict) -> bytes:
    return s.call(org, "capture", {"steps": list(steps)})


def commission(name: str, items: list[str], gtin: str = GTIN, lot: str = LOT) -> dict:
    return {"method": "commission", "event": event(name), "gtin": gtin, "lot": lot,
            "expiry": EXPIRY, "items": items}


def supply_state(s: Supply) -> list:
    return [(k, v) for k, v, _ in s.chain.ledger.store.all_state() if k.startswith("supply/")]


def test_a_document_commissions_packs_cases_and_ships_them_in_one_transaction(s: Supply) -> None:
    packs = [pack(f"C{i}") for i in range(4)]
    box = case("1")
    (out,) = s.ok(capture(
        s, "pharmaco", commission("c", packs),
        {"method": "aggregate", "event": event("pack"), "parent": box, "children": packs,
         "action": "ADD"},
        {"method": "ship", "event": event("ship"), "items": [box], "to": "wholesale",
         "sale": event("sale")}))
    assert [o["action"] for o in out["steps"]] == ["commission", "aggregate", "ship"]
    assert s.item(packs[0])["status"] == "in_transit" and s.item(packs[0])["parent"] == box
    assert s.item(box)["shipped_to"] == "wholesale"
    # the destination receives and unpacks in its own document
    s.ok(capture(s, "wholesale",
                 {"method": "receive", "event": event("recv"), "items": [box]},
                 {"method": "aggregate", "event": event("unpack"), "parent": box,
                  "children": packs[:2], "action": "DELETE"}))
    assert s.item(packs[0])["owner"] == "wholesale" and s.item(packs[0])["parent"] is None
    # capturing the same document again changes nothing and is valid (SC9)
    before = supply_state(s)
    s.ok(capture(s, "wholesale",
                 {"method": "receive", "event": event("recv"), "items": [box]},
                 {"method": "aggregate", "event": event("unpack"), "parent": box,
                  "children": packs[:2], "action": "DELETE"}))
    assert supply_state(s) == before


def test_one_refused_step_refuses_the_whole_document_and_names_the_step(s: Supply) -> None:
    before = supply_state(s)
    got = s.run(capture(s, "pharmaco", commission("c", [pack("A1")]),
                        {"method": "dispense", "event": event("d"), "item": pack("A1")}))
    # a manufacturer is no dispenser: refused at admission, never kept
    assert got[0][0] == "FORBIDDEN" and "step 1 (dispense)" in got[0][1], got
    got = s.run(capture(s, "pharmaco", commission("c2", [pack("A2")]),
                        commission("c3", [pack("A2")])))
    assert got[0][0] == "CONFLICT" and "step 1 (commission)" in got[0][1], got
    assert supply_state(s) == before


def test_a_step_acting_on_another_organisations_pack_is_dropped_at_admission(s: Supply) -> None:
    theirs = pack("T1")
    s.ok(s.commission("pharmaco", "t", [theirs]))
    mine = pack("M1", OTHER_GTIN)
    got = s.run(capture(s, "genericco", commission("m", [mine], OTHER_GTIN),
                        {"method": "ship", "event": event("steal"), "items": [theirs],
                         "to": "wholesale"}))
    assert got[0][0] == "FORBIDDEN" and "not in genericco's possession" in got[0][1]
    assert s.item(mine) is None and s.item(theirs)["possessor"] == "pharmaco"
    # commissioning another manufacturer's GTIN inside a capture: SC2 still holds
    got = s.run(capture(s, "genericco", commission("g", [pack("G9")], GTIN)))
    assert got[0][0] == "FORBIDDEN" and "SC2" in got[0][1]
    # a non-member, and a member with no supply role, cannot capture at all
    got = s.run(capture(s, ident("stranger"), {"method": "observe", "event": event("x")}))
    assert got[0][0] == "UNKNOWN_SIGNER"
    got = s.run(capture(s, s.admin["pharmaco"], {"method": "observe", "event": event("x")}))
    assert got[0][0] == "FORBIDDEN"


def test_a_step_refers_to_items_made_by_earlier_steps_but_not_to_ones_that_never_exist(
        s: Supply) -> None:
    got = s.run(capture(s, "pharmaco",
                        {"method": "ship", "event": event("s"), "items": [pack("NOPE")],
                         "to": "wholesale"}))
    assert got[0][0] == "NOT_FOUND" and "step 0 (ship)" in got[0][1], got


def test_steps_share_one_budget_of_items_touched(s: Supply) -> None:
    # steps each destroying a container of 800 packs: more than MAX_TOUCHED items in all
    per = 800
    boxes = []
    for b in range(MAX_TOUCHED // per + 1):
        items = [pack(f"B{b}-{i}") for i in range(per)]
        box = case(str(b + 100))
        s.ok(s.commission("pharmaco", f"c{b}", items),
             s.call("pharmaco", "aggregate", {"event": event(f"a{b}"), "parent": box,
                                              "children": items, "action": "ADD"}))
        boxes.append(box)
    steps = [{"method": "destroy", "event": event(f"x{b}"), "items": [box]}
             for b, box in enumerate(boxes)]
    got = s.run(capture(s, "pharmaco", *steps))
    assert got[0][0] == "CONFLICT" and f"more than {MAX_TOUCHED} items" in got[0][1], got
    assert s.item(boxes[0])["status"] == "active"


def test_at_most_max_steps_steps(s: Supply) -> None:
    steps = [{"method": "observe", "event": event(f"o{i}")} for i in range(MAX_STEPS + 1)]
    assert s.run(capture(s, "pharmaco", *steps))[0][0] in ("BAD_ARGUMENTS", "TOO_LARGE")


def test_observe_and_declare_error_only_by_the_recording_organisation(s: Supply) -> None:
    s.ok(capture(s, "wholesale", {"method": "observe", "event": event("seen")}))
    got = s.run(s.call("corner-pharmacy", "declare_error",
                       {"event": event("seen"), "reason": "did_not_occur"}),
                s.call("wholesale", "declare_error", {"event": event("never"),
                                                      "reason": "did_not_occur"}),
                s.call("wholesale", "declare_error", {"event": event("seen"),
                                                      "reason": "because I said so"}))
    assert [c for c, _ in got] == ["FORBIDDEN", "NOT_FOUND", "BAD_ARGUMENTS"], got
    (out,) = s.ok(s.call("wholesale", "declare_error",
                         {"event": event("seen"), "reason": "did_not_occur"}))
    assert out["error"]["reason"] == "did_not_occur"
    recorded = s.chain.ledger.state_value("supply/event/" + event("seen")[14:78])
    assert recorded["action"] == "observe" and recorded["error"]["reason"] == "did_not_occur"


def test_repackaging_needs_the_inputs_and_the_outputs_prefix(s: Supply) -> None:
    inputs = [pack("R1"), pack("R2")]
    s.ok(s.commission("pharmaco", "r", inputs))
    s.move(inputs, ("pharmaco", "genericco"))
    out = [pack("N1", OTHER_GTIN)]
    step = {"method": "transform", "event": event("t"), "inputs": inputs, "gtin": OTHER_GTIN,
            "lot": "RP1", "expiry": EXPIRY, "outputs": out}
    # the manufacturer no longer possesses the inputs; the possessor owns the GTIN
    got = s.run(capture(s, "pharmaco", {**step, "gtin": GTIN, "outputs": [pack("N2")]}))
    assert got[0][0] == "FORBIDDEN"
    s.ok(capture(s, "genericco", step))
    assert s.item(inputs[0])["status"] == "decommissioned"
    assert s.item(out[0])["gtin"] == OTHER_GTIN and s.item(out[0])["owner"] == "genericco"


def gln(body: str) -> str:
    return body + check_digit(body)


def test_a_regulator_registers_party_glns_once(s: Supply) -> None:
    reg = s.regulator
    good = gln("950600000001")
    got = s.run(s.call("wholesale", "register_party", {"gln": good, "org": "wholesale"}),
                s.call(reg, "register_party", {"gln": good[:-1] + str((int(good[-1]) + 1) % 10),
                                               "org": "wholesale"}),
                s.call(reg, "register_party", {"gln": good, "org": "health-dept"}),
                s.call(reg, "register_party", {"gln": good, "org": "wholesale"}),
                s.call(reg, "register_party", {"gln": good, "org": "corner-pharmacy"}))
    assert [c for c, _ in got] == ["FORBIDDEN", "BAD_ARGUMENTS", "BAD_ARGUMENTS", "VALID",
                                   "CONFLICT"], got
    assert s.chain.ledger.state_value(f"supply/party/{good}")["org"] == "wholesale"
    assert LOT  # the world's lot stays unused here


def test_a_step_checks_every_reference_its_method_declares() -> None:
    """A capture's steps check references without the methods' schemas (faster, and the
    capture's schema already held their types): the arguments they check must be exactly
    those the methods' schemas declare as references, so none is ever left unchecked."""
    from salus.supply.contracts.supply import _REFERENCES, _STEPS

    for name, found in _STEPS.items():
        declared = {arg for arg, schema in found.schema.parameters.items()
                    if "x-reference" in json.dumps(schema)}
        assert {arg for arg, *_ in _REFERENCES[name]} == declared, name
