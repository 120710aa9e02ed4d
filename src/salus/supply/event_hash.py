"""The CBV 2.0 canonical event hash of an EPCIS 2.0 event (CBV 2.0 §8.9).

An event is identified by ``ni:///sha-256;<hex>?ver=CBV2.0`` (RFC 6920 §3), the SHA-256 of
its *pre-hash string*: the event's fields in the canonical property order of CBV 2.0
§8.9.2, each ``key=value`` or, for a structure, its key followed by its children,
concatenated without separators (§8.9.1 steps 1-4), after normalising every value so
that two serialisations of one event give one string:

* timestamps in UTC with ``Z`` and exactly three fraction digits, half-up (steps 8-9);
* numbers without trailing zeros (steps 6-7); whitespace around values trimmed (step 5);
* list members, and sibling structures, in byte order (steps 10-12); a bizTransaction,
  source or destination as ``type=…`` then its id (step 13);
* CBV vocabulary as GS1 Web URIs: bare JSON-LD terms, ``urn:epcglobal:cbv:…`` and CURIEs
  (steps 14-15); EPC URNs as canonical GS1 Digital Links (step 16); any GS1 Digital Link
  constrained to ``id.gs1.org``, no query, the finest key qualifier (step 17);
* ILMD and user extensions as ``{namespace}localName=value``, sorted, after the standard
  fields; extensions inside readPoint, bizLocation and sensor structures at the end of
  their parent (steps 18-20).

Not hashed: ``eventID``, ``recordTime`` (set by the capturing repository),
``errorDeclaration`` (an error declaration must keep the hash of the event it corrects,
EPCIS 2.0 §7.4.1.4) and ``rdfs:comment`` (EPCIS 2.0 §7.3.6: a comment is not part of the
event's meaning).

Order of ``parentID``: CBV 2.0 §8.9.2 puts ``epcList`` (4) before ``parentID`` (5), which
matters only for a TransactionEvent with both; the Python reference implementation
(RalphTro/epcis-event-hash-generator 1.9.3) puts ``parentID`` first, OpenEPCIS's Java one
follows the standard. Salus follows the standard.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from salus.supply.identifiers import constrained_digital_link, epc_uri_to_digital_link

HASH_PREFIX = "ni:///sha-256;"
HASH_SUFFIX = "?ver=CBV2.0"


class EventHashError(ValueError):
    """An event the hash cannot be computed for (not an object, a bad timestamp, …)."""


# -- JSON-LD vocabulary (the contexts GS1 publishes, shipped in gs1/contexts) ----------------
@cache
def _context(name: str) -> dict[str, Any]:
    path = resources.files("salus.supply") / "gs1" / "contexts" / name
    return json.loads(path.read_text(encoding="utf-8"))["@context"]


@cache
def _terms(name: str) -> dict[str, str]:
    """The bare terms of a scoped vocabulary context, expanded to full IRIs."""
    ctx = _context(name)
    prefixes = {k: v for k, v in ctx.items() if isinstance(v, str) and v.endswith("/")}
    out = {}
    for term, value in ctx.items():
        if term.startswith("@") or not isinstance(value, str) or term in prefixes:
            continue
        prefix, _, local = value.partition(":")
        out[term] = prefixes[prefix] + local if prefix in prefixes else value
    return out


#: The prefixes the EPCIS 2.0 context defines (EPCIS 2.0 §8.3, epcis-context.jsonld).
@cache
def _standard_prefixes() -> dict[str, str]:
    return {k: v for k, v in _context("epcis-context-root.jsonld").items()
            if isinstance(v, str) and not k.startswith("@") and v.endswith(("/", "#", ":"))}


#: CBV 2.0 §8.9 step 14: the URN form of each CBV vocabulary and its Web URI.
_CBV_URN = {
    "urn:epcglobal:cbv:bizstep:": "https://ref.gs1.org/cbv/BizStep-",
    "urn:epcglobal:cbv:disp:": "https://ref.gs1.org/cbv/Disp-",
    "urn:epcglobal:cbv:btt:": "https://ref.gs1.org/cbv/BTT-",
    "urn:epcglobal:cbv:sdt:": "https://ref.gs1.org/cbv/SDT-",
    "urn:epcglobal:cbv:er:": "https://ref.gs1.org/cbv/ER-",
}

#: Which scoped context expands the bare terms of which field (epcis-context.jsonld).
_VOCAB_CONTEXT = {
    "bizStep": "cbv-context-bizstep.jsonld",
    "disposition": "cbv-context-disposition.jsonld",
    "set": "cbv-context-disposition.jsonld",
    "unset": "cbv-context-disposition.jsonld",
    "bizTransactionType": "cbv-context-biztransaction-type.jsonld",
    "sourceDestType": "cbv-context-sourcedest-type.jsonld",
    "sensorType": "gs1-context-measurement-type.jsonld",
    "exception": "gs1-context-sensor-alert-type.jsonld",
    "component": "cbv-context-component.jsonld",
}

# -- the canonical property order (CBV 2.0 §8.9.2) ---------------------------------------
_EPC_LISTS = ("epcList", "inputEPCList", "childEPCs", "outputEPCList")
_QUANTITY_LISTS = ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList")
_TOP_ORDER = (
    "eventTime", "eventTimeZoneOffset", "certificationInfo", "epcList", "parentID",
    "inputEPCList", "childEPCs", "quantityList", "childQuantityList", "inputQuantityList",
    "outputEPCList", "outputQuantityList", "action", "transformationID", "bizStep",
    "disposition", "persistentDisposition", "readPoint", "bizLocation", "bizTransactionList",
    "sourceList", "destinationList", "sensorElementList", "ilmd",
)
_SENSOR_METADATA = ("time", "startTime", "endTime", "deviceID", "deviceMetadata", "rawData",
                    "dataProcessingMethod", "bizRules")
_SENSOR_REPORT = ("type", "exception", "deviceID", "deviceMetadata", "rawData",
                  "dataProcessingMethod", "time", "microorganism", "chemicalSubstance", "value",
                  "component", "stringValue", "booleanValue", "hexBinaryValue", "uriValue",
                  "minValue", "maxValue", "meanValue", "sDev", "percRank", "percValue", "uom",
                  "coordinateReferenceSystem")
_TIMES = frozenset({"eventTime", "time", "startTime", "endTime"})
#: Not part of the hash (module docstring).
_EXCLUDED = frozenset({"type", "eventID", "recordTime", "errorDeclaration", "@context",
                       "rdfs:comment"})


class _Namespaces:
    """Prefix -> IRI for extension names (the document's and the event's @context)."""

    def __init__(self, contexts: Iterable[Any]) -> None:
        self.prefixes = dict(_standard_prefixes())
        self.vocab: str | None = None
        for ctx in contexts:
            for item in ctx if isinstance(ctx, list) else [ctx]:
                if isinstance(item, Mapping):
                    for key, value in item.items():
                        if key == "@vocab" and isinstance(value, str):
                            self.vocab = value
                        elif isinstance(value, str) and not key.startswith("@"):
                            self.prefixes[key] = value
                        elif isinstance(value, Mapping) and isinstance(value.get("@id"), str):
                            self.prefixes[key] = value["@id"]

    def expand(self, name: str) -> str:
        """CBV 2.0 §8.9 steps 18-19: an extension's name as ``{namespace}localName``."""
        prefix, colon, local = name.partition(":")
        if colon and prefix in self.prefixes and not local.startswith("//"):
            # the prefix's IRI is the namespace, even one ending in ":" (cbvmda)
            return "{" + self.prefixes[prefix] + "}" + local
        if colon:
            iri = name
        elif name in self.prefixes:  # a term defined straight to an IRI
            iri = self.prefixes[name]
        elif self.vocab:
            iri = self.vocab + name
        else:
            return name
        cut = max(iri.rfind("/"), iri.rfind("#"))
        return "{" + iri[:cut + 1] + "}" + iri[cut + 1:] if cut >= 0 else iri

    def curie(self, value: str) -> str:
        """CBV 2.0 §8.9 step 15: a compact IRI expanded with the known prefixes."""
        prefix, colon, local = value.partition(":")
        if colon and prefix in self.prefixes and not local.startswith("//"):
            return self.prefixes[prefix] + local
        return value


# -- values ---------------------------------------------------------------------------------
_TIMESTAMP = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$")


def normalise_time(value: str) -> str:
    """CBV 2.0 §8.9 steps 8-9: UTC, ``Z``, milliseconds (the third digit rounded half-up
    from the fourth; the carry may reach the seconds)."""
    match = _TIMESTAMP.match(value.strip())
    if not match:
        raise EventHashError(f"not an xsd:dateTimeStamp: {value[:40]!r}")
    whole, fraction, zone = match.groups()
    try:
        moment = datetime.fromisoformat(whole + ("+00:00" if zone == "Z" else zone))
    except ValueError as exc:
        raise EventHashError(f"not a valid timestamp: {value[:40]!r}") from exc
    millis = int((Decimal("0." + (fraction or "0")) * 1000).quantize(Decimal(1), ROUND_HALF_UP))
    moment = moment.astimezone(UTC) + timedelta(milliseconds=millis)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _number(value: int | float | Decimal) -> str:
    """CBV 2.0 §8.9 steps 6-7: no trailing zeros, no exponent (1.0 -> 1, 1e-7 -> 0.0000001)."""
    if isinstance(value, int):
        return str(value)
    try:
        text = format(Decimal(repr(value) if isinstance(value, float) else value).normalize(), "f")
    except InvalidOperation as exc:
        raise EventHashError(f"not a finite number: {value!r}") from exc
    return "0" if text in ("-0", "") else text


@lru_cache(maxsize=4096)  # places, parties and vocabulary recur in every event
def _uri(value: str) -> str:
    """CBV 2.0 §8.9 steps 14, 16, 17: CBV URNs to Web URIs, EPC URNs and Digital Links to
    constrained canonical Digital Links; anything else unchanged."""
    if value.startswith("urn:epcglobal:cbv:"):
        for urn, web in _CBV_URN.items():
            if value.startswith(urn):
                return web + value[len(urn):]
        return value
    if value.startswith("urn:epc:"):
        return epc_uri_to_digital_link(value) or value
    if value.startswith(("https://", "http://")):
        return constrained_digital_link(value) or value
    return value


def _scalar(value: Any, key: str, ns: _Namespaces, vocab: str | None = None) -> str:
    """One value as the pre-hash string writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return _number(value)
    if isinstance(value, Mapping) and "@value" in value:  # a JSON-LD value object
        return _scalar(value["@value"], key, ns, vocab)
    if not isinstance(value, str):
        raise EventHashError(f"{key}: expected a value, got {type(value).__name__}")
    text = value.strip()
    if key in _TIMES:
        return normalise_time(text)
    if vocab is not None:
        text = _terms(_VOCAB_CONTEXT[vocab]).get(text) or ns.curie(text)
    return _uri(text)


def _pair(key: str, value: Any, ns: _Namespaces, vocab: str | None = None) -> str:
    return f"{key}={_scalar(value, key, ns, vocab)}"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _flat(value: Any) -> list[Any]:
    """An extension's values: JSON-LD has no nested lists, [[1, 2]] means [1, 2]."""
    if not isinstance(value, list):
        return [value]
    return [leaf for item in value for leaf in _flat(item)]


# -- extensions (steps 18-20) ------------------------------------------------------------------
def _extension(name: str, value: Any, ns: _Namespaces) -> list[str]:
    """An extension element: ``{ns}name=value`` for each value of a list (step 19), or
    ``{ns}name`` followed by its sorted children for a structure."""
    key = ns.expand(name)
    out = []
    for item in _flat(value):
        if isinstance(item, Mapping) and "@value" not in item:
            children = _extensions(item, ns, known=())
            out.append(key + "".join(children))
        elif item is None:
            out.append(key)
        else:
            out.append(f"{key}={_scalar(item, name, ns)}")
    return out


def _extensions(obj: Mapping[str, Any], ns: _Namespaces, known: Iterable[str]) -> list[str]:
    """The sorted extension strings of ``obj``: every member not in ``known``."""
    known = set(known)
    parts: list[str] = []
    for name, value in obj.items():
        if name in known or name in _EXCLUDED or name.startswith("@"):
            continue
        parts.extend(_extension(name, value, ns))
    return sorted(parts)


# -- standard structures -----------------------------------------------------------------------
def _fields(obj: Mapping[str, Any], order: tuple[str, ...], ns: _Namespaces,
            vocab: Mapping[str, str] | None = None) -> str:
    """The standard fields of a structure in canonical order, then its extensions."""
    vocab = vocab or {}
    parts = [_pair(k, obj[k], ns, vocab.get(k)) for k in order if obj.get(k) is not None]
    return "".join(parts) + "".join(_extensions(obj, ns, order))


def _typed_list(items: list[Any], id_key: str, type_vocab: str, ns: _Namespaces) -> str:
    """bizTransactionList, sourceList, destinationList (step 13): ``type=…`` before the id."""
    members = []
    for item in items:
        if not isinstance(item, Mapping):
            raise EventHashError(f"{id_key}: expected an object")
        text = _pair("type", item["type"], ns, type_vocab) if item.get("type") is not None else ""
        if item.get(id_key) is not None:
            text += _pair(id_key, item[id_key], ns)
        members.append(text + "".join(_extensions(item, ns, ("type", id_key))))
    return "".join(sorted(members))


def _quantity_list(items: list[Any], ns: _Namespaces) -> str:
    members = []
    for item in items:
        if not isinstance(item, Mapping):
            raise EventHashError("quantityElement: expected an object")
        members.append("quantityElement" + _fields(item, ("epcClass", "quantity", "uom"), ns))
    return "".join(sorted(members))


def _sensor_element(element: Any, ns: _Namespaces) -> str:
    if not isinstance(element, Mapping):
        raise EventHashError("sensorElement: expected an object")
    text = "sensorElement"
    if isinstance(element.get("sensorMetadata"), Mapping):
        text += "sensorMetadata" + _fields(element["sensorMetadata"], _SENSOR_METADATA, ns)
    reports = []
    for report in _as_list(element.get("sensorReport") or []):
        if not isinstance(report, Mapping):
            raise EventHashError("sensorReport: expected an object")
        vocab = {"type": "sensorType", "exception": "exception", "component": "component"}
        reports.append("sensorReport" + _fields(report, _SENSOR_REPORT, ns, vocab))
    text += "".join(sorted(reports))
    return text + "".join(_extensions(element, ns, ("sensorMetadata", "sensorReport")))


def _field(key: str, value: Any, ns: _Namespaces) -> str:
    """One top-level standard field (CBV 2.0 §8.9.2, rows 2-24)."""
    if key in _EPC_LISTS:
        return key + "".join(sorted(_pair("epc", epc, ns) for epc in _as_list(value)))
    if key in _QUANTITY_LISTS:
        return key + _quantity_list(_as_list(value), ns)
    if key == "certificationInfo":
        return "".join(sorted(_pair(key, v, ns) for v in _as_list(value)))
    if key in ("bizStep", "disposition"):
        return _pair(key, value, ns, key)
    if key == "persistentDisposition":
        if not isinstance(value, Mapping):
            raise EventHashError("persistentDisposition: expected an object")
        parts = [_pair(k, v, ns, k) for k in ("set", "unset") for v in
                 sorted(_as_list(value.get(k) or []), key=lambda v: _scalar(v, k, ns, k))]
        return key + "".join(parts) + "".join(_extensions(value, ns, ("set", "unset")))
    if key in ("readPoint", "bizLocation"):
        if not isinstance(value, Mapping):
            raise EventHashError(f"{key}: expected an object")
        return key + _fields(value, ("id",), ns)
    if key == "bizTransactionList":
        return key + _typed_list(_as_list(value), "bizTransaction", "bizTransactionType", ns)
    if key in ("sourceList", "destinationList"):
        return key + _typed_list(_as_list(value), key[:-4], "sourceDestType", ns)
    if key == "sensorElementList":
        return key + "".join(sorted(_sensor_element(e, ns) for e in _as_list(value)))
    if key == "ilmd":
        if not isinstance(value, Mapping):
            raise EventHashError("ilmd: expected an object")
        return key + "".join(_extensions(value, ns, ()))
    return _pair(key, value, ns)


def prehash(event: Mapping[str, Any], contexts: Iterable[Any] = ()) -> str:
    """The CBV 2.0 §8.9 pre-hash string of one event. ``contexts``: the document's
    ``@context`` (for the namespaces of extensions); the event's own is added."""
    if not isinstance(event, Mapping) or not isinstance(event.get("type"), str):
        raise EventHashError("an event is an object with a type")
    ns = _namespaces(json.dumps([*contexts, event.get("@context") or []], sort_keys=True))
    parts = [f"eventType={event['type']}"]
    for key in _TOP_ORDER:
        if event.get(key) is not None:
            parts.append(_field(key, event[key], ns))
    parts.extend(_extensions(event, ns, _TOP_ORDER))
    return "".join(parts)


@lru_cache(maxsize=256)  # one per document's (and event's) @context, not one per event
def _namespaces(contexts: str) -> _Namespaces:
    return _Namespaces(json.loads(contexts))


def expanded_names(event: Mapping[str, Any], contexts: Iterable[Any] = ()
                   ) -> Callable[[str], str]:
    """An event's extension names as ``{namespace}localName`` (steps 18-19), with the
    prefixes its document's ``contexts`` and its own ``@context`` define: how a reader of
    an extension finds it whatever prefix the capturer chose."""
    return _namespaces(json.dumps([*contexts, event.get("@context") or []],
                                  sort_keys=True)).expand


def hash_prehash(text: str) -> str:
    """RFC 6920 §3 ``ni`` URI of a pre-hash string, with CBV 2.0 §8.9's ``ver``."""
    return HASH_PREFIX + hashlib.sha256(text.encode("utf-8")).hexdigest() + HASH_SUFFIX


def event_hash(event: Mapping[str, Any], contexts: Iterable[Any] = ()) -> str:
    """The canonical event hash (CBV 2.0 §8.9) of one event."""
    return hash_prehash(prehash(event, contexts))


def document_events(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The events of an EPCISDocument or EPCISQueryDocument, in document order (EPCIS 2.0
    §9.3: ``epcisBody.eventList``, or ``epcisBody.queryResults.resultsBody.eventList``)."""
    body = document.get("epcisBody")
    if not isinstance(body, Mapping):
        raise EventHashError("no epcisBody")
    if "queryResults" in body:
        body = (body.get("queryResults") or {}).get("resultsBody") or {}
    events = body.get("eventList") if isinstance(body, Mapping) else None
    if not isinstance(events, list):
        raise EventHashError("no eventList")
    return events


def document_hashes(document: Mapping[str, Any],
                    hasher: Callable[[Mapping[str, Any], Iterable[Any]], str] = event_hash) -> list[str]:
    """One canonical hash per event of an EPCIS document, in document order."""
    context = document.get("@context") or []
    return [hasher(event, [context]) for event in document_events(document)]
