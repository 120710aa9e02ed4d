"""The claims application's parts (salus.applications): payers' rules, coverage, prior
authorisation and claims (Da Vinci PAS), and their decisions on the ledger."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from salus.applications import Application, Commands, DemoStage, Mounting

if TYPE_CHECKING:
    from salus.ledger.contract import Contract


def _contracts() -> Sequence[Contract]:
    from salus.claims.contracts import ClaimsContract

    return (ClaimsContract(),)


def _routes(m: Mounting) -> None:
    from salus.claims import routes, routes_holders, routes_metrics, routes_review

    # /fhir/Claim/$submit and /fhir/ExplanationOfBenefit: ahead of the records' FHIR
    # facade and its /fhir/{resource_type}, which comes after every application's routes
    m.app.include_router(routes.build_router(m.member))
    m.app.include_router(routes_holders.build_router(m.member))
    m.app.include_router(routes_metrics.build_router(m.ledger))
    m.app.include_router(routes_review.build_router())


def _commands() -> Commands:
    from salus.claims import cli, cli_bench

    return Commands(groups=(("claims", cli.claims_app),), bench=(("claims", cli_bench.command),))


def _demo() -> Sequence[DemoStage]:
    from salus.claims import demo

    return (DemoStage("demo claims", demo.seed_once,
                      lambda data: f"member ids, keys and requests in {data}/{demo.MARKER}",
                      "decided on an earlier run"),)


APPLICATION = Application(
    "claims", _contracts, ("routes", "routes_holders", "routes_metrics", "routes_review"),
    _routes, commands=_commands, demo=_demo, service="salus.claims.service.open_claims",
    pages=("claims_requests", "claims_review", "claims_metrics"))
