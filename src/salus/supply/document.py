"""An EPCIS 2.0 JSON-LD document, read safely and validated against GS1's JSON Schema.

:func:`read_document` is the one way a capture document enters Salus (EPCIS 2.0 §8.2.8
capture interface, §10 JSON/JSON-LD binding): bytes in, a checked document out, or
:class:`DocumentInvalid` carrying every reason, each with the JSON path it concerns.
Nothing else is raised for any input.

Checked before the schema sees anything (hostile input, not GS1's rules): the size in
bytes, UTF-8, nesting depth, duplicate keys, numbers outside the I-JSON range (so nothing
past 2^53, let alone 2^64) and NaN/Infinity (all :func:`salus.canonical.loads_strict`),
and how many events a document holds. Then GS1's EPCIS 2.0 JSON Schema
(``gs1/schemas``, draft-07, the root ``EPCIS-JSON-Schema-root.json``), with the formats it
names (``date-time``: RFC 3339 §5.6, ``uri``: RFC 3986 §3) checked here rather than left
to optional packages, so validation means the same everywhere.

Two validators read the same schema files and formats: ``jsonschema_rs`` (compiled)
decides whether a document is valid, which is all a valid document costs; only an
invalid one is walked again by ``jsonschema`` for every reason with its path. A test
holds them to the same verdict on every example and on invalid documents.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

import jsonschema_rs
from jsonschema import Draft7Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from salus.canonical import JSONError, loads_strict

#: A capture document of 10,000 events is far past what one request should carry (the
#: REST binding's capture limits, EPCIS 2.0 §12.2.7, let a server set its own).
MAX_BYTES = 16 * 1024 * 1024
MAX_EVENTS = 10_000
#: Deep enough for any EPCIS event (sensor reports nest six levels below the document).
MAX_DEPTH = 32
#: Reasons reported at most: enough for any honest document, bounded for a hostile one.
MAX_PROBLEMS = 500
_ROOT = "https://gs1.github.io/EPCIS/JSON-Schema/EPCIS-JSON-Schema.json"


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a document is refused: where (a JSONPath, ``$`` the document) and why."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class DocumentInvalid(ValueError):
    """An EPCIS document Salus refuses, with every reason."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(p) for p in problems[:5])
                         + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""))


class TooManyEvents(DocumentInvalid):
    """More events than the reader takes (``read_document``'s ``max_events``), found
    before the schema sees any of them."""


# -- formats (RFC 3339 §5.6, RFC 3986 §3) -----------------------------------------------
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$")
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]*$")
_FORMATS = FormatChecker(formats=())


@_FORMATS.checks("date-time")
def _is_date_time(value: object) -> bool:
    """RFC 3339 §5.6 ``date-time`` (EPCIS 2.0 §10: times carry their offset)."""
    if not isinstance(value, str):
        return True  # "type" says what else is wrong
    if not _DATE_TIME.match(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


@_FORMATS.checks("uri")
def _is_uri(value: object) -> bool:
    """RFC 3986 §3 absolute URI: a scheme, a colon, no spaces or characters §2 forbids."""
    return not isinstance(value, str) or bool(_URI.match(value))


# -- the schema ---------------------------------------------------------------------------
@cache
def _schemas() -> dict[str, dict[str, Any]]:
    """GS1's schemas by their ``$id`` (they ``$ref`` one another)."""
    folder = resources.files("salus.supply") / "gs1" / "schemas"
    found = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".json"):
            schema = json.loads(entry.read_text(encoding="utf-8"))
            found[schema["$id"]] = schema
    assert _ROOT in found, "the EPCIS root schema is shipped in gs1/schemas"
    return found


@cache
def _validator() -> Draft7Validator:
    """The validator that names every reason (jsonschema)."""
    registry = Registry().with_resources(
        (uri, Resource.from_contents(schema, default_specification=DRAFT7))
        for uri, schema in _schemas().items())
    return Draft7Validator(_schemas()[_ROOT], registry=registry, format_checker=_FORMATS)


@cache
def _verdict() -> jsonschema_rs.Draft7Validator:
    """The compiled validator that decides validity only (jsonschema_rs), same formats."""
    return jsonschema_rs.Draft7Validator(
        _schemas()[_ROOT], registry=jsonschema_rs.Registry(list(_schemas().items())),
        validate_formats=True, formats={"date-time": _is_date_time, "uri": _is_uri})


def _json_path(error: ValidationError) -> str:
    path = "$"
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else (
            f".{part}" if re.fullmatch(r"[A-Za-z_@][\w@]*", str(part)) else f"[{json.dumps(part)}]")
    return path


def _short(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _message(error: ValidationError) -> str:
    """What is wrong, without echoing the whole instance: an ``anyOf``/``oneOf`` failure
    (jsonschema prints the instance) becomes the reasons each alternative gave."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        reasons = sorted({f"{_json_path(c)}: {c.message}" for c in error.context})
        return _short("none of the allowed forms fits: " + " | ".join(reasons), 600)
    return _short(error.message)


def _leaves(error: ValidationError) -> list[ValidationError]:
    """The errors that say what is wrong: an ``allOf`` or ``if``/``then`` failure by its
    sub-errors; an ``anyOf``/``oneOf`` stays one reason (see :func:`_message`)."""
    if error.validator in ("anyOf", "oneOf") or not error.context:
        return [error]
    return [leaf for sub in error.context for leaf in _leaves(sub)]


def validate(document: Any) -> list[Problem]:
    """Every reason ``document`` is not a valid EPCIS 2.0 document or event (GS1 JSON
    Schema), at most :data:`MAX_PROBLEMS`, in the order the schema finds them."""
    if _verdict().is_valid(document):
        return []
    problems: list[Problem] = []
    # lazily: a hostile document with a million faults costs MAX_PROBLEMS of them
    for error in _validator().iter_errors(document):
        for leaf in _leaves(error):
            problems.append(Problem(_json_path(leaf), _message(leaf)))
            if len(problems) >= MAX_PROBLEMS:
                problems.append(Problem("$", f"more than {MAX_PROBLEMS} problems; the rest not listed"))
                return problems
    return problems


def _event_count(document: Any) -> int:
    body = document.get("epcisBody") if isinstance(document, dict) else None
    if isinstance(body, dict) and isinstance(body.get("queryResults"), dict):
        body = body["queryResults"].get("resultsBody")
    events = body.get("eventList") if isinstance(body, dict) else None
    return len(events) if isinstance(events, list) else 0


def read_document(data: bytes | str, max_events: int = MAX_EVENTS) -> dict[str, Any]:
    """Parse and validate an EPCIS 2.0 JSON-LD document (EPCIS 2.0 §10; schema as above).
    Returns the document; raises :class:`DocumentInvalid` with every reason, or
    :class:`TooManyEvents` (before any validation) past ``max_events`` events."""
    size = len(data.encode("utf-8") if isinstance(data, str) else data)
    if size > MAX_BYTES:
        raise DocumentInvalid([Problem("$", f"document is {size} bytes; at most {MAX_BYTES}")])
    try:
        # exact: an event is identified by the CBV hash of its values (CBV 2.0 §8.9), so a
        # number a float cannot hold as written would give two events one hash
        document = loads_strict(data, exact_decimals=True, max_depth=MAX_DEPTH)
    except JSONError as exc:
        raise DocumentInvalid([Problem("$", f"not acceptable JSON: {exc}")]) from None
    if not isinstance(document, dict):
        raise DocumentInvalid([Problem("$", "an EPCIS document is a JSON object")])
    if (count := _event_count(document)) > max_events:
        raise TooManyEvents([Problem("$.epcisBody.eventList",
                                     f"{count} events; at most {max_events} in one document")])
    if document.get("type") not in ("EPCISDocument", "EPCISQueryDocument"):
        problems = [Problem("$.type", "must be EPCISDocument or EPCISQueryDocument")]
        raise DocumentInvalid(problems + [p for p in validate(document) if p.path != "$.type"])
    if problems := validate(document):
        raise DocumentInvalid(problems)
    return document
