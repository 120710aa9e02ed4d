"""EPCIS 2.0 events of a DSCSA pack's life, as a trading partner's system would write them.

Used by the demo, the benchmark and the tests to make documents that GS1's schema accepts
and that :mod:`salus.supply.capture_plan` maps to ledger steps; items are named by EPC URN
(TDS §6.3), parties and places by GLN (SGLN/PGLN URNs).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from salus.clock import iso_from_ms

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
#: The namespace of Salus's own EPCIS extensions (docs/supply.md).
SALUS_NS = "https://salus.example/epcis/"


def sgtin(gtin: str, serial: str, prefix_length: int) -> str:
    """``urn:epc:id:sgtin:`` of a pack (TDS §6.3.1: indicator digit moved to the item
    reference, check digit dropped). The serial is written as given (GS1 AI 82 chars that
    need no escape)."""
    company = gtin[1:1 + prefix_length]
    item_ref = gtin[0] + gtin[1 + prefix_length:13]
    return f"urn:epc:id:sgtin:{company}.{item_ref}.{serial}"


def sscc(sscc18: str, prefix_length: int) -> str:
    """``urn:epc:id:sscc:`` of a case or pallet (TDS §6.3.2)."""
    company = sscc18[1:1 + prefix_length]
    serial_ref = sscc18[0] + sscc18[1 + prefix_length:17]
    return f"urn:epc:id:sscc:{company}.{serial_ref}"


def pgln(gln: str, prefix_length: int) -> str:
    """``urn:epc:id:pgln:`` of a party (TDS §6.3.14)."""
    return f"urn:epc:id:pgln:{gln[:prefix_length]}.{gln[prefix_length:12]}"


def sgln(gln: str, prefix_length: int) -> str:
    """``urn:epc:id:sgln:`` of a place, extension 0 (TDS §6.3.3)."""
    return f"urn:epc:id:sgln:{gln[:prefix_length]}.{gln[prefix_length:12]}.0"


def _event(kind: str, time_ms: int, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "eventTime": iso_from_ms(time_ms), "eventTimeZoneOffset": "+00:00",
            **fields}


def commissioning(epcs: list[str], lot: str, expiry: date, time_ms: int, place: str,
                  lot_data: dict[str, Any] | None = None, **extensions: Any) -> dict[str, Any]:
    """ObjectEvent ADD, commissioning, with the lot and expiry in the ILMD, and
    ``lot_data`` beside them (e.g. the labour extension, :mod:`salus.supply.labour`)."""
    return _event("ObjectEvent", time_ms, action="ADD", bizStep="commissioning",
                  disposition="active", epcList=epcs, readPoint={"id": place},
                  ilmd={"cbvmda:lotNumber": lot, "cbvmda:itemExpirationDate": expiry.isoformat(),
                        **(lot_data or {})}, **extensions)


def packing(parent: str, children: list[str], time_ms: int, place: str) -> dict[str, Any]:
    return _event("AggregationEvent", time_ms, action="ADD", bizStep="packing",
                  disposition="in_progress", parentID=parent, childEPCs=children,
                  readPoint={"id": place})


def unpacking(parent: str, children: list[str], time_ms: int, place: str) -> dict[str, Any]:
    return _event("AggregationEvent", time_ms, action="DELETE", bizStep="unpacking",
                  disposition="in_progress", parentID=parent, childEPCs=children,
                  readPoint={"id": place})


def _transactions(ids: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"type": kind, "bizTransaction": value} for kind, value in ids]


def shipping(epcs: list[str], time_ms: int, *, source: str, destination: str,
             place: str, transactions: Iterable[tuple[str, str]] = ()) -> dict[str, Any]:
    """ObjectEvent OBSERVE, shipping, from party ``source`` to party ``destination``
    (PGLN URNs), naming the business transactions (``(type, id)``) it fulfils."""
    fields: dict[str, Any] = {
        "sourceList": [{"type": "owning_party", "source": source},
                       {"type": "possessing_party", "source": source}],
        "destinationList": [{"type": "owning_party", "destination": destination},
                            {"type": "possessing_party", "destination": destination}]}
    if transactions:
        fields["bizTransactionList"] = _transactions(transactions)
    return _event("ObjectEvent", time_ms, action="OBSERVE", bizStep="shipping",
                  disposition="in_transit", epcList=epcs, readPoint={"id": place}, **fields)


def sale(epcs: list[str], time_ms: int, *, source: str, destination: str,
         transactions: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """TransactionEvent ADD: the DSCSA transaction information for ``epcs``, and the
    transaction statement (the seller's attestation) as a Salus extension."""
    return _event("TransactionEvent", time_ms, action="ADD", bizStep="shipping",
                  disposition="in_transit", epcList=epcs,
                  bizTransactionList=_transactions(transactions),
                  sourceList=[{"type": "owning_party", "source": source}],
                  destinationList=[{"type": "owning_party", "destination": destination}],
                  **{"salus:transactionStatement": "DSCSA 582: authorized trading partner; "
                                                   "received from an authorized partner; "
                                                   "transaction information accurate"})


def receiving(epcs: list[str], time_ms: int, place: str) -> dict[str, Any]:
    return _event("ObjectEvent", time_ms, action="OBSERVE", bizStep="receiving",
                  disposition="in_progress", epcList=epcs, readPoint={"id": place})


def dispensing(epc: str, time_ms: int, place: str) -> dict[str, Any]:
    return _event("ObjectEvent", time_ms, action="DELETE", bizStep="dispensing",
                  disposition="dispensed", epcList=[epc], readPoint={"id": place})


def quarantine(epc: str, time_ms: int, place: str) -> dict[str, Any]:
    """A suspect pack quarantined: inspecting, non_conformant (Salus's mapping)."""
    return _event("ObjectEvent", time_ms, action="OBSERVE", bizStep="inspecting",
                  disposition="non_conformant", epcList=[epc], readPoint={"id": place})


def document(events: list[dict[str, Any]], time_ms: int) -> dict[str, Any]:
    """An EPCISDocument of ``events``, with the Salus namespace in its context."""
    return {"@context": [EPCIS_CONTEXT, {"salus": SALUS_NS}], "type": "EPCISDocument",
            "schemaVersion": "2.0", "creationDate": iso_from_ms(time_ms),
            "epcisBody": {"eventList": events}}
