"""``salus supply footprint attach|show|impact``: a product's PACT v3 carbon footprint on the
ledger (issue 16 item 8): its hash and integer key figures, never the document."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from salus.cli.common import DEFAULT_NODE, FieldOpt, NodeUrl, run_as
from salus.client.supply_notices import gtin14
from salus.supply.cli_notices import GtinOpt, KeyOpt, checked
from salus.supply.footprint import MAX_BYTES, FootprintInvalid, for_gtin, read_footprint

footprint_app = typer.Typer(help="A product's (or lot's) PACT v3 carbon footprint.",
                            no_args_is_help=True)
LotOpt = Annotated[str | None, typer.Option(help="A lot (batch) of the product")]


def _refuse(file: Path, reasons: list[str]) -> None:
    # plain text, never rich markup: a reason quotes the document
    typer.echo(f"error: {file} is refused:", err=True)
    for reason in reasons:
        typer.echo(f"  {reason}", err=True)
    raise typer.Exit(1)


@footprint_app.command("attach")
def attach(file: Annotated[Path, typer.Argument(help="A PACT v3 ProductFootprint (JSON)")],
           key: KeyOpt, gtin: GtinOpt, lot: LotOpt = None,
           node_url: NodeUrl = DEFAULT_NODE) -> None:
    """(The brand owner's supply operator) Attach FILE to your product, or one of its lots:
    checked first against PACT's schema (every reason, nothing sent if any), then its hash
    and key figures are signed onto the ledger."""
    gtin = checked(gtin14, gtin)
    try:
        size = file.stat().st_size
        if size > MAX_BYTES:  # refused before it is read
            _refuse(file, [f"$: the file is {size} bytes; a footprint is at most {MAX_BYTES}"])
        doc = read_footprint(file.read_bytes())
        for_gtin(doc, gtin)
    except OSError as exc:
        _refuse(file, [f"cannot read it: {exc.strerror or exc}"])
    except FootprintInvalid as exc:
        _refuse(file, exc.reasons)
    run_as(node_url, key, lambda c: c.attach_footprint(doc, gtin, lot))


@footprint_app.command("show")
def show(key: KeyOpt, gtin: GtinOpt, lot: LotOpt = None, node_url: NodeUrl = DEFAULT_NODE,
         field: FieldOpt = None) -> None:
    """(Any member) The footprint attached to a product, and to its lot if given."""
    gtin = checked(gtin14, gtin)
    run_as(node_url, key, lambda c: c.footprint(gtin, lot), field)


@footprint_app.command("impact")
def impact(item: Annotated[str, typer.Argument(
               help="The pack or case: its GS1 DataMatrix element string, Digital Link or "
                    "EPC URN")],
           key: KeyOpt, node_url: NodeUrl = DEFAULT_NODE, field: FieldOpt = None) -> None:
    """(The item's parties, regulators) CO2e and labour of a pack or case, and of each
    shipment of it you may read (labour only where you may read the event that made the
    packs)."""
    run_as(node_url, key, lambda c: c.impact(item), field)
