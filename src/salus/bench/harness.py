"""Shared pieces of the benchmarks: a node in a child process, percentiles, the machine."""

from __future__ import annotations

import asyncio
import hashlib
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import nacl.bindings
import nacl.signing

from salus.client import SalusClient, SalusError
from salus.identity import Identity
from salus.ledger import transaction
from salus.ports import free_port

if TYPE_CHECKING:
    from rich.console import Console


class ChildNode:
    """`salus node` on 127.0.0.1 in its own process group; always stopped on exit."""

    def __init__(self, data: Path, *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        exe = Path(sys.executable).with_name("salus")
        self.proc = subprocess.Popen(
            [str(exe), "node", "--data", str(data), "--port", str(self.port), *extra],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            with SalusClient(self.url) as probe:
                probe.wait_ready(60)
        except SalusError:
            self.stop()
            raise

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def __enter__(self) -> ChildNode:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def seeded_identity(label: str) -> Identity:
    """A deterministic identity for benchmark actors (never for real keys)."""
    return Identity.from_seed(hashlib.sha256(label.encode()).digest())


def patient_registrations(chain_id: str, start: int, count: int, now_ms: int,
                          label: str = "patient") -> list[bytes]:
    """``count`` signed self-registrations of fresh patients (numbered from ``start``):
    each from its own key with nonce 1, so they are valid in any order and on any peer."""
    return [transaction.encode(seeded_identity(f"{label}-{i}"), chain=chain_id,
                               contract="membership", method="register_patient", args={},
                               nonce=1, time=now_ms)
            for i in range(start, start + count)]


T = TypeVar("T")


async def drive(one: Callable[[T, float], Awaitable[None]], items: list[T], workers: int,
                interval: float | None = None) -> float:
    """Call ``one(item, due)`` for every item: ``workers`` at a time, each starting its
    next as soon as its last is done (closed loop), or one every ``interval`` seconds
    whatever the answers (open loop); ``due`` is the ``perf_counter`` time the call was
    due. Returns the elapsed seconds."""
    start = time.perf_counter()
    if interval is None:
        queue = list(reversed(items))

        async def worker() -> None:
            while queue:
                await one(queue.pop(), time.perf_counter())
        await asyncio.gather(*(worker() for _ in range(workers)))
    else:
        tasks = []
        for i, item in enumerate(items):
            due = start + i * interval
            if (delay := due - time.perf_counter()) > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(item, due)))
        await asyncio.gather(*tasks)
    return time.perf_counter() - start


def progress_line(progress: Console | None) -> Callable[[str], None]:
    """How a benchmark says what it is doing: a dim ``bench:`` line on ``progress``, or
    nothing without one (``--json``)."""
    def say(msg: str) -> None:
        if progress:
            progress.print(f"[dim]bench:[/] {msg}")
    return say


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ed25519_verify_per_s(seconds: float = 1.0) -> float:
    """Single-core libsodium verification rate on this machine, right now."""
    key = nacl.signing.SigningKey.generate()
    pk = bytes(key.verify_key)
    signed = bytes(key.sign(os.urandom(256)))
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(500):
            nacl.bindings.crypto_sign_open(signed, pk)
        n += 500
    return n / (time.perf_counter() - start)


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "system": f"{platform.system()} {platform.release()}"}


class Population:
    """A benchmark's own signers against one node: their transactions signed here (nonces
    kept here, in submission order) and committed through an admin's client."""

    def __init__(self, url: str, admin: Identity, chain: str) -> None:
        self.url = url
        self.chain = chain
        self.admin = SalusClient(url, admin)
        self.nonces: dict[str, int] = {}

    def close(self) -> None:
        self.admin.close()

    def sign(self, who: Identity, contract: str, method: str, args: dict[str, Any]) -> bytes:
        nonce = self.nonces[who.did] = self.nonces.get(who.did, 0) + 1
        return transaction.encode(who, chain=self.chain, contract=contract, method=method,
                                  args=args, nonce=nonce, time=time.time_ns() // 1_000_000)

    def commit(self, raws: list[bytes], what: str) -> None:
        """Commit ``raws`` 500 at a time; each must be VALID."""
        for i in range(0, len(raws), 500):
            receipts = self.admin.submit_many(raws[i:i + 500], wait=True, timeout=120)
            bad = [r for r in receipts if not r.valid]
            if bad:
                raise RuntimeError(f"{what}: {len(bad)} failed, first {bad[0].code} {bad[0].reason}")

