"""Open the records gateway for the custodians a node hosts."""

from __future__ import annotations

from salus.clock import wall_clock_ms
from salus.identity import Identity
from salus.node.bootstrap import admin_key_path
from salus.node.datadir import DataDir
from salus.node.node import Node
from salus.node.rate_limits import RateLimits
from salus.node.service_key import hosted_orgs as hosted
from salus.records.custodian import CustodianError, gateway_key_path, open_custodian
from salus.records.gateway import Gateway

#: Organisation types that hold patient records.
CUSTODIAN_TYPES = frozenset({"hospital", "lab", "pharmacy"})


def hosted_orgs(node: Node, datadir: DataDir) -> list[str]:
    """Custodian organisations whose admin or gateway key is in the data directory."""
    return hosted(node, datadir, CUSTODIAN_TYPES, gateway_key_path)


async def open_gateway(node: Node, datadir: DataDir, orgs: list[str] | None = None,
                       rate_limits: RateLimits | None = None) -> Gateway:
    now = wall_clock_ms()
    custodians = {}
    for org in hosted_orgs(node, datadir) if orgs is None else orgs:
        admin_file = admin_key_path(datadir, org)
        admin = Identity.load(admin_file) if admin_file.exists() else None
        try:
            custodians[org] = await open_custodian(node, datadir, org, admin, now)
        except CustodianError:
            for c in custodians.values():
                c.close()
            raise
    gateway = Gateway(node, custodians, replay_file=datadir.replay_file,
                      rate_limits=rate_limits)
    await gateway.start()
    return gateway
