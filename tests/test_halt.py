"""A storage failure halts the node instead of letting it diverge, and says so."""

from __future__ import annotations

import sqlite3

import httpx
import pytest

from salus.client import SalusClient, SalusError
from salus.identity import Identity
from salus.node.bootstrap import OrgSpec, admin_key_path, init_datadir
from salus.node.datadir import DataDir
from servers import node_server


def test_storage_failure_halts_the_node(tmp_path) -> None:
    init_datadir(tmp_path, "salus-halt", [OrgSpec("st-mary", "hospital", "St Mary")])
    admin = Identity.load(admin_key_path(DataDir(tmp_path), "st-mary"))
    served, node = node_server(tmp_path, block_max_wait_ms=5, custodians=(), supply_orgs=())
    with served as server, SalusClient(server.url, admin) as c:
        assert c.call("notary", "anchor", {"hash": "01" * 32}).valid
        # A real SQLite failure: the table the next block must write to disappears.
        conn = sqlite3.connect(DataDir(tmp_path).ledger_file)
        conn.execute("DROP TABLE log_nodes")
        conn.commit()
        conn.close()
        receipt = c.submit(c.sign("notary", "anchor", {"hash": "02" * 32}), wait=True, timeout=10)
        assert receipt.status == "pending" and "HALTED" in receipt.reason
        health = httpx.get(f"{server.url}/health")
        assert health.status_code == 503 and health.json()["status"] == "halted"
        with pytest.raises(SalusError) as exc:
            c.submit(c.sign("notary", "anchor", {"hash": "03" * 32}))
        assert exc.value.code == "HALTED" and exc.value.status == 503
        assert "salus_halted 1.0" in httpx.get(f"{server.url}/metrics").text
        assert c.status()["height"] == 1  # block 1 held the anchor; nothing since committed
    node.ledger.close()
