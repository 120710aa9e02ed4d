"""``salus recovery``: a patient's recovery set, and what guardians do when the patient
has lost their key."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from salus.cli.common import DEFAULT_NODE, NodeUrl, run_as
from salus.ledger.contracts.membership import (
    DEFAULT_RECOVERY_DELAY_MS,
    MAX_GUARDIANS,
    MAX_RECOVERY_DELAY_MS,
    MIN_RECOVERY_DELAY_MS,
)

HOUR_MS = 60 * 60 * 1000

recovery_app = typer.Typer(
    help="Recover a patient's identity after a lost key, through the k-of-n guardians the "
         "patient chose in advance. The patient: `set` (choose guardians), `cancel` (stop a "
         "recovery you did not ask for). Guardians: `start` (propose the patient's new key), "
         "`approve`, then `complete` once k approved and the patient's delay has run. "
         "`status` shows where it stands. Every recovery step is sent to the patient's "
         "notification stream (GET /v1/access/events).",
    no_args_is_help=True)

KeyOpt = Annotated[Path, typer.Option("--key", "-k", help="Your key file")]
PatientOpt = Annotated[str, typer.Option(help="The patient's member id (did:key)")]
RecoveryOpt = Annotated[str, typer.Option(help="The recovery id, rc-... (see `status`)")]


@recovery_app.command("set")
def set_recovery(
    key: KeyOpt,
    guardian: Annotated[list[str], typer.Option(
        help=f"A guardian's member id (repeat, 1-{MAX_GUARDIANS}): a relative who is a "
             "patient too, your hospital's registrar, ...")],
    threshold: Annotated[int, typer.Option(
        min=1, max=MAX_GUARDIANS, help="How many guardians must approve a recovery (k)")],
    delay_hours: Annotated[int, typer.Option(
        min=MIN_RECOVERY_DELAY_MS // HOUR_MS, max=MAX_RECOVERY_DELAY_MS // HOUR_MS,
        help="Hours you have to cancel a recovery once k guardians approved it")]
        = DEFAULT_RECOVERY_DELAY_MS // HOUR_MS,
    node_url: NodeUrl = DEFAULT_NODE,
) -> None:
    """(Patient) Choose who may recover your identity if you lose your key.

    Refused while a recovery of yours is open (cancel it first)."""
    run_as(node_url, key, lambda c: c.set_recovery(guardian, threshold, delay_hours * HOUR_MS))


@recovery_app.command("cancel")
def cancel(key: KeyOpt, recovery: Annotated[str | None, typer.Option(
        help="The recovery to cancel (default: every open one)")] = None,
        node_url: NodeUrl = DEFAULT_NODE) -> None:
    """(Patient, with your current key) Stop a recovery of your identity."""
    run_as(node_url, key, lambda c: c.cancel_recovery(recovery))


@recovery_app.command("start")
def start(
    key: KeyOpt, patient: PatientOpt,
    new_key: Annotated[str, typer.Option(
        help="The patient's new signing key (did:key), from `salus keys show` of the key "
             "file the patient made")],
    encryption_key: Annotated[str | None, typer.Option(
        help="The patient's new encryption key (its encryption_did), so the patient can "
             "open their records again")] = None,
    node_url: NodeUrl = DEFAULT_NODE,
) -> None:
    """(Guardian) Propose a new key for a patient who lost theirs (this approves it too)."""
    run_as(node_url, key, lambda c: c.start_recovery(patient, new_key, encryption_key))


@recovery_app.command("approve")
def approve(key: KeyOpt, patient: PatientOpt, recovery: RecoveryOpt,
            node_url: NodeUrl = DEFAULT_NODE) -> None:
    """(Guardian) Approve a proposed recovery; the k-th approval starts the patient's delay."""
    run_as(node_url, key, lambda c: c.approve_recovery(patient, recovery))


@recovery_app.command("complete")
def complete(key: KeyOpt, patient: PatientOpt, recovery: RecoveryOpt,
             node_url: NodeUrl = DEFAULT_NODE) -> None:
    """(Guardian) After k approvals and the patient's delay: the new key replaces the old."""
    run_as(node_url, key, lambda c: c.complete_recovery(patient, recovery))


@recovery_app.command("status")
def status(key: KeyOpt, patient: Annotated[str | None, typer.Option(
        help="The patient's member id (default: yourself)")] = None,
        node_url: NodeUrl = DEFAULT_NODE) -> None:
    """A patient's guardians and recovery proposals, and where each stands.

    Each proposal's status: gathering (fewer than k approvals), waiting (the patient's
    delay runs until ready_at), ready (a guardian may complete it), lapsed or void (its
    key has become a member's). `last` is the last one cancelled or completed."""
    run_as(node_url, key, lambda c: c.recovery_status(patient))
