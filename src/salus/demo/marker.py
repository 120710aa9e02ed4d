"""Each part of the demo seeded through the API is seeded once per data directory: what
it made is written to its marker file, whose presence says it is done."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any


def once(marker: Path, seed: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
    """What ``seed`` made, written to ``marker``; None, seeding nothing, if ``marker``
    exists. A seed that fails writes nothing, so the next start tries again."""
    if marker.exists():
        return None
    made = seed()
    marker.write_text(json.dumps(made, indent=2))
    return made
