"""Contracts stay deterministic and declare what they take and who may call them."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil

import pytest

from salus.ledger import authority, calendar, schema
from salus.ledger.contract import Contract, Registry, method
from salus.ledger.schema import SchemaError, free_text, text
from salus.node.contracts import registry

FORBIDDEN_MODULES = {"time", "datetime", "random", "secrets", "os", "socket", "uuid", "io",
                     "pathlib", "threading", "asyncio", "subprocess", "urllib", "httpx", "sqlite3"}
FORBIDDEN_CALLS = {"open", "float", "input", "print", "hash", "id"}


def contract_modules():
    """Every module whose code runs inside execution: the contracts and whatever their
    packages hold (layouts, request decoding), their authority rules, the schema and the block calendar."""
    seen = {authority, calendar, schema}
    for m in registry().all_methods():
        seen.add(inspect.getmodule(type(m.who)))
        package = importlib.import_module(m.fn.__module__.rpartition(".")[0])  # *.contracts
        for info in pkgutil.iter_modules(package.__path__):
            seen.add(importlib.import_module(f"{package.__name__}.{info.name}"))
    return sorted(seen, key=lambda module: module.__name__)


@pytest.mark.parametrize("module", list(contract_modules()), ids=lambda m: m.__name__)
def test_contract_source_is_deterministic(module) -> None:
    tree = ast.parse(inspect.getsource(module))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN_MODULES, f"{module.__name__} imports {name}"
        if isinstance(node, ast.Constant):
            assert not isinstance(node.value, float), f"float literal in {module.__name__}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in FORBIDDEN_CALLS, f"{module.__name__} calls {node.func.id}"


def _registry_of(fn) -> Registry:
    class C(Contract):
        name = "c"

    C.m = method(who=authority.AnyMember())(fn)
    return Registry([C()])


def test_every_method_declares_a_rule() -> None:
    with pytest.raises(TypeError, match="authority rule"):
        method(who=None)  # type: ignore[arg-type]
    for m in registry().all_methods():
        assert isinstance(m.who, authority.Rule) and m.who.describe(), m.name


def test_schemas_refuse_floats_unbounded_and_undeclared_free_text() -> None:
    def f(self, ctx, x: float) -> None: ...
    with pytest.raises(SchemaError, match="no floats"):
        _registry_of(f)

    def unbounded(self, ctx, x: str) -> None: ...
    with pytest.raises(SchemaError, match="maximum length"):
        _registry_of(unbounded)

    def free(self, ctx, x: text("[a-z]+", 10, "x"), y: free_text(10, "a reason")) -> None: ...
    reg = _registry_of(free)
    assert reg.lookup("c", "m").schema.free_text == {"y": "a reason"}

    def big(self, ctx, n: int) -> None: ...
    with pytest.raises(SchemaError, match="minimum and a maximum"):
        _registry_of(big)

    def items(self, ctx, xs: list[text("[a-z]+", 10, "x")]) -> None: ...
    with pytest.raises(SchemaError, match="maximum number of items"):
        _registry_of(items)


def test_only_declared_free_text() -> None:
    """The one free-text argument on the ledger, written only by a regulator's admin."""
    found = {(m.contract, m.name, path) for m in registry().all_methods()
             for path in m.schema.free_text}
    assert found == {("membership", "add_organisation", "name")}
