"""A running node with a supply chain on it, driven through the SDK over HTTP: a regulator,
two manufacturers, a distributor, two pharmacies and a hospital, each with a supply
operator; the manufacturers' GS1 company prefixes registered.

Its clock (block time, ingress and every client it makes) can be moved on, so a 24-hour
deadline passes without waiting a day; nothing else differs from ``salus node``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from conftest import ident
from salus.cli.main import app as cli
from salus.client import SalusClient
from salus.identity import Identity
from salus.node.bootstrap import OrgSpec, admin_key_path, init_datadir
from salus.node.datadir import DataDir
from servers import ClockedNet, Inbox, NodeClock, clocked_node
from supply_world import GTIN, OTHER_GTIN, event, pack

ORGS = [OrgSpec("health-dept", "regulator", "Regulator"),
        OrgSpec("pharmaco", "manufacturer", "PharmaCo"),
        OrgSpec("genericco", "manufacturer", "GenericCo"),
        OrgSpec("wholesale", "distributor", "Wholesale"),
        OrgSpec("corner-pharmacy", "pharmacy", "Corner Pharmacy"),
        OrgSpec("other-pharmacy", "pharmacy", "Other Pharmacy"),
        OrgSpec("st-mary", "hospital", "St Mary's")]
PREFIXES = {"pharmaco": "9506000", "genericco": "4012345"}
#: name -> (org, roles): the supply operator of each organisation, and two who are not.
PEOPLE = {**{org.id: (org.id, ["supply_operator"]) for org in ORGS},
          "nurse": ("st-mary", ["nurse"]),
          "pharmacist": ("corner-pharmacy", ["pharmacist"])}
#: GTINs of each manufacturer (supply_world's).
GTINS = {"pharmaco": GTIN, "genericco": OTHER_GTIN}


@dataclass
class SupplyNet(ClockedNet):
    """The running supply chain: its people (by name, :data:`PEOPLE`, ``<org>-admin`` and
    ``stranger``, no member) and the steps of a pack's life, signed by them."""

    def status_height(self) -> int:
        with self.client() as c:
            return c.status()["height"]

    def call(self, who: str, method: str, args: dict[str, Any]) -> Any:
        with self.client(who) as c:
            return c.call("supply", method, args).output

    def commission(self, org: str, serials: list[str], lot: str, expiry: int = 20271231
                   ) -> list[str]:
        items = [pack(s, GTINS[org]) for s in serials]
        self.call(org, "commission", {"event": event(f"commission {lot} {serials}"),
                                      "gtin": GTINS[org], "lot": lot, "expiry": expiry,
                                      "items": items})
        return items

    def move(self, items: list[str], src: str, dst: str) -> None:
        """Sell ``items`` from ``src`` to ``dst`` and receive them there."""
        tag = f"{src}->{dst} {items}"
        self.call(src, "ship", {"event": event("ship " + tag), "items": items, "to": dst,
                                "sale": event("sale " + tag)})
        self.call(dst, "receive", {"event": event("receive " + tag), "items": items})


@contextmanager
def running(tmp: Path) -> Iterator[SupplyNet]:
    data, clock = tmp / "node", NodeClock()
    init_datadir(data, "salus-supply-test", ORGS)
    datadir = DataDir(data)
    with clocked_node(datadir, clock) as server:
        keys = tmp / "keys"
        keys.mkdir()
        net = SupplyNet(server.url, clock, keys)
        admins = {org.id: Identity.load(admin_key_path(datadir, org.id)) for org in ORGS}
        net.people.update({f"{org}-admin": key for org, key in admins.items()})
        for name, (org, roles) in PEOPLE.items():
            who = net.people[name] = ident(f"supply-net-{name}")
            with net.client(admins[org]) as admin:
                admin.call("membership", "enrol", {"org": org, "member": who.did,
                                                   "roles": roles})
        net.people["stranger"] = ident("supply-net-stranger")  # no member
        with net.client("health-dept-admin") as regulator:
            for org, prefix in PREFIXES.items():
                regulator.call("supply", "register_prefix", {"prefix": prefix, "org": org})
        yield net


def supply_inbox(client: SalusClient, until: Callable[[dict[str, Any]], bool]) -> Inbox:
    """A member's supply notices (``GET /v1/supply/events``), read until ``until``."""
    return Inbox(client, lambda c: c.supply_events(read_timeout=30), until)


def salus(*args: str, code: int = 0) -> str:
    """Run the ``salus`` CLI; its output, once its exit code is ``code``."""
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == code, result.output
    return result.output
