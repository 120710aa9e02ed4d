"""Who is who in state: organisations, members, their roles and key history.

State layout (values as :func:`salus.canonical.state_bytes`):

* ``org/<org id>`` -> ``{id, name, type, status, from, to}``
* ``member/<member id>`` -> ``{id, kind, org, roles: [{role, from, to}], keys: [{did,
  from, to, status, reason}], encryption_key, recovery}``; the member id is the did:key of
  the member's first signing key and never changes
* ``key/<did>`` -> member id, for every key a member ever had

Every role and key carries the heights ``[from, to)`` in which it held, so any
signature or role can be judged as of the height it was used at. The membership
contract writes these; everything else (authority rules, other contracts, the API) reads
them through the functions here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from salus.ledger.schema import OrgId, SigningDid, array, one_of, reference

ORG_TYPES = frozenset(
    {
        "hospital", "lab", "pharmacy", "school", "board", "cme_provider", "residency",
        "insurer", "manufacturer", "distributor", "regulator",
    }
)
ROLES = frozenset(
    {
        "admin", "clinician", "emergency_clinician", "nurse", "registrar", "pharmacist",
        "lab_technician", "claims_officer", "auditor", "researcher", "privacy_officer",
        "issuer", "assessor", "educator", "learner", "supply_operator", "gateway",
        "medical_reviewer", "rewards_officer", "rewards_service",
    }
)
PATIENT_ROLE = "patient"
#: ``kind`` of a patient's member record; organisation members are ``"member"``.
PATIENT_KIND = "patient"
MEMBER_KIND = "member"
#: Organisation types whose admins may add or remove organisations.
GOVERNING_TYPES = frozenset({"regulator"})

Getter = Callable[[str], Any]


def org_key(org_id: str) -> str:
    return f"org/{org_id}"


def member_key(member_id: str) -> str:
    return f"member/{member_id}"


def key_index(did: str) -> str:
    return f"key/{did}"


def _within(entry: dict[str, Any], height: int) -> bool:
    return entry["from"] <= height and (entry["to"] is None or height < entry["to"])


def member_of_key(get: Getter, did: str) -> dict[str, Any] | None:
    member_id = get(key_index(did))
    return None if member_id is None else get(member_key(member_id))


def key_entry(member: dict[str, Any], did: str) -> dict[str, Any] | None:
    return next((k for k in member["keys"] if k["did"] == did), None)


def key_valid_at(member: dict[str, Any], did: str, height: int) -> bool:
    """Did ``did`` belong to ``member`` and could it sign at ``height``?"""
    entry = key_entry(member, did)
    return entry is not None and _within(entry, height)


def org_active_at(get: Getter, org_id: str | None, height: int) -> bool:
    if org_id is None:
        return True
    org = get(org_key(org_id))
    return org is not None and _within(org, height)


def has_role(get: Getter, member: dict[str, Any] | None, role: str, org: str | None,
             height: int) -> bool:
    """Does ``member`` hold ``role`` (in ``org``, if given) at ``height``?"""
    if member is None or (org is not None and member["org"] != org):
        return False
    if not org_active_at(get, member["org"], height):
        return False
    return any(r["role"] == role and _within(r, height) for r in member["roles"])


def new_member(member_id: str, kind: str, org: str | None, roles: list[str], height: int,
               encryption_key: str | None) -> dict[str, Any]:
    return {
        "id": member_id,
        "kind": kind,
        "org": org,
        "roles": [{"role": r, "from": height, "to": None} for r in sorted(set(roles))],
        "keys": [{"did": member_id, "from": height, "to": None, "status": "active", "reason": None}],
        "encryption_key": encryption_key,
    }


# -- argument types that name members (see salus.ledger.schema) ----------------------------
Role = one_of(ROLES, "a role")
Roles = array(Role, 1, len(ROLES), "roles, each once")
OrgRef = reference(OrgId, "organisation", org_key)
#: A member, by member id (the did:key of their first key).
MemberRef = reference(SigningDid, "member", member_key)
PatientRef = reference(SigningDid, "patient", member_key, lambda m: m["kind"] == PATIENT_KIND)
PractitionerRef = reference(SigningDid, "organisation member", member_key,
                            lambda m: m["kind"] == MEMBER_KIND)
#: A key any member ever held (members may be named by any of their keys).
KeyRef = reference(SigningDid, "key", key_index)
