"""The recovery part of the SDK: a patient's recovery set, and the guardians' side.

    # the patient, in advance
    me.set_recovery([sister_id, registrar_id], threshold=2)       # 72 h to cancel
    # after losing her key, she makes a new one and hands its public dids to a guardian
    rec = sister.start_recovery(patient_id, new.did, new.encryption_did)["recovery"]
    registrar.approve_recovery(patient_id, rec)                    # the delay starts
    me_with_old_key.cancel_recovery(rec)                           # ... unless she cancels
    sister.complete_recovery(patient_id, rec)                      # after the delay

Every call signs a ``membership`` transaction and waits for it; a refusal raises
:class:`~salus.client.SalusError` (``FORBIDDEN``, ``NOT_FOUND``, ``CONFLICT``, ...)
with the node's reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from salus.ledger.contracts.membership import proposal_status
from salus.ledger.members import key_index

if TYPE_CHECKING:
    from salus.client.client import SalusClient


class RecoveryClient:
    """Mixed into :class:`~salus.client.SalusClient`."""

    # -- the patient -----------------------------------------------------------------------
    def set_recovery(self: SalusClient, guardians: list[str], threshold: int,
                     delay_ms: int | None = None) -> dict[str, Any]:
        """Choose ``threshold`` of ``guardians`` (member ids) who may recover your
        identity, and the delay (ms, default 72 h) during which you can cancel."""
        args: dict[str, Any] = {"guardians": guardians, "threshold": threshold}
        if delay_ms is not None:
            args["delay_ms"] = delay_ms
        return self.call("membership", "set_recovery", args).output

    def cancel_recovery(self: SalusClient, recovery: str | None = None) -> dict[str, Any]:
        """Cancel a recovery of your identity (every open one by default)."""
        args = {} if recovery is None else {"recovery": recovery}
        return self.call("membership", "cancel_recovery", args).output

    # -- guardians -------------------------------------------------------------------------
    def start_recovery(self: SalusClient, patient: str, new_key: str,
                       encryption_key: str | None = None) -> dict[str, Any]:
        """Propose ``new_key`` (and ``encryption_key``) for ``patient`` and approve it."""
        args = {"patient": patient, "new_key": new_key}
        if encryption_key is not None:
            args["encryption_key"] = encryption_key
        return self.call("membership", "start_recovery", args).output

    def approve_recovery(self: SalusClient, patient: str, recovery: str) -> dict[str, Any]:
        return self.call("membership", "approve_recovery",
                         {"patient": patient, "recovery": recovery}).output

    def complete_recovery(self: SalusClient, patient: str, recovery: str) -> dict[str, Any]:
        """Once k guardians approved and the patient's delay has run: the new key takes over."""
        return self.call("membership", "complete_recovery",
                         {"patient": patient, "recovery": recovery}).output

    # -- the patient and their guardians ---------------------------------------------------
    def recovery_status(self: SalusClient, patient: str | None = None) -> dict[str, Any]:
        """A patient's recovery set and proposals (yours by default), each proposal with
        its ``status``: ``gathering`` (fewer than k approvals), ``waiting`` (the delay
        runs until ``ready_at``), ``ready`` (a guardian may complete it), ``lapsed`` or
        ``void`` (its key has become a member's), judged at the later of the node's head
        time and this client's clock."""
        who = patient or self.member_id()
        doc = self._request("GET", f"/v1/members/{who}/recovery", auth=True)
        rules = doc["recovery"] or {}
        now = max(self.status()["time"], self.clock())
        # the proposed keys' owners, if any, as the contract sees them (void if owned)
        owners = {key_index(key): owner for key, owner in doc["key_owners"].items()}
        proposals = []
        for p in doc["open"]:
            status = proposal_status(owners.get, now, p)
            if status == "open":
                status = ("gathering" if p["ready_at"] is None else
                          "waiting" if now < p["ready_at"] else "ready")
            proposals.append({**p, "status": status})
        return {"patient": who, "now": now, "guardians": rules.get("guardians"),
                "threshold": rules.get("threshold"), "delay_ms": rules.get("delay_ms"),
                "proposals": proposals, "last": doc["last"]}
