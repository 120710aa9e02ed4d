"""The consent contract: a patient's grants of access, and their break-glass choice.

A grant names a grantee (one practitioner, everyone in an organisation, or everyone
holding a role, optionally in one organisation), the purposes of use it allows, an
optional scope (resource types and/or specific records) and an optional period. A
grant is revoked, never deleted, so the history of who could read what stays on the
ledger (and exports as FHIR Consent).
"""

from __future__ import annotations

from typing import Any

from salus.ledger.codes import Code, Rejected
from salus.ledger.contract import Context, Contract, method
from salus.ledger.contracts.membership import ROLES, member_key, org_key
from salus.records.contracts.layout import PURPOSES, RESOURCE_TYPES, consent_key, record_key

MAX_GRANTS = 1000
GRANTEE_FORMS = ({"member"}, {"org"}, {"role"}, {"role", "org"})


def _patient(ctx: Context) -> str:
    member = ctx.member
    if member is None or member["kind"] != "patient":
        raise Rejected(Code.FORBIDDEN, "only a registered patient manages their consent")
    return member["id"]


def _check_grantee(ctx: Context, grantee: dict[str, Any]) -> None:
    if set(grantee) not in GRANTEE_FORMS or not all(type(v) is str for v in grantee.values()):
        raise Rejected(Code.BAD_ARGUMENTS, 'grantee must be {"member": did}, {"org": id}, '
                                           '{"role": role} or {"role": role, "org": id}')
    if "member" in grantee:
        found = ctx.get(member_key(grantee["member"]))
        if found is None or found["kind"] == "patient":
            raise Rejected(Code.NOT_FOUND, f"no practitioner {grantee['member']}")
    if "org" in grantee and ctx.get(org_key(grantee["org"])) is None:
        raise Rejected(Code.NOT_FOUND, f"no organisation {grantee['org']!r}")
    if "role" in grantee and grantee["role"] not in ROLES:
        raise Rejected(Code.BAD_ARGUMENTS, f"unknown role {grantee['role']!r}")


def load(ctx: Context, patient: str) -> dict[str, Any]:
    return ctx.get(consent_key(patient)) or {"patient": patient, "break_glass_opt_out": False,
                                             "grants": {}}


class ConsentContract(Contract):
    name = "consent"

    @method
    def grant(self, ctx: Context, grantee: dict, purposes: list[str],
              resource_types: list[str] | None = None, records: list[str] | None = None,
              start: int | None = None, end: int | None = None) -> dict[str, Any]:
        patient = _patient(ctx)
        _check_grantee(ctx, grantee)
        if not purposes or not set(purposes) <= PURPOSES:
            raise Rejected(Code.BAD_ARGUMENTS,
                           f"purposes must be a non-empty list of {', '.join(sorted(PURPOSES))}")
        types = sorted(set(resource_types or []))
        if not set(types) <= RESOURCE_TYPES:
            raise Rejected(Code.BAD_ARGUMENTS, f"resource types must be among "
                                               f"{', '.join(sorted(RESOURCE_TYPES))}")
        for record in records or []:
            doc = ctx.get(record_key(record))
            if doc is None or doc["patient"] != patient:
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
            "resource_types": types, "records": sorted(set(records or [])),
            "start": start, "end": end, "status": "active",
            "granted_height": ctx.height, "granted_time": ctx.time,
            "revoked_height": None, "revoked_time": None,
        }
        ctx.put(consent_key(patient), consent)
        ctx.emit("consent_granted", patient=patient, grant=grant_id, grantee=grantee)
        return {"grant": grant_id}

    @method
    def revoke(self, ctx: Context, grant: str) -> dict[str, Any]:
        patient = _patient(ctx)
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

    @method
    def set_break_glass(self, ctx: Context, allowed: bool) -> dict[str, Any]:
        """Opt out of (or back into) emergency access without consent."""
        patient = _patient(ctx)
        consent = load(ctx, patient)
        consent["break_glass_opt_out"] = not allowed
        ctx.put(consent_key(patient), consent)
        return {"break_glass": allowed}
