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

from typing import Any

from salus.credentials.contracts.layout import (
    ISSUER_ROLE,
    LIST_ID,
    MAX_BATCH,
    MAX_LIST_SIZE,
    MAX_STATUS_CHANGES,
    MIN_LIST_SIZE,
    STATUS_PURPOSES,
    anchor_key,
    list_key,
    status_key,
)
from salus.credentials.types import ISSUER_ORG_TYPES
from salus.ledger.codes import Code, Rejected
from salus.ledger.contract import SHA256_HEX, Context, Contract, method
from salus.ledger.contracts.membership import has_role, org_key


def require_issuer(ctx: Context) -> dict[str, Any]:
    """The signer's organisation, if the signer holds the issuer role in it now."""
    member = ctx.member
    if member is None or not has_role(ctx.get, member, ISSUER_ROLE, None, ctx.height):
        raise Rejected(Code.FORBIDDEN, f"only a member with the {ISSUER_ROLE} role may do this")
    org = ctx.get(org_key(member["org"]))
    assert org is not None  # has_role checked the organisation is active
    return org


class CredentialsContract(Contract):
    name = "credentials"

    @method
    def anchor(self, ctx: Context, root: str, size: int, types: list[str]) -> dict[str, Any]:
        org = require_issuer(ctx)
        if not SHA256_HEX.match(root):
            raise Rejected(Code.BAD_ARGUMENTS, "root must be 64 lowercase hex digits")
        if not 1 <= size <= MAX_BATCH:
            raise Rejected(Code.BAD_ARGUMENTS, f"a batch holds 1 to {MAX_BATCH} credentials")
        if not types or len(set(types)) != len(types):
            raise Rejected(Code.BAD_ARGUMENTS, "types lists each credential type in the batch once")
        for kind in types:
            allowed = ISSUER_ORG_TYPES.get(kind)
            if allowed is None:
                raise Rejected(Code.BAD_ARGUMENTS, f"{kind!r} is not a credential type; known: "
                                                   f"{', '.join(sorted(ISSUER_ORG_TYPES))}")
            if org["type"] not in allowed:
                raise Rejected(Code.FORBIDDEN, f"a {org['type']} may not issue {kind} "
                                               f"(issued by: {', '.join(allowed)})")
        if ctx.get(anchor_key(root)) is not None:
            raise Rejected(Code.CONFLICT, f"batch root {root} is already anchored")
        doc = {"root": root, "size": size, "types": sorted(types), "issuer": ctx.member_id,
               "key": ctx.signer, "org": org["id"], "org_type": org["type"],
               "height": ctx.height, "time": ctx.time, "tx": ctx.tx_id}
        ctx.put(anchor_key(root), doc)
        ctx.emit("batch_anchored", root=root, size=size, org=org["id"])
        return {"root": root, "height": ctx.height}

    @method
    def create_status_list(self, ctx: Context, status_list: str, purpose: str,
                           size: int = MIN_LIST_SIZE) -> dict[str, Any]:
        org = require_issuer(ctx)
        if not LIST_ID.match(status_list):
            raise Rejected(Code.BAD_ARGUMENTS, "list id must be 1-64 of A-Z a-z 0-9 . _ -")
        if purpose not in STATUS_PURPOSES:
            raise Rejected(Code.BAD_ARGUMENTS, f"purpose must be one of {', '.join(STATUS_PURPOSES)}")
        if not MIN_LIST_SIZE <= size <= MAX_LIST_SIZE or size % 8:
            raise Rejected(Code.BAD_ARGUMENTS, f"size must be a multiple of 8 from {MIN_LIST_SIZE} "
                                               f"to {MAX_LIST_SIZE}")
        if ctx.get(list_key(status_list)) is not None:
            raise Rejected(Code.CONFLICT, f"status list {status_list!r} exists")
        ctx.put(list_key(status_list), {
            "id": status_list, "purpose": purpose, "size": size, "org": org["id"],
            "created_by": ctx.member_id, "height": ctx.height, "time": ctx.time, "set": 0})
        return {"list": status_list}

    @method
    def set_status(self, ctx: Context, status_list: str, changes: list[dict[str, Any]]
                   ) -> dict[str, Any]:
        """``changes``: ``[{index, value, reason}]``; value true revokes or suspends."""
        org = require_issuer(ctx)
        doc = ctx.get(list_key(status_list)) if LIST_ID.match(status_list) else None
        if doc is None:
            raise Rejected(Code.NOT_FOUND, f"no status list {status_list!r}")
        if doc["org"] != org["id"]:
            raise Rejected(Code.FORBIDDEN,
                           f"status list {status_list!r} belongs to {doc['org']}")
        if not 1 <= len(changes) <= MAX_STATUS_CHANGES:
            raise Rejected(Code.BAD_ARGUMENTS, f"1 to {MAX_STATUS_CHANGES} changes per transaction")
        seen: set[int] = set()
        for change in changes:
            if not isinstance(change, dict) or set(change) != {"index", "value", "reason"}:
                raise Rejected(Code.BAD_ARGUMENTS, "each change is {index, value, reason}")
            index, value, reason = change["index"], change["value"], change["reason"]
            if type(index) is not int or not 0 <= index < doc["size"] or index in seen:
                raise Rejected(Code.BAD_ARGUMENTS, f"index must be a distinct integer in "
                                                   f"[0, {doc['size']})")
            if type(value) is not bool or not isinstance(reason, str) or len(reason) > 200:
                raise Rejected(Code.BAD_ARGUMENTS, "value is a boolean, reason a string (<= 200)")
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
