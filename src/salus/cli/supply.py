"""``salus supply``: the drug supply chain on GS1 EPCIS 2.0 (issue 16)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from salus.cli import supply_notices
from salus.cli.footprint import footprint_app
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


# recalls and suspect product, footprints (their own modules; registered here)
supply_notices.register(supply_app)
supply_app.add_typer(footprint_app, name="footprint")
