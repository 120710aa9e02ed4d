"""Membership: organisations, their members, roles, key history and key recovery.

The state it writes is described in :mod:`salus.ledger.members`. Who may call what is
declared on each method (:mod:`salus.ledger.authority`): admins act on members of their
own organisation only, and a patient's identity belongs to the patient.

**Recovery.** A patient who loses their key cannot ask an admin for a new one (no admin
acts on a patient). Instead they choose, in advance, a recovery set: ``k`` of ``n``
guardians (relatives who are patients too, their own hospital's registrar, ...) and a
delay (72 h unless they set another, at least 1 h). To recover, a guardian proposes a new
key; once ``k`` guardians have approved it, the delay starts; the patient is told at each
step (events on their access stream) and their current key can cancel at any time; only
after the delay can a guardian complete it, and then the new key replaces every active
key (and the proposed encryption key, if any, the old one). The member id, and with it
consent, records and access log, stays the same.

Rules that keep a single guardian (or an outsider) from either taking over or blocking a
recovery for ever:

* each guardian has at most one open proposal, and proposals run side by side: a
  guardian who proposes a key of their own does not stop the others proposing the
  patient's;
* a proposal that does not gather ``k`` approvals within :data:`RECOVERY_GATHER_MS`
  lapses; one whose proposed key has meanwhile become a member's key is void (anyone
  could enrol that key to block it);
* the recovery set cannot change while a proposal is open; completing one closes every
  other.

State: ``recovery/<patient>`` -> ``{patient, open: [proposal], last: closed proposal or
None}``, a proposal being ``{id, new_key, encryption_key, started_by, opened,
opened_height, approvals, ready_at}`` (``ready_at``: block time from which it may
complete, set by the k-th approval); ``last`` also carries ``status`` (``cancelled`` or
``completed``) and ``closed_height``. Lapsed and void proposals are pruned on the next
write. At most one open proposal per guardian, so the value stays small.
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
    PatientRef,
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
    """The patient's recovery proposals (see the module docstring)."""
    return f"recovery/{patient}"


def proposal_status(get: Getter, now: int, proposal: dict[str, Any]) -> str:
    """A proposal at block time ``now``: ``open``, ``lapsed`` (too few approvals in
    time) or ``void`` (its key has become a member's)."""
    if proposal["ready_at"] is None and now >= proposal["opened"] + RECOVERY_GATHER_MS:
        return "lapsed"
    if get(key_index(proposal["new_key"])) is not None:
        return "void"
    return "open"


def _live_proposals(ctx: Context, patient: str) -> list[dict[str, Any]]:
    doc = ctx.get(recovery_key(patient))
    if doc is None:
        return []
    return [p for p in doc["open"] if proposal_status(ctx.get, ctx.time, p) == "open"]


def _find(ctx: Context, patient: str, live: list[dict[str, Any]], recovery: str
          ) -> dict[str, Any]:
    """The open proposal ``recovery`` of ``patient``, or why there is none."""
    found = next((p for p in live if p["id"] == recovery), None)
    if found is not None:
        return found
    doc = ctx.get(recovery_key(patient)) or {"open": [], "last": None}
    stale = next((p for p in doc["open"] if p["id"] == recovery), None)
    if stale is not None:
        status = proposal_status(ctx.get, ctx.time, stale)
        why = ("it did not gather its approvals in time" if status == "lapsed" else
               "its new key has since become a member's key")
        raise Rejected(Code.CONFLICT, f"recovery {recovery} is no longer open: {why}")
    last = doc["last"]
    if last is not None and last["id"] == recovery:
        raise Rejected(Code.CONFLICT, f"recovery {recovery} was {last['status']}")
    raise Rejected(Code.NOT_FOUND, f"no open recovery {recovery} for {patient}")


def _approve(ctx: Context, patient: str, proposal: dict[str, Any], rules: dict[str, Any]
             ) -> None:
    """The signer approves; the k-th approval starts the patient's delay."""
    proposal["approvals"].append(ctx.member_id)
    if proposal["ready_at"] is None and len(proposal["approvals"]) >= rules["threshold"]:
        proposal["ready_at"] = ctx.time + rules["delay_ms"]
        ctx.emit("recovery_pending", patient=patient, recovery=proposal["id"],
                 new_key=proposal["new_key"], takes_effect_at=proposal["ready_at"])


def _save(ctx: Context, patient: str, live: list[dict[str, Any]],
          closed: dict[str, Any] | None = None) -> None:
    """Write the patient's open proposals (lapsed and void ones dropped) and, if one
    just closed, that one as ``last``."""
    last = closed or (ctx.get(recovery_key(patient)) or {}).get("last")
    ctx.put(recovery_key(patient), {"patient": patient, "open": live, "last": last})


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
        """The patient chooses who can recover their identity if they lose their key: k
        (``threshold``) of these guardians, and how long they have to cancel."""
        record = self._load(ctx, ctx.member_id)
        if len(set(guardians)) != len(guardians) or record["id"] in guardians:
            raise Rejected(Code.BAD_ARGUMENTS, "guardians are distinct members, other than you")
        if threshold > len(guardians):
            raise Rejected(Code.BAD_ARGUMENTS, f"threshold {threshold} is more than the "
                                               f"{len(guardians)} guardians")
        if _live_proposals(ctx, record["id"]):
            raise Rejected(Code.CONFLICT, "a recovery is open; cancel it before changing the set")
        record["recovery"] = {"guardians": sorted(guardians), "threshold": threshold,
                              "delay_ms": delay_ms, "height": ctx.height}
        ctx.put(member_key(record["id"]), record)
        ctx.emit("recovery_set", patient=record["id"], guardians=len(guardians),
                 threshold=threshold, delay_ms=delay_ms)
        return {"patient": record["id"], "guardians": len(guardians), "threshold": threshold,
                "delay_ms": delay_ms}

    @method(who=GuardianOf("patient"))
    def start_recovery(self, ctx: Context, patient: PatientRef, new_key: SigningDid,
                       encryption_key: EncryptionDid | None = None) -> dict[str, Any]:
        """A guardian proposes a new signing key (and, optionally, a new encryption key)
        for the patient, and approves it. Each guardian has at most one open proposal."""
        rules = self._load(ctx, patient)["recovery"]
        live = _live_proposals(ctx, patient)
        mine = next((p for p in live if p["started_by"] == ctx.member_id), None)
        if mine is not None:
            raise Rejected(Code.CONFLICT, f"you already have an open proposal, {mine['id']}; "
                                          "it lapses or the patient cancels it")
        if ctx.get(key_index(new_key)) is not None:
            raise Rejected(Code.CONFLICT, "that key already belongs to a member")
        same = next((p for p in live if p["new_key"] == new_key), None)
        if same is not None:
            raise Rejected(Code.CONFLICT, f"that key is already proposed in {same['id']}; "
                                          "approve that one")
        found = {"id": "rc-" + ctx.tx_id[:24], "new_key": new_key,
                 "encryption_key": encryption_key, "started_by": ctx.member_id,
                 "opened": ctx.time, "opened_height": ctx.height, "approvals": [],
                 "ready_at": None}
        ctx.emit("recovery_started", patient=patient, recovery=found["id"],
                 guardian=ctx.member_id, new_key=new_key,
                 lapses_at=found["opened"] + RECOVERY_GATHER_MS)
        _approve(ctx, patient, found, rules)
        _save(ctx, patient, [*live, found])
        return {"recovery": found["id"], "approvals": len(found["approvals"]),
                "threshold": rules["threshold"], "ready_at": found["ready_at"]}

    @method(who=GuardianOf("patient"))
    def approve_recovery(self, ctx: Context, patient: PatientRef,
                         recovery: RecoveryId) -> dict[str, Any]:
        """Another guardian approves a proposal; the k-th approval starts the delay."""
        rules = self._load(ctx, patient)["recovery"]
        live = _live_proposals(ctx, patient)
        found = _find(ctx, patient, live, recovery)
        if ctx.member_id in found["approvals"]:
            raise Rejected(Code.CONFLICT, "you already approved this recovery")
        ctx.emit("recovery_approved", patient=patient, recovery=recovery, guardian=ctx.member_id)
        _approve(ctx, patient, found, rules)
        _save(ctx, patient, live)
        return {"recovery": recovery, "approvals": len(found["approvals"]),
                "threshold": rules["threshold"], "ready_at": found["ready_at"]}

    @method(who=Patient())
    def cancel_recovery(self, ctx: Context, recovery: RecoveryId | None = None
                        ) -> dict[str, Any]:
        """The patient, with their current key, stops a recovery they did not ask for
        (``recovery``), or every open one (no argument)."""
        patient = ctx.member_id
        live = _live_proposals(ctx, patient)
        if recovery is None:
            if not live:
                raise Rejected(Code.NOT_FOUND, "you have no open recovery")
            cancelled = live
        else:
            cancelled = [_find(ctx, patient, live, recovery)]
        for found in cancelled:
            ctx.emit("recovery_cancelled", patient=patient, recovery=found["id"])
        gone = {p["id"] for p in cancelled}
        _save(ctx, patient, [p for p in live if p["id"] not in gone],
              closed={**cancelled[-1], "status": "cancelled", "closed_height": ctx.height})
        return {"cancelled": sorted(gone)}

    @method(who=GuardianOf("patient"))
    def complete_recovery(self, ctx: Context, patient: PatientRef, recovery: RecoveryId
                          ) -> dict[str, Any]:
        """After k approvals and the patient's delay, a guardian completes the recovery:
        the proposed key replaces every active key of the patient, and every other open
        proposal closes."""
        target = self._load(ctx, patient)
        live = _live_proposals(ctx, patient)
        found = _find(ctx, patient, live, recovery)
        threshold = target["recovery"]["threshold"]
        if found["ready_at"] is None:
            raise Rejected(Code.CONFLICT, f"{len(found['approvals'])} of the {threshold} "
                                          "approvals needed so far")
        if ctx.time < found["ready_at"]:
            raise Rejected(Code.CONFLICT, f"the patient's delay runs until {found['ready_at']} "
                                          "(block time, ms); the patient may still cancel")
        if found["encryption_key"] is not None:
            target["encryption_key"] = found["encryption_key"]
        _replace_keys(ctx, target, found["new_key"], "recovered")
        _save(ctx, patient, [], closed={**found, "status": "completed",
                                        "closed_height": ctx.height})
        ctx.emit("key_recovered", patient=patient, recovery=recovery, key=found["new_key"])
        if found["encryption_key"] is not None:
            # the same event set_encryption_key emits: gateways re-wrap document keys to it
            ctx.emit("encryption_key_set", member=patient)
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
