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

The counter's request (``GET /vrs/...?context=dispense``, no token) is answered by
:class:`CounterFastPath`, an ASGI layer in front of the router: FastAPI's routing and
parameter handling cost four times the verification itself (docs/benchmarks.md). It
answers only a request that is well formed and within its budget, with the same
functions as the route; anything else (a saleable return, a token, a bad part, a spent
budget, a parameter given twice) goes on to the route, which is the one that refuses.

FastAPI needs real annotations here, so no ``from __future__ import annotations``.
"""

import functools
import re
import time
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import unquote, unquote_plus

from fastapi import APIRouter, FastAPI, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import from_json
from starlette.types import ASGIApp, Receive, Scope, Send

from salus.api.body import json_body, parse_json, read_capped
from salus.api.errors import ApiError
from salus.api.rate_limit import RateLimiter, client_address
from salus.api.read_rules import PUBLIC, Audience, ReadRule, Sees, Viewer, ViewerDep
from salus.canonical import compact_json
from salus.ledger.ledger import Ledger
from salus.ledger.members import org_key
from salus.node.rate_limits import address_key
from salus.supply import vrs
from salus.supply.contracts.layout import DISPENSER_ROLES, TRADING_TYPES, lot_key

#: A scan is a DataMatrix's data or a Digital Link: a few hundred bytes at most.
MAX_SCAN_REQUEST = 4096
_RAW_PATH = re.compile(rb"/vrs/gtin/([^/]+)/lot/([^/]+)/ser/([^/?]+)")
_ORG_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_LOTS = lot_key("")


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


def _wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def _reader(ledger: Ledger) -> Callable[[str], Any]:
    """Committed state: a pack straight from the store (module docstring: a guessed key
    never enters the admission cache); a lot through the cache, since only a lot some
    pack on the ledger names is ever read (:func:`salus.supply.verification.verify`)."""
    store = ledger.store

    def get(key: str) -> Any:
        if key.startswith(_LOTS):
            raw = ledger.state_bytes(key)
        else:
            row = store.state_row(key)
            raw = None if row is None else row[0]
        return None if raw is None else from_json(raw)
    return get


def install(app: FastAPI, ledger: Ledger, limiter: RateLimiter, responder_gln: str | None,
            clock: Callable[[], int] = _wall_clock_ms) -> None:
    """The routes, and the counter's fast path in front of them."""
    app.include_router(build_router(ledger, limiter, responder_gln, clock))
    app.add_middleware(CounterFastPath, get=_reader(ledger), limiter=limiter,
                       responder_gln=responder_gln, clock=clock)


def build_router(ledger: Ledger, limiter: RateLimiter, responder_gln: str | None,
                 clock: Callable[[], int] = _wall_clock_ms) -> APIRouter:
    """``responder_gln``: the node's configured GLN, said as ``responderGLN``. ``clock``:
    wall-clock milliseconds (the verification's time and the date expiry is judged by)."""
    router = APIRouter(tags=["supply"])
    get = _reader(ledger)

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


_JSON_HEADERS = [(b"content-type", b"application/json")]


class CounterFastPath:
    """``GET /vrs/...?context=dispense`` without a token, answered before routing (module
    docstring). Whatever it does not answer, the route does."""

    def __init__(self, app: ASGIApp, get: Callable[[str], Any], limiter: RateLimiter,
                 responder_gln: str | None, clock: Callable[[], int]) -> None:
        self.app = app
        self.get = get
        self.limiter = limiter
        self.responder_gln = responder_gln
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer = None
        if scope["type"] == "http" and scope["method"] == "GET" \
                and scope["path"].startswith("/vrs/"):
            answer = self.answer(scope)
        if answer is None:
            await self.app(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": 200, "headers": [
            *_JSON_HEADERS, (b"content-length", str(len(answer)).encode())]})
        await send({"type": "http.response.body", "body": answer})

    def answer(self, scope: Scope) -> bytes | None:
        """The answer's bytes, or None for the route to answer."""
        if any(name == b"authorization" for name, _ in scope["headers"]):
            return None
        path = _RAW_PATH.fullmatch(scope.get("raw_path") or b"")
        query = _query(scope["query_string"])
        if path is None or query is None or query.get("context") != vrs.DISPENSE \
                or "returner" in query:
            return None
        client = scope.get("client")
        address = _address(client[0] if client else None)
        table = self.limiter.verify_failures
        if table is not None and table.wait(address):
            return None
        now = self.clock()
        try:
            gtin, lot, serial = (unquote(p.decode("latin-1")) for p in path.groups())
            identity = vrs.pack(gtin, lot, serial, query.get("exp"), vrs.date_of(now))
            vrs.gln(query.get("reqGLN"))
            asked = vrs.Request(identity, vrs.DISPENSE, vrs.corr_uuid(query.get("corrUUID")))
        except (vrs.RequestError, UnicodeDecodeError):
            return None
        verdict = vrs.decide(self.get, asked, now)
        if not verdict.verified:
            self.limiter.verification_failed(address)
        return compact_json(vrs.response(verdict, asked, now, self.responder_gln))


#: (ipaddress parsing is a tenth of a verification; a counter asks from a few addresses)
_address = functools.lru_cache(maxsize=4096)(address_key)


def _query(raw: bytes) -> dict[str, str] | None:
    """A query string's parameters; None if one is given twice or is not UTF-8 (the
    route decides those)."""
    out: dict[str, str] = {}
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        return None
    for pair in text.split("&") if text else ():
        name, _, value = pair.partition("=")
        name = unquote_plus(name)
        if name in out:
            return None
        out[name] = unquote_plus(value)
    return out
