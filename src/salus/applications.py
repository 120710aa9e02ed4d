"""The applications a Salus node runs, in one list, and what each contributes.

Each application is a package, ``salus.<name>``: its contracts (``contracts/``), services
(``service.py``), routes (``routes*.py``), commands (``cli*.py``), demo seeding
(``demo*.py``) and benchmark (``bench*.py``), and its :class:`Application` in
``application.py``. The node composes them from :data:`APPLICATIONS`: the contract
registry (salus.node.contracts), the REST API (salus.api.app), the ``salus`` command and
its ``bench`` group (salus.cli.main) and the demo's stages (salus.demo).

An application's parts are loaded when they are asked for (each is a function), so that
the node does not import the command line nor the command line the routes.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer
    from fastapi import FastAPI, Request, Response

    from salus.api.auth import Principal
    from salus.api.rate_limit import RateLimiter
    from salus.ledger.contract import Contract
    from salus.ledger.ledger import Ledger

#: The applications, in the order the node composes them.
NAMES = ("records", "credentials", "supply", "claims", "rewards")


@dataclass(frozen=True)
class Mounting:
    """What an application's routes are built with (salus.api.app's ``create_app``)."""

    app: FastAPI
    ledger: Ledger
    #: The bearer token's principal of a request (a FastAPI dependency).
    member: Callable[[Request], Awaitable[Principal]]
    limiter: RateLimiter
    context_max_age: float
    responder_gln: str | None


@dataclass(frozen=True)
class Commands:
    """An application's part of the ``salus`` command."""

    #: ``salus <name> ...``: its command groups, in help order.
    groups: tuple[tuple[str, typer.Typer], ...] = ()
    #: ``salus verify <name>``: its offline checks.
    verify: tuple[tuple[str, Callable[..., None]], ...] = ()
    #: ``salus bench <name>``: its benchmarks (each prints one JSON object).
    bench: tuple[tuple[str, Callable[..., None]], ...] = ()


@dataclass(frozen=True)
class DemoStage:
    """One stage of ``salus demo``, seeded through the API once the node answers."""

    #: Said as "<name> ready" once seeded, now or on an earlier run (the README waits for it).
    name: str
    #: Seeds the stage unless an earlier run did: (node URL, data directory, say) ->
    #: what it made, or None if it was made before.
    seed_once: Callable[[str, Path, Callable[[str], None]], object]
    #: Where to find what it made, in the data directory.
    where: Callable[[Path], str]
    #: How a stage seeded on an earlier run is told.
    before: str


def _none() -> tuple[()]:
    return ()


def _no_shapes() -> Mapping[str, Callable[[int, str, str], Response]]:
    return {}


def _no_commands() -> Commands:
    return Commands()


@dataclass(frozen=True)
class Application:
    """One application: the name of its package, and what each of its parts contributes."""

    name: str
    #: Its contracts, in registry order.
    contracts: Callable[[], Sequence[Contract]]
    #: Its route modules (``salus.<name>.<module>``), which declare their reads' rules.
    route_modules: tuple[str, ...]
    #: Includes its routers (and any layer in front of them) in the node's API, in order.
    routes: Callable[[Mounting], None]
    #: Routers whose path parameters would take another application's paths (the FHIR
    #: facade's ``/fhir/{resource_type}`` would take claims' ``/fhir/ExplanationOfBenefit``):
    #: included after every application's ``routes``.
    last_routes: Callable[[Mounting], None] | None = None
    #: Its answers' shape under a path prefix (an OperationOutcome under ``/fhir/``),
    #: for salus.api.errors.install; elsewhere the node's error body.
    error_shapes: Callable[[], Mapping[str, Callable[[int, str, str], Response]]] = _no_shapes
    #: Its part of the ``salus`` command.
    commands: Callable[[], Commands] = _no_commands
    #: Its stages of ``salus demo``, in order.
    demo: Callable[[], Sequence[DemoStage]] = _none
    #: The function that opens its service on a running node (a dotted name):
    #: salus.node.server passes it to create_app, which opens it once the node has
    #: caught up. None: the application has no service of its own.
    service: str | None = None
    #: Its pages of the web application (``salus/web/static/pages/<page>.html``); the web
    #: application serves every page from there (salus.web.routes).
    pages: tuple[str, ...] = ()


APPLICATIONS: tuple[Application, ...]


def __getattr__(name: str) -> Any:
    # Assembled on first use: each application's module imports this one for its
    # dataclasses, so this one cannot import them while it is being imported.
    if name == "APPLICATIONS":
        found = tuple(importlib.import_module(f"salus.{n}.application").APPLICATION
                      for n in NAMES)
        globals()["APPLICATIONS"] = found
        return found
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
