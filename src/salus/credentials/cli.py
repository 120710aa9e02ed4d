"""``salus credentials|wallet`` and ``salus verify credential|presentation|context``."""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from salus.canonical import JSONError, jcs, loads_strict
from salus.cli.common import DEFAULT_NODE, NodeUrl, emit, fail, load_key, out
from salus.client import SalusClient, SalusError
from salus.clock import ms_from_iso
from salus.credentials.context import ContextInvalid, VerificationContext
from salus.credentials.contracts.layout import STATUS_REASONS
from salus.credentials.credentialing import (
    CredentialingError,
    assess,
    check_request,
    request_dossier,
)
from salus.credentials.issuer import CredentialRequest, Issuer
from salus.credentials.presentation import verify_presentation
from salus.credentials.verifier import Verifier
from salus.credentials.wallet import Wallet, WalletError

credentials_app = typer.Typer(help="Issue and revoke credentials (an issuer's registrar).",
                              no_args_is_help=True)
wallet_app = typer.Typer(help="A holder's wallet: keep credentials, present them.",
                         no_args_is_help=True)

KeyOpt = Annotated[Path, typer.Option("--key", "-k", help="The issuer's key file")]
StoreOpt = Annotated[Path, typer.Option("--store", help="The issuer's SQLite register")]
WalletOpt = Annotated[Path, typer.Option("--wallet", envvar="SALUS_WALLET",
                                         help="Wallet directory")]
OrdererOpt = Annotated[str, typer.Option("--orderer", envvar="SALUS_ORDERER",
                                         help="The did:key that signs tree heads (the orderer, or on a "
                                              "network any peer named in genesis): the only key trusted")]
DEFAULT_STORE = Path("issuer.db")
DEFAULT_WALLET = Path.home() / ".salus" / "wallet"


def _read_json(path: Path) -> Any:
    try:
        return loads_strict(path.read_bytes())
    except (OSError, JSONError) as exc:
        fail(f"cannot read {path}: {exc}")


# -- issuing -------------------------------------------------------------------------------
@credentials_app.command("issue")
def issue(requests: Annotated[Path, typer.Argument(help="JSON list of {type, subject, "
                                                        "valid_from?, valid_until?, name?}")],
          key: KeyOpt, out_dir: Annotated[Path, typer.Option("--out", help="Directory to "
                                                             "write one file per credential")],
          store: StoreOpt = DEFAULT_STORE, node_url: NodeUrl = DEFAULT_NODE) -> None:
    """Sign the requested credentials and anchor them on the ledger as one batch."""
    docs = _read_json(requests)
    if not isinstance(docs, list) or not all(isinstance(d, dict) for d in docs):
        fail("the requests file is a JSON list of objects")
    try:
        reqs = [CredentialRequest(d["type"], d["subject"], d.get("valid_from"),
                                  d.get("valid_until"), d.get("name")) for d in docs]
    except KeyError as exc:
        fail(f"every request needs {exc}")
    out_dir.mkdir(parents=True, exist_ok=True)
    with SalusClient(node_url, load_key(key)) as client, Issuer(client, store) as issuer:
        try:
            issued = issuer.issue(reqs)
        except SalusError as exc:
            fail(f"{exc.code}: {exc.reason}")
    files = []
    for cred in issued:
        path = out_dir / f"{cred['id'].removeprefix('urn:uuid:')}.json"
        path.write_text(json.dumps(cred, indent=1, ensure_ascii=False))
        files.append({"id": cred["id"], "type": cred["type"][1], "file": str(path)})
    emit({"batch_root": issued[0]["proof"][1]["batchRoot"], "issued": files})


def _status(credential_id: str, purpose: str, value: bool, reason: str, key: Path,
            store: Path, node_url: str) -> None:
    with SalusClient(node_url, load_key(key)) as client, Issuer(client, store) as issuer:
        try:
            emit(issuer.set_status(credential_id, purpose, value, str(reason)))
        except SalusError as exc:
            fail(f"{exc.code}: {exc.reason}")


StatusReason = StrEnum("StatusReason", {r: r for r in sorted(STATUS_REASONS)})
ReasonOpt = Annotated[StatusReason, typer.Option(
    help="Why, as a code (kept on the ledger with the change: never a story)")]


@credentials_app.command("revoke")
def revoke(credential_id: str, reason: ReasonOpt, key: KeyOpt, store: StoreOpt = DEFAULT_STORE,
           node_url: NodeUrl = DEFAULT_NODE) -> None:
    """Revoke a credential (final)."""
    _status(credential_id, "revocation", True, reason, key, store, node_url)


@credentials_app.command("suspend")
def suspend(credential_id: str, reason: ReasonOpt, key: KeyOpt, store: StoreOpt = DEFAULT_STORE,
            node_url: NodeUrl = DEFAULT_NODE) -> None:
    """Suspend a credential (until reinstated)."""
    _status(credential_id, "suspension", True, reason, key, store, node_url)


@credentials_app.command("reinstate")
def reinstate(credential_id: str, reason: ReasonOpt, key: KeyOpt,
              store: StoreOpt = DEFAULT_STORE, node_url: NodeUrl = DEFAULT_NODE) -> None:
    """Lift a credential's suspension."""
    _status(credential_id, "suspension", False, reason, key, store, node_url)


@credentials_app.command("list")
def list_issued(key: KeyOpt, store: StoreOpt = DEFAULT_STORE,
                subject: Annotated[str | None, typer.Option(help="Only this holder's")] = None,
                node_url: NodeUrl = DEFAULT_NODE) -> None:
    """The credentials this issuer issued."""
    with SalusClient(node_url, load_key(key)) as client, Issuer(client, store) as issuer:
        emit([{"id": c["id"], "type": c["type"][1], "subject": c["credentialSubject"]["id"],
               "validFrom": c["validFrom"]} for c in issuer.issued(subject)])


# -- the wallet ----------------------------------------------------------------------------
def _wallet(path: Path) -> Wallet:
    try:
        return Wallet.open(path)
    except WalletError as exc:
        fail(str(exc))


@wallet_app.command("init")
def wallet_init(wallet: WalletOpt = DEFAULT_WALLET,
                key: Annotated[Path | None, typer.Option(help="Use this existing key file")]
                = None) -> None:
    """Create a wallet (with a new holder key unless --key is given)."""
    try:
        w = Wallet.create(wallet, load_key(key) if key else None)
    except WalletError as exc:
        fail(str(exc))
    emit({"wallet": str(wallet), "holder": w.did})


@wallet_app.command("add")
def wallet_add(files: Annotated[list[Path], typer.Argument(help="Credential files")],
               wallet: WalletOpt = DEFAULT_WALLET) -> None:
    """Keep credentials issued to this wallet's holder."""
    w = _wallet(wallet)
    try:
        emit({"added": [w.add_file(f) for f in files]})
    except WalletError as exc:
        fail(str(exc))


@wallet_app.command("list")
def wallet_list(wallet: WalletOpt = DEFAULT_WALLET) -> None:
    """The credentials in the wallet."""
    w = _wallet(wallet)
    emit({"holder": w.did, "credentials": w.summary()})


@wallet_app.command("show")
def wallet_show(credential_id: str, wallet: WalletOpt = DEFAULT_WALLET) -> None:
    """One credential, in full."""
    try:
        emit(_wallet(wallet).get(credential_id))
    except WalletError as exc:
        fail(str(exc))


@wallet_app.command("present")
def wallet_present(
        challenge: Annotated[str, typer.Option(help="The verifier's challenge (a nonce)")],
        domain: Annotated[str, typer.Option(help="The verifier's domain")],
        out_file: Annotated[Path, typer.Option("--out", "-o", help="Presentation file")],
        credential: Annotated[list[str] | None, typer.Option(
            "--id", help="Share this credential (repeatable)")] = None,
        kind: Annotated[list[str] | None, typer.Option(
            "--type", help="Share every credential of this type (repeatable)")] = None,
        wallet: WalletOpt = DEFAULT_WALLET) -> None:
    """Sign a presentation of the chosen credentials for one verifier."""
    try:
        vp = _wallet(wallet).present(challenge=challenge, domain=domain, ids=credential or (),
                                     types=kind or ())
    except WalletError as exc:
        fail(str(exc))
    out_file.write_text(json.dumps(vp, indent=1, ensure_ascii=False))
    emit({"presentation": str(out_file), "credentials": [
        c["id"] for c in vp["verifiableCredential"]]})


# -- verifying -----------------------------------------------------------------------------
def _context(context: Path | None, node_url: str | None, orderer: str) -> VerificationContext:
    try:
        if context is not None:
            return VerificationContext.load(_read_json(context), orderer)
        with SalusClient(node_url or DEFAULT_NODE) as client:
            return VerificationContext.load(client.credentials_context(), orderer)
    except ContextInvalid as exc:
        fail(f"the verification context is not trusted: {exc}", 2)
    except SalusError as exc:
        fail(f"cannot fetch the verification context: {exc.code}: {exc.reason} (or pass "
             f"--context FILE, saved with `salus verify context`)")


def _at(at: str | None) -> int | None:
    if at is None:
        return None
    try:
        return ms_from_iso(at)
    except ValueError:
        fail("--at is an ISO 8601 date-time with its offset, e.g. 2026-11-21T09:00:00Z")


def _print_steps(title: str, steps: list[dict[str, Any]]) -> None:
    table = Table(title=title)
    table.add_column("step")
    table.add_column("result")
    table.add_column("reason", overflow="fold")
    for s in steps:
        mark = {True: "[green]pass[/]", False: "[bold red]FAIL[/]",
                None: "[yellow]not checked[/]"}[s["ok"]]
        table.add_row(s["step"], mark, s["reason"])
    out.print(table)


def _show(report: dict[str, Any], as_json: bool, report_file: Path | None) -> None:
    if report_file is not None:
        report_file.write_text(json.dumps(report, indent=1, ensure_ascii=False))
    if as_json:
        emit(report)
    else:
        for cred in report.get("credentials", [report]):
            _print_steps(f"{cred.get('type') or 'credential'} {cred.get('id') or ''}",
                         cred["steps"])
        for problem in report.get("problems", []):
            out.print(f"[bold red]problem:[/] {problem}")
        out.print("[bold green]VERIFIED[/]" if report["ok"] else "[bold red]NOT VERIFIED[/]")
    if not report["ok"]:
        raise typer.Exit(2)


ContextOpt = Annotated[Path | None, typer.Option(help="A saved verification context (offline)")]
AtOpt = Annotated[str | None, typer.Option(help="Verify as of this date-time (default now)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the report as JSON")]
ReportOpt = Annotated[Path | None, typer.Option("--report", help="Also save the report here")]
ContextNodeOpt = Annotated[str | None, typer.Option("--node", envvar="SALUS_NODE",
                                                    help="Fetch the context from this node")]


def verify_credential(
        files: Annotated[list[Path], typer.Argument(help="Credential file(s); several = a "
                                                         "dossier, one report")],
        orderer: OrdererOpt, context: ContextOpt = None,
        node_url: ContextNodeOpt = None, at: AtOpt = None, as_json: JsonOpt = False,
        report: ReportOpt = None) -> None:
    """Verify credentials offline, every step reported.

    The steps: format, signature, issuer key, issuer authority, Merkle path, anchor, log
    inclusion, status, validity. Exit code 2 if any fails."""
    verifier = Verifier(_context(context, node_url, orderer))
    when = _at(at)
    if len(files) == 1:
        try:
            raw = files[0].read_bytes()
        except OSError as exc:
            fail(f"cannot read {files[0]}: {exc}")
        doc = verifier.verify_bytes(raw, when).to_json()
    else:
        doc = verifier.verify_dossier([_read_json(f) for f in files], at_ms=when).to_json()
    _show(doc, as_json, report)


def verify_presentation_cmd(
        file: Annotated[Path, typer.Argument(help="Presentation file")],
        challenge: Annotated[str, typer.Option(help="The challenge you gave the holder")],
        domain: Annotated[str, typer.Option(help="Your domain, as you gave it")],
        orderer: OrdererOpt, context: ContextOpt = None,
        node_url: ContextNodeOpt = None, at: AtOpt = None, as_json: JsonOpt = False,
        report: ReportOpt = None) -> None:
    """Verify a holder's presentation (challenge, domain, holder) and every credential."""
    verifier = Verifier(_context(context, node_url, orderer))
    result = verify_presentation(_read_json(file), challenge=challenge, domain=domain,
                                 verifier=verifier, at_ms=_at(at)).to_json()
    if not as_json:
        _print_steps("presentation", result["steps"])
    dossier = result["dossier"] or {"ok": False, "credentials": [], "problems": []}
    if report is not None:
        report.write_text(json.dumps(result, indent=1, ensure_ascii=False))
    if as_json:
        emit(result)
    else:
        _show({**dossier, "ok": result["ok"]}, False, None)
    if not result["ok"]:
        raise typer.Exit(2)


def verify_context(orderer: OrdererOpt,
                   out_file: Annotated[Path, typer.Option("--out", "-o", help="Where to save")],
                   node_url: NodeUrl = DEFAULT_NODE) -> None:
    """Fetch and check the verification context, and save it for offline use.

    Refresh it as you would a certificate revocation list."""
    ctx = _context(None, node_url, orderer)
    out_file.write_text(json.dumps(ctx.doc, ensure_ascii=False))
    emit({"context": str(out_file), "chain_id": ctx.chain_id, "height": ctx.height,
          "anchors": len(ctx.anchors), "status_lists": len(ctx.doc["statusLists"])})


# -- the competency ledger's views -------------------------------------------------------
education_app = typer.Typer(help="The competency ledger: progress, lineage, CME, modules. "
                                 "(Record with `salus tx education assess|teach|record_cme|"
                                 "record_module ...`.)", no_args_is_help=True)
MemberKeyOpt = Annotated[Path, typer.Option("--key", "-k", help="Your (member's) key file")]


def _read(key: Path, node_url: str, action: Any) -> None:
    with SalusClient(node_url, load_key(key)) as client:
        try:
            emit(action(client))
        except SalusError as exc:
            fail(f"{exc.code}: {exc.reason}")


@education_app.command("progress")
def education_progress(learner: str, key: MemberKeyOpt, node_url: NodeUrl = DEFAULT_NODE
                       ) -> None:
    """A learner's EPA and milestone levels, per competency, with history."""
    _read(key, node_url, lambda c: c.education_progress(learner))


@education_app.command("lineage")
def education_lineage(educator: str, key: MemberKeyOpt,
                      depth: Annotated[int, typer.Option(help="Generations")] = 3,
                      node_url: NodeUrl = DEFAULT_NODE) -> None:
    """An educator's learners, their learners' learners ..., counted per generation."""
    _read(key, node_url, lambda c: c.education_lineage(educator, depth))


@education_app.command("cme")
def education_cme(professional: str, key: MemberKeyOpt,
                  requirement: Annotated[str, typer.Option(help="<board>/<requirement id>")],
                  as_of: Annotated[str | None, typer.Option(help="Period end, YYYY-MM-DD")]
                  = None, node_url: NodeUrl = DEFAULT_NODE) -> None:
    """CME hours in the requirement's period against what it requires."""
    _read(key, node_url, lambda c: c.cme_status(professional, requirement, as_of))


@education_app.command("module")
def education_module(module: str, key: MemberKeyOpt, node_url: NodeUrl = DEFAULT_NODE) -> None:
    """A learning module's completions and pre/post scores."""
    _read(key, node_url, lambda c: c.module_stats(module))


# -- the credentialing flow ----------------------------------------------------------------
credentialing_app = typer.Typer(help="A credentialing office: request a dossier, verify the "
                                     "answer, keep a signed report.", no_args_is_help=True)
OfficeKeyOpt = Annotated[Path, typer.Option("--key", "-k", help="The office's key file")]


@credentialing_app.command("request")
def credentialing_request(
        domain: Annotated[str, typer.Option(help="Your domain (presentations are bound to it)")],
        kind: Annotated[list[str], typer.Option("--type", help="A credential type to ask for "
                                                               "(repeatable)")],
        key: OfficeKeyOpt,
        out_file: Annotated[Path, typer.Option("--out", "-o", help="Request file to send")]
) -> None:
    """Ask a physician for a dossier: a request with a fresh challenge."""
    try:
        req = request_dossier(load_key(key), domain, kind)
    except CredentialingError as exc:
        fail(str(exc))
    out_file.write_text(json.dumps(req, indent=1))
    emit({"request": str(out_file), "id": req["id"], "types": req["types"]})


@credentialing_app.command("verify")
def credentialing_verify(
        presentation: Annotated[Path, typer.Argument(help="The physician's presentation")],
        request: Annotated[Path, typer.Option(help="The request it answers")],
        key: OfficeKeyOpt, orderer: OrdererOpt,
        out_file: Annotated[Path, typer.Option("--out", "-o", help="Signed report to keep")],
        context: ContextOpt = None,
        node_url: Annotated[str | None, typer.Option("--node", envvar="SALUS_NODE",
                                                     help="Node for the context / anchoring")]
        = None,
        anchor: Annotated[bool, typer.Option(help="Date the report: anchor its hash on the "
                                                  "ledger (notary)")] = False) -> None:
    """Verify a dossier in one step; write the office-signed report. Exit 2 if incomplete."""
    office = load_key(key)
    verifier = Verifier(_context(context, node_url, orderer))
    try:
        report = assess(check_request(_read_json(request)), _read_json(presentation), verifier,
                        office)
    except CredentialingError as exc:
        fail(str(exc))
    out_file.write_text(json.dumps(report, indent=1, ensure_ascii=False))
    summary: dict[str, Any] = {"report": str(out_file), "complete": report["complete"],
                               "missing_types": report["missing_types"],
                               "failed_step": report["presentation"]["failed_step"]}
    if anchor:
        digest = hashlib.sha256(jcs(report)).hexdigest()
        with SalusClient(node_url or DEFAULT_NODE, office) as client:
            try:
                receipt = client.call("notary", "anchor", {"hash": digest,
                                                           "label": "credentialing-report"})
            except SalusError as exc:
                fail(f"the report was written but not anchored: {exc.code}: {exc.reason}")
        summary["anchored"] = {"hash": digest, "tx": receipt.tx_id, "height": receipt.height}
    emit(summary)
    if not report["complete"]:
        raise typer.Exit(2)


@wallet_app.command("respond")
def wallet_respond(request: Annotated[Path, typer.Argument(help="An office's dossier request")],
                   out_file: Annotated[Path, typer.Option("--out", "-o",
                                                          help="Presentation file")],
                   wallet: WalletOpt = DEFAULT_WALLET) -> None:
    """Answer a dossier request: present the requested types, for that office only."""
    try:
        vp = _wallet(wallet).respond(_read_json(request))
    except (WalletError, CredentialingError) as exc:
        fail(str(exc))
    out_file.write_text(json.dumps(vp, indent=1, ensure_ascii=False))
    emit({"presentation": str(out_file), "credentials": [
        c["id"] for c in vp["verifiableCredential"]]})
