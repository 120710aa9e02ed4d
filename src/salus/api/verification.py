"""Verification at the counter: a pack checked against the ledger in the GS1 Lightweight
Messaging Standard's shape (``GET /vrs/...``), or from what a scanner read
(``POST /v1/supply/scan``). :mod:`salus.supply.vrs` checks the request and shapes the
answer; :mod:`salus.supply.verification` decides it from ledger state.

Who may ask (docs/supply.md, "Verification at the counter"):

* ``context=dispense``: anyone holding the pack's full identifier, without a token (the
  issue's rule). The answer is that pack's verification and nothing else: never who
  owns or holds it.
* ``context=dscsaSaleableReturn``: a supply operator or pharmacist of a trading
  organisation (its bearer token); the returner is the ``returner`` organisation named,
  or the requester's own. Whether the returner ever held the pack is a trading
  relationship: it is said only to a party of the pack (V5).

Failed verifications spend their address's budget (salus.api.rate_limit); once it is
spent, the address is answered 429 before anything is read. Ledger state is read
straight from the store, never through the admission cache: guessed serials must not
fill it with absent keys.

FastAPI needs real annotations here, so no ``from __future__ import annotations``.
"""

import json
import re
import time
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from salus.api.body import json_body, parse_json, read_capped
from salus.api.errors import ApiError
from salus.api.rate_limit import RateLimiter, client_address
from salus.api.read_rules import PUBLIC, Audience, ReadRule, Sees, Viewer, ViewerDep
from salus.ledger.ledger import Ledger
from salus.ledger.members import org_key
from salus.supply import vrs
from salus.supply.contracts.layout import DISPENSER_ROLES, TRADING_TYPES

#: A scan is a DataMatrix's data or a Digital Link: a few hundred bytes at most.
MAX_SCAN_REQUEST = 4096
_RAW_PATH = re.compile(rb"/vrs/gtin/([^/]+)/lot/([^/]+)/ser/([^/?]+)")
_ORG_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


class _TradingStaff(Audience):
    def admits(self, viewer: Viewer, about: Any) -> bool:
        return viewer.holds(DISPENSER_ROLES, org_types=TRADING_TYPES)

    def describe(self) -> str:
        return ("a supply operator or pharmacist of a trading organisation (manufacturer, "
                "distributor, pharmacy, hospital)")


TRADING_STAFF: Audience = _TradingStaff()

_PARTS = (
    Sees((PUBLIC,), "with context=dispense: whether a pack with this full identifier "
                    "exists, whether its lot and expiry match, and its recall, expiry and "
                    "status as LMS additional information; never who owns or holds it",
         vrs.DISPENSE),
    Sees((TRADING_STAFF,), "with context=dscsaSaleableReturn: also whether the returner "
                           "received the pack in a shipment, said only when the requester's "
                           "organisation handled the pack", vrs.SALEABLE_RETURN),
)
#: ``:path``: a lot or serial may hold a '/' (sent as %2F; see the handler).
READ_VRS = ReadRule("GET", "/vrs/gtin/{gtin}/lot/{lot:path}/ser/{serial:path}", _PARTS)
READ_SCAN = ReadRule("POST", "/v1/supply/scan", _PARTS)


class ScanRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scan: str = Field(max_length=512, description="what the scanner read: a GS1 DataMatrix's "
                      "data (FNC1 as GS, with or without ]d2), an element string, a GS1 Digital "
                      "Link or an EPC URN")
    context: str = Field(description="dispense or dscsaSaleableReturn")
    returner: str | None = Field(None, description="dscsaSaleableReturn: the organisation "
                                 "returning the pack (default: the requester's)")
    reqGLN: str | None = Field(None, description="the requester's GLN (LMS), checked, not kept")
    corrUUID: str | None = Field(None, description="a UUID echoed in the answer (LMS)")


def _bad(exc: vrs.RequestError) -> ApiError:
    return ApiError(400, exc.code, exc.reason)


def build_router(ledger: Ledger, limiter: RateLimiter, responder_gln: str | None,
                 clock: Callable[[], int] = lambda: time.time_ns() // 1_000_000) -> APIRouter:
    """``responder_gln``: the node's configured GLN, said as ``responderGLN``. ``clock``:
    wall-clock milliseconds (the verification's time and the date expiry is judged by)."""
    router = APIRouter(tags=["supply"])
    store = ledger.store

    def get(key: str) -> Any:
        row = store.state_row(key)
        return None if row is None else json.loads(row[0])

    def requester(viewer: Viewer, rule: ReadRule, context: str, returner: str | None
                  ) -> tuple[str | None, str | None]:
        """Who asks and for whom: (requester's organisation, returner) for a saleable
        return, after the rule admitted the viewer; (None, None) at the counter."""
        rule.check(viewer, context)
        if context != vrs.SALEABLE_RETURN:
            if returner is not None:
                raise ApiError(400, "BAD_RETURNER", "returner is for context=dscsaSaleableReturn")
            return None, None
        assert viewer.member is not None
        org = viewer.member["org"]
        if returner is None:
            return org, org
        found = get(org_key(returner)) if _ORG_ID.fullmatch(returner) else None
        if found is None or found["type"] not in TRADING_TYPES:
            raise ApiError(400, "BAD_RETURNER", "returner must be a trading organisation's id")
        return org, returner

    def answer(request: Request, viewer: Viewer, rule: ReadRule, identity: Any, context: Any,
               returner: str | None, req_gln: Any, corr: Any) -> tuple[vrs.Request, dict[str, Any]]:
        try:
            checked = vrs.context_of(context)
            vrs.gln(req_gln)
            corr_uuid = vrs.corr_uuid(corr)
        except vrs.RequestError as exc:
            raise _bad(exc) from None
        org, returner = requester(viewer, rule, checked, returner)
        asked = vrs.Request(identity, checked, corr_uuid, org, returner)
        now = clock()
        verdict = vrs.decide(get, asked, now)
        if not verdict.verified:
            limiter.verification_failed(client_address(request))
        return asked, vrs.response(verdict, asked, now, responder_gln)

    @READ_VRS.route(router, summary="Verify a pack (GS1 Lightweight Messaging Standard)")
    async def verify_pack(
            request: Request, viewer: ViewerDep, gtin: str, lot: str, serial: str,
            exp: Annotated[str | None, Query(description="expiry on the label, YYMMDD")] = None,
            context: Annotated[str | None, Query(description="dispense or dscsaSaleableReturn")
                               ] = None,
            req_gln: Annotated[str | None, Query(alias="reqGLN", description="the "
                               "requester's GLN (checked, not kept)")] = None,
            corr_uuid: Annotated[str | None, Query(alias="corrUUID", description="a UUID "
                                 "echoed in the answer")] = None,
            returner: Annotated[str | None, Query(description="dscsaSaleableReturn: the "
                                "organisation returning the pack (default: the requester's)")
                                ] = None) -> dict[str, Any]:
        limiter.check_verifications(client_address(request))
        # The path's parts as sent: a lot or serial may hold a '/' (as %2F), which the
        # decoded path no longer tells from a separator.
        raw = _RAW_PATH.fullmatch(request.scope.get("raw_path") or b"")
        if raw is not None:
            gtin, lot, serial = (unquote(p.decode("latin-1")) for p in raw.groups())
        try:
            identity = vrs.pack(gtin, lot, serial, exp, vrs.date_of(clock()))
        except vrs.RequestError as exc:
            raise _bad(exc) from None
        return answer(request, viewer, READ_VRS, identity, context, returner, req_gln,
                      corr_uuid)[1]

    @READ_SCAN.route(router, summary="Verify the pack a scanner read (DataMatrix, Digital "
                                     "Link or EPC URN)",
                     openapi_extra=json_body(ScanRequest))
    async def scan(request: Request, viewer: ViewerDep) -> dict[str, Any]:
        limiter.check_verifications(client_address(request))
        body = parse_json(await read_capped(request, MAX_SCAN_REQUEST), ScanRequest)
        try:
            identity = vrs.scanned(body.scan)
        except vrs.RequestError as exc:
            raise _bad(exc) from None
        asked, out = answer(request, viewer, READ_SCAN, identity, body.context, body.returner,
                            body.reqGLN, body.corrUUID)
        return {**out, "identity": vrs.identity_json(asked.identity)}

    return router
