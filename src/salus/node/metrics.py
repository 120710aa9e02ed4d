"""Prometheus metrics of one node (a registry per node, so several can share a process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class NodeMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.received = Counter("salus_tx_received", "Transactions received at ingress",
                                registry=r)
        self.refused = Counter("salus_tx_refused", "Transactions refused at ingress", ["code"],
                               registry=r)
        self.committed = Counter("salus_tx_committed", "Transactions committed in blocks",
                                 ["code"], registry=r)
        self.blocks = Counter("salus_blocks", "Blocks committed", registry=r)
        self.height = Gauge("salus_height", "Height of the last committed block", registry=r)
        self.log_size = Gauge("salus_log_size", "Leaves in the transparency log", registry=r)
        self.backlog = Gauge("salus_ordering_backlog", "Transactions accepted, not yet delivered",
                             registry=r)
        self.commit_seconds = Histogram(
            "salus_block_commit_seconds", "Time to execute and durably store a block",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5), registry=r)
        self.latency_seconds = Histogram(
            "salus_tx_commit_latency_seconds", "Ingress to durable commit, per transaction",
            buckets=(0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5), registry=r)
        self.halted = Gauge("salus_halted", "1 when the node stopped committing", registry=r)
        # Rate limits (salus.api.rate_limit). Label values are the node's own codes and
        # limit names, never anything a client chose, so the series stay few.
        self.auth_failures = Counter(
            "salus_auth_failures", "Requests refused for failing authentication (a read "
            "request or client assertion nobody can be tied to), by endpoint and code",
            ["endpoint", "code"], registry=r)
        self.rate_limited = Counter(
            "salus_rate_limited", "Refused with RATE_LIMITED, by limit: requests for the "
            "per-address limits, transactions for the per-signer one", ["limit"], registry=r)
        self.rate_limit_buckets = Gauge(
            "salus_rate_limit_buckets", "Addresses or signers a limit is tracking (at most "
            "its table size)", ["limit"], registry=r)
        self.rate_limit_evicted = Counter(
            "salus_rate_limit_evicted", "Buckets dropped, still in use, because a limit's "
            "table was full (many addresses or signers at once)", ["limit"], registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
