"""``salus supply``: the drug supply chain on GS1 EPCIS 2.0 (issue 16)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from salus.cli import supply_notices
from salus.cli.common import DEFAULT_NODE, FieldOpt, NodeUrl, emit, load_key, run_as
from salus.cli.footprint import footprint_app
from salus.client import SalusClient, SalusError
from salus.supply.document import DocumentInvalid, read_document
from salus.supply.event_hash import EventHashError, document_hashes

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
