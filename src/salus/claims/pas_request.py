"""A Da Vinci PAS request Bundle read into the facts Salus decides on.

The order of checks is the order of cost: size (:data:`MAX_BUNDLE_BYTES`), then strict JSON
(:func:`salus.canonical.loads_strict`: duplicate keys, nesting, integers past 2^53,
NaN), then every resource against the FHIR R4 models of ``fhir.resources`` (R4B, the
same structure for every resource used here) and the required bindings Salus knows,
then what PAS and Salus need: the Claim first, its focal Coverage in the Bundle naming a
member id, coded services, whole units, whole cents, full dates. Every problem found is
an issue of one OperationOutcome (:class:`PasRefused`), with the FHIRPath of the element
from the Bundle; diagnostics never quote the submitted values, so an outcome can be
logged without health information.

The member is found without Salus ids: the focal Coverage's ``identifier`` and
``subscriberId`` are what the payer's recorded coverage is matched against.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Literal

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.resource import Resource
from pydantic import ValidationError

from salus.canonical import JSONError, loads_strict
from salus.claims import fhir_values as fv
from salus.claims.fhir_values import Coded, Identifier
from salus.records import fhir_bindings
from salus.records.fhir_export import operation_outcome
from salus.records.fhir_ingest import InvalidFHIR, Issue

MAX_BUNDLE_BYTES = 16 * 1024 * 1024
#: Enough for a Claim, its parties, one order per item and one document per supporting
#: info (100 each); every entry is validated, ~0.8 ms each for small ones.
MAX_ENTRIES = 250
#: Service lines per request (X12 837P allows 50; 278 requests are smaller still).
MAX_ITEMS = 100
MAX_SUPPORTING = 100
MAX_ISSUES = 50

PAS = "http://hl7.org/fhir/us/davinci-pas/StructureDefinition/"
ITEM_TRACE_NUMBER = PAS + "extension-itemTraceNumber"
#: The modifier extension an update sets on an item or a supporting info it withdraws;
#: the second is its name in the 2019 reference implementation.
INFO_CANCELLED = (PAS + "modifierextension-infoCancelled", PAS + "extension-itemCancelled")
CERTIFICATION_TYPE = PAS + "extension-certificationType"
CERTIFICATION_CANCEL = "3"  # X12 1322 "Cancel"

USES = ("preauthorization", "claim")
CLAIM_STATUS = ("active", "cancelled", "draft", "entered-in-error")
PRIORITIES = ("stat", "normal", "deferred")
CLAIM_TYPES = ("institutional", "oral", "pharmacy", "professional", "vision")
#: Where a Bundle may say what the Claim requests when it has no items (the 2019 RI form).
ORDER_TYPES = ("DeviceRequest", "ServiceRequest", "MedicationRequest", "NutritionOrder")
PRACTITIONER_TYPES = ("Practitioner", "PractitionerRole")

Kind = Literal["new", "update", "cancel"]
RESOURCE_NAME = re.compile(r"[A-Z][A-Za-z]{1,63}")


class PasRefused(InvalidFHIR):
    """A request Salus cannot process: one OperationOutcome of every issue found.
    ``status``: 413 too large, 400 not JSON Salus reads, 422 JSON that is not a valid PAS
    request."""

    def outcome(self) -> dict[str, Any]:
        return operation_outcome(self.issues)


@dataclass(frozen=True, slots=True)
class Party:
    """An organisation or practitioner as the Bundle names it: the reference the Claim
    used, the type it resolved to in the Bundle, and its business identifiers (NPI...)."""

    reference: str | None
    resource_type: str | None
    identifiers: tuple[Identifier, ...]

    @property
    def npi(self) -> str | None:
        return next((i.value for i in self.identifiers if i.system == fv.NPI), None)

    def fhir(self) -> dict[str, Any]:
        """A Reference to this party (its first identifier rides along: it means the same
        thing to every system, the local reference only to the sender's)."""
        out: dict[str, Any] = {"reference": self.reference} if self.reference else {}
        if self.identifiers:
            out["identifier"] = self.identifiers[0].fhir()
        if self.resource_type and not self.reference:
            out["type"] = self.resource_type
        return out or {"display": "unknown"}


@dataclass(frozen=True, slots=True)
class Member:
    """How the payer finds the member: the focal Coverage's ids."""

    coverage_reference: str
    subscriber_id: str | None
    identifiers: tuple[Identifier, ...]

    def ids(self) -> frozenset[str]:
        """Every member id value, to compare with the payer's recorded member ids."""
        return frozenset([*(i.value for i in self.identifiers),
                          *([self.subscriber_id] if self.subscriber_id else [])])


@dataclass(frozen=True, slots=True)
class Item:
    sequence: int
    service: Coded
    modifiers: tuple[str, ...]
    units: int
    amount_cents: int | None  # the line's net (or unit price x units); None if not given
    service_date: str | None  # YYYY-MM-DD: servicedDate, or the start of servicedPeriod
    service_end: str | None
    place_of_service: str | None  # CMS place-of-service code, two digits
    trace_number: Identifier | None
    practitioner: Party | None  # the care team member the item names, else the request's
    information: tuple[int, ...]  # supportingInfo sequences the item cites
    cancelled: bool  # withdrawn by an update (PAS infoCancelled)


@dataclass(frozen=True, slots=True)
class SupportingInfo:
    sequence: int
    category: str | None
    reference: str | None  # valueReference.reference: a record id, or a Bundle entry
    resource_type: str | None  # what the reference resolves to in the Bundle, if it does
    cancelled: bool


@dataclass(frozen=True, slots=True)
class Related:
    """An earlier request this one updates or cancels (Claim.related)."""

    reference: str | None
    identifier: Identifier | None  # given, or the identifier of the Claim referenced
    relationship: str | None


@dataclass(frozen=True, slots=True)
class PasRequest:
    use: Literal["preauthorization", "claim"]
    kind: Kind
    status: str
    claim_type: str  # professional, institutional, ...
    claim_reference: str  # the Claim's fullUrl, else Claim/<id>
    identifier: Identifier | None  # Claim.identifier: the provider's number for it
    bundle_identifier: Identifier | None  # Bundle.identifier: the submitter's transaction
    created: str
    priority: str  # stat | normal | deferred
    patient_reference: str | None  # the sender's reference: never a Salus id
    member: Member
    payer: Party
    provider: Party
    practitioner: Party | None
    items: tuple[Item, ...]
    supporting_info: tuple[SupportingInfo, ...]
    related: tuple[Related, ...]
    pre_auth_refs: tuple[str, ...]  # authorisations a claim cites (insurance.preAuthRef)
    currency: str | None

    @property
    def expedited(self) -> bool:
        """CMS-0057-F: an expedited request is decided within 72 hours, a standard one
        within 7 calendar days. PAS says urgent with priority ``stat``."""
        return self.priority == "stat"


# -- reading ---------------------------------------------------------------------------


class _Issues:
    def __init__(self) -> None:
        self.found: list[Issue] = []
        self.bad_paths: set[str] = set()  # reported by the FHIR models: not repeated

    def add(self, where: str, why: str, code: str = "invalid") -> None:
        if not any(where == p or where.startswith((p + ".", p + "[")) for p in self.bad_paths):
            self.found.append(Issue(where, why, code))

    def raise_if_any(self, status: int = 422) -> None:
        if self.found:
            raise PasRefused(self.found[:MAX_ISSUES], status)


def _load(body: bytes) -> Any:
    if len(body) > MAX_BUNDLE_BYTES:
        raise PasRefused([Issue("Bundle", f"a PAS Bundle is at most {MAX_BUNDLE_BYTES} bytes",
                                "too-costly")], 413)
    try:
        loads_strict(body, decimals=True)  # every hostile-input check, on the raw bytes
    except JSONError as exc:
        raise PasRefused([Issue("Bundle", f"INVALID_JSON: {exc}", "structure")], 400) from None
    # The same bytes again, now known to be safe, with decimals exact (money, units).
    return json.loads(body, parse_float=Decimal)


def _d(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _l(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _s(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _loc(prefix: str, loc: tuple[Any, ...]) -> str:
    out = prefix
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


@dataclass
class _Entry:
    where: str
    resource: dict[str, Any]
    full_url: str | None


def _entries(doc: Any, issues: _Issues) -> list[_Entry]:
    if not isinstance(doc, dict) or doc.get("resourceType") != "Bundle":
        raise PasRefused([Issue("Bundle", "a PAS request is a Bundle (resourceType Bundle) "
                                          "with the Claim as its first entry", "structure")])
    entries = doc.get("entry")
    if not isinstance(entries, list) or not entries:
        raise PasRefused([Issue("Bundle.entry", "a PAS Bundle holds at least the Claim",
                                "required")])
    if len(entries) > MAX_ENTRIES:
        raise PasRefused([Issue("Bundle.entry", f"at most {MAX_ENTRIES} entries",
                                "too-costly")])
    if doc.get("type") != "collection":
        issues.add("Bundle.type", "a PAS request Bundle is of type collection", "code-invalid")
    out = []
    for i, entry in enumerate(entries):
        resource = _d(entry).get("resource")
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            issues.add(f"Bundle.entry[{i}].resource", "each entry holds a resource", "required")
            continue
        out.append(_Entry(f"Bundle.entry[{i}].resource", resource, _s(_d(entry).get("fullUrl"))))
    return out


def _resource_model(kind: str) -> type[Resource] | None:
    """The model of a concrete FHIR resource type named ``kind``, or None (datatypes such as
    Coding, the abstract Resource and DomainResource, and names that are nothing)."""
    if not RESOURCE_NAME.fullmatch(kind) or kind in ("Resource", "DomainResource"):
        return None
    try:
        model = get_fhir_model_class(kind)
    except (ValueError, AttributeError, TypeError):
        return None
    return model if isinstance(model, type) and issubclass(model, Resource) else None


def _validate(doc: dict[str, Any], entries: list[_Entry], issues: _Issues) -> None:
    """Each resource against its R4 model and required bindings; the Bundle's own fields
    against the Bundle model (its entries' resources checked one by one, for paths)."""
    shell = {**doc, "entry": [{k: v for k, v in _d(e).items() if k != "resource"}
                              for e in _l(doc.get("entry"))]}
    try:
        get_fhir_model_class("Bundle").model_validate(shell)
    except ValidationError as exc:
        for err in exc.errors()[:MAX_ISSUES]:
            issues.add(_loc("Bundle", tuple(err["loc"])), err["msg"])
    for entry in entries:
        kind = entry.resource["resourceType"]
        if kind == "Bundle":
            issues.add(f"{entry.where}.resourceType", "a PAS Bundle does not nest Bundles",
                       "not-supported")
            continue
        model = _resource_model(kind)
        if model is None:
            issues.add(f"{entry.where}.resourceType", "not a FHIR R4 resource type",
                       "not-supported")
            continue
        try:
            model.model_validate(entry.resource)
        except ValidationError as exc:
            for err in exc.errors()[:MAX_ISSUES]:
                where = _loc(entry.where, tuple(err["loc"]))
                issues.add(where, err["msg"])
                issues.bad_paths.add(where)
            continue  # bindings are checked on what has the model's shape
        for where, why in fhir_bindings.check(entry.resource, entry.where):
            issues.add(where, why, "code-invalid")


class _Index:
    """The Bundle's resources by the names a reference may use: fullUrl and Type/id."""

    def __init__(self, entries: list[_Entry], issues: _Issues) -> None:
        self.by_name: dict[str, _Entry] = {}
        for entry in entries:
            names = {entry.full_url} if entry.full_url else set()
            rid = _s(entry.resource.get("id"))
            if rid:
                names.add(f"{entry.resource['resourceType']}/{rid}")
            for name in names:
                if name in self.by_name:
                    # Two resources one reference could mean: which Coverage is the
                    # member's would be the reader's guess. Refused.
                    issues.add(entry.where, "two entries of this Bundle have the same "
                                            "fullUrl or type and id", "business-rule")
                self.by_name[name] = entry

    def get(self, reference: str | None) -> _Entry | None:
        if not reference:
            return None
        found = self.by_name.get(reference)
        if found is None and "/" in reference:  # an absolute URL: its Type/id tail
            parts = reference.split("/_history/")[0].rstrip("/").split("/")
            if len(parts) >= 2:
                found = self.by_name.get(f"{parts[-2]}/{parts[-1]}")
        return found


def _identifiers(values: Any, where: str, issues: _Issues) -> tuple[Identifier, ...]:
    out = []
    for i, raw in enumerate(_l(values)):
        ident = _identifier(raw, f"{where}[{i}]", issues)
        if ident:
            out.append(ident)
    return tuple(out)


def _identifier(raw: Any, where: str, issues: _Issues) -> Identifier | None:
    value, system = _s(_d(raw).get("value")), _s(_d(raw).get("system"))
    if value is None:
        return None
    if not fv.ID_VALUE.fullmatch(value):
        issues.add(f"{where}.value", "an identifier value is 1-64 letters, digits and . _ : / -",
                   "value")
        return None
    if system is not None and not fv.SYSTEM.fullmatch(system):
        issues.add(f"{where}.system", "an identifier system is a URI", "value")
        return None
    return Identifier(system, value)


def _coded(concept: Any, where: str, issues: _Issues, what: str,
           by_system: bool = True) -> Coded | None:
    """The first coding with a system and a code; the code must have its system's form
    (``by_system``), or at least be a code."""
    codings = _l(_d(concept).get("coding"))
    for i, coding in enumerate(codings):
        system, code = _s(_d(coding).get("system")), _s(_d(coding).get("code"))
        if system is None or code is None:
            continue
        if not fv.SYSTEM.fullmatch(system):
            issues.add(f"{where}.coding[{i}].system", "a code system is a URI", "value")
            return None
        system = fv.system_of(system)
        if not (fv.code_form(system) if by_system else fv.CODE).fullmatch(code):
            issues.add(f"{where}.coding[{i}].code",
                       f"not a code of its system: {what} must be coded, not described",
                       "code-invalid")
            return None
        return Coded(system, code)
    issues.add(f"{where}.coding", f"{what} needs a coding with a system and a code "
                                  "(text alone cannot be decided)", "required")
    return None


def _party(ref: Any, where: str, index: _Index, issues: _Issues) -> Party:
    ref = _d(ref)
    reference = _s(ref.get("reference"))
    own = _identifier(ref.get("identifier"), f"{where}.identifier", issues)
    entry = index.get(reference)
    if entry is None:
        return Party(reference, _s(ref.get("type")), (own,) if own else ())
    resource = entry.resource
    idents = list(_identifiers(resource.get("identifier"), f"{entry.where}.identifier", issues))
    if resource["resourceType"] == "PractitionerRole":
        person = index.get(_s(_d(resource.get("practitioner")).get("reference")))
        if person is not None:
            idents += _identifiers(person.resource.get("identifier"),
                                   f"{person.where}.identifier", issues)
    if own and own not in idents:
        idents.insert(0, own)
    return Party(reference, resource["resourceType"], tuple(idents))


def _modifiers_known(node: Any, where: str, allowed: tuple[str, ...], issues: _Issues) -> bool:
    """Whether ``node`` is withdrawn (infoCancelled), refusing modifier extensions Salus does
    not know: FHIR says a reader that does not understand one must not process the data."""
    cancelled = False
    for i, ext in enumerate(_l(_d(node).get("modifierExtension"))):
        url = _s(_d(ext).get("url"))
        if url in allowed:
            cancelled = cancelled or _d(ext).get("valueBoolean") is True
        else:
            issues.add(f"{where}.modifierExtension[{i}]", "a modifier extension Salus does not "
                                                          "understand", "not-supported")
    return cancelled


def _unknown_modifiers(node: Any, where: str, issues: _Issues,
                       skip: frozenset[str] = frozenset()) -> None:
    """Refuse modifier extensions anywhere under ``node`` but at the paths in ``skip``."""
    if isinstance(node, dict):
        for key, value in node.items():
            at = f"{where}.{key}"
            if key == "modifierExtension" and where not in skip:
                for i, _ in enumerate(_l(value)):
                    issues.add(f"{at}[{i}]", "a modifier extension Salus does not understand",
                               "not-supported")
            else:
                _unknown_modifiers(value, at, issues, skip)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _unknown_modifiers(value, f"{where}[{i}]", issues, skip)


def _cents(money: Any, where: str, issues: _Issues, currencies: set[str]) -> int | None:
    money = _d(money)
    if "value" not in money:
        return None
    try:
        cents = fv.whole(money["value"], 2)
    except fv.Inexact:
        issues.add(f"{where}.value", "an amount is a whole number of cents", "value")
        return None
    if not 0 <= cents <= fv.MAX_CENTS:
        issues.add(f"{where}.value", f"an amount is 0 to {fv.MAX_CENTS} cents", "value")
        return None
    currency = _s(money.get("currency"))
    if currency is not None:
        if not fv.CURRENCY.fullmatch(currency):
            issues.add(f"{where}.currency", "an ISO 4217 currency code", "code-invalid")
        currencies.add(currency)
    return cents


def _units(quantity: Any, where: str, issues: _Issues) -> int:
    if "value" not in _d(quantity):
        return 1
    try:
        units = fv.whole(_d(quantity)["value"])
    except fv.Inexact:
        units = 0
    if not 1 <= units <= fv.MAX_UNITS:
        issues.add(f"{where}.value", f"units of service are a whole number, 1 to {fv.MAX_UNITS}",
                   "value")
        return 1
    return units


def _full_date(value: Any, where: str, issues: _Issues) -> str | None:
    """A day (YYYY-MM-DD) from a FHIR date or dateTime; the models checked the calendar."""
    text = _s(value)
    if text is None:
        return None
    if not fv.FULL_DATE.fullmatch(text[:10]):
        issues.add(where, "a date of service is a full date (YYYY-MM-DD)", "value")
        return None
    return text[:10]


def _service_dates(raw: dict[str, Any], at: str, issues: _Issues) -> tuple[str | None, str | None]:
    if "servicedDate" in raw:
        day = _full_date(raw["servicedDate"], f"{at}.servicedDate", issues)
        return day, day
    period = _d(raw.get("servicedPeriod"))
    start = _full_date(period.get("start"), f"{at}.servicedPeriod.start", issues)
    end = _full_date(period.get("end"), f"{at}.servicedPeriod.end", issues)
    if period and start is None:
        issues.add(f"{at}.servicedPeriod.start", "a service period has a start", "required")
    if start and end and end < start:
        issues.add(f"{at}.servicedPeriod", "the period ends before it starts", "value")
    return start, end or start


def _place(raw: dict[str, Any], at: str, issues: _Issues) -> str | None:
    concept = _d(raw.get("locationCodeableConcept"))
    for i, coding in enumerate(_l(concept.get("coding"))):
        if fv.system_of(_s(_d(coding).get("system")) or "") == fv.PLACE_OF_SERVICE:
            code = _s(_d(coding).get("code")) or ""
            if not fv.code_form(fv.PLACE_OF_SERVICE).fullmatch(code):
                issues.add(f"{at}.locationCodeableConcept.coding[{i}].code",
                           "a CMS place of service is two digits", "code-invalid")
                return None
            return code
    return None


def _trace_number(raw: dict[str, Any], at: str, issues: _Issues) -> Identifier | None:
    for i, ext in enumerate(_l(raw.get("extension"))):
        if _d(ext).get("url") == ITEM_TRACE_NUMBER:
            return _identifier(_d(ext).get("valueIdentifier"), f"{at}.extension[{i}]"
                               ".valueIdentifier", issues)
    return None


@dataclass
class _Context:
    claim: dict[str, Any]
    where: str
    index: _Index
    issues: _Issues
    currencies: set[str]
    care_team: dict[int, Party]
    default_practitioner: Party | None
    info_sequences: frozenset[int]


def _item(raw: Any, at: str, ctx: _Context) -> Item | None:
    raw, issues = _d(raw), ctx.issues
    sequence = raw.get("sequence")
    service = _coded(raw.get("productOrService"), f"{at}.productOrService", issues,
                     "the service")
    modifiers = []
    for i, concept in enumerate(_l(raw.get("modifier"))):
        coded = _coded(concept, f"{at}.modifier[{i}]", issues, "a modifier", by_system=False)
        if coded:
            modifiers.append(coded.code)
    units = _units(raw.get("quantity"), f"{at}.quantity", issues)
    net = _cents(raw.get("net"), f"{at}.net", issues, ctx.currencies)
    price = _cents(raw.get("unitPrice"), f"{at}.unitPrice", issues, ctx.currencies)
    factor = raw.get("factor")
    if price is not None and (factor is None or factor == 1):
        if net is not None and net != price * units:
            issues.add(f"{at}.net", "net must equal unitPrice x quantity", "business-rule")
        net = price * units if net is None else net
        if net > fv.MAX_CENTS:
            issues.add(f"{at}.unitPrice", f"the line comes to more than {fv.MAX_CENTS} cents",
                       "value")
    elif factor is not None and net is None:
        issues.add(f"{at}.net", "a line with a factor states its net", "required")
    start, end = _service_dates(raw, at, issues)
    practitioner = ctx.default_practitioner
    for i, seq in enumerate(_l(raw.get("careTeamSequence"))[:1]):
        if not isinstance(seq, int) or seq not in ctx.care_team:
            issues.add(f"{at}.careTeamSequence[{i}]", "names no careTeam member", "business-rule")
        else:
            practitioner = ctx.care_team[seq]
    information = tuple(s for s in _l(raw.get("informationSequence")) if isinstance(s, int))
    for i, seq in enumerate(information):
        if seq not in ctx.info_sequences:
            issues.add(f"{at}.informationSequence[{i}]", "names no supportingInfo",
                       "business-rule")
    cancelled = _modifiers_known(raw, at, INFO_CANCELLED, issues)
    place, trace = _place(raw, at, issues), _trace_number(raw, at, issues)
    if not isinstance(sequence, int) or service is None:
        return None
    return Item(sequence, service, tuple(modifiers), units, net, start, end, place, trace,
                practitioner, information, cancelled)


def _order_item(claim: dict[str, Any], where: str, ctx: _Context) -> Item | None:
    """The 2019 reference implementation's form: a Claim without items whose
    ``prescription`` (or ``originalPrescription``) is an order in the Bundle; the order's
    code is what is requested, as one item of sequence 1."""
    for name in ("prescription", "originalPrescription"):
        entry = ctx.index.get(_s(_d(claim.get(name)).get("reference")))
        if entry is None or entry.resource["resourceType"] not in ORDER_TYPES:
            continue
        resource = entry.resource
        field = next((f for f in ("codeCodeableConcept", "code", "medicationCodeableConcept")
                      if f in resource), None)
        if field is None:
            continue
        service = _coded(resource[field], f"{entry.where}.{field}", ctx.issues, "the service")
        if service is None:
            return None
        return Item(1, service, (), 1, None, None, None, None, None, ctx.default_practitioner,
                    (), False)
    return None


def _care_team(claim: dict[str, Any], where: str, index: _Index,
               issues: _Issues) -> dict[int, Party]:
    team = {}
    for i, member in enumerate(_l(claim.get("careTeam"))):
        seq = _d(member).get("sequence")
        if isinstance(seq, int):
            team[seq] = _party(_d(member).get("provider"), f"{where}.careTeam[{i}].provider",
                               index, issues)
    return team


def _supporting(claim: dict[str, Any], where: str, index: _Index,
                issues: _Issues) -> tuple[SupportingInfo, ...]:
    infos = _l(claim.get("supportingInfo"))
    if len(infos) > MAX_SUPPORTING:
        issues.add(f"{where}.supportingInfo", f"at most {MAX_SUPPORTING} supporting infos",
                   "too-costly")
        return ()
    out, seen = [], set()
    for i, raw in enumerate(infos):
        at, raw = f"{where}.supportingInfo[{i}]", _d(raw)
        seq = raw.get("sequence")
        if not isinstance(seq, int):
            continue  # the model has said why
        if seq in seen:
            issues.add(f"{at}.sequence", "two supporting infos have this sequence",
                       "business-rule")
        seen.add(seq)
        category = None
        for coding in _l(_d(raw.get("category")).get("coding")):
            category = _s(_d(coding).get("code"))
            if category is not None and not fv.CODE.fullmatch(category):
                issues.add(f"{at}.category", "a category is a code", "code-invalid")
                category = None
            break
        reference = _s(_d(raw.get("valueReference")).get("reference"))
        entry = index.get(reference)
        cancelled = _modifiers_known(raw, at, INFO_CANCELLED, issues)
        out.append(SupportingInfo(seq, category, reference,
                                  entry.resource["resourceType"] if entry else None, cancelled))
    return tuple(out)


def _related(claim: dict[str, Any], where: str, index: _Index,
             issues: _Issues) -> tuple[Related, ...]:
    out = []
    for i, raw in enumerate(_l(claim.get("related"))):
        at, raw = f"{where}.related[{i}]", _d(raw)
        ref = _d(raw.get("claim"))
        reference = _s(ref.get("reference"))
        identifier = _identifier(ref.get("identifier"), f"{at}.claim.identifier", issues)
        entry = index.get(reference)
        if entry is not None and identifier is None:
            ids = _identifiers(entry.resource.get("identifier"), f"{entry.where}.identifier",
                               issues)
            identifier = ids[0] if ids else None
        if reference is None and identifier is None:
            # The 2019 reference implementation put the earlier Claim's id in the
            # element's own id (claim-update.json); read as a reference to that Claim.
            legacy = _s(raw.get("id"))
            reference = f"Claim/{legacy}" if legacy else None
        if reference is None and identifier is None:
            issues.add(f"{at}.claim", "names the earlier request (a reference or an "
                                      "identifier)", "required")
            continue
        relationship = None
        for coding in _l(_d(raw.get("relationship")).get("coding"))[:1]:
            relationship = _s(_d(coding).get("code"))
            if relationship is not None and not fv.CODE.fullmatch(relationship):
                issues.add(f"{at}.relationship", "a relationship is a code", "code-invalid")
                relationship = None
        out.append(Related(reference, identifier, relationship))
    return tuple(out)


def _coverage(claim: dict[str, Any], where: str, index: _Index,
              issues: _Issues) -> tuple[Member | None, dict[str, Any] | None, tuple[str, ...]]:
    insurances = _l(claim.get("insurance"))
    focal = [(i, raw) for i, raw in enumerate(insurances) if _d(raw).get("focal") is True]
    if len(focal) != 1:
        issues.add(f"{where}.insurance", "exactly one insurance is focal: the coverage this "
                                         "request is made under", "business-rule")
        return None, None, ()
    i, raw = focal[0]
    at = f"{where}.insurance[{i}]"
    refs = tuple(r for r in _l(_d(raw).get("preAuthRef")) if isinstance(r, str))
    for j, ref in enumerate(refs):
        if not fv.ID_VALUE.fullmatch(ref):
            issues.add(f"{at}.preAuthRef[{j}]", "an authorisation number is 1-64 letters, digits "
                                                "and . _ : / -", "value")
    reference = _s(_d(_d(raw).get("coverage")).get("reference"))
    entry = index.get(reference)
    if entry is None or entry.resource["resourceType"] != "Coverage":
        issues.add(f"{at}.coverage", "the focal Coverage must be an entry of the Bundle: it "
                                     "names the member", "required")
        return None, None, refs
    coverage = entry.resource
    _unknown_modifiers(coverage, entry.where, issues)
    if coverage.get("status") not in CLAIM_STATUS:  # fm-status, as Claim's
        issues.add(f"{entry.where}.status", "a Coverage status is active, cancelled, draft or "
                                            "entered-in-error", "code-invalid")
    subscriber = _s(coverage.get("subscriberId"))
    if subscriber is not None and not fv.ID_VALUE.fullmatch(subscriber):
        issues.add(f"{entry.where}.subscriberId", "a member id is 1-64 letters, digits and "
                                                  ". _ : / -", "value")
        subscriber = None
    idents = _identifiers(coverage.get("identifier"), f"{entry.where}.identifier", issues)
    if subscriber is None and not idents:
        issues.add(entry.where, "the Coverage names no member id (identifier or subscriberId): "
                                "the payer cannot find the member", "required")
        return None, coverage, refs
    patient = _s(_d(claim.get("patient")).get("reference"))
    beneficiary = _s(_d(coverage.get("beneficiary")).get("reference"))
    same = patient == beneficiary or (index.get(patient) is not None
                                      and index.get(patient) is index.get(beneficiary))
    if patient and beneficiary and not same:
        issues.add(f"{entry.where}.beneficiary", "the Coverage covers another patient than "
                                                 "the Claim's", "business-rule")
    return Member(reference or "", subscriber, idents), coverage, refs


def _single_code(concept: Any, where: str, allowed: tuple[str, ...], issues: _Issues,
                 what: str) -> str | None:
    codes = [_s(_d(c).get("code")) for c in _l(_d(concept).get("coding"))]
    code = next((c for c in codes if c in allowed), None)
    if code is None:
        issues.add(where, f"{what} is one of {', '.join(allowed)}", "code-invalid")
    return code


def _claim_type(claim: dict[str, Any], where: str, issues: _Issues) -> str | None:
    """The claim-type code (R4's codes; a coding without a system may give one of them)."""
    for coding in _l(_d(claim.get("type")).get("coding")):
        code, system = _s(_d(coding).get("code")), _d(coding).get("system")
        if code in CLAIM_TYPES and system in (fv.CLAIM_TYPE, None):
            return code
    issues.add(f"{where}.type", f"a claim type is one of {', '.join(CLAIM_TYPES)} "
                                "(terminology.hl7.org claim-type)", "code-invalid")
    return None


def _kind(claim: dict[str, Any], where: str, items: tuple[Item, ...],
          related: tuple[Related, ...], issues: _Issues) -> Kind:
    status = claim.get("status")
    withdrawn = bool(items) and all(item.cancelled for item in items)
    certification_cancel = any(
        _d(ext).get("url") == CERTIFICATION_TYPE
        and any(_d(c).get("code") == CERTIFICATION_CANCEL
                for c in _l(_d(_d(ext).get("valueCodeableConcept")).get("coding")))
        for ext in _l(claim.get("extension")))
    if status == "cancelled" or withdrawn or certification_cancel:
        if not related:
            issues.add(f"{where}.related", "a cancellation names the request it cancels",
                       "required")
        return "cancel"
    return "update" if related else "new"


def _read_claim(entries: list[_Entry], index: _Index, issues: _Issues,
                inquiry: bool) -> PasRequest | None:
    first = entries[0] if entries and entries[0].where == "Bundle.entry[0].resource" else None
    if first is None or first.resource["resourceType"] != "Claim":
        issues.add("Bundle.entry[0].resource", "the first entry of a PAS Bundle is the Claim",
                   "structure")
        return None
    claim, where = first.resource, first.where
    use = claim.get("use")
    uses = ("preauthorization",) if inquiry else USES
    if use not in uses:
        issues.add(f"{where}.use", f"Salus takes a Claim of use {' or '.join(uses)}",
                   "not-supported")
    status = claim.get("status")
    if status not in CLAIM_STATUS:
        issues.add(f"{where}.status", "a Claim status is active, cancelled, draft or "
                                      "entered-in-error", "code-invalid")
    elif status == "entered-in-error":
        issues.add(f"{where}.status", "a Claim entered in error is not a request",
                   "business-rule")
    claim_type = _claim_type(claim, where, issues)
    priority = _single_code(claim.get("priority"), f"{where}.priority", PRIORITIES, issues,
                            "a priority")
    _unknown_modifiers(claim, where, issues,
                       skip=frozenset(f"{where}.item[{i}]" for i, _ in enumerate(_l(claim.get("item"))))
                       | frozenset(f"{where}.supportingInfo[{i}]"
                                   for i, _ in enumerate(_l(claim.get("supportingInfo")))))
    member, coverage, pre_auth_refs = _coverage(claim, where, index, issues)
    provider = _party(claim.get("provider"), f"{where}.provider", index, issues)
    payer_ref = claim.get("insurer")
    if not payer_ref and coverage is not None:
        payer_ref = _l(coverage.get("payor"))[0] if _l(coverage.get("payor")) else None
    payer = _party(payer_ref, f"{where}.insurer", index, issues)
    care_team = _care_team(claim, where, index, issues)
    practitioner = next((p for p in care_team.values() if p.resource_type in PRACTITIONER_TYPES),
                        provider if provider.resource_type in PRACTITIONER_TYPES else None)
    supporting = _supporting(claim, where, index, issues)
    ctx = _Context(claim, where, index, issues, set(), care_team, practitioner,
                   frozenset(s.sequence for s in supporting))
    raw_items = _l(claim.get("item"))
    items: list[Item] = []
    if len(raw_items) > MAX_ITEMS:
        issues.add(f"{where}.item", f"at most {MAX_ITEMS} items", "too-costly")
    else:
        seen: set[int] = set()
        for i, raw in enumerate(raw_items):
            item = _item(raw, f"{where}.item[{i}]", ctx)
            if item is None:
                continue
            if item.sequence in seen:
                issues.add(f"{where}.item[{i}].sequence", "two items have this sequence",
                           "business-rule")
            seen.add(item.sequence)
            items.append(item)
    if not raw_items:
        order = _order_item(claim, where, ctx)
        if order is not None:
            items.append(order)
        elif not inquiry:
            issues.add(f"{where}.item", "a request names at least one service (an item)",
                       "required")
    if use == "claim":
        for i, item in enumerate(items):
            if item.service_date is None:
                issues.add(f"{where}.item[{i}]", "a claim line has a date of service "
                                                 "(servicedDate or servicedPeriod)", "required")
    if len(ctx.currencies) > 1:
        issues.add(f"{where}.item", "every amount of a request is in one currency",
                   "business-rule")
    related = _related(claim, where, index, issues)
    kind = _kind(claim, where, tuple(items), related, issues)
    identifiers = _identifiers(claim.get("identifier"), f"{where}.identifier", issues)
    if member is None or priority is None or claim_type is None or use not in uses:
        return None
    claim_id = _s(claim.get("id"))
    return PasRequest(
        use=use, kind=kind, status=status, claim_type=claim_type,
        claim_reference=first.full_url or (f"Claim/{claim_id}" if claim_id else "Claim"),
        identifier=identifiers[0] if identifiers else None, bundle_identifier=None,
        created=_s(claim.get("created")) or "", priority=priority,
        patient_reference=_s(_d(claim.get("patient")).get("reference")), member=member,
        payer=payer, provider=provider, practitioner=practitioner, items=tuple(items),
        supporting_info=supporting, related=related, pre_auth_refs=pre_auth_refs,
        currency=next(iter(ctx.currencies), None))


def _read(body: bytes, inquiry: bool) -> PasRequest:
    doc = _load(body)
    issues = _Issues()
    entries = _entries(doc, issues)
    _validate(doc, entries, issues)
    index = _Index(entries, issues)
    request = _read_claim(entries, index, issues, inquiry)
    bundle_id = _identifier(doc.get("identifier"), "Bundle.identifier", issues)
    issues.raise_if_any()
    if request is None:  # every path to None adds an issue: this is a safety net
        raise PasRefused([Issue("Bundle.entry[0].resource", "not a PAS Claim", "invalid")])
    return replace(request, bundle_identifier=bundle_id)


def read_request(body: bytes) -> PasRequest:
    """A ``Claim/$submit`` Bundle (a Claim of use ``preauthorization`` or ``claim`` first),
    or :class:`PasRefused` with every issue found."""
    return _read(body, inquiry=False)


def read_inquiry(body: bytes) -> PasRequest:
    """A ``Claim/$inquire`` Bundle: a PAS Claim Inquiry first (items optional: an inquiry
    asks about what was requested, it requests nothing)."""
    return _read(body, inquiry=True)
