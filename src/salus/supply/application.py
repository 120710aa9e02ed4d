"""The supply application's parts (salus.applications): the drug supply chain on GS1
EPCIS 2.0, verification at the counter, recalls, suspect packs and footprints."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from salus.applications import Application, Commands, DemoStage, Mounting

if TYPE_CHECKING:
    from fastapi import Response

    from salus.ledger.contract import Contract


def _contracts() -> Sequence[Contract]:
    from salus.supply.contracts import SupplyContract

    return (SupplyContract(),)


def _routes(m: Mounting) -> None:
    from salus.supply import (
        routes,
        routes_footprints,
        routes_impact,
        routes_notices,
        routes_verification,
    )

    m.app.include_router(routes.build_router(m.member))
    m.app.include_router(routes_notices.build_router(m.ledger))
    m.app.include_router(routes_footprints.build_router(m.ledger))
    # the routes, and the counter's fast path (an ASGI layer) in front of them
    routes_verification.install(m.app, m.ledger, m.limiter, m.responder_gln)
    m.app.include_router(routes_impact.build_router())


def _error_shapes() -> Mapping[str, Callable[[int, str, str], Response]]:
    from salus.supply import routes

    return {"/epcis/": lambda status, code, reason: routes.problem(status, code, reason)}


def _commands() -> Commands:
    from salus.supply import cli, cli_bench

    return Commands(groups=(("supply", cli.supply_app),), bench=(("supply", cli_bench.command),))


def _demo() -> Sequence[DemoStage]:
    from salus.supply import demo

    return (DemoStage("demo supply chain", demo.seed_once,
                      lambda data: f"packs to scan and ids in {data}/{demo.MARKER}",
                      "captured on an earlier run"),)


APPLICATION = Application(
    "supply", _contracts,
    ("routes", "routes_notices", "routes_footprints", "routes_verification", "routes_impact"),
    _routes, error_shapes=_error_shapes, commands=_commands, demo=_demo,
    service="salus.supply.service.open_supply",
    pages=("counter", "trace", "recalls", "footprint"))
