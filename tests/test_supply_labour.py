"""salus.supply.labour: labour hours and cost in Salus's EPCIS extension, read exactly,
whatever prefix the capturer bound to its namespace."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from salus.supply.document import read_document
from salus.supply.event_hash import document_hashes
from salus.supply.labour import NAMESPACE, Labour, LabourInvalid, labour

GS1_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"


def commissioning(ilmd: dict[str, Any] | None = None, prefix: str = "salus",
                  **extension: Any) -> dict[str, Any]:
    """An EPCIS document of one commissioning ObjectEvent with ILMD lot and expiry."""
    return {
        "@context": [GS1_CONTEXT, {prefix: NAMESPACE}],
        "type": "EPCISDocument", "schemaVersion": "2.0",
        "creationDate": "2026-01-05T09:00:00.000Z",
        "epcisBody": {"eventList": [{
            "type": "ObjectEvent", "eventTime": "2026-01-05T08:30:00.000Z",
            "eventTimeZoneOffset": "+01:00", "action": "ADD", "bizStep": "commissioning",
            "disposition": "active",
            "epcList": ["urn:epc:id:sgtin:9506000.013435.A1",
                        "urn:epc:id:sgtin:9506000.013435.A2"],
            "readPoint": {"id": "urn:epc:id:sgln:9506000.00001.0"},
            "ilmd": {"cbvmda:lotNumber": "LOT-A1", "cbvmda:itemExpirationDate": "2027-12-31",
                     **(ilmd or {})},
            **extension}]}}


def read(doc: dict[str, Any]) -> Labour | None:
    checked = read_document(json.dumps(doc).encode())  # the extension is valid EPCIS
    return labour(checked["epcisBody"]["eventList"][0], [checked["@context"]])


def test_labour_in_the_ilmd_is_read_exactly() -> None:
    got = read(commissioning({"salus:labourHours": "12.5", "salus:labourCost": "431.25",
                              "salus:labourCostCurrency": "EUR"}))
    assert got == Labour(hours_milli=12_500, cost_milli=431_250, currency="EUR")
    # hours alone; and JSON numbers, read by the decimal they spell
    assert read(commissioning({"salus:labourHours": 3})) == Labour(3000, None, None)
    assert read(commissioning({"salus:labourHours": 0.125})) == Labour(125, None, None)


def test_any_prefix_bound_to_the_namespace_is_ours_and_no_other() -> None:
    mine = commissioning({"lab:labourHours": "2"}, prefix="lab")
    assert read(mine) == Labour(2000, None, None)
    on_event = commissioning(prefix="x", **{"x:labourHours": "1.5"})
    assert read(on_event) == Labour(1500, None, None)
    # the same local names in somebody else's namespace are not Salus's labour
    theirs = commissioning({"salus:labourHours": "2"})
    theirs["@context"][1] = {"salus": "https://ns.example.com/other/"}
    assert read(theirs) is None
    assert read(commissioning()) is None


def test_labour_is_part_of_the_event_and_of_its_hash() -> None:
    plain = commissioning()
    stated = commissioning({"salus:labourHours": "12.5"})
    renamed = commissioning({"lab:labourHours": "12.5"}, prefix="lab")
    hashes = [document_hashes(read_document(json.dumps(d).encode()))[0]
              for d in (plain, stated, renamed)]
    assert hashes[0] != hashes[1] == hashes[2]  # the namespace counts, not the prefix


@pytest.mark.parametrize("fields, why", [
    ({"salus:labourHours": "-1"}, "non-negative"),
    ({"salus:labourHours": "1.0005"}, "finer than a thousandth"),
    ({"salus:labourHours": "1e3"}, "non-negative decimal"),
    ({"salus:labourHours": "twelve"}, "non-negative decimal"),
    ({"salus:labourHours": True}, "non-negative decimal"),
    ({"salus:labourHours": "9999999999999999"}, "too large"),
    ({"salus:labourCost": "10"}, "needs labourCostCurrency"),
    ({"salus:labourCost": "10", "salus:labourCostCurrency": "eur"}, "ISO 4217"),
    ({"salus:labourHours": "1", "salus:labourCostCurrency": "EUR"}, "without labourCost"),
])
def test_what_cannot_be_read_exactly_is_refused(fields: dict[str, Any], why: str) -> None:
    with pytest.raises(LabourInvalid, match=why):
        read(commissioning(fields))


def test_every_reason_and_one_place_only() -> None:
    with pytest.raises(LabourInvalid) as caught:
        read(commissioning({"salus:labourHours": "-2", "salus:labourCost": "0.0001",
                            "salus:labourCostCurrency": "euro"}))
    assert len(caught.value.reasons) == 3, caught.value.reasons
    both = commissioning({"salus:labourHours": "1"}, **{"salus:labourHours": "1"})
    with pytest.raises(LabourInvalid, match="once"):
        read(both)
    # reading does not change the event
    doc = commissioning({"salus:labourHours": "1"})
    before = copy.deepcopy(doc)
    read(doc)
    assert doc == before
