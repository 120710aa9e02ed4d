"""A supply chain on a test ledger: two manufacturers, a distributor, two pharmacies and a
regulator, each with a ``supply_operator``; packs named by their GS1 identifiers.

Used by ``test_supply_contract`` and by the authority matrix's world."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from conftest import Chain, ContractWorld, ident
from salus.identity import Identity
from salus.supply.contracts.layout import item_key
from salus.supply.identifiers import check_digit, parse

#: org id -> (type, GS1 company prefix or None)
ORGS = {
    "pharmaco": ("manufacturer", "9506000"),
    "genericco": ("manufacturer", "4012345"),
    "wholesale": ("distributor", None),
    "corner-pharmacy": ("pharmacy", None),
    "other-pharmacy": ("pharmacy", None),
}
GTIN = "09506000134352"        # pharmaco's (prefix 9506000)
OTHER_GTIN = "04012345111118"  # genericco's (prefix 4012345)
LOT, EXPIRY = "LOT-A1", 20271231
REGULATOR = "regulator-admin"  # conftest's genesis: admin of health-dept


def event(name: str) -> str:
    """A CBV 2.0 event hash standing for the event called ``name``."""
    return f"ni:///sha-256;{hashlib.sha256(name.encode()).hexdigest()}?ver=CBV2.0"


def pack(serial: str, gtin: str = GTIN) -> str:
    """The item key of a pack, from its DataMatrix element string."""
    return item_key(parse(f"(01){gtin}(21){serial}"))


def case(sscc_tail: str) -> str:
    """The item key of a case or pallet, by an SSCC of pharmaco's prefix."""
    body = ("0" + "9506000" + sscc_tail.rjust(9, "0"))[:17]
    return item_key(parse(f"(00){body}{check_digit(body)}"))


@dataclass
class Supply(ContractWorld):
    operator: dict[str, Identity] = field(default_factory=dict)  # org -> supply operator
    admin: dict[str, Identity] = field(default_factory=dict)     # org -> its admin

    @property
    def regulator(self) -> Identity:
        return ident(REGULATOR)

    def call(self, org_or_key: str | Identity, method: str, args: dict[str, Any]) -> bytes:
        who = self.operator[org_or_key] if isinstance(org_or_key, str) else org_or_key
        return self.chain.tx(who, "supply", method, args)

    def item(self, key: str) -> dict[str, Any] | None:
        return self.chain.ledger.state_value(f"supply/item/{key}")

    # -- steps of a pack's life ------------------------------------------------------------
    def commission(self, org: str, name: str, items: list[str], gtin: str = GTIN,
                   lot: str = LOT, expiry: int = EXPIRY) -> bytes:
        return self.call(org, "commission", {"event": event(name), "gtin": gtin, "lot": lot,
                                             "expiry": expiry, "items": items})

    def ship(self, org: str, name: str, items: list[str], to: str, sale: str | None = None
             ) -> bytes:
        args = {"event": event(name), "items": items, "to": to}
        return self.call(org, "ship", args if sale is None else {**args, "sale": event(sale)})

    def receive(self, org: str, name: str, items: list[str]) -> bytes:
        return self.call(org, "receive", {"event": event(name), "items": items})

    def move(self, items: list[str], *hops: tuple[str, str], sale: bool = True) -> None:
        """Ship and receive ``items`` along ``hops`` (from, to), each hop one sale."""
        for src, dst in hops:
            tag = f"{src}->{dst}:{items[0]}:{self.chain.ledger.height}"
            self.ok(self.ship(src, "ship " + tag, items, dst, "sale " + tag if sale else None))
            self.ok(self.receive(dst, "receive " + tag, items))


def build_supply(chain: Chain, operators: dict[str, Identity] | None = None,
                 admins: dict[str, Identity] | None = None) -> Supply:
    """Add the supply organisations, their operators, and the two manufacturers' prefixes."""
    s = Supply(chain)
    s.admin = {org: (admins or {}).get(org) or ident(f"{org}-admin") for org in ORGS}
    s.operator = {org: (operators or {}).get(org) or ident(f"{org}-operator") for org in ORGS}
    reg = s.regulator
    s.ok(*[chain.tx(reg, "membership", "add_organisation", {
        "id": org, "name": org.replace("-", " ").title(), "type": kind,
        "admins": [s.admin[org].did]}) for org, (kind, _) in ORGS.items()])
    s.ok(*[chain.tx(s.admin[org], "membership", "enrol", {
        "org": org, "member": s.operator[org].did, "roles": ["supply_operator"]})
        for org in ORGS])
    s.ok(*[chain.tx(reg, "supply", "register_prefix", {"prefix": prefix, "org": org})
           for org, (_, prefix) in ORGS.items() if prefix])
    return s
