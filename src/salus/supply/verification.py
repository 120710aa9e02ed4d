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
#: (lot differs, expiry differs) -> the LMS failure reason (V2).
MISMATCH = {(True, False): "No_match_GTIN_Serial_Lot",
            (False, True): "No_match_GTIN_Serial_Expiry",
            (True, True): "No_match_GTIN_Serial_Lot_Expiry"}
#: Statuses a dispenser must be told of (V3), and how.
STATUS_INFO = {SUSPECT: "Suspect", ILLEGITIMATE: "Illegitimate", DISPENSED: "Dispensed",
               DESTROYED: "Destroyed", DECOMMISSIONED: "Decommissioned", STOLEN: "Stolen"}


@dataclass(frozen=True)
class Verification:
    verified: bool
    failure: str | None = None
    info: tuple[str, ...] = ()

    def data(self) -> dict[str, Any]:
        """The LMS response's ``data`` member."""
        out: dict[str, Any] = {"verified": self.verified}
        if self.failure is not None:
            out["verificationFailureReason"] = self.failure
        if self.info:
            out["additionalInfo"] = list(self.info)
        return out


def _date(identity_expiry: Any) -> int | None:
    return None if identity_expiry is None else int(identity_expiry.strftime("%Y%m%d"))


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
