"""``salus supply``: the drug supply chain on GS1 EPCIS 2.0 (issue 16)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from salus.cli.common import DEFAULT_NODE, FieldOpt, NodeUrl, emit, fail, load_key, run_as
from salus.client import SalusClient, SalusError
from salus.supply import cli_notices as supply_notices
from salus.supply.cli_footprint import footprint_app
from salus.supply.document import DocumentInvalid, read_document
from salus.supply.event_hash import EventHashError, document_hashes
from salus.supply.identifiers import CheckDigitError, IdentifierError, Kind, parse

supply_app = typer.Typer(help="Drug supply chain: GS1 EPCIS 2.0 events, packs and recalls.",
                         no_args_is_help=True)


def _refuse(reasons: list[str]) -> None:
    # plain text, never rich markup: a reason quotes the document ("[0]", "[bold]", …)
    typer.echo("error: the document is refused:", err=True)
    for reason in reasons:
        typer.echo(f"  {reason}", err=True)
    raise typer.Exit(1)


@supply_app.command("hash")
def hash_events(file: Annotated[Path, typer.Argument(help="An EPCIS 2.0 JSON-LD document")]) -> None:
    """Print the CBV 2.0 canonical hash (CBV 2.0 §8.9) of each event of FILE, in document
    order, one per line; exit 1 with every reason when the document is invalid."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        _refuse([f"cannot read {file}: {exc.strerror or exc}"])
    try:
        hashes = document_hashes(read_document(data))
    except DocumentInvalid as exc:
        _refuse([str(p) for p in exc.problems])
    except EventHashError as exc:
        _refuse([str(exc)])
    for value in hashes:
        typer.echo(value)


KeyOpt = Annotated[Path, typer.Option("--key", "-k", help="Your key file (a supply operator)")]


@supply_app.command("capture")
def capture(file: Annotated[Path, typer.Argument(help="An EPCIS 2.0 JSON-LD document")],
            key: KeyOpt, node_url: NodeUrl = DEFAULT_NODE, field: FieldOpt = None) -> None:
    """Capture FILE for your organisation (POST /epcis/capture): all its events or none.
    Prints the capture job; exits 1 with every reason if the document is refused, and 2 if
    the ledger refused it (the job's errors say why)."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        _refuse([f"cannot read {file}: {exc.strerror or exc}"])
    with SalusClient(node_url, load_key(key)) as client:
        try:
            job = client.capture(data)
        except SalusError as exc:
            _refuse([f"{exc.code}: {exc.reason}", *exc.problems])
    emit(job, field)
    if not job["success"]:
        raise typer.Exit(2)


@supply_app.command("job")
def job(capture_id: Annotated[str, typer.Argument(help="A capture job's id")], key: KeyOpt,
        org: Annotated[str | None, typer.Option(help="The organisation (a regulator's "
                                                     "choice; default yours)")] = None,
        node_url: NodeUrl = DEFAULT_NODE, field: FieldOpt = None) -> None:
    """One capture job (GET /epcis/capture/{id})."""
    run_as(node_url, key, lambda c: c.capture_job(capture_id, org), field)


@supply_app.command("events")
def events(key: KeyOpt,
           org: Annotated[str | None, typer.Option(help="Whose events (a regulator's choice; "
                                                        "default yours)")] = None,
           biz_step: Annotated[list[str] | None, typer.Option(
               "--biz-step", help="Only this CBV business step (repeatable)")] = None,
           event_type: Annotated[list[str] | None, typer.Option(
               "--type", help="Only this event type (repeatable)")] = None,
           since: Annotated[str | None, typer.Option(help="Event time from (RFC 3339)")] = None,
           until: Annotated[str | None, typer.Option(help="Event time before (RFC 3339)")] = None,
           per_page: Annotated[int, typer.Option(min=1, max=1000)] = 100,
           node_url: NodeUrl = DEFAULT_NODE, field: FieldOpt = None) -> None:
    """Your organisation's captured events, as an EPCISQueryDocument (GET /epcis/events)."""
    run_as(node_url, key, lambda c: c.epcis_events(org=org, event_types=event_type,
                                                biz_steps=biz_step, since=since, until=until,
                                                per_page=per_page), field)


@supply_app.command("trace")
def trace(item: Annotated[str, typer.Argument(help="A pack or case: DataMatrix element "
                                                   "string, GS1 Digital Link or EPC URN")],
          key: KeyOpt, node_url: NodeUrl = DEFAULT_NODE, field: FieldOpt = None) -> None:
    """A pack's or case's chain of custody: its ledger state, containers and contents, and
    every event you may read, each checked against the ledger (GET /v1/supply/trace)."""
    run_as(node_url, key, lambda c: c.trace(item), field)
# recalls and suspect product, footprints (their own modules; registered here)
supply_notices.register(supply_app)
supply_app.add_typer(footprint_app, name="footprint")
# -- verification at the counter ----------------------------------------------------------------
ContextOpt = Annotated[str, typer.Option(
    help="dispense (at the counter: anyone) or dscsaSaleableReturn (a trading partner's "
         "supply operator or pharmacist: needs --key)")]
ReturnerOpt = Annotated[str | None, typer.Option(
    help="dscsaSaleableReturn: the organisation returning the pack (default: yours)")]
OptionalKeyOpt = Annotated[Path | None, typer.Option("--key", "-k", help="Your key file (for a "
                                             "saleable return: its token)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the node's whole answer as JSON")]
CorrOpt = Annotated[str | None, typer.Option("--corr-uuid", help="A UUID the answer echoes")]
GlnOpt = Annotated[str | None, typer.Option("--req-gln", help="Your GLN (LMS reqGLN)")]
#: Exit status when the node answered and the pack did not verify.
NOT_VERIFIED = 3


def _show(answer: dict[str, Any], as_json: bool) -> None:
    """The answer, in words or as JSON; exit NOT_VERIFIED unless the pack verified."""
    data = answer["data"]
    if as_json:
        typer.echo(json.dumps(answer, indent=2))
    else:
        if "identity" in answer:
            found = answer["identity"]
            typer.echo(f"pack: GTIN {found['gtin']} serial {found['serial']}"
                       + (f" lot {found['lot']}" if found["lot"] is not None else "")
                       + (f" expiry {found['expiry']}" if found["expiry"] is not None else ""))
        verdict = "verified" if data["verified"] else \
            f"NOT verified: {data.get('verificationFailureReason', 'No_reason_provided')}"
        typer.echo(verdict)
        for info in data.get("additionalInfoAll", []):
            typer.echo(f"  {info}")
    if not data["verified"]:
        raise typer.Exit(NOT_VERIFIED)


def _ask(node_url: str, key: Path | None, action: Callable[[SalusClient], dict[str, Any]]
         ) -> dict[str, Any]:
    with SalusClient(node_url, None if key is None else load_key(key)) as client:
        try:
            return action(client)
        except SalusError as exc:
            fail(f"{exc.code}: {exc.reason}")


def _label(identifier: str | None, gtin: str | None, lot: str | None, serial: str | None,
           exp: str | None) -> tuple[str, str, str, str]:
    """GTIN, lot, serial and YYMMDD expiry: from the options, any missing one from
    ``identifier`` (an element string, DataMatrix data, Digital Link or EPC URN)."""
    if identifier is not None:
        try:
            found = parse(identifier)
        except IdentifierError as exc:
            code = "BAD_CHECK_DIGIT" if isinstance(exc, CheckDigitError) else "BAD_IDENTIFIER"
            fail(f"{code}: {exc}")
        if found.kind is not Kind.SGTIN:
            fail(f"NOT_A_PACK: {identifier!r} names a {found.kind.value}, not one pack")
        gtin, serial = gtin or found.gtin, serial or found.serial
        lot = lot or found.lot
        exp = exp or (None if found.expiry is None else found.expiry.strftime("%y%m%d"))
    missing = [n for n, v in (("--gtin", gtin), ("--lot", lot), ("--serial", serial),
                              ("--exp", exp)) if v is None]
    if missing:
        fail(f"a verification request names the GTIN, lot, serial and expiry; missing: "
             f"{', '.join(missing)} (`salus supply scan` verifies whatever a label holds)")
    return gtin, lot, serial, exp  # type: ignore[return-value]


@supply_app.command("verify")
def verify(
    identifier: Annotated[str | None, typer.Argument(
        help="The pack: a GS1 element string, DataMatrix data, Digital Link or EPC URN "
             "(or give --gtin, --lot, --serial, --exp)")] = None,
    gtin: Annotated[str | None, typer.Option(help="GTIN (8-14 digits)")] = None,
    lot: Annotated[str | None, typer.Option(help="Lot or batch (AI 10)")] = None,
    serial: Annotated[str | None, typer.Option(help="Serial number (AI 21)")] = None,
    exp: Annotated[str | None, typer.Option(help="Expiry on the label, YYMMDD (AI 17)")] = None,
    context: ContextOpt = "dispense",
    returner: ReturnerOpt = None,
    key: OptionalKeyOpt = None,
    req_gln: GlnOpt = None,
    corr_uuid: CorrOpt = None,
    as_json: JsonOpt = False,
    node_url: NodeUrl = DEFAULT_NODE,
) -> None:
    """Verify a pack at GET /vrs/... (GS1 Lightweight Messaging): exit 0 if it verifies,
    3 if it does not (a counterfeit serial, a label that does not match), 1 on error."""
    parts = _label(identifier, gtin, lot, serial, exp)
    _show(_ask(node_url, key, lambda c: c.verify_pack(
        *parts, context=context, returner=returner, req_gln=req_gln, corr_uuid=corr_uuid)),
        as_json)


@supply_app.command("scan")
def scan(
    scanned: Annotated[str, typer.Argument(
        help="What the scanner read: DataMatrix data (FNC1 as GS, with or without ]d2), an "
             "element string, a GS1 Digital Link or an EPC URN")],
    context: ContextOpt = "dispense",
    returner: ReturnerOpt = None,
    key: OptionalKeyOpt = None,
    req_gln: GlnOpt = None,
    corr_uuid: CorrOpt = None,
    as_json: JsonOpt = False,
    node_url: NodeUrl = DEFAULT_NODE,
) -> None:
    """Verify the pack a scanner read (POST /v1/supply/scan): exit 0 if it verifies, 3 if
    it does not, 1 on error."""
    _show(_ask(node_url, key, lambda c: c.scan(
        scanned, context=context, returner=returner, req_gln=req_gln, corr_uuid=corr_uuid)),
        as_json)
