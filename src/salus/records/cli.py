"""``salus records|consent|access``: the records application from the command line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from salus.cli.common import DEFAULT_NODE, FieldOpt, NodeUrl, emit, fail, load_key
from salus.client import SalusClient, SalusError
from salus.clock import wall_clock_ms

records_app = typer.Typer(help="Patient records: ingest FHIR, list, read.", no_args_is_help=True)
consent_app = typer.Typer(help="A patient's consent: grant, revoke, list.", no_args_is_help=True)
access_app = typer.Typer(help="Who accessed a patient's records.", no_args_is_help=True)

KeyOpt = Annotated[Path, typer.Option("--key", "-k", help="Your key file")]
T = TypeVar("T")


def _run(node_url: str, key: Path, action: Callable[[SalusClient], T],
         field: str | None = None) -> T:
    with SalusClient(node_url, load_key(key)) as client:
        try:
            result = action(client)
        except SalusError as exc:
            fail(f"{exc.code}: {exc.reason}")
    emit(result, field)
    return result


@records_app.command("ingest")
def ingest(file: Annotated[Path, typer.Argument(help="FHIR R4 resource or Bundle (JSON)")],
           custodian: Annotated[str, typer.Option(help="Organisation that will hold the records")],
           patient: Annotated[str, typer.Option(help="The patient's did")],
           key: KeyOpt, node_url: NodeUrl = DEFAULT_NODE, field: FieldOpt = None) -> None:
    """Validate FHIR, encrypt it into the custodian's vault and register it on the ledger.
    Your key signs the request, so you are the records' author: a clinical member of the
    custodian (an EHR feed is a member with the registrar role)."""
    try:
        body = file.read_bytes()
    except OSError as exc:
        fail(f"cannot read {file}: {exc}")
    _run(node_url, key, lambda c: c.ingest(custodian, patient, body), field)


@records_app.command("binary")
def binary(file: Annotated[Path, typer.Argument(help="The file (an image, a PDF ...)")],
           custodian: Annotated[str, typer.Option(help="Organisation that will hold it")],
           patient: Annotated[str, typer.Option(help="The patient's did")],
           key: KeyOpt,
           content_type: Annotated[str, typer.Option(help="Its media type")] = "application/pdf",
           node_url: NodeUrl = DEFAULT_NODE) -> None:
    """Encrypt a large binary into the custodian's vault as a Binary record."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        fail(f"cannot read {file}: {exc}")
    _run(node_url, key, lambda c: c.store_binary(custodian, patient, data, content_type))


@records_app.command("list")
def list_records(key: KeyOpt, patient: Annotated[str | None, typer.Option(
        help="Patient did (default: yourself)")] = None,
        custodian: Annotated[str | None, typer.Option(
            help="Only the records this organisation holds")] = None,
        resource_type: Annotated[str | None, typer.Option(
            "--type", help="Only records of this FHIR resource type, e.g. Observation")] = None,
        node_url: NodeUrl = DEFAULT_NODE, field: FieldOpt = None) -> None:
    """A patient's record index across every custodian."""
    def act(c: SalusClient) -> list[dict[str, Any]]:
        return [r for r in c.record_index(patient)
                if custodian in (None, r["custodian"]) and resource_type in (None, r["type"])]
    _run(node_url, key, act, field)


@records_app.command("read")
def read(record: str, custodian: Annotated[str, typer.Option(help="Organisation holding it")],
         key: KeyOpt, purpose: Annotated[str, typer.Option(help="Purpose of use")] = "TREAT",
         node_url: NodeUrl = DEFAULT_NODE) -> None:
    """Read a record through the gateway and decrypt it locally."""
    _run(node_url, key, lambda c: c.read_record(custodian, record, purpose))


@records_app.command("erase")
def erase(key: KeyOpt, patient: Annotated[str | None, typer.Option(
        help="Patient did (a regulator's admin erasing on approval)")] = None,
        node_url: NodeUrl = DEFAULT_NODE) -> None:
    """Erase all of a patient's records (crypto-shredding at every custodian)."""
    _run(node_url, key, lambda c: c.erase(patient=patient).to_json())


@consent_app.command("grant")
def grant(key: KeyOpt,
          purpose: Annotated[list[str], typer.Option(help="Purpose(s) of use, e.g. TREAT")],
          member: Annotated[str | None, typer.Option(
              help="A practitioner's member id (the did of their first key)")] = None,
          org: Annotated[str | None, typer.Option(help="An organisation (or with --role)")] = None,
          role: Annotated[str | None, typer.Option(help="A role, e.g. clinician")] = None,
          resource_type: Annotated[list[str] | None, typer.Option(help="Limit to types")] = None,
          record: Annotated[list[str] | None, typer.Option(help="Limit to records")] = None,
          days: Annotated[int | None, typer.Option(help="Valid for this many days")] = None,
          node_url: NodeUrl = DEFAULT_NODE, field: FieldOpt = None) -> None:
    """Grant access to your records."""
    grantee: dict[str, str] = {k: v for k, v in (("member", member), ("org", org), ("role", role))
                               if v is not None}
    if not grantee:
        fail("name a grantee: --member DID, --org ID, --role ROLE or --role ROLE --org ID")
    end = None if days is None else wall_clock_ms() + days * 86_400_000

    def act(c: SalusClient) -> dict[str, Any]:
        return {"grant": c.grant(grantee, purpose, resource_types=resource_type, records=record,
                                 end=end)}
    _run(node_url, key, act, field)


@consent_app.command("revoke")
def revoke(grant_id: str, key: KeyOpt, node_url: NodeUrl = DEFAULT_NODE) -> None:
    """Revoke a grant: from the next block on, it allows nothing."""
    _run(node_url, key, lambda c: c.revoke(grant_id).to_json())


@consent_app.command("list")
def list_consent(key: KeyOpt, fhir: Annotated[bool, typer.Option(
        help="As a Bundle of FHIR Consent")] = False, node_url: NodeUrl = DEFAULT_NODE) -> None:
    """Your grants (active and revoked)."""
    _run(node_url, key, lambda c: c.consents(fhir=fhir))


@access_app.command("log")
def access_log(key: KeyOpt, fhir: Annotated[bool, typer.Option(
        help="As a Bundle of FHIR AuditEvent")] = False,
        limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
        node_url: NodeUrl = DEFAULT_NODE) -> None:
    """Every access to your records, granted or refused, oldest first."""
    _run(node_url, key, lambda c: c.access_log(fhir=fhir, limit=limit))

