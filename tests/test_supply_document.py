"""salus.supply.document: EPCIS 2.0 documents read safely, validated against GS1's schema;
and ``salus supply hash``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from salus.cli.main import app
from salus.supply.document import (
    MAX_BYTES,
    MAX_EVENTS,
    MAX_PROBLEMS,
    DocumentInvalid,
    read_document,
    validate,
)
from salus.supply.event_hash import document_hashes

FIXTURES = Path(__file__).parent / "fixtures" / "epcis"
EXAMPLES = sorted((FIXTURES / "examples").rglob("*.jsonld"))
#: GS1's own example with the same key twice (``eventID``): JSON that two readers may
#: read two ways, which Salus never accepts. With the duplicate removed it is valid.
DUPLICATE_KEY = "AssociationEvent-h.jsonld"


def _example(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "examples" / name).read_text())


def test_all_gs1_examples_are_there() -> None:
    assert len(EXAMPLES) == 39


@pytest.mark.parametrize("path", [p for p in EXAMPLES if p.name != DUPLICATE_KEY],
                         ids=lambda p: p.name)
def test_every_gs1_example_validates_and_hashes(path: Path) -> None:
    document = read_document(path.read_bytes())
    hashes = document_hashes(document)
    assert hashes and all(h.startswith("ni:///sha-256;") and h.endswith("?ver=CBV2.0") for h in hashes)


def test_the_example_with_a_duplicate_key_is_refused_for_that_alone() -> None:
    path = next(p for p in EXAMPLES if p.name == DUPLICATE_KEY)
    with pytest.raises(DocumentInvalid) as refused:
        read_document(path.read_bytes())
    assert [str(p) for p in refused.value.problems] == ["$: not acceptable JSON: duplicate key 'eventID'"]
    document = json.loads(path.read_text())  # json keeps the last eventID
    assert validate(document) == []


def test_an_invalid_document_is_refused_with_every_reason() -> None:
    document = _example("Example_9.6.1-ObjectEvent.jsonld")
    first, second = document["epcisBody"]["eventList"]
    first["action"] = "JUMP"
    first["eventTime"] = "yesterday"
    del first["eventTimeZoneOffset"]
    second["epcList"] = ["not a uri"]
    del document["schemaVersion"]
    with pytest.raises(DocumentInvalid) as refused:
        read_document(json.dumps(document))
    reasons = [str(p) for p in refused.value.problems]
    for expected in ("$: 'schemaVersion' is a required property",
                     "$.epcisBody.eventList[0].action: 'JUMP' is not one of ['OBSERVE', 'ADD', 'DELETE']",
                     "$.epcisBody.eventList[0].eventTime: 'yesterday' is not a 'date-time'",
                     "$.epcisBody.eventList[0]: 'eventTimeZoneOffset' is a required property",
                     "$.epcisBody.eventList[1].epcList[0]: 'not a uri' is not a 'uri'"):
        assert expected in reasons
    assert all(len(r) < 800 for r in reasons)  # reasons name the problem, never echo the event


@pytest.mark.parametrize(("data", "reason"), [
    (b"[" * 200_000 + b"]" * 200_000, "nested deeper"),
    (b'{"type": "EPCISDocument", "n": 18446744073709551617}', "I-JSON"),   # past 2^64
    (b'{"type": "EPCISDocument", "n": 9007199254740993}', "I-JSON"),       # past 2^53
    (b'{"type": "EPCISDocument", "n": 1e400}', "out of range"),
    (b'{"type": "EPCISDocument", "n": NaN}', "not JSON"),
    # a float cannot hold these as written: two different events would share one CBV hash
    (b'{"type": "EPCISDocument", "n": 0.10000000000000000555}', "more digits"),
    (b'{"type": "EPCISDocument", "n": 1e-400}', "more digits"),
    (b'{"type": "EPCISDocument", "n": 1e-999999999}', "more digits"),
    (b'{"type": "EPCISDocument", "type": "EPCISQueryDocument"}', "duplicate key"),
    (b"\xff\xfe{}", "UTF-8"),
    (b"", "not valid JSON"),
    (b'"EPCISDocument"', "JSON object"),
    (b'{"type": "ObjectEvent"}', "EPCISDocument or EPCISQueryDocument"),
])
def test_hostile_input_is_refused_cleanly(data: bytes, reason: str) -> None:
    with pytest.raises(DocumentInvalid) as refused:
        read_document(data)
    assert reason in str(refused.value)


def test_numbers_a_float_holds_exactly_are_read() -> None:
    """What the exactness rule must not refuse: every spelling of a number a 64-bit float
    holds as written."""
    from salus.canonical import loads_strict
    for text, value in ((b"1.0", 1.0), (b"1e2", 100.0), (b"-0.5", -0.5), (b"2.37", 2.37),
                        (b"0.30000000000000004", 0.30000000000000004), (b"1E-7", 1e-7),
                        (b"0.0", 0.0), (b"-0.0", -0.0), (b"123456.789", 123456.789)):
        assert loads_strict(b'{"n": ' + text + b"}", exact_decimals=True) == {"n": value}


def test_size_and_event_count_are_bounded() -> None:
    with pytest.raises(DocumentInvalid, match="bytes; at most"):
        read_document(b" " * (MAX_BYTES + 1))
    document = _example("Example_9.6.2-ObjectEvent.jsonld")
    event = document["epcisBody"]["eventList"][0]
    document["epcisBody"]["eventList"] = [event] * (MAX_EVENTS + 1)
    with pytest.raises(DocumentInvalid, match="events; at most"):
        read_document(json.dumps(document))


def test_a_huge_invalid_document_reports_a_bounded_number_of_reasons() -> None:
    document = _example("Example_9.6.2-ObjectEvent.jsonld")
    event = dict(document["epcisBody"]["eventList"][0], action="JUMP")
    document["epcisBody"]["eventList"] = [event] * 5_000
    with pytest.raises(DocumentInvalid) as refused:
        read_document(json.dumps(document))
    problems = refused.value.problems
    assert len(problems) == MAX_PROBLEMS + 1
    assert "the rest not listed" in problems[-1].message


# -- the CLI -------------------------------------------------------------------------------------
runner = CliRunner()


def test_cli_hash_prints_one_hash_per_event_in_order() -> None:
    path = FIXTURES / "event-hash" / "TimeStampRoundOff.jsonld"
    result = runner.invoke(app, ["supply", "hash", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == path.with_suffix(".hashes").read_text().split()


def test_cli_hash_refuses_an_invalid_document_with_its_reasons(tmp_path: Path) -> None:
    document = _example("Example_9.6.1-ObjectEvent.jsonld")
    document["epcisBody"]["eventList"][1]["action"] = "[bold]JUMP"   # not rich markup either
    bad = tmp_path / "bad.jsonld"
    bad.write_text(json.dumps(document))
    result = runner.invoke(app, ["supply", "hash", str(bad)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "$.epcisBody.eventList[1].action: '[bold]JUMP' is not one of" in result.stderr


def test_cli_hash_of_a_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["supply", "hash", str(tmp_path / "nope.jsonld")])
    assert result.exit_code == 1 and "cannot read" in result.stderr


def _leaves(value: Any, path: tuple = ()) -> list[tuple]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaves(v, (*path, k))] + [path]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _leaves(v, (*path, i))] + [path]
    return [path]


def _mutated(doc: Any, path: tuple, how: str) -> Any:
    if not path:
        return doc
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if how == "drop" and isinstance(parent, dict):
        del parent[last]
    elif how == "number":
        parent[last] = 7
    elif how == "text":
        parent[last] = "not a date or a uri: \u00e9 <x>"
    elif how == "list":
        parent[last] = []
    else:
        parent[last] = {"x": None}
    return doc


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_fast_verdict_and_the_reasons_agree(data: st.DataObject) -> None:
    """Validity is decided by the compiled validator and reasons found by jsonschema: the
    two must never disagree, or a valid document would be refused without a reason (or
    an invalid one kept). Every example, each with one leaf or branch changed."""
    from salus.supply.document import _validator, _verdict
    path = data.draw(st.sampled_from([p for p in EXAMPLES if p.name != DUPLICATE_KEY]))
    doc = json.loads(path.read_text())
    where = data.draw(st.sampled_from(_leaves(doc)))
    how = data.draw(st.sampled_from(["drop", "number", "text", "list", "object"]))
    doc = _mutated(doc, where, how)
    reasons = list(_validator().iter_errors(doc))
    assert _verdict().is_valid(doc) == (not reasons), (path.name, where, how, reasons[:1])
