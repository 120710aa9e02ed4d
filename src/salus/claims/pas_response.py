"""The payer's answer to a PAS request, as FHIR: the ClaimResponse of ``Claim/$submit``
(first in its Bundle) and the Bundle ``Claim/$inquire`` answers with.

Each item echoes the request's ``itemSequence`` (and its item trace number) and carries its
decision in the PAS ``reviewAction`` extension on the item's adjudication (PAS STU 2):
the X12 306 action code (A1 certified, A2 certified in part, A3 not certified, A4 pended,
A6 modified) and, for an approval, the authorisation number. Why an item was denied or
reduced is a CARC in ``adjudication.reason`` and a process note naming the rule; the
PAS ``reasonCode`` sub-extension is bound to X12's review decision reason codes (code
list 886), which are not CARCs, so Salus does not put a CARC there. A modified item's
approved detail is an ``addItem``; an approval carries ``preAuthRef`` and
``preAuthPeriod``, on the response and on each approved item.

The decisions are :class:`ItemDecision` values: the adjudication's output, adapted.
Everything built here is validated against the R4 models before it is returned.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from salus.claims import fhir_values as fv
from salus.claims.fhir_values import Coded
from salus.claims.pas_request import ITEM_TRACE_NUMBER, PAS, Item, PasRequest

REVIEW_ACTION = PAS + "extension-reviewAction"
REVIEW_ACTION_CODE = PAS + "extension-reviewActionCode"
PRE_AUTH_PERIOD = PAS + "extension-itemPreAuthPeriod"
AUTHORIZED_DETAIL = PAS + "extension-itemAuthorizedDetail"
X12_ACTION = "https://codesystem.x12.org/005010/306"
#: A rule's id, as the rule set names it.
RULE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}")
#: A Salus-made id (a response id, an authorisation number): a FHIR id.
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class Action(StrEnum):
    """X12 306, the action codes of a 278 response, as PAS uses them."""

    APPROVED = "A1"
    PARTIAL = "A2"
    DENIED = "A3"
    PENDED = "A4"
    MODIFIED = "A6"
    CANCELLED = "C"  # an item withdrawn by an update, or a request cancelled

    @property
    def display(self) -> str:
        return _DISPLAY[self]

    @property
    def approves(self) -> bool:
        return self in (Action.APPROVED, Action.PARTIAL, Action.MODIFIED)


_DISPLAY = {Action.APPROVED: "Certified in total", Action.PARTIAL: "Certified - partial",
            Action.DENIED: "Not Certified", Action.PENDED: "Pended", Action.MODIFIED: "Modified",
            Action.CANCELLED: "Cancelled"}
_DISPOSITION = {Action.APPROVED: "Granted", Action.PARTIAL: "Granted in part",
                Action.DENIED: "Denied", Action.PENDED: "Pended", Action.MODIFIED: "Modified",
                Action.CANCELLED: "Cancelled"}


@dataclass(frozen=True, slots=True)
class ItemDecision:
    """The payer's decision on one item of a request.

    ``reason`` is a CARC; ``rule`` the id of the rule that decided (both needed to deny,
    reduce or modify). ``units`` and ``amount_cents`` are what is approved: for A1 they
    default to what was requested; A2 approves fewer units; A6 may change the units, the
    amount and (``service``) the code itself.
    """

    sequence: int
    action: Action
    reason: str | None = None
    rule: str | None = None
    units: int | None = None
    amount_cents: int | None = None
    service: Coded | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """What the payer has said about one request so far."""

    response_id: str
    created: str  # FHIR dateTime of the (latest) decision
    decisions: tuple[ItemDecision, ...]
    pre_auth_ref: str | None = None
    pre_auth_period: tuple[str, str] | None = None  # first and last day, YYYY-MM-DD
    cancelled: bool = False


def check_answer(request: PasRequest, answer: Answer) -> dict[int, Item]:
    """Raise ValueError for an answer that does not fit its request (a bug in the caller:
    never a reason to send a malformed response)."""
    items = {item.sequence: item for item in request.items}
    seqs = [d.sequence for d in answer.decisions]
    if sorted(seqs) != sorted(items) or len(set(seqs)) != len(seqs):
        raise ValueError("one decision per item of the request, by its sequence")
    if not FHIR_ID.fullmatch(answer.response_id):
        raise ValueError("a response id is a FHIR id")
    for d in answer.decisions:
        item = items[d.sequence]
        withdrawn = item.cancelled or request.kind == "cancel" or answer.cancelled
        if (d.action is Action.CANCELLED) != withdrawn and not answer.cancelled:
            raise ValueError(f"item {d.sequence}: C answers exactly the withdrawn items")
        if d.reason is not None and not fv.CARC_CODE.fullmatch(d.reason):
            raise ValueError(f"item {d.sequence}: a reason is a CARC")
        if d.rule is not None and not RULE_ID.fullmatch(d.rule):
            raise ValueError(f"item {d.sequence}: a rule id is 1-64 letters, digits and . _ : -")
        if d.action in (Action.DENIED, Action.PARTIAL, Action.MODIFIED) and not (d.reason and d.rule):
            raise ValueError(f"item {d.sequence}: {d.action} needs a reason (CARC) and a rule")
        if d.action is Action.PARTIAL and not (d.units is not None and 0 < d.units < item.units):
            raise ValueError(f"item {d.sequence}: A2 approves fewer units than requested")
        if d.action is Action.MODIFIED and d.units is None and d.amount_cents is None \
                and d.service is None:
            raise ValueError(f"item {d.sequence}: A6 says what is approved instead")
        if d.units is not None and not 0 < d.units <= fv.MAX_UNITS:
            raise ValueError(f"item {d.sequence}: approved units out of range")
        if d.amount_cents is not None and not 0 <= d.amount_cents <= fv.MAX_CENTS:
            raise ValueError(f"item {d.sequence}: approved amount out of range")
    approved = any(d.action.approves for d in answer.decisions) and not answer.cancelled
    if request.use == "preauthorization" and approved:
        if not (answer.pre_auth_ref and FHIR_ID.fullmatch(answer.pre_auth_ref)):
            raise ValueError("an approval carries an authorisation number (preAuthRef)")
        period = answer.pre_auth_period
        if not (period and all(DATE.fullmatch(day) for day in period) and period[0] <= period[1]):
            raise ValueError("an approval carries its period (first and last day)")
    return items


def summary(decisions: Sequence[ItemDecision]) -> Action:
    """The request's decision as one code: pended while any item is; else approved (or
    denied) if every item is; modified if any item is; otherwise approved in part.
    Withdrawn items do not count, unless every item is withdrawn."""
    actions = {d.action for d in decisions} - {Action.CANCELLED} or {Action.CANCELLED}
    if Action.PENDED in actions:
        return Action.PENDED
    if len(actions) == 1:
        return actions.pop()
    return Action.MODIFIED if Action.MODIFIED in actions else Action.PARTIAL


def _category(code: str) -> dict[str, Any]:
    return fv.concept(fv.ADJUDICATION, code)


def _review_action(action: Action, number: str | None) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"url": REVIEW_ACTION_CODE, "valueCodeableConcept":
                                    fv.concept(X12_ACTION, action.value, action.display)}]
    if number:
        parts.insert(0, {"url": "number", "valueString": number})
    return {"url": REVIEW_ACTION, "extension": parts}


def _adjudication(request: PasRequest, item: Item, d: ItemDecision, number: str | None,
                  approved_cents: int | None) -> list[dict[str, Any]]:
    submitted: dict[str, Any] = {"category": _category("submitted")}
    if request.use == "preauthorization":
        submitted["extension"] = [_review_action(d.action, number)]
    if d.reason:
        submitted["reason"] = fv.concept(fv.CARC, d.reason)
    if item.amount_cents is not None:
        submitted["amount"] = fv.money(item.amount_cents, request.currency)
    out = [submitted]
    if approved_cents is not None and d.action not in (Action.PENDED, Action.CANCELLED):
        out.append({"category": _category("benefit"),
                    "amount": fv.money(approved_cents, request.currency)})
    return out


def approved_detail(item: Item, d: ItemDecision) -> tuple[int, int | None]:
    """(units, cents) approved for ``item``; cents None when neither side names an amount."""
    if d.action in (Action.DENIED, Action.CANCELLED):
        return 0, 0 if item.amount_cents is not None else None
    units = d.units if d.units is not None else item.units
    if d.amount_cents is not None:
        return units, d.amount_cents
    if item.amount_cents is None:
        return units, None
    # Fewer units than asked: the same price per unit, when it divides exactly.
    cents = item.amount_cents * units // item.units
    return units, cents


def auth_period(answer: Answer) -> dict[str, str]:
    assert answer.pre_auth_period is not None
    return {"start": answer.pre_auth_period[0], "end": answer.pre_auth_period[1]}


def claim_response(request: PasRequest, answer: Answer) -> dict[str, Any]:
    """The ClaimResponse for ``request`` as ``answer`` decides it (validated)."""
    items = check_answer(request, answer)
    preauth = request.use == "preauthorization"
    approved_any = any(d.action.approves for d in answer.decisions) and not answer.cancelled
    number = answer.pre_auth_ref if preauth and approved_any else None
    notes: list[dict[str, Any]] = []
    out_items, add_items = [], []
    for d in sorted(answer.decisions, key=lambda d: d.sequence):
        item = items[d.sequence]
        units, cents = approved_detail(item, d)
        entry: dict[str, Any] = {"itemSequence": d.sequence}
        extensions = []
        if item.trace_number:
            extensions.append({"url": ITEM_TRACE_NUMBER, "valueIdentifier": item.trace_number.fhir()})
        if number and d.action.approves:
            extensions.append({"url": PRE_AUTH_PERIOD, "valuePeriod": auth_period(answer)})
        if d.action is Action.PARTIAL:
            extensions.append({"url": AUTHORIZED_DETAIL, "extension": [
                {"url": "quantity", "valueQuantity": {"value": units}}]})
        if extensions:
            entry["extension"] = extensions
        if d.reason or d.rule:
            notes.append({"number": len(notes) + 1, "type": "display",
                          "text": note_text(d)})
            entry["noteNumber"] = [len(notes)]
        entry["adjudication"] = _adjudication(request, item, d, number if d.action.approves
                                              else None, cents)
        out_items.append(entry)
        if d.action is Action.MODIFIED:
            add_items.append(_add_item(request, item, d, units, cents, number))
    action = summary(answer.decisions)
    response: dict[str, Any] = {
        "resourceType": "ClaimResponse", "id": answer.response_id,
        "status": "cancelled" if answer.cancelled else "active",
        "type": fv.concept(fv.CLAIM_TYPE, request.claim_type),
        "use": request.use,
        "patient": {"reference": request.patient_reference} if request.patient_reference
        else {"display": "the Claim's patient"},
        "created": answer.created,
        "insurer": request.payer.fhir(),
        "requestor": request.provider.fhir(),
        "request": _claim_ref(request),
        "outcome": outcome(answer.decisions),
        "disposition": "Cancelled" if answer.cancelled else _DISPOSITION[action],
        "item": out_items,
    }
    if add_items:
        response["addItem"] = add_items
    if preauth:
        response["adjudication"] = [{"category": _category("submitted"),
                                     "extension": [_review_action(action, number)]}]
    if number:
        response["preAuthRef"] = number
        response["preAuthPeriod"] = auth_period(answer)
    if notes:
        response["processNote"] = notes
    get_fhir_model_class("ClaimResponse").model_validate(response)
    return response


def note_text(d: ItemDecision) -> str:
    what = {Action.DENIED: "denied", Action.PARTIAL: "approved in part",
            Action.MODIFIED: "modified", Action.PENDED: "pended for review",
            Action.APPROVED: "approved", Action.CANCELLED: "withdrawn"}[d.action]
    return (f"Item {d.sequence} {what}" + (f" by rule {d.rule}" if d.rule else "")
            + (f" (CARC {d.reason})" if d.reason else "") + ".")


def _add_item(request: PasRequest, item: Item, d: ItemDecision, units: int, cents: int | None,
              number: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "itemSequence": [d.sequence],
        "productOrService": (d.service or item.service).concept(),
        "quantity": {"value": units},
        "adjudication": _adjudication(request, item, d, number, cents),
    }
    if item.trace_number:
        out["extension"] = [{"url": ITEM_TRACE_NUMBER, "valueIdentifier": item.trace_number.fhir()}]
    if cents is not None:
        out["net"] = fv.money(cents, request.currency)
    return out


def outcome(decisions: Sequence[ItemDecision]) -> str:
    pended = sum(d.action is Action.PENDED for d in decisions)
    if pended == len(decisions):
        return "queued"
    return "partial" if pended else "complete"


def _claim_ref(request: PasRequest) -> dict[str, Any]:
    out: dict[str, Any] = {"reference": request.claim_reference}
    if request.identifier:
        out["identifier"] = request.identifier.fhir()
    return out


def response_bundle(request: PasRequest, decisions: Sequence[ItemDecision], *, response_id: str,
                    created: str, pre_auth_ref: str | None = None,
                    pre_auth_period: tuple[str, str] | None = None,
                    base: str | None = None) -> dict[str, Any]:
    """The ``Claim/$submit`` answer: a collection Bundle with the ClaimResponse first,
    carrying the request Bundle's identifier back (the submitter's transaction).
    ``base``: the FHIR base URL the ClaimResponse can be read at (its entry's fullUrl)."""
    answer = Answer(response_id, created, tuple(decisions), pre_auth_ref, pre_auth_period)
    return _bundle(request, [claim_response(request, answer)], response_id, created, base)


def _bundle(request: PasRequest, resources: list[dict[str, Any]], bundle_id: str,
            timestamp: str, base: str | None) -> dict[str, Any]:
    entries = [({"fullUrl": f"{base}/ClaimResponse/{r['id']}"} if base else {}) | {"resource": r}
               for r in resources]
    bundle: dict[str, Any] = {"resourceType": "Bundle", "id": bundle_id, "type": "collection",
                              "timestamp": timestamp}
    if entries:
        bundle["entry"] = entries
    if request.bundle_identifier:
        bundle["identifier"] = request.bundle_identifier.fhir()
    # Each ClaimResponse was validated as it was built; the Bundle's own fields here.
    get_fhir_model_class("Bundle").model_validate(
        {**bundle, "entry": [{k: v for k, v in e.items() if k != "resource"} for e in entries]})
    return bundle


def inquiry_matches(inquiry: PasRequest, stored: PasRequest) -> bool:
    """Whether a stored request is one ``inquiry`` asks about (X12 278 inquiry, by
    example): the same member and provider; the same request identifier, if the inquiry
    gives one; and each service the inquiry names (on its date, if given) among the
    stored request's."""
    if not inquiry.member.ids() & stored.member.ids():
        return False
    if inquiry.provider.identifiers and not set(inquiry.provider.identifiers) & set(
            stored.provider.identifiers):
        return False
    if inquiry.identifier and inquiry.identifier != stored.identifier:
        return False
    for asked in inquiry.items:
        if not any(item.service == asked.service
                   and asked.service_date in (None, item.service_date) for item in stored.items):
            return False
    return True


def inquire_response(inquiry: PasRequest, found: Sequence[tuple[PasRequest, Answer]], *,
                     bundle_id: str, timestamp: str, base: str | None = None) -> dict[str, Any]:
    """The ``Claim/$inquire`` answer: one Bundle holding the current ClaimResponse of each
    matching request (none when nothing matches), as PAS STU 2.1 defines it."""
    if not FHIR_ID.fullmatch(bundle_id):
        raise ValueError("a Bundle id is a FHIR id")
    return _bundle(inquiry, [claim_response(request, answer) for request, answer in found],
                   bundle_id, timestamp, base)
