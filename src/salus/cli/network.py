"""``salus network`` (a local multi-organisation network) and ``salus ledger`` (block
exports for bootstrapping a peer)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from salus.cli.common import DataOpt, emit, err, fail, out

network_app = typer.Typer(help="A multi-organisation network on this machine (NATS + peers).",
                          no_args_is_help=True)
ledger_app = typer.Typer(help="Export a peer's blocks; bootstrap a peer from an export.",
                         no_args_is_help=True)

NetDir = Annotated[Path, typer.Option("--dir", help="The network's directory")]
DEFAULT_DIR = Path(".salus-network")


@network_app.command("up")
def network_up(
    directory: NetDir = DEFAULT_DIR,
    orgs: Annotated[int, typer.Option(help="Organisations (one peer and one NATS server each)")] = 3,
    quorum: Annotated[int | None, typer.Option(
        help="Matching attestations a k-of-n receipt needs (default 2, or 1 for one org)")] = None,
    block_txs: Annotated[int, typer.Option(help="Cut a block at this many transactions")] = 2000,
    block_wait_ms: Annotated[int, typer.Option(help="...or this long after it opened")] = 50,
    api_port: Annotated[int | None, typer.Option(
        help="Peers' API ports from this one up, one per organisation (default: free ports)")
    ] = None,
    nats_port: Annotated[int | None, typer.Option(
        help="NATS ports from this one up, three per server: clients, cluster routes, "
             "monitoring (default: free ports)")] = None,
) -> None:
    """Create (first time) and start the network in DIR; print each peer's API address.
    Ports are chosen when the network is created, each checked free, and kept in
    DIR/local.json; `up` refuses to start while another process holds one of them."""
    from salus.network.local import LocalNetwork, NetworkError
    from salus.network.nats_server import NatsServerError

    try:
        if (directory / "local.json").exists():
            net = LocalNetwork(directory)
            if len(net.peers) != orgs or api_port is not None or nats_port is not None:
                err.print(f"{directory} holds a network of {len(net.peers)} organisations, "
                          "its ports chosen when it was made; starting it as it is")
        else:
            net = LocalNetwork.create(directory, orgs, quorum=quorum, max_txs=block_txs,
                                      max_wait_ms=block_wait_ms, api_port=api_port,
                                      nats_port=nats_port)
        taken = net.taken_ports()
        if taken:
            fail(f"cannot start the network in {directory}: {'; '.join(taken)} "
                 "taken by another process (see `ss -ltnp`)")
        err.print(f"starting {len(net.nats)} NATS servers and {len(net.peers)} peers ...")
        net.up()
    except (NetworkError, NatsServerError, ValueError) as exc:
        fail(str(exc))
    table = Table(title=f"network {net.config.chain_id} is up")
    for column in ("organisation", "API", "data directory"):
        table.add_column(column)
    for peer in net.peers:
        table.add_row(peer.org, peer.url, str(peer.data))
    out.print(table)
    out.print(f"NATS: {', '.join(s.url for s in net.nats)}\n"
              f"configuration: {net.network_file}\n"
              f"`salus network status --dir {directory}` to watch it, "
              f"`salus network down --dir {directory}` to stop it")


@network_app.command("status")
def network_status(
    directory: NetDir = DEFAULT_DIR,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Heights, state hashes, attestation agreement and stream health of every peer.
    Exits 1 if a peer has diverged or peers disagree."""
    from salus.network.local import LocalNetwork, NetworkError

    try:
        status = LocalNetwork(directory).status()
    except NetworkError as exc:
        fail(str(exc))
    if as_json:
        emit(status)
    else:
        _print_status(status)
    if not status["agree"]:
        raise typer.Exit(1)


def _print_status(status: dict[str, Any]) -> None:
    """Three tables that fit 80 columns: the peers' ledgers, where they serve and their
    stream, the NATS servers."""
    ledgers = Table(title=f"peers of {status['chain_id']} (quorum {status['quorum']})")
    for column in ("organisation", "height", "state hash", "agree", "state"):
        ledgers.add_column(column, overflow="fold")
    serving = Table(title="where they serve")
    for column in ("organisation", "API", "stream"):
        serving.add_column(column, overflow="fold")
    for p in status["peers"]:
        if "height" not in p:
            state = "not running" if not p["running"] else p.get("error", "?")
            ledgers.add_row(p["org"], "-", "-", "-", f"[red]{escape(state)}[/]")
            serving.add_row(p["org"], p["api"], "-")
            continue
        ledgers.add_row(p["org"], str(p["height"]), p["state_hash"][:12],
                        _agreement(p), _peer_state(p))
        serving.add_row(p["org"], p["api"], escape(_stream_health(p.get("stream") or {})))
    nats = Table(title="NATS servers")
    for column in ("server", "URL", "state"):
        nats.add_column(column)
    for n in status["nats"]:
        state = "stopped" if not n["running"] else ("healthy" if n.get("healthy") else "unhealthy")
        nats.add_row(n["name"], n["url"], state)
    for table in (ledgers, serving, nats):
        out.print(table, soft_wrap=False)
    out.print("[green]all peers agree[/]" if status["agree"] else "[red]peers disagree or are down[/]")


def _agreement(peer: dict[str, Any]) -> str:
    """How many other peers' attestations match this peer's blocks, of how many."""
    others = [o for o in peer["peers"] if not o["self"]]
    return f"{sum(o['agrees'] is True for o in others)}/{len(others)}"


def _peer_state(peer: dict[str, Any]) -> str:
    alarm = peer["diverged"] or peer["halted"] or (
        f"{len(peer['disagreements'])} disagreement(s)" if peer["disagreements"] else "")
    if alarm:
        return f"[red]{escape(str(alarm))}[/]"
    return "ok" if peer.get("caught_up", True) else "catching up"


def _stream_health(stream: dict[str, Any]) -> str:
    if stream.get("error"):
        return str(stream["error"])
    skipped = stream.get("ignored_messages")
    return (f"{stream.get('messages', '?')} msgs, leader {stream.get('leader', '-')}"
            + (f", {skipped} unsigned or forged skipped" if skipped else ""))


@network_app.command("down")
def network_down(directory: NetDir = DEFAULT_DIR) -> None:
    """Stop every peer and NATS server of the network in DIR (data is kept)."""
    from salus.network.local import LocalNetwork, NetworkError

    try:
        LocalNetwork(directory).down()
    except NetworkError as exc:
        fail(str(exc))
    err.print(f"network in {directory} stopped; nothing of it is running")


@ledger_app.command("export")
def ledger_export(
    data: DataOpt,
    out_file: Annotated[Path, typer.Option("--out", "-o", help="File to write (JSON lines)")],
    to_height: Annotated[int | None, typer.Option(help="Stop at this height (default: head)")] = None,
) -> None:
    """Export the blocks of the ledger in DATA (safe while its node runs)."""
    from salus.ledger.export import ExportError, export_lines
    from salus.ledger.store import Store
    from salus.node.datadir import DataDir

    path = DataDir(data).ledger_file
    if not path.exists():
        fail(f"no ledger at {path}")
    store = Store(path)
    try:
        with out_file.open("wb") as f:
            for line in export_lines(store, to_height):
                f.write(line)
    except ExportError as exc:
        fail(str(exc))
    finally:
        store.close()
    err.print(f"exported to {out_file}")


@ledger_app.command("import")
def ledger_import(
    data: DataOpt,
    source: Annotated[str, typer.Argument(help="Export file, or a peer's URL to fetch it from")],
) -> None:
    """Bootstrap the ledger in DATA from another peer's export, verifying all of it."""
    from salus.client import SalusClient, SalusError
    from salus.identity import Identity, KeyFileError
    from salus.ledger.export import ExportError, import_blocks
    from salus.ledger.ledger import LedgerError
    from salus.node.contracts import registry
    from salus.node.datadir import DataDir

    datadir = DataDir(data)
    try:
        genesis = datadir.genesis()
        key = Identity.load(datadir.key_file)
    except (LedgerError, KeyFileError) as exc:
        fail(str(exc))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(source)
        if source.startswith(("http://", "https://")):
            path = Path(tmp) / "export.jsonl"
            try:
                # Transactions' bytes are for peer operators (salus.api.read_rules): this
                # peer's own key, the one genesis names, is its credential.
                with SalusClient(source, key) as client:
                    token = client.token()
                with httpx.stream("GET", f"{source.rstrip('/')}/v1/ledger/export",
                                  headers={"Authorization": f"Bearer {token}"},
                                  timeout=600) as r:
                    if r.status_code != 200:
                        fail(f"{source} answered {r.status_code}: {r.read().decode()[:300]}")
                    with path.open("wb") as f:
                        for chunk in r.iter_bytes():
                            f.write(chunk)
            except SalusError as exc:
                fail(f"{source} refused this peer's key: {exc.code}: {exc.reason}")
            except httpx.HTTPError as exc:
                fail(f"cannot fetch the export from {source}: {exc}")
        if not path.exists():
            fail(f"no export at {path}")
        with path.open("rb") as lines, Progress(console=err, transient=True) as bar:
            task = bar.add_task("verifying and rebuilding", total=None)
            try:
                height = import_blocks(lines, datadir.ledger_file, genesis, registry(), key,
                                       lambda done, total: bar.update(task, completed=done,
                                                                      total=total))
            except (ExportError, LedgerError) as exc:
                fail(f"export refused, nothing written: {exc}")
    err.print(f"ledger rebuilt and verified up to height {height}; start the peer with "
              f"`salus node --data {data} --network network.json`")
