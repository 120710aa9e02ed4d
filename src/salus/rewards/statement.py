"""A patient's rewards statement and a sponsor's programme totals, from ledger state.

Pure functions over two readers of committed state: ``get(key)`` (a value or None) and
``items(prefix)`` (every ``(key after prefix, value)`` under a prefix, in key order: what
:meth:`salus.ledger.store.Store.state_items` gives). The balance is recomputed from the
entries, never copied from the account the contract keeps (RW10): a statement whose
recomputed balance differs from that account says so (``consistent``), which no ledger
the contract wrote can show.

A statement is the patient's own: every award (the event by its kind and record id, the
custodian, the points, their retail value, when they expire), redemption (the item),
expiry and reversal (the reason code), each with its sponsor and transaction id. A
sponsor's totals count; they name no patient and no record.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from salus.rewards.contracts.layout import (
    account_key,
    enrolment_key,
    enrolment_prefix,
    entries_prefix,
    patient_programmes_prefix,
    programme_key,
)

Getter = Callable[[str], Any]
Items = Callable[[str], list[tuple[str, Any]]]

AWARD, REDEMPTION, EXPIRY, REVERSAL = "award", "redemption", "expiry", "reversal"
#: How each kind of entry moves the balance.
SIGN = {AWARD: 1, REDEMPTION: -1, EXPIRY: -1, REVERSAL: -1}
#: What a statement line shows of an entry, beyond its kind, points, sponsor and tx.
LINE_FIELDS = ("programme", "sponsor", "points", "cents", "event", "record", "custodian",
               "version", "expires", "item", "code", "item_kind", "award", "reason",
               "expired_at", "tx", "height", "time")


def totals(entries: list[dict[str, Any]]) -> dict[str, int]:
    """Points awarded, redeemed, expired and reversed, and the balance they leave."""
    out = {AWARD: 0, REDEMPTION: 0, EXPIRY: 0, REVERSAL: 0}
    for entry in entries:
        out[entry["kind"]] += entry["points"]
    return {"awarded": out[AWARD], "redeemed": out[REDEMPTION], "expired": out[EXPIRY],
            "reversed": out[REVERSAL],
            "balance": sum(SIGN[k] * v for k, v in out.items())}


def _line(entry: dict[str, Any]) -> dict[str, Any]:
    return {"kind": entry["kind"], **{f: entry[f] for f in LINE_FIELDS if f in entry}}


def patient_statement(get: Getter, items: Items, patient: str) -> dict[str, Any]:
    """Every programme ``patient`` joined, with its entries, recomputed balance, live
    points (soonest to expire first) and catalogue."""
    programmes = []
    for programme, joined in items(patient_programmes_prefix(patient)):
        entries = [e for _, e in items(entries_prefix(patient, programme))]
        terms = get(programme_key(programme))
        account = get(account_key(programme, patient)) or {"balance": 0, "lots": []}
        enrolment = get(enrolment_key(programme, patient))
        sums = totals(entries)
        programmes.append({
            "programme": programme, "sponsor": joined["sponsor"],
            "enrolled": enrolment is not None and enrolment["status"] == "enrolled",
            **sums, "consistent": sums["balance"] == account["balance"],
            "live": sorted(({"award": x["award"], "points": x["remaining"],
                             "expires": x["expires"]} for x in account["lots"]),
                           key=lambda x: x["expires"]),
            "catalogue": terms["catalogue"], "entries": [_line(e) for e in entries]})
    return {"patient": patient, "programmes": programmes}


def programme_totals(get: Getter, items: Items, programme: str) -> dict[str, Any] | None:
    """A programme's totals for its sponsor: enrolments, points and retail value by kind
    of entry, awards by event and redemptions by item. No patient, no record."""
    terms = get(programme_key(programme))
    if terms is None:
        return None
    enrolled = left = 0
    points = {"awarded": 0, "redeemed": 0, "expired": 0, "reversed": 0, "outstanding": 0}
    cents = {"awarded": 0, "redeemed": 0}
    by_event: dict[str, int] = {}
    by_item: dict[str, int] = {}
    awards = redemptions = 0
    for patient, enrolment in items(enrolment_prefix(programme)):
        if enrolment["status"] == "enrolled":
            enrolled += 1
        else:
            left += 1
        entries = [e for _, e in items(entries_prefix(patient, programme))]
        sums = totals(entries)
        for kind in ("awarded", "redeemed", "expired", "reversed"):
            points[kind] += sums[kind]
        points["outstanding"] += sums["balance"]
        for e in entries:
            if e["kind"] == AWARD:
                awards += 1
                cents["awarded"] += e["cents"]
                by_event[e["event"]] = by_event.get(e["event"], 0) + 1
            elif e["kind"] == REDEMPTION:
                redemptions += 1
                cents["redeemed"] += e["cents"]
                by_item[e["item"]] = by_item.get(e["item"], 0) + 1
            elif e["kind"] == REVERSAL:
                cents["awarded"] -= e["cents"]  # what the points taken back were worth
    return {"programme": programme, "sponsor": terms["sponsor"], "version": terms["version"],
            "enrolled": enrolled, "left": left, "awards": awards, "redemptions": redemptions,
            "points": points, "cents": cents, "by_event": dict(sorted(by_event.items())),
            "by_item": dict(sorted(by_item.items()))}
