"""Rate-limit budgets and the token-bucket tables that keep them (no web framework here:
the CLI reads the defaults; salus.api.rate_limit applies them to requests)."""

from __future__ import annotations

import ipaddress
import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

#: Below this many seconds over, a bucket counts as having room (float rounding).
_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class Budget:
    """``burst`` at once, then ``per_second`` on average. ``per_second`` 0: no limit."""

    per_second: float
    burst: int

    def __post_init__(self) -> None:
        if not (self.per_second >= 0 and math.isfinite(self.per_second)):
            raise ValueError(f"a rate limit's rate must be a finite number >= 0, "
                             f"not {self.per_second}")
        if self.burst < 1:
            raise ValueError(f"a rate limit's burst must be at least 1, not {self.burst}")

    @property
    def limited(self) -> bool:
        return self.per_second > 0

    def describe(self, unit: str) -> str:
        return f"{self.burst} {unit} at once, {self.per_second:g} a second"


@dataclass(frozen=True, slots=True)
class RateLimits:
    """The node's budgets (docs/operations.md, "Rate limits", says why these defaults)."""

    #: Failed authentications per client address, at the read and token endpoints.
    auth_failures: Budget = field(default_factory=lambda: Budget(1.0, 100))
    #: Transactions offered per client address, at the submission endpoints.
    tx_per_address: Budget = field(default_factory=lambda: Budget(1000.0, 20_000))
    #: Admitted transactions per signer.
    tx_per_signer: Budget = field(default_factory=lambda: Budget(50.0, 1000))
    #: Refused reads per member, at each records gateway: every refusal is an entry on
    #: a patient's access log and on the ledger, so unbounded they let a member flood both.
    refused_reads: Budget = field(default_factory=lambda: Budget(0.2, 60))
    #: Failed pack verifications per client address (``GET /vrs/...``, ``POST
    #: /v1/supply/scan``): anyone may verify a pack whose full identifier they hold, and
    #: a counter rarely sees a serial that fails, but guessing serials fails nearly always.
    verify_failures: Budget = field(default_factory=lambda: Budget(1.0, 200))
    #: Keys each table may hold at once.
    table_size: int = 50_000

    def __post_init__(self) -> None:
        if self.table_size < 1:
            raise ValueError(f"a rate limit's table size must be at least 1, not {self.table_size}")


class Buckets:
    """Token buckets by key, kept as GCRA (the generic cell rate algorithm): a key holds
    one number, the time at which its bucket will be full again. A key whose bucket is
    full holds no information, so it may be forgotten at any time.

    A plain dict, looked up once and written once per take (this runs for every
    transaction a node takes in). When it reaches ``table_size`` keys, one pass drops
    every refilled bucket; if that does not free a tenth of the table, the oldest keys
    go too (``on_evict`` is told of each), so the next pass is at least a tenth of the
    table's inserts away: amortised O(1), memory at most ``table_size`` keys."""

    def __init__(self, budget: Budget, table_size: int,
                 clock: Callable[[], float] = time.monotonic,
                 on_evict: Callable[[], None] | None = None) -> None:
        if not budget.limited:
            raise ValueError("an unlimited budget needs no buckets")
        self.budget = budget
        self.table_size = table_size
        self.clock = clock
        self._on_evict = on_evict
        self._interval = 1.0 / budget.per_second  # seconds one token takes to come back
        # How far ahead of now a key's full time may run: its whole burst.
        self._limit = budget.burst * self._interval + _EPSILON
        self._full_at: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self._full_at)

    def wait(self, key: str, n: int = 1) -> float:
        """Seconds until ``key`` could take ``n`` (0.0: it could now). Takes nothing."""
        now = self.clock()
        full_at = self._full_at.get(key, now)
        over = max(full_at, now) + n * self._interval - now - self._limit
        return over + _EPSILON if over > 0 else 0.0

    def take(self, key: str, n: int = 1) -> float:
        """Take ``n`` tokens if ``key`` has them (returns 0.0); otherwise take nothing
        and return the seconds until it would have them."""
        now = self.clock()
        table = self._full_at
        full_at = table.get(key, now)
        after = (full_at if full_at > now else now) + n * self._interval
        over = after - now - self._limit
        if over > 0:
            return over + _EPSILON
        if len(table) >= self.table_size and key not in table:
            self._make_room(now)
        table[key] = after
        return 0.0

    def charge(self, key: str, n: int = 1) -> None:
        """Take ``n`` tokens whether or not they are there (the bucket empties, never
        further): for failures, which have cost the node its work already."""
        now = self.clock()
        table = self._full_at
        full_at = max(table.get(key, now), now)
        if len(table) >= self.table_size and key not in table:
            self._make_room(now)
        table[key] = min(full_at + n * self._interval, now + self._limit - _EPSILON)

    def _make_room(self, now: float) -> None:
        table = self._full_at
        for key in [k for k, full_at in table.items() if full_at <= now]:
            del table[key]
        excess = len(table) - self.table_size * 9 // 10
        if excess > 0:
            for key in list(itertools.islice(table, excess)):
                del table[key]
                if self._on_evict is not None:
                    self._on_evict()


def address_key(host: str | None) -> str:
    """What a client address counts as: IPv4 as is, IPv6 by its /64 (an IPv4-mapped one
    as its IPv4), anything else (a unix socket, a proxy's odd header) as given."""
    if not host:
        return "unknown"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host[:100]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)
