"""Membership: organisations, their members, roles and key history.

State layout (values as :func:`salus.canonical.state_bytes`):

* ``org/<org id>`` -> ``{id, name, type, status, from, to}``
* ``member/<member id>`` -> ``{id, kind, org, roles: [{role, from, to}], keys: [{did,
  from, to, status, reason}], encryption_key}``; the member id is the did:key of the
  member's first signing key and never changes
* ``key/<did>`` -> member id, for every key a member ever had

Every role and key carries the heights ``[from, to)`` in which it held, so any
signature or role can be judged as of the height it was used at. A revocation can be
backdated to the height a compromise started.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from salus.identity import ed25519_from_did, x25519_from_did
from salus.identity.did import DIDError
from salus.ledger.codes import Code, Rejected
from salus.ledger.contract import Context, Contract, method

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
    }
)
PATIENT_ROLE = "patient"
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


def check_signing_did(did: str, what: str) -> None:
    try:
        ed25519_from_did(did)
    except DIDError as exc:
        raise Rejected(Code.BAD_ARGUMENTS, f"{what}: {exc}") from None


def check_encryption_did(did: str | None) -> None:
    if did is None:
        return
    try:
        x25519_from_did(did)
    except DIDError as exc:
        raise Rejected(Code.BAD_ARGUMENTS, f"encryption_key: {exc}") from None


def check_org(org: dict[str, Any]) -> None:
    """Validate an organisation entry as genesis and add_organisation take it."""
    if org.get("type") not in ORG_TYPES:
        raise Rejected(
            Code.BAD_ARGUMENTS,
            f"organisation type {org.get('type')!r} is not one of {', '.join(sorted(ORG_TYPES))}",
        )
    if not isinstance(org.get("id"), str) or not org["id"] or "/" in org["id"]:
        raise Rejected(Code.BAD_ARGUMENTS, "organisation id must be a non-empty string without '/'")


class MembershipContract(Contract):
    name = "membership"

    # -- helpers -----------------------------------------------------------------------
    def _require_admin(self, ctx: Context, org: str) -> None:
        if not has_role(ctx.get, ctx.member, "admin", org, ctx.height):
            raise Rejected(Code.FORBIDDEN, f"only an admin of {org!r} may do this")

    def _require_governor(self, ctx: Context) -> None:
        member = ctx.member
        org = ctx.get(org_key(member["org"])) if member and member["org"] else None
        if org is None or org["type"] not in GOVERNING_TYPES or not has_role(
            ctx.get, member, "admin", org["id"], ctx.height
        ):
            raise Rejected(Code.FORBIDDEN, "only an admin of a regulator may change the consortium")

    def _load(self, ctx: Context, member_id: str) -> dict[str, Any]:
        member = ctx.get(member_key(member_id))
        if member is None:
            raise Rejected(Code.NOT_FOUND, f"no member {member_id!r}")
        return member

    @staticmethod
    def _check_roles(roles: list[str]) -> None:
        if not roles:
            raise Rejected(Code.BAD_ARGUMENTS, "roles must not be empty")
        unknown = sorted(set(roles) - ROLES)
        if unknown:
            raise Rejected(Code.BAD_ARGUMENTS, f"unknown role(s): {', '.join(unknown)}")

    def _add_key(self, ctx: Context, member: dict[str, Any], did: str) -> None:
        check_signing_did(did, "new key")
        if ctx.get(key_index(did)) is not None:
            raise Rejected(Code.CONFLICT, "that key already belongs to a member")
        member["keys"].append(
            {"did": did, "from": ctx.height, "to": None, "status": "active", "reason": None}
        )
        ctx.put(key_index(did), member["id"])

    # -- transactions ------------------------------------------------------------------
    @method
    def register_patient(self, ctx: Context, encryption_key: str | None = None) -> dict[str, Any]:
        """A newcomer registers themself as a patient; their signing key is their id."""
        if ctx.get(key_index(ctx.signer)) is not None:
            raise Rejected(Code.CONFLICT, "this key is already registered")
        check_encryption_did(encryption_key)
        member = new_member(ctx.signer, "patient", None, [PATIENT_ROLE], ctx.height, encryption_key)
        ctx.put(member_key(ctx.signer), member)
        ctx.put(key_index(ctx.signer), ctx.signer)
        ctx.emit("member_registered", member=ctx.signer)
        return {"member": ctx.signer}

    @method
    def enrol(self, ctx: Context, org: str, member: str, roles: list[str],
              encryption_key: str | None = None) -> dict[str, Any]:
        """An organisation admin enrols a new member (named by their did:key) with roles."""
        self._require_admin(ctx, org)
        self._check_roles(roles)
        check_signing_did(member, "member")
        check_encryption_did(encryption_key)
        if ctx.get(key_index(member)) is not None:
            raise Rejected(Code.CONFLICT, f"{member} is already a member")
        ctx.put(member_key(member), new_member(member, "member", org, roles, ctx.height,
                                               encryption_key))
        ctx.put(key_index(member), member)
        ctx.emit("member_enrolled", member=member, org=org)
        return {"member": member}

    @method
    def grant_roles(self, ctx: Context, member: str, roles: list[str]) -> dict[str, Any]:
        record = self._load(ctx, member)
        self._require_admin(ctx, record["org"])
        self._check_roles(roles)
        held = {r["role"] for r in record["roles"] if r["to"] is None}
        for role in sorted(set(roles) - held):
            record["roles"].append({"role": role, "from": ctx.height, "to": None})
        ctx.put(member_key(member), record)
        return {"member": member, "roles": sorted(held | set(roles))}

    @method
    def revoke_roles(self, ctx: Context, member: str, roles: list[str]) -> dict[str, Any]:
        record = self._load(ctx, member)
        self._require_admin(ctx, record["org"])
        self._check_roles(roles)
        for entry in record["roles"]:
            if entry["role"] in roles and entry["to"] is None:
                entry["to"] = ctx.height
        ctx.put(member_key(member), record)
        return {"member": member, "roles": sorted(r["role"] for r in record["roles"]
                                                  if r["to"] is None)}

    @method
    def rotate_key(self, ctx: Context, new_key: str, member: str | None = None) -> dict[str, Any]:
        """Replace the current signing key. A member rotates their own; an org admin may
        rotate on behalf of a member who lost theirs."""
        target = ctx.member_id if member is None else member
        record = self._load(ctx, target)
        if target != ctx.member_id:
            self._require_admin(ctx, record["org"])
        for entry in record["keys"]:
            if entry["status"] == "active":
                entry.update(status="rotated", to=ctx.height)
        self._add_key(ctx, record, new_key)
        ctx.put(member_key(target), record)
        ctx.emit("key_rotated", member=target, key=new_key)
        return {"member": target, "key": new_key}

    @method
    def revoke_key(self, ctx: Context, key: str, reason: str,
                   effective_height: int | None = None) -> dict[str, Any]:
        """Revoke a key from ``effective_height`` (default now; earlier for a compromise
        known to have started then). Signatures made before that height stay valid."""
        target = ctx.get(key_index(key))
        if target is None:
            raise Rejected(Code.NOT_FOUND, f"no member holds key {key}")
        record = self._load(ctx, target)
        if target != ctx.member_id:
            self._require_admin(ctx, record["org"])
        entry = key_entry(record, key)
        assert entry is not None
        if entry["status"] == "revoked":
            raise Rejected(Code.CONFLICT, "key is already revoked")
        at = ctx.height if effective_height is None else effective_height
        if not entry["from"] <= at <= ctx.height:
            raise Rejected(Code.BAD_ARGUMENTS,
                           f"effective_height must be between {entry['from']} and {ctx.height}")
        entry.update(status="revoked", to=at if entry["to"] is None else min(at, entry["to"]),
                     reason=reason)
        ctx.put(member_key(target), record)
        ctx.emit("key_revoked", member=target, key=key)
        return {"member": target, "key": key, "effective_height": at}

    @method
    def set_encryption_key(self, ctx: Context, encryption_key: str) -> dict[str, Any]:
        check_encryption_did(encryption_key)
        record = self._load(ctx, ctx.member_id)
        record["encryption_key"] = encryption_key
        ctx.put(member_key(record["id"]), record)
        return {"member": record["id"]}

    @method
    def add_organisation(self, ctx: Context, id: str, name: str, type: str,
                         admins: list[str]) -> dict[str, Any]:
        self._require_governor(ctx)
        org = {"id": id, "name": name, "type": type}
        check_org(org)
        if ctx.get(org_key(id)) is not None:
            raise Rejected(Code.CONFLICT, f"organisation {id!r} exists")
        if not admins:
            raise Rejected(Code.BAD_ARGUMENTS, "an organisation needs at least one admin")
        install_organisation(ctx.get, ctx.put, org, [{"did": a} for a in admins], ctx.height)
        return {"org": id}

    @method
    def remove_organisation(self, ctx: Context, id: str, reason: str) -> dict[str, Any]:
        """Remove an organisation: from now on none of its members hold any role.
        Everything it signed while it was a member stays verifiable as of then."""
        self._require_governor(ctx)
        org = ctx.get(org_key(id))
        if org is None:
            raise Rejected(Code.NOT_FOUND, f"no organisation {id!r}")
        if org["to"] is not None:
            raise Rejected(Code.CONFLICT, f"organisation {id!r} was already removed")
        org.update(status="removed", to=ctx.height, reason=reason)
        ctx.put(org_key(id), org)
        return {"org": id}


def install_organisation(get: Getter, put: Callable[[str, Any], None], org: dict[str, Any],
                         admins: list[dict[str, Any]], height: int) -> None:
    """Write an organisation and its admin members (genesis and add_organisation)."""
    put(org_key(org["id"]), {"id": org["id"], "name": org["name"], "type": org["type"],
                             "status": "active", "from": height, "to": None})
    for admin in admins:
        check_signing_did(admin["did"], "admin")
        check_encryption_did(admin.get("encryption_key"))
        if get(key_index(admin["did"])) is not None:
            raise Rejected(Code.CONFLICT, f"{admin['did']} is already a member")
        put(member_key(admin["did"]), new_member(admin["did"], "member", org["id"], ["admin"],
                                                 height, admin.get("encryption_key")))
        put(key_index(admin["did"]), admin["did"])
