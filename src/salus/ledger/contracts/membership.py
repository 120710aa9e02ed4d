"""Membership: organisations, their members, roles, key history and key recovery.

The state it writes is described in :mod:`salus.ledger.members`. Who may call what is
declared on each method (:mod:`salus.ledger.authority`): admins act on members of their
own organisation only, and a patient's identity belongs to the patient.

**Recovery.** A patient who loses their key cannot ask an admin for a new one (no admin
acts on a patient). Instead they choose, in advance, a recovery set: ``k`` of ``n``
guardians (relatives who are patients too, their own hospital's registrar, ...) and a
delay (72 h unless they set another). To recover, a guardian proposes a new key; once
``k`` guardians have approved it, the delay starts; the patient is told at each step
(events on their access stream) and their current key can cancel at any time; only after
the delay can a guardian complete it, and then the new key replaces every active key.
A proposal that does not gather ``k`` approvals within :data:`RECOVERY_GATHER_MS` lapses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from salus.ledger.authority import (
    AdminOf,
    AdminOfMember,
    AnyMember,
    Governor,
    GuardianOf,
    KeyHolderOrAdmin,
    Newcomer,
    Patient,
)
from salus.ledger.codes import Code, Rejected
from salus.ledger.contract import Context, Contract, method
from salus.ledger.members import (
    MEMBER_KIND,
    ORG_TYPES,
    PATIENT_KIND,
    PATIENT_ROLE,
    Getter,
    KeyRef,
    MemberRef,
    OrgRef,
    Roles,
    key_index,
    member_key,
    new_member,
    org_key,
)
from salus.ledger.schema import (
    ORG_ID,
    EncryptionDid,
    Height,
    OrgId,
    SigningDid,
    array,
    free_text,
    integer,
    one_of,
    text,
)

#: Why a key is revoked (after RFC 5280's CRLReason): a code, never a story.
KEY_REVOCATION_REASONS = frozenset({
    "key_compromise", "key_lost", "superseded", "affiliation_changed", "cessation_of_operation",
})
#: Why an organisation leaves the consortium.
ORG_REMOVAL_REASONS = frozenset({
    "licence_withdrawn", "closed", "merged", "left_consortium", "sanctioned",
})
KeyRevocationReason = one_of(KEY_REVOCATION_REASONS, "why the key is revoked")
OrgRemovalReason = one_of(ORG_REMOVAL_REASONS, "why the organisation leaves")
OrgType = one_of(ORG_TYPES, "organisation type")
OrgName = free_text(128, "the organisation's public name, shown to members; only a "
                         "regulator's admin writes it")
MAX_ADMINS = 16
Admins = array(SigningDid, 1, MAX_ADMINS, "admin keys")
MAX_GUARDIANS = 10
DAY_MS = 24 * 60 * 60 * 1000
DEFAULT_RECOVERY_DELAY_MS = 3 * DAY_MS
MIN_RECOVERY_DELAY_MS = 60 * 60 * 1000
MAX_RECOVERY_DELAY_MS = 90 * DAY_MS
#: How long a recovery proposal may wait for its k approvals.
RECOVERY_GATHER_MS = 7 * DAY_MS
RecoveryId = text("rc-[0-9a-f]{24}", 27, "a recovery id")
Guardians = array(MemberRef, 1, MAX_GUARDIANS, "guardians' member ids")
Threshold = integer(1, MAX_GUARDIANS, "approvals needed (k of n)")
RecoveryDelay = integer(MIN_RECOVERY_DELAY_MS, MAX_RECOVERY_DELAY_MS,
                        "how long the patient has to cancel a recovery, ms")


def recovery_key(patient: str) -> str:
    """The patient's open recovery, if any."""
    return f"recovery/{patient}"


def check_org(org: dict[str, Any]) -> None:
    """Validate an organisation entry as genesis takes it (add_organisation's schema
    says the same)."""
    if org.get("type") not in ORG_TYPES:
        raise Rejected(
            Code.BAD_ARGUMENTS,
            f"organisation type {org.get('type')!r} is not one of {', '.join(sorted(ORG_TYPES))}",
        )
    if not isinstance(org.get("id"), str) or not ORG_ID.match(org["id"]):
        raise Rejected(Code.BAD_ARGUMENTS, "organisation id must be 1-63 of a-z 0-9 -, starting "
                                           "with a letter or digit")


def _add_key(ctx: Context, member: dict[str, Any], did: str) -> None:
    if ctx.get(key_index(did)) is not None:
        raise Rejected(Code.CONFLICT, "that key already belongs to a member")
    member["keys"].append(
        {"did": did, "from": ctx.height, "to": None, "status": "active", "reason": None}
    )
    ctx.put(key_index(did), member["id"])


def _replace_keys(ctx: Context, member: dict[str, Any], new_key: str, status: str) -> None:
    """Retire every active key of ``member`` (``status``) and make ``new_key`` its key."""
    if ctx.get(key_index(new_key)) is not None:
        raise Rejected(Code.CONFLICT, "that key already belongs to a member")
    for entry in member["keys"]:
        if entry["status"] == "active":
            entry.update(status=status, to=ctx.height)
    _add_key(ctx, member, new_key)
    ctx.put(member_key(member["id"]), member)


class MembershipContract(Contract):
    name = "membership"

    @staticmethod
    def _load(ctx: Context, member_id: str) -> dict[str, Any]:
        member = ctx.get(member_key(member_id))
        if member is None:
            raise Rejected(Code.NOT_FOUND, f"no member {member_id!r}")
        return member

    # -- joining -------------------------------------------------------------------------
    @method(who=Newcomer())
    def register_patient(self, ctx: Context, encryption_key: EncryptionDid | None = None
                         ) -> dict[str, Any]:
        """A newcomer registers themself as a patient; their signing key is their id."""
        member = new_member(ctx.signer, PATIENT_KIND, None, [PATIENT_ROLE], ctx.height,
                            encryption_key)
        ctx.put(member_key(ctx.signer), member)
        ctx.put(key_index(ctx.signer), ctx.signer)
        ctx.emit("member_registered", member=ctx.signer)
        return {"member": ctx.signer}

    @method(who=AdminOf("org"))
    def enrol(self, ctx: Context, org: OrgRef, member: SigningDid, roles: Roles,
              encryption_key: EncryptionDid | None = None) -> dict[str, Any]:
        """An organisation admin enrols a new member (named by their did:key) with roles."""
        if ctx.get(key_index(member)) is not None:
            raise Rejected(Code.CONFLICT, f"{member} is already a member")
        ctx.put(member_key(member), new_member(member, MEMBER_KIND, org, roles, ctx.height,
                                               encryption_key))
        ctx.put(key_index(member), member)
        ctx.emit("member_enrolled", member=member, org=org)
        return {"member": member}

    # -- roles ---------------------------------------------------------------------------
    @method(who=AdminOfMember("member"))
    def grant_roles(self, ctx: Context, member: MemberRef, roles: Roles) -> dict[str, Any]:
        record = self._load(ctx, member)
        held = {r["role"] for r in record["roles"] if r["to"] is None}
        for role in sorted(set(roles) - held):
            record["roles"].append({"role": role, "from": ctx.height, "to": None})
        ctx.put(member_key(member), record)
        return {"member": member, "roles": sorted(held | set(roles))}

    @method(who=AdminOfMember("member"))
    def revoke_roles(self, ctx: Context, member: MemberRef, roles: Roles) -> dict[str, Any]:
        record = self._load(ctx, member)
        for entry in record["roles"]:
            if entry["role"] in roles and entry["to"] is None:
                entry["to"] = ctx.height
        ctx.put(member_key(member), record)
        return {"member": member, "roles": sorted(r["role"] for r in record["roles"]
                                                  if r["to"] is None)}

    # -- keys ----------------------------------------------------------------------------
    @method(who=AdminOfMember("member", or_self=True))
    def rotate_key(self, ctx: Context, new_key: SigningDid, member: MemberRef | None = None
                   ) -> dict[str, Any]:
        """Replace the current signing key. A member rotates their own; an org admin may
        rotate on behalf of a member of their organisation who lost theirs (never a
        patient's: patients recover through their recovery set)."""
        target = ctx.member_id if member is None else member
        record = self._load(ctx, target)
        _replace_keys(ctx, record, new_key, "rotated")
        ctx.emit("key_rotated", member=target, key=new_key)
        return {"member": target, "key": new_key}

    @method(who=KeyHolderOrAdmin("key"))
    def revoke_key(self, ctx: Context, key: KeyRef, reason: KeyRevocationReason,
                   effective_height: Height | None = None) -> dict[str, Any]:
        """Revoke a key from ``effective_height`` (default now; earlier for a compromise
        known to have started then). Signatures made before that height stay valid."""
        target = ctx.get(key_index(key))
        record = self._load(ctx, target)
        entry = next(k for k in record["keys"] if k["did"] == key)
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

    @method(who=AnyMember())
    def set_encryption_key(self, ctx: Context, encryption_key: EncryptionDid) -> dict[str, Any]:
        record = self._load(ctx, ctx.member_id)
        record["encryption_key"] = encryption_key
        ctx.put(member_key(record["id"]), record)
        ctx.emit("encryption_key_set", member=record["id"])
        return {"member": record["id"]}

    # -- recovery (patients) ---------------------------------------------------------------
    @method(who=Patient())
    def set_recovery(self, ctx: Context, guardians: Guardians, threshold: Threshold,
                     delay_ms: RecoveryDelay = DEFAULT_RECOVERY_DELAY_MS) -> dict[str, Any]:
        """The patient chooses who can recover their identity if they lose their key."""
        record = self._load(ctx, ctx.member_id)
        if len(set(guardians)) != len(guardians) or record["id"] in guardians:
            raise Rejected(Code.BAD_ARGUMENTS, "guardians are distinct members, other than you")
        if threshold > len(guardians):
            raise Rejected(Code.BAD_ARGUMENTS, f"threshold {threshold} is more than the "
                                               f"{len(guardians)} guardians")
        if self._open_recovery(ctx, record["id"]) is not None:
            raise Rejected(Code.CONFLICT, "a recovery is open; cancel it before changing the set")
        record["recovery"] = {"guardians": sorted(guardians), "threshold": threshold,
                              "delay_ms": delay_ms, "height": ctx.height}
        ctx.put(member_key(record["id"]), record)
        ctx.emit("recovery_set", patient=record["id"], guardians=len(guardians),
                 threshold=threshold)
        return {"patient": record["id"], "guardians": len(guardians), "threshold": threshold,
                "delay_ms": delay_ms}

    @staticmethod
    def _open_recovery(ctx: Context, patient: str) -> dict[str, Any] | None:
        """The patient's recovery in progress (None if none, or if it lapsed)."""
        found = ctx.get(recovery_key(patient))
        if found is None or found["status"] != "open":
            return None
        if found["ready_at"] is None and ctx.time >= found["opened"] + RECOVERY_GATHER_MS:
            return None
        return found

    def _recovery(self, ctx: Context, patient: str, recovery: str) -> dict[str, Any]:
        found = self._open_recovery(ctx, patient)
        if found is None or found["id"] != recovery:
            raise Rejected(Code.NOT_FOUND, f"no open recovery {recovery} for {patient}")
        return found

    @staticmethod
    def _approve(ctx: Context, found: dict[str, Any], threshold: int, delay_ms: int) -> None:
        found["approvals"].append(ctx.member_id)
        if found["ready_at"] is None and len(found["approvals"]) >= threshold:
            found["ready_at"] = ctx.time + delay_ms
            ctx.emit("recovery_pending", patient=found["patient"], recovery=found["id"],
                     takes_effect_at=found["ready_at"])

    @method(who=GuardianOf("patient"))
    def start_recovery(self, ctx: Context, patient: MemberRef, new_key: SigningDid
                       ) -> dict[str, Any]:
        """A guardian proposes a new key for the patient (and approves it)."""
        target = self._load(ctx, patient)
        if self._open_recovery(ctx, patient) is not None:
            raise Rejected(Code.CONFLICT, "a recovery is already open for this patient")
        if ctx.get(key_index(new_key)) is not None:
            raise Rejected(Code.CONFLICT, "that key already belongs to a member")
        found = {"id": "rc-" + ctx.tx_id[:24], "patient": patient, "new_key": new_key,
                 "status": "open", "opened": ctx.time, "opened_height": ctx.height,
                 "started_by": ctx.member_id, "approvals": [], "ready_at": None}
        ctx.emit("recovery_started", patient=patient, recovery=found["id"],
                 guardian=ctx.member_id, new_key=new_key)
        self._approve(ctx, found, target["recovery"]["threshold"], target["recovery"]["delay_ms"])
        ctx.put(recovery_key(patient), found)
        return {"recovery": found["id"], "approvals": len(found["approvals"]),
                "ready_at": found["ready_at"]}

    @method(who=GuardianOf("patient"))
    def approve_recovery(self, ctx: Context, patient: MemberRef,
                         recovery: RecoveryId) -> dict[str, Any]:
        target = self._load(ctx, patient)
        found = self._recovery(ctx, patient, recovery)
        if ctx.member_id in found["approvals"]:
            raise Rejected(Code.CONFLICT, "you already approved this recovery")
        self._approve(ctx, found, target["recovery"]["threshold"], target["recovery"]["delay_ms"])
        ctx.put(recovery_key(patient), found)
        ctx.emit("recovery_approved", patient=patient, recovery=recovery, guardian=ctx.member_id)
        return {"recovery": recovery, "approvals": len(found["approvals"]),
                "ready_at": found["ready_at"]}

    @method(who=Patient())
    def cancel_recovery(self, ctx: Context, recovery: RecoveryId) -> dict[str, Any]:
        """The patient, with their current key, stops a recovery they did not ask for."""
        patient = ctx.member_id
        found = self._recovery(ctx, patient, recovery)
        found.update(status="cancelled", closed_height=ctx.height)
        ctx.put(recovery_key(patient), found)
        ctx.emit("recovery_cancelled", patient=patient, recovery=recovery)
        return {"recovery": recovery, "status": "cancelled"}

    @method(who=GuardianOf("patient"))
    def complete_recovery(self, ctx: Context, patient: MemberRef, recovery: RecoveryId
                          ) -> dict[str, Any]:
        """After k approvals and the patient's delay, the new key replaces the old ones."""
        target = self._load(ctx, patient)
        found = self._recovery(ctx, patient, recovery)
        threshold = target["recovery"]["threshold"]
        if found["ready_at"] is None:
            raise Rejected(Code.CONFLICT, f"{len(found['approvals'])} of the {threshold} "
                                          "approvals needed so far")
        if ctx.time < found["ready_at"]:
            raise Rejected(Code.CONFLICT, f"the patient's delay runs until {found['ready_at']} "
                                          "(block time, ms); the patient may still cancel")
        _replace_keys(ctx, target, found["new_key"], "recovered")
        found.update(status="completed", closed_height=ctx.height)
        ctx.put(recovery_key(patient), found)
        ctx.emit("key_recovered", patient=patient, recovery=recovery, key=found["new_key"])
        return {"patient": patient, "key": found["new_key"]}

    # -- governance --------------------------------------------------------------------------
    @method(who=Governor())
    def add_organisation(self, ctx: Context, id: OrgId, name: OrgName, type: OrgType,
                         admins: Admins) -> dict[str, Any]:
        if ctx.get(org_key(id)) is not None:
            raise Rejected(Code.CONFLICT, f"organisation {id!r} exists")
        install_organisation(ctx.get, ctx.put, {"id": id, "name": name, "type": type},
                             [{"did": a} for a in admins], ctx.height)
        return {"org": id}

    @method(who=Governor())
    def remove_organisation(self, ctx: Context, id: OrgRef, reason: OrgRemovalReason
                            ) -> dict[str, Any]:
        """Remove an organisation: from now on none of its members hold any role.
        Everything it signed while it was a member stays verifiable as of then."""
        org = ctx.get(org_key(id))
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
        if get(key_index(admin["did"])) is not None:
            raise Rejected(Code.CONFLICT, f"{admin['did']} is already a member")
        put(member_key(admin["did"]), new_member(admin["did"], MEMBER_KIND, org["id"], ["admin"],
                                                 height, admin.get("encryption_key")))
        put(key_index(admin["did"]), admin["did"])
