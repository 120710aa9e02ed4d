"""The access contract: the audit trail of every read, and break-glass overrides.

A custodian's gateway writes one ``log`` transaction per batch of accesses it decided,
granted or refused; each entry is stored for the custodian's audit, indexed for the
patient, and (for emergency overrides) put on the privacy officer's review list.
Entries carry ids, codes and times only.

What a gateway may log is checked at admission (rule A5 and :func:`check_entry`): only
records its own custodian holds, the record's real patient, and for a granted read a
basis the ledger shows was in force for that reader at the height the gateway decided
at: the patient themself, a grant naming the reader, or the reader's own break-glass
override. These are facts of history (grants and overrides are never deleted, roles
keep their heights), so an entry admitted once is admitted in any order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from typing_extensions import TypedDict

from salus.ledger.authority import HoldsRole
from salus.ledger.codes import Code, Rejected
from salus.ledger.contract import Context, Contract, method
from salus.ledger.members import KeyRef, OrgRef, PatientRef, member_of_key
from salus.ledger.schema import STRICT, Height, Sha256Hex, TimeMs, array, one_of, text
from salus.ledger.state import memoized
from salus.records.contracts.consent import load as load_consent
from salus.records.contracts.layout import (
    BREAK_GLASS_MS,
    BREAK_GLASS_REASONS,
    EMERGENCY_ROLE,
    PRIVACY_OFFICER_ROLE,
    PURPOSES,
    GrantId,
    RecordRef,
    SessionId,
    access_log_prefix,
    audit_prefix,
    consent_key,
    emergency_key,
    entry_suffix,
    record_key,
    review_prefix,
    session_key,
)
from salus.records.contracts.records import CustodianGateway, custodian_of
from salus.records.policy import GRANTED, NOT_RELEASED, AccessCode, covers, grantee_matches

MAX_ENTRIES = 500
FINDINGS = frozenset({"justified", "unjustified"})
#: What a log entry says the reader asked for: a purpose of use, or ``unknown`` when the
#: reader named none the gateway knows (never what they typed).
UNKNOWN_PURPOSE = "unknown"


LoggedPurpose = one_of(PURPOSES | {UNKNOWN_PURPOSE}, "purpose of use asked for")
Decision = one_of(frozenset(AccessCode.__members__), "the gateway's decision")


class AccessEntry(TypedDict):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    record: RecordRef | None
    patient: PatientRef | None
    requester: KeyRef | None
    requester_org: OrgRef | None
    purpose: LoggedPurpose
    code: Decision
    basis: GrantId | SessionId | None
    request: Sha256Hex
    at: TimeMs
    height: Height


Entries = array(AccessEntry, 1, MAX_ENTRIES, "accesses decided")
EntryKey = text(r"[0-9]{12}/[0-9]{5}/[0-9]{4}", 23, "an access entry (height/index/n)")
BreakGlassReason = one_of(BREAK_GLASS_REASONS, "why consent cannot be asked")
Finding = one_of(FINDINGS, "the privacy officer's finding")


def _refuse(index: int, reason: str) -> Rejected:
    return Rejected(Code.FORBIDDEN, f"entry {index}: {reason}")


def check_entry(ctx: Context, entry: dict[str, Any], index: int,
                get: Callable[[str], Any] | None = None) -> None:
    """One entry's claims against the ledger (see the module docstring). ``get`` reads
    state (default ``ctx.get``); the values it returns are only read."""
    get = get or ctx.get
    record = get(record_key(entry["record"])) if entry["record"] is not None else None
    if record is None:
        if entry["patient"] is not None:
            raise _refuse(index, "an entry names a patient only through one of their records")
    elif entry["patient"] != record["patient"]:
        raise _refuse(index, f"record {entry['record']} is not that patient's")
    if entry["patient"] is not None and entry["requester"] is None:
        # Nothing ties such a request to a reader: it is no one's access to log.
        raise _refuse(index, "a patient's access log names the reader")
    reader = member_of_key(get, entry["requester"]) if entry["requester"] else None
    if reader is not None and entry["requester_org"] != reader["org"]:
        raise _refuse(index, "requester_org is not the reader's organisation")
    if entry["code"] in GRANTED:
        if record is None or reader is None:
            raise _refuse(index, "a granted read names a record and a member reading it")
        _check_basis(ctx, get, entry, record, reader, index)


def _check_basis(ctx: Context, get: Callable[[str], Any], entry: dict[str, Any],
                 record: dict[str, Any], reader: dict[str, Any], index: int) -> None:
    code, basis, height = entry["code"], entry["basis"], entry["height"]
    if height > ctx.height:
        raise _refuse(index, "decided at a height not reached yet")
    if code == AccessCode.PATIENT:
        if reader["id"] != record["patient"]:
            raise _refuse(index, "only the patient reads as PATIENT")
    elif code == AccessCode.CONSENT:
        consent = get(consent_key(record["patient"])) or {"grants": {}}
        grant = consent["grants"].get(basis or "")
        if grant is None or not covers(grant, record) or entry["purpose"] not in grant["purposes"] \
                or not grantee_matches(get, grant["grantee"], reader, height) \
                or grant["granted_height"] > height or (
                    grant["revoked_height"] is not None and grant["revoked_height"] <= height):
            raise _refuse(index, "no grant in force at that height covers this reader and record")
    else:  # BREAK_GLASS
        session = get(session_key(basis or ""))
        if session is None or session["patient"] != record["patient"] \
                or session["clinician"] != reader["id"] \
                or not session["start"] <= entry["at"] < session["end"]:
            raise _refuse(index, "no break-glass override of this reader covers that time")


@dataclass(frozen=True)
class AccessLogRule(CustodianGateway):
    """A5 for the audit trail: the gateway's own custodian's records, and claims the
    ledger bears out (:func:`check_entry`)."""

    def check(self, ctx: Context, args: dict[str, Any]) -> None:
        super().check(ctx, args)
        get = memoized(ctx.get)  # a batch names the same records, readers and consents
        for i, entry in enumerate(args["entries"]):
            check_entry(ctx, entry, i, get)

    def describe(self) -> str:
        return (super().describe() + "; each granted entry must cite a basis in force for "
                "that reader: the patient, a grant naming them, or their own break-glass")


def _outcome(code: str) -> str:
    """What a read came to: ``granted`` (released), ``not_released`` (allowed by the
    policy, but nothing could be handed out) or ``refused``."""
    if code in GRANTED:
        return "granted"
    return "not_released" if code in NOT_RELEASED else "refused"


class AccessContract(Contract):
    name = "access"

    @method(who=AccessLogRule(lambda a: [e["record"] for e in a["entries"] if e["record"]],
                              "every entry's `record`"))
    def log(self, ctx: Context, entries: Entries) -> dict[str, Any]:
        custodian = custodian_of(ctx)
        for n, entry in enumerate(entries):
            stored = {**entry, "kind": "read", "custodian": custodian,
                      "outcome": _outcome(entry["code"]),
                      "emergency": entry["code"] == AccessCode.BREAK_GLASS,
                      "logged_height": ctx.height, "tx": ctx.tx_id}
            suffix = entry_suffix(ctx.height, ctx.index, n)
            ctx.put(audit_prefix(custodian) + suffix, stored)
            if entry["patient"] is not None:
                ctx.put(access_log_prefix(entry["patient"]) + suffix, stored)
                ctx.emit("access", patient=entry["patient"], record=entry["record"],
                         requester=entry["requester"], custodian=custodian,
                         outcome=stored["outcome"], code=entry["code"],
                         emergency=stored["emergency"], at=entry["at"])
            if stored["emergency"]:
                ctx.put(review_prefix(custodian) + suffix, {**stored, "finding": None})
        return {"logged": len(entries)}

    @method(who=HoldsRole((EMERGENCY_ROLE,)))
    def break_glass(self, ctx: Context, patient: PatientRef, reason: BreakGlassReason
                    ) -> dict[str, Any]:
        """An emergency clinician opens an override on a patient's records."""
        if load_consent(ctx, patient)["break_glass_opt_out"]:
            raise Rejected(Code.FORBIDDEN, "the patient opted out of emergency access")
        clinician = ctx.member_id
        session = {"id": "bg-" + ctx.tx_id[:24], "patient": patient, "clinician": clinician,
                   "org": ctx.member["org"], "reason": reason, "start": ctx.time,
                   "end": ctx.time + BREAK_GLASS_MS, "height": ctx.height}
        ctx.put(emergency_key(patient, clinician), session)
        ctx.put(session_key(session["id"]), session)
        entry = {"kind": "break_glass", "record": None, "patient": patient,
                 "requester": clinician, "requester_org": ctx.member["org"],
                 "purpose": "ETREAT", "code": AccessCode.BREAK_GLASS.value,
                 "basis": session["id"], "reason": reason, "at": ctx.time,
                 "height": ctx.height, "custodian": None, "outcome": "override_started",
                 "emergency": True, "logged_height": ctx.height, "tx": ctx.tx_id}
        ctx.put(access_log_prefix(patient) + entry_suffix(ctx.height, ctx.index, 0), entry)
        ctx.emit("break_glass", patient=patient, clinician=clinician, org=ctx.member["org"],
                 reason=reason, until=session["end"])
        return session

    @method(who=HoldsRole((PRIVACY_OFFICER_ROLE,)))
    def review(self, ctx: Context, entry: EntryKey, finding: Finding) -> dict[str, Any]:
        """The custodian's privacy officer records a finding on an emergency access."""
        custodian = ctx.member["org"]
        key = review_prefix(custodian) + entry
        stored = ctx.get(key)
        if stored is None:
            raise Rejected(Code.NOT_FOUND, f"no emergency access {entry} at {custodian}")
        if stored["finding"] is not None:
            raise Rejected(Code.CONFLICT, "that access was already reviewed")
        stored.update(finding=finding, reviewed_by=ctx.member_id, reviewed_height=ctx.height)
        ctx.put(key, stored)
        return {"entry": entry, "finding": finding}
