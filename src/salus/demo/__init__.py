"""``salus demo``: a small consortium with real, signed activity, served on 127.0.0.1.

The first run founds a chain in the data directory (:mod:`salus.demo.consortium`), starts
the node, and then seeds each application's stages through the API, in the order of
:data:`salus.applications.APPLICATIONS`: patients' records, consents and accesses
(:mod:`salus.records.demo`), credentials (:mod:`salus.credentials.demo`), a drug supply
chain (:mod:`salus.supply.demo`), claims and prior authorisations
(:mod:`salus.claims.demo`) and a rewards programme at St Mary's (:mod:`salus.rewards.demo`);
later runs reuse all of it.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from rich.console import Console

from salus.applications import APPLICATIONS, DemoStage
from salus.client import SalusClient, SalusError
from salus.identity import Identity
from salus.node.datadir import DataDir

__all__ = ["run_demo", "seed", "seed_once"]


def __getattr__(name: str) -> Any:
    # The consortium and the records' stage are imported when asked for, not with this
    # package: each stage (salus.<application>.demo) imports salus.demo.marker, and so
    # this package, first; the consortium imports the supply chain's stage.
    if name == "seed":
        from salus.demo.consortium import seed

        return seed
    if name == "seed_once":
        from salus.records.demo import seed_once

        return seed_once
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _stages() -> list[DemoStage]:
    """What is seeded through the API once the node answers: each application's stages,
    in order."""
    return [stage for application in APPLICATIONS for stage in application.demo()]


def _seed_records_when_ready(url: str, data: Path, console: Console) -> None:
    def say(msg: str) -> None:
        console.print(f"[dim]demo:[/] {msg}")

    try:
        with SalusClient(url) as probe:
            probe.wait_ready()
    except SalusError as exc:
        console.print(f"[bold red]the demo was not seeded:[/] {exc}")
        return
    # the line a newcomer looks for: printed once the node answers, not before
    console.print(f"[bold green]node is up:[/] open {url}/ui/ in a browser", highlight=False)
    for stage in _stages():
        try:
            made = stage.seed_once(url, data, say)
        except (SalusError, OSError, RuntimeError, ValueError) as exc:
            console.print(f"[bold red]{stage.name} not seeded:[/] {exc}")
            return
        # said on every start, seeded now or before: the README waits for these lines
        console.print(f"[bold green]{stage.name} ready[/] ({stage.where(data)}"
                      f"{'' if made is not None else '; ' + stage.before})")


def _did(data: Path, name: str) -> str:
    return Identity.load(DataDir(data).keys_dir / f"{name}.key").did


def run_demo(data: Path, port: int, console: Console) -> None:
    from salus.demo.consortium import seed
    from salus.node.server import NodeConfig, serve

    fresh = not DataDir(data).initialised()
    if fresh:
        if data.exists() and any(data.iterdir()):
            raise SystemExit(f"{data} is not empty and holds no Salus chain; choose another --data")
        console.print(f"[bold]Creating the demo consortium in {data}[/] ...")
        seed(data)
    base = f"http://127.0.0.1:{port}"
    genesis = DataDir(data).genesis()
    keys = f"{data}/keys"
    console.print(
        f"\n[bold green]Salus demo node[/] chain [bold]{genesis.chain_id}[/]"
        f"{' (new)' if fresh else ' (reused)'}\n"
        f"  web application  {base}/ui/ (the ledger explorer; more pages to come)\n"
        f"  API docs         {base}/docs\n"
        f"  status           {base}/v1/status\n"
        f"  signed tree head {base}/v1/log/sth\n"
        f"  FHIR facade      {base}/fhir/metadata\n"
        f"  metrics          {base}/metrics\n"
        f"  keys             {keys}/ (organisation admins, clinicians, patients, supply operators)\n"
        f"  orderer did      {genesis.orderer}\n\n"
        "Try:\n"
        f"  .venv/bin/salus records list -k {keys}/patient-ivy.key --node {base}\n"
        f"  .venv/bin/salus consent list -k {keys}/patient-ivy.key --node {base}\n"
        f"  .venv/bin/salus access log -k {keys}/patient-jack.key --node {base}\n"
        f"  .venv/bin/salus tx notary anchor -k {keys}/dr-alice.key "
        f"-a '{{\"hash\": \"{'0' * 64}\"}}' --node {base}\n"
        f"  .venv/bin/salus wallet list --wallet {data}/wallets/dr-alice\n"
        f"  .venv/bin/salus verify credential {data}/wallets/dr-walt/credentials/*.json "
        f"--orderer {genesis.orderer} --node {base}\n"
        f"  .venv/bin/salus education lineage {_did(data, 'dean-ruth')} -k {keys}/dean-ruth.key "
        f"--node {base}\n"
        f"  .venv/bin/salus claims eligibility {data}/claims-demo/eligibility-ivy.json "
        f"-k {keys}/office-uma.key --node {base}\n"
        f"  .venv/bin/salus audit --data {data}\n"
        "Stop with Ctrl-C.\n")
    threading.Thread(target=_seed_records_when_ready, args=(base, data, console),
                     daemon=True, name="demo-records").start()
    serve(NodeConfig(data, "127.0.0.1", port, public_url=base))
