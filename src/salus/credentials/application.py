"""The credentials application's parts (salus.applications): professionals' verifiable
credentials, anchored in batches, and the competency ledger (education)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from salus.applications import Application, Commands, DemoStage, Mounting

if TYPE_CHECKING:
    from salus.ledger.contract import Contract


def _contracts() -> Sequence[Contract]:
    from salus.credentials.contracts import CredentialsContract, EducationContract

    return (CredentialsContract(), EducationContract())


def _routes(m: Mounting) -> None:
    from salus.credentials import routes, routes_education

    m.app.include_router(routes.build_router(m.ledger, m.context_max_age))
    m.app.include_router(routes_education.build_router(m.ledger))


def _commands() -> Commands:
    from salus.credentials import cli, cli_bench

    return Commands(groups=(("credentials", cli.credentials_app), ("wallet", cli.wallet_app),
                            ("education", cli.education_app),
                            ("credentialing", cli.credentialing_app)),
                    verify=(("credential", cli.verify_credential),
                            ("presentation", cli.verify_presentation_cmd),
                            ("context", cli.verify_context)),
                    bench=(("credentials", cli_bench.command),))


def _demo() -> Sequence[DemoStage]:
    from salus.credentials import demo

    return (DemoStage("demo credentials", demo.seed_once,
                      lambda data: f"wallets in {data}/wallets, ids in {data}/{demo.MARKER}",
                      "issued on an earlier run"),)


APPLICATION = Application(
    "credentials", _contracts, ("routes", "routes_education"), _routes, commands=_commands,
    demo=_demo, pages=("credentials", "education"))
