"""docs/security.md stays true: its authority and read tables are the declarations, and
every test it cites exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from salus.api.read_rules import read_table
from salus.node.contracts import registry

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "security.md"
START, END = "<!-- authority-table:start -->\n", "<!-- authority-table:end -->"
READ_START, READ_END = "<!-- read-table:start -->\n", "<!-- read-table:end -->"


def test_the_authority_table_is_the_declarations() -> None:
    text = DOC.read_text()
    table = text[text.index(START) + len(START):text.index(END)]
    assert table == registry().rules_table(), (
        "docs/security.md's authority table is out of date: replace it with the output "
        "of `salus contracts --rules`")


def test_the_read_table_is_the_declarations() -> None:
    text = DOC.read_text()
    table = text[text.index(READ_START) + len(READ_START):text.index(READ_END)]
    assert table == read_table(), (
        "docs/security.md's read table is out of date: replace it with the output of "
        "`salus reads`")


def test_every_cited_test_exists() -> None:
    cited = set(re.findall(r"`(tests/[\w/]+\.py)::(\w+)", DOC.read_text()))
    assert cited
    for path, name in sorted(cited):
        tree = ast.parse((ROOT / path).read_text())
        defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        assert name in defined, f"docs/security.md cites {path}::{name}, which does not exist"
