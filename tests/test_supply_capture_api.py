"""POST /epcis/capture and the queries, on a real node (issue 16 items 2, 3, 7): a
document is captured whole or not at all, nothing of a refused one is kept anywhere, the
same document twice is one capture, and each organisation reads only what it may."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

import httpx
import pytest

from salus.client import SalusError
from salus.supply import epcis_events as ev
from salus.supply.event_hash import document_hashes
from supply_site import (
    GLNS,
    Site,
    case,
    life,
    now_ms,
    pack,
    party,
    place,
    supply_site,
)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    with supply_site(tmp_path_factory.mktemp("supply-site")) as s:
        yield s


def on_ledger(site: Site, epc: str) -> bool:
    with site.client("fda-operator") as regulator:
        try:
            regulator.trace(epc)
        except SalusError as exc:
            assert exc.status == 404, exc
            return False
    return True


def test_a_pack_travels_from_manufacturer_to_patient_through_capture(site: Site) -> None:
    t = now_ms()
    doc = ev.document(life(["E1", "E2", "E3"], 1, t), t)
    with site.client("meridian-operator") as maker:
        job = maker.capture(doc)
    assert job["success"] is True and job["eventCount"] == 4, job
    assert job["eventHashes"] == document_hashes(doc)
    with site.client("northway-operator") as dist:
        got = dist.capture(ev.document([
            ev.receiving([case(1)], t + 4000, place("northway")),
            ev.unpacking(case(1), [pack("E1")], t + 5000, place("northway")),
            ev.shipping([pack("E1")], t + 6000, source=party("northway"),
                        destination=party("corner"), place=place("northway"),
                        transactions=[("po", "urn:x:po-E1")]),
            ev.sale([pack("E1")], t + 6000, source=party("northway"),
                    destination=party("corner"), transactions=[("po", "urn:x:po-E1")])], t))
        assert got["success"], got
    with site.client("corner-operator") as pharmacy:
        assert pharmacy.capture(ev.document([
            ev.receiving([pack("E1")], t + 7000, place("corner")),
            ev.dispensing(pack("E1"), t + 8000, place("corner"))], t))["success"]
        trace = pharmacy.trace(pack("E1"))
    assert trace["state"]["status"] == "dispensed"
    assert trace["state"]["owner"] == "corner"  # two sales moved ownership
    steps = [(e["org"], e["event"]["type"], e["event"].get("bizStep")) for e in trace["events"]]
    # the pharmacy sees the events of its pack, each checked against the ledger: its own,
    # and the distributor's shipment and sale to it (the DSCSA transaction information);
    # never the manufacturer's commissioning or packing, which name packs that went
    # elsewhere (R-S2)
    assert steps == [("northway", "ObjectEvent", "shipping"),
                     ("northway", "TransactionEvent", "shipping"),
                     ("corner", "ObjectEvent", "receiving"),
                     ("corner", "ObjectEvent", "dispensing")], steps
    assert all(e["on_ledger"] for e in trace["events"])
    with site.client("fda-operator") as regulator:
        full = regulator.trace(pack("E1"))
    assert [e["event"].get("bizStep") for e in full["events"]] == [
        "commissioning", "packing", "shipping", "shipping", "receiving", "unpacking",
        "shipping", "shipping", "receiving", "dispensing"][:len(full["events"])]
    assert {e["org"] for e in full["events"]} == {"meridian", "northway", "corner"}


def test_a_refused_document_keeps_nothing_anywhere(site: Site) -> None:
    t = now_ms()
    with site.client("corner-operator") as pharmacy:
        before = pharmacy.epcis_events()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        # the pharmacy cannot commission the manufacturer's GTIN: the ledger refuses the
        # whole document, so the valid receiving event in it is not kept either
        doc = ev.document([ev.commissioning([pack("X1")], "LOT-X", date(2030, 1, 31), t,
                                            place("corner")),
                           ev.receiving([pack("X1")], t + 1, place("corner"))], t)
        job = pharmacy.capture(doc)
        assert job["success"] is False and job["errors"][0]["code"] == "FORBIDDEN", job
        assert "step 0 (commission)" in job["errors"][0]["reason"]
        after = pharmacy.epcis_events()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        assert after == before
        assert pharmacy.capture_job(job["captureID"])["success"] is False
    assert not on_ledger(site, pack("X1"))


def test_an_invalid_document_is_refused_with_every_reason(site: Site) -> None:
    t = now_ms()
    bad = ev.document([{**ev.receiving([pack("Z1")], t, place("corner")), "action": "JUMP"},
                       {**ev.receiving([pack("Z2")], t, place("corner")), "eventTime": "soon"}],
                      t)
    with site.client("corner-operator") as pharmacy, pytest.raises(SalusError) as refused:
        pharmacy.capture(bad)
    assert refused.value.status == 400 and refused.value.code == "INVALID_DOCUMENT"
    assert len(refused.value.problems) >= 2
    assert any("JUMP" in p for p in refused.value.problems)
    assert any("eventList[1].eventTime" in p for p in refused.value.problems)


def test_what_the_ledger_cannot_take_is_refused_naming_each_event(site: Site) -> None:
    t = now_ms()
    no_lot = ev.commissioning([pack("L1")], "L", date(2030, 1, 31), t, place("meridian"))
    del no_lot["ilmd"]
    unknown = ev.shipping([pack("L1")], t, source=party("meridian"),
                          destination=ev.pgln("9506000999993", 7), place=place("meridian"))
    with site.client("meridian-operator") as maker, pytest.raises(SalusError) as refused:
        maker.capture(ev.document([no_lot, unknown], t))
    assert refused.value.code == "NOT_CAPTURABLE"
    assert [p.split(":")[0] for p in refused.value.problems] == [
        "event 0 (ObjectEvent)", "event 1 (ObjectEvent)"], refused.value.problems
    assert "lot and expiry" in refused.value.problems[0]
    assert "no registered party" in refused.value.problems[1]


def test_the_same_document_twice_however_serialised_is_one_capture(site: Site) -> None:
    t = now_ms()
    doc = ev.document(life(["D1", "D2"], 2, t), t)
    with site.client("meridian-operator") as maker:
        first = maker.capture(doc)
        again = maker.capture(json.dumps(doc, indent=3, sort_keys=True).encode())
        assert first["success"] and again["success"], again
        assert first["eventHashes"] == again["eventHashes"]
        found = maker.epcis_events(biz_steps=["urn:epcglobal:cbv:bizstep:commissioning"],
                                   per_page=1000)
    hashes = [e for e in found["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
              if pack("D1") in e.get("epcList", [])]
    assert len(hashes) == 1


def test_only_an_operator_of_a_hosted_trading_organisation_captures(site: Site) -> None:
    t = now_ms()
    doc = ev.document([ev.receiving([pack("Q1")], t, place("corner"))], t)
    # a regulator's admin, no supply role
    with site.client("fda-operator") as regulator, pytest.raises(SalusError) as refused:
        regulator.capture(doc)
    assert refused.value.status == 403
    resp = httpx.post(f"{site.url}/epcis/capture", json=doc)
    assert resp.status_code == 401
    assert resp.headers["content-type"].startswith("application/problem+json")


def test_a_partner_reads_only_events_whose_every_item_it_had(site: Site) -> None:
    t = now_ms()
    with site.client("meridian-operator") as maker:
        maker.capture(ev.document(life(["P1", "P2"], 3, t), t))
    with site.client("riverside-operator") as stranger:
        got = stranger.item_events(pack("P1"))
        assert got["epcisBody"]["queryResults"]["resultsBody"]["eventList"] == []
        with pytest.raises(SalusError) as refused:
            stranger.trace(pack("P1"))
        assert refused.value.status == 403
        with pytest.raises(SalusError) as refused:
            stranger.epcis_events(org="meridian")
        assert refused.value.status == 403
    with site.client("northway-operator") as dist:  # the case is shipped to it, not received
        got = dist.item_events(case(3))
        kinds = [e["bizStep"] for e in
                 got["epcisBody"]["queryResults"]["resultsBody"]["eventList"]]
        assert kinds == [], kinds  # in transit: not yet a party


def test_capture_discovery_and_limits(site: Site) -> None:
    resp = httpx.options(f"{site.url}/epcis/capture")
    assert resp.status_code == 204
    assert resp.headers["GS1-Capture-Error-Behaviour"] == "rollback"
    assert int(resp.headers["GS1-EPCIS-Capture-Limit"]) > 0
    with site.client("corner-operator") as pharmacy:
        token = pharmacy.token()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/ld+json"}
    resp = httpx.post(f"{site.url}/epcis/capture", content=b"{}",
                      headers={**headers, "GS1-Capture-Error-Behaviour": "proceed"})
    assert resp.status_code == 400 and resp.json()["code"] == "UNSUPPORTED_BEHAVIOUR"
    resp = httpx.post(f"{site.url}/epcis/capture", content=b"{}",
                      headers={**headers, "Content-Type": "text/plain"})
    assert resp.status_code == 415
    deep = b"[" * 100_000 + b"]" * 100_000
    resp = httpx.post(f"{site.url}/epcis/capture", content=deep, headers=headers)
    assert resp.status_code == 400 and resp.json()["code"] == "INVALID_DOCUMENT"
    assert GLNS  # the world's GLNs are registered


def test_the_cli_captures_and_traces(site: Site, tmp_path) -> None:
    from typer.testing import CliRunner

    from salus.cli.main import app

    runner = CliRunner()
    t = now_ms()
    doc = tmp_path / "doc.jsonld"
    doc.write_text(json.dumps(ev.document(life(["C1"], 4, t), t)))
    key = str(site.data / "keys" / "meridian-operator.key")
    got = runner.invoke(app, ["supply", "capture", str(doc), "-k", key, "--node", site.url,
                              "--field", "success"])
    assert got.exit_code == 0 and got.stdout.strip() == "true", got.output
    hashes = runner.invoke(app, ["supply", "hash", str(doc)])
    traced = runner.invoke(app, ["supply", "trace", pack("C1"), "-k", key, "--node", site.url,
                                 "--field", "events.hash"])
    assert traced.exit_code == 0, traced.output
    assert set(traced.stdout.split()) <= set(hashes.stdout.split())
    assert len(traced.stdout.split()) == 4  # commissioning, packing, the case's sale and shipment
    bad = tmp_path / "bad.jsonld"
    bad.write_text(json.dumps({**json.loads(doc.read_text()), "schemaVersion": 2}))
    refused = runner.invoke(app, ["supply", "capture", str(bad), "-k", key, "--node", site.url])
    assert refused.exit_code == 1 and "INVALID_DOCUMENT" in refused.output
    assert "$.schemaVersion" in refused.output
    forbidden = runner.invoke(app, ["supply", "capture", str(doc), "-k",
                                    str(site.data / "keys" / "corner-operator.key"),
                                    "--node", site.url])
    assert forbidden.exit_code == 2 and "FORBIDDEN" in forbidden.output


def test_an_error_declaration_corrects_an_event_without_deleting_it(site: Site) -> None:
    t = now_ms()
    seen = ev.receiving([pack("W1")], t, place("meridian"))
    seen["bizStep"] = "inspecting"  # an observation: no effect on any pack
    with site.client("meridian-operator") as maker:
        maker.capture(ev.document(life(["W1"], 5, t), t))
        first = maker.capture(ev.document([seen], t))
        declared = {**seen, "errorDeclaration": {
            "declarationTime": "2026-11-28T12:00:00.000Z", "reason": "incorrect_data"}}
        again = maker.capture(ev.document([declared], t))
        assert again["success"] and again["eventHashes"] == first["eventHashes"]
        found = maker.epcis_events(biz_steps=["inspecting"], per_page=1000)
    shown = [e for e in found["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
             if pack("W1") in e.get("epcList", [])]
    assert len(shown) == 1 and shown[0]["errorDeclaration"]["reason"] == "incorrect_data"
    with site.client("fda-operator") as regulator:
        trace = regulator.trace(pack("W1"))
    (entry,) = [e for e in trace["events"] if e["hash"] == first["eventHashes"][0]]
    assert entry["ledger"]["action"] == "observe"
    assert entry["ledger"]["error"]["reason"] == "incorrect_data"
    # only the organisation that recorded it declares it in error
    with site.client("northway-operator") as other:
        job = other.capture(ev.document([declared], t))
    assert job["success"] is False and job["errors"][0]["code"] == "FORBIDDEN"
