#!/usr/bin/env python3
"""Validate EPCIS 2.0 capture documents as `POST /epcis/capture` will (read_document: the
strict loader, then GS1's JSON Schema) and print JSON: events validated per second, for a
valid document of N commissioning ObjectEvents, and the time to list every reason for an
invalid one."""

import argparse
import json
import time

from salus.supply.document import DocumentInvalid, read_document


def document(events: int) -> bytes:
    body = [{"type": "ObjectEvent", "eventTime": "2026-11-28T09:00:00.000+01:00",
             "eventTimeZoneOffset": "+01:00", "action": "ADD", "bizStep": "commissioning",
             "disposition": "active",
             "epcList": [f"urn:epc:id:sgtin:9506000.013435.S{i:08d}"],
             "readPoint": {"id": "urn:epc:id:sgln:9506000.00001.0"},
             "ilmd": {"cbvmda:lotNumber": "LOT-2611", "cbvmda:itemExpirationDate": "2028-02-29"}}
            for i in range(events)]
    return json.dumps({"@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
                       "type": "EPCISDocument", "schemaVersion": "2.0",
                       "creationDate": "2026-11-28T09:00:00.000+01:00",
                       "epcisBody": {"eventList": body}}).encode()


def per_second(data: bytes, rounds: int) -> float:
    start = time.perf_counter()
    for _ in range(rounds):
        read_document(data)
    return rounds / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100, help="events per document")
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    valid = document(args.events)
    read_document(valid)  # compile the schemas once, as a running node has
    docs_per_s = per_second(valid, args.rounds)
    invalid = valid.replace(b'"action": "ADD"', b'"action": "MAYBE"')
    start = time.perf_counter()
    try:
        read_document(invalid)
    except DocumentInvalid as exc:
        reasons = len(exc.problems)
    invalid_ms = (time.perf_counter() - start) * 1000
    print(json.dumps({"events_per_document": args.events,
                      "valid_events_per_s": round(docs_per_s * args.events),
                      "invalid_document_ms": round(invalid_ms, 1),
                      "invalid_document_reasons": reasons}))


if __name__ == "__main__":
    main()
