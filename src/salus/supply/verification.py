"""A pack verified at the counter from what the ledger holds, in the shape of the GS1
Lightweight Messaging Standard for Verification of Product Identifiers (LMS): is there a
pack with this GTIN and serial, do its lot and expiry match the label, and what should
the person holding it know.

Rules (the numbers are cited below):

V1. A pack is found by its item key (``layout.item_key``), so only from its full
    identifier, and only if the ledger's record is a pack of the scanned GTIN; otherwise
    ``No_match_GTIN_Serial`` (a counterfeit's invented serial ends here).
V2. The label's lot and expiry, when the request gives them, are compared with the
    commissioned ones: ``No_match_GTIN_Serial_Lot``, ``No_match_GTIN_Serial_Expiry`` or
    ``No_match_GTIN_Serial_Lot_Expiry`` (LMS failure reasons).
V3. A matching pack is ``verified``; what a dispenser must still know is additional
    information: ``Recalled`` (its lot), ``Expired`` (expiry before today's UTC date, as
    the contract reads it), ``Suspect``, ``Illegitimate`` (LMS values), and, as Salus's
    own values, the statuses after which it should be nowhere on a shelf:
    ``Dispensed``, ``Destroyed``, ``Decommissioned``, ``Stolen`` (a pack dispensed before
    and scanned again is a copy of a real serial).
V4. The answer says nothing of who owns or holds the pack, or where it has been.
V5. A saleable return (LMS context ``dscsaSaleableReturn``) is verified only when V1-V2
    match, the returner received the pack in a shipment (it is in the pack's ``parties``
    after the brand owner that commissioned it), and the requester's own organisation
    handled the pack (is in its ``parties``). Otherwise ``No_reason_provided``: whether
    the returner ever held a pack is a trading relationship, told only to a party of the
    pack, who may read the pack's events anyway (docs/supply.md), and a non-party
    cannot tell a returner that never held the pack from one that did.

On the wire (:meth:`Verification.data`) the LMS's ``additionalInfo`` is one string, the
most severe of the standard's values that apply; Salus's statuses are the LMS's
``Suspect`` there (a serial that reappears after it was dispensed, destroyed,
decommissioned or stolen is suspect product), and ``additionalInfoAll`` (Salus's own
member) lists every value that applies, Salus's included.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from salus.supply.contracts.layout import (
    DECOMMISSIONED,
    DESTROYED,
    DISPENSED,
    ILLEGITIMATE,
    PACK,
    STOLEN,
    SUSPECT,
    item_key,
    item_state_key,
    lot_id,
    lot_key,
)
from salus.supply.identifiers import IdentifierError, Identity

NO_MATCH = "No_match_GTIN_Serial"
#: The LMS reason for a refusal the responder gives no reason for (V5).
NO_REASON = "No_reason_provided"
#: (lot differs, expiry differs) -> the LMS failure reason (V2).
MISMATCH = {(True, False): "No_match_GTIN_Serial_Lot",
            (False, True): "No_match_GTIN_Serial_Expiry",
            (True, True): "No_match_GTIN_Serial_Lot_Expiry"}
#: Statuses a dispenser must be told of (V3), and how.
STATUS_INFO = {SUSPECT: "Suspect", ILLEGITIMATE: "Illegitimate", DISPENSED: "Dispensed",
               DESTROYED: "Destroyed", DECOMMISSIONED: "Decommissioned", STOLEN: "Stolen"}
#: Each additional information value as the LMS's ``additionalInfo`` says it (one of
#: the standard's values), most severe first.
LMS_INFO = {"Illegitimate": "Illegitimate", "Stolen": "Suspect", "Suspect": "Suspect",
            "Dispensed": "Suspect", "Destroyed": "Suspect", "Decommissioned": "Suspect",
            "Recalled": "Recalled", "Expired": "Expired"}
LMS_SEVERITY = ("Illegitimate", "Suspect", "Recalled", "Expired")


@dataclass(frozen=True)
class Verification:
    verified: bool
    failure: str | None = None
    info: tuple[str, ...] = ()

    def data(self) -> dict[str, Any]:
        """The LMS response's ``data`` member: ``additionalInfo`` the most severe LMS value
        that applies, ``additionalInfoAll`` (Salus's) every value (module docstring)."""
        out: dict[str, Any] = {"verified": self.verified}
        if self.failure is not None:
            out["verificationFailureReason"] = self.failure
        if self.info:
            said = {LMS_INFO[i] for i in self.info}
            out["additionalInfo"] = next(v for v in LMS_SEVERITY if v in said)
            out["additionalInfoAll"] = list(self.info)
        return out


def _date(identity_expiry: Any) -> int | None:
    if identity_expiry is None:
        return None
    return identity_expiry.year * 10_000 + identity_expiry.month * 100 + identity_expiry.day


def verify(get: Callable[[str], Any], scanned: Identity, today: int) -> Verification:
    """Verify the pack ``scanned`` names (GTIN and serial; lot and expiry compared when
    the scan carries them) against ledger state read with ``get``; ``today`` is the UTC
    date as ``YYYYMMDD``. IdentifierError if ``scanned`` names no pack."""
    if scanned.gtin is None or scanned.serial is None:
        raise IdentifierError("a verification names a pack: its GTIN and serial")
    state = get(item_state_key(item_key(scanned)))
    if not isinstance(state, dict) or state.get("kind") != PACK or state.get("gtin") != scanned.gtin:
        return Verification(False, NO_MATCH)  # V1
    lot_differs = scanned.lot is not None and scanned.lot != state["lot"]
    expiry = _date(scanned.expiry)
    expiry_differs = expiry is not None and expiry != state["expiry"]
    if lot_differs or expiry_differs:
        return Verification(False, MISMATCH[(lot_differs, expiry_differs)])  # V2
    info = []
    lot = get(lot_key(lot_id(state["gtin"], state["lot"])))
    if isinstance(lot, dict) and lot.get("recall") is not None:
        info.append("Recalled")
    if state["expiry"] < today:
        info.append("Expired")
    if state["status"] in STATUS_INFO:
        info.append(STATUS_INFO[state["status"]])
    return Verification(True, None, tuple(info))  # V3; V4: nothing else is said


def verify_return(get: Callable[[str], Any], scanned: Identity, today: int,
                  requester_org: str, returner: str) -> Verification:
    """A saleable return of the pack ``scanned`` names, by ``returner``, asked by a member
    of ``requester_org`` (V5). The caller has checked who the requester is."""
    found = verify(get, scanned, today)
    if not found.verified:
        return found  # V1-V2 come first, as for any verification
    parties = get(item_state_key(item_key(scanned)))["parties"]
    if requester_org not in parties or returner not in parties[1:]:
        return Verification(False, NO_REASON, found.info)  # V5
    return found
