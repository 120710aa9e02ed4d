"""The patient's view of a claim: a FHIR R4 ExplanationOfBenefit.

Every claim and prior authorisation made in a patient's name is shown to her as an EOB:
what was billed or requested (service, date, place, units, amount), what the payer
decided on each line (the CARC and the rule when a line is denied or reduced), what was
paid, and the authorisation a claim cites. The references are the ones the patient's
own FHIR facade serves (her patient id, the coverage's opaque id), never the provider's
local ones; the provider and the payer are named by their business identifiers.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from salus.claims import fhir_values as fv
from salus.claims.pas_request import Item, PasRequest
from salus.claims.pas_response import (
    DATE,
    Action,
    Answer,
    ItemDecision,
    approved_detail,
    auth_period,
    check_answer,
    note_text,
    outcome,
)

PAYMENT_TYPE = "http://terminology.hl7.org/CodeSystem/ex-paymenttype"
#: CARIN Blue Button's adjudication codes: ``memberliability``, what the patient owes.
C4BB_ADJUDICATION = "http://hl7.org/fhir/us/carin-bb/CodeSystem/C4BBAdjudication"
#: The item's sequence on the ledger (its place among the request's live items), which
#: the patient's signed ``claims.flag_phantom`` and ``claims.appeal`` name.
LEDGER_ITEM = "urn:salus:claims:ledger-item"
#: Where the patient's phantom-billing flag on an item stands (claims CL13, CL16):
#: ``under-review``, or what the payer found, ``confirmed`` or ``unfounded``.
PHANTOM_FLAG = "urn:salus:claims:phantom-flag"


def phantom_flag(line: dict[str, Any]) -> str | None:
    """The :data:`PHANTOM_FLAG` code of a claim's ledger line, None if it is not flagged."""
    if not line["flagged"]:
        return None
    flag = line.get("flag") or {}
    return flag.get("finding") or "under-review"


def _item(request: PasRequest, item: Item, d: ItemDecision,
          notes: list[dict[str, Any]], ledger_item: int | None,
          flag: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"sequence": item.sequence, "productOrService": item.service.concept()}
    if ledger_item is not None:
        out["extension"] = [{"url": LEDGER_ITEM, "valuePositiveInt": ledger_item}]
        if flag is not None:
            out["extension"].append({"url": PHANTOM_FLAG, "valueCode": flag})
    if item.modifiers:
        out["modifier"] = [fv.concept(item.service.system, m) for m in item.modifiers]
    if item.service_date and item.service_end and item.service_end != item.service_date:
        out["servicedPeriod"] = {"start": item.service_date, "end": item.service_end}
    elif item.service_date:
        out["servicedDate"] = item.service_date
    if item.place_of_service:
        out["locationCodeableConcept"] = fv.concept(fv.PLACE_OF_SERVICE, item.place_of_service)
    out["quantity"] = {"value": item.units}
    if item.amount_cents is not None:
        out["net"] = fv.money(item.amount_cents, request.currency)
    if d.reason or d.rule:
        notes.append({"number": len(notes) + 1, "type": "display", "text": note_text(d)})
        out["noteNumber"] = [len(notes)]
    submitted: dict[str, Any] = {"category": fv.concept(fv.ADJUDICATION, "submitted")}
    if item.amount_cents is not None:
        submitted["amount"] = fv.money(item.amount_cents, request.currency)
    if d.reason:
        submitted["reason"] = fv.concept(fv.CARC, d.reason)
    adjudication = [submitted]
    units, cents = approved_detail(item, d)
    if d.action not in (Action.PENDED, Action.CANCELLED):
        benefit: dict[str, Any] = {"category": fv.concept(fv.ADJUDICATION, "benefit"),
                                   "value": units}
        if cents is not None:
            benefit["amount"] = fv.money(cents, request.currency)
        adjudication.append(benefit)
    out["adjudication"] = adjudication
    return out


def _totals(request: PasRequest, answer: Answer, items: dict[int, Item]) -> list[dict[str, Any]]:
    lines = [(items[d.sequence], d) for d in answer.decisions]
    if any(item.amount_cents is None for item, _ in lines):
        return []
    submitted = sum(item.amount_cents or 0 for item, _ in lines)
    decided = [(item, d) for item, d in lines if d.action not in (Action.PENDED, Action.CANCELLED)]
    benefit = sum(approved_detail(item, d)[1] or 0 for item, d in decided)
    totals = [{"category": fv.concept(fv.ADJUDICATION, "submitted"),
               "amount": fv.money(submitted, request.currency)}]
    if decided:
        totals.append({"category": fv.concept(fv.ADJUDICATION, "benefit"),
                       "amount": fv.money(min(benefit, fv.MAX_CENTS), request.currency)})
    return totals


def explanation_of_benefit(request: PasRequest, answer: Answer, *, patient: str, coverage: str,
                           insurer: dict[str, Any] | None = None,
                           provider: dict[str, Any] | None = None,
                           paid_cents: int | None = None,
                           payment_date: str | None = None,
                           patient_cents: int | None = None,
                           ledger_items: dict[int, int] | None = None,
                           flags: dict[int, str] | None = None) -> dict[str, Any]:
    """The EOB of ``request`` as ``answer`` decides it (validated against the R4 model).

    ``patient`` and ``coverage`` are references the patient's FHIR facade resolves
    (``Patient/<id>``, ``Coverage/<opaque id>``); ``insurer`` and ``provider`` default to
    the request's, by identifier. ``paid_cents`` and ``payment_date``: the payment
    recorded, if any; ``patient_cents`` what the payments left the patient to pay (a
    ``memberliability`` total). ``ledger_items``: document sequence -> ledger sequence of
    each live item, carried on the item as an extension; ``flags``: ledger sequence ->
    :func:`phantom_flag` of each flagged item, carried likewise."""
    items = check_answer(request, answer)
    if (paid_cents is None) != (payment_date is None):
        raise ValueError("a payment has an amount and a date")
    if paid_cents is not None and not 0 <= paid_cents <= fv.MAX_CENTS:
        raise ValueError("a payment is 0..MAX_CENTS cents")
    if patient_cents is not None and not 0 <= patient_cents <= fv.MAX_CENTS:
        raise ValueError("a patient's share is 0..MAX_CENTS cents")
    if payment_date is not None and not DATE.fullmatch(payment_date):
        raise ValueError("a payment date is YYYY-MM-DD")
    notes: list[dict[str, Any]] = []
    ledger_items, flags = ledger_items or {}, flags or {}
    eob_items = []
    for d in sorted(answer.decisions, key=lambda d: d.sequence):
        ledger_item = ledger_items.get(d.sequence)
        eob_items.append(_item(request, items[d.sequence], d, notes, ledger_item,
                               None if ledger_item is None else flags.get(ledger_item)))
    insurance: dict[str, Any] = {"focal": True, "coverage": {"reference": coverage}}
    if request.pre_auth_refs:
        insurance["preAuthRef"] = list(request.pre_auth_refs)
    eob: dict[str, Any] = {
        "resourceType": "ExplanationOfBenefit", "id": answer.response_id,
        "status": "cancelled" if answer.cancelled else "active",
        "type": fv.concept(fv.CLAIM_TYPE, request.claim_type),
        "use": request.use,
        "patient": {"reference": patient},
        "created": answer.created,
        "insurer": insurer or request.payer.fhir(),
        "provider": provider or request.provider.fhir(),
        "outcome": outcome(answer.decisions),
        "insurance": [insurance],
        "item": eob_items,
    }
    if request.identifier:
        eob["identifier"] = [request.identifier.fhir()]
    if request.use == "preauthorization" and answer.pre_auth_ref and not answer.cancelled \
            and any(d.action.approves for d in answer.decisions):
        eob["preAuthRef"] = [answer.pre_auth_ref]
        eob["preAuthRefPeriod"] = [auth_period(answer)]
    totals = _totals(request, answer, items)
    if totals and patient_cents is not None:
        totals.append({"category": fv.concept(C4BB_ADJUDICATION, "memberliability"),
                       "amount": fv.money(patient_cents, request.currency)})
    if totals:
        eob["total"] = totals
    if paid_cents is not None:
        eob["payment"] = {"type": fv.concept(PAYMENT_TYPE, "complete"), "date": payment_date,
                          "amount": fv.money(paid_cents, request.currency)}
    if notes:
        eob["processNote"] = notes
    get_fhir_model_class("ExplanationOfBenefit").model_validate(eob)
    return eob
