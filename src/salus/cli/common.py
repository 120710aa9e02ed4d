"""What every ``salus`` command shares: consoles, common options, failing, printing."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from salus.client import SalusClient, SalusError, TransactionRejected
from salus.identity import Identity, KeyFileError

out = Console(emoji=False, soft_wrap=True)
err = Console(stderr=True, emoji=False, soft_wrap=True)

NodeUrl = Annotated[str, typer.Option("--node", envvar="SALUS_NODE", help="Node API base URL")]
#: Print one value of a command's JSON result, for a shell to capture: VAR=$(salus ... --field id)
FieldOpt = Annotated[str | None, typer.Option(
    "--field", help="Print only this field of the JSON result, for a shell variable: a dotted "
                    "path (orderer, sth.tree_size, 0.id); over a list, each item's, one a line")]
DataOpt = Annotated[Path, typer.Option("--data", help="Node data directory")]
#: Every benchmark prints one JSON object; --json prints that alone, without progress.
BenchJsonOpt = Annotated[bool, typer.Option("--json", help="Print only the JSON result")]
DEFAULT_NODE = "http://127.0.0.1:8700"


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def emit(doc: Any, field: str | None = None) -> None:
    """Print ``doc`` as JSON, or with ``field`` that value alone: strings bare, anything
    else as compact JSON, a list one item a line (what ``$(...)`` in a shell wants)."""
    if field is None:
        out.print_json(json.dumps(doc))
        return
    value = pick(doc, field)
    for item in value if isinstance(value, list) else [value]:
        print(item if isinstance(item, str) else json.dumps(item, separators=(",", ":")))


def pick(doc: Any, path: str) -> Any:
    """The value at a dotted ``path``: a name looks up an object's key, a number a list's
    item, and a name applied to a list looks it up in each item."""
    value = doc
    for i, part in enumerate(path.split(".")):
        value = _step(value, part, ".".join(path.split(".")[:i + 1]))
    return value


def _step(value: Any, part: str, where: str) -> Any:
    if isinstance(value, dict):
        if part not in value:
            fail(f"--field: the result has no {where!r} (it has: {', '.join(map(str, value))})")
        return value[part]
    if isinstance(value, list):
        if part.isdigit():
            if int(part) >= len(value):
                fail(f"--field: {where!r}: the list has {len(value)} item(s)")
            return value[int(part)]
        return [_step(item, part, where) for item in value]
    fail(f"--field: {where!r}: nothing below a {type(value).__name__}")


def load_key(path: Path) -> Identity:
    try:
        return Identity.load(path)
    except KeyFileError as exc:
        fail(str(exc))


def run_as(node_url: str, key: Path | None, action: Callable[[SalusClient], Any],
           field: str | None = None) -> None:
    """Run ``action`` with a client signing as ``key`` (None: an anonymous client, for
    what is public); print its result (or its ``field``),
    or the node's code and reason: exit 2 when the ledger refused the transaction, 1 for
    any other failure."""
    with SalusClient(node_url, None if key is None else load_key(key)) as client:
        try:
            result = action(client)
        except TransactionRejected as exc:
            fail(f"{exc.code}: {exc.reason}", 2)
        except SalusError as exc:
            if exc.problems:  # every reason, as plain text (a reason may quote "[0]")
                typer.echo(f"error: {exc.code}: {exc.reason}", err=True)
                for problem in exc.problems:
                    typer.echo(f"  {problem}", err=True)
                raise typer.Exit(1) from None
            fail(f"{exc.code}: {exc.reason}")
    emit(result, field)


def run_public(node_url: str, action: Callable[[SalusClient], Any],
               field: str | None = None) -> None:
    """Run ``action`` with a client that holds no key (public reads); print its result
    (or its ``field``), or exit 1 with the node's code and reason."""
    with SalusClient(node_url) as client:
        try:
            result = action(client)
        except SalusError as exc:
            fail(f"{exc.code}: {exc.reason}")
    emit(result, field)
