"""salus.supply.repository: an organisation's EPCIS events off the ledger, stored once
under their canonical hash, found by any form of an item's identifier, never changed by
an error declaration (which marks the event it corrects)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from salus.supply.document import read_document
from salus.supply.event_hash import document_events, document_hashes
from salus.supply.repository import Repository, canonical_item, event_time_ms

EXAMPLES = Path(__file__).parent / "fixtures" / "epcis" / "examples"
TRANSFORM = EXAMPLES / "WithErrorDeclaration" / "ErrorDeclarationAndCorrectiveEvent.jsonld"


def _pairs(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return list(zip(document_hashes(document), document_events(document), strict=True))


def _doc(path: Path) -> dict[str, Any]:
    return read_document(path.read_bytes())


def test_an_event_is_stored_once_however_it_is_serialised(tmp_path: Path) -> None:
    doc = _doc(EXAMPLES / "Example_9.6.1-ObjectEvent.jsonld")
    repo = Repository(tmp_path / "epcis.db")
    assert repo.add(_pairs(doc), captured=1) == [True] * len(_pairs(doc))
    # the same events again: keys reordered, each time written in UTC instead
    again = copy.deepcopy(doc)
    for event in document_events(again):
        moment = datetime.fromisoformat(event["eventTime"].replace("Z", "+00:00"))
        event["eventTime"] = moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    assert document_events(again) != document_events(doc)
    again = json.loads(json.dumps(again, sort_keys=True))
    assert document_hashes(again) == document_hashes(doc)
    assert repo.add(_pairs(again), captured=2) == [False] * len(_pairs(doc))
    assert len(repo.query(limit=1000)) == len(_pairs(doc))
    repo.close()
    reopened = Repository(tmp_path / "epcis.db")  # it is a file: it outlives the process
    first_hash, first_event = _pairs(doc)[0]
    stored = reopened.get(first_hash)
    assert stored is not None and stored.event == json.loads(json.dumps(first_event))
    assert stored.captured == 1 and stored.correction is None


def test_an_items_events_are_found_by_any_form_of_its_identifier(tmp_path: Path) -> None:
    repo = Repository(tmp_path / "epcis.db")
    pairs = _pairs(_doc(TRANSFORM))
    repo.add(pairs, captured=1)
    urn = "urn:epc:id:sgtin:4012345.011111.987"
    link = "https://example.com/01/04012345111118/21/987?17=260101"  # another host, a query
    assert canonical_item(urn) == canonical_item(link) == \
        "https://id.gs1.org/01/04012345111118/21/987"
    found = [s.hash for s in repo.events_of(urn)]
    assert found and found == [s.hash for s in repo.events_of(link)]
    lgtin = "urn:epc:class:lgtin:4012345.022222.87545GHGH"  # named in quantity lists
    with_lot = [h for h, e in pairs if lgtin in json.dumps(e)]
    assert len(with_lot) == 2
    assert sorted(s.hash for s in repo.events_of(lgtin)) == sorted(with_lot)
    assert repo.events_of("urn:epc:id:sgtin:4012345.011111.988") == []


def test_an_error_declaration_marks_the_event_and_changes_nothing_of_it(tmp_path: Path) -> None:
    declared = _doc(TRANSFORM)
    erroneous, *corrective = _pairs(declared)
    original = copy.deepcopy(erroneous[1])
    del original["errorDeclaration"]
    repo = Repository(tmp_path / "epcis.db")
    assert repo.add([(erroneous[0], original)], captured=1) == [True]
    assert repo.add([erroneous, *corrective], captured=2) == [False] + [True] * len(corrective)
    stored = repo.get(erroneous[0])
    assert stored is not None and "errorDeclaration" not in stored.event  # kept as it was
    assert stored.correction is not None and stored.correction["reason"] == "incorrect_data"
    assert stored.correction["correctiveEventIDs"] == [corrective[0][1]["eventID"]]
    # a second declaration does not overwrite the first
    later = copy.deepcopy(erroneous[1])
    later["errorDeclaration"]["reason"] = "did_not_occur"
    repo.add([(erroneous[0], later)], captured=3)
    assert repo.get(erroneous[0]).correction["reason"] == "incorrect_data"


def test_queries_by_type_step_and_time_page_in_capture_order(tmp_path: Path) -> None:
    repo = Repository(tmp_path / "epcis.db")
    pairs = [p for path in sorted(EXAMPLES.glob("Example_9.6.*.jsonld")) for p in _pairs(_doc(path))]
    repo.add(pairs, captured=1)
    everything = repo.query(limit=1000)
    assert [s.hash for s in everything] == list(dict.fromkeys(h for h, _ in pairs))
    objects = repo.query(event_types=["ObjectEvent"], limit=1000)
    assert objects and all(s.event["type"] == "ObjectEvent" for s in objects)
    times = sorted(event_time_ms(s.event) for s in everything)
    middle = times[len(times) // 2]
    window = repo.query(from_ms=middle, limit=1000)
    assert window and all(event_time_ms(s.event) >= middle for s in window)
    assert all(event_time_ms(s.event) < middle for s in repo.query(until_ms=middle, limit=1000))
    page = repo.query(limit=2)
    rest = repo.query(after_seq=page[-1].seq, limit=1000)
    assert [s.hash for s in page + rest] == [s.hash for s in everything]
