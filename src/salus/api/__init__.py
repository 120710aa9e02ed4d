"""The REST API (FastAPI): a thin layer over the node, with OpenAPI at /docs."""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    # salus.api.app is imported when create_app is first asked for, not with the package:
    # the applications' route modules (salus.<application>.routes*) import this
    # package's parts (auth, errors, read_rules), and salus.api.app imports them.
    if name == "create_app":
        from salus.api.app import create_app

        return create_app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
