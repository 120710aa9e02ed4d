"""``salus rewards``: patient rewards programmes (issue 18): the writes. The reads
(``salus rewards statement`` …) register themselves on :data:`rewards_app` elsewhere."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from salus.canonical import JSONError, loads_strict
from salus.cli.common import DEFAULT_NODE, FieldOpt, NodeUrl, fail, run_as
from salus.rewards import cli_statement

rewards_app = typer.Typer(help="Patient rewards: programmes, enrolment, awards, redemption.",
                          no_args_is_help=True)
programme_app = typer.Typer(help="A sponsor's programme: publish its terms, show them.",
                            no_args_is_help=True)
rewards_app.add_typer(programme_app, name="programme")

KeyOpt = Annotated[Path, typer.Option("--key", "-k", help="Your key file")]
Programme = Annotated[str, typer.Argument(help="The programme's id")]


@programme_app.command("publish")
def publish(file: Annotated[Path, typer.Argument(
                help="The programme's terms as JSON: rewards.publish_programme's arguments "
                     "(programme, events, point_cents, expiry_days, catalogue, …)")],
            key: KeyOpt, node_url: NodeUrl = DEFAULT_NODE, field: FieldOpt = None) -> None:
    """Publish (or revise) a programme of your organisation (an admin or rewards
    officer of a hospital or insurer). Exit 2 with the rule if the ledger refuses it."""
    try:
        terms = loads_strict(file.read_bytes())
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror or exc}")
    except JSONError as exc:
        fail(f"{file} is not JSON: {exc}")
    if not isinstance(terms, dict):
        fail(f"{file} must hold a JSON object of the programme's terms")
    run_as(node_url, key, lambda c: c.publish_programme(terms), field)


@programme_app.command("show")
def show(programme: Programme, node_url: NodeUrl = DEFAULT_NODE,
         field: FieldOpt = None) -> None:
    """A programme's published terms: its events, caps, expiry and catalogue (public)."""
    run_as(node_url, None, lambda c: c.rewards_programme(programme), field)


@rewards_app.command("enrol")
def enrol(programme: Programme, key: KeyOpt, node_url: NodeUrl = DEFAULT_NODE,
          leave: Annotated[bool, typer.Option(help="Leave the programme instead")] = False,
          field: FieldOpt = None) -> None:
    """Enrol yourself (a patient) in a programme, or leave it (--leave: your points stay)."""
    run_as(node_url, key, lambda c: c.leave_programme(programme) if leave
           else c.enrol(programme), field)


@rewards_app.command("award")
def award(record: Annotated[str, typer.Argument(help="The record's id (r-…)")], key: KeyOpt,
          programme: Annotated[str | None, typer.Option(
              help="One of your programmes (default: the first that rewards it)")] = None,
          node_url: NodeUrl = DEFAULT_NODE, field: FieldOpt = None) -> None:
    """Have your organisation's rewards service award one event by record id (an admin or
    rewards officer of the sponsor): the same checks as the service's own awards."""
    run_as(node_url, key, lambda c: c.award_record(record, programme), field)


@rewards_app.command("redeem")
def redeem(programme: Programme, item: Annotated[str, typer.Argument(help="A catalogue item id")],
           key: KeyOpt, node_url: NodeUrl = DEFAULT_NODE, field: FieldOpt = None) -> None:
    """Spend your points on an in-kind catalogue item."""
    run_as(node_url, key, lambda c: c.redeem(programme, item), field)


@rewards_app.command("reverse")
def reverse(award_tx: Annotated[str, typer.Argument(help="The award's transaction id")],
            reason: Annotated[str, typer.Option(
                help="entered_in_error, wrong_patient, event_not_kept, duplicate_event or "
                     "record_erased")],
            key: KeyOpt, node_url: NodeUrl = DEFAULT_NODE, field: FieldOpt = None) -> None:
    """Reverse an award made in error (the sponsor's officer): only its unspent points."""
    run_as(node_url, key, lambda c: c.reverse_award(award_tx, reason), field)


@rewards_app.command("expire")
def expire(programme: Programme,
           patient: Annotated[str, typer.Argument(help="The patient's did")], key: KeyOpt,
           node_url: NodeUrl = DEFAULT_NODE, field: FieldOpt = None) -> None:
    """Make a patient's points past their expiry expire (the patient herself, or an
    officer or the service of the programme's sponsor)."""
    run_as(node_url, key, lambda c: c.expire_points(programme, patient), field)


# statements, programmes and totals (their own module; registered here, after this
# module's commands)
cli_statement.register(rewards_app)


__all__ = ["rewards_app"]
