"""What the OpenAPI document says about answers, made true.

FastAPI documents a 200 in JSON for every route and its own validation error (``{"detail":
[...]}``) for 422. The node answers otherwise: every failure in its error shape (errors.py),
FHIR routes and records ingest in ``application/fhir+json`` with OperationOutcomes,
metrics in Prometheus text, the export in JSON lines, and some successes with 201 or 202.
:func:`complete` rewrites the generated document to say so; the schemathesis run
(tests/test_openapi_conformance.py) holds every answer to it.
"""

from __future__ import annotations

from typing import Any

FHIR_JSON = "application/fhir+json"
PROBLEM_JSON = "application/problem+json"
LD_JSON = "application/ld+json"
ERROR = "Error"
OUTCOME = "OperationOutcome"
PROBLEM = "Problem"

_SCHEMAS: dict[str, dict[str, Any]] = {
    ERROR: {
        "type": "object", "required": ["error"],
        "description": "Every failure: a stable code and a reason in words",
        "properties": {"error": {
            "type": "object", "required": ["code", "reason"],
            "properties": {"code": {"type": "string"}, "reason": {"type": "string"}}}},
    },
    OUTCOME: {
        "type": "object", "required": ["resourceType", "issue"],
        "description": "A FHIR R4 OperationOutcome",
        "properties": {"resourceType": {"const": "OperationOutcome"},
                       "issue": {"type": "array", "minItems": 1, "items": {
                           "type": "object", "required": ["severity", "code"]}}},
    },
    PROBLEM: {
        "type": "object", "required": ["type", "title", "status", "detail", "code"],
        "description": "An RFC 7807 problem (the EPCIS 2.0 REST binding's errors), with "
                       "Salus's stable code and, for a refused document, every reason",
        "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                       "status": {"type": "integer"}, "detail": {"type": "string"},
                       "code": {"type": "string"},
                       "errors": {"type": "array", "items": {"type": "string"}}},
    },
}

#: Routes whose answers (all of them) are FHIR JSON.
_FHIR_PREFIX = "/fhir/"
#: Routes that answer FHIR OperationOutcomes for the FHIR they refuse, beside 2xx JSON.
_FHIR_REFUSALS = {("post", "/v1/records/{custodian}/ingest"): ("400", "422")}
#: Successes besides the 200 FastAPI documents: (method, path) -> {status: description}.
_SUCCESSES: dict[tuple[str, str], dict[str, str]] = {
    ("post", "/v1/tx"): {"202": "accepted, not committed yet: a pending receipt"},
    ("post", "/v1/records/{custodian}/ingest"): {"201": "stored and registered"},
    ("post", "/v1/records/{custodian}/binary"): {"201": "stored and registered"},
    ("post", "/epcis/capture"): {"202": "captured (or refused by the ledger): the capture job"},
    ("options", "/epcis/capture"): {"204": "the capture interface's limits, in headers"},
}
#: Routes whose every refusal is an RFC 7807 problem (the EPCIS REST binding).
_PROBLEM_PREFIX = "/epcis/"
#: Routes whose 2xx is not JSON: path -> media type.
_MEDIA = {"/metrics": "text/plain", "/v1/ledger/export": "application/x-ndjson",
          "/epcis/events": LD_JSON, "/epcis/epcs/{epc}/events": LD_JSON}
#: A 200 is replaced (not kept) where the route never answers one.
_NO_200 = {("post", "/v1/records/{custodian}/ingest"), ("post", "/v1/records/{custodian}/binary"),
           ("post", "/epcis/capture"), ("options", "/epcis/capture")}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _failure(media: str, schema: str) -> dict[str, Any]:
    return {"description": "Refused or failed (the code says which)",
            "content": {media: {"schema": _ref(schema)}}}


def _any_object(media: str) -> dict[str, Any]:
    return {media: {"schema": {"type": "object"}}}


def complete(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` (FastAPI's generated document), made to describe what the node answers."""
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(_SCHEMAS)
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    for path, item in doc.get("paths", {}).items():
        fhir = path.startswith(_FHIR_PREFIX)
        for method, op in item.items():
            responses = op.setdefault("responses", {})
            responses.pop("422", None)
            if fhir:
                for answer in responses.values():
                    if "content" in answer:
                        answer["content"] = _any_object(FHIR_JSON)
                responses["default"] = _failure(FHIR_JSON, OUTCOME)
                continue
            media = _MEDIA.get(path)
            if media is not None:
                kind = "object" if media.endswith("json") else "string"
                responses["200"]["content"] = {media: {"schema": {"type": kind}}}
            for status, what in _SUCCESSES.get((method, path), {}).items():
                responses[status] = {"description": what, "content": _any_object("application/json")}
                if status == "204":
                    responses[status].pop("content")
            if (method, path) in _NO_200:
                responses.pop("200", None)
            for status in _FHIR_REFUSALS.get((method, path), ()):
                # invalid FHIR as an OperationOutcome; every other refusal as usual
                responses[status] = _failure("application/json", ERROR)
                responses[status]["content"].update(_failure(FHIR_JSON, OUTCOME)["content"])
            responses["default"] = (_failure(PROBLEM_JSON, PROBLEM)
                                    if path.startswith(_PROBLEM_PREFIX)
                                    else _failure("application/json", ERROR))
    return doc
