"""Contracts stay deterministic: no clock, randomness, floats or I/O in their source."""

from __future__ import annotations

import ast
import inspect

import pytest

from salus.ledger.contract import Contract, Registry, method
from salus.node.contracts import registry

FORBIDDEN_MODULES = {"time", "datetime", "random", "secrets", "os", "socket", "uuid", "io",
                     "pathlib", "threading", "asyncio", "subprocess", "urllib", "httpx", "sqlite3"}
FORBIDDEN_CALLS = {"open", "float", "input", "print", "hash", "id"}


def contract_modules():
    reg = registry()
    seen = set()
    for name in reg.contracts:
        for contract in reg._methods[name].values():
            module = inspect.getmodule(contract[0])
            if module not in seen:
                seen.add(module)
                yield module


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


def test_registry_refuses_unsupported_parameters() -> None:
    class Bad(Contract):
        name = "bad"

        @method
        def m(self, ctx, x: float) -> None: ...

    with pytest.raises(TypeError, match="unsupported"):
        Registry([Bad()])
