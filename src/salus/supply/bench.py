"""`salus bench supply`: the drug supply chain through the REST API, from a separate
process (issue 16 item 11).

1. Starts a node in a child process (no records gateway) with a manufacturer, its
   supply operator and its GS1 company prefix.
2. Commissions packs on the ledger with ``supply.commission`` transactions of up to
   :data:`ITEMS_PER_COMMISSION` item keys each, through ``POST /v1/txs``, until the
   ledger holds each pack count of ``packs`` (10^4 by default; ``--packs`` adds more).
   Serials are random-looking, as GS1 recommends.
3. At each pack count, the verification half (:func:`verify_half`), then the capture
   half (:func:`capture_half`, :mod:`salus.supply.bench_capture`).
   Verification:
   ``verify_per_s``: single ``GET /vrs/gtin/…/lot/…/ser/…?exp=…&context=dispense``
   requests, ``in_flight`` outstanding (closed loop), each for a random commissioned pack,
   every answer checked to be ``verified``; ``p50_ms`` / ``p99_ms``: the same requests
   offered open loop at ``latency_rate`` per second for ``latency_seconds``, from send to
   answer. The load comes from :mod:`salus.bench.keepalive` (``--client aiohttp``: as
   records/bench), on uvloop.

The result is one JSON object; each half of the benchmark adds its figures to it
(:data:`HALVES`: the capture half, ``capture_events_per_s``, goes there beside the
verification half).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rich.console import Console

from salus.bench import keepalive
from salus.bench.harness import ChildNode, drive, machine, percentile, progress_line, seeded_identity
from salus.bench.ledger import NODE_LIMITS
from salus.client import SalusClient
from salus.identity import Identity
from salus.ledger import transaction
from salus.node.bootstrap import OrgSpec, admin_key_path, init_datadir
from salus.node.datadir import DataDir
from salus.supply import bench_capture as supply_capture
from salus.supply.contracts.layout import item_key
from salus.supply.identifiers import Identity as Pack
from salus.supply.identifiers import Kind

CHAIN = "salus-bench-supply"
MANUFACTURER, REGULATOR = "bench-pharmaco", "bench-regulator"
DISTRIBUTOR = "bench-distributor"
PREFIX, GTIN = "9506000", "09506000134352"
LOT, EXPIRY, LABEL_EXP = "BENCH-LOT-1", 20301231, "301231"
#: Item keys per commission: as many as fit in the default largest transaction
#: (64 KiB: 960 keys of 67 bytes each, with the rest of the call).
ITEMS_PER_COMMISSION = 960
#: Commission transactions per ``POST /v1/txs`` (each ~64 KiB).
TXS_PER_REQUEST = 50


def serial(i: int) -> str:
    """The ``i``-th pack's serial: 16 random-looking characters (GS1 recommends
    serials nobody can guess from another)."""
    return hashlib.sha256(b"bench-serial-%d" % i).hexdigest()[:16].upper()


@dataclass
class Bench:
    """The node and what is on its ledger, shared by the benchmark's halves."""

    url: str
    data: Path
    operator: Identity
    packs: int = 0
    nonce: int = 0
    captured: int = 0  # capture documents posted so far
    say: Callable[[str], None] = field(default=lambda _: None)

    def sign(self, method: str, args: dict[str, Any]) -> bytes:
        self.nonce += 1
        return transaction.encode(self.operator, chain=CHAIN, contract="supply", method=method,
                                  args=args, nonce=self.nonce, time=time.time_ns() // 1_000_000)

    def commission_to(self, total: int) -> float:
        """Commission packs until the ledger holds ``total``; the seconds it took."""
        start = time.perf_counter()
        raws = []
        for first in range(self.packs, total, ITEMS_PER_COMMISSION):
            last = min(first + ITEMS_PER_COMMISSION, total)
            items = [item_key(Pack(Kind.SGTIN, gtin=GTIN, serial=serial(i)))
                     for i in range(first, last)]
            event = hashlib.sha256(b"bench-commission-%d" % first).hexdigest()
            raws.append(self.sign("commission", {
                "event": f"ni:///sha-256;{event}?ver=CBV2.0", "gtin": GTIN, "lot": LOT,
                "expiry": EXPIRY, "items": items}))
        with SalusClient(self.url) as client:
            for i in range(0, len(raws), TXS_PER_REQUEST):
                receipts = client.submit_many(raws[i:i + TXS_PER_REQUEST], wait=True, timeout=120)
                bad = [r for r in receipts if not r.valid]
                if bad:
                    raise RuntimeError(f"commission: {len(bad)} failed, first {bad[0].code} "
                                       f"{bad[0].reason}")
                self.say(f"{min(total, self.packs + (i + TXS_PER_REQUEST) * ITEMS_PER_COMMISSION):,} "
                         "packs commissioned")
        self.packs = total
        return time.perf_counter() - start


def _setup(root: Path) -> tuple[Identity, Identity, Identity]:
    """The chain's founding organisations; (manufacturer's admin, regulator's admin, the
    manufacturer's supply operator)."""
    init_datadir(root, CHAIN, [OrgSpec(MANUFACTURER, "manufacturer", "Bench PharmaCo"),
                               OrgSpec(DISTRIBUTOR, "distributor", "Bench Distributor"),
                               OrgSpec(REGULATOR, "regulator", "Bench Regulator")])
    datadir = DataDir(root)
    return (Identity.load(admin_key_path(datadir, MANUFACTURER)),
            Identity.load(admin_key_path(datadir, REGULATOR)),
            seeded_identity("bench-supply-operator"))


def _paths(bench: Bench, n: int, rng: random.Random) -> list[str]:
    """``n`` verification requests, each for a random commissioned pack."""
    return [f"/vrs/gtin/{GTIN}/lot/{LOT}/ser/{serial(rng.randrange(bench.packs))}"
            f"?exp={LABEL_EXP}&context=dispense" for _ in range(n)]


def _verified(status: int, body: bytes) -> str | None:
    """What is wrong with a verification's answer (every pack here is genuine)."""
    if status != 200 or b'"data":{"verified":true}' not in body:
        return f"{status} {body[:200]!r}"
    return None


async def _fire_aiohttp(url: str, paths: list[str], in_flight: int,
                        interval: float | None = None) -> tuple[float, list[float]]:
    """records/bench's load generator: aiohttp, ``in_flight`` workers (closed loop) or one
    request every ``interval`` seconds (open loop)."""
    try:
        import aiohttp
    except ImportError:
        raise SystemExit("salus bench supply --client aiohttp needs aiohttp: "
                         "pip install 'salus[bench]'") from None
    latencies: list[float] = []
    failures: list[str] = []
    connector = aiohttp.TCPConnector(limit=in_flight)
    async with aiohttp.ClientSession(url, connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=60)) as client:

        async def one(path: str, _due: float) -> None:
            sent = time.perf_counter()
            async with client.get(path) as r:
                body = await r.read()
            latencies.append((time.perf_counter() - sent) * 1000)
            if (wrong := _verified(r.status, body)) is not None:
                failures.append(wrong)

        elapsed = await drive(one, paths, in_flight, interval)
    if failures:
        raise RuntimeError(f"{len(failures)} verifications failed, first: {failures[0]}")
    return elapsed, latencies


def _fire(url: str, paths: list[str], in_flight: int, client: str,
          interval: float | None = None) -> tuple[float, list[float]]:
    """GET every path with ``client``'s load generator, on uvloop when it is there (as
    the node runs): elapsed seconds and latencies (ms). Every answer must verify."""
    try:
        from uvloop import run as run_loop
    except ImportError:
        run_loop = asyncio.run  # type: ignore[assignment]
    if client == "aiohttp":
        return run_loop(_fire_aiohttp(url, paths, in_flight, interval))
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    return run_loop(keepalive.fire(parts.hostname, parts.port, paths, in_flight, _verified,
                                   interval))


@dataclass(frozen=True)
class Options:
    """What each half measures (the verification half's, so far)."""

    verifications: int = 20_000
    in_flight: int = 32
    latency_rate: int = 1000
    latency_seconds: float = 10.0
    #: The load generator: "keepalive" (salus.bench.keepalive) or "aiohttp".
    client: str = "keepalive"
    #: Capture: EPCIS documents of 100 events, and how many are posted at once.
    capture_documents: int = 100
    capture_in_flight: int = 4


def verify_half(bench: Bench, options: Options) -> dict[str, Any]:
    """The verification figures at the ledger's current pack count."""
    rng = random.Random(bench.packs)
    _fire(bench.url, _paths(bench, 2000, rng), options.in_flight, options.client)  # warm up
    bench.say(f"{options.verifications:,} verifications, {options.in_flight} in flight ...")
    elapsed, busy = _fire(bench.url, _paths(bench, options.verifications, rng),
                          options.in_flight, options.client)
    n = max(1, int(options.latency_rate * options.latency_seconds))
    bench.say(f"offering {options.latency_rate:,} verifications/s for "
              f"{options.latency_seconds:g} s ...")
    offered_s, latencies = _fire(bench.url, _paths(bench, n, rng),
                                 max(options.in_flight, 256), options.client,
                                 1 / options.latency_rate)
    return {"packs": bench.packs,
            "verify_per_s": round(options.verifications / elapsed),
            "p50_ms": round(percentile(latencies, 0.50), 2),
            "p99_ms": round(percentile(latencies, 0.99), 2),
            "offered_per_s": round(n / offered_s),
            "p99_ms_saturated": round(percentile(busy, 0.99), 2)}


def capture_half(bench: Bench, options: Options) -> dict[str, Any]:
    """The capture figures (:mod:`salus.supply.bench_capture`): documents of 100 events
    through ``POST /epcis/capture``; each run captures new documents."""
    first = bench.captured
    bench.captured += options.capture_documents
    return supply_capture.measure(bench.url, bench.operator, PREFIX, first,
                                  options.capture_documents, options.capture_in_flight,
                                  bench.say)


#: The benchmark's halves, each adding its figures at a pack count.
HALVES: list[Callable[[Bench, Options], dict[str, Any]]] = [verify_half, capture_half]


def run(packs: tuple[int, ...] = (10_000,), options: Options | None = None,
        progress: Console | None = None) -> dict[str, Any]:
    options = options or Options()

    say = progress_line(progress)

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="salus-bench-supply-") as tmp:
        root = Path(tmp)
        admin, regulator, operator = _setup(root)
        # Setup commits ~1,000 transactions of one signer: past the per-signer budget,
        # which the measured verifications never touch (docs/benchmarks.md).
        with ChildNode(root, "--no-records", *NODE_LIMITS) as node:
            with SalusClient(node.url, admin) as c:
                c.call("membership", "enrol", {"org": MANUFACTURER, "member": operator.did,
                                               "roles": ["supply_operator"]})
            with SalusClient(node.url, regulator) as c:
                c.call("supply", "register_prefix", {"prefix": PREFIX, "org": MANUFACTURER})
                for gln, org in zip(supply_capture.glns(PREFIX), (MANUFACTURER, DISTRIBUTOR),
                                    strict=True):
                    c.call("supply", "register_party", {"gln": gln, "org": org})
            bench = Bench(node.url, root, operator, say=say)
            for target in sorted(packs):
                say(f"commissioning up to {target:,} packs ...")
                seconds = bench.commission_to(target)
                row: dict[str, Any] = {"commission_packs_per_s": round(
                    (target - rows[-1]["packs"] if rows else target) / seconds)}
                for half in HALVES:
                    row.update(half(bench, options))
                rows.append(row)
    first = rows[0]
    return {"benchmark": "supply",
            **{k: first[k] for k in ("verify_per_s", "p50_ms", "p99_ms",
                                     "capture_events_per_s")},
            "packs": first["packs"], "by_packs": rows,
            "in_flight": options.in_flight, "latency_rate": options.latency_rate,
            "client": options.client,
            "machine": machine()}
