"""``salus members``: enrol a member of your organisation, register as a patient, look a
member up. Each is one ``membership`` transaction or read; ``salus tx membership ...``
does the same with hand-written JSON arguments."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from salus.cli.common import DEFAULT_NODE, FieldOpt, NodeUrl, run_as
from salus.client import SalusClient

members_app = typer.Typer(help="Membership: enrol members, register patients, look members up.",
                          no_args_is_help=True)

KeyOpt = Annotated[Path, typer.Option("--key", "-k", help="Your key file")]


@members_app.command("enrol")
def enrol(
    member: Annotated[str, typer.Argument(help="The new member's id: the did of their key "
                                               "(`salus keys show KEY --field did`)")],
    org: Annotated[str, typer.Option(help="Your organisation, which they join")],
    role: Annotated[list[str], typer.Option(help="A role, e.g. clinician (repeatable)")],
    key: Annotated[Path, typer.Option("--key", "-k", help="An admin's key file of ORG")],
    encryption_key: Annotated[str | None, typer.Option(
        help="Their X25519 key (`salus keys show KEY --field encryption_did`): records are "
             "wrapped to it, so without it they can read nothing")] = None,
    node_url: NodeUrl = DEFAULT_NODE, field: FieldOpt = None,
) -> None:
    """Enrol MEMBER in ORG with roles (membership.enrol, signed by an admin of ORG). Only
    public identifiers change hands: the member keeps their key file."""
    args: dict[str, Any] = {"org": org, "member": member, "roles": role}
    if encryption_key is not None:
        args["encryption_key"] = encryption_key
    run_as(node_url, key, lambda c: c.call("membership", "enrol", args).to_json(), field)


@members_app.command("register")
def register(key: KeyOpt, node_url: NodeUrl = DEFAULT_NODE, field: FieldOpt = None) -> None:
    """Register yourself as a patient (membership.register_patient), with your key file's
    encryption key so that you can read your own records. No admin takes part: your
    identity is yours."""
    def act(c: SalusClient) -> dict[str, Any]:
        assert c.identity is not None
        return c.call("membership", "register_patient",
                      {"encryption_key": c.identity.encryption_did}).to_json()
    run_as(node_url, key, act, field)


@members_app.command("show")
def show(key: KeyOpt, member: Annotated[str | None, typer.Argument(
        help="A member id, or any key they held (default: yourself)")] = None,
         node_url: NodeUrl = DEFAULT_NODE, field: FieldOpt = None) -> None:
    """A member's record: organisation, roles, keys, encryption key."""
    run_as(node_url, key, lambda c: c.member(member or c.member_id()), field)
