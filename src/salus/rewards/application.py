"""The rewards application's parts (salus.applications): sponsors' programmes, points for
kept appointments and completed surveys, and their redemption."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from salus.applications import Application, Commands, DemoStage, Mounting

if TYPE_CHECKING:
    from salus.ledger.contract import Contract


def _contracts() -> Sequence[Contract]:
    from salus.rewards.contracts import RewardsContract

    return (RewardsContract(),)


def _routes(m: Mounting) -> None:
    from salus.rewards import routes, routes_awards

    m.app.include_router(routes_awards.build_router(m.member))
    m.app.include_router(routes.build_router(m.ledger))


def _commands() -> Commands:
    from salus.rewards import cli, cli_bench

    return Commands(groups=(("rewards", cli.rewards_app),),
                    bench=(("rewards", cli_bench.command),))


def _demo() -> Sequence[DemoStage]:
    from salus.rewards import demo

    return (DemoStage("demo rewards", demo.seed_once,
                      lambda data: f"the programme, awards and a redemption in "
                                   f"{data}/{demo.MARKER}", "seeded on an earlier run"),)


APPLICATION = Application(
    "rewards", _contracts, ("routes_awards", "routes"), _routes, commands=_commands,
    demo=_demo, service="salus.rewards.service.open_rewards",
    pages=("rewards", "programmes"))
