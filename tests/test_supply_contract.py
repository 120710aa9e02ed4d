"""The supply contract: the rules a pack obeys (SC1-SC9 of salus.supply.contracts.supply),
each with the parties that may not break them."""

from __future__ import annotations

import pytest

from conftest import Chain, ident
from salus.supply.contracts.layout import INVESTIGATION_MS, block_date, lot_id
from supply_world import EXPIRY, GTIN, LOT, OTHER_GTIN, Supply, build_supply, case, event, pack

FACTS = {"notification": "initial", "classification": "counterfeit",
         "product_type": "human_rx_drug", "dosage_form": "tablet", "reporter": "manufacturer",
         "determined": "2025-11-22", "quantity": 1}


@pytest.fixture
def s(chain: Chain) -> Supply:
    return build_supply(chain)


def codes(verdicts: list[tuple[str, str]]) -> list[str]:
    return [c for c, _ in verdicts]


def supply_state(s: Supply) -> list:
    return [(k, v) for k, v, _ in s.chain.ledger.store.all_state() if k.startswith("supply/")]


def at_pharmacy(s: Supply, *serials: str) -> list[str]:
    """Packs commissioned by pharmaco and sold on to the corner pharmacy."""
    items = [pack(x) for x in serials]
    s.ok(s.commission("pharmaco", "commission " + " ".join(serials), items))
    s.move(items, ("pharmaco", "wholesale"), ("wholesale", "corner-pharmacy"))
    return items


def test_a_regulator_registers_prefixes_that_never_overlap(s: Supply) -> None:
    reg = s.regulator
    prefix = lambda who, p, org="genericco": s.call(who, "register_prefix",  # noqa: E731
                                                     {"prefix": p, "org": org})
    got = s.run(prefix(reg, "9506"), prefix(reg, "95060001"), prefix(reg, "9506000"),
                prefix(reg, "761234", "wholesale"), prefix(reg, "123"), prefix(reg, "1" * 13),
                prefix(s.admin["genericco"], "761234"), prefix("genericco", "761234"),
                prefix(ident("st-mary-admin"), "761234"), prefix(ident("stranger"), "761234"),
                prefix(reg, "761234"))
    assert codes(got) == ["CONFLICT"] * 3 + ["BAD_ARGUMENTS"] * 3 + ["FORBIDDEN"] * 3 + [
        "UNKNOWN_SIGNER", "VALID"], got
    assert "overlaps" in got[0][1] and "not a manufacturer" in got[3][1]
    assert s.chain.ledger.state_value("supply/prefix/761234")["org"] == "genericco"


def test_only_the_brand_owner_commissions_its_gtin(s: Supply) -> None:
    a, b = pack("A1"), pack("B1")
    args = {"event": event("c1"), "gtin": GTIN, "lot": LOT, "expiry": EXPIRY, "items": [a]}
    got = s.run(
        s.call("genericco", "commission", args),                      # another manufacturer
        s.call("wholesale", "commission", args),                      # a distributor
        s.call(s.admin["pharmaco"], "commission", args),              # its admin, no role
        s.call(ident("world-patient"), "commission", args),           # not a member
        s.call("pharmaco", "commission", {**args, "gtin": "09506000999998"}),  # check digit
        s.call("pharmaco", "commission", {**args, "gtin": "07612345000015"}),  # no prefix
        s.call("pharmaco", "commission", {**args, "expiry": 20270231}),
        s.call("pharmaco", "commission", {**args, "items": [a, a]}),
        s.call("pharmaco", "commission", {**args, "lot": "LOT A"}),   # no spaces in AI 10
        s.call("pharmaco", "commission", args),
        s.call("pharmaco", "commission", {**args, "event": event("c2")}),  # a again
        s.call("pharmaco", "commission", {**args, "event": event("c3"), "items": [b],
                                          "expiry": 20280101}),       # the lot's other expiry
        s.call("pharmaco", "commission", {**args, "event": event("c4"), "items": [b],
                                          "lot": "OLD", "expiry": 20251101}),  # expired
    )
    assert codes(got) == ["FORBIDDEN"] * 3 + ["UNKNOWN_SIGNER", "BAD_ARGUMENTS", "FORBIDDEN"] + [
        "BAD_ARGUMENTS"] * 3 + ["VALID"] + ["CONFLICT"] * 3, got
    assert "another manufacturer's" in got[0][1] and "not wholesale's" in got[1][1]
    assert "supply_operator role" in got[2][1]
    assert "check digit" in got[4][1] and "no registered GS1 company prefix" in got[5][1]
    assert s.item(a) == {"kind": "pack", "gtin": GTIN, "lot": LOT, "expiry": EXPIRY,
                         "owner": "pharmaco", "possessor": "pharmaco", "status": "active",
                         "parent": None, "children": None, "shipped_to": None, "sale": None,
                         "parties": ["pharmaco"], "event": event("c1")}
    assert s.chain.ledger.state_value(f"supply/lot/{lot_id(GTIN, LOT)}") == {
        "gtin": GTIN, "lot": LOT, "expiry": EXPIRY, "owner": "pharmaco", "recall": None}
    assert s.item(b) is None
    # the other manufacturer commissions its own GTIN
    s.ok(s.commission("genericco", "g1", [pack("G1", OTHER_GTIN)], gtin=OTHER_GTIN))


def test_only_the_possessor_ships_and_only_the_destination_receives(s: Supply) -> None:
    a, b = pack("A1"), pack("A2")
    s.ok(s.commission("pharmaco", "c", [a, b]))
    got = s.run(s.ship("wholesale", "s0", [a], "corner-pharmacy"),   # does not possess it
                s.ship("genericco", "s0", [a], "wholesale"),         # another manufacturer
                s.ship("pharmaco", "s0", [a], "pharmaco"),           # to itself
                s.ship("pharmaco", "s0", [a], "health-dept"),        # not a trading partner
                s.ship("pharmaco", "s1", [a], "wholesale"),          # a transfer, no sale
                s.ship("pharmaco", "s2", [b], "wholesale", sale="ts2"))
    assert codes(got) == ["FORBIDDEN", "FORBIDDEN", "BAD_ARGUMENTS", "CONFLICT", "VALID",
                          "VALID"], got
    assert "not in wholesale's possession" in got[0][1] and "pharmaco" not in got[0][1]
    assert s.item(a)["status"] == "in_transit" and s.item(a)["possessor"] == "pharmaco"
    got = s.run(s.ship("pharmaco", "s3", [a], "corner-pharmacy"),    # in transit already
                s.ship("wholesale", "s3", [a], "corner-pharmacy"),   # not received yet
                s.receive("corner-pharmacy", "r0", [a]),             # not its shipment
                s.receive("pharmaco", "r0", [a]),                    # the shipper
                s.receive("wholesale", "r1", [a]), s.receive("wholesale", "r2", [b]),
                s.receive("wholesale", "r3", [b]))                   # no longer in transit
    assert codes(got) == ["CONFLICT", "FORBIDDEN", "FORBIDDEN", "FORBIDDEN", "VALID", "VALID",
                          "FORBIDDEN"], got
    # possession moves on receipt; ownership only with a sale (SC5)
    assert (s.item(a)["possessor"], s.item(a)["owner"]) == ("wholesale", "pharmaco")
    assert (s.item(b)["possessor"], s.item(b)["owner"]) == ("wholesale", "wholesale")
    assert s.item(b)["parties"] == ["pharmaco", "wholesale"] and s.item(b)["sale"] is None
    # the sale's TransactionEvent is the shipper's record; nobody else may cite it
    sale = s.chain.ledger.state_value("supply/event/" + event("ts2")[14:78])
    assert (sale["org"], sale["action"]) == ("pharmaco", "sale")
    got = s.run(s.ship("wholesale", "s4", [b], "corner-pharmacy", sale="ts2"),
                s.ship("wholesale", "s5", [b], "corner-pharmacy", sale="s1"),
                s.ship("pharmaco", "s6", [a], "wholesale"))          # no longer its
    assert codes(got) == ["CONFLICT", "CONFLICT", "FORBIDDEN"], got


def test_packs_move_with_their_container_and_have_one_parent(s: Supply) -> None:
    packs = [pack(f"P{i}") for i in range(4)]
    box, other_box, pallet = case("1"), case("2"), case("3")
    agg = lambda org, name, parent, children, action="ADD": s.call(  # noqa: E731
        org, "aggregate", {"event": event(name), "parent": parent, "children": children,
                           "action": action})
    s.ok(s.commission("pharmaco", "c", packs))
    got = s.run(agg("wholesale", "a0", box, packs[:3]),             # not the possessor
                agg("pharmaco", "a1", box, packs[:3]),
                agg("pharmaco", "a2", other_box, packs[2:]),         # P2 is in box already
                agg("pharmaco", "a3", packs[3], [packs[2]]),         # a pack holds nothing
                agg("pharmaco", "a4", pallet, [box]),
                agg("pharmaco", "a5", box, [pallet]),                # box would hold itself
                agg("pharmaco", "a6", box, [packs[3]], "DELETE"))    # P3 is not in box
    assert codes(got) == ["FORBIDDEN", "VALID", "CONFLICT", "CONFLICT", "VALID", "CONFLICT",
                          "CONFLICT"], got
    assert s.item(box)["children"] == packs[:3] and s.item(box)["parent"] == pallet
    assert s.item(box)["kind"] == "container" and s.item(packs[0])["parent"] == box
    got = s.run(s.ship("pharmaco", "s0", [packs[0]], "wholesale"),  # inside a container
                s.ship("pharmaco", "s1", [pallet], "wholesale", sale="ts1"))
    assert codes(got) == ["CONFLICT", "VALID"], got
    assert {s.item(k)["status"] for k in [pallet, box, *packs[:3]]} == {"in_transit"}
    assert s.item(packs[3])["status"] == "active"
    s.ok(s.receive("wholesale", "r1", [pallet]))
    assert {(s.item(k)["possessor"], s.item(k)["owner"]) for k in [pallet, box, *packs[:3]]} \
        == {("wholesale", "wholesale")}
    got = s.run(agg("pharmaco", "u0", pallet, [box], "DELETE"),     # no longer pharmaco's
                agg("wholesale", "u1", pallet, [box], "DELETE"),
                agg("wholesale", "u2", box, packs[:1], "DELETE"))
    assert codes(got) == ["FORBIDDEN", "VALID", "VALID"], got
    assert s.item(packs[0])["parent"] is None and s.item(box)["children"] == packs[1:3]
    assert s.item(pallet)["children"] == [] and s.item(box)["parent"] is None


def test_a_pack_is_dispensed_once_by_a_pharmacy_that_possesses_it(s: Supply) -> None:
    a, b = at_pharmacy(s, "D1", "D2")
    dispense = lambda who, name, item: s.call(who, "dispense",  # noqa: E731
                                              {"event": event(name), "item": item})
    c = pack("D3")
    s.ok(s.commission("pharmaco", "c3", [c]))
    s.move([c], ("pharmaco", "wholesale"))
    got = s.run(dispense("other-pharmacy", "d0", a),         # a pharmacy without it
                dispense("wholesale", "d0", c),              # a distributor that possesses it
                dispense("pharmaco", "d0", a),               # its manufacturer
                dispense(ident("world-patient"), "d0", a),   # not a member
                dispense(s.admin["corner-pharmacy"], "d0", a),  # the pharmacy's admin
                dispense("corner-pharmacy", "d1", a),
                dispense("corner-pharmacy", "d2", a),        # twice
                dispense("corner-pharmacy", "d1", a))        # the same event again
    assert codes(got) == ["FORBIDDEN", "FORBIDDEN", "FORBIDDEN", "UNKNOWN_SIGNER", "FORBIDDEN",
                          "VALID", "CONFLICT", "VALID"], got
    assert "already dispensed" in got[6][1] and s.item(a)["status"] == "dispensed"
    # a pharmacist may dispense too; a dispensed pack moves no more
    pharmacist = ident("corner-pharmacist")
    s.ok(s.chain.tx(s.admin["corner-pharmacy"], "membership", "enrol", {
        "org": "corner-pharmacy", "member": pharmacist.did, "roles": ["pharmacist"]}))
    got = s.run(dispense(pharmacist, "d3", b), s.ship("corner-pharmacy", "s9", [a], "wholesale"))
    assert codes(got) == ["VALID", "CONFLICT"], got


def test_recalled_expired_and_suspect_packs_are_refused_at_the_counter(s: Supply) -> None:
    recalled = at_pharmacy(s, "R1")[0]
    short = pack("E1")
    s.ok(s.commission("pharmaco", "ce", [short], lot="SHORT", expiry=20251125))
    s.move([short], ("pharmaco", "wholesale"), ("wholesale", "corner-pharmacy"))
    suspect = at_pharmacy(s, "S1")[0]
    recall = {"gtin": GTIN, "lot": LOT, "reason": "contamination"}
    got = s.run(s.call("genericco", "recall", recall),           # another manufacturer
                s.call("corner-pharmacy", "recall", recall),     # a possessor
                s.call(s.admin["pharmaco"], "recall", recall),   # the brand owner's admin
                s.call(s.regulator, "recall", {**recall, "lot": "NOSUCH"}),
                s.call("pharmaco", "recall", recall),
                s.call(s.regulator, "recall", recall),           # already recalled
                s.call("corner-pharmacy", "report", {"event": event("rep"), "item": suspect,
                                                     "status": "suspect"}))
    assert codes(got) == ["FORBIDDEN"] * 3 + ["NOT_FOUND", "VALID", "CONFLICT", "VALID"], got
    block = s.chain.ledger.store
    assert block is not None
    lot = s.chain.ledger.state_value(f"supply/lot/{lot_id(GTIN, LOT)}")
    assert lot["recall"]["reason"] == "contamination" and lot["recall"]["org"] == "pharmaco"
    s.chain.time += 5 * 86_400_000  # past 25 November 2025
    assert block_date(s.chain.time) > 20251125
    got = s.run(*[s.call("corner-pharmacy", "dispense", {"event": event(f"d{i}"), "item": k})
                  for i, k in enumerate([recalled, short, suspect])])
    assert codes(got) == ["CONFLICT"] * 3, got
    assert "recalled lot" in got[0][1] and "expired" in got[1][1] and "suspect" in got[2][1]
    # nor may the lot be commissioned into again
    assert codes(s.run(s.commission("pharmaco", "c9", [pack("R9")]))) == ["CONFLICT"]


def test_recall_tells_every_party_by_the_lot_key(s: Supply) -> None:
    at_pharmacy(s, "T1")
    block = s.chain.commit(s.call(s.regulator, "recall", {"gtin": GTIN, "lot": LOT,
                                                           "reason": "mislabeling"}))
    (result,) = block.results
    assert result.events == [{"kind": "supply_recalled", "lot": lot_id(GTIN, LOT), "gtin": GTIN,
                              "owner": "pharmaco", "reason": "mislabeling"}]
    assert result.output["lot"] == lot_id(GTIN, LOT)


def test_a_suspect_investigation_is_due_in_24_hours_of_block_time(s: Supply) -> None:
    a, b = at_pharmacy(s, "Q1", "Q2")
    report = lambda who, name, item, status="suspect": s.call(  # noqa: E731
        who, "report", {"event": event(name), "item": item, "status": status})
    close = lambda who, item, finding, facts=None: s.call(  # noqa: E731
        who, "close_investigation", {"item": item, "finding": finding,
                                     **({"facts": facts} if facts else {})})
    got = s.run(report("wholesale", "q0", a),   # no longer possesses it
                report("corner-pharmacy", "q1", a), report("corner-pharmacy", "q2", b))
    assert codes(got) == ["FORBIDDEN", "VALID", "VALID"], got
    opened = s.chain.ledger.state_value(f"supply/investigation/{a}")
    assert opened["due"] == s.chain.time + INVESTIGATION_MS and opened["status"] == "open"
    assert s.item(a)["status"] == "suspect"
    got = s.run(close("corner-pharmacy", a, "cleared"),   # the reporter is no investigator
                close("genericco", a, "cleared"),         # another manufacturer
                close("wholesale", a, "cleared"),
                close(ident("world-patient"), a, "cleared"),
                close("pharmaco", a, "illegitimate"),      # illegitimate needs the facts
                close("pharmaco", a, "cleared", FACTS),    # cleared carries none
                close("pharmaco", a, "cleared"),
                close("pharmaco", a, "cleared"))           # closed already
    assert codes(got) == ["FORBIDDEN"] * 3 + ["UNKNOWN_SIGNER", "BAD_ARGUMENTS",
                                              "BAD_ARGUMENTS", "VALID", "CONFLICT"], got
    closed = s.chain.ledger.state_value(f"supply/investigation/{a}")
    assert closed["late"] is False and closed["finding"] == "cleared"
    assert s.item(a)["status"] == "active"  # saleable again
    # b's deadline passes in block time: its close is marked late
    s.chain.time = opened["due"] + 1000
    got = s.run(close(s.regulator, b, "illegitimate", FACTS),
                s.call("corner-pharmacy", "dispense", {"event": event("qd"), "item": b}),
                s.call("corner-pharmacy", "dispense", {"event": event("qa"), "item": a}))
    assert codes(got) == ["VALID", "CONFLICT", "VALID"], got
    closed = s.chain.ledger.state_value(f"supply/investigation/{b}")
    assert closed["late"] is True and closed["facts"] == FACTS
    assert s.item(b)["status"] == "illegitimate"
    # the one thing done to an illegitimate pack: its possessor destroys it
    got = s.run(s.call("corner-pharmacy", "ship", {"event": event("qs"), "items": [b],
                                                   "to": "wholesale"}),
                s.call("corner-pharmacy", "destroy", {"event": event("qx"), "items": [b]}))
    assert codes(got) == ["CONFLICT", "VALID"], got


def test_stolen_in_transit_and_terminal_statuses(s: Supply) -> None:
    a, b, c = pack("X1"), pack("X2"), pack("X3")
    s.ok(s.commission("pharmaco", "c", [a, b, c]),
         s.ship("pharmaco", "s", [a], "wholesale"))
    got = s.run(s.call("wholesale", "report", {"event": event("w"), "item": a,
                                               "status": "stolen"}),  # not its yet
                s.call("pharmaco", "report", {"event": event("p"), "item": a,
                                              "status": "stolen"}),
                s.call("wholesale", "decommission", {"event": event("d0"), "items": [b]}),
                s.call("pharmaco", "decommission", {"event": event("d1"), "items": [b]}),
                s.call("pharmaco", "destroy", {"event": event("x1"), "items": [c]}))
    assert codes(got) == ["FORBIDDEN", "VALID", "FORBIDDEN", "VALID", "VALID"], got
    assert [s.item(k)["status"] for k in (a, b, c)] == ["stolen", "decommissioned", "destroyed"]
    got = s.run(s.receive("wholesale", "r", [a]),
                s.ship("pharmaco", "s2", [b], "wholesale"),
                s.call("pharmaco", "destroy", {"event": event("x2"), "items": [b]}))
    assert codes(got) == ["CONFLICT", "CONFLICT", "CONFLICT"], got


def test_the_same_event_again_is_idempotent(s: Supply) -> None:
    a = pack("I1")
    first = s.ok(s.commission("pharmaco", "c", [a]))[0]
    state = supply_state(s)
    again = s.ok(s.commission("pharmaco", "c", [a]), s.commission("pharmaco", "c", [a]))
    assert again == [first, first] and supply_state(s) == state
    got = s.run(s.commission("pharmaco", "c", [pack("I2")]),             # other arguments
                s.call("pharmaco", "decommission", {"event": event("c"), "items": [a]}),
                s.commission("genericco", "c", [a]))                     # another org
    assert codes(got) == ["CONFLICT", "CONFLICT", "FORBIDDEN"], got
    assert "other arguments" in got[0][1] and "recorded as commission" in got[1][1]
    # a repeat needs no standing the first call needed: the pack has moved on since
    s.move([a], ("pharmaco", "wholesale"))
    assert s.ok(s.commission("pharmaco", "c", [a])) == [first]
    assert s.item(a)["possessor"] == "wholesale" and supply_state(s) != state


def test_a_recall_is_a_public_notice_in_the_order_made(s: Supply) -> None:
    """SC7: each recall adds one notice under supply/recall/, by height; a refused recall
    adds none, and nothing of who holds the lot's packs is in it."""
    at_pharmacy(s, "N1")
    s.ok(s.commission("genericco", "cg", [pack("G1", OTHER_GTIN)], gtin=OTHER_GTIN, lot="G-7"))
    first = s.chain.commit(s.call("pharmaco", "recall", {"gtin": GTIN, "lot": LOT,
                                                         "reason": "sterility"}))
    refused = s.run(s.call("genericco", "recall", {"gtin": GTIN, "lot": LOT,
                                                   "reason": "other"}))
    assert codes(refused) == ["FORBIDDEN"]
    second = s.chain.commit(s.call(s.regulator, "recall", {"gtin": OTHER_GTIN, "lot": "G-7",
                                                           "reason": "counterfeit"}))
    notices = s.chain.ledger.store.state_scan("supply/recall/", "", 10)
    assert [k for k, _, _ in notices] == [
        f"supply/recall/{first.header.height:016d}/{lot_id(GTIN, LOT)}",
        f"supply/recall/{second.header.height:016d}/{lot_id(OTHER_GTIN, 'G-7')}"]
    assert s.chain.ledger.state_value(notices[1][0]) == {
        "gtin": OTHER_GTIN, "lot": "G-7", "reason": "counterfeit", "owner": "genericco",
        "org": "health-dept", "height": second.header.height, "time": s.chain.time}
    assert all(b"wholesale" not in v and b"corner-pharmacy" not in v for _, v, _ in notices)
