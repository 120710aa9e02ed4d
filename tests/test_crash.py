"""kill -9 during a load: every acknowledged transaction survives, and the audit passes."""

from __future__ import annotations

import signal
import threading
import time

from salus.client import SalusClient, SalusError
from salus.identity import Identity
from salus.ledger.audit import audit
from salus.ledger.store import Store
from salus.node.bootstrap import OrgSpec, admin_key_path, init_datadir
from salus.node.contracts import registry
from salus.node.datadir import DataDir
from servers import NodeProcess


def test_sigkill_during_load_loses_nothing_acknowledged(tmp_path) -> None:
    init_datadir(tmp_path, "salus-crash", [OrgSpec("st-mary", "hospital", "St Mary")])
    admin = Identity.load(admin_key_path(DataDir(tmp_path), "st-mary"))
    signers = [Identity.generate() for _ in range(8)]
    acked: set[str] = set()
    errors: list[str] = []
    stop = threading.Event()

    node = NodeProcess(tmp_path).start()
    try:
        with SalusClient(node.url, admin) as c:
            c.submit_many([c.sign("membership", "enrol", {
                "org": "st-mary", "member": s.did, "roles": ["clinician"]}) for s in signers])

        def load(who: Identity, lane: int) -> None:
            with SalusClient(node.url, who, timeout=10) as c:
                n = 0
                while not stop.is_set():
                    raws = [c.sign("notary", "anchor", {"hash": f"{lane:08x}{n + i:056x}"})
                            for i in range(25)]
                    n += 25
                    try:
                        receipts = c.submit_many(raws, wait=True, timeout=10)
                    except SalusError as exc:
                        errors.append(exc.code)
                        return
                    acked.update(r.tx_id for r in receipts if r.status == "committed")

        threads = [threading.Thread(target=load, args=(s, i)) for i, s in enumerate(signers)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while len(acked) < 1500 and time.monotonic() < deadline:
            time.sleep(0.05)
        node.kill(signal.SIGKILL)
        stop.set()
        for t in threads:
            t.join(timeout=30)
    finally:
        node.kill()
    assert len(acked) >= 1500, f"load never got going ({len(acked)} acknowledged, {errors})"
    assert errors, "the clients should have seen the node die"

    with NodeProcess(tmp_path) as again, SalusClient(again.url, signers[0]) as c:
        status = c.status()
        assert status["log_size"] >= len(acked)
        for tx_id in sorted(acked):
            assert c.tx(tx_id)["receipt"]["status"] == "committed"
        # ... and it carries on.
        assert c.call("notary", "anchor", {"hash": "ff" * 32}).valid

    store = Store(DataDir(tmp_path).ledger_file)
    report = audit(store, registry())
    store.close()
    assert report.ok, report
