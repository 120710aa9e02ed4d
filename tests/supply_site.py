"""A supply chain served by a real node: a manufacturer, a distributor, two pharmacies and
a regulator founded in a data directory (admin keys in ``keys/``), the manufacturer's GS1
company prefix and every trading partner's party GLN registered, a supply operator in
each. The node then enrols each organisation's supply service key itself."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from salus.client import SalusClient
from salus.identity import Identity
from salus.node.bootstrap import LedgerSession, OrgSpec, admin_key_path, init_datadir
from salus.node.datadir import DataDir
from salus.supply import epcis_events as ev
from salus.supply.identifiers import check_digit
from servers import node_server

PREFIX, PREFIX_LEN = "9506000", 7
GTIN = "09506000134352"
LOT, EXPIRY = "LOT-SITE", date(2029, 6, 30)
ORGS = [OrgSpec("meridian", "manufacturer", "Meridian Pharma"),
        OrgSpec("northway", "distributor", "Northway Distribution"),
        OrgSpec("corner", "pharmacy", "Corner Pharmacy"),
        OrgSpec("riverside", "pharmacy", "Riverside Pharmacy"),
        OrgSpec("fda", "regulator", "Drug Regulator")]
#: org -> party GLN (under the manufacturer's prefix for simplicity of the test world)
GLNS = {org.id: (lambda body: body + check_digit(body))(f"{PREFIX}{i:05d}")
        for i, org in enumerate(ORGS[:4], start=1)}


def party(org: str) -> str:
    return ev.pgln(GLNS[org], PREFIX_LEN)


def place(org: str) -> str:
    return ev.sgln(GLNS[org], PREFIX_LEN)


def pack(serial: str) -> str:
    return ev.sgtin(GTIN, serial, PREFIX_LEN)


def case(n: int) -> str:
    body = "0" + PREFIX + f"{n:09d}"
    return ev.sscc(body + check_digit(body), PREFIX_LEN)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class Site:
    url: str
    data: Path

    def key(self, name: str) -> Identity:
        return Identity.load(DataDir(self.data).keys_dir / f"{name}.key")

    def client(self, name: str) -> SalusClient:
        return SalusClient(self.url, self.key(name))


def found(data: Path) -> None:
    init_datadir(data, "salus-supply-test", ORGS)
    datadir = DataDir(data)
    ledger = datadir.open_ledger()
    try:
        admins = {o.id: Identity.load(admin_key_path(datadir, o.id)) for o in ORGS}
        s = LedgerSession(ledger)
        for org in ORGS:
            person = Identity.generate()
            person.save(datadir.keys_dir / f"{org.id}-operator.key")
            s.tx(admins[org.id], "membership", "enrol", {
                "org": org.id, "member": person.did,
                "roles": ["admin" if org.type == "regulator" else "supply_operator"]})
        s.tx(admins["fda"], "supply", "register_prefix", {"prefix": PREFIX, "org": "meridian"})
        for org, gln in GLNS.items():
            s.tx(admins["fda"], "supply", "register_party", {"gln": gln, "org": org})
        verdicts = s.commit()
        assert all(code == "VALID" for code, _ in verdicts), verdicts
    finally:
        ledger.close()


@contextmanager
def supply_site(data: Path) -> Iterator[Site]:
    found(data)
    server, node = node_server(data, block_max_wait_ms=5)
    with server:
        yield Site(server.url, data)
    node.ledger.close()


def life(serials: list[str], box: int, t: int) -> list[dict[str, Any]]:
    """The manufacturer's document: commission, pack into a case, sell and ship it."""
    packs = [pack(s) for s in serials]
    po = [("po", f"urn:epcglobal:cbv:bt:{GLNS['northway']}:po-{box}")]
    return [ev.commissioning(packs, LOT, EXPIRY, t, place("meridian")),
            ev.packing(case(box), packs, t + 1000, place("meridian")),
            ev.sale([case(box)], t + 2000, source=party("meridian"),
                    destination=party("northway"), transactions=po),
            ev.shipping([case(box)], t + 3000, source=party("meridian"),
                        destination=party("northway"), place=place("meridian"),
                        transactions=po)]
