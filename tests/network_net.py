"""A real local network for tests: 3 NATS servers and 3 peers on loopback, plus a load
generator that remembers which transactions peers acknowledged as committed, and NATS
connections under the operator's or a peer's own login."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import nats
from nats.aio.client import Client as NatsClient

from salus.bench.harness import patient_registrations
from salus.network.local import LocalNetwork
from salus.ordering.jetstream import login_options


@contextlib.contextmanager
def running_network(root: Path, orgs: int = 3, **kw) -> Iterator[LocalNetwork]:
    net = LocalNetwork.create(root, orgs, max_wait_ms=20, **kw)
    try:
        net.up()
        yield net
    finally:
        net.down()


@contextlib.asynccontextmanager
async def nats_as(net: LocalNetwork, peer: int | None = None,
                  errors: list[Exception] | None = None) -> AsyncIterator[NatsClient]:
    """A NATS connection under peer ``peer``'s own login (the operator's if None);
    the server's asynchronous errors (permission violations) go to ``errors``."""
    settings = net.operator_settings() if peer is None else net.peer_settings(peer)

    async def on_error(exc: Exception) -> None:
        if errors is not None:
            errors.append(exc)

    nc = await nats.connect(settings.servers, name="test", error_cb=on_error,
                            connect_timeout=5, **login_options(settings))
    try:
        yield nc
    finally:
        await nc.close()


def publish(net: LocalNetwork, messages: list[tuple[str, bytes, dict[str, str] | None]],
            peer: int | None = 0) -> None:
    """Publish ``(subject, payload, headers)`` to the stream, in order, under peer
    ``peer``'s login (a peer's NATS login may publish there: only signatures decide
    what counts)."""
    async def run() -> None:
        async with nats_as(net, peer) as nc:
            js = nc.jetstream(timeout=10)
            for subject, payload, headers in messages:
                await js.publish(subject, payload, headers=headers)

    asyncio.run(run())


class Load:
    """Submits batches of patient registrations to the given peers in turn, waiting for
    commit; a refused or failed request is retried at the next peer. ``acked`` holds
    the ids of transactions a peer answered as committed and VALID."""

    def __init__(self, net: LocalNetwork, peers: list[int], label: str, batch: int = 50,
                 pause: float = 0.01) -> None:
        self.net = net
        self.peers = peers
        self.label = label
        self.batch = batch
        self.pause = pause
        self.acked: set[str] = set()
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._next = 0

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=120)

    def _run(self) -> None:
        turn = 0
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                raws = patient_registrations(self.net.config.chain_id, self._next, self.batch,
                                             int(time.time() * 1000), self.label)
                self._next += self.batch
                body = {"txs": [base64.b64encode(r).decode() for r in raws]}
                # Retry the same batch until some peer takes it: a resubmission is
                # harmless (the stream drops duplicates; the ledger records them).
                while not self._stop.is_set():
                    peer = self.net.peers[self.peers[turn % len(self.peers)]]
                    turn += 1
                    try:
                        r = client.post(f"{peer.url}/v1/txs", params={"wait": True, "timeout": 20},
                                        json=body)
                    except httpx.HTTPError as exc:
                        self.errors.append(f"{peer.org}: {type(exc).__name__}")
                        time.sleep(0.1)
                        continue
                    if r.status_code != 200:
                        self.errors.append(f"{peer.org}: {r.status_code}")
                        time.sleep(0.1)
                        continue
                    for receipt in r.json()["receipts"]:
                        if receipt["status"] == "committed" and receipt["code"] == "VALID":
                            self.acked.add(receipt["tx_id"])
                    break
                time.sleep(self.pause)

    def wait_for(self, count: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acked) < count:
            assert time.monotonic() < deadline, (
                f"only {len(self.acked)} of {count} acknowledged; errors: {self.errors[-5:]}")
            time.sleep(0.1)


def read_ledger(net: LocalNetwork, i: int, sql: str) -> list[tuple]:
    """Rows of ``sql`` over peer ``i``'s SQLite file, opened read-only beside the peer."""
    path = net.peers[i].data / "ledger.db"
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def ledger_txs(net: LocalNetwork, i: int) -> list[tuple[bytes, str]]:
    """Peer ``i``'s log: (tx id, code) in log order."""
    return read_ledger(net, i, "SELECT id, code FROM txs ORDER BY seq")


def head(net: LocalNetwork, i: int) -> tuple[int, str]:
    status = httpx.get(f"{net.peers[i].url}/v1/status", timeout=10).json()
    return status["height"], status["state_hash"]


def wait_converged(net: LocalNetwork, timeout: float = 90.0) -> tuple[int, str]:
    """Wait until every peer has the same height and state hash; return it."""
    deadline = time.monotonic() + timeout
    while True:
        heads = set()
        with contextlib.suppress(httpx.HTTPError):
            heads = {head(net, i) for i in range(len(net.peers))}
        if len(heads) == 1:
            return heads.pop()
        assert time.monotonic() < deadline, f"peers did not converge: {heads}"
        time.sleep(0.3)


def assert_exactly_once(net: LocalNetwork, acked: set[str]) -> None:
    """Every acknowledged transaction is VALID on every peer, exactly once, and every
    peer holds the very same log."""
    logs = [ledger_txs(net, i) for i in range(len(net.peers))]
    assert all(log == logs[0] for log in logs[1:]), "peers hold different logs"
    valid = Counter(tx_id.hex() for tx_id, code in logs[0] if code == "VALID")
    missing = [t for t in acked if valid[t] != 1]
    assert not missing, f"{len(missing)} acknowledged transactions missing or doubled"
    assert all(n == 1 for n in valid.values()), "a transaction is valid twice"

