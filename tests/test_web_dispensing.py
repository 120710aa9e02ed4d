"""The counter page's dispensing event (js/dispensing.js, run in Node) is the one the
Python side writes (salus.supply.epcis_events: `dispensing`, `document`): GS1's schema
accepts it, it maps to one `dispense` step of the pack the scan named (its item key, the
serial escaped as Digital Link escapes it), and its time carries the browser's offset."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from node_cases import run_cases
from salus.supply import epcis_events as ev
from salus.supply.capture_plan import plan
from salus.supply.contracts.layout import item_key
from salus.supply.document import read_document
from salus.supply.event_hash import document_hashes
from salus.supply.identifiers import Identity, Kind, parse

RUNNER = Path(__file__).parent / "js" / "dispensing_cases.mjs"
GTIN = "09521234001010"
#: Serials of GS1's character set 82, with what a URL must escape.
SERIALS = ["ZC0PFEFPJNOW", "A/B%C&D?E", "x!y'z(1)*2", "S+P,Q;R:=<>\"_-."]
T = 1_795_000_000_123  # 2026-11-18T..., milliseconds


def cases(time_ms: int = T) -> list[dict[str, Any]]:
    return [{"identity": {"gtin": GTIN, "serial": s, "lot": "L1", "expiry": "2028-11-30"},
             "time_ms": time_ms} for s in SERIALS]


def test_the_page_writes_the_event_the_python_side_writes() -> None:
    got = run_cases(RUNNER, cases(), tz="UTC")
    for serial, out in zip(SERIALS, got, strict=True):
        pack = Identity(Kind.SGTIN, gtin=GTIN, serial=serial)
        assert out["link"] == pack.digital_link
        # the same document as epcis_events writes, but for the readPoint the page
        # does not know (optional in EPCIS)
        expected = ev.document([ev.dispensing(pack.digital_link, T, "unused")], T)
        del expected["epcisBody"]["eventList"][0]["readPoint"]
        assert out["document"] == expected
        document = read_document(json.dumps(out["document"]))  # GS1's schema accepts it
        hashes = document_hashes(document)
        steps = plan(document["epcisBody"]["eventList"], hashes, lambda gln: None)
        assert steps == [{"method": "dispense", "event": hashes[0], "item": item_key(pack)}]
        assert parse(out["link"]) == pack


@pytest.mark.parametrize(("tz", "offset"), [("Asia/Kolkata", "+05:30"),
                                            ("America/St_Johns", "-03:30"),
                                            ("Pacific/Chatham", "+13:45")])
def test_the_event_time_carries_the_browsers_offset(tz: str, offset: str) -> None:
    # 18 November: Newfoundland on standard time, Chatham on daylight time
    (out,) = run_cases(RUNNER, cases()[:1], tz=tz)
    event = out["document"]["epcisBody"]["eventList"][0]
    assert event["eventTimeZoneOffset"] == offset
    at = datetime.fromisoformat(event["eventTime"])
    assert at == datetime.fromtimestamp(T / 1000, UTC)  # the instant, in UTC
    sign = 1 if offset[0] == "+" else -1
    assert at.astimezone(ZoneInfo(tz)).utcoffset() == sign * timedelta(
        hours=int(offset[1:3]), minutes=int(offset[4:]))  # the zone's own offset then
    read_document(json.dumps(out["document"]))


def test_the_page_refuses_to_name_what_is_not_a_pack() -> None:
    out = run_cases(RUNNER, [{"identity": {"gtin": "123", "serial": "S"}, "time_ms": T},
                             {"identity": {"gtin": GTIN, "serial": ""}, "time_ms": T},
                             {"identity": {"gtin": GTIN}, "time_ms": T}])
    assert [o.get("error") for o in out] == ["a pack has a GTIN-14 and a serial"] * 3
