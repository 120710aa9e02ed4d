"""Rate limits at the node's doors: how often a client address or a signer may make the
node work.

Four budgets, each a table of token buckets keyed by client address or signer:

- **Authentication failures per address** (``POST /v1/records/read``,
  ``POST /v1/auth/token``). Only failures count: a read request or client assertion
  nobody can be tied to (bad signature, a key that is no member's, malformed, stale,
  replayed). Once an address has spent its budget, its requests to those two endpoints
  are answered 429 before the node reads the body, let alone checks a signature. A
  member's good requests spend nothing, so a member keeps working from any address
  that is not itself failing.
- **Transactions per address** (``POST /v1/tx``, ``POST /v1/txs``). Every transaction
  offered counts, admissible or not: checking it is the node's work. A request that
  does not fit is refused whole, before its body is read (when the bucket is empty) or
  decoded (when it holds fewer transactions than the request).
- **Transactions per signer**. Counted last, for transactions that passed every other
  check and are about to be ordered (``Node.enqueue``'s ``budget``): a replay of a
  signer's old transactions is a DUPLICATE first, so nobody can spend another's
  budget. Writes the node makes itself (a records gateway's access log) do not pass
  through the API and are not counted.
- **Failed verifications per address** (``GET /vrs/...``, ``POST /v1/supply/scan``).
  Only answers that do not verify count (an unknown serial, a lot or expiry that does
  not match, a refused saleable return): an address that guesses serials spends them
  fast, a pharmacy scanning real packs hardly ever. Once spent, its verifications are
  answered 429 before the ledger is read.

The client address is the peer address of the connection (``request.client``), and
IPv6 addresses count by their /64 (one host is usually given a whole /64). A
``X-Forwarded-For`` header is believed only from a proxy the operator names
(``NodeConfig.trusted_proxies``; uvicorn rewrites ``request.client`` then).

Memory is bounded whatever clients do: each table holds at most ``table_size`` keys.
When one is full, every bucket that has refilled (it holds nothing worth keeping) is
dropped, and if that is not enough the oldest keys go too (counted in
``salus_rate_limit_evicted_total``: a returning key then starts with a full bucket, so
the per-address budget is what bounds many fresh signers).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from fastapi import Request

from salus.api.errors import ApiError
from salus.ledger.transaction import Transaction
from salus.node.metrics import NodeMetrics
from salus.node.node import BudgetCheck
from salus.node.rate_limits import Buckets, Budget, RateLimits, address_key
from salus.node.receipt import Receipt

RATE_LIMITED = "RATE_LIMITED"

__all__ = ["RATE_LIMITED", "Budget", "RateLimiter", "RateLimits", "client_address",
           "retry_after"]


def client_address(request: Request) -> str:
    client = request.client
    return address_key(client.host if client is not None else None)


def retry_after(seconds: float) -> str:
    """A Retry-After value: whole seconds, at least one."""
    return str(max(1, math.ceil(seconds)))


class RateLimiter:
    """The node's three budgets and their metrics (one per app, used on the event loop
    only, so without locks)."""

    def __init__(self, limits: RateLimits, metrics: NodeMetrics,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.metrics = metrics
        self.auth_failures = self._table("auth_failures", limits.auth_failures, clock)
        self.tx_address = self._table("tx_address", limits.tx_per_address, clock)
        self.tx_signer = self._table("tx_signer", limits.tx_per_signer, clock)
        self.verify_failures = self._table("verify_failures", limits.verify_failures, clock)

    def _table(self, name: str, budget: Budget, clock: Callable[[], float]) -> Buckets | None:
        if not budget.limited:
            return None
        table = Buckets(budget, self.limits.table_size, clock,
                        self.metrics.rate_limit_evicted.labels(name).inc)
        self.metrics.rate_limit_buckets.labels(name).set_function(table.__len__)
        return table

    def _refuse(self, limit: str, wait: float, reason: str) -> ApiError:
        self.metrics.rate_limited.labels(limit).inc()
        return ApiError(429, RATE_LIMITED, f"{reason}; retry after {retry_after(wait)} s",
                        {"Retry-After": retry_after(wait)})

    def _check_spent(self, table: Buckets | None, limit: str, address: str, what: str) -> None:
        """Raise 429 if ``address`` has spent ``table``'s budget of failed ``what``."""
        if table is not None and (wait := table.wait(address)):
            raise self._refuse(limit, wait, f"too many {what} from {address} (the budget is "
                                            f"{table.budget.describe('failures')})")

    # -- authentication failures ---------------------------------------------------------
    def check_failures(self, address: str) -> None:
        """Raise 429 if ``address`` has spent its authentication failures: called before
        the request's body is read."""
        self._check_spent(self.auth_failures, "auth_failures", address, "failed authentications")

    def failed(self, address: str, endpoint: str, code: str) -> None:
        """Count one failed authentication from ``address``."""
        self.metrics.auth_failures.labels(endpoint, code).inc()
        if self.auth_failures is not None:
            self.auth_failures.charge(address)

    # -- failed verifications ------------------------------------------------------------
    def check_verifications(self, address: str) -> None:
        """Raise 429 if ``address`` has spent its failed verifications (before the
        request is looked at)."""
        self._check_spent(self.verify_failures, "verify_failures", address,
                          "verifications that failed")

    def verification_failed(self, address: str) -> None:
        if self.verify_failures is not None:
            self.verify_failures.charge(address)

    # -- transactions --------------------------------------------------------------------
    def check_address(self, address: str) -> None:
        """Raise 429 if ``address`` has no transaction left at all (before the body is read)."""
        table = self.tx_address
        if table is not None and (wait := table.wait(address)):
            raise self._address_refusal(table, address, wait)

    def take_address(self, address: str, count: int) -> None:
        """Spend ``count`` transactions of ``address``'s budget, or raise (429, or 413 for
        a request larger than the whole budget, which waiting would not help)."""
        table = self.tx_address
        if table is None or count == 0:
            return
        if count > table.budget.burst:
            raise ApiError(413, "TOO_LARGE", f"at most {table.budget.burst} transactions per "
                                             f"request from one address on this node")
        if wait := table.take(address, count):
            raise self._address_refusal(table, address, wait)

    def _address_refusal(self, table: Buckets, address: str, wait: float) -> ApiError:
        return self._refuse("tx_address", wait,
                            f"{address} is over its transaction budget "
                            f"({table.budget.describe('transactions')})")

    def signer_budget(self, waits: dict[str, float]) -> BudgetCheck | None:
        """The per-signer check for one request (``Node.submit``'s ``budget``): records
        in ``waits`` how long each refused transaction's signer must wait, by tx id."""
        table = self.tx_signer
        if table is None:
            return None
        refused = self.metrics.rate_limited.labels("tx_signer")
        allowance = table.budget.describe("transactions")

        def check(tx: Transaction) -> Receipt | None:
            wait = table.take(tx.signer)
            if not wait:
                return None
            waits[tx.id_hex] = wait
            refused.inc()
            return Receipt(tx.id_hex, "refused", RATE_LIMITED,
                           f"the signer is over its budget ({allowance}); never ordered; "
                           f"retry after {retry_after(wait)} s")

        return check
