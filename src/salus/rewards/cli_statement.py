"""``salus rewards statement|programmes|totals``: the rewards reads (issue 18).

``statement`` is the signed-in patient's own (every award, redemption, expiry and reversal
with its sponsor and transaction id, the balance recomputed); ``programmes`` lists the
public terms and catalogues; ``totals`` is a programme's totals for its sponsor's admins
and rewards officers. :func:`register` adds them to the ``salus rewards`` group."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from salus.cli.common import DEFAULT_NODE, FieldOpt, NodeUrl, fail, run_as, run_public
from salus.client.rewards_reads import programme_id

KeyOpt = Annotated[Path, typer.Option("--key", "-k", help="Your key file")]
ProgrammeArg = Annotated[str, typer.Argument(help="The programme's id")]


def _checked(programme: str) -> str:
    try:
        return programme_id(programme)
    except ValueError as exc:
        fail(str(exc))


def statement(key: KeyOpt, node_url: NodeUrl = DEFAULT_NODE, field: FieldOpt = None) -> None:
    """(A patient) Your rewards statement: each programme you joined, every award,
    redemption, expiry and reversal with its sponsor, event and transaction id, and the
    balance recomputed from them."""
    run_as(node_url, key, lambda c: c.rewards_statement(), field)


def programmes(sponsor: Annotated[str | None, typer.Option(
                   help="Only this organisation's programmes")] = None,
               after: Annotated[str, typer.Option(help="The `next` of a previous page")] = "",
               limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
               node_url: NodeUrl = DEFAULT_NODE, field: FieldOpt = None) -> None:
    """Published programmes, their terms and catalogues (public: no key)."""
    run_public(node_url, lambda c: c.rewards_programmes(sponsor, after=after, limit=limit), field)


def totals(programme: ProgrammeArg, key: KeyOpt, node_url: NodeUrl = DEFAULT_NODE,
           field: FieldOpt = None) -> None:
    """(The sponsor's admin or rewards officer) A programme's totals: enrolments, points
    and retail value by kind, awards by event, redemptions by item. No patient."""
    pid = _checked(programme)
    run_as(node_url, key, lambda c: c.rewards_totals(pid), field)


def register(app: typer.Typer) -> None:
    app.command("statement")(statement)
    app.command("programmes")(programmes)
    app.command("totals")(totals)
