"""``salus``: keys, chains, nodes, transactions, audits and offline proof checks."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from typer.core import TyperCommand

from salus.applications import APPLICATIONS
from salus.canonical import JSONError, loads_strict
from salus.cli.common import (
    DEFAULT_NODE,
    BenchJsonOpt,
    DataOpt,
    FieldOpt,
    NodeUrl,
    emit,
    err,
    fail,
    load_key,
)
from salus.cli.members import members_app
from salus.cli.network import ledger_app, network_app
from salus.cli.recovery import recovery_app
from salus.client import SalusClient, SalusError, TransactionRejected
from salus.identity import Identity, KeyFileError
from salus.ledger.audit import audit as run_audit
from salus.ledger.ledger import LedgerError
from salus.ledger.log import ProofError, STHError
from salus.ledger.log.offline import verify_bundle
from salus.ledger.store import Store
from salus.node.bootstrap import InitError, OrgSpec, init_datadir
from salus.node.contracts import registry
from salus.node.datadir import DataDir
from salus.node.rate_limits import Budget, RateLimits
from salus.ordering.solo import DEFAULT_MAX_TXS, DEFAULT_MAX_WAIT_MS

app = typer.Typer(help="Salus: a permissioned ledger for health data.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
keys_app = typer.Typer(help="Signing and encryption keys.", no_args_is_help=True)
verify_app = typer.Typer(help="Check proofs, credentials and presentations offline.",
                        no_args_is_help=True)
proof_app = typer.Typer(help="Fetch proof bundles from a node.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks (print JSON).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(verify_app, name="verify")
app.add_typer(proof_app, name="proof")
app.add_typer(bench_app, name="bench")
app.add_typer(members_app, name="members")
app.add_typer(recovery_app, name="recovery")
app.add_typer(network_app, name="network")
app.add_typer(ledger_app, name="ledger")
# each application's commands (salus.applications): its groups, its offline checks under
# `salus verify`, its benchmarks under `salus bench` (ahead of the ledger's and network's)
for application in APPLICATIONS:
    commands = application.commands()
    for name, group in commands.groups:
        app.add_typer(group, name=name)
    for name, check in commands.verify:
        verify_app.command(name)(check)
    for name, bench in commands.bench:
        bench_app.command(name)(bench)

# -- keys ------------------------------------------------------------------------------
@keys_app.command("new")
def keys_new(out_file: Annotated[Path, typer.Option("--out", "-o", help="Key file to write")],
             field: FieldOpt = None) -> None:
    """Generate an Ed25519 signing key and an X25519 encryption key (file mode 0600)."""
    ident = Identity.generate()
    try:
        ident.save(out_file)
    except KeyFileError as exc:
        fail(str(exc))
    emit({"file": str(out_file), "did": ident.did, "encryption_did": ident.encryption_did},
         field)


@keys_app.command("show")
def keys_show(key_file: Path, field: FieldOpt = None) -> None:
    """Print a key file's public identifiers (never the secrets): ``did`` (the signing key,
    a member's id) and ``encryption_did`` (the X25519 key records are wrapped to)."""
    ident = load_key(key_file)
    emit({"did": ident.did, "encryption_did": ident.encryption_did}, field)


@keys_app.command("rotate")
def keys_rotate(
    key: Annotated[Path, typer.Option("--key", "-k", help="Your current key file")],
    new: Annotated[Path, typer.Option("--new", help="The new key file (salus keys new)")],
    node_url: NodeUrl = DEFAULT_NODE,
) -> None:
    """Make NEW your signing and encryption key: membership.rotate_key (signed with your
    current key), then membership.set_encryption_key (signed with the new one). Your member
    id, records and consent stay yours; keep the old file until this succeeds."""
    current, replacement = load_key(key), load_key(new)
    with SalusClient(node_url, current) as client:
        try:
            emit(client.rotate_key(replacement))
        except SalusError as exc:
            fail(f"{exc.code}: {exc.reason}")


# -- chain and node ----------------------------------------------------------------------
@app.command()
def init(
    data: DataOpt,
    chain_id: Annotated[str, typer.Option("--chain-id", help="Name of the new chain")],
    org: Annotated[list[str], typer.Option("--org", help="id:type:Name, repeatable")],
    field: FieldOpt = None,
) -> None:
    """Found a chain: orderer key, one admin key per organisation, genesis.json."""
    try:
        genesis = init_datadir(data, chain_id, [OrgSpec.parse(o) for o in org])
    except InitError as exc:
        fail(str(exc))
    emit({"data": str(data), "chain_id": genesis.chain_id, "orderer": genesis.orderer,
          "genesis_hash": genesis.hash.hex(),
          "admin_keys": {o["id"]: str(DataDir(data).keys_dir / f"{o['id']}-admin.key")
                         for o in genesis.doc["organisations"]}}, field)


LIMITS = RateLimits()
_LIMITS_HELP = "Rate limits (docs/operations.md): "


@app.command()
def node(
    data: DataOpt,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8700,
    public_url: Annotated[str | None, typer.Option(
        help="This node's address as clients name it, e.g. https://salus.example.org: the "
             "audience their token assertions must name (default: this peer's api in "
             "--network's file, else http://HOST:PORT)")] = None,
    block_txs: Annotated[int, typer.Option(
        help="Cut a block at this many transactions")] = DEFAULT_MAX_TXS,
    block_wait_ms: Annotated[int, typer.Option(
        help="...or this long after the first")] = DEFAULT_MAX_WAIT_MS,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "warning",
    custodian: Annotated[list[str] | None, typer.Option(
        help="Hold this organisation's record vault (repeat); default: every hospital, lab "
             "and pharmacy whose key is in DATA/keys")] = None,
    records: Annotated[bool, typer.Option(help="Run the records gateway and FHIR facade")] = True,
    supply: Annotated[bool, typer.Option(
        help="Run the supply application's capture service (EPCIS capture and queries) for "
             "every manufacturer, distributor, pharmacy and hospital whose key is in "
             "DATA/keys")] = True,
    claims: Annotated[bool, typer.Option(
        help="Run the claims services (PAS Claim/$submit, the review queue, explanations "
             "of benefit) for every insurer, hospital, lab and pharmacy whose key is in "
             "DATA/keys, when an insurer's is")] = True,
    rewards: Annotated[bool, typer.Option(
        help="Run the rewards service (awards for kept appointments and completed surveys) "
             "for every hospital and insurer with a published programme whose key is in "
             "DATA/keys")] = True,
    network: Annotated[Path | None, typer.Option(
        help="network.json: run as a network peer, ordering on its NATS JetStream cluster "
             "(block settings then come from that file)")] = None,
    tx_rate_per_address: Annotated[float, typer.Option(
        help=_LIMITS_HELP + "transactions a second one client address may offer on "
             "average (0: no limit)")] = LIMITS.tx_per_address.per_second,
    tx_burst_per_address: Annotated[int, typer.Option(
        help="...and at once")] = LIMITS.tx_per_address.burst,
    tx_rate_per_signer: Annotated[float, typer.Option(
        help=_LIMITS_HELP + "admitted transactions a second one signer may have ordered "
             "on average (0: no limit)")] = LIMITS.tx_per_signer.per_second,
    tx_burst_per_signer: Annotated[int, typer.Option(
        help="...and at once")] = LIMITS.tx_per_signer.burst,
    auth_failure_rate: Annotated[float, typer.Option(
        help=_LIMITS_HELP + "failed read requests or client assertions a second one client "
             "address may make on average, before it is answered 429 (0: no limit)")
    ] = LIMITS.auth_failures.per_second,
    auth_failure_burst: Annotated[int, typer.Option(
        help="...and at once")] = LIMITS.auth_failures.burst,
    refused_read_rate: Annotated[float, typer.Option(
        help="Refused record reads per second one member may cause at a records gateway, "
             "each an access-log entry (0: no limit)")] = LIMITS.refused_reads.per_second,
    refused_read_burst: Annotated[int, typer.Option(
        help="...and at once")] = LIMITS.refused_reads.burst,
    verify_failure_rate: Annotated[float, typer.Option(
        help=_LIMITS_HELP + "pack verifications that fail (an unknown serial, a label that "
             "does not match) a second one client address may cause on average, before it "
             "is answered 429 (0: no limit)")] = LIMITS.verify_failures.per_second,
    verify_failure_burst: Annotated[int, typer.Option(
        help="...and at once")] = LIMITS.verify_failures.burst,
    responder_gln: Annotated[str | None, typer.Option(
        help="The GLN this node answers pack verifications under (the GS1 Lightweight "
             "Messaging Standard's responderGLN; default: none, said as null)")] = None,
    rate_limit_table_size: Annotated[int, typer.Option(
        help=_LIMITS_HELP + "addresses or signers each limit tracks at most (memory bound)")
    ] = LIMITS.table_size,
    trusted_proxy: Annotated[list[str] | None, typer.Option(
        help="A reverse proxy (IP address or network, repeat) whose X-Forwarded-For names "
             "the client; by default none is believed")] = None,
) -> None:
    """Start a node serving the ledger in DATA."""
    from salus.network.config import NetworkConfigError
    from salus.node.server import NodeConfig, serve

    custodians = () if not records else (tuple(custodian) if custodian else None)
    try:
        limits = RateLimits(auth_failures=Budget(auth_failure_rate, auth_failure_burst),
                            tx_per_address=Budget(tx_rate_per_address, tx_burst_per_address),
                            tx_per_signer=Budget(tx_rate_per_signer, tx_burst_per_signer),
                            refused_reads=Budget(refused_read_rate, refused_read_burst),
                            verify_failures=Budget(verify_failure_rate, verify_failure_burst),
                            table_size=rate_limit_table_size)
        config = NodeConfig(data, host, port, block_txs, block_wait_ms, log_level=log_level,
                            custodians=custodians, supply_orgs=None if supply else (),
                            claims_orgs=None if claims else (),
                            rewards_orgs=None if rewards else (),
                            network=network, rate_limits=limits,
                            trusted_proxies=tuple(trusted_proxy or ()), public_url=public_url,
                            responder_gln=responder_gln)
        err.print(f"salus node: serving {data} on http://{host}:{port} (API docs at /docs, "
                  f"web application at /ui/)")
        serve(config)
    except (LedgerError, KeyFileError, NetworkConfigError, ValueError) as exc:
        fail(str(exc))


@app.command()
def status(node_url: NodeUrl = DEFAULT_NODE, field: FieldOpt = None) -> None:
    """Show a node's chain, head and log."""
    with SalusClient(node_url) as client:
        try:
            emit(client.status(), field)
        except SalusError as exc:
            fail(f"{exc.code}: {exc.reason}")


def _methods_help() -> str:
    """Every method a transaction can call, read from the contracts' own declarations."""
    lines = ["Methods (? marks an optional argument; then who may call it). "
             "`salus contracts CONTRACT.METHOD` prints a method's argument schema."]
    lines += [f"{m.signature()}: {m.who.describe()}" for m in registry().all_methods()]
    return "\n\n".join(lines)


class _TxCommand(TyperCommand):
    """`salus tx`, whose help ends with the list of methods, built when help is asked for
    (building every method's schema costs a tenth of a second)."""

    @property  # type: ignore[override]
    def epilog(self) -> str:
        return _methods_help()

    @epilog.setter
    def epilog(self, _value: str | None) -> None:
        pass


@app.command(cls=_TxCommand)
def tx(
    contract: str,
    method: str,
    key: Annotated[Path, typer.Option("--key", "-k", help="Signer's key file")],
    args: Annotated[str, typer.Option("--args", "-a", help="Arguments as a JSON object")] = "{}",
    node_url: NodeUrl = DEFAULT_NODE,
    wait: Annotated[bool, typer.Option(help="Wait for the block to commit")] = True,
    field: FieldOpt = None,
) -> None:
    """Sign CONTRACT.METHOD(ARGS) with KEY and submit it."""
    try:
        parsed = loads_strict(args)
    except JSONError as exc:
        fail(f"--args: {exc}")
    if not isinstance(parsed, dict):
        fail("--args must be a JSON object")
    with SalusClient(node_url, load_key(key)) as client:
        try:
            receipt = client.submit(client.sign(contract, method, parsed), wait=wait)
        except TransactionRejected as exc:
            emit(exc.receipt.to_json())
            fail(f"{exc.code}: {exc.reason}", 2)
        except SalusError as exc:
            fail(f"{exc.code}: {exc.reason}")
    if receipt.status == "committed" and not receipt.valid:
        emit(receipt.to_json())
        fail(f"{receipt.code}: {receipt.reason}", 2)
    emit(receipt.to_json(), field)


@app.command()
def contracts(
    name: Annotated[str | None, typer.Argument(
        help="CONTRACT or CONTRACT.METHOD; all methods when omitted")] = None,
    rules: Annotated[bool, typer.Option(
        "--rules", help="Print the authority table of docs/security.md (markdown)")] = False,
) -> None:
    """Print contract methods: who may call each, and its arguments' JSON Schema."""
    if rules:
        print(registry().rules_table(), end="")
        return
    methods = registry().all_methods()
    if name is not None:
        methods = [m for m in methods if name in (m.contract, m.full_name)]
        if not methods:
            fail(f"no contract or method {name!r}; `salus contracts` lists them")
    emit({"methods": [m.describe() for m in methods]})


@app.command()
def reads() -> None:
    """Print the read-rule table of docs/security.md (markdown): who may read what."""
    from salus.api.read_rules import read_table

    print(read_table(), end="")


@app.command()
def audit(data: DataOpt) -> None:
    """Re-verify a stored ledger from genesis: signatures, hashes, roots, state."""
    path = DataDir(data).ledger_file
    if not path.exists():
        fail(f"no ledger at {path}")
    store = Store(path)
    try:
        if sys.stderr.isatty():
            with Progress(TextColumn("auditing"), BarColumn(), MofNCompleteColumn(),
                          TextColumn("blocks"), TimeRemainingColumn(), console=err,
                          transient=True) as bar:
                task = bar.add_task("audit", total=None)
                report = run_audit(store, registry(),
                                   lambda done, total: bar.update(task, completed=done, total=total))
        else:  # a log, not a bar: a line at each tenth
            report = run_audit(store, registry(), _audit_progress_lines())
    finally:
        store.close()
    if report.ok:
        emit({"ok": True, "head": report.blocks - 1, "blocks": report.blocks,
              "transactions": report.transactions, "state_hash": report.state_hash})
        return
    emit({"ok": False, "blocks_verified": report.blocks, "transactions": report.transactions,
          "discrepancy": {"height": report.height, "problem": report.problem}})
    fail(f"discrepancy at height {report.height}: {report.problem}", 2)


def _audit_progress_lines() -> Callable[[int, int], None]:
    said = [0]

    def progress(done: int, total: int) -> None:
        tenth = done * 10 // total
        if tenth > said[0] or done == total:
            said[0] = tenth
            err.print(f"audit: {done}/{total} blocks verified", highlight=False)

    return progress


# -- proofs ------------------------------------------------------------------------------
@verify_app.command("proof")
def verify_proof(
    bundle: Annotated[Path, typer.Argument(help="Proof bundle (JSON), '-' for stdin")],
    orderer: Annotated[str, typer.Option(
        help="The did:key that signs tree heads (the orderer, or on a network any peer named in "
             "genesis): the only trust input")],
    chain_id: Annotated[str | None, typer.Option(help="Expected chain id")] = None,
) -> None:
    """Check an inclusion or consistency proof offline against a signed tree head."""
    try:
        text = sys.stdin.read() if str(bundle) == "-" else bundle.read_text()
        result = verify_bundle(json.loads(text), orderer, chain_id)
    except (OSError, ValueError) as exc:
        if isinstance(exc, ProofError | STHError):
            fail(f"proof does NOT verify: {exc}", 2)
        fail(f"cannot read bundle: {exc}")
    emit({"verified": True, **result.__dict__})


@proof_app.command("tx")
def proof_tx(tx_id: str, node_url: NodeUrl = DEFAULT_NODE,
             key: Annotated[Path | None, typer.Option(
                 "--key", "-k", help="The signer's (or an auditor's) key: the bundle then "
                                     "carries the transaction itself, not only its hash")] = None
             ) -> None:
    """Print an inclusion bundle for a transaction (for `salus verify proof`)."""
    with SalusClient(node_url, None if key is None else load_key(key)) as client:
        try:
            doc = client.tx(tx_id)
        except SalusError as exc:
            fail(f"{exc.code}: {exc.reason}")
    leaf = {"tx": doc["tx"]} if "tx" in doc else {"leaf_hash": doc["leaf_hash"]}
    emit({**leaf, "sth": doc["sth"], "inclusion": doc["inclusion"]})


@proof_app.command("consistency")
def proof_consistency(first: Annotated[int, typer.Option(help="Older tree size")],
                      node_url: NodeUrl = DEFAULT_NODE) -> None:
    """Print a consistency bundle from tree size FIRST to the node's current head."""
    with SalusClient(node_url) as client:
        try:
            old, new = client.sth(first), client.sth()
            proof = client.consistency_proof(first, new.tree_size)
        except SalusError as exc:
            fail(f"{exc.code}: {exc.reason}")
    emit({"first": old.to_json(), "second": new.to_json(), "proof": [p.hex() for p in proof]})


# -- demo and benchmarks -------------------------------------------------------------------
@app.command()
def demo(
    data: Annotated[Path, typer.Option("--data", help="Demo data directory")] = Path(".salus-demo"),
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1")] = 8700,
) -> None:
    """Create a demo consortium in DATA (if empty) and serve it on 127.0.0.1."""
    from salus.demo import run_demo

    run_demo(data, port, err)




@bench_app.command("network")
def bench_network(
    orgs: Annotated[int, typer.Option(help="Organisations: one peer and one NATS server each")] = 3,
    txs: Annotated[int, typer.Option(help="Transactions for the throughput run")] = 30_000,
    batch: Annotated[int, typer.Option(help="Transactions per HTTP request")] = 500,
    rate: Annotated[int, typer.Option(help="Offered tx/s for the latency run")] = 5000,
    latency_seconds: Annotated[float, typer.Option(help="Length of the latency run")] = 10.0,
    attestations: Annotated[int, typer.Option(help="Attestations each receipt waits for")] = 2,
    as_json: BenchJsonOpt = False,
) -> None:
    """End to end through a local network: submit -> committed with k-of-n attestations."""
    from salus.bench import network as bench

    print(json.dumps(bench.run(orgs=orgs, txs=txs, batch=batch, rate=rate,
                               latency_seconds=latency_seconds, attestations=attestations,
                               progress=None if as_json else err)))


@bench_app.command("ledger")
def bench_ledger(
    txs: Annotated[int, typer.Option(help="Transactions to commit")] = 50_000,
    signers: Annotated[int, typer.Option(help="Distinct signing members")] = 500,
    batch: Annotated[int, typer.Option(help="Transactions per HTTP request")] = 1000,
    latency_seconds: Annotated[float, typer.Option(help="Length of the 5,000 tx/s run")] = 10.0,
    as_json: BenchJsonOpt = False,
    growth: Annotated[bool, typer.Option(
        "--growth", help="Instead: throughput and proofs as the log grows 10^4 -> 10^6")] = False,
) -> None:
    """Throughput and latency of signed transactions through the REST API."""
    from salus.bench import ledger as bench

    if growth:
        print(json.dumps(bench.growth(batch=batch, progress=None if as_json else err)))
        return
    result = bench.run(txs=txs, signers=signers, batch=batch, latency_seconds=latency_seconds,
                 progress=None if as_json else err)
    print(json.dumps(result))

