"""The demo's drug supply chain, captured through ``POST /epcis/capture`` once the node
serves, as each trading partner's system would send its EPCIS 2.0 documents.

Before the node starts, :mod:`salus.demo.consortium` founds the parties (:data:`PARTIES`):
Meridian Pharmaceuticals (manufacturer), Northway Distribution, Corner Pharmacy and
Riverside Pharmacy, each with a supply operator's key in ``DATA/keys``; the Department of
Health's admin registers Meridian's GS1 company prefix and every party's GLN
(:func:`founding_calls`). Then, through the API, each signed by its own operator:

* Meridian commissions two lots of one product with random serials (GS1 recommends
  them), packs them into four cases and the cases onto an SSCC pallet, sells (the DSCSA
  transaction information and statement, a TransactionEvent) and ships the pallet;
* Northway receives it, takes three cases off the pallet (one stays on it, so a pack on
  the ledger still sits in pallet -> case -> pack), unpacks two, and sells packs on to
  Corner and packs and a whole case to Riverside;
* the pharmacies receive; Riverside unpacks its case; each dispenses a pack;
* Meridian recalls the second lot; Corner's attempt to dispense a pack of it is refused;
* Corner quarantines a pack it finds suspect: an investigation is open, due in 24 hours;
* a counterfeit, a pack of Meridian's GTIN with a serial Meridian never made, is written
  down for the counter to catch (it is on no ledger).

What was made is written to ``DATA/demo-supply.json``, which also marks it done: keys per
role, GTIN, lots, and the DataMatrix, Digital Link and EPC URN of the packs worth scanning.
Every identifier is drawn at random on each attempt, so an attempt that failed half-way
leaves nothing a second attempt collides with.
"""

from __future__ import annotations

import calendar
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from salus.client import SalusClient
from salus.clock import iso_from_ms, wall_clock_ms
from salus.demo.marker import once
from salus.identity import Identity
from salus.supply import demo_footprints as fp
from salus.supply import epcis_events as ev
from salus.supply.identifiers import Identity as GS1Id
from salus.supply.identifiers import Kind, check_digit

MARKER = "demo-supply.json"
REGULATOR = "health-dept"
#: The manufacturer's GS1 company prefix. GS1 prefix 952 is reserved for demonstrations
#: and examples (GenSpecs §1.4.2), so no real product is ever named by the demo.
COMPANY_PREFIX = "9521234"
PREFIX_LEN = len(COMPANY_PREFIX)
PRODUCT = "Lisinopril 10 mg, 30 tablets"
GTIN = (lambda body: body + check_digit(body))("0" + COMPANY_PREFIX + "00101")
RECALL_REASON = "potency"
PACKS_PER_CASE = 5
HOUR_MS = 3_600_000


def _gln(prefix: str) -> str:
    body = prefix + "00001"
    return body + check_digit(body)


@dataclass(frozen=True)
class Party:
    """A trading partner of the demo: its organisation, type, name, party GLN (under a
    company prefix of its own, also of the 952 demonstration range) and supply operator."""

    org: str
    type: str
    name: str
    gln: str
    operator: str


MAKER, DISTRIBUTOR = "meridian-pharma", "northway-distribution"
CORNER, RIVERSIDE = "corner-pharmacy", "riverside-pharmacy"
PARTIES = {p.org: p for p in (
    Party(MAKER, "manufacturer", "Meridian Pharmaceuticals", _gln(COMPANY_PREFIX), "ops-mara"),
    Party(DISTRIBUTOR, "distributor", "Northway Distribution", _gln("9521567"), "ops-nico"),
    Party(CORNER, "pharmacy", "Corner Pharmacy", _gln("9521890"), "ops-cora"),
    Party(RIVERSIDE, "pharmacy", "Riverside Pharmacy", _gln("9521911"), "ops-rosa"),
)}


def founding_calls() -> list[tuple[str, str, dict[str, Any]]]:
    """What the regulator's admin registers before the node starts: ``(contract, method,
    args)`` of the manufacturer's prefix and every party's GLN."""
    calls = [("supply", "register_prefix", {"prefix": COMPANY_PREFIX, "org": MAKER})]
    calls += [("supply", "register_party", {"gln": p.gln, "org": p.org})
              for p in PARTIES.values()]
    return calls


# -- identifiers ----------------------------------------------------------------------
_SERIAL_CHARS = string.ascii_uppercase + string.digits


def _random(n: int) -> str:
    return "".join(secrets.choice(_SERIAL_CHARS) for _ in range(n))


def _months_ahead(today: date, months: int) -> date:
    """The last day of the month ``months`` after ``today``'s."""
    year, month = divmod(today.month - 1 + months, 12)
    year, month = today.year + year, month + 1
    return date(year, month, calendar.monthrange(year, month)[1])


@dataclass(frozen=True)
class Lot:
    lot: str
    expiry: date


def _pack(lot: Lot) -> GS1Id:
    return GS1Id(Kind.SGTIN, gtin=GTIN, serial=_random(12), lot=lot.lot, expiry=lot.expiry)


def _unit() -> GS1Id:
    """A case or pallet: an SSCC of the manufacturer's prefix, random serial reference."""
    body = "0" + COMPANY_PREFIX + f"{secrets.randbelow(10 ** 9):09d}"
    return GS1Id(Kind.SSCC, sscc=body + check_digit(body))


def epc(item: GS1Id) -> str:
    return item.epc_urn(PREFIX_LEN)


def label(item: GS1Id) -> dict[str, str]:
    """What a scanner reads off the item (its DataMatrix as a GS1 element string and its
    Digital Link, lot and expiry included for a pack) and its EPC URN."""
    link = item.digital_link
    if item.kind is Kind.SGTIN:
        assert item.expiry is not None
        link += f"?10={item.lot}&17={item.expiry.strftime('%y%m%d')}"
    return {"datamatrix": item.element_string, "digital_link": link, "epc": epc(item)}


def party(org: str) -> str:
    return ev.pgln(PARTIES[org].gln, PREFIX_LEN)


def place(org: str) -> str:
    return ev.sgln(PARTIES[org].gln, PREFIX_LEN)


# -- the supply chain ---------------------------------------------------------------------
@dataclass
class _World:
    lots: list[Lot]
    cases: list[GS1Id]             # cases 0, 1 hold lot 0; cases 2, 3 lot 1
    packs: list[list[GS1Id]]       # packs[c]: what case c was packed with
    pallet: GS1Id

    @classmethod
    def draw(cls, today: date) -> _World:
        first = _random(6)
        lots = [Lot(f"L{first}", _months_ahead(today, 24)),
                Lot(f"L{_random(6)}", _months_ahead(today, 18))]
        cases = [_unit() for _ in range(4)]
        packs = [[_pack(lots[c // 2]) for _ in range(PACKS_PER_CASE)] for c in range(4)]
        return cls(lots, cases, packs, _unit())


class _Seeder:
    """Captures each party's documents with its operator's key, keeping the jobs."""

    def __init__(self, url: str, keys: Path, start_ms: int) -> None:
        self.clients = {org: SalusClient(url, Identity.load(keys / f"{p.operator}.key"))
                        for org, p in PARTIES.items()}
        self.clock = start_ms
        self.jobs: list[dict[str, Any]] = []

    def at(self, hours: float) -> int:
        """An event time ``hours`` after the previous one (events happen in order)."""
        self.clock += int(hours * HOUR_MS)
        return self.clock

    def capture(self, org: str, what: str, events: list[dict[str, Any]]) -> dict[str, Any]:
        document = ev.document(events, self.clock)
        document["@context"].append(fp.LABOUR_CONTEXT)  # the labour on commissioning events
        job = self.clients[org].capture(document)
        kept = {"what": what, "org": org, "captureID": job["captureID"], "tx": job["tx"],
                "events": job["eventCount"], "success": job["success"]}
        if job["success"]:
            self.jobs.append(kept)
        return {**kept, "errors": job["errors"]}

    def must(self, org: str, what: str, events: list[dict[str, Any]]) -> None:
        job = self.capture(org, what, events)
        if not job["success"]:
            raise RuntimeError(f"the demo's capture {what!r} was refused: {job['errors']}")

    def sell(self, org: str, to: str, epcs: list[str], po: str) -> list[dict[str, Any]]:
        """A sale with its shipment: the TransactionEvent (TI and TS) and the shipping
        event naming the same purchase order."""
        order = [("po", f"urn:epcglobal:cbv:bt:{PARTIES[to].gln}:{po}")]
        t = self.at(0.5)
        return [ev.sale(epcs, t, source=party(org), destination=party(to), transactions=order),
                ev.shipping(epcs, t, source=party(org), destination=party(to), place=place(org),
                            transactions=order)]

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


def _keys() -> dict[str, dict[str, str]]:
    """Key file names in ``DATA/keys`` by organisation and role."""
    keys = {org: {"supply_operator": f"{p.operator}.key", "admin": f"{org}-admin.key"}
            for org, p in PARTIES.items()}
    keys[CORNER]["pharmacist"] = "pharm-erin.key"  # dispenses too (SC6), captures nothing
    keys[REGULATOR] = {"admin": f"{REGULATOR}-admin.key", "auditor": "auditor-heidi.key"}
    return keys


def seed_supply(url: str, data: Path, say: Callable[[str], None] = lambda _: None
                ) -> dict[str, Any]:
    """Run the demo's supply chain on the node at ``url``; return what was made."""
    now = wall_clock_ms()
    w = _World.draw(date.today())
    urns = [[epc(p) for p in case] for case in w.packs]
    box = [epc(c) for c in w.cases]
    pallet = epc(w.pallet)
    s = _Seeder(url, data / "keys", now - 72 * HOUR_MS)
    try:
        say("supply chain: Meridian commissions two lots, packs cases and a pallet ...")
        here = place(MAKER)
        s.must(MAKER, "commission and pack", [
            *(ev.commissioning(urns[2 * i] + urns[2 * i + 1], lot.lot, lot.expiry, s.at(1), here,
                               lot_data=fp.LABOUR[i].ilmd())
              for i, lot in enumerate(w.lots)),
            *(ev.packing(box[c], urns[c], s.at(0.25), here) for c in range(4)),
            ev.packing(pallet, box, s.at(0.5), here)])
        footprints = _attach_footprints(s.clients[MAKER], w.lots[1].lot, now)
        s.must(MAKER, "sell and ship the pallet to Northway",
               s.sell(MAKER, DISTRIBUTOR, [pallet], "PO-N-1001"))

        say("supply chain: Northway receives, unpacks and sells on to two pharmacies ...")
        here = place(DISTRIBUTOR)
        s.must(DISTRIBUTOR, "receive and unpack", [
            ev.receiving([pallet], s.at(20), here),
            ev.unpacking(pallet, box[:3], s.at(1), here),
            ev.unpacking(box[0], urns[0], s.at(0.25), here),
            ev.unpacking(box[2], urns[2], s.at(0.25), here)])
        to_corner = urns[0][:3] + urns[2][:2]
        s.must(DISTRIBUTOR, "sell and ship to Corner Pharmacy",
               s.sell(DISTRIBUTOR, CORNER, to_corner, "PO-C-2001"))
        to_riverside = [box[1], *urns[0][3:], urns[2][2]]
        s.must(DISTRIBUTOR, "sell and ship to Riverside Pharmacy",
               s.sell(DISTRIBUTOR, RIVERSIDE, to_riverside, "PO-R-3001"))

        say("supply chain: the pharmacies receive and dispense ...")
        s.must(CORNER, "receive", [ev.receiving(to_corner, s.at(18), place(CORNER))])
        s.must(RIVERSIDE, "receive and unpack the case", [
            ev.receiving(to_riverside, s.at(1), place(RIVERSIDE)),
            ev.unpacking(box[1], urns[1], s.at(0.5), place(RIVERSIDE))])
        s.must(CORNER, "dispense", [ev.dispensing(urns[0][0], s.at(3), place(CORNER))])
        s.must(RIVERSIDE, "dispense", [ev.dispensing(urns[1][0], s.at(1), place(RIVERSIDE))])

        say(f"supply chain: Meridian recalls lot {w.lots[1].lot}; Corner quarantines a "
            "suspect pack ...")
        recalled = w.lots[1]
        receipt = s.clients[MAKER].call("supply", "recall", {
            "gtin": GTIN, "lot": recalled.lot, "reason": RECALL_REASON})
        refused = s.capture(CORNER, "dispense a recalled pack",
                            [ev.dispensing(urns[2][0], s.at(1), place(CORNER))])
        if refused["success"]:
            raise RuntimeError("the demo's pharmacy dispensed a pack of a recalled lot")
        s.must(CORNER, "quarantine a suspect pack",
               [ev.quarantine(urns[0][1], s.at(0.5), place(CORNER))])
    finally:
        s.close()
    counterfeit = GS1Id(Kind.SGTIN, gtin=GTIN, serial=_random(12), lot=w.lots[0].lot,
                        expiry=w.lots[0].expiry)
    return {
        "orgs": {"manufacturer": MAKER, "distributor": DISTRIBUTOR,
                 "pharmacies": [CORNER, RIVERSIDE], "regulator": REGULATOR},
        "keys": _keys(),
        "company_prefix": COMPANY_PREFIX,
        "glns": {org: p.gln for org, p in PARTIES.items()},
        "gtins": {PRODUCT: GTIN},
        "lots": [{"gtin": GTIN, "lot": lot.lot, "expiry": lot.expiry.isoformat(),
                  "recalled": lot is recalled} for lot in w.lots],
        "footprints": footprints,
        "labour": [{"lot": lot.lot, "hours": fp.LABOUR[i].hours, "cost": fp.LABOUR[i].cost,
                    "currency": fp.LABOUR[i].currency, "packs": 2 * PACKS_PER_CASE}
                   for i, lot in enumerate(w.lots)],
        "recall": {"gtin": GTIN, "lot": recalled.lot, "reason": RECALL_REASON,
                   "by": MAKER, "tx": receipt.tx_id},
        "packs": {
            "saleable_at_corner": {"at": CORNER, **label(w.packs[0][2])},
            "saleable_at_riverside": {"at": RIVERSIDE, **label(w.packs[1][1])},
            "dispensed": {"at": CORNER, **label(w.packs[0][0])},
            "recalled": {"at": CORNER, **label(w.packs[2][0])},
            "suspect": {"at": CORNER, **label(w.packs[0][1])},
            "on_pallet": {"at": DISTRIBUTOR, **label(w.packs[3][0])},  # pallet -> case -> pack
            "counterfeit": {"at": None, **label(counterfeit)},
        },
        "pallet": {"at": DISTRIBUTOR, **label(w.pallet)},
        "case": {"at": DISTRIBUTOR, "on": "pallet", **label(w.cases[3])},
        "captures": s.jobs,
        "refused": {"dispense_recalled": {"captureID": refused["captureID"],
                                          "code": refused["errors"][0]["code"]}},
    }


def _attach_footprints(maker: SalusClient, lot: str, now: int) -> dict[str, Any]:
    """Meridian's footprints: the product's (a first one, then the one replacing it) and
    the second lot's own; returns their hashes."""
    created = iso_from_ms(now - 30 * 24 * HOUR_MS)
    first = fp.footprint(GTIN, fp.FIRST, created)
    replaced = maker.attach_footprint(first, GTIN)["hash"]
    current = maker.attach_footprint(fp.footprint(GTIN, fp.CURRENT, iso_from_ms(now),
                                                  [first["id"]]), GTIN)["hash"]
    own = maker.attach_footprint(fp.footprint(GTIN, fp.SECOND_LOT, iso_from_ms(now)), GTIN,
                                 lot=lot)["hash"]
    return {"gtin": GTIN, "product": current, "replaced": replaced,
            "lot": {"lot": lot, "hash": own}}


def seed_once(url: str, data: Path, say: Callable[[str], None]) -> dict[str, Any] | None:
    """Seed the supply chain unless this data directory already has it."""
    return once(data / MARKER, lambda: seed_supply(url, data, say))
