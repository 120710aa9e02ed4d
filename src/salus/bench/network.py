"""``salus bench network``: a whole network on this machine, measured end to end.

N NATS servers (R3 streams from three on) and N peers start on 127.0.0.1 (exactly what
``salus network up`` starts). The client, in this process, submits pre-signed patient
registrations through every peer's REST batch endpoint with ``wait=true`` and
``attestations=2``: a request returns only when its transactions are committed and
two organisations have signed matching attestations of their block. Two runs: as fast
as the network takes them (``tx_per_s``), then a fixed offered load for the latency
percentiles (``p50_ms``, ``p99_ms``).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from salus.bench.harness import machine, patient_registrations, percentile, progress_line
from salus.bench.ledger import submit_all, submit_at_rate, txs_body
from salus.network.local import LocalNetwork


def run(orgs: int = 3, txs: int = 30_000, batch: int = 500, in_flight: int = 6,
        rate: int = 5000, latency_seconds: float = 10.0, block_txs: int = 2000,
        block_wait_ms: int = 50, attestations: int = 2, progress: Console | None = None
        ) -> dict[str, Any]:
    say = progress_line(progress)

    attestations = min(attestations, orgs)
    params = {"wait": "true", "timeout": 120, "attestations": attestations}
    with tempfile.TemporaryDirectory(prefix="salus-bench-net-") as tmp:
        say(f"starting {orgs} NATS servers and {orgs} peers ...")
        net = LocalNetwork.create(Path(tmp) / "net", orgs, quorum=attestations,
                                  max_txs=block_txs, max_wait_ms=block_wait_ms)
        try:
            net.up()
            urls = [p.url for p in net.peers]
            chain = net.config.chain_id
            say(f"pre-signing {txs} transactions ...")
            raws = patient_registrations(chain, 0, txs, int(time.time() * 1000), "bench")
            bodies = [txs_body(raws[i:i + batch]) for i in range(0, txs, batch)]
            say(f"submitting through {orgs} peers, batches of {batch}, {in_flight} in flight, "
                f"each waiting for {attestations} attestations ...")
            elapsed, invalid = asyncio.run(submit_all(urls, bodies, in_flight, params))

            per_batch = 100
            n_batches = int(latency_seconds * rate / per_batch)
            say(f"offering {rate} tx/s for {latency_seconds:g} s ...")
            lat_raws = patient_registrations(chain, txs, n_batches * per_batch,
                                             int(time.time() * 1000), "bench")
            lat_bodies = [txs_body(lat_raws[i:i + per_batch])
                          for i in range(0, len(lat_raws), per_batch)]
            latencies, lat_invalid, offered = asyncio.run(
                submit_at_rate(urls, lat_bodies, per_batch, per_batch / rate, params))
            status = net.status()
        finally:
            net.down()
    return {
        "benchmark": "network",
        "orgs": orgs,
        "attestations": attestations,
        "txs": txs,
        "batch": batch,
        "tx_per_s": round(txs / elapsed),
        "seconds": round(elapsed, 3),
        "p50_ms": round(percentile(latencies, 0.50), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "offered_tx_per_s": round(offered),
        "invalid": invalid + lat_invalid,
        "peers_agree": status["agree"],
        "block_txs": block_txs,
        "block_wait_ms": block_wait_ms,
        "machine": machine(),
    }
