"""The records application's parts (salus.applications): patients' records in custodians'
vaults, their consent, and the audit trail of every access."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from salus.applications import Application, Commands, DemoStage, Mounting

if TYPE_CHECKING:
    from fastapi import Response

    from salus.ledger.contract import Contract


def _contracts() -> Sequence[Contract]:
    from salus.records.contracts import AccessContract, ConsentContract, RecordsContract

    return (RecordsContract(), ConsentContract(), AccessContract())


def _routes(m: Mounting) -> None:
    from salus.records import routes

    m.app.include_router(routes.build_router(m.member))


def _facade(m: Mounting) -> None:
    from salus.records import routes_fhir

    m.app.include_router(routes_fhir.build_router(m.member))


def _error_shapes() -> Mapping[str, Callable[[int, str, str], Response]]:
    from salus.records import routes_fhir

    return {"/fhir/": routes_fhir.outcome}


def _commands() -> Commands:
    from salus.records import cli, cli_bench

    return Commands(groups=(("records", cli.records_app), ("consent", cli.consent_app),
                            ("access", cli.access_app)),
                    bench=(("records", cli_bench.command),))


def _demo() -> Sequence[DemoStage]:
    from salus.records import demo

    return (DemoStage("demo records", demo.seed_once,
                      lambda data: f"ids in {data}/{demo.MARKER}", "seeded on an earlier run"),)


APPLICATION = Application(
    "records", _contracts, ("routes", "routes_fhir"), _routes, last_routes=_facade,
    error_shapes=_error_shapes, commands=_commands, demo=_demo,
    service="salus.records.service.open_gateway", pages=("patient", "clinician", "privacy"))
