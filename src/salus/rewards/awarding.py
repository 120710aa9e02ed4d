"""Whether the sponsor's service awards a record, and under which programme: one pure
decision over ledger state, used by the block follower and by ``POST /v1/rewards/awards``.

The ledger's half (RW5-RW7, what the contract would refuse) is checked here first, so the
service signs only awards the contract takes (the contract checks them again); the vault's
half (is the encounter finished, the survey completed?) is asked of ``read_event`` last,
only for a record that passed everything else, so a record the sponsor may not reward is
never decrypted. A verdict that depends only on the record's version (everything but a
vault that is not open) is ``final``: the service remembers it and never asks again for
that version. No health information in a verdict: codes, ids and the event's kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from salus.records.contracts.layout import record_key
from salus.rewards.contracts.layout import (
    EVENT_RECORD_TYPES,
    block_year,
    enrolment_key,
    event_key,
    year_key,
)

Getter = Callable[[str], Any]
Items = Callable[[str], list[tuple[str, Any]]]

AWARD = "AWARD"
#: Every refusal the service gives, with the HTTP status ``POST /v1/rewards/awards``
#: answers it with. (Who may ask is checked before: 403 ``FORBIDDEN``.)
REFUSALS = {
    "UNKNOWN_RECORD": 404,      # no such record held by the sponsor (another's alike)
    "NOT_AN_EVENT_TYPE": 409,   # not an Encounter or QuestionnaireResponse
    "RECORD_ERASED": 409,
    "ALREADY_AWARDED": 409,     # RW6: the sponsor rewarded this record already
    "NOT_REWARDED": 409,        # no programme of the sponsor rewards this event
    "NOT_ENROLLED": 409,        # RW5: the patient is not enrolled (or was not then)
    "NOT_KEPT": 409,            # the vault says: not finished / not completed
    "ANNUAL_CAP": 409,          # RW7: the award would pass the annual cap
    "VAULT_UNAVAILABLE": 503,   # the sponsor's vault is not open here (not final)
}


class VaultUnavailable(Exception):
    """The sponsor's vault cannot answer now (not open on this node, or inconsistent)."""


#: ``read_event(record)``: the rewarded event the record's current version is
#: (salus.rewards.events.event_of), or None; raises VaultUnavailable.
EventReader = Callable[[dict[str, Any]], str | None]


@dataclass(frozen=True)
class Verdict:
    code: str
    reason: str
    args: dict[str, Any] | None = None  # the award's arguments, when code is AWARD
    final: bool = True
    record: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def award(self) -> bool:
        return self.code == AWARD


def sponsor_programmes(items: Items, sponsor: str) -> list[dict[str, Any]]:
    """The sponsor's published programmes, by id."""
    return [p for _, p in items("rewards/programme/") if p["sponsor"] == sponsor]


def decide(get: Getter, items: Items, sponsor: str, record_id: str, now_ms: int,
           read_event: EventReader, programme: str | None = None) -> Verdict:
    """Does ``sponsor`` award record ``record_id`` now (under ``programme``, or the first of
    its programmes, by id, that rewards it)?"""
    record = get(record_key(record_id))
    if record is None or record["custodian"] != sponsor:
        # Another custodian's record is answered as one that does not exist: its type,
        # custodian, erasure and patient's enrolment are not the sponsor's to learn (and
        # this service reads only its sponsor's own vault).
        return Verdict("UNKNOWN_RECORD", f"no record {record_id} held by {sponsor}")
    kind = next((e for e, t in EVENT_RECORD_TYPES.items() if t == record["type"]), None)
    if kind is None:
        return Verdict("NOT_AN_EVENT_TYPE", f"record {record_id} is a {record['type']}, "
                       "not a rewarded event (Encounter, QuestionnaireResponse)", record=record)
    if record["status"] == "erased":
        return Verdict("RECORD_ERASED", f"record {record_id} was erased", record=record)
    if get(event_key(sponsor, record_id)) is not None:
        return Verdict("ALREADY_AWARDED", f"{sponsor} rewarded record {record_id} already",
                       record=record)
    terms = [p for p in sponsor_programmes(items, sponsor)
             if programme in (None, p["id"]) and any(e["kind"] == kind for e in p["events"])]
    if not terms:
        return Verdict("NOT_REWARDED", f"no programme of {sponsor} rewards {kind}",
                       record=record)
    enrolled = [p for p in terms if _enrolled_then(get, p["id"], record)]
    if not enrolled:
        return Verdict("NOT_ENROLLED", "the record's patient was not enrolled in a programme "
                       f"of {sponsor} rewarding {kind} when it was registered", record=record)
    chosen = enrolled[0]
    try:
        event = read_event(record)
    except VaultUnavailable as exc:
        return Verdict("VAULT_UNAVAILABLE", str(exc), final=False, record=record)
    if event != kind:
        return Verdict("NOT_KEPT", f"version {record['version']} of record {record_id} is no "
                       f"{kind} (the {record['type']} is not finished or completed)",
                       record=record)
    points = next(e["points"] for e in chosen["events"] if e["kind"] == kind)
    value = points * chosen["point_cents"]
    year = block_year(now_ms)
    totals = get(year_key(sponsor, record["patient"], year)) or {"awarded_cents": 0}
    if totals["awarded_cents"] + value > chosen["annual_cap_cents"]:
        return Verdict("ANNUAL_CAP", f"{sponsor} awarded {totals['awarded_cents']} cents to "
                       f"this patient in {year}; {value} more passes the annual cap",
                       record=record)
    return Verdict(AWARD, f"{kind}: {points} points", {
        "programme": chosen["id"], "event": kind, "record": record_id}, record=record)


def _enrolled_then(get: Getter, programme: str, record: dict[str, Any]) -> bool:
    """RW5: enrolled now, and the record's current version registered since enrolling."""
    enrolment = get(enrolment_key(programme, record["patient"]))
    return (enrolment is not None and enrolment["status"] == "enrolled"
            and record["height"] >= enrolment["height"])
