"""REST views of recalls and suspect product (issue 16 item 6): the recall board, a suspect
item's investigation, and each member's stream of the notices that concern their
organisation (:mod:`salus.supply.notices` says who hears what).

Writes are transactions of the ``supply`` contract (``POST /v1/txs``): ``recall``,
``report`` (from an EPCIS event, through capture), ``close_investigation``.

FastAPI needs real annotations here, so no ``from __future__ import annotations``.
"""

import asyncio
import re
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

from salus.api.errors import ApiError
from salus.api.read_rules import PUBLIC, ReadRule, Sees, Viewer, ViewerDep
from salus.api.streams import BlockStream
from salus.canonical import loads_strict
from salus.ledger.ledger import CommittedBlock, Ledger
from salus.supply import notices
from salus.supply.contracts.layout import (
    PACK,
    RECALL_PREFIX,
    investigation_key,
    item_state_key,
    lot_id,
    lot_key,
)
from salus.supply.identifiers import check_digit
from salus.supply.read_rules import REGULATORS, SupplyStaff, is_regulator

MAX_PAGE = 1000
#: Blocks whose recall holdings a node remembers (every open stream asks once per block).
HOLDINGS_KEPT = 64
_GTIN = re.compile(r"[0-9]{14}")
_LOT = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}")  # AI 10, GS1 set 82
_ITEM = re.compile(r"[0-9a-f]{64}")

READ_RECALLS = ReadRule("GET", "/v1/supply/recalls", (
    Sees((PUBLIC,), "recalled lots, in the order recalled: GTIN, lot, coded reason, brand "
                    "owner, the recalling organisation, block height and time (public "
                    "notices, as FDA enforcement reports are; never who holds the packs)"),))
READ_INVESTIGATION = ReadRule("GET", "/v1/supply/investigations/{item}", (
    Sees((SupplyStaff("opened_by", "the organisation that reported it suspect"),
          SupplyStaff("brand_owner", "the brand owner of its lot"), *REGULATORS),
         "a suspect item's investigation: who opened it and when, its 24-hour deadline in "
         "block time (overdue or not), its finding and the Form 3911 facts"),))
READ_INVESTIGATIONS = ReadRule("GET", "/v1/supply/investigations", (
    Sees((SupplyStaff("opened_by", "the organisation that reported it suspect"),
          SupplyStaff("brand_owner", "the brand owner of its lot"), *REGULATORS),
         "the suspect items' investigations the viewer may read (as "
         "GET /v1/supply/investigations/{item} serves each), with each pack's GTIN and lot; "
         "nothing of anyone else's"),))
#: Investigations scanned for one page of the list (the viewer may see fewer of them).
SCAN_PAGE = 1000
READ_SUPPLY_EVENTS = ReadRule("GET", "/v1/supply/events", (
    Sees((SupplyStaff(), *REGULATORS),
         "notices for their organisation as they commit: every recall (with the packs of "
         "the lot it holds), suspect and stolen reports of its brand's packs or its own, "
         "and closed investigations of items it held (regulators: all, with every holder)"),))


def gtin_param(value: str) -> str:
    if not _GTIN.fullmatch(value) or check_digit(value[:13]) != value[13]:
        raise ApiError(400, "BAD_GTIN", "gtin must be a GTIN-14 with its check digit")
    return value


def lot_param(value: str) -> str:
    if not _LOT.fullmatch(value):
        raise ApiError(400, "BAD_LOT", "lot must be 1-20 characters of GS1's set 82 (AI 10)")
    return value


def item_param(value: str) -> str:
    if not _ITEM.fullmatch(value):
        raise ApiError(400, "BAD_ITEM", "an item key is 64 lowercase hex digits")
    return value


async def _subscriber(viewer: ViewerDep) -> Viewer:
    # checked in a dependency: once the event stream has started, a refusal cannot be sent
    READ_SUPPLY_EVENTS.check(viewer)
    return viewer


def _recall_entry(lid: str, notice: dict[str, Any]) -> dict[str, Any]:
    return {"lot_id": lid, **notice}


class RecallHoldings:
    """Each block's recalls with each organisation's holdings of the recalled lots
    (:func:`salus.supply.notices.holdings`): one scan of the items per block, shared by
    every stream, off the event loop."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._blocks: OrderedDict[int, asyncio.Task[dict[str, Any]]] = OrderedDict()

    def of(self, block: CommittedBlock) -> "asyncio.Task[dict[str, Any]]":
        height = block.header.height
        task = self._blocks.get(height)
        if task is None:
            lots = {e["lot"] for r in block.results for e in r.events or []
                    if e["kind"] == notices.RECALLED}
            task = self._blocks[height] = asyncio.ensure_future(
                asyncio.to_thread(self._scan, lots))
            while len(self._blocks) > HOLDINGS_KEPT:
                self._blocks.popitem(last=False)
        return task

    def _scan(self, lots: set[str]) -> dict[str, Any]:
        found = {lid: self.ledger.state_value(lot_key(lid)) for lid in lots}
        pairs = {lid: (doc["gtin"], doc["lot"]) for lid, doc in found.items()}
        held = notices.holdings(self._items(), pairs)
        return {lid: {"lot": found[lid], "holders": held[lid]} for lid in lots}

    def _items(self) -> Iterator[tuple[str, bytes]]:
        prefix, after = item_state_key(""), ""
        while True:
            rows = self.ledger.store.state_scan(prefix, after, 5000)
            for key, value, _ in rows:
                yield key, value
            if len(rows) < 5000:
                return
            after = rows[-1][0]


def build_router(ledger: Ledger) -> APIRouter:
    router = APIRouter(tags=["supply"])
    held = RecallHoldings(ledger)

    @READ_RECALLS.route(router, summary="The recall board: recalled lots, in the order recalled")
    async def recalls(gtin: str | None = None, lot: str | None = None, after: str = "",
                      limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100) -> dict[str, Any]:
        if (gtin is None) != (lot is None):
            raise ApiError(400, "BAD_REQUEST", "name a lot by both gtin and lot, or neither")
        if gtin is not None and lot is not None:  # one lot: is it recalled?
            lid = lot_id(gtin_param(gtin), lot_param(lot))
            found = ledger.state_value(lot_key(lid))
            recall = None if found is None else found["recall"]
            entries = [] if recall is None else [_recall_entry(lid, {
                "gtin": gtin, "lot": lot, "reason": recall["reason"], "owner": found["owner"],
                "org": recall["org"], "height": recall["height"], "time": recall["time"]})]
            return {"recalls": entries, "next": None}
        if after and not re.fullmatch(r"[0-9]{16}/[0-9a-f]{64}", after):
            raise ApiError(400, "BAD_REQUEST", "after is the next cursor of a previous page")
        rows = ledger.store.state_scan(RECALL_PREFIX, RECALL_PREFIX + after if after else "",
                                       limit)
        entries = [_recall_entry(k.rsplit("/", 1)[1], loads_strict(v)) for k, v, _ in rows]
        return {"recalls": entries,
                "next": rows[-1][0][len(RECALL_PREFIX):] if len(rows) == limit else None}

    def _judged(found: dict[str, Any]) -> dict[str, Any]:
        head = ledger.head.time
        return {**found, "overdue": found["status"] == "open" and head > found["due"],
                "as_of": {"height": ledger.height, "time": head}}

    @READ_INVESTIGATIONS.route(router, summary="The suspect items' investigations you may "
                                               "read: open ones by default, with deadlines")
    async def investigations(viewer: ViewerDep,
                             status: Annotated[str, Query(pattern="^(open|closed|all)$")] = "open",
                             after: Annotated[str, Query(pattern="^([0-9a-f]{64})?$")] = ""
                             ) -> dict[str, Any]:
        # who may ask at all: supply staff of a trading organisation, and regulators; each
        # investigation is then its own reader's (the single one's rule)
        if not (SupplyStaff().admits(viewer, {}) or is_regulator(viewer)):
            raise READ_INVESTIGATIONS.refusal(viewer)
        prefix = investigation_key("")
        rows = ledger.store.state_scan(prefix, prefix + after if after else "", SCAN_PAGE)
        shown = []
        for _key, value, _height in rows:
            found = loads_strict(value)
            if status != "all" and found["status"] != status:
                continue
            pack = _pack_of(found["item"])
            owner = None if pack is None else pack["owner"]
            if READ_INVESTIGATIONS.view(viewer, opened_by=found["opened_by"],
                                        brand_owner=owner) is not None:
                shown.append({**_judged(found), "brand_owner": owner,
                              "gtin": None if pack is None else pack["gtin"],
                              "lot": None if pack is None else pack["lot"]})
        return {"investigations": shown,
                "next": rows[-1][0][len(prefix):] if len(rows) == SCAN_PAGE else None}

    def _pack_of(item: str) -> dict[str, Any] | None:
        """A pack's GTIN, lot and brand owner (None for a container)."""
        doc = ledger.state_value(item_state_key(item))
        if doc is None or doc["kind"] != PACK:
            return None
        lot = ledger.state_value(lot_key(lot_id(doc["gtin"], doc["lot"])))
        return {"gtin": doc["gtin"], "lot": doc["lot"], "owner": lot["owner"]}

    @READ_INVESTIGATION.route(router, summary="A suspect item's investigation and its deadline")
    async def investigation(item: str, viewer: ViewerDep) -> dict[str, Any]:
        item = item_param(item)
        found = ledger.state_value(investigation_key(item))
        pack = _pack_of(item)
        owner = None if pack is None else pack["owner"]
        # the rule first: whether an item has an investigation is itself not everyone's
        READ_INVESTIGATION.check(viewer, opened_by=(found or {}).get("opened_by"),
                                 brand_owner=owner)
        if found is None:
            raise ApiError(404, "NOT_FOUND", f"no investigation of item {item}")
        return _judged(found)

    @READ_SUPPLY_EVENTS.route(router, response_class=EventSourceResponse,
                              summary="Server-sent events: the supply notices for your "
                                      "organisation as they commit")
    async def supply_events(request: Request,
                            viewer: Annotated[Viewer, Depends(_subscriber)]
                            ) -> AsyncIterator[ServerSentEvent]:
        blocks = BlockStream(request, request.app.state.node, "GET /v1/supply/recalls")
        try:
            yield ServerSentEvent(event="ready", data={"org": viewer.member["org"],
                                                       "height": ledger.height})
            async for block in blocks:
                if isinstance(block, ServerSentEvent):  # a keep-alive, or the end
                    yield block
                    continue
                found = [(r, e) for r in block.results for e in r.events or []
                         if e["kind"] in notices.KINDS]
                if not found:
                    continue
                # judged again at each block: a member whose role ends hears no more
                now = Viewer(viewer.principal, ledger)
                if READ_SUPPLY_EVENTS.view(now) is None:
                    yield ServerSentEvent(event="closed", data={
                        "code": "FORBIDDEN_READ", "height": block.header.height,
                        "reason": READ_SUPPLY_EVENTS.refusal(now).reason})
                    return
                org, regulator = now.member["org"], is_regulator(now)
                for result, event in found:
                    data = notices.notice(event, org, regulator)
                    if data is None:
                        continue
                    if event["kind"] == notices.RECALLED:
                        data.update(_recall_detail(
                            (await held.of(block))[event["lot"]], org, regulator))
                    yield ServerSentEvent(event=event["kind"], id=result.id.hex(),
                                          data={**data, "height": block.header.height})
        finally:
            blocks.close()

    return router


def _recall_detail(recall: dict[str, Any], org: str, regulator: bool) -> dict[str, Any]:
    """The lot number, when it was recalled and by whom, and holdings: the subscriber's
    own, and a regulator's every holder's."""
    lot = recall["lot"]
    detail = {"lot_number": lot["lot"], "recalled_by": lot["recall"]["org"],
              "time": lot["recall"]["time"],
              **recall["holders"].get(org, {"packs": 0, "shipped": 0, "incoming": 0})}
    if regulator:
        detail["holders"] = recall["holders"]
    return detail

