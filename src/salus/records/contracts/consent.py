"""The consent contract: a patient's grants of access, and their break-glass choice.

A grant names a grantee (one practitioner, everyone in an organisation, or everyone
holding a role, optionally in one organisation), the purposes of use it allows, an
optional scope (resource types and/or specific records) and an optional period. A
grant is revoked, never deleted, so the history of who could read what stays on the
ledger (and exports as FHIR Consent).
"""

from __future__ import annotations

from typing import Any

from typing_extensions import TypedDict

from salus.ledger.authority import Patient
from salus.ledger.codes import Code, Rejected
from salus.ledger.contract import Context, Contract, method
from salus.ledger.members import OrgRef, PractitionerRef, Role
from salus.ledger.schema import STRICT, TimeMs, array
from salus.records.contracts.layout import (
    PURPOSES,
    RESOURCE_TYPES,
    GrantId,
    Purpose,
    RecordRef,
    ResourceType,
    consent_key,
    record_key,
)

MAX_GRANTS = 1000
MAX_GRANT_RECORDS = 1000


class MemberGrantee(TypedDict):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    member: PractitionerRef


class OrgGrantee(TypedDict):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    org: OrgRef


class RoleGrantee(TypedDict):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    role: Role


class RoleInOrgGrantee(TypedDict):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    role: Role
    org: OrgRef


Grantee = MemberGrantee | OrgGrantee | RoleGrantee | RoleInOrgGrantee
Purposes = array(Purpose, 1, len(PURPOSES), "purposes of use allowed")
ResourceTypes = array(ResourceType, 1, len(RESOURCE_TYPES), "resource types covered")
GrantRecords = array(RecordRef, 1, MAX_GRANT_RECORDS, "records covered")


def load(ctx: Context, patient: str) -> dict[str, Any]:
    return ctx.get(consent_key(patient)) or {"patient": patient, "break_glass_opt_out": False,
                                             "grants": {}}


class ConsentContract(Contract):
    name = "consent"

    @method(who=Patient())
    def grant(self, ctx: Context, grantee: Grantee, purposes: Purposes,
              resource_types: ResourceTypes | None = None, records: GrantRecords | None = None,
              start: TimeMs | None = None, end: TimeMs | None = None) -> dict[str, Any]:
        """Grant a practitioner, an organisation or a role access to your records, for
        some purposes, optionally only some types or records, optionally for a period."""
        patient = ctx.member_id
        for record in records or []:
            if ctx.get(record_key(record))["patient"] != patient:
                raise Rejected(Code.NOT_FOUND, f"you have no record {record}")
        if start is not None and end is not None and end <= start:
            raise Rejected(Code.BAD_ARGUMENTS, "end must be after start")
        if end is not None and end <= ctx.time:
            raise Rejected(Code.BAD_ARGUMENTS, "end is already in the past")
        consent = load(ctx, patient)
        if len(consent["grants"]) >= MAX_GRANTS:
            raise Rejected(Code.CONFLICT, f"at most {MAX_GRANTS} grants per patient")
        grant_id = "c-" + ctx.tx_id[:24]
        consent["grants"][grant_id] = {
            "id": grant_id, "grantee": grantee, "purposes": sorted(set(purposes)),
            "resource_types": sorted(set(resource_types or [])),
            "records": sorted(set(records or [])),
            "start": start, "end": end, "status": "active",
            "granted_height": ctx.height, "granted_time": ctx.time,
            "revoked_height": None, "revoked_time": None,
        }
        ctx.put(consent_key(patient), consent)
        ctx.emit("consent_granted", patient=patient, grant=grant_id, grantee=grantee)
        return {"grant": grant_id}

    @method(who=Patient())
    def revoke(self, ctx: Context, grant: GrantId) -> dict[str, Any]:
        patient = ctx.member_id
        consent = load(ctx, patient)
        found = consent["grants"].get(grant)
        if found is None:
            raise Rejected(Code.NOT_FOUND, f"you have no grant {grant}")
        if found["status"] == "revoked":
            raise Rejected(Code.CONFLICT, f"grant {grant} is already revoked")
        found.update(status="revoked", revoked_height=ctx.height, revoked_time=ctx.time)
        ctx.put(consent_key(patient), consent)
        ctx.emit("consent_revoked", patient=patient, grant=grant, grantee=found["grantee"])
        return {"grant": grant}

    @method(who=Patient())
    def set_break_glass(self, ctx: Context, allowed: bool) -> dict[str, Any]:
        """Opt out of (or back into) emergency access without consent."""
        patient = ctx.member_id
        consent = load(ctx, patient)
        consent["break_glass_opt_out"] = not allowed
        ctx.put(consent_key(patient), consent)
        return {"break_glass": allowed}
