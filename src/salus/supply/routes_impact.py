"""REST view of a pack's CO2e and labour, and of each shipment it was in (issue 16 item 8):
``GET /v1/supply/impact?item=`` (:mod:`salus.supply.impact` says where each figure comes
from).

Who reads: the item's parties and regulators, as its chain of custody (the shipments are
the custody's shipping events, and a shipment's packs are found through the aggregation
events the viewer may read). The CO2e comes from footprints any member may read; the
labour only from the making events the viewer may read, so a pharmacy is told the CO2e of
the packs it had, never the manufacturer's labour.

FastAPI needs real annotations here, so no ``from __future__ import annotations``.
"""

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from salus.api.read_rules import ReadRule, Sees, ViewerDep
from salus.clock import wall_clock_ms
from salus.supply.impact import item_figures, shipment_figures
from salus.supply.read_rules import REGULATORS, ItemParties
from salus.supply.routes import ItemQuery, custody, item_for, readable, supply_of

READ_IMPACT = ReadRule("GET", "/v1/supply/impact", (
    Sees((ItemParties("event"), *REGULATORS),
         "a pack's or case's CO2e (from the footprint of its lot or product) and labour "
         "(from the events that made its packs, where the viewer may read them), and the "
         "same for each shipment in its chain of custody the viewer may read"),))


def build_router() -> APIRouter:
    router = APIRouter(tags=["supply"])

    @READ_IMPACT.route(router, summary="A pack's or case's CO2e and labour, and each "
                                       "shipment's")
    async def impact(request: Request, viewer: ViewerDep, item: ItemQuery) -> dict[str, Any]:
        link, key, state = item_for(viewer, READ_IMPACT, item)
        service = supply_of(request)
        get = viewer.ledger.state_value

        def of(other: str) -> list[dict[str, Any]]:
            return readable(viewer, service, other)

        def answer() -> dict[str, Any]:
            # repository and ledger reads: off the event loop
            return {"item": key, "digital_link": link, "kind": state["kind"],
                    "gtin": state.get("gtin"), "lot": state.get("lot"),
                    "now": item_figures(get, of, link, wall_clock_ms()),
                    "shipments": shipment_figures(get, of, custody(viewer, service, link))}

        return await asyncio.to_thread(answer)

    return router
