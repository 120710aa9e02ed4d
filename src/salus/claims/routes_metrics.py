"""REST: the prior-authorisation metrics CMS-0057-F requires payers to publish
(:mod:`salus.claims.metrics`), public as the rule requires them to be: aggregates of a
payer's requests in a calendar year (counts, shares, decision times), never a request,
a patient or a provider.

Bounded work per request: one payer, one year (two binary searches over the payer's
index and that year's entries, at most ``metrics.MAX_SCANNED``), computed off the event
loop on one consistent snapshot of state, and remembered per (payer, year, height) so
that asking again at the same height reads nothing.

FastAPI needs real annotations here, so no ``from __future__ import annotations``.
"""

import asyncio
import json
import threading
from collections import OrderedDict
from typing import Annotated, Any

from fastapi import APIRouter, Query

from salus.api.errors import ApiError
from salus.api.read_rules import public
from salus.claims import metrics
from salus.ledger.ledger import Ledger
from salus.ledger.members import org_key
from salus.ledger.schema import ORG_ID_PATTERN

READ_CLAIMS_METRICS = public(
    "GET", "/v1/claims/metrics",
    "a payer's CMS-0057-F prior-authorisation metrics for a calendar year: counts, shares "
    "and decision times of its requests, standard and expedited (aggregates: no request, "
    "patient or provider)")
READ_METRICS_PAYERS = public(
    "GET", "/v1/claims/metrics/payers",
    "the insurers whose metrics are published: each one's id and name")
#: Answers remembered (payer, year, height) -> metrics.
KEPT = 128
#: Organisations read for the payers' list at most.
MAX_ORGS = 1000
_STATUS = {"NOT_FOUND": 404, "BAD_REQUEST": 400, "TOO_LARGE": 422}

Payer = Annotated[str, Query(pattern=f"^{ORG_ID_PATTERN}$", max_length=63,
                             description="the insurer's organisation id")]
#: Four digits, nothing else (a lax int would take "2025.0"); the range is metrics'.
Year = Annotated[str, Query(pattern="^[0-9]{4}$", examples=["2025"],
                            description=f"a calendar year (UTC), {metrics.FIRST_YEAR}-"
                                        f"{metrics.LAST_YEAR}: requests submitted in it")]


def build_router(ledger: Ledger) -> APIRouter:
    router = APIRouter(tags=["claims"])
    kept: OrderedDict[tuple[str, int, int], dict[str, Any]] = OrderedDict()

    lock = threading.Lock()
    store = ledger.store

    # from the store itself, not the ledger's cache: every read inside one snapshot
    def get(key: str) -> Any:
        row = store.state_row(key)
        return None if row is None else json.loads(row[0])

    def scan(prefix: str, after: str, limit: int) -> list[tuple[str, Any]]:
        return [(k, json.loads(v)) for k, v, _ in store.state_scan(prefix, after, limit)]

    def compute(payer: str, year: int) -> dict[str, Any]:
        with store.read_snapshot():  # one state, whatever commits meanwhile
            height = store.head_height() or 0
            with lock:
                found = kept.get((payer, year, height))
            if found is None:
                found = {**metrics.payer_metrics(get, scan, payer, year),
                         "as_of": {"height": height}}
        with lock:
            kept[(payer, year, height)] = found
            while len(kept) > KEPT:
                kept.popitem(last=False)
        return found

    @READ_CLAIMS_METRICS.route(router, summary="A payer's CMS-0057-F prior-authorisation "
                                               "metrics for a calendar year")
    async def claims_metrics(payer: Payer, year: Year) -> dict[str, Any]:
        try:
            return await asyncio.to_thread(compute, payer, int(year))
        except metrics.MetricsError as exc:
            raise ApiError(_STATUS[exc.code], exc.code, exc.reason) from None

    @READ_METRICS_PAYERS.route(router, summary="The insurers whose metrics are published")
    async def payers() -> dict[str, Any]:
        rows = ledger.store.state_scan(org_key(""), "", MAX_ORGS)
        orgs = [json.loads(v) for _k, v, _h in rows]
        return {"payers": [{"id": o["id"], "name": o["name"]} for o in orgs
                           if o["type"] == "insurer"]}

    return router
