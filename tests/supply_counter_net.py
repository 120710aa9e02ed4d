"""A running node with a drug supply chain on it at the counter (a manufacturer, a distributor, two
pharmacies and a regulator, each with a supply operator), for the REST, SDK and CLI
tests of verification at the counter. Packs are named by their GS1 identifiers, as in
``supply_world``; every transaction goes through the node's API."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conftest import ident
from salus.client import SalusClient
from salus.identity import Identity
from salus.node.bootstrap import OrgSpec, admin_key_path, init_datadir
from salus.node.datadir import DataDir
from servers import ServerThread, node_server
from supply_world import EXPIRY, GTIN, LOT, event, pack

ORGS = [OrgSpec("pharmaco", "manufacturer", "PharmaCo"),
        OrgSpec("wholesale", "distributor", "Wholesale"),
        OrgSpec("corner-pharmacy", "pharmacy", "Corner Pharmacy"),
        OrgSpec("other-pharmacy", "pharmacy", "Other Pharmacy"),
        OrgSpec("st-mary", "hospital", "St Mary's"),
        OrgSpec("health-dept", "regulator", "Regulator")]
#: The GLN the node answers under (check digit valid).
RESPONDER_GLN = "9506000000015"


@dataclass
class SupplyNet:
    url: str
    data: Path
    admin: dict[str, Identity] = field(default_factory=dict)
    operator: dict[str, Identity] = field(default_factory=dict)
    _moves: int = 0

    def client(self, who: Identity | None = None) -> SalusClient:
        return SalusClient(self.url, who)

    def call(self, org: str, method: str, args: dict[str, Any]) -> Any:
        with self.client(self.operator[org]) as c:
            return c.call("supply", method, args).output

    def token(self, who: Identity) -> str:
        with self.client(who) as c:
            return c.token()

    def commission(self, *serials: str, lot: str = LOT, expiry: int = EXPIRY) -> list[str]:
        items = [pack(s) for s in serials]
        self.call("pharmaco", "commission", {"event": event("commission " + " ".join(serials)),
                                             "gtin": GTIN, "lot": lot, "expiry": expiry,
                                             "items": items})
        return items

    def move(self, items: list[str], *hops: tuple[str, str]) -> None:
        """Ship and receive ``items`` along ``hops`` (from, to), each hop a sale."""
        for src, dst in hops:
            self._moves += 1
            tag = f"{src}->{dst}:{self._moves}"
            self.call(src, "ship", {"event": event("ship " + tag), "items": items, "to": dst,
                                    "sale": event("sale " + tag)})
            self.call(dst, "receive", {"event": event("receive " + tag), "items": items})

    def at_pharmacy(self, *serials: str, lot: str = LOT) -> list[str]:
        """Packs commissioned by pharmaco and sold on to the corner pharmacy."""
        items = self.commission(*serials, lot=lot)
        self.move(items, ("pharmaco", "wholesale"), ("wholesale", "corner-pharmacy"))
        return items


@contextmanager
def supply_net(root: Path, **config: Any) -> Iterator[SupplyNet]:
    """The node, its organisations' supply operators and pharmaco's GS1 prefix.
    ``config``: NodeConfig's fields beyond these defaults."""
    init_datadir(root, "salus-supply-test", ORGS)
    datadir = DataDir(root)
    options = {"block_max_wait_ms": 5, "custodians": (), "responder_gln": RESPONDER_GLN, **config}
    served, node = node_server(root, **options)
    server: ServerThread
    with served as server:
        net = SupplyNet(server.url, root)
        for spec in ORGS:
            net.admin[spec.id] = Identity.load(admin_key_path(datadir, spec.id))
            net.operator[spec.id] = ident(f"supply-net-{spec.id}-operator")
            with net.client(net.admin[spec.id]) as admin:
                admin.call("membership", "enrol", {"org": spec.id,
                                                   "member": net.operator[spec.id].did,
                                                   "roles": ["supply_operator"]})
        with net.client(net.admin["health-dept"]) as regulator:
            regulator.call("supply", "register_prefix", {"prefix": "9506000", "org": "pharmaco"})
        yield net
    node.ledger.close()
