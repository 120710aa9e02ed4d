"""Ledger facts for adjudication (:class:`salus.claims.adjudicate.LedgerFacts`), read
from the ledger's state: as they are now, for the payer about to decide (:func:`current`),
and as a decision recorded them, for whoever re-runs it (:func:`recorded`).

Both go through the contract's own :func:`salus.claims.contracts.facts.snapshot`, so the
facts a payer decides on are, field for field, the ones the ledger then records with the
decision. The rendering practitioner's licence periods are not claims state: the caller
supplies them, from the credentials application.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from salus.claims.adjudicate import AuthItem, Coverage, LedgerFacts, PriorAuth, Record
from salus.claims.contracts.facts import snapshot
from salus.claims.contracts.layout import request_key
from salus.records.contracts.layout import record_key

Getter = Callable[[str], Any]
Licence = tuple[tuple[str, str | None], ...]


def from_snapshot(get: Getter, request: dict[str, Any], facts: dict[str, Any],
                  decided_time: int, licence: Licence) -> LedgerFacts:
    """:class:`LedgerFacts` of ``request`` from a :func:`snapshot` (``facts``), with the
    records it cited as the submission recorded them."""
    cover = facts["coverage"]
    auths = tuple(
        PriorAuth(pa["request"], pa["coverage"], pa["active"], tuple(
            AuthItem(it["sequence"], it["rule"], it["units_left"],
                     *(it["period"] if it["period"] is not None else (None, None)))
            for it in pa["items"]))
        for pa in facts["prior_auths"])
    records = []
    for cited in request["evidence"]:
        found = get(record_key(cited["record"]))
        records.append(Record(cited["record"], found["custodian"], found["patient"],
                              cited["height"]))
    return LedgerFacts(
        submitted_height=request["height"], submitted_time=request["time"],
        decided_time=decided_time,
        coverage=Coverage(cover["payer"], cover["plan"], cover["start"], cover["end"],
                          cover["patient"]),
        duplicates=frozenset(request["duplicates"]), prior_auths=auths,
        records=tuple(records), licence=licence)


def current(get: Getter, request_id: str, now: int, licence: Licence) -> LedgerFacts:
    """The facts a decision made at block time ``now`` would be recorded with."""
    request = get(request_key(request_id))
    return from_snapshot(get, request, snapshot(get, request), now, licence)


def recorded(get: Getter, request: dict[str, Any], decision: dict[str, Any],
             licence: Licence) -> LedgerFacts:
    """The facts ``decision`` of ``request`` was made on."""
    return from_snapshot(get, request, decision["facts"], decision["time"], licence)
