"""Verification at the counter, in the SDK: a pack checked against the ledger in the GS1
Lightweight Messaging Standard's shape.

    with SalusClient(url) as anyone:                    # no key needed at the counter
        anyone.verify_pack("09506000134352", "LOT-A1", "S1", "271231")["data"]
        anyone.scan("]d2\\x1d01095060001343521727123110LOT-A1\\x1d21S1")["identity"]
    with SalusClient(url, distributor_key) as c:        # a saleable return: a token
        c.verify_pack(gtin, lot, serial, exp, context="dscsaSaleableReturn",
                      returner="corner-pharmacy")

A refusal (a bad part, 401/403 for a saleable return, 429) raises
:class:`~salus.client.SalusError` with the node's stable code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from salus.client.client import SalusClient

DISPENSE = "dispense"
SALEABLE_RETURN = "dscsaSaleableReturn"


def _lms_query(context: str, returner: str | None, req_gln: str | None,
               corr_uuid: str | None) -> dict[str, str]:
    optional = {"returner": returner, "reqGLN": req_gln, "corrUUID": corr_uuid}
    return {"context": context, **{k: v for k, v in optional.items() if v is not None}}


class VerificationClient:
    """Mixed into :class:`~salus.client.SalusClient`."""

    def verify_pack(self: SalusClient, gtin: str, lot: str, serial: str, exp: str, *,
                    context: str = DISPENSE, returner: str | None = None,
                    req_gln: str | None = None, corr_uuid: str | None = None) -> dict[str, Any]:
        """``GET /vrs/gtin/{gtin}/lot/{lot}/ser/{serial}?exp=YYMMDD``: the LMS response.
        A saleable return is asked with this client's token (its identity must be a
        trading organisation's supply operator or pharmacist)."""
        path = "/vrs/gtin/{}/lot/{}/ser/{}".format(*(quote(p, safe="") for p in (gtin, lot, serial)))
        params = {"exp": exp, **_lms_query(context, returner, req_gln, corr_uuid)}
        return self._request("GET", path, auth=context == SALEABLE_RETURN, params=params)

    def scan(self: SalusClient, scanned: str, *, context: str = DISPENSE,
             returner: str | None = None, req_gln: str | None = None,
             corr_uuid: str | None = None) -> dict[str, Any]:
        """``POST /v1/supply/scan``: what a scanner read (a DataMatrix's data, an element
        string, a GS1 Digital Link or an EPC URN), verified; the LMS response plus the
        ``identity`` read (gtin, serial, lot, expiry)."""
        body = {"scan": scanned, **_lms_query(context, returner, req_gln, corr_uuid)}
        return self._request("POST", "/v1/supply/scan", auth=context == SALEABLE_RETURN,
                             json=body)
