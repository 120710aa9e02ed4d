"""``salus claims``: payers' rules and coverage, PAS requests, reviewers' decisions and
re-running a decision (issue 17; docs/claims.md, "Services").

The typer group is ``claims_app``; other modules add commands to it (``metrics``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from salus.canonical import JSONError, loads_strict
from salus.claims import cli_metrics
from salus.cli.common import DEFAULT_NODE, FieldOpt, NodeUrl, emit, fail, load_key, run_as
from salus.client import SalusClient

claims_app = typer.Typer(help="Claims and prior authorisation: rules, coverage, PAS "
                              "requests, decisions, verification.", no_args_is_help=True)
rules_app = typer.Typer(help="A payer's published rule sets.", no_args_is_help=True)
coverage_app = typer.Typer(help="A payer's coverage records.", no_args_is_help=True)
claims_app.add_typer(rules_app, name="rules")
claims_app.add_typer(coverage_app, name="coverage")

KeyOpt = Annotated[Path, typer.Option("--key", "-k", help="Your key file")]


def _json_file(path: Path) -> Any:
    try:
        return loads_strict(path.read_bytes())
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")
    except JSONError as exc:
        fail(f"{path} is not JSON Salus reads: {exc}")


def _bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")


@rules_app.command("publish")
def rules_publish(file: Annotated[Path, typer.Argument(help="A rule table (JSON)")],
                  key: KeyOpt, node_url: NodeUrl = DEFAULT_NODE, field: FieldOpt = None) -> None:
    """Publish FILE as your payer's current rule set (a claims officer or admin)."""
    table = _json_file(file)
    run_as(node_url, key, lambda c: c.publish_rules(table), field)


@rules_app.command("show")
def rules_show(payer: str, version: Annotated[str | None, typer.Option(
        help="A version (its SHA-256); default: the current one")] = None,
        node_url: NodeUrl = DEFAULT_NODE, field: FieldOpt = None) -> None:
    """A payer's current rule set, or any past version, with every version it made
    current (public: no key needed)."""
    run_as(node_url, None, lambda c: c.rules(payer, version), field)


@coverage_app.command("record")
def coverage_record(
        coverage: Annotated[str, typer.Option(help="The opaque id: cv- and 32 hex digits")],
        plan: Annotated[str, typer.Option(help="The plan code")],
        start: Annotated[str, typer.Option(help="First day, YYYY-MM-DD")],
        member_id: Annotated[str, typer.Option(help="The member id (hashed, never sent)")],
        patient: Annotated[str, typer.Option(help="The patient's member id (did:key)")],
        member_key: Annotated[Path, typer.Option(
            help="The payer's member key file (DATA/keys/<payer>-member.key)")],
        key: KeyOpt, end: Annotated[str | None, typer.Option(help="Last day")] = None,
        node_url: NodeUrl = DEFAULT_NODE, field: FieldOpt = None) -> None:
    """Record a patient's coverage: the member id goes on the ledger only as the payer's
    keyed hash of it."""
    from salus.claims.keys import ClaimsKeyError, member_hash, read_secret_key

    try:
        secret = read_secret_key(member_key)
    except ClaimsKeyError as exc:
        fail(str(exc))
    args: dict[str, Any] = {"coverage": coverage, "plan": plan, "start": start,
                            "member": member_hash(secret, member_id), "patient": patient}
    if end is not None:
        args["end"] = end
    run_as(node_url, key, lambda c: c.record_coverage(args), field)


@claims_app.command("submit")
def submit(file: Annotated[Path, typer.Argument(help="A PAS request Bundle (JSON)")],
           key: KeyOpt, node_url: NodeUrl = DEFAULT_NODE, field: FieldOpt = None) -> None:
    """POST FILE to Claim/$submit (a provider's registrar or clinician) and print the PAS
    response Bundle; a refused Bundle prints the node's reason."""
    body = _bytes(file)
    run_as(node_url, key, lambda c: c.pas_submit(body), field)


@claims_app.command("eligibility")
def eligibility(file: Annotated[Path, typer.Argument(
        help="A Bundle: the CoverageEligibilityRequest first, its Patient and Coverage")],
        key: KeyOpt, node_url: NodeUrl = DEFAULT_NODE, field: FieldOpt = None) -> None:
    """POST FILE to CoverageEligibilityRequest/$submit (a provider's registrar or
    clinician): the CoverageEligibilityResponse, whose insurance[0].inforce says whether
    the coverage is in force on the servicedDate (or today)."""
    body = _bytes(file)
    run_as(node_url, key, lambda c: c.coverage_eligibility(body), field)


@claims_app.command("inquire")
def inquire(file: Annotated[Path, typer.Argument(help="A PAS inquiry Bundle (JSON)")],
            key: KeyOpt, node_url: NodeUrl = DEFAULT_NODE, field: FieldOpt = None) -> None:
    """POST FILE to Claim/$inquire: the current ClaimResponse of each matching request."""
    body = _bytes(file)
    run_as(node_url, key, lambda c: c.pas_inquire(body), field)


def _served_state(client: SalusClient, request: str) -> Any:
    """A getter over the ledger values the node serves for ``request`` to whoever holds
    it (GET /v1/claims/requests/{request}/ledger); an unknown request reads as absent."""
    from salus.client import SalusError

    try:
        state = client.claims_request_ledger(request)["state"]
    except SalusError as exc:
        if exc.status == 403:  # the node does not say whether the request exists
            fail(f"no request {request} is served to you: either the file is not the "
                 "document registered (a byte changed?), or you are not its patient, its "
                 f"provider's staff, its payer's reviewer or an auditor ({exc})")
        if exc.status != 404:
            fail(str(exc))
        state = {}
    return state.get


def _item(text: str) -> dict[str, Any]:
    """``SEQ=approved[:UNITS:CENTS]``, ``SEQ=denied:REASON:CARC[:RULE]``."""
    seq, _, rest = text.partition("=")
    parts = rest.split(":")
    if not seq.isdigit() or parts[0] not in ("approved", "denied", "modified"):
        fail(f"{text!r}: an item is SEQ=approved[:UNITS:CENTS[:RULE]] or "
             "SEQ=denied:REASON:CARC[:RULE] or SEQ=modified:REASON:CARC:UNITS:CENTS[:RULE]")
    item: dict[str, Any] = {"sequence": int(seq), "outcome": parts[0], "rule": None,
                            "reason": None, "carc": None, "units": None, "amount_cents": None}
    try:
        if parts[0] == "approved" and len(parts) >= 3:
            item.update(units=int(parts[1]), amount_cents=int(parts[2]),
                        rule=parts[3] if len(parts) > 3 else None)
        elif parts[0] == "denied":
            item.update(reason=parts[1], carc=parts[2], rule=parts[3] if len(parts) > 3 else None)
        elif parts[0] == "modified":
            item.update(reason=parts[1], carc=parts[2], units=int(parts[3]),
                        amount_cents=int(parts[4]), rule=parts[5] if len(parts) > 5 else None)
    except (IndexError, ValueError):
        fail(f"{text!r}: units and cents are whole numbers, in the order the form gives")
    return item


@claims_app.command("decide")
def decide(request: Annotated[str, typer.Argument(help="The request id (64 hex digits)")],
           items: Annotated[list[str], typer.Argument(help="SEQ=approved:UNITS:CENTS:RULE, "
                                                           "SEQ=denied:REASON:CARC:RULE, ...")],
           key: KeyOpt, automatic: Annotated[bool, typer.Option(
               help="Not a human review (a first decision by rules only)")] = False,
           node_url: NodeUrl = DEFAULT_NODE, field: FieldOpt = None) -> None:
    """A reviewer's signed decision on items of a request (a human review)."""
    decided = [_item(t) for t in items]
    run_as(node_url, key, lambda c: c.decide_claim(request, decided, human_review=not automatic),
           field)


@claims_app.command("flag")
def flag(request: Annotated[str, typer.Argument(help="The claim's id (64 hex digits)")],
         items: Annotated[list[int], typer.Argument(help="The items (ledger sequences) she "
                                                         "never received")],
         key: KeyOpt, node_url: NodeUrl = DEFAULT_NODE, field: FieldOpt = None) -> None:
    """The patient flags services of a claim she never received (phantom billing)."""
    run_as(node_url, key, lambda c: c.flag_phantom(request, items), field)


@claims_app.command("resolve-flag")
def resolve_flag(request: Annotated[str, typer.Argument(help="The claim's id (64 hex digits)")],
                 sequence: Annotated[int, typer.Argument(help="The flagged item (ledger "
                                                              "sequence)")],
                 finding: Annotated[str, typer.Argument(
                     help="confirmed (not rendered as billed) or unfounded")],
                 key: KeyOpt, node_url: NodeUrl = DEFAULT_NODE, field: FieldOpt = None) -> None:
    """A payer's reviewer records what the payer found on a flagged item, once."""
    run_as(node_url, key, lambda c: c.resolve_phantom(request, sequence, finding), field)


@claims_app.command("verify")
def verify(file: Annotated[Path, typer.Argument(help="The claim document: the PAS Bundle "
                                                     "as registered")],
           data: Annotated[Path | None, typer.Option(
               help="Read the ledger in this data directory (read-only)")] = None,
           key: Annotated[Path | None, typer.Option(
               "--key", "-k", help="Else ask the node as this key (the request's patient, "
                                   "its provider's staff, its payer's reviewers, an auditor)")
           ] = None,
           licence: Annotated[list[str] | None, typer.Option(
               help="A period the rendering practitioner was licensed: START[:END] (repeat)")
           ] = None,
           node_url: NodeUrl = DEFAULT_NODE) -> None:
    """Re-run the adjudication of FILE under the rule version and facts the ledger
    recorded, and compare with every stored decision (salus.claims.verify). Exit 0 when
    every automatic decision is the one the published rules give, 1 otherwise."""
    import hashlib

    from salus.claims import pas
    from salus.claims.contracts.layout import coverage_key, request_key
    from salus.claims.pas_request import PasRefused
    from salus.claims.submission import ClaimsError, facts_of
    from salus.claims.verify import verify as run

    body = _bytes(file)
    periods = tuple((p.split(":")[0], p.split(":")[1] if ":" in p else None)
                    for p in licence or [])
    client: SalusClient | None = None
    ledger = None
    if data is not None:
        from salus.node.datadir import DataDir

        ledger = DataDir(data).open_ledger(read_only=True)
        get = ledger.state_value
    elif key is not None:
        client = SalusClient(node_url, load_key(key))
        get = _served_state(client, hashlib.sha256(body).hexdigest())
    else:
        fail("give --data (a copy of the ledger) or --key (your key, at --node)")
    try:
        rid = hashlib.sha256(body).hexdigest()
        found = get(request_key(rid))
        if found is None:
            fail(f"no request {rid} on the ledger: not the document registered")
        request = pas.read_request(body)
        claim = facts_of(request, body, get(coverage_key(found["coverage"])),
                         found["provider"], "unknown")
        report = run(body, claim, get, periods, request=rid)
    except PasRefused as exc:
        fail(f"the document is not a PAS request Salus reads: {exc}")
    except ClaimsError as exc:
        fail(f"{exc.code}: {exc.reason}")
    finally:
        if client is not None:
            client.close()
        if ledger is not None:
            ledger.close()
    emit({"request": report.request, "ok": report.ok, "problems": report.problems,
          "items": [json.loads(json.dumps(i.__dict__, default=str)) for i in report.items]})
    if not report.ok:
        raise typer.Exit(1)


# the metrics report (its own module; registered here, after this module's commands)
cli_metrics.register(claims_app)
