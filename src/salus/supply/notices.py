"""What the supply chain tells each organisation (issue 16 item 6), from the events the
supply contract emits as blocks commit. Pure: the API's stream
(``GET /v1/supply/events``) feeds it blocks and ledger rows.

Who hears what:

* **A recall** (``supply_recalled``) is a public notice, as an FDA enforcement report is:
  every trading organisation and regulator hears every recall. The ledger holds no index
  from a lot to its possessors (it would list trading relationships: docs/supply.md,
  "Decision"), so a possessor is not found by the ledger: the node that serves the
  stream reads its ledger's item states once per block that recalls, and tells each
  organisation how many packs of the lot it holds (``packs``: active or suspect in its
  possession; ``shipped``: in transit from it; ``incoming``: in transit to it), and a
  regulator every organisation's counts (``holders``). Nobody is told another
  organisation's holdings but a regulator. Dispensing refuses the lot's packs
  regardless (SC6).
* **A suspect or stolen report** (``supply_reported``) goes to the brand owner of the pack,
  to regulators (with the investigation's deadline, ``due``, in block time: 24 hours
  after the report), and to the reporting organisation itself.
* **A closed investigation** (``supply_investigation_closed``) goes to every party of the
  item (every organisation that owned or possessed it) and to regulators: its finding and
  whether it was closed late. The list of parties is never sent: each party hears that
  the item's investigation closed, not who else held it.

Nothing else in a block is anyone's notice here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from salus.supply.contracts.layout import ACTIVE, IN_TRANSIT, PACK, SUSPECT

RECALLED, REPORTED, CLOSED = ("supply_recalled", "supply_reported",
                              "supply_investigation_closed")
KINDS = frozenset({RECALLED, REPORTED, CLOSED})


def notice(event: Mapping[str, Any], org: str, regulator: bool) -> dict[str, Any] | None:
    """What a supply staff member of ``org`` (a regulator's, if ``regulator``) is told of a
    contract event; None when it is none of their organisation's business."""
    kind = event.get("kind")
    if kind == RECALLED:
        return {k: event[k] for k in ("lot", "gtin", "owner", "reason")}
    if kind == REPORTED and (regulator or org in (event["org"], event["brand_owner"])):
        return {k: event[k] for k in ("event", "item", "status", "org", "brand_owner", "due")}
    if kind == CLOSED and (regulator or org in event["parties"]):
        return {k: event[k] for k in ("item", "finding", "late")}
    return None


#: Pack statuses that count as held when a lot is recalled: what could still be sold,
#: dispensed or is quarantined (a dispensed, destroyed or stolen pack is out of reach).
HELD = frozenset({ACTIVE, IN_TRANSIT, SUSPECT})


def holdings(rows: Iterable[tuple[str, bytes]], lots: Mapping[str, tuple[str, str]]
             ) -> dict[str, dict[str, dict[str, int]]]:
    """For each lot (lot id -> (GTIN, lot)), each organisation's counts of its held packs,
    from the ledger's ``supply/item/`` rows: ``{lot id: {org: {packs, shipped,
    incoming}}}``. One pass; a row that does not carry one of the GTINs is not parsed."""
    marks = [f'"gtin":"{gtin}"'.encode() for gtin in {g for g, _ in lots.values()}]
    wanted = {pair: lid for lid, pair in lots.items()}
    out: dict[str, dict[str, dict[str, int]]] = {lid: {} for lid in lots}

    def count(lid: str, org: str, what: str) -> None:
        counts = out[lid].setdefault(org, {"packs": 0, "shipped": 0, "incoming": 0})
        counts[what] += 1

    for _, value in rows:
        if not any(mark in value for mark in marks):
            continue
        doc = json.loads(value)
        lid = wanted.get((doc.get("gtin"), doc.get("lot")))
        if lid is None or doc["kind"] != PACK or doc["status"] not in HELD:
            continue
        if doc["status"] == IN_TRANSIT:
            count(lid, doc["possessor"], "shipped")
            count(lid, doc["shipped_to"], "incoming")
        else:
            count(lid, doc["possessor"], "packs")
    return out
