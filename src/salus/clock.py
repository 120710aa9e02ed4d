"""The wall clock, in the ledger's unit (ms since the epoch), and its ISO 8601 form.
The wall clock is never used inside contracts."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def iso_from_ms(ms: int) -> str:
    """``2026-11-21T09:30:00.000Z``: an XML Schema dateTime in UTC, to the millisecond."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def ms_from_iso(text: str) -> int:
    """Milliseconds since the epoch of an ISO 8601 date-time that carries its offset."""
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone offset")
    return int(parsed.timestamp() * 1000)
