"""``salus claims metrics --payer --year [--json]``: the prior-authorisation metrics
CMS-0057-F has payers publish (GET /v1/claims/metrics), public: no key needed.

``register(app)`` adds the command to the ``salus claims`` group."""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer
from rich.table import Table

from salus.cli.common import DEFAULT_NODE, FieldOpt, NodeUrl, emit, fail, out
from salus.client import SalusClient, SalusError
from salus.ledger.schema import ORG_ID_PATTERN

GROUPS = ("standard", "expedited", "all")
#: (label, count, share) rows of the table, in the rule's order (42 CFR 422.122(c)).
ROWS = (("Requests submitted", "requests", None), ("Determined", "determined", None),
        ("Approved", "approved", "approved"),
        ("Partially approved", "partially_approved", "partially_approved"),
        ("Denied", "denied", "denied"), ("Appealed", "appealed", None),
        ("Approved after appeal", "approved_after_appeal", "approved_after_appeal"),
        ("Extended", "extended", None),
        ("Extended and approved", "extended_approved", "extended_approved"),
        ("Late", "late", "late"), ("Human review", "human_reviewed", "human_reviewed"),
        ("Still open", "open", None), ("Withdrawn", "withdrawn", None))


def percent(bp: int | None) -> str:
    """Basis points as a percentage with two decimals (exact: no float)."""
    return "—" if bp is None else f"{bp // 100}.{bp % 100:02d}%"


def duration(seconds: int | None) -> str:
    """Seconds as days, hours, minutes and seconds (``3d 0h 0m 1s``)."""
    if seconds is None:
        return "—"
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return (f"{days}d " if days else "") + f"{hours}h {minutes}m {secs}s"


def table(m: dict[str, Any]) -> Table:
    t = Table(title=f"{m['payer']}: prior authorisations submitted in {m['year']} "
                    f"(ledger height {m['as_of']['height']})")
    t.add_column("Metric")
    for group in GROUPS:
        t.add_column(group.capitalize(), justify="right")
    for label, count, share in ROWS:
        t.add_row(label, *[str(m[g][count]) + (f" ({percent(m[g]['share_bp'][share])})"
                                               if share else "") for g in GROUPS])
    for label, which in (("Mean decision time", "mean_s"), ("Median decision time", "median_s")):
        t.add_row(label, *[duration(m[g]["decision_time"][which]) for g in GROUPS])
    return t


def metrics(payer: Annotated[str, typer.Option(help="The insurer's organisation id")],
            year: Annotated[int, typer.Option(min=1970, max=9998,
                                              help="Calendar year (UTC) of submission")],
            as_json: Annotated[bool, typer.Option("--json", help="The node's JSON answer")]
            = False,
            node_url: NodeUrl = DEFAULT_NODE, field: FieldOpt = None) -> None:
    """A payer's CMS-0057-F prior-authorisation metrics for a calendar year (public):
    shares approved, denied, approved after appeal and extended; mean and median decision
    times, for standard and expedited requests."""
    if not re.fullmatch(ORG_ID_PATTERN, payer):
        fail(f"--payer: {payer!r} is not an organisation id (lowercase letters, digits, -)")
    with SalusClient(node_url) as client:
        try:
            found = client.claims_metrics(payer, year)
        except SalusError as exc:
            fail(f"{exc.code}: {exc.reason}")
    if as_json or field is not None:
        emit(found, field)
    else:
        out.print(table(found))


def register(app: typer.Typer) -> None:
    app.command("metrics")(metrics)
