"""A running node with a supply chain on it, driven through the SDK over HTTP: a regulator,
two manufacturers, a distributor, two pharmacies and a hospital, each with a supply
operator; the manufacturers' GS1 company prefixes registered.

Its clock (block time, ingress and every client it makes) can be moved on, so a 24-hour
deadline passes without waiting a day; nothing else differs from ``salus node``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conftest import ident
from salus.api import create_app
from salus.api.auth import TokenService
from salus.client import SalusClient
from salus.clock import wall_clock_ms
from salus.identity import Identity
from salus.node.bootstrap import OrgSpec, admin_key_path, init_datadir
from salus.node.datadir import DataDir
from salus.node.node import Node
from salus.ordering import SoloOrderer
from salus.ports import free_port
from servers import ServerThread
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


class Clock:
    """The wall clock, plus however far the test moved time on."""

    def __init__(self) -> None:
        self.offset = 0

    def __call__(self) -> int:
        return wall_clock_ms() + self.offset


@dataclass
class SupplyNet:
    url: str
    clock: Clock
    keys: Path
    people: dict[str, Identity] = field(default_factory=dict)

    def client(self, who: str | Identity | None = None) -> SalusClient:
        key = self.people[who] if isinstance(who, str) else who
        return SalusClient(self.url, key, clock=self.clock)

    def key_file(self, name: str) -> str:
        path = self.keys / f"{name}.key"
        if not path.exists():
            self.people[name].save(path)
        return str(path)

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
    data, clock = tmp / "node", Clock()
    init_datadir(data, "salus-supply-test", ORGS)
    datadir = DataDir(data)
    ledger = datadir.open_ledger()
    node = Node(ledger, SoloOrderer(max_wait_ms=5, clock=clock), clock=clock)
    port = free_port()
    tokens = TokenService(Identity.load(datadir.key_file), ledger,
                          public_url=f"http://127.0.0.1:{port}", replay_file=datadir.replay_file)
    try:
        with ServerThread(create_app(node, tokens), port=port) as server:
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
    finally:
        ledger.close()


class Inbox:
    """A member's supply notices (``GET /v1/supply/events``), read on a thread until the
    event ``until`` says it is the last one wanted."""

    def __init__(self, client: SalusClient, until: Any) -> None:
        self.events: list[dict[str, Any]] = []
        self.ready, self.done = threading.Event(), threading.Event()
        self._client, self._until = client, until
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()
        assert self.ready.wait(10), "the stream did not open"

    def _listen(self) -> None:
        with self._client:
            for got in self._client.supply_events(read_timeout=30):
                self.events.append(got)
                self.ready.set()
                if self._until(got):
                    break
        self.done.set()

    def got(self) -> list[dict[str, Any]]:
        assert self.done.wait(20), f"the last event never came: {self.events}"
        return [e for e in self.events if e["event"] != "ready"]
