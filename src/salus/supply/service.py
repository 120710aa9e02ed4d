"""Open the supply application for the trading organisations a node hosts: for each, its
supply service key (a ``supply_operator`` of the organisation, enrolled by its admin's
key the first time) and its EPCIS repository (``supply/<org>.db`` in the data directory).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from salus.clock import wall_clock_ms
from salus.identity import Identity
from salus.node.bootstrap import admin_key_path
from salus.node.datadir import DataDir
from salus.node.node import Node
from salus.node.service_key import hosted_orgs as hosted
from salus.node.service_key import service_key
from salus.supply.capture import Site
from salus.supply.contracts.layout import SUPPLY_ROLE, TRADING_TYPES
from salus.supply.repository import Repository


def supply_key_path(datadir: DataDir, org: str) -> Path:
    return datadir.keys_dir / f"{org}-supply.key"


def repository_path(datadir: DataDir, org: str) -> Path:
    return datadir.path / "supply" / f"{org}.db"


def hosted_orgs(node: Node, datadir: DataDir) -> list[str]:
    """Trading organisations whose admin or supply key is in the data directory."""
    return hosted(node, datadir, TRADING_TYPES, supply_key_path)


@dataclass
class SupplyService:
    """The capture sites of the organisations this node hosts."""

    node: Node
    sites: dict[str, Site]

    def site(self, org: str | None) -> Site | None:
        return None if org is None else self.sites.get(org)

    def close(self) -> None:
        for site in self.sites.values():
            site.repository.close()


async def open_supply(node: Node, datadir: DataDir, orgs: list[str] | None = None
                      ) -> SupplyService:
    now = wall_clock_ms()
    sites: dict[str, Site] = {}
    try:
        for org in hosted_orgs(node, datadir) if orgs is None else orgs:
            admin_file = admin_key_path(datadir, org)
            admin = Identity.load(admin_file) if admin_file.exists() else None
            key = await service_key(node, supply_key_path(datadir, org), org, SUPPLY_ROLE,
                                    admin, now)
            sites[org] = Site(org, key, node, Repository(repository_path(datadir, org)))
    except Exception:
        for site in sites.values():
            site.repository.close()
        raise
    return SupplyService(node, sites)
