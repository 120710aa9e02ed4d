"""``salus demo``: a small consortium with real, signed activity, served on 127.0.0.1.

The first run founds a chain in the data directory and commits the demo's transactions
through the ledger exactly as a node would (signed, verified, executed, logged); later
runs reuse it. Every demo member's key is in ``DATA/keys`` so you can act as them.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from salus.identity import Identity
from salus.ledger import transaction
from salus.ledger.ledger import Ledger
from salus.ledger.signatures import verify_all
from salus.node.bootstrap import OrgSpec, admin_key_path, init_datadir
from salus.node.datadir import DataDir

DEMO_CHAIN = "salus-demo"
DEMO_ORGS = [
    OrgSpec("st-mary", "hospital", "St Mary's Hospital"),
    OrgSpec("city-general", "hospital", "City General Hospital"),
    OrgSpec("northlab", "lab", "North Diagnostics Laboratory"),
    OrgSpec("corner-pharmacy", "pharmacy", "Corner Pharmacy"),
    OrgSpec("state-board", "board", "State Medical Board"),
    OrgSpec("acme-health", "insurer", "Acme Health Insurance"),
    OrgSpec("health-dept", "regulator", "Department of Health"),
]
#: (key name, organisation, roles)
DEMO_MEMBERS = [
    ("dr-alice", "st-mary", ["clinician"]),
    ("dr-bob", "city-general", ["clinician", "emergency_clinician"]),
    ("nurse-carol", "st-mary", ["nurse"]),
    ("tech-dan", "northlab", ["lab_technician"]),
    ("pharm-erin", "corner-pharmacy", ["pharmacist"]),
    ("officer-frank", "acme-health", ["claims_officer"]),
    ("registrar-grace", "state-board", ["registrar", "issuer"]),
    ("auditor-heidi", "health-dept", ["auditor"]),
]
DEMO_PATIENTS = ["patient-ivy", "patient-jack", "patient-kim"]


class _Session:
    """Signs demo transactions and commits them as blocks."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.nonce = 0
        self.pending: list[bytes] = []

    def tx(self, who: Identity, contract: str, method: str, args: dict[str, Any]) -> None:
        self.nonce += 1
        self.pending.append(transaction.encode(
            who, chain=self.ledger.chain_id, contract=contract, method=method, args=args,
            nonce=self.nonce, time=time.time_ns() // 1_000_000))

    def commit(self) -> list[tuple[str, str]]:
        txs = [self.ledger.executor.decode(r) for r in self.pending]
        self.pending = []
        block = self.ledger.commit(time.time_ns() // 1_000_000, txs, verify_all(txs))
        return [(r.code, r.reason) for r in block.results]


def seed(data: Path) -> None:
    """Found the demo chain in ``data`` and commit its activity."""
    init_datadir(data, DEMO_CHAIN, DEMO_ORGS)
    datadir = DataDir(data)
    ledger = datadir.open_ledger()
    try:
        admins = {o.id: Identity.load(admin_key_path(datadir, o.id)) for o in DEMO_ORGS}
        people: dict[str, Identity] = {}
        for name in [m[0] for m in DEMO_MEMBERS] + DEMO_PATIENTS:
            people[name] = Identity.generate()
            people[name].save(datadir.keys_dir / f"{name}.key")
        s = _Session(ledger)
        for name, org, roles in DEMO_MEMBERS:
            s.tx(admins[org], "membership", "enrol", {
                "org": org, "member": people[name].did, "roles": roles,
                "encryption_key": people[name].encryption_did})
        for name in DEMO_PATIENTS:
            s.tx(people[name], "membership", "register_patient",
                 {"encryption_key": people[name].encryption_did})
        s.commit()
        for i, (name, label) in enumerate([("dr-alice", "discharge summary"),
                                           ("tech-dan", "lipid panel report"),
                                           ("pharm-erin", "dispensing record"),
                                           ("dr-bob", "emergency note")]):
            digest = hashlib.sha256(f"demo document {i}".encode()).hexdigest()
            s.tx(people[name], "notary", "anchor", {"hash": digest, "label": label})
        # A refused transaction stays on the ledger with its code: a nurse may not enrol.
        s.tx(people["nurse-carol"], "membership", "enrol", {
            "org": "st-mary", "member": Identity.generate().did, "roles": ["clinician"]})
        s.commit()
        rotated = Identity.generate()
        s.tx(people["dr-alice"], "membership", "rotate_key", {"new_key": rotated.did})
        s.commit()
        rotated.save(datadir.keys_dir / "dr-alice.key", overwrite=True)
    finally:
        ledger.close()


def run_demo(data: Path, port: int, console: Console) -> None:
    from salus.node.server import NodeConfig, serve

    fresh = not DataDir(data).initialised()
    if fresh:
        if data.exists() and any(data.iterdir()):
            raise SystemExit(f"{data} is not empty and holds no Salus chain; choose another --data")
        console.print(f"[bold]Creating the demo consortium in {data}[/] ...")
        seed(data)
    base = f"http://127.0.0.1:{port}"
    genesis = DataDir(data).genesis()
    console.print(
        f"\n[bold green]Salus demo node[/] chain [bold]{genesis.chain_id}[/]"
        f"{' (new)' if fresh else ' (reused)'}\n"
        f"  API docs        {base}/docs\n"
        f"  status          {base}/v1/status\n"
        f"  signed tree head {base}/v1/log/sth\n"
        f"  metrics         {base}/metrics\n"
        f"  keys            {data}/keys/ (organisation admins, clinicians, patients)\n"
        f"  orderer did     {genesis.orderer}\n\n"
        f"Try:  .venv/bin/salus tx notary anchor -k {data}/keys/dr-alice.key "
        f"-a '{{\"hash\": \"{'0' * 64}\"}}' --node {base}\n"
        f"      .venv/bin/salus audit --data {data}\n"
        "Stop with Ctrl-C.\n")
    serve(NodeConfig(data, "127.0.0.1", port))
