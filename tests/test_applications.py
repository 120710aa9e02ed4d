"""The node composes its applications from one list (salus.applications.APPLICATIONS):
each is a package with its parts named by role, and every part the list names is what
the node runs."""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Route
from typer.main import get_command

from salus import applications
from salus.applications import APPLICATIONS, NAMES
from salus.cli.main import app as cli
from salus.ledger.contracts import MembershipContract, NotaryContract
from salus.node import server
from salus.node.bootstrap import OrgSpec, init_datadir
from salus.node.contracts import registry
from salus.node.server import NodeConfig, build

SALUS = Path(applications.__file__).parent
PAGES = SALUS / "web" / "static" / "pages"
#: The node's own pages: signing in, and the ledger explorer.
NODE_PAGES = {"index", "explorer"}
#: A value for each kind of path parameter, to make a path a route answers.
SAMPLE = {"str": "s1", "path": "p1/p2", "int": "7", "float": "1.5"}


def test_the_list_names_each_application_once_in_order() -> None:
    assert NAMES == ("records", "credentials", "supply", "claims", "rewards")
    assert tuple(a.name for a in APPLICATIONS) == NAMES
    for application in APPLICATIONS:
        module = importlib.import_module(f"salus.{application.name}.application")
        assert module.APPLICATION is application


@pytest.mark.parametrize("application", APPLICATIONS, ids=lambda a: a.name)
def test_every_route_module_is_named(application: applications.Application) -> None:
    """The list names each route module of the package (the read-rule table imports what
    it names), and every one it names exists."""
    package = SALUS / application.name
    on_disk = {p.stem for p in package.glob("routes*.py")}
    assert on_disk, f"salus.{application.name} has no routes"
    assert set(application.route_modules) == on_disk
    assert len(application.route_modules) == len(set(application.route_modules))


@pytest.mark.parametrize("application", [a for a in APPLICATIONS if a.service],
                         ids=lambda a: a.name)
def test_each_service_named_is_the_one_the_node_opens(
        application: applications.Application) -> None:
    assert application.service is not None
    module, _, name = application.service.rpartition(".")
    assert module == f"salus.{application.name}.service"
    opener = getattr(importlib.import_module(module), name)
    assert inspect.iscoroutinefunction(opener)
    assert vars(server)[name] is opener  # what salus.node.server passes to create_app


def test_the_services_named_are_every_service_the_node_opens() -> None:
    opened = {n for n, v in vars(server).items()
              if n.startswith("open_") and inspect.iscoroutinefunction(v)}
    assert opened == {a.service.rpartition(".")[2] for a in APPLICATIONS if a.service}


def test_every_page_is_one_applications_or_the_nodes() -> None:
    named = [p for a in APPLICATIONS for p in a.pages]
    assert len(named) == len(set(named)), "a page named by two applications"
    assert not set(named) & NODE_PAGES
    assert {p.stem for p in PAGES.glob("*.html")} == set(named) | NODE_PAGES


def test_the_registry_is_the_ledgers_contracts_and_each_applications() -> None:
    """(The registry keeps contracts by name: its order is its names'.)"""
    theirs = [c.name for a in APPLICATIONS for c in a.contracts()]
    assert theirs == ["records", "consent", "access", "credentials", "education", "supply",
                      "claims", "rewards"]
    assert registry().contracts == sorted([MembershipContract.name, NotaryContract.name,
                                           *theirs])


def test_the_command_has_each_applications_groups_checks_and_benchmarks() -> None:
    command = get_command(cli)
    groups = command.commands  # type: ignore[attr-defined]
    verify = groups["verify"].commands
    bench = groups["bench"].commands
    for application in APPLICATIONS:
        parts = application.commands()
        for name, group in parts.groups:
            assert groups[name].help == group.info.help, name
        for name, check in parts.verify:
            assert _function(verify[name]) is check
        for name, run in parts.bench:
            assert _function(bench[name]) is run
    assert list(bench) == [*NAMES, "network", "ledger"]
    assert list(verify) == ["credential", "presentation", "context", "proof"]


def _function(command: Any) -> Any:
    """The function a command runs (Typer wraps it)."""
    return getattr(command.callback, "__wrapped__", command.callback)


@pytest.fixture(scope="module")
def routes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Route]]:
    data = tmp_path_factory.mktemp("node")
    init_datadir(data, "apps-test", [OrgSpec.parse("st-mary:hospital:St Mary's")])
    app, node = build(NodeConfig(data))
    try:
        yield list(_routes_of(app.routes))
    finally:
        node.ledger.close()


def _routes_of(routes: list[Any]) -> Iterator[Route]:
    """The routes in the order they are tried: an included router's in its place."""
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI's included router
        if included is not None:
            yield from _routes_of(included.routes)
        elif isinstance(route, Route):
            yield route


def _sample(route: Route) -> str:
    """A path this route answers: each parameter given a value of its kind."""
    return re.sub(r"{(\w+)(?::(\w+))?}", lambda m: SAMPLE[m.group(2) or "str"], route.path)


def test_no_route_is_taken_by_one_before_it(routes: list[Route]) -> None:
    """Starlette answers with the first route that matches: a route whose paths an earlier
    one with the same method matches is never reached (the FHIR facade's
    /fhir/{resource_type} ahead of claims' /fhir/ExplanationOfBenefit)."""
    assert any(r.path == "/fhir/{resource_type}" for r in routes)
    for i, route in enumerate(routes):
        path = _sample(route)
        assert route.path_regex.match(path), (route.path, path)
        for earlier in routes[:i]:
            assert not (earlier.path_regex.match(path)
                        and set(earlier.methods or ()) & set(route.methods or ())), (
                f"{route.path} is taken by {earlier.path}")


def test_each_applications_routes_are_mounted(routes: list[Route]) -> None:
    """Every route module's routers are in the node's API: each module's read rules'
    paths are served."""
    from salus.api.read_rules import ReadRule

    served = {(m, r.path) for r in routes for m in r.methods or ()}
    for application in APPLICATIONS:
        for name in application.route_modules:
            module = importlib.import_module(f"salus.{application.name}.{name}")
            for rule in (v for v in vars(module).values() if isinstance(v, ReadRule)):
                assert (rule.method, rule.path) in served, (module.__name__, rule.path)
