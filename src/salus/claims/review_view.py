"""What the claims pages show of a request and of a rule set, computed here once so that
no page re-implements the contract's checks (docs/claims.md, "Pages").

* :func:`items_of`: the sender's identifier and the live items of a stored PAS Bundle,
  each with its ledger sequence (the k-th live item is ledger item k: what
  ``claims.decide``, ``claims.appeal`` and ``claims.flag_phantom`` name), service, units,
  billed cents, dates and place.
* :func:`choices`: what a reviewer may decide on an item judged under a rule (or under no
  rule) of a table, for a request of a use: whether it may be granted, up to how many
  units and cents a unit, and each reason it may be denied or cut for with the exact CARC
  the table gives (:func:`salus.claims.rules.reason_applies`, :func:`effective_carc`:
  the contract's own CL7 functions).
"""

from __future__ import annotations

from typing import Any

from salus.claims import pas
from salus.claims.pas_request import PasRefused
from salus.claims.rules import (
    DEFAULT_CARC,
    FIXED_CARC,
    HUMAN_REASONS,
    MODIFY_REASONS,
    effective_carc,
    reason_applies,
)


def items_of(body: bytes) -> dict[str, Any] | None:
    """The sender's identifier of a stored request document and its live items, in ledger
    order; None if it cannot be read (it was read when submitted: a vault copy that no
    longer reads says so)."""
    try:
        request = pas.read_request(body)
    except PasRefused:
        return None
    live = [i for i in sorted(request.items, key=lambda i: i.sequence) if not i.cancelled]
    return {"identifier": None if request.identifier is None else request.identifier.value,
            "currency": request.currency, "items": [
                {"ledger_item": n, "sequence": i.sequence, "system": i.service.system,
                 "code": i.service.code, "units": i.units, "billed_cents": i.amount_cents,
                 "date": i.service_date, "end": i.service_end, "place": i.place_of_service}
                for n, i in enumerate(live, start=1)]}


def choices(table: dict[str, Any], rule: dict[str, Any] | None, use: str) -> dict[str, Any]:
    """What a decision on an item under ``rule`` (None: no rule matched) may be."""
    deny = {r: effective_carc(table, rule, r) for r in DEFAULT_CARC
            if r not in FIXED_CARC and reason_applies(rule, r, use)
            and (r != "unlisted" or table["unlisted"] == "deny")}
    grants = rule is not None and bool(rule["covered"])
    modify = {r: effective_carc(table, rule, r) for r in sorted(MODIFY_REASONS)
              if grants and reason_applies(rule, r, use)}
    return {"grants": grants,
            "units_max": None if rule is None or rule["units"] is None else rule["units"]["max"],
            "allowed_cents": None if rule is None else rule["allowed_cents"],
            "needs_reservation": use == "claim" and grants and bool(rule and rule["prior_auth"]),
            "deny": deny, "modify": modify,
            "human_only": sorted(set(deny) & HUMAN_REASONS)}


def rule_choices(table: dict[str, Any]) -> dict[str, Any]:
    """Every rule's :func:`choices` per use, and those of an item no rule matched."""
    uses = ("preauthorization", "claim")
    return {"rules": {r["id"]: {u: choices(table, r, u) for u in uses} for r in table["rules"]},
            "unlisted": {u: choices(table, None, u) for u in uses}}
