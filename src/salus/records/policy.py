"""Who may read a record: one pure function, used by the gateway and by the contracts.

``decide`` looks only at ledger state (through a getter), a height and a time, so the
gateway's answer at height H is the answer any peer would compute at H. The outcomes
carry stable codes (:class:`AccessCode`); a refusal says why in words a clinician can act
on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from salus.ledger.members import Getter, has_role
from salus.records.contracts.layout import (
    EMERGENCY_PURPOSE,
    EMERGENCY_ROLE,
    PURPOSES,
    consent_key,
    emergency_key,
)


class AccessCode(StrEnum):
    # Granted
    PATIENT = "PATIENT"  # the patient reads their own record
    CONSENT = "CONSENT"  # an active grant covers requester, record and purpose
    BREAK_GLASS = "BREAK_GLASS"  # emergency override in force
    # Refused
    UNKNOWN_RECORD = "UNKNOWN_RECORD"
    RECORD_ERASED = "RECORD_ERASED"
    BAD_PURPOSE = "BAD_PURPOSE"
    NOT_A_MEMBER = "NOT_A_MEMBER"
    BAD_REQUEST_SIGNATURE = "BAD_REQUEST_SIGNATURE"
    NO_CONSENT = "NO_CONSENT"
    CONSENT_REVOKED = "CONSENT_REVOKED"
    CONSENT_EXPIRED = "CONSENT_EXPIRED"
    CONSENT_NOT_STARTED = "CONSENT_NOT_STARTED"
    PURPOSE_NOT_GRANTED = "PURPOSE_NOT_GRANTED"
    BREAK_GLASS_OPTED_OUT = "BREAK_GLASS_OPTED_OUT"
    BREAK_GLASS_NOT_OPEN = "BREAK_GLASS_NOT_OPEN"
    BREAK_GLASS_EXPIRED = "BREAK_GLASS_EXPIRED"
    WRONG_CUSTODIAN = "WRONG_CUSTODIAN"
    # Allowed, but nothing released: the reader has no encryption key on the ledger to
    # wrap the document key to (and none was wrapped to them before).
    NO_ENCRYPTION_KEY = "NO_ENCRYPTION_KEY"


GRANTED = frozenset({AccessCode.PATIENT, AccessCode.CONSENT, AccessCode.BREAK_GLASS})
#: Reads the policy allowed that released nothing: the access log says so, not "granted".
NOT_RELEASED = frozenset({AccessCode.NO_ENCRYPTION_KEY})


@dataclass(frozen=True, slots=True)
class Decision:
    code: AccessCode
    reason: str
    basis: str | None = None  # grant id or break-glass override id

    @property
    def allowed(self) -> bool:
        return self.code in GRANTED

    @property
    def emergency(self) -> bool:
        return self.code is AccessCode.BREAK_GLASS


def grantee_matches(get: Getter, grantee: dict[str, Any], member: dict[str, Any],
                    height: int) -> bool:
    """Is ``member`` (at ``height``) who the grant names: a practitioner, an org or a role?"""
    if "member" in grantee:
        return member["id"] == grantee["member"]
    if "role" in grantee:
        return has_role(get, member, grantee["role"], grantee.get("org"), height)
    if "org" in grantee:  # anyone holding any role in the organisation
        return any(has_role(get, member, r["role"], grantee["org"], height) for r in member["roles"])
    return False


def covers(grant: dict[str, Any], record: dict[str, Any]) -> bool:
    types, records = grant["resource_types"], grant["records"]
    return (not types or record["type"] in types) and (not records or record["id"] in records)


def grant_in_force(grant: dict[str, Any], time: int) -> bool:
    return (grant["status"] == "active" and (grant["start"] is None or grant["start"] <= time)
            and (grant["end"] is None or time < grant["end"]))


def covering_grants(get: Getter, record: dict[str, Any], time: int) -> list[dict[str, Any]]:
    """The patient's grants in force now that cover ``record`` (for any purpose)."""
    consent = get(consent_key(record["patient"])) or {"grants": {}}
    return [g for g in consent["grants"].values() if grant_in_force(g, time) and covers(g, record)]


def _why_not(grants: list[dict[str, Any]], purpose: str, time: int) -> Decision:
    """The most useful refusal among grants that name the requester and cover the record."""
    if not grants:
        return Decision(AccessCode.NO_CONSENT, "the patient has not granted you access to this record")
    with_purpose = [g for g in grants if purpose in g["purposes"]]
    if not with_purpose:
        allowed = sorted({p for g in grants for p in g["purposes"]})
        return Decision(AccessCode.PURPOSE_NOT_GRANTED,
                        f"the patient's consent covers {', '.join(allowed)}, not {purpose}")
    if all(g["status"] == "revoked" for g in with_purpose):
        return Decision(AccessCode.CONSENT_REVOKED, "the patient revoked this consent")
    live = [g for g in with_purpose if g["status"] == "active"]
    if all(g["start"] is not None and time < g["start"] for g in live):
        return Decision(AccessCode.CONSENT_NOT_STARTED, "the patient's consent has not started yet")
    return Decision(AccessCode.CONSENT_EXPIRED, "the patient's consent has expired")


def emergency_override(get: Getter, patient: str, member: dict[str, Any], height: int,
                       time: int) -> Decision:
    consent = get(consent_key(patient)) or {}
    if consent.get("break_glass_opt_out"):
        return Decision(AccessCode.BREAK_GLASS_OPTED_OUT,
                        "the patient opted out of emergency access (break-glass)")
    if not has_role(get, member, EMERGENCY_ROLE, None, height):
        return Decision(AccessCode.NO_CONSENT,
                        f"no consent, and break-glass needs the {EMERGENCY_ROLE} role")
    session = get(emergency_key(patient, member["id"]))
    if session is None:
        return Decision(AccessCode.BREAK_GLASS_NOT_OPEN,
                        "no consent; open a break-glass override for this patient first")
    if not session["start"] <= time < session["end"]:
        return Decision(AccessCode.BREAK_GLASS_EXPIRED,
                        "your break-glass override has expired; open a new one if still needed")
    return Decision(AccessCode.BREAK_GLASS, "emergency override (break-glass)", session["id"])


def decide(get: Getter, requester: dict[str, Any] | None, record: dict[str, Any] | None,
           purpose: str, height: int, time: int) -> Decision:
    """May ``requester`` (a member record) read ``record`` for ``purpose`` now?"""
    if record is None:
        return Decision(AccessCode.UNKNOWN_RECORD, "no such record on the ledger")
    if record["status"] == "erased":
        return Decision(AccessCode.RECORD_ERASED, "the record was erased at the patient's request")
    if purpose not in PURPOSES:
        return Decision(AccessCode.BAD_PURPOSE,
                        f"purpose of use must be one of {', '.join(sorted(PURPOSES))}")
    if requester is None:
        return Decision(AccessCode.NOT_A_MEMBER, "the requester is not a member of this ledger")
    if requester["id"] == record["patient"]:
        return Decision(AccessCode.PATIENT, "the patient's own record")
    consent = get(consent_key(record["patient"])) or {"grants": {}}
    relevant = [g for g in consent["grants"].values()
                if covers(g, record) and grantee_matches(get, g["grantee"], requester, height)]
    for grant in relevant:
        if purpose in grant["purposes"] and grant_in_force(grant, time):
            return Decision(AccessCode.CONSENT, "covered by the patient's consent", grant["id"])
    if purpose == EMERGENCY_PURPOSE:
        return emergency_override(get, record["patient"], requester, height, time)
    return _why_not(relevant, purpose, time)


def listed_for(get: Getter, requester: dict[str, Any] | None, patient: str, height: int,
               time: int) -> Callable[[dict[str, Any]], bool] | None:
    """Which of a patient's records ``requester`` may see listed (never read: that is
    :func:`decide`'s): all of them for the patient and for an emergency clinician with an
    override in force; for a grantee, those a grant in force naming them covers (a grant
    for immunisations shows immunisations, not the rest of the record); None for anyone
    else."""
    if requester is None:
        return None
    if requester["id"] == patient or emergency_override(get, patient, requester, height,
                                                         time).allowed:
        return lambda _record: True
    consent = get(consent_key(patient)) or {"grants": {}}
    mine = [g for g in consent["grants"].values()
            if grant_in_force(g, time) and grantee_matches(get, g["grantee"], requester, height)]
    if not mine:
        return None
    return lambda record: any(covers(g, record) for g in mine)


def may_see_index(get: Getter, requester: dict[str, Any] | None, patient: str, height: int,
                  time: int) -> bool:
    """May ``requester`` list any of a patient's records (not read them)?"""
    return listed_for(get, requester, patient, height, time) is not None
