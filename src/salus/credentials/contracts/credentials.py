"""The credentials contract: batch anchors and status lists, and who may issue what.

* ``anchor`` puts a batch's Merkle root on the ledger. The signer must hold the
  ``issuer`` role in an organisation whose type may issue every credential type in the
  batch (a board issues licences, a school degrees, ...): the ledger enforces the policy
  in :data:`salus.credentials.types.ISSUER_ORG_TYPES`.
* ``create_status_list`` opens a W3C Bitstring Status List for revocation or suspension.
* ``set_status`` changes entries of a list. Each entry keeps its whole history
  (height, block time, value, reason), so "was it revoked on date D?" has an answer.
  A revocation is final; a suspension can be lifted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from typing_extensions import TypedDict

from salus.credentials.contracts.layout import (
    ISSUER_ROLE,
    MAX_BATCH,
    MAX_LIST_SIZE,
    MAX_STATUS_CHANGES,
    MIN_LIST_SIZE,
    STATUS_PURPOSES,
    STATUS_REASONS,
    anchor_key,
    list_key,
    status_key,
)
from salus.credentials.types import ISSUER_ORG_TYPES
from salus.ledger.authority import HoldsRole
from salus.ledger.codes import Code, Rejected
from salus.ledger.contract import Context, Contract, method
from salus.ledger.members import org_key
from salus.ledger.schema import CODE_PATTERN, STRICT, Sha256Hex, array, integer, one_of, reference, text

ListId = text(CODE_PATTERN, 64, "status list id: 1-64 of A-Z a-z 0-9 . _ -")
ListRef = reference(ListId, "status list", list_key)
CredentialType = one_of(frozenset(ISSUER_ORG_TYPES), "credential type")
BatchTypes = array(CredentialType, 1, len(ISSUER_ORG_TYPES), "each credential type in the batch")
BatchSize = integer(1, MAX_BATCH, "credentials in the batch")
ListSize = integer(MIN_LIST_SIZE, MAX_LIST_SIZE, "entries (a multiple of 8)")
StatusPurpose = one_of(STATUS_PURPOSES, "what setting an entry means")


StatusIndex = integer(0, MAX_LIST_SIZE - 1, "entry index")
StatusReason = one_of(STATUS_REASONS, "why the status changes")


class StatusChange(TypedDict):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    index: StatusIndex
    value: bool
    reason: StatusReason


StatusChanges = array(StatusChange, 1, MAX_STATUS_CHANGES, "entries to change")


def issuer_org(ctx: Context) -> dict[str, Any]:
    """The signer's organisation (the issuer rule has admitted the signer)."""
    assert ctx.member is not None
    return ctx.get(org_key(ctx.member["org"]))


@dataclass(frozen=True)
class IssuerOfTypes(HoldsRole):
    """A4 for anchors: an issuer of an organisation whose type may issue every credential
    type the batch declares (:data:`salus.credentials.types.ISSUER_ORG_TYPES`)."""

    types: str = "types"

    def check(self, ctx: Context, args: dict[str, Any]) -> None:
        super().check(ctx, args)
        org = issuer_org(ctx)
        for kind in args[self.types]:
            allowed = ISSUER_ORG_TYPES[kind]
            if org["type"] not in allowed:
                raise Rejected(Code.FORBIDDEN, f"a {org['type']} may not issue {kind} "
                                               f"(issued by: {', '.join(allowed)})")

    def describe(self) -> str:
        return super().describe() + (f", of an organisation whose type may issue every type in "
                                     f"`{self.types}`")


@dataclass(frozen=True)
class IssuerOfList(HoldsRole):
    """A4 for status lists: an issuer of the organisation that created the list."""

    status_list: str = "status_list"

    def check(self, ctx: Context, args: dict[str, Any]) -> None:
        super().check(ctx, args)
        doc = ctx.get(list_key(args[self.status_list]))
        if doc["org"] != ctx.member["org"]:
            raise Rejected(Code.FORBIDDEN, f"status list {args[self.status_list]!r} belongs to "
                                           f"{doc['org']}")

    def describe(self) -> str:
        return super().describe() + f", of the organisation that created `{self.status_list}`"


class CredentialsContract(Contract):
    name = "credentials"

    @method(who=IssuerOfTypes((ISSUER_ROLE,)))
    def anchor(self, ctx: Context, root: Sha256Hex, size: BatchSize, types: BatchTypes
               ) -> dict[str, Any]:
        org = issuer_org(ctx)
        if len(set(types)) != len(types):
            raise Rejected(Code.BAD_ARGUMENTS, "types lists each credential type in the batch once")
        if ctx.get(anchor_key(root)) is not None:
            raise Rejected(Code.CONFLICT, f"batch root {root} is already anchored")
        doc = {"root": root, "size": size, "types": sorted(types), "issuer": ctx.member_id,
               "key": ctx.signer, "org": org["id"], "org_type": org["type"],
               "height": ctx.height, "time": ctx.time, "tx": ctx.tx_id}
        ctx.put(anchor_key(root), doc)
        ctx.emit("batch_anchored", root=root, size=size, org=org["id"])
        return {"root": root, "height": ctx.height}

    @method(who=HoldsRole((ISSUER_ROLE,)))
    def create_status_list(self, ctx: Context, status_list: ListId, purpose: StatusPurpose,
                           size: ListSize = MIN_LIST_SIZE) -> dict[str, Any]:
        org = issuer_org(ctx)
        if size % 8:
            raise Rejected(Code.BAD_ARGUMENTS, f"size must be a multiple of 8 from {MIN_LIST_SIZE} "
                                               f"to {MAX_LIST_SIZE}")
        if ctx.get(list_key(status_list)) is not None:
            raise Rejected(Code.CONFLICT, f"status list {status_list!r} exists")
        ctx.put(list_key(status_list), {
            "id": status_list, "purpose": purpose, "size": size, "org": org["id"],
            "created_by": ctx.member_id, "height": ctx.height, "time": ctx.time, "set": 0})
        return {"list": status_list}

    @method(who=IssuerOfList((ISSUER_ROLE,)))
    def set_status(self, ctx: Context, status_list: ListRef, changes: StatusChanges
                   ) -> dict[str, Any]:
        """``changes``: ``[{index, value, reason}]``; value true revokes or suspends."""
        doc = ctx.get(list_key(status_list))
        seen: set[int] = set()
        for change in changes:
            index, value, reason = change["index"], change["value"], change["reason"]
            if not index < doc["size"] or index in seen:
                raise Rejected(Code.BAD_ARGUMENTS, f"index must be a distinct integer in "
                                                   f"[0, {doc['size']})")
            seen.add(index)
            entry = ctx.get(status_key(status_list, index)) or {"value": False, "history": []}
            if entry["value"] == value:
                raise Rejected(Code.CONFLICT, f"entry {index} of {status_list!r} is already {value}")
            if doc["purpose"] == "revocation" and not value:
                raise Rejected(Code.CONFLICT, "a revocation is final; suspend instead to undo later")
            entry["value"] = value
            entry["history"].append([ctx.height, ctx.time, value, reason])
            ctx.put(status_key(status_list, index), entry)
            doc["set"] += 1 if value else -1
        ctx.put(list_key(status_list), doc)
        ctx.emit("status_changed", list=status_list, indices=sorted(seen))
        return {"list": status_list, "changed": len(seen)}
