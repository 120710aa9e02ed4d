"""The demo's supply chain as the supply pages' browser tests use it (tests/web_demo.py
seeds it): its ids, its people's key names, and fresh lots a test makes for itself, so
that no test relies on what another may change (a recall, a suspect report)."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

from salus.client import SalusClient
from salus.clock import wall_clock_ms
from salus.supply import demo as demo_supply
from salus.supply import demo_footprints as fp
from salus.supply import epcis_events as ev
from web_demo import Demo

MAKER, DISTRIBUTOR = demo_supply.MAKER, demo_supply.DISTRIBUTOR


def supply(demo: Demo) -> dict[str, Any]:
    """What the demo's supply chain made (demo-supply.json)."""
    return demo.made["supply"]  # type: ignore[no-any-return]


def key_of(demo: Demo, org: str, role: str = "supply_operator") -> str:
    """The demo's key name of ``org``'s member holding ``role``."""
    return str(supply(demo)["keys"][org][role]).removesuffix(".key")


def client(demo: Demo, org: str, role: str = "supply_operator") -> SalusClient:
    return demo.client(key_of(demo, org, role))


def fresh_lot(demo: Demo, packs: int = 3, lot_data: dict[str, Any] | None = None
              ) -> tuple[str, list[str]]:
    """A new lot of the demo's product: Meridian commissions ``packs`` packs (its ILMD
    with ``lot_data``, e.g. labour, beside the lot and expiry) and sells them to Northway,
    which receives them. Its lot number and the packs' EPC URNs."""
    lot = "T" + secrets.token_hex(4).upper()
    urns = [ev.sgtin(demo_supply.GTIN, secrets.token_hex(6).upper(), demo_supply.PREFIX_LEN)
            for _ in range(packs)]
    t = wall_clock_ms() - 3_600_000
    order = [("po", f"urn:epcglobal:cbv:bt:{demo_supply.PARTIES[DISTRIBUTOR].gln}:PO-{lot}")]
    seller, buyer = demo_supply.party(MAKER), demo_supply.party(DISTRIBUTOR)
    with client(demo, MAKER) as maker:
        document = ev.document([
            ev.commissioning(urns, lot, date(2030, 12, 31), t, demo_supply.place(MAKER),
                             lot_data=lot_data),
            ev.sale(urns, t + 1000, source=seller, destination=buyer, transactions=order),
            ev.shipping(urns, t + 1000, source=seller, destination=buyer,
                        place=demo_supply.place(MAKER), transactions=order)], t + 2000)
        document["@context"].append(fp.LABOUR_CONTEXT)
        job = maker.capture(document)
        assert job["success"], job
    with client(demo, DISTRIBUTOR) as northway:
        job = northway.capture(ev.document(
            [ev.receiving(urns, t + 3000, demo_supply.place(DISTRIBUTOR))], t + 4000))
        assert job["success"], job
    return lot, urns


def quarantine(demo: Demo, org: str, urn: str) -> None:
    """``org`` finds the pack ``urn`` suspect and quarantines it."""
    with client(demo, org) as holder:
        job = holder.capture(ev.document([ev.quarantine(urn, wall_clock_ms(),
                                                        demo_supply.place(org))],
                                          wall_clock_ms()))
        assert job["success"], job
