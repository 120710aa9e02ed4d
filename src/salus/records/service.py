"""Open the records gateway for the custodians a node hosts."""

from __future__ import annotations

import json
import time
from pathlib import Path

from salus.identity import Identity
from salus.node.node import Node
from salus.records.custodian import CustodianError, gateway_key_path, open_custodian
from salus.records.gateway import Gateway

#: Organisation types that hold patient records.
CUSTODIAN_TYPES = frozenset({"hospital", "lab", "pharmacy"})


def hosted_orgs(node: Node, keys_dir: Path) -> list[str]:
    """Custodian organisations whose admin or gateway key is in ``keys_dir``."""
    out = []
    for _key, value, _h in node.ledger.store.state_scan("org/", "", 10_000):
        org = json.loads(value)
        if org["type"] in CUSTODIAN_TYPES and org["to"] is None and (
                (keys_dir / f"{org['id']}-admin.key").exists()
                or gateway_key_path(keys_dir, org["id"]).exists()):
            out.append(org["id"])
    return out


async def open_gateway(node: Node, data: Path, keys_dir: Path,
                       orgs: list[str] | None = None) -> Gateway:
    now = time.time_ns() // 1_000_000
    custodians = {}
    for org in hosted_orgs(node, keys_dir) if orgs is None else orgs:
        admin_file = keys_dir / f"{org}-admin.key"
        admin = Identity.load(admin_file) if admin_file.exists() else None
        try:
            custodians[org] = await open_custodian(node, data, keys_dir, org, admin, now)
        except CustodianError:
            for c in custodians.values():
                c.close()
            raise
    gateway = Gateway(node, custodians)
    await gateway.start()
    return gateway
