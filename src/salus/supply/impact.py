"""CO2e and labour of packs: one pack, what a case or pallet holds, what a shipment carried
(issue 16 item 8, the query half).

Where each figure comes from:

* **CO2e** from the PACT footprint the ledger keeps for the pack's lot, else for its
  product (``supply/footprint/…``: µg CO2e per declared unit). A footprint declared per
  ``piece`` is taken as per pack of its GTIN (one piece being one trade item of the GTIN
  the footprint names): per pack is the figure over the declared amount. A footprint in
  any other unit (kilogram, liter, …) needs the pack's mass or volume, which the ledger
  does not hold, so no per-pack figure is made of it.
* **Labour** from the labour extension (:mod:`salus.supply.labour`) of the event that
  made the pack (its commissioning event, or a transformation's output), read from the
  repositories this node holds, and only from events the reader may read: a pack's share
  is its event's figure over the packs that event names. Labour is trading data: a
  pharmacy, which does not read the manufacturer's commissioning event (R-S2), gets none.
* **A shipment's packs**: the items its shipping event names, each container opened to
  what it held at the shipment's time, from the aggregation events the reader may read.
  A container whose contents the reader cannot see is listed as unresolved, never
  guessed.

Arithmetic is exact (:class:`fractions.Fraction`) until the answer, which gives integers:
µg CO2e, thousandths of an hour, thousandths of the currency unit, and says whether
any of them was rounded (to the nearest unit).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from salus.supply.capture_plan import DESTINATION_TYPES, vocabulary
from salus.supply.contracts.layout import (
    PACK,
    footprint_key,
    item_key_of_link,
    item_state_key,
    lot_id,
    party_key,
)
from salus.supply.identifiers import IdentifierError, party_gln
from salus.supply.labour import LabourInvalid, labour
from salus.supply.repository import canonical_item, event_time_ms

#: The key figures of a footprint that are CO2e per declared unit, by the name we answer.
CO2E = {"excluding_biogenic": "pcf_excluding_biogenic_ug",
        "including_biogenic": "pcf_including_biogenic_ug", "fossil": "fossil_ghg_ug"}
PER_PACK_UNIT = "piece"
#: Packs counted in one answer (a pallet of cases of packs): past it, the answer says so.
MAX_PACKS = 5000
#: Containers opened inside one another (pallet -> case -> pack and a little more).
MAX_DEPTH = 4

Get = Callable[[str], Any]
#: The events naming an item (canonical Digital Link) that the reader may read, oldest
#: first, each ``{"org", "stored", "event", "at"}`` (salus.supply.routes.readable).
Readable = Callable[[str], list[dict[str, Any]]]


def applying_footprint(get: Get, gtin: str, lot: str) -> tuple[str, dict[str, Any]] | None:
    """The footprint that applies to a pack of ``gtin`` and ``lot``: the lot's own
    (``batch``), else the product's; None if neither is attached."""
    batch = get(footprint_key(gtin, lot_id(gtin, lot)))
    if batch is not None:
        return "batch", batch
    product = get(footprint_key(gtin))
    return None if product is None else ("product", product)


def co2e_per_pack(footprint: Mapping[str, Any]) -> dict[str, Fraction] | None:
    """µg CO2e per pack of each figure the footprint has; None unless it is declared per
    piece (a pack) in a positive amount."""
    amount = footprint.get("declared_amount_milli")
    if footprint.get("declared_unit") != PER_PACK_UNIT or not isinstance(amount, int) \
            or amount <= 0:
        return None
    return {name: Fraction(footprint[key] * 1000, amount)
            for name, key in CO2E.items() if isinstance(footprint.get(key), int)}


@dataclass
class _Labour:
    hours: Fraction = Fraction(0)
    costs: dict[str, Fraction] = field(default_factory=dict)
    packs: int = 0

    def add(self, share: _Share) -> None:
        self.hours += share.hours
        if share.currency is not None:
            self.costs[share.currency] = self.costs.get(share.currency, Fraction(0)) + share.cost
        self.packs += 1


@dataclass(frozen=True)
class _Share:
    """One pack's share of its making event's labour."""

    event: str
    hours: Fraction
    cost: Fraction
    currency: str | None


def _made_by(event: Mapping[str, Any], link: str) -> list[Any] | None:
    """The items the event made, if it made ``link``: a commissioning event's epcList, a
    transformation's outputEPCList."""
    if event.get("type") == "ObjectEvent" and event.get("action") == "ADD" \
            and vocabulary("bizStep", event.get("bizStep")) == "commissioning":
        made = event.get("epcList")
    elif event.get("type") == "TransformationEvent":
        made = event.get("outputEPCList")
    else:
        return None
    if not isinstance(made, list) or link not in {canonical_item(str(u)) for u in made}:
        return None
    return made


class Tally:
    """Packs counted by lot, with their CO2e and the labour the reader may see."""

    def __init__(self, get: Get, readable: Readable) -> None:
        self.get, self.readable = get, readable
        self.lots: dict[tuple[str, str], dict[str, Any]] = {}
        self.shares: dict[str, _Share | None] = {}  # pack link -> its labour share
        self.rounded = False

    def share(self, link: str) -> _Share | None:
        if link not in self.shares:
            self.shares[link] = self._share(link)
        return self.shares[link]

    def _share(self, link: str) -> _Share | None:
        for entry in self.readable(link):
            made = _made_by(entry["stored"].event, link)
            if made is None:
                continue
            try:
                found = labour(entry["stored"].event)
            except LabourInvalid:
                return None  # stated, but not readably: no figure rather than a wrong one
            if found is None or found.hours_milli is None:
                return None
            return _Share(entry["stored"].hash, Fraction(found.hours_milli, len(made)),
                          Fraction(found.cost_milli or 0, len(made)), found.currency)
        return None

    def add(self, link: str, state: Mapping[str, Any]) -> None:
        key = (state["gtin"], state["lot"])
        group = self.lots.get(key)
        if group is None:
            applies = applying_footprint(self.get, *key)
            per_pack = None if applies is None else co2e_per_pack(applies[1])
            group = self.lots[key] = {"packs": 0, "footprint": applies, "per_pack": per_pack,
                                      "labour": _Labour(), "events": set()}
        group["packs"] += 1
        share = self.share(link)
        if share is not None:
            group["labour"].add(share)
            group["events"].add(share.event)

    def count(self) -> int:
        return sum(g["packs"] for g in self.lots.values())

    def _int(self, value: Fraction) -> int:
        if value.denominator != 1:
            self.rounded = True
        return round(value)

    def _labour(self, found: _Labour, per: int = 1) -> dict[str, Any] | None:
        if found.packs == 0:
            return None
        return {"hours_milli": self._int(found.hours / per),
                "cost_milli": {c: self._int(v / per) for c, v in sorted(found.costs.items())},
                "packs": found.packs}

    def answer(self) -> dict[str, Any]:
        lots, co2e, co2e_packs, total = [], dict.fromkeys(CO2E, Fraction(0)), 0, _Labour()
        for (gtin, lot), g in sorted(self.lots.items()):
            applies, per_pack, work = g["footprint"], g["per_pack"], g["labour"]
            lots.append({
                "gtin": gtin, "lot": lot, "packs": g["packs"],
                "footprint": None if applies is None else {
                    "applies": applies[0], "hash": applies[1]["hash"],
                    "declared_unit": applies[1]["declared_unit"],
                    "declared_amount_milli": applies[1].get("declared_amount_milli")},
                "co2e_per_pack_ug": None if per_pack is None else {
                    k: self._int(v) for k, v in per_pack.items()},
                # averaged over the packs whose labour the reader may see
                "labour_per_pack": self._labour(work, max(work.packs, 1)),
                "labour_events": sorted(g["events"])})
            if per_pack is not None:
                co2e_packs += g["packs"]
                for k, v in per_pack.items():
                    co2e[k] += v * g["packs"]
            total.hours += work.hours
            total.packs += work.packs
            for c, v in work.costs.items():
                total.costs[c] = total.costs.get(c, Fraction(0)) + v
        return {"packs": self.count(), "lots": lots,
                "co2e_ug": {k: self._int(v) for k, v in co2e.items()} if co2e_packs else None,
                "co2e_packs": co2e_packs, "labour": self._labour(total),
                "rounded": self.rounded}


def contents_at(get: Get, readable: Readable, link: str, at: int, depth: int = MAX_DEPTH
                ) -> tuple[list[str], list[str]]:
    """The packs (canonical links) ``link`` was or held at time ``at``, from the
    aggregation events the reader may read; and the containers whose contents it could
    not see (a container with no packing event it may read)."""
    state = get(item_state_key(item_key_of_link(link)))
    if state is None:
        return [], []
    if state["kind"] == PACK:
        return [link], []
    if depth == 0:
        return [], [link]
    inside: set[str] = set()
    seen = False
    for entry in readable(link):
        event = entry["stored"].event
        if entry["at"] > at or event.get("type") != "AggregationEvent" \
                or canonical_item(str(event.get("parentID"))) != link:
            continue
        seen = True
        children = {c for c in (canonical_item(str(u)) for u in event.get("childEPCs") or [])
                    if c is not None}
        if event.get("action") == "ADD":
            inside |= children
        elif event.get("action") == "DELETE":
            inside -= children
    if not seen and state.get("children"):
        return [], [link]
    packs: list[str] = []
    unresolved: list[str] = []
    for child in sorted(inside):
        p, u = contents_at(get, readable, child, at, depth - 1)
        packs += p
        unresolved += u
    return packs, unresolved


def _org_of(get: Get, uri: Any) -> str | None:
    try:
        gln = party_gln(str(uri))
    except IdentifierError:
        return None
    party = get(party_key(gln))
    return None if party is None else str(party["org"])


def destination(get: Get, event: Mapping[str, Any]) -> str | None:
    """The organisation a shipping event sends to, by its registered GLN."""
    named = {vocabulary("type", d.get("type")): d.get("destination")
             for d in event.get("destinationList") or [] if isinstance(d, Mapping)}
    for kind in DESTINATION_TYPES:
        if named.get(kind) is not None:
            return _org_of(get, named[kind])
    return None


def _tally(get: Get, readable: Readable, packs: Iterable[str], unresolved: int
           ) -> dict[str, Any]:
    unique = sorted(set(packs))
    tally = Tally(get, readable)
    for link in unique[:MAX_PACKS]:
        state = get(item_state_key(item_key_of_link(link)))
        if state is not None and state["kind"] == PACK:
            tally.add(link, state)
    return {**tally.answer(), "unresolved": unresolved, "too_many": len(unique) > MAX_PACKS}


def item_figures(get: Get, readable: Readable, link: str, now: int) -> dict[str, Any]:
    """The item's packs now (a pack: itself; a case or pallet: what it holds, as the
    aggregation events the reader may read say), tallied."""
    packs, unresolved = contents_at(get, readable, link, now)
    return _tally(get, readable, packs, len(unresolved))


def shipment_figures(get: Get, readable: Readable, entries: Iterable[dict[str, Any]]
                     ) -> list[dict[str, Any]]:
    """Each shipping event among ``entries`` (readable custody events), with its packs
    tallied."""
    out = []
    for entry in entries:
        event = entry["event"]
        if event.get("type") != "ObjectEvent" \
                or vocabulary("bizStep", event.get("bizStep")) != "shipping":
            continue
        at = event_time_ms(event)
        packs: list[str] = []
        unresolved: list[str] = []
        for uri in event.get("epcList") or []:
            link = canonical_item(str(uri))
            if link is not None:
                p, u = contents_at(get, readable, link, at)
                packs += p
                unresolved += u
        out.append({"event": entry["stored"].hash, "org": entry["org"],
                    "to": destination(get, event), "time": at,
                    **_tally(get, readable, packs, len(unresolved))})
    return out
