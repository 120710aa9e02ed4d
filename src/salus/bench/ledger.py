"""`salus bench ledger`: signed transactions committed durably, through the REST API.

1. Measures single-core Ed25519 verification on this machine (the physical limit).
2. Starts a node in a child process; enrols ``signers`` members.
3. Pre-signs ``txs`` notary transactions, then submits them in batches of ``batch``
   through ``POST /v1/txs?wait=true`` from this (separate) process, several requests in
   flight, and reports committed transactions per second. Every one must be VALID.
4. Offers a fixed 5,000 tx/s (a batch of 50 every 10 ms, open loop) for
   ``latency_seconds`` and reports p50 / p99 from send to durable-commit receipt.
5. Serves inclusion and consistency proofs: in-process rate and over HTTP.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from salus.bench.harness import ChildNode, ed25519_verify_per_s, machine, percentile, progress_line
from salus.identity import Identity
from salus.ledger import transaction
from salus.ledger.ledger import Ledger
from salus.node.bootstrap import OrgSpec, admin_key_path, init_datadir
from salus.node.contracts import registry
from salus.node.datadir import DataDir

CHAIN = "salus-bench"
#: The benchmark measures what one node takes from one client address as fast as it
#: will, after one admin enrols 10,000 signers at once: far past the default
#: per-address and per-signer budgets (docs/operations.md, "Rate limits"), so its node
#: lifts them explicitly. They stay on, so the limiter's work is in what is measured.
NODE_LIMITS = ("--tx-rate-per-address", "1000000", "--tx-burst-per-address", "1000000",
               "--tx-rate-per-signer", "1000000", "--tx-burst-per-signer", "1000000")


class Signers:
    def __init__(self, n: int) -> None:
        self.keys = [Identity.from_seed(hashlib.sha256(b"bench-%d" % i).digest()) for i in range(n)]
        self.nonces = [0] * n
        self.count = 0

    def sign(self, i: int, now: int) -> bytes:
        k = i % len(self.keys)
        self.nonces[k] += 1
        self.count += 1
        digest = hashlib.sha256(b"doc-%d" % self.count).hexdigest()
        return transaction.encode(self.keys[k], chain=CHAIN, contract="notary", method="anchor",
                                  args={"hash": digest}, nonce=self.nonces[k], time=now)


def txs_body(raws: list[bytes]) -> bytes:
    return json.dumps({"txs": [base64.b64encode(r).decode() for r in raws]}).encode()


WAIT = {"wait": "true", "timeout": 120}


async def _post(client: httpx.AsyncClient, body: bytes, params: dict[str, Any]
                ) -> list[dict[str, Any]]:
    r = await client.post("/v1/txs", params=params, content=body,
                          headers={"content-type": "application/json"})
    r.raise_for_status()
    return r.json()["receipts"]


def _clients(stack: contextlib.AsyncExitStack, urls: Sequence[str], connections: int,
             timeout: float) -> list[httpx.AsyncClient]:
    """One client per node URL, closed when ``stack`` closes."""
    limits = httpx.Limits(max_connections=connections)
    clients = [httpx.AsyncClient(base_url=u, timeout=timeout, limits=limits) for u in urls]
    for client in clients:
        stack.push_async_callback(client.aclose)
    return clients


async def submit_all(urls: Sequence[str], bodies: list[bytes], in_flight: int,
                      params: dict[str, Any] = WAIT) -> tuple[float, int]:
    """Post every body, ``in_flight`` at a time, spread over ``urls`` (each a node)."""
    async with contextlib.AsyncExitStack() as stack:
        clients = _clients(stack, urls, in_flight, 180)
        queue = list(reversed(bodies))
        invalid = 0

        async def worker(client: httpx.AsyncClient) -> None:
            nonlocal invalid
            while queue:
                receipts = await _post(client, queue.pop(), params)
                invalid += sum(r["code"] != "VALID" for r in receipts)

        start = time.perf_counter()
        await asyncio.gather(*(worker(clients[i % len(clients)]) for i in range(in_flight)))
        return time.perf_counter() - start, invalid


async def submit_at_rate(urls: Sequence[str], bodies: list[bytes], per_batch: int, interval: float,
                   params: dict[str, Any] = WAIT) -> tuple[list[float], int, float]:
    """Post one body every ``interval`` seconds (a fixed offered load), in turn to each of
    ``urls``; every transaction of a body gets that request's latency."""
    latencies: list[float] = []
    invalid = 0
    async with contextlib.AsyncExitStack() as stack:
        clients = _clients(stack, urls, 400, 60)

        async def one(client: httpx.AsyncClient, body: bytes) -> None:
            nonlocal invalid
            sent = time.perf_counter()
            receipts = await _post(client, body, params)
            done = time.perf_counter()
            invalid += sum(r["code"] != "VALID" for r in receipts)
            latencies.extend([(done - sent) * 1000] * per_batch)

        tasks = []
        start = time.perf_counter()
        for i, body in enumerate(bodies):
            delay = start + i * interval - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(clients[i % len(clients)], body)))
        await asyncio.gather(*tasks)
        offered = per_batch / interval
    return latencies, invalid, offered


def _enrol(url: str, admin: Identity, keys: Signers, batch: int) -> None:
    now = time.time_ns() // 1_000_000
    enrol = [transaction.encode(admin, chain=CHAIN, contract="membership", method="enrol",
                                args={"org": "bench-hospital", "member": k.did, "roles": ["clinician"]},
                                nonce=i + 1, time=now)
             for i, k in enumerate(keys.keys)]
    _, invalid = asyncio.run(submit_all([url], [txs_body(enrol[i:i + batch])
                                               for i in range(0, len(enrol), batch)], 1))
    if invalid:
        raise RuntimeError(f"{invalid} enrolments failed")


def _proofs(url: str, ledger_file: Path, samples: int = 2000) -> dict[str, float]:
    ledger = Ledger.open(ledger_file, registry())
    try:
        size = ledger.log_size
        for i in range(samples):  # warm the node cache, as a serving node's is
            ledger.inclusion_proof((i * 7919) % size, size)
            ledger.consistency_proof(1 + (i * 104729) % size, size)
        start = time.perf_counter()
        for i in range(samples):
            ledger.inclusion_proof((i * 7919) % size, size)
            ledger.consistency_proof(1 + (i * 104729) % size, size)
        in_process = 2 * samples / (time.perf_counter() - start)
        leaves = [ledger.store.tx_by_seq((i * 7919) % size).id.hex() for i in range(200)]
    finally:
        ledger.close()

    def http_rate(clients: int = 4, per_client: int = 500) -> float:
        def worker(k: int) -> None:
            with httpx.Client(base_url=url) as c:
                for j in range(per_client):
                    r = c.get("/v1/log/proof", params={"hash": leaves[(k + j) % len(leaves)],
                                                       "tree_size": size})
                    r.raise_for_status()

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return clients * per_client / (time.perf_counter() - start)

    return {"proofs_per_s_in_process": round(in_process),
            "proofs_per_s_http": round(http_rate()), "proof_tree_size": size}


def run(txs: int = 50_000, signers: int = 500, batch: int = 1000, latency_seconds: float = 10.0,
        in_flight: int = 6, progress: Console | None = None, data: Path | None = None
        ) -> dict[str, Any]:
    say = progress_line(progress)

    say("measuring Ed25519 verification on one core ...")
    verify_rate = ed25519_verify_per_s()
    with tempfile.TemporaryDirectory(prefix="salus-bench-") as tmp:
        root = data or Path(tmp)
        init_datadir(root, CHAIN, [OrgSpec("bench-hospital", "hospital", "Bench Hospital")])
        # A signer's nonces must arrive in order: requests in flight may be reordered, so no
        # signer appears twice within the window of requests that can overtake each other.
        signers = max(signers, batch * (in_flight + 2), 50 * 200)
        admin = Identity.load(admin_key_path(DataDir(root), "bench-hospital"))
        keys = Signers(signers)
        with ChildNode(root, "--no-records", "--no-supply", *NODE_LIMITS) as node:
            _enrol(node.url, admin, keys, batch)
            say(f"pre-signing {txs} transactions from {signers} signers ...")
            now = time.time_ns() // 1_000_000
            raws = [keys.sign(i, now) for i in range(txs)]
            bodies = [txs_body(raws[i:i + batch]) for i in range(0, txs, batch)]
            say(f"submitting in batches of {batch}, {in_flight} requests in flight ...")
            elapsed, invalid = asyncio.run(submit_all([node.url], bodies, in_flight))
            tx_per_s = txs / elapsed

            rate, per_batch = 5000, 50
            n_batches = int(latency_seconds * rate / per_batch)
            latencies: list[float] = []
            lat_invalid, offered = 0, 0.0
            if n_batches:  # --latency-seconds 0 (or too short for a batch): no latency run
                say(f"offering {rate} tx/s for {latency_seconds:g} s ...")
                now = time.time_ns() // 1_000_000
                lat_raws = [keys.sign(i, now) for i in range(n_batches * per_batch)]
                lat_bodies = [txs_body(lat_raws[i:i + per_batch])
                              for i in range(0, len(lat_raws), per_batch)]
                latencies, lat_invalid, offered = asyncio.run(
                    submit_at_rate([node.url], lat_bodies, per_batch, per_batch / rate))
            say("serving proofs ...")
            proofs = _proofs(node.url, DataDir(root).ledger_file)
    return {
        "benchmark": "ledger",
        "txs": txs,
        "signers": signers,
        "batch": batch,
        "tx_per_s": round(tx_per_s),
        "seconds": round(elapsed, 3),
        "invalid": invalid + lat_invalid,
        "ed25519_verify_per_s_per_core": round(verify_rate),
        "physical_limit_tx_per_s": round(verify_rate * (machine()["cores"] or 1)),
        "p50_ms_at_5000": round(percentile(latencies, 0.50), 2) if latencies else None,
        "p99_ms_at_5000": round(percentile(latencies, 0.99), 2) if latencies else None,
        "offered_tx_per_s": round(offered),
        **proofs,
        "machine": machine(),
    }


def growth(checkpoints: tuple[int, ...] = (10_000, 100_000, 1_000_000), batch: int = 1000,
           in_flight: int = 6, progress: Console | None = None) -> dict[str, Any]:
    """Throughput and proof serving as the log grows through ``checkpoints`` leaves."""
    signers = batch * (in_flight + 2)
    rows = []
    with tempfile.TemporaryDirectory(prefix="salus-growth-") as tmp:
        root = Path(tmp)
        init_datadir(root, CHAIN, [OrgSpec("bench-hospital", "hospital", "Bench Hospital")])
        admin = Identity.load(admin_key_path(DataDir(root), "bench-hospital"))
        keys = Signers(signers)
        with ChildNode(root, "--no-records", "--no-supply", *NODE_LIMITS) as node:
            _enrol(node.url, admin, keys, batch)
            size = len(keys.keys)
            for target in checkpoints:
                todo = max(0, target - size)
                elapsed, invalid, done = 0.0, 0, 0
                while done < todo:  # in slices, so a million pre-signed txs never sit in memory
                    n = min(100_000, todo - done)
                    now = time.time_ns() // 1_000_000
                    raws = [keys.sign(i, now) for i in range(n)]
                    bodies = [txs_body(raws[i:i + batch]) for i in range(0, n, batch)]
                    seconds, bad = asyncio.run(submit_all([node.url], bodies, in_flight))
                    elapsed, invalid, done = elapsed + seconds, invalid + bad, done + n
                    if progress:
                        progress.print(f"[dim]growth:[/] {size + done} leaves, "
                                       f"{done / elapsed:,.0f} tx/s")
                size += done
                proofs = _proofs(node.url, DataDir(root).ledger_file)
                rows.append({"log_size": proofs["proof_tree_size"],
                             "segment_txs": done,
                             "segment_tx_per_s": round(done / elapsed) if elapsed else None,
                             "invalid": invalid, **proofs})
    return {"benchmark": "ledger-growth", "batch": batch, "checkpoints": rows, "machine": machine()}
