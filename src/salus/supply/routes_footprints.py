"""REST view of product footprints (issue 16 item 8): the PACT v3 footprint a brand owner
attached to a product or lot, as the ledger keeps it (its hash and integer key figures).

Who reads: any member. A footprint is the brand owner's declaration to its customers
(PACT exchanges it between business partners; the EU's digital product passport will make
such figures public), and the ledger holds only its figures and hash, never the document
or who bought the product. The public gets nothing here: a brand owner that wants to
publish its footprints does so itself. The write is ``supply.attach_footprint`` (SC13), a
transaction (``POST /v1/txs``).

FastAPI needs real annotations here, so no ``from __future__ import annotations``.
"""

from typing import Any

from fastapi import APIRouter

from salus.api.errors import ApiError
from salus.api.read_rules import MEMBER, ReadRule, Sees, ViewerDep
from salus.ledger.ledger import Ledger
from salus.supply.contracts.layout import footprint_key, lot_id
from salus.supply.routes_notices import gtin_param, lot_param

READ_FOOTPRINT = ReadRule("GET", "/v1/supply/footprints/{gtin}", (
    Sees((MEMBER,), "the footprint attached to a product, and to one of its lots if asked: "
                    "its hash, declared unit, integer key figures (µg CO2e per declared "
                    "unit), the brand owner and when"),))


def build_router(ledger: Ledger) -> APIRouter:
    router = APIRouter(tags=["supply"])

    @READ_FOOTPRINT.route(router, summary="A product's (or lot's) footprint, as the ledger "
                                          "keeps it")
    async def footprint(gtin: str, viewer: ViewerDep, lot: str | None = None
                        ) -> dict[str, Any]:
        READ_FOOTPRINT.check(viewer)
        gtin = gtin_param(gtin)
        product = ledger.state_value(footprint_key(gtin))
        batch = None
        if lot is not None:
            batch = ledger.state_value(footprint_key(gtin, lot_id(gtin, lot_param(lot))))
        if product is None and batch is None:
            where = f"GTIN {gtin}" + ("" if lot is None else f" or its lot {lot}")
            raise ApiError(404, "NOT_FOUND", f"no footprint is attached to {where}")
        # the lot's own footprint, where there is one, is the one that applies to its packs
        return {"gtin": gtin, "lot": lot, "product": product, "batch": batch,
                "applies": "batch" if batch is not None else "product"}

    return router
