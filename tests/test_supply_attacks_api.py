"""Red team of the supply application through a real node (issue 16): capture and the
chain of custody, against trading partners using what they are allowed to send."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from salus.clock import iso_from_ms
from salus.supply import epcis_events as ev
from supply_site import GTIN, LOT, Site, life, now_ms, pack, place, supply_site


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    with supply_site(tmp_path_factory.mktemp("supply-attacks")) as s:
        yield s


def _events(answer: dict) -> list[dict]:
    return answer["epcisBody"]["queryResults"]["resultsBody"]["eventList"]


def test_a_stranger_cannot_plant_events_in_another_companys_chain_of_custody(site: Site
                                                                               ) -> None:
    """An event the ledger only records (``observe``: a retail sale, a disposal, an
    inspection) checks no item, so a company that never had a pack could capture one
    naming it, and the pack's real parties would be shown it in the pack's events and
    chain of custody as if it were part of it. R-S2: another organisation's event is
    shown to a party only if the organisation that captured it is a party too."""
    t = now_ms()
    with site.client("meridian-operator") as maker:
        assert maker.capture(ev.document(life(["PLANT1"], 41, t), t))["success"]
    planted = {"type": "ObjectEvent", "eventTime": iso_from_ms(t + 5000),
               "eventTimeZoneOffset": "+00:00", "action": "OBSERVE",
               "bizStep": "retail_selling", "disposition": "retail_sold",
               "epcList": [pack("PLANT1")], "readPoint": {"id": place("riverside")}}
    with site.client("riverside-operator") as stranger:
        job = stranger.capture(ev.document([planted], t))
        assert job["success"], job  # recorded on the ledger as riverside's observation
        # riverside reads its own event, as R-S1 says
        assert [e["bizStep"] for e in _events(stranger.epcis_events())] == ["retail_selling"]
    with site.client("meridian-operator") as maker:
        shown = [e.get("bizStep") for e in _events(maker.item_events(pack("PLANT1")))]
        trace = maker.trace(pack("PLANT1"))
    assert "retail_selling" not in shown, shown
    assert shown == ["commissioning", "packing"], shown
    assert {e["org"] for e in trace["events"]} == {"meridian"}, trace["events"]
    # a regulator reads everything, each event with who captured it (R-S3)
    with site.client("fda-operator") as regulator:
        full = regulator.trace(pack("PLANT1"))
    assert ("riverside", "retail_selling") in [(e["org"], e["event"].get("bizStep"))
                                              for e in full["events"]]



def test_a_document_past_the_capture_limit_is_refused_before_it_is_validated(site: Site
                                                                            ) -> None:
    """A supply operator's document of 10,000 events (what the document reader takes)
    cost about 2 s of a worker's validation and hashing before capture refused it for
    having more than the 500 events it advertises. Counted first now: 413 whatever the
    events are, before the schema sees them, and nothing kept, not even a job."""
    limit = int(httpx.options(f"{site.url}/epcis/capture").headers["GS1-EPCIS-Capture-Limit"])
    t = now_ms()
    with site.client("corner-operator") as pharmacy:
        headers = {"Authorization": f"Bearer {pharmacy.token()}"}
    jobs = lambda: httpx.get(f"{site.url}/epcis/capture", headers=headers).json()  # noqa: E731
    before = jobs()
    headers["Content-Type"] = "application/ld+json"
    junk = ev.document([{}] * (limit + 1), t)  # not even events: the count comes first
    resp = httpx.post(f"{site.url}/epcis/capture", json=junk, headers=headers)
    assert (resp.status_code, resp.json()["code"]) == (413, "CAPTURE_TOO_LARGE")
    assert "errors" not in resp.json()  # no schema reasons: it was never validated
    many = [ev.receiving([pack(f"MANY{i}")], t + i, place("corner")) for i in range(10_000)]
    resp = httpx.post(f"{site.url}/epcis/capture", content=json.dumps(ev.document(many, t)),
                      headers=headers, timeout=60)
    assert (resp.status_code, resp.json()["code"]) == (413, "CAPTURE_TOO_LARGE")
    assert jobs() == before


def test_no_answer_tells_a_stranger_whether_a_pack_or_lot_exists(site: Site) -> None:
    """An existence oracle: a company that never had a pack asks about it, and about a
    pack that was never made, through every read that takes an identifier; each answer is
    the same, byte for byte (the recall board likewise for a lot never recalled and a lot
    never made)."""
    t = now_ms()
    with site.client("meridian-operator") as maker:
        assert maker.capture(ev.document(life(["ORC1"], 51, t), t))["success"]
    with site.client("riverside-operator") as stranger:
        headers = {"Authorization": f"Bearer {stranger.token()}"}

    def ask(epc: str) -> list[tuple[int, bytes]]:
        out = []
        for path, params in (("/v1/supply/trace", {"item": epc}),
                             ("/v1/supply/impact", {"item": epc}),
                             (f"/epcis/epcs/{quote(epc, safe='')}/events", {})):
            resp = httpx.get(site.url + path, params=params, headers=headers)
            body = resp.json()
            body.pop("creationDate", None)  # the query document's own time
            out.append((resp.status_code, body))
        return out

    real, never = ask(pack("ORC1")), ask(pack("ORC-NEVER"))
    assert real == never, (real, never)
    assert [status for status, _ in real] == [403, 403, 200]
    board = lambda lot: httpx.get(f"{site.url}/v1/supply/recalls",  # noqa: E731
                                  params={"gtin": GTIN, "lot": lot}).json()
    assert board(LOT) == board("LOT-NEVER") == {"recalls": [], "next": None}
