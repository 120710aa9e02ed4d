"""REST routes of the supply application: the EPCIS 2.0 REST binding's capture and query
(``/epcis/…``, GS1's OpenAPI in ``shared/reference/epcis/openapi.yaml``) and a pack's
chain of custody.

Errors under ``/epcis/`` are RFC 7807 problem details, as the binding answers them.

FastAPI needs real annotations here, so no ``from __future__ import annotations``.
"""

from collections.abc import Iterable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from salus.api.auth import Principal
from salus.api.body import read_capped
from salus.api.errors import ApiError
from salus.api.read_rules import ReadRule, Sees, Viewer, ViewerDep
from salus.clock import iso_from_ms, ms_from_iso, wall_clock_ms
from salus.ledger.members import has_role, member_key, org_key
from salus.supply.capture import ERROR_BEHAVIOUR, CaptureRefused, Site
from salus.supply.contracts.layout import (
    DISPENSER_ROLES,
    DISPENSER_TYPES,
    MAX_STEPS,
    SUPPLY_ROLE,
    event_key,
    item_key_of_link,
    item_state_key,
)
from salus.supply.document import MAX_BYTES
from salus.supply.identifiers import IdentifierError, parse
from salus.supply.read_rules import REGULATORS, ItemParties, SupplyStaff, viewer_org
from salus.supply.repository import Stored, canonical_item, event_time_ms, items_of
from salus.supply.service import SupplyService

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
#: RFC 7807 ``type`` of each refusal under /epcis/ (EPCIS 2.0 §8.2.9 exceptions).
PROBLEM_TYPES = {400: "epcisException:ValidationException",
                 401: "epcisException:SecurityException",
                 403: "epcisException:SecurityException",
                 404: "epcisException:NoSuchResourceException",
                 413: "epcisException:CaptureLimitExceededException",
                 415: "epcisException:ValidationException",
                 429: "epcisException:ImplementationException"}
MAX_PAGE = 1000
#: The dispensing role besides the supply operator's (layout.DISPENSER_ROLES).
PHARMACIST = DISPENSER_ROLES[1]
#: What a pharmacist captures: dispensing events, one step each.
DISPENSE_ONLY = frozenset({"dispense"})
DISCOVERY_HEADERS = {"GS1-EPCIS-Version": "2.0.0", "GS1-CBV-Version": "2.0.0",
                     "GS1-EPCIS-Capture-Limit": str(MAX_STEPS),
                     "GS1-EPCIS-Capture-File-Size-Limit": str(MAX_BYTES),
                     "GS1-Capture-Error-Behaviour": ERROR_BEHAVIOUR}

OWN = SupplyStaff("org", "the organisation that captured it (`org`)")
READ_JOBS = ReadRule("GET", "/epcis/capture", (
    Sees((OWN, *REGULATORS), "the organisation's capture jobs"),))
READ_JOB = ReadRule("GET", "/epcis/capture/{capture_id}", (
    Sees((OWN, *REGULATORS), "one of the organisation's capture jobs"),))
READ_EVENTS = ReadRule("GET", "/epcis/events", (
    Sees((OWN, *REGULATORS), "the EPCIS events the organisation (`org`, default the "
                                   "viewer's) captured, whole"),))
READ_ITEM_EVENTS = ReadRule("GET", "/epcis/epcs/{epc}/events", (
    Sees((OWN, ItemParties("event"), *REGULATORS),
         "each event naming the item, from every repository this node holds, that the viewer "
         "captured, or whose every item the viewer's organisation owned or possessed "
         "(any other member with a token: an empty list)"),))
READ_TRACE = ReadRule("GET", "/v1/supply/trace", (
    Sees((ItemParties("event"), *REGULATORS),
         "a pack's or case's chain of custody: its status on the ledger, its container and "
         "contents, and each event it may read with that event's ledger record"),))


def problem(status: int, code: str, reason: str, errors: list[str] | None = None
            ) -> JSONResponse:
    """An RFC 7807 problem, with Salus's stable ``code`` and every reason."""
    body: dict[str, Any] = {"type": PROBLEM_TYPES.get(status, "epcisException:ImplementationException"),
                            "title": code, "status": status, "detail": reason, "code": code}
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status, media_type="application/problem+json")


def supply_of(request: Request) -> SupplyService:
    service = request.app.state.supply
    if service is None:
        raise ApiError(503, "SUPPLY_UNAVAILABLE", request.app.state.supply_unavailable
                       or "this node does not run the supply application")
    return service  # type: ignore[no-any-return]


async def _supply_dependency(request: Request) -> SupplyService:
    return supply_of(request)


SupplyDep = Annotated[SupplyService, Depends(_supply_dependency)]


def _site(service: SupplyService, org: str) -> Site:
    site = service.site(org)
    if site is None:
        raise ApiError(404, "NOT_HOSTED", f"this node holds no EPCIS repository of {org}; "
                                          "ask the node that hosts it")
    return site


def query_document(events: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Events as an EPCISQueryDocument (EPCIS 2.0 §9.3)."""
    return {"@context": [EPCIS_CONTEXT], "type": "EPCISQueryDocument", "schemaVersion": "2.0",
            "creationDate": iso_from_ms(wall_clock_ms()),
            "epcisBody": {"queryResults": {"queryName": "SimpleEventQuery",
                                           "resultsBody": {"eventList": list(events)}}}}


def as_shown(stored: Stored) -> dict[str, Any]:
    """An event as a query shows it: as captured, with the error declaration that
    corrected it, if one did (EPCIS 2.0 §7.4.1.4)."""
    event = dict(stored.event)
    if stored.correction is not None:
        event["errorDeclaration"] = stored.correction
    return event


def _ms(text: str | None, what: str) -> int | None:
    if text is None:
        return None
    try:
        return ms_from_iso(text)
    except ValueError:
        raise ApiError(400, "BAD_REQUEST", f"{what} must be a date-time (RFC 3339)") from None


def _item_link(epc: str) -> str:
    link = canonical_item(epc)
    if link is None:
        raise ApiError(400, "BAD_IDENTIFIER", f"{epc!r} names no GS1 key (an EPC URN or a "
                                              "GS1 Digital Link)")
    return link


def readable(viewer: Viewer, service: SupplyService, link: str,
             window: tuple[int, int | None] = (0, None)) -> list[dict[str, Any]]:
    """Every event naming the item in the repositories this node holds that the
    viewer may read (within ``window`` of event time, ms), oldest first, each with
    the repository's organisation."""
    out = []
    start, end = window
    for org, site in service.sites.items():
        for stored in site.repository.events_of(link):
            at = event_time_ms(stored.event)
            if at < start or (end is not None and at > end):
                continue
            if READ_ITEM_EVENTS.view(viewer, org=org, event=stored.event) is not None:
                out.append({"org": org, "stored": stored, "event": as_shown(stored),
                            "at": at})
    out.sort(key=lambda e: (e["at"], e["stored"].seq))
    return out


def custody(viewer: Viewer, service: SupplyService, link: str,
            window: tuple[int, int | None] = (0, None), depth: int = 3
            ) -> list[dict[str, Any]]:
    """The item's events, and those of each container while the item was inside it
    (packed by an AggregationEvent ADD until unpacked by a DELETE)."""
    own = readable(viewer, service, link, window)
    found = list(own)
    if depth == 0:
        return found
    packed: dict[str, int] = {}
    for entry in own:
        event = entry["stored"].event
        if event.get("type") != "AggregationEvent" or not event.get("parentID"):
            continue
        children = {canonical_item(c) for c in event.get("childEPCs") or []}
        parent = canonical_item(str(event["parentID"]))
        if link not in children or parent is None:
            continue
        if event.get("action") == "ADD":
            packed[parent] = entry["at"]
        elif event.get("action") == "DELETE" and parent in packed:
            found += custody(viewer, service, parent, (packed.pop(parent), entry["at"]),
                             depth - 1)
    for parent, since in packed.items():  # still inside
        found += custody(viewer, service, parent, (since, window[1]), depth - 1)
    unique = {e["stored"].hash: e for e in found}
    return sorted(unique.values(), key=lambda e: (e["at"], e["stored"].seq))


ItemQuery = Annotated[str, Query(max_length=512, description=(
    "the item: a GS1 DataMatrix element string, Digital Link or EPC URN"))]


def item_for(viewer: Viewer, rule: ReadRule, item: str) -> tuple[str, str, dict[str, Any]]:
    """The item ``item`` names (any identifier form): its canonical Digital Link, item key
    and ledger state, once ``rule`` admits the viewer to it as one of its parties."""
    try:
        identity = parse(item)
    except IdentifierError as exc:
        raise ApiError(400, "BAD_IDENTIFIER", str(exc)) from None
    link = identity.digital_link
    key = item_key_of_link(link)
    state = viewer.ledger.state_value(item_state_key(key))
    # the rule judges the item itself: its parties on the ledger
    rule.check(viewer, event={"epcList": [link]})
    if state is None:  # only an overseer gets here for an unknown item
        raise ApiError(404, "NOT_FOUND", "no such item on the ledger")
    return link, key, state
def capture_scope(ledger: Any, record: dict[str, Any] | None) -> frozenset[str] | None:
    """The steps the member ``record`` may capture for its organisation: any (None) as a
    supply operator; only ``dispense`` as a pharmacist of a pharmacy or hospital (SC6
    lets a pharmacist dispense, and the counter page captures that one event). Anyone
    else: 403 FORBIDDEN."""
    org = None if record is None else record["org"]
    if org is not None and has_role(ledger.state_value, record, SUPPLY_ROLE, org,
                                    ledger.height):
        return None
    found = None if org is None else ledger.state_value(org_key(org))
    if found is not None and found["type"] in DISPENSER_TYPES \
            and has_role(ledger.state_value, record, PHARMACIST, org, ledger.height):
        return DISPENSE_ONLY
    raise ApiError(403, "FORBIDDEN", f"only a {SUPPLY_ROLE} of a trading organisation "
                                     "captures its events (a pharmacist of a pharmacy or "
                                     "hospital: its dispensing events)")


def build_router(member: Any) -> APIRouter:
    router = APIRouter(tags=["supply"])
    Member = Annotated[Principal, Depends(member)]

    @router.options("/epcis/capture", status_code=204,
                    summary="Discover the capture interface's limits and behaviour")
    async def capture_options() -> Response:
        return Response(status_code=204, headers=DISCOVERY_HEADERS)

    @router.post("/epcis/capture", status_code=202,
                 summary="Capture an EPCIS 2.0 document: all its events or none",
                 openapi_extra={"requestBody": {"required": True, "content": {
                     "application/json": {"schema": {"type": "object"}},
                     "application/ld+json": {"schema": {"type": "object"}}}}})
    async def capture(request: Request, principal: Member, service: SupplyDep,
                      behaviour: Annotated[str | None, Header(
                          alias="GS1-Capture-Error-Behaviour")] = None) -> Response:
        record = request.app.state.node.ledger.state_value(member_key(principal.member_id))
        only = capture_scope(request.app.state.node.ledger, record)
        assert record is not None  # capture_scope refused anyone else
        site = _site(service, record["org"])
        if behaviour is not None and behaviour != ERROR_BEHAVIOUR:
            raise ApiError(400, "UNSUPPORTED_BEHAVIOUR", "this node captures a document "
                           f"whole or not at all: GS1-Capture-Error-Behaviour is "
                           f"{ERROR_BEHAVIOUR} only")
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind not in ("application/json", "application/ld+json"):
            raise ApiError(415, "UNSUPPORTED_MEDIA_TYPE", "send the document as "
                                                          "application/json or application/ld+json")
        data = await read_capped(request, MAX_BYTES)
        try:
            job = await site.capture(data, principal.member_id, only=only)
        except CaptureRefused as exc:
            return problem(exc.status, exc.code, exc.reason, exc.problems)
        return JSONResponse(job, 202, headers={"Location": f"/epcis/capture/{job['captureID']}",
                                               **DISCOVERY_HEADERS})

    def _org(viewer: Viewer, org: str | None, rule: ReadRule, request: Request
             ) -> tuple[str, SupplyService]:
        """The organisation asked about (default: the viewer's), once the rule admits the
        viewer to it, and the supply service."""
        chosen = org or viewer_org(viewer)
        rule.check(viewer, org=chosen)
        if chosen is None:
            raise ApiError(400, "BAD_REQUEST", "name the organisation (`org`)")
        return chosen, supply_of(request)

    @READ_JOBS.route(router, summary="The organisation's capture jobs, oldest first")
    async def jobs(request: Request, viewer: ViewerDep, org: str | None = None,
                   after: Annotated[int, Query(ge=0, le=2**53)] = 0,
                   per_page: Annotated[int, Query(alias="perPage", ge=1, le=MAX_PAGE)] = 100
                   ) -> dict[str, Any]:
        chosen, service = _org(viewer, org, READ_JOBS, request)
        found = _site(service, chosen).repository.jobs(after, per_page)
        return {"jobs": [job for _, job in found],
                "after": found[-1][0] if len(found) == per_page else None}

    @READ_JOB.route(router, summary="One capture job")
    async def job(capture_id: str, request: Request, viewer: ViewerDep,
                  org: str | None = None) -> dict[str, Any]:
        chosen, service = _org(viewer, org, READ_JOB, request)
        found = _site(service, chosen).repository.job(capture_id)
        if found is None:
            raise ApiError(404, "NOT_FOUND", f"no capture job {capture_id} of {chosen}")
        return found

    @READ_EVENTS.route(router, summary="Query the organisation's events (SimpleEventQuery "
                                       "parameters)")
    async def events(request: Request, viewer: ViewerDep, org: str | None = None,
                     event_type: Annotated[list[str] | None, Query(alias="eventType",
                                                                   max_length=5)] = None,
                     biz_step: Annotated[list[str] | None, Query(alias="EQ_bizStep",
                                                                 max_length=50)] = None,
                     since: Annotated[str | None, Query(alias="GE_eventTime",
                                                        max_length=40)] = None,
                     until: Annotated[str | None, Query(alias="LT_eventTime",
                                                        max_length=40)] = None,
                     per_page: Annotated[int, Query(alias="perPage", ge=1, le=MAX_PAGE)] = 100,
                     token: Annotated[str | None, Query(alias="nextPageToken",
                                                        pattern="^[0-9]{1,16}$")] = None
                     ) -> Response:
        chosen, service = _org(viewer, org, READ_EVENTS, request)
        found = _site(service, chosen).repository.query(
            event_types=event_type or (), biz_steps=biz_step or (),
            from_ms=_ms(since, "GE_eventTime"), until_ms=_ms(until, "LT_eventTime"),
            after_seq=int(token or 0), limit=per_page)
        headers = {}
        if len(found) == per_page:
            params = [(k, v) for k, v in request.query_params.multi_items()
                      if k != "nextPageToken"] + [("nextPageToken", str(found[-1].seq))]
            headers["Link"] = f'<{request.url.path}?{urlencode(params)}>; rel="next"'
        return JSONResponse(query_document(as_shown(s) for s in found), headers=headers,
                            media_type="application/ld+json")

    @READ_ITEM_EVENTS.route(router, summary="The events naming one item (EPC URN or GS1 "
                                            "Digital Link), as an EPCISQueryDocument")
    async def item_events(epc: str, request: Request, viewer: ViewerDep) -> Response:
        if viewer.principal is None:  # each event is filtered by the rule; a token is needed
            raise READ_ITEM_EVENTS.refusal(viewer)
        link = _item_link(epc)
        shown = [e["event"] for e in readable(viewer, supply_of(request), link)]
        return JSONResponse(query_document(shown), media_type="application/ld+json")

    @READ_TRACE.route(router, summary="A pack's or case's chain of custody, each event "
                                      "checked against the ledger")
    async def trace(request: Request, viewer: ViewerDep, item: ItemQuery) -> dict[str, Any]:
        link, key, state = item_for(viewer, READ_TRACE, item)
        ledger = viewer.ledger
        steps = []
        for entry in custody(viewer, supply_of(request), link):
            stored: Stored = entry["stored"]
            recorded = ledger.state_value(event_key(stored.hash))
            steps.append({"hash": stored.hash, "org": entry["org"], "event": entry["event"],
                          "ledger": recorded, "on_ledger": recorded is not None})
        hierarchy = _hierarchy(ledger.state_value, key, state)
        return {"item": key, "digital_link": link, "state": _public_state(state),
                "hierarchy": hierarchy, "events": steps,
                "names": _names(viewer, supply_of(request), hierarchy,
                                [s["event"] for s in steps]),
                "document": query_document(s["event"] for s in steps)}

    return router


def _names(viewer: Viewer, service: SupplyService, hierarchy: dict[str, Any],
           events: list[dict[str, Any]]) -> dict[str, str]:
    """The Digital Link of each item of the hierarchy, as the events the viewer may read
    name it (the ledger keeps keys only): an item no readable event names stays a key."""
    wanted = {c["item"] for c in hierarchy["containers"]}
    holding: set[str] = set()  # contents that hold items of their own
    todo = list(hierarchy["contents"])
    while todo:
        node = todo.pop()
        wanted.add(node["item"])
        if node["children"]:
            holding.add(node["item"])
        todo += node["children"]
    names: dict[str, str] = {}

    def learn(shown: Iterable[dict[str, Any]]) -> None:
        for event in shown:
            for link, _ in items_of(event):
                if (k := item_key_of_link(link)) in wanted:
                    names[k] = link

    learn(events)
    # a case's packs are named by its own packing event, not in the pallet's custody
    opened: set[str] = set()
    while (more := [k for k in names if k in holding and k not in opened]) \
            and len(opened) < 64:
        for k in more:
            opened.add(k)
            learn(e["event"] for e in readable(viewer, service, names[k]))
    return names


def _public_state(state: dict[str, Any]) -> dict[str, Any]:
    return {k: state[k] for k in ("kind", "gtin", "lot", "expiry", "owner", "possessor",
                                  "status", "parent", "shipped_to", "parties", "event")}


def _hierarchy(get: Any, key: str, state: dict[str, Any], depth: int = 3) -> dict[str, Any]:
    """The item's containers up to the outermost (pallet → case → pack), and what is
    inside it (a few levels, item keys and kinds)."""
    above, up = [], state["parent"]
    while up is not None and len(above) < 16:
        parent = get(item_state_key(up))
        above.append({"item": up, "kind": parent["kind"]})
        up = parent["parent"]

    def inside(k: str, s: dict[str, Any], left: int) -> list[dict[str, Any]]:
        if not s.get("children") or left == 0:
            return []
        out = []
        for child in s["children"][:1000]:
            cs = get(item_state_key(child))
            out.append({"item": child, "kind": cs["kind"], "status": cs["status"],
                        "children": inside(child, cs, left - 1)})
        return out

    return {"containers": list(reversed(above)), "contents": inside(key, state, depth)}
