"""The recalls and suspect product part of the SDK (issue 16 item 6).

    maker.recall("09506000134352", "LOT-A1", "contamination")        # brand owner or regulator
    maker.close_investigation(item, "illegitimate", facts=form_3911)  # brand owner or regulator
    maker.investigations()                                            # open ones you may read
    SalusClient(url).recalls()                                        # the public recall board
    for notice in pharmacy.supply_events(): ...                       # what concerns your org

Writes sign a ``supply`` contract transaction with your key and wait for it; a refusal
raises :class:`~salus.client.SalusError` (``FORBIDDEN``, ``NOT_FOUND``, ``CONFLICT``, ...)
with the node's reason. A GTIN or item that is not one raises ValueError before anything
is sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from salus.supply.contracts.layout import item_key
from salus.supply.identifiers import IdentifierError, check_digit, parse

if TYPE_CHECKING:
    from salus.client.client import SalusClient

_ITEM_KEY = re.compile(r"[0-9a-f]{64}")


def gtin14(text: str) -> str:
    """A GTIN-8, -12, -13 or -14 as a GTIN-14, its check digit verified."""
    digits = text.strip()
    if not (digits.isascii() and digits.isdigit() and len(digits) in (8, 12, 13, 14)):
        raise ValueError(f"{text!r} is not a GTIN (8, 12, 13 or 14 digits)")
    gtin = digits.zfill(14)
    if check_digit(gtin[:13]) != gtin[13]:
        raise ValueError(f"GTIN {text}: wrong check digit")
    return gtin


def item_ref(text: str) -> str:
    """The item key of a pack or container: given as its key (64 hex), or as any of its
    identifiers (GS1 DataMatrix element string, Digital Link, EPC URN; a pack's serial
    included, an SSCC for a container). The identifier stays here: only its key is sent."""
    if _ITEM_KEY.fullmatch(text):
        return text
    try:
        identity = parse(text)
    except IdentifierError as exc:
        raise ValueError(f"not an item key or a pack's identifier: {exc}") from None
    if identity.serial is None and identity.sscc is None:
        raise ValueError("name one pack (GTIN and serial) or container (SSCC)")
    return item_key(identity)


class SupplyNoticesClient:
    """Mixed into :class:`~salus.client.SalusClient`."""

    def recall(self: SalusClient, gtin: str, lot: str, reason: str) -> dict[str, Any]:
        """Recall a lot (its brand owner's supply operator, or a regulator): dispensing
        refuses its packs from the next block, and every trading organisation hears of it."""
        return self.call("supply", "recall", {"gtin": gtin14(gtin), "lot": lot,
                                              "reason": reason}).output

    def close_investigation(self: SalusClient, item: str, finding: str,
                            facts: dict[str, Any] | None = None) -> dict[str, Any]:
        """Close a suspect item's investigation (the brand owner, or a regulator):
        ``cleared`` (saleable again) or ``illegitimate`` with the FDA Form 3911 facts."""
        args: dict[str, Any] = {"item": item_ref(item), "finding": finding}
        if facts is not None:
            args["facts"] = facts
        return self.call("supply", "close_investigation", args).output

    def recalls(self: SalusClient, gtin: str | None = None, lot: str | None = None, *,
                after: str = "", limit: int = 100) -> dict[str, Any]:
        """The recall board, a page at a time (``next`` is the following page's
        ``after``); with ``gtin`` and ``lot``, that lot's recall if it has one."""
        params: dict[str, Any] = {"limit": limit}
        if after:
            params["after"] = after
        if gtin is not None:
            params["gtin"] = gtin14(gtin)
        if lot is not None:
            params["lot"] = lot
        return self._request("GET", "/v1/supply/recalls", params=params)

    def investigation(self: SalusClient, item: str) -> dict[str, Any]:
        """A suspect item's investigation (its opener, brand owner and regulators)."""
        return self._request("GET", f"/v1/supply/investigations/{item_ref(item)}", auth=True)

    def investigations(self: SalusClient, status: str = "open", after: str = ""
                       ) -> dict[str, Any]:
        """The investigations you may read (opened by your organisation, of your brand's
        packs; a regulator: all), ``open``, ``closed`` or ``all``, each with its deadline
        and the pack's GTIN and lot; ``next`` is the following page's ``after``."""
        if status not in ("open", "closed", "all"):
            raise ValueError("status is open, closed or all")
        params = {"status": status, **({"after": after} if after else {})}
        return self._request("GET", "/v1/supply/investigations", auth=True, params=params)

    def supply_events(self: SalusClient, *, read_timeout: float = 60.0
                      ) -> Iterator[dict[str, Any]]:
        """Your organisation's supply notices as they commit (server-sent events): every
        recall (with how many of its packs you hold), suspect and stolen reports of your
        brand's packs or your own, closed investigations of items you held. The first is
        ``ready``. Close the generator to disconnect."""
        return self.event_stream("/v1/supply/events", read_timeout=read_timeout)
