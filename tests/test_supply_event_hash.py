"""salus.supply.event_hash: the CBV 2.0 §8.9 canonical event hash."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salus.canonical import loads_strict
from salus.supply.event_hash import (
    EventHashError,
    document_events,
    document_hashes,
    event_hash,
    normalise_time,
    prehash,
)

VECTORS = Path(__file__).parent / "fixtures" / "epcis" / "event-hash"
VECTOR_FILES = sorted(VECTORS.glob("*.jsonld"))


def _load(path: Path) -> dict[str, Any]:
    return loads_strict(path.read_bytes(), decimals=True)


def test_there_are_three_vector_sets() -> None:
    assert [p.stem for p in VECTOR_FILES] == [
        "ReferenceEventHashAlgorithm", "ReferenceEventHashAlgorithm2", "TimeStampRoundOff"]


@pytest.mark.parametrize("path", VECTOR_FILES, ids=lambda p: p.stem)
def test_pre_hash_strings_reproduce(path: Path) -> None:
    doc = _load(path)
    expected = [line.strip() for line in path.with_suffix(".prehashes").read_text().splitlines()
                if line.strip()]
    got = [prehash(event, [doc["@context"]]) for event in document_events(doc)]
    assert len(got) == len(expected)
    for mine, theirs in zip(got, expected, strict=True):
        assert mine == theirs  # compared first: a mismatch shows where the strings part


@pytest.mark.parametrize("path", VECTOR_FILES, ids=lambda p: p.stem)
def test_hashes_reproduce(path: Path) -> None:
    expected = path.with_suffix(".hashes").read_text().split()
    assert document_hashes(_load(path)) == expected


# -- the same event, however re-serialised ---------------------------------------------------
def _vector_events() -> list[tuple[dict[str, Any], Any, str]]:
    out = []
    for path in VECTOR_FILES:
        doc = _load(path)
        hashes = path.with_suffix(".hashes").read_text().split()
        for event, expected in zip(document_events(doc), hashes, strict=True):
            out.append((event, doc["@context"], expected))
    return out


EVENTS = _vector_events()

_VOCAB_FORMS = {  # bare JSON-LD term -> the same value as a Web URI and as a CBV URN
    "bizStep": ("https://ref.gs1.org/cbv/BizStep-{}", "urn:epcglobal:cbv:bizstep:{}"),
    "disposition": ("https://ref.gs1.org/cbv/Disp-{}", "urn:epcglobal:cbv:disp:{}"),
}
_URN_TO_LINK = {
    "urn:epc:id:sscc:4012345.0000000333": "https://id.gs1.org/00/040123450000003338",
    "urn:epc:id:sgtin:4012345.011111.9876": "https://example.com/01/04012345111118/21/9876?x=1",
    "urn:epc:id:sgln:4012345.00011.987": "https://id.gs1.org/414/4012345000115/254/987",
    "urn:epc:id:sgln:4012345.00005.0": "https://loc.example.org/414/4012345000054",
    "https://id.gs1.de/00/040123451111111110": "urn:epc:id:sscc:401234511.01111111",
    "https://id.gs1.de/414/4012345000115": "urn:epc:id:sgln:4012345.00011.0",
}


def _shuffle(value: Any, draw: st.DataObject) -> Any:
    """Same JSON, members and list items in another order (every EPCIS list is a set)."""
    if isinstance(value, dict):
        keys = draw.draw(st.permutations(list(value)))
        return {k: _shuffle(value[k], draw) for k in keys}
    if isinstance(value, list):
        return [_shuffle(v, draw) for v in draw.draw(st.permutations(value))]
    return value


def _respell(event: dict[str, Any], draw: st.DataObject) -> dict[str, Any]:
    """Spellings CBV 2.0 §8.9 makes equal: other offsets for the same instant, padded
    fractions, whitespace around values, URI vs URN vs bare vocabulary, EPC URN vs
    Digital Link, 1 vs 1.0, and the fields the hash leaves out."""
    event = copy.deepcopy(event)
    if draw.draw(st.booleans(), label="shift offset"):
        utc = datetime.fromisoformat(normalise_time(event["eventTime"]).replace("Z", "+00:00"))
        local = utc.astimezone(timezone(timedelta(minutes=draw.draw(st.integers(-720, 840)))))
        zeros = draw.draw(st.sampled_from(["", "0", "000000"]), label="padding digits")
        offset = local.strftime("%z")
        event["eventTime"] = (local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}"
                              + zeros + offset[:3] + ":" + offset[3:])
    for key, (web, urn) in _VOCAB_FORMS.items():
        if key in event:
            form = draw.draw(st.sampled_from(["bare", "web", "urn"]), label=key)
            if form != "bare":
                event[key] = (web if form == "web" else urn).format(event[key])
    if "epcList" in event:
        event["epcList"] = [_URN_TO_LINK.get(e, e) if draw.draw(st.booleans()) else e
                            for e in event["epcList"]]
    if "readPoint" in event and draw.draw(st.booleans(), label="readPoint form"):
        event["readPoint"]["id"] = _URN_TO_LINK.get(event["readPoint"]["id"], event["readPoint"]["id"])
    if draw.draw(st.booleans(), label="padding"):
        event["action"] = "  " + event["action"] + "\n"
    for report in [r for el in event.get("sensorElementList", []) for r in el.get("sensorReport", [])]:
        if isinstance(report.get("value"), int) and draw.draw(st.booleans()):
            report["value"] = float(report["value"])         # 26 and 26.0
    if draw.draw(st.booleans(), label="extras"):
        event["eventID"] = "urn:uuid:6d0b2b7e-0000-4000-8000-000000000001"
        event["recordTime"] = "2030-01-01T00:00:00Z"
        event["rdfs:comment"] = "a comment is not part of the event"
    return event


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), which=st.integers(0, len(EVENTS) - 1))
def test_the_same_event_however_re_serialised_hashes_the_same(data: st.DataObject, which: int) -> None:
    event, context, expected = EVENTS[which]
    again = _shuffle(_respell(event, data), data)
    indent = data.draw(st.sampled_from([None, 0, 2, "\t"]), label="indent")
    wire = json.dumps({"@context": context, "type": "EPCISDocument", "schemaVersion": "2.0",
                       "creationDate": "2030-01-01T00:00:00Z",
                       "epcisBody": {"eventList": [again]}}, indent=indent)
    assert document_hashes(loads_strict(wire, decimals=True)) == [expected]


@settings(max_examples=80, deadline=None)
@given(data=st.data(), which=st.integers(0, len(EVENTS) - 1))
def test_any_change_of_a_value_changes_the_hash(data: st.DataObject, which: int) -> None:
    event, context, expected = EVENTS[which]
    changed = copy.deepcopy(event)
    # every string leaf that the hash reads (not the excluded fields)
    leaves: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in items:
            if key in ("type", "recordTime", "eventTimeZoneOffset") and node is changed:
                continue
            if isinstance(value, dict | list):
                walk(value)
            elif isinstance(value, str) and key not in ("eventTime", "time"):
                leaves.append((node, key))
    walk(changed)
    node, key = data.draw(st.sampled_from(leaves))
    node[key] = node[key] + "X"
    assert event_hash(changed, [context]) != expected


def test_fields_the_hash_leaves_out() -> None:
    event, context, expected = EVENTS[0]
    noisy = {**event, "eventID": "ni:///sha-256;00?ver=CBV2.0", "recordTime": "2031-01-01T00:00:00Z",
             "errorDeclaration": {"declarationTime": "2031-01-01T00:00:00Z", "reason": "incorrect_data"}}
    assert event_hash(noisy, [context]) == expected   # an error declaration keeps the hash


def test_timestamps() -> None:
    assert normalise_time("2023-02-02T11:04:03.1415Z") == "2023-02-02T11:04:03.142Z"
    assert normalise_time("2023-02-02T11:04:03.1414Z") == "2023-02-02T11:04:03.141Z"
    assert normalise_time("2020-04-01T15:00:00+01:00") == "2020-04-01T14:00:00.000Z"
    assert normalise_time("2023-12-31T23:59:59.9996Z") == "2024-01-01T00:00:00.000Z"  # carry
    assert normalise_time("2023-06-01T00:30:00-05:30") == "2023-06-01T06:00:00.000Z"
    for bad in ("yesterday", "2023-02-30T00:00:00Z", "2023-02-02T11:04:03", "2023-02-02 11:04:03Z"):
        with pytest.raises(EventHashError):
            normalise_time(bad)


def test_canonical_order_and_vocabulary() -> None:
    """A TransactionEvent with both: epcList before parentID (CBV 2.0 §8.9.2 rows 4-5);
    a bizTransaction's type before its id (step 13); quantities without trailing zeros."""
    event = {
        "type": "TransactionEvent", "eventTime": "2024-05-01T10:00:00Z", "eventTimeZoneOffset": "+00:00",
        "parentID": "urn:epc:id:sscc:4012345.0000000333",
        "epcList": ["urn:epc:id:sgtin:4012345.011111.2", "urn:epc:id:sgtin:4012345.011111.1"],
        "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.011111.L1", "quantity": 10.50,
                          "uom": "KGM"}],
        "action": "ADD", "bizStep": "shipping",
        "bizTransactionList": [{"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:4012345000009:PO1"}],
        "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:4012345.00000"}],
        "destinationList": [{"type": "owning_party", "destination": "urn:epc:id:pgln:4012345.00001"}],
    }
    text = prehash(event)
    assert text == (
        "eventType=TransactionEventeventTime=2024-05-01T10:00:00.000ZeventTimeZoneOffset=+00:00"
        "epcListepc=https://id.gs1.org/01/04012345111118/21/1epc=https://id.gs1.org/01/04012345111118/21/2"
        "parentID=https://id.gs1.org/00/040123450000003338"
        "quantityListquantityElementepcClass=https://id.gs1.org/01/04012345111118/10/L1quantity=10.5uom=KGM"
        "action=ADDbizStep=https://ref.gs1.org/cbv/BizStep-shipping"
        "bizTransactionListtype=https://ref.gs1.org/cbv/BTT-pobizTransaction=urn:epcglobal:cbv:bt:4012345000009:PO1"
        "sourceListtype=https://ref.gs1.org/cbv/SDT-owning_partysource=https://id.gs1.org/417/4012345000009"
        "destinationListtype=https://ref.gs1.org/cbv/SDT-owning_partydestination=https://id.gs1.org/417/4012345000016")


def test_ilmd_and_extensions_use_full_namespaces() -> None:
    context = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
               {"ex": "https://ns.example.com/epcis/"}]
    event = {"type": "ObjectEvent", "eventTime": "2024-05-01T10:00:00Z", "eventTimeZoneOffset": "+00:00",
             "action": "ADD", "epcList": ["urn:epc:id:sgtin:4012345.011111.1"],
             "ilmd": {"cbvmda:lotNumber": "L1", "cbvmda:itemExpirationDate": "2026-02-28"},
             "ex:labour": {"ex:hours": 2, "ex:costCents": 1200}}
    text = prehash(event, [context])
    assert text.endswith(
        "ilmd{urn:epcglobal:cbv:mda:}itemExpirationDate=2026-02-28{urn:epcglobal:cbv:mda:}lotNumber=L1"
        "{https://ns.example.com/epcis/}labour{https://ns.example.com/epcis/}costCents=1200"
        "{https://ns.example.com/epcis/}hours=2")


def test_odd_but_valid_extension_values_hash() -> None:
    base = {"type": "ObjectEvent", "eventTime": "2024-05-01T10:00:00Z", "eventTimeZoneOffset": "+00:00",
            "action": "OBSERVE"}
    nested = prehash({**base, "ex:v": [[2, 1], [3]], "ex:n": None, "ex:b": False}, [{"ex": "https://e.x/"}])
    assert nested.endswith("{https://e.x/}b=false{https://e.x/}n{https://e.x/}v=1{https://e.x/}v=2"
                           "{https://e.x/}v=3")


@pytest.mark.parametrize("bad", [
    [], "x", {"eventTime": "2024-05-01T10:00:00Z"},
    {"type": "ObjectEvent", "eventTime": "not a time"},
    {"type": "ObjectEvent", "eventTime": "2024-05-01T10:00:00Z", "readPoint": "urn:x"},
    {"type": "ObjectEvent", "eventTime": "2024-05-01T10:00:00Z", "action": {"nested": 1}},
])
def test_what_cannot_be_hashed_is_refused_cleanly(bad: Any) -> None:
    with pytest.raises(EventHashError):
        event_hash(bad)
