"""``salus supply recall|recalls|investigation|events``: recalls and suspect product
(issue 16 item 6). Writes sign a ``supply`` contract transaction with your key file."""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from salus.canonical import JSONError, loads_strict
from salus.cli.common import (
    DEFAULT_NODE,
    FieldOpt,
    NodeUrl,
    fail,
    load_key,
    run_as,
    run_public,
)
from salus.client import SalusClient, SalusError
from salus.client.supply_notices import gtin14, item_ref
from salus.supply.contracts.layout import FINDINGS, RECALL_REASONS

KeyOpt = Annotated[Path, typer.Option("--key", "-k", help="Your key file")]
GtinOpt = Annotated[str, typer.Option(help="The product's GTIN (8, 12, 13 or 14 digits)")]
LotOpt = Annotated[str, typer.Option(help="The lot (batch) number, AI 10")]
ItemArg = Annotated[str, typer.Argument(
    help="The pack or container: its item key, or its GS1 DataMatrix element string, "
         "Digital Link or EPC URN (only the key is sent)")]
RecallReason = StrEnum("RecallReason", {r: r for r in sorted(RECALL_REASONS)})
Finding = StrEnum("Finding", {f: f for f in sorted(FINDINGS)})
Listed = StrEnum("Listed", {s: s for s in ("open", "closed", "all")})
#: A Form 3911's coded facts are a few hundred bytes.
MAX_FACTS = 16 * 1024

T = TypeVar("T")


def checked(parse: Callable[[str], T], value: str) -> T:
    """``parse(value)``, or exit 1 with its reason (nothing is sent)."""
    try:
        return parse(value)
    except ValueError as exc:
        fail(str(exc))


def recall(key: KeyOpt, gtin: GtinOpt, lot: LotOpt,
           reason: Annotated[RecallReason, typer.Option(help="Why, as a code")],
           node_url: NodeUrl = DEFAULT_NODE) -> None:
    """(The brand owner's supply operator, or a regulator) Recall a lot: dispensing refuses
    its packs, and every trading organisation hears of it (GET /v1/supply/events)."""
    gtin = checked(gtin14, gtin)
    run_as(node_url, key, lambda c: c.recall(gtin, lot, str(reason)))


def recalls(gtin: Annotated[str | None, typer.Option(help="With --lot: that lot only")] = None,
            lot: Annotated[str | None, typer.Option(help="With --gtin: that lot only")] = None,
            after: Annotated[str, typer.Option(help="The `next` of a previous page")] = "",
            limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
            node_url: NodeUrl = DEFAULT_NODE, field: FieldOpt = None) -> None:
    """The recall board (public): recalled lots, in the order recalled."""
    if (gtin is None) != (lot is None):
        fail("name a lot by both --gtin and --lot, or neither")
    if gtin is not None:
        gtin = checked(gtin14, gtin)
    run_public(node_url, lambda c: c.recalls(gtin, lot, after=after, limit=limit), field)


investigation_app = typer.Typer(help="A suspect pack's investigation: who opened it, its "
                                     "24-hour deadline in block time, its finding.",
                                no_args_is_help=True)


def _facts(path: Path) -> dict[str, Any]:
    try:
        if path.stat().st_size > MAX_FACTS:
            fail(f"{path}: a Form 3911's facts are at most {MAX_FACTS} bytes")
        doc = loads_strict(path.read_bytes())
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")
    except JSONError as exc:
        fail(f"{path}: {exc}")
    if not isinstance(doc, dict):
        fail(f"{path}: the Form 3911 facts are a JSON object")
    return doc


@investigation_app.command("close")
def close(item: ItemArg, key: KeyOpt,
          finding: Annotated[Finding, typer.Option(
              help="cleared (saleable again) or illegitimate (with --form3911)")],
          form3911: Annotated[Path | None, typer.Option(
              help="A JSON file of the FDA Form 3911's coded facts: notification, "
                   "classification, product_type, dosage_form, reporter, determined "
                   "(YYYY-MM-DD), quantity (its description stays with you)")] = None,
          node_url: NodeUrl = DEFAULT_NODE) -> None:
    """(The brand owner's supply operator, or a regulator) Close a suspect item's
    investigation; every organisation that held it is told the finding."""
    ref = checked(item_ref, item)
    facts = None if form3911 is None else _facts(form3911)
    run_as(node_url, key, lambda c: c.close_investigation(ref, str(finding), facts))


@investigation_app.command("show")
def show(item: ItemArg, key: KeyOpt, node_url: NodeUrl = DEFAULT_NODE,
         field: FieldOpt = None) -> None:
    """(Its opener, the brand owner, regulators) A suspect item's investigation."""
    ref = checked(item_ref, item)
    run_as(node_url, key, lambda c: c.investigation(ref), field)


@investigation_app.command("list")
def list_(key: KeyOpt,
          status: Annotated[Listed, typer.Option(help="Which ones")] = Listed.open,
          after: Annotated[str, typer.Option(help="The `next` of a previous page")] = "",
          node_url: NodeUrl = DEFAULT_NODE, field: FieldOpt = None) -> None:
    """(Supply staff, regulators) The investigations you may read: opened by your
    organisation, of your brand's packs (a regulator: all), with their deadlines."""
    run_as(node_url, key, lambda c: c.investigations(str(status), after), field)


def events(key: KeyOpt, node_url: NodeUrl = DEFAULT_NODE) -> None:
    """Follow your organisation's supply notices (recalls, suspect reports, closed
    investigations), one JSON line each, until interrupted."""
    with SalusClient(node_url, load_key(key)) as client:
        try:
            for event in client.supply_events(read_timeout=60):
                print(json.dumps(event), flush=True)
        except SalusError as exc:
            fail(f"{exc.code}: {exc.reason}")


def register(app: typer.Typer) -> None:
    app.command("recall")(recall)
    app.command("recalls")(recalls)
    app.command("notices")(events)
    app.add_typer(investigation_app, name="investigation")
