"""What every ``salus`` command shares: consoles, common options, failing, printing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from salus.identity import Identity, KeyFileError

out = Console(emoji=False, soft_wrap=True)
err = Console(stderr=True, emoji=False, soft_wrap=True)

NodeUrl = Annotated[str, typer.Option("--node", envvar="SALUS_NODE", help="Node API base URL")]
DataOpt = Annotated[Path, typer.Option("--data", help="Node data directory")]
DEFAULT_NODE = "http://127.0.0.1:8700"


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def emit(doc: Any) -> None:
    out.print_json(json.dumps(doc))


def load_key(path: Path) -> Identity:
    try:
        return Identity.load(path)
    except KeyFileError as exc:
        fail(str(exc))
