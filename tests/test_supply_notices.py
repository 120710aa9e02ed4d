"""Recalls and suspect product through a real node (issue 16 item 6): the recall board, the
investigation view and its read rule, the CLI's recall and close signed with a key file,
and each organisation's notification stream, which never carries another company's
business."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from salus.client import SalusError
from salus.supply.contracts.layout import INVESTIGATION_MS, lot_id
from salus.supply.notices import notice
from supply_net import GTINS, Inbox, SupplyNet, running, salus, supply_inbox
from supply_world import GTIN, OTHER_GTIN, event, pack

FACTS = {"notification": "initial", "classification": "counterfeit",
         "product_type": "human_rx_drug", "dosage_form": "tablet", "reporter": "manufacturer",
         "determined": "2026-11-20", "quantity": 1}


@pytest.fixture
def net(tmp_path: Path) -> Iterator[SupplyNet]:
    with running(tmp_path) as net:
        yield net


def as_member(net: SupplyNet, who: str) -> dict[str, str]:
    with net.client(who) as c:
        return {"authorization": f"Bearer {c.token()}"}


# -- recalls ------------------------------------------------------------------------------
def test_a_recall_signed_by_the_cli_is_on_the_public_board(net: SupplyNet) -> None:
    net.commission("pharmaco", ["B1"], "LOT-B")
    net.commission("genericco", ["G1"], "LOT-G")
    recall = ["supply", "recall", "--gtin", GTIN, "--lot", "LOT-B", "--node", net.url]
    # another manufacturer, a possessor-to-be, and a key that is no member's: refused,
    # and nothing is written
    before = net.status_height()
    for who, code in (("genericco", "FORBIDDEN"), ("wholesale", "FORBIDDEN"),
                      ("stranger", "UNKNOWN_SIGNER")):
        out = salus(*recall, "--reason", "sterility", "-k", net.key_file(who), code=2)
        assert code in out, out
    out = salus(*recall, "--reason", "sterility,please", "-k", net.key_file("pharmaco"),
                code=2)
    assert "contamination" in out  # a code, from the list it names
    out = salus(*recall[:3], "09506000134353", *recall[4:], "--reason", "sterility",
                "-k", net.key_file("pharmaco"), code=1)
    assert "check digit" in out
    assert net.status_height() == before
    assert httpx.get(f"{net.url}/v1/supply/recalls").json() == {"recalls": [], "next": None}
    done = json.loads(salus(*recall, "--reason", "sterility", "-k", net.key_file("pharmaco")))
    assert done["lot"] == lot_id(GTIN, "LOT-B")
    # a regulator recalls any lot; the GTIN-13 form of genericco's GTIN is the same product
    with net.client("health-dept") as reg:
        reg.recall(OTHER_GTIN[1:], "LOT-G", "counterfeit")
    # the board: public, in the order recalled, nobody's holdings in it
    board = httpx.get(f"{net.url}/v1/supply/recalls").json()
    assert [(r["gtin"], r["lot"], r["reason"], r["owner"], r["org"])
            for r in board["recalls"]] == [
        (GTIN, "LOT-B", "sterility", "pharmaco", "pharmaco"),
        (OTHER_GTIN, "LOT-G", "counterfeit", "genericco", "health-dept")]
    assert board["recalls"][0]["lot_id"] == lot_id(GTIN, "LOT-B")
    page = httpx.get(f"{net.url}/v1/supply/recalls", params={"limit": 1}).json()
    rest = httpx.get(f"{net.url}/v1/supply/recalls",
                     params={"limit": 1, "after": page["next"]}).json()
    assert page["recalls"] + rest["recalls"] == board["recalls"]
    one = json.loads(salus("supply", "recalls", "--gtin", GTIN, "--lot", "LOT-B",
                           "--node", net.url))
    assert one["recalls"] == board["recalls"][:1]
    none = httpx.get(f"{net.url}/v1/supply/recalls", params={"gtin": GTIN, "lot": "LOT-Z"})
    assert none.json() == {"recalls": [], "next": None}
    for params, code in (({"gtin": "09506000134353", "lot": "L"}, "BAD_GTIN"),
                         ({"gtin": GTIN, "lot": "a lot"}, "BAD_LOT"),
                         ({"gtin": GTIN}, "BAD_REQUEST"),
                         ({"after": "'; drop table state"}, "BAD_REQUEST"),
                         ({"limit": 10**20}, "BAD_REQUEST")):
        r = httpx.get(f"{net.url}/v1/supply/recalls", params=params)
        assert (r.status_code, r.json()["error"]["code"]) == (400, code), (params, r.text)
    # and dispensing refuses it: the contract's rule, unchanged
    with net.client("pharmaco") as maker, pytest.raises(SalusError, match="recalled"):
        maker.call("supply", "commission", {
            "event": event("after recall"), "gtin": GTIN, "lot": "LOT-B", "expiry": 20271231,
            "items": [pack("B9")]})


# -- investigations -----------------------------------------------------------------------
def suspect_at_pharmacy(net: SupplyNet, serial: str, lot: str = "LOT-S") -> str:
    (item,) = net.commission("pharmaco", [serial], lot)
    net.move([item], "pharmaco", "wholesale")
    net.move([item], "wholesale", "corner-pharmacy")
    net.call("corner-pharmacy", "report", {"event": event(f"suspect {serial}"), "item": item,
                                           "status": "suspect"})
    return item


def test_an_investigation_is_read_by_its_opener_the_brand_owner_and_regulators(
        net: SupplyNet) -> None:
    item = suspect_at_pharmacy(net, "S1")
    (unreported,) = net.commission("pharmaco", ["S2"], "LOT-S")
    url = f"{net.url}/v1/supply/investigations/{item}"
    allowed = ("corner-pharmacy", "pharmacist", "pharmaco", "health-dept", "health-dept-admin")
    for who in allowed:
        r = httpx.get(url, headers=as_member(net, who))
        assert r.status_code == 200, (who, r.text)
        doc = r.json()
        assert doc["opened_by"] == "corner-pharmacy" and doc["status"] == "open"
        assert doc["overdue"] is False and doc["due"] == doc["time"] + INVESTIGATION_MS
    # a party that no longer holds it, others, another company's operator, an admin of
    # the brand owner (admins are supply staff), a nurse, a non-member, nobody
    for who in ("wholesale", "other-pharmacy", "genericco", "nurse", "st-mary-admin"):
        r = httpx.get(url, headers=as_member(net, who))
        assert (r.status_code, r.json()["error"]["code"]) == (403, "FORBIDDEN_READ"), who
    assert httpx.get(url).status_code == 401
    # whether an item has an investigation is as closed as the investigation: a non-party
    # is refused alike for a pack without one and for a key that is nothing
    for other in (unreported, "ab" * 32):
        r = httpx.get(f"{net.url}/v1/supply/investigations/{other}",
                      headers=as_member(net, "other-pharmacy"))
        assert r.status_code == 403, r.text
    r = httpx.get(f"{net.url}/v1/supply/investigations/{unreported}",
                  headers=as_member(net, "pharmaco"))
    assert (r.status_code, r.json()["error"]["code"]) == (404, "NOT_FOUND")
    for bad in ("AB" * 32, "ab" * 33, "..%2F..%2Fstate"):
        r = httpx.get(f"{net.url}/v1/supply/investigations/{bad}",
                      headers=as_member(net, "health-dept-admin"))
        assert r.status_code in (400, 404) and r.json()["error"]["code"] in (
            "BAD_ITEM", "NOT_FOUND"), (bad, r.text)
    # the SDK finds it by the pack's own identifier too (only the key is sent)
    with net.client("pharmaco") as maker:
        assert maker.investigation(f"(01){GTIN}(21)S1")["item"] == item


def test_only_the_brand_owner_or_a_regulator_closes_and_late_is_block_time(
        net: SupplyNet, tmp_path: Path) -> None:
    item = suspect_at_pharmacy(net, "L1")
    close = ["supply", "investigation", "close", f"(01){GTIN}(21)L1", "--node", net.url]
    # the pharmacy that reported it, and another manufacturer, may not close it
    for who in ("corner-pharmacy", "genericco"):
        out = salus(*close, "--finding", "cleared", "-k", net.key_file(who), code=2)
        assert "FORBIDDEN" in out
    facts = tmp_path / "form3911.json"
    facts.write_text(json.dumps(FACTS))
    # an illegitimate finding needs the Form 3911 facts, as codes
    out = salus(*close, "--finding", "illegitimate", "-k", net.key_file("pharmaco"), code=2)
    assert "BAD_ARGUMENTS" in out and "3911" in out
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**FACTS, "description": "a story, not a code"}))
    out = salus(*close, "--finding", "illegitimate", "--form3911", str(bad),
                "-k", net.key_file("pharmaco"), code=2)
    assert "BAD_ARGUMENTS" in out
    bad.write_text('{"quantity": 1, "quantity": 1000}')
    assert "duplicate" in salus(*close, "--finding", "illegitimate", "--form3911", str(bad),
                                "-k", net.key_file("pharmaco"), code=1)
    # the deadline passes in block time: a day and an hour later (from here on, clients
    # sign with the net's clock: the CLI's wall clock would now be refused as stale)
    net.clock.offset += INVESTIGATION_MS + 3_600_000
    net.call("pharmaco", "commission", {"event": event("a later block"), "gtin": GTIN,
                                        "lot": "LOT-T", "expiry": 20271231,
                                        "items": [pack("T1")]})
    with net.client("pharmaco") as maker:
        assert maker.investigation(item)["overdue"] is True
    with net.client("pharmaco") as maker:
        closed = maker.close_investigation(f"(01){GTIN}(21)L1", "illegitimate",
                                           json.loads(facts.read_text()))
        assert closed == {"item": item, "finding": "illegitimate", "late": True}
        doc = maker.investigation(item)
    assert doc["late"] is True and doc["overdue"] is False and doc["facts"] == FACTS


def test_the_cli_closes_an_investigation_on_time(net: SupplyNet, tmp_path: Path) -> None:
    item = suspect_at_pharmacy(net, "C1")
    facts = tmp_path / "form3911.json"
    facts.write_text(json.dumps(FACTS))
    closed = json.loads(salus("supply", "investigation", "close", item, "--finding",
                              "illegitimate", "--form3911", str(facts), "--node", net.url,
                              "-k", net.key_file("health-dept")))
    assert closed == {"item": item, "finding": "illegitimate", "late": False}
    shown = json.loads(salus("supply", "investigation", "show", item, "--node", net.url,
                             "-k", net.key_file("corner-pharmacy")))
    assert shown["finding"] == "illegitimate" and shown["closed_org"] == "health-dept"
    out = salus("supply", "investigation", "show", item, "--node", net.url,
                "-k", net.key_file("other-pharmacy"), code=1)
    assert "FORBIDDEN_READ" in out
    out = salus("supply", "investigation", "close", "not-an-item", "--finding", "cleared",
                "--node", net.url, "-k", net.key_file("pharmaco"), code=1)
    assert "not an item key" in out


# -- the notification stream ----------------------------------------------------------------
def listen(net: SupplyNet, who: str, sentinel: str) -> Inbox:
    """``who``'s stream, read until the recall of lot id ``sentinel``, which every trading
    organisation and regulator hears: what came before it is everything they heard."""
    return supply_inbox(net.client(who), lambda e: e["event"] == "supply_recalled"
                        and e["data"]["lot"] == sentinel)


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [e["event"] for e in events]


def test_each_organisation_hears_its_own_business_and_nothing_else(net: SupplyNet) -> None:
    packs = net.commission("pharmaco", ["N1", "N2", "N3", "N4"], "LOT-N")
    net.move(packs, "pharmaco", "wholesale")
    net.move(packs[:2], "wholesale", "corner-pharmacy")
    with net.client("wholesale") as w:  # one pack on its way to the corner pharmacy
        w.call("supply", "ship", {"event": event("ship N3"), "items": [packs[2]],
                                  "to": "corner-pharmacy"})
    net.commission("genericco", ["Z1"], "LOT-Z")
    sentinel = lot_id(OTHER_GTIN, "LOT-Z")
    who = ["pharmaco", "genericco", "wholesale", "corner-pharmacy", "other-pharmacy",
           "health-dept-admin", "health-dept", "pharmacist"]
    inbox = {w: listen(net, w, sentinel) for w in who}
    # the hospital's nurse holds no supply role: refused before the stream opens
    with net.client("nurse") as nurse, pytest.raises(SalusError) as refused:
        next(nurse.supply_events())
    assert refused.value.code == "FORBIDDEN_READ"
    r = httpx.get(f"{net.url}/v1/supply/events")
    assert r.status_code == 401
    # a suspect report, its investigation closed, the lot recalled; then the sentinel
    net.call("corner-pharmacy", "report", {"event": event("suspect N1"), "item": packs[0],
                                           "status": "suspect"})
    net.call("pharmaco", "close_investigation", {"item": packs[0], "finding": "cleared"})
    net.call("pharmaco", "recall", {"gtin": GTIN, "lot": "LOT-N", "reason": "potency"})
    net.call("health-dept", "recall", {"gtin": OTHER_GTIN, "lot": "LOT-Z",
                                       "reason": "counterfeit"})
    got = {w: inbox[w].got() for w in who}
    everyone = ["supply_recalled", "supply_recalled"]
    assert kinds(got["pharmaco"]) == ["supply_reported", "supply_investigation_closed",
                                      *everyone]
    assert kinds(got["corner-pharmacy"]) == kinds(got["pharmacist"]) == kinds(got["pharmaco"])
    assert kinds(got["wholesale"]) == ["supply_investigation_closed", *everyone]  # a party
    assert kinds(got["health-dept"]) == kinds(got["health-dept-admin"]) == kinds(got["pharmaco"])
    # a non-party hears the public notices and nothing of anyone's investigations
    assert kinds(got["other-pharmacy"]) == kinds(got["genericco"]) == everyone

    reported = got["pharmaco"][0]["data"]
    assert reported["item"] == packs[0] and reported["org"] == "corner-pharmacy"
    assert reported["due"] - INVESTIGATION_MS > 0 and reported["brand_owner"] == "pharmaco"
    closed = got["wholesale"][0]["data"]
    assert closed == {"item": packs[0], "finding": "cleared", "late": False,
                      "height": closed["height"]}  # never the list of parties
    # each holder is told its own holdings of the recalled lot, and only its own
    recall = {w: got[w][-2]["data"] for w in who}
    assert {w: (r["packs"], r["shipped"], r["incoming"]) for w, r in recall.items()
            if w != "health-dept-admin"} == {
        "pharmaco": (0, 0, 0), "genericco": (0, 0, 0), "wholesale": (1, 1, 0),
        "corner-pharmacy": (2, 0, 1), "pharmacist": (2, 0, 1), "other-pharmacy": (0, 0, 0),
        "health-dept": (0, 0, 0)}
    assert recall["pharmaco"]["lot_number"] == "LOT-N" and recall["pharmaco"]["gtin"] == GTIN
    assert recall["pharmaco"]["recalled_by"] == "pharmaco"
    for w in ("pharmaco", "genericco", "wholesale", "corner-pharmacy", "other-pharmacy"):
        assert "holders" not in recall[w]
        text = json.dumps(got[w])
        # a non-party's stream names no trading partner of the lot at all
        if w in ("genericco", "other-pharmacy"):
            assert "wholesale" not in text and "corner-pharmacy" not in text, text
    # a regulator sees every holder
    assert recall["health-dept-admin"]["holders"] == {
        "wholesale": {"packs": 1, "shipped": 1, "incoming": 0},
        "corner-pharmacy": {"packs": 2, "shipped": 0, "incoming": 1}}


def test_a_member_whose_role_ends_hears_no_more(net: SupplyNet) -> None:
    net.commission("genericco", ["R1"], "LOT-R")
    inbox = supply_inbox(net.client("pharmacist"), lambda e: e["event"] == "closed")
    with net.client("corner-pharmacy-admin") as admin:
        admin.call("membership", "revoke_roles", {"member": net.people["pharmacist"].did,
                                                  "roles": ["pharmacist"]})
    net.call("genericco", "recall", {"gtin": OTHER_GTIN, "lot": "LOT-R", "reason": "other"})
    got = inbox.got()
    assert kinds(got) == ["closed"] and got[0]["data"]["code"] == "FORBIDDEN_READ"
    assert GTINS["genericco"] not in json.dumps(got)


def test_who_is_told_what_of_each_event() -> None:
    """salus.supply.notices.notice, event by event: a container has no brand owner (only
    its reporter and regulators hear of it), and what is not a supply notice is nobody's."""
    container = {"kind": "supply_reported", "event": event("c"), "item": "ab" * 32,
                 "status": "stolen", "org": "wholesale", "brand_owner": None, "due": None}
    assert notice(container, "wholesale", False)["status"] == "stolen"
    assert notice(container, "pharmaco", False) is None
    assert notice(container, "health-dept", True) == {k: v for k, v in container.items()
                                                      if k != "kind"}
    closed = {"kind": "supply_investigation_closed", "item": "cd" * 32, "finding": "cleared",
              "late": True, "parties": ["pharmaco", "wholesale"]}
    assert notice(closed, "wholesale", False) == {"item": "cd" * 32, "finding": "cleared",
                                                  "late": True}
    assert notice(closed, "corner-pharmacy", False) is None
    for kind in ("supply_shipped", "supply_dispensed", "access", "supply_footprint_attached"):
        assert notice({"kind": kind, "org": "wholesale", "to": "wholesale"}, "wholesale",
                      True) is None
