"""The access contract: the audit trail of every read, and break-glass overrides.

A custodian's gateway writes one ``log`` transaction per batch of accesses it decided,
granted or refused; each entry is stored for the custodian's audit, indexed for the
patient, and (for emergency overrides) put on the privacy officer's review list.
Entries carry ids, codes and times only.
"""

from __future__ import annotations

import re
from typing import Any

from salus.ledger.codes import Code, Rejected
from salus.ledger.contract import SHA256_HEX, Context, Contract, method
from salus.ledger.contracts.membership import has_role
from salus.records.contracts.consent import load as load_consent
from salus.records.contracts.layout import (
    BREAK_GLASS_MS,
    BREAK_GLASS_REASONS,
    EMERGENCY_ROLE,
    PRIVACY_OFFICER_ROLE,
    PURPOSES,
    RECORD_ID,
    access_log_prefix,
    audit_prefix,
    emergency_key,
    entry_suffix,
    review_prefix,
)
from salus.records.contracts.records import require_gateway, require_patient
from salus.records.policy import GRANTED, AccessCode

MAX_ENTRIES = 500
_DID = re.compile(r"did:key:z[1-9A-HJ-NP-Za-km-z]{40,60}\Z")
_ENTRY_FIELDS = {"record": str, "patient": (str, type(None)), "requester": (str, type(None)),
                 "requester_org": (str, type(None)), "purpose": str, "code": str,
                 "basis": (str, type(None)), "request": str, "at": int, "height": int}
FINDINGS = frozenset({"justified", "unjustified"})


def _check_entry(entry: Any, index: int) -> None:
    if type(entry) is not dict or set(entry) != set(_ENTRY_FIELDS):
        raise Rejected(Code.BAD_ARGUMENTS,
                       f"entry {index} must have exactly: {', '.join(sorted(_ENTRY_FIELDS))}")
    for name, kind in _ENTRY_FIELDS.items():
        if not isinstance(entry[name], kind) or type(entry[name]) is bool:
            raise Rejected(Code.BAD_ARGUMENTS, f"entry {index}: {name} has the wrong type")
    # Free-form strings could smuggle health information onto the ledger: every string
    # field must be an id, a did, a hash or a code.
    if not RECORD_ID.match(entry["record"]):
        raise Rejected(Code.BAD_ARGUMENTS, f"entry {index}: record is not a record id")
    for name in ("patient", "requester"):
        if entry[name] is not None and not _DID.match(entry[name]):
            raise Rejected(Code.BAD_ARGUMENTS, f"entry {index}: {name} is not a did:key")
    if entry["requester_org"] is not None and not RECORD_ID.match(entry["requester_org"]):
        raise Rejected(Code.BAD_ARGUMENTS, f"entry {index}: requester_org is not an org id")
    if entry["basis"] is not None and not RECORD_ID.match(entry["basis"]):
        raise Rejected(Code.BAD_ARGUMENTS, f"entry {index}: basis is not a grant or override id")
    if entry["code"] not in AccessCode.__members__:
        raise Rejected(Code.BAD_ARGUMENTS, f"entry {index}: unknown access code")
    if entry["purpose"] not in PURPOSES and entry["code"] != AccessCode.BAD_PURPOSE:
        raise Rejected(Code.BAD_ARGUMENTS, f"entry {index}: unknown purpose of use")
    if entry["code"] == AccessCode.BAD_PURPOSE:
        entry["purpose"] = "unknown"  # never store what the requester typed
    if not SHA256_HEX.match(entry["request"]):
        raise Rejected(Code.BAD_ARGUMENTS, f"entry {index}: request must be a sha256 hex digest")


class AccessContract(Contract):
    name = "access"

    @method
    def log(self, ctx: Context, entries: list) -> dict[str, Any]:
        custodian = require_gateway(ctx)
        if not entries or len(entries) > MAX_ENTRIES:
            raise Rejected(Code.BAD_ARGUMENTS, f"log 1-{MAX_ENTRIES} entries per transaction")
        for i, entry in enumerate(entries):
            _check_entry(entry, i)
        for n, entry in enumerate(entries):
            granted = entry["code"] in GRANTED
            stored = {**entry, "kind": "read", "custodian": custodian,
                      "outcome": "granted" if granted else "refused",
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

    @method
    def break_glass(self, ctx: Context, patient: str, reason: str) -> dict[str, Any]:
        """An emergency clinician opens an override on a patient's records."""
        if not has_role(ctx.get, ctx.member, EMERGENCY_ROLE, None, ctx.height):
            raise Rejected(Code.FORBIDDEN, f"break-glass needs the {EMERGENCY_ROLE} role")
        if reason not in BREAK_GLASS_REASONS:
            raise Rejected(Code.BAD_ARGUMENTS,
                           f"reason must be one of {', '.join(sorted(BREAK_GLASS_REASONS))}")
        require_patient(ctx, patient)
        if load_consent(ctx, patient)["break_glass_opt_out"]:
            raise Rejected(Code.FORBIDDEN, "the patient opted out of emergency access")
        clinician = ctx.member_id
        session = {"id": "bg-" + ctx.tx_id[:24], "patient": patient, "clinician": clinician,
                   "org": ctx.member["org"], "reason": reason, "start": ctx.time,
                   "end": ctx.time + BREAK_GLASS_MS, "height": ctx.height}
        ctx.put(emergency_key(patient, clinician), session)
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

    @method
    def review(self, ctx: Context, entry: str, finding: str) -> dict[str, Any]:
        """The custodian's privacy officer records a finding on an emergency access."""
        member = ctx.member
        custodian = member["org"] if member else None
        if not has_role(ctx.get, member, PRIVACY_OFFICER_ROLE, custodian, ctx.height):
            raise Rejected(Code.FORBIDDEN, f"only a {PRIVACY_OFFICER_ROLE} may review accesses")
        if finding not in FINDINGS:
            raise Rejected(Code.BAD_ARGUMENTS, f"finding must be one of {', '.join(sorted(FINDINGS))}")
        key = review_prefix(custodian or "") + entry
        stored = ctx.get(key)
        if stored is None:
            raise Rejected(Code.NOT_FOUND, f"no emergency access {entry} at {custodian}")
        if stored["finding"] is not None:
            raise Rejected(Code.CONFLICT, "that access was already reviewed")
        stored.update(finding=finding, reviewed_by=ctx.member_id, reviewed_height=ctx.height)
        ctx.put(key, stored)
        return {"entry": entry, "finding": finding}
