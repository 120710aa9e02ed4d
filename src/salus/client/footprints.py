"""The product footprint part of the SDK (issue 16 item 8).

    maker.attach_footprint(Path("pcf.json").read_bytes(), "09506000134352", lot="LOT-A1")
    member.footprint("09506000134352", lot="LOT-A1")
    party.impact("(01)09506000134352(21)ABC123")   # CO2e and labour of a pack, per shipment

The footprint is checked here first (:func:`salus.supply.footprint.for_gtin`: PACT v3's
schema, figures exact, Active, naming the GTIN); only its hash and key figures are sent,
never the document.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from salus.client.supply_notices import gtin14
from salus.supply.footprint import for_gtin, read_footprint

if TYPE_CHECKING:
    from salus.client.client import SalusClient


class FootprintsClient:
    """Mixed into :class:`~salus.client.SalusClient`."""

    def attach_footprint(self: SalusClient, footprint: bytes | dict[str, Any], gtin: str,
                         lot: str | None = None) -> dict[str, Any]:
        """Attach a PACT v3 ProductFootprint (a file's bytes, or the parsed document) to
        your product ``gtin``, or to its ``lot``. Raises
        :class:`~salus.supply.footprint.FootprintInvalid` with every reason before
        anything is sent when it is not one to attach."""
        gtin = gtin14(gtin)
        doc = read_footprint(footprint) if isinstance(footprint, bytes) else footprint
        args: dict[str, Any] = {"gtin": gtin, "footprint": for_gtin(doc, gtin).to_json()}
        if lot is not None:
            args["lot"] = lot
        return self.call("supply", "attach_footprint", args).output

    def footprint(self: SalusClient, gtin: str, lot: str | None = None) -> dict[str, Any]:
        """The footprint attached to a product (and to its lot, if given and attached)."""
        params = {} if lot is None else {"lot": lot}
        return self._request("GET", f"/v1/supply/footprints/{gtin14(gtin)}", auth=True,
                             params=params)

    def impact(self: SalusClient, item: str) -> dict[str, Any]:
        """CO2e and labour of a pack or case (any identifier form) and of each shipment in
        its chain of custody you may read (its parties and regulators): ``now``, and
        ``shipments``; labour only from the making events you may read."""
        return self._request("GET", "/v1/supply/impact", auth=True, params={"item": item})
