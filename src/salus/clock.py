"""The wall clock, in the ledger's unit (ms since the epoch). Never used inside contracts."""

from __future__ import annotations

import time


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000
