"""The capture half of `salus bench supply`: EPCIS documents through ``POST /epcis/capture``.

1. The benchmark's chain (:mod:`salus.supply.bench`) has the manufacturer's and a
   distributor's party GLNs registered; the node enrols the manufacturer's supply
   service key itself (its admin key is in the data directory).
2. ``documents`` EPCIS 2.0 documents of 100 events each, as a packaging line sends them:
   60 commissioning events (a pack each, lot and expiry in the ILMD), 20 packing events
   (three packs into a case), 10 shipments of two cases to the distributor, each with its
   TransactionEvent (the DSCSA transaction information). Documents are made before the
   clock starts.
3. They are posted by the manufacturer's supply operator with ``in_flight`` outstanding;
   each answer is the finished capture job (schema, hashes, one ledger transaction of 100
   steps committed, the repository written). ``capture_events_per_s`` counts events.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx

from salus.bench.harness import percentile
from salus.identity import Identity
from salus.supply import epcis_events as ev
from salus.supply.identifiers import check_digit

PREFIX_LEN = 7
EVENTS_PER_DOCUMENT = 100


def _gln(prefix: str, n: int) -> str:
    body = f"{prefix}{n:05d}"
    return body + check_digit(body)


def glns(prefix: str) -> tuple[str, str]:
    """The manufacturer's and the distributor's party GLNs, under ``prefix``."""
    return _gln(prefix, 1), _gln(prefix, 2)


def gtin(prefix: str, n: int) -> str:
    body = f"0{prefix}{n:05d}"
    return body + check_digit(body)


def document(prefix: str, n: int, now_ms: int) -> bytes:
    """The ``n``-th packaging line document: 100 events (module docstring)."""
    maker_gln, buyer_gln = glns(prefix)
    place, maker = ev.sgln(maker_gln, PREFIX_LEN), ev.pgln(maker_gln, PREFIX_LEN)
    buyer = ev.pgln(buyer_gln, PREFIX_LEN)
    product = gtin(prefix, 1 + n % 50)
    packs = [ev.sgtin(product, f"B{n:06d}S{i:02d}", PREFIX_LEN) for i in range(60)]
    cases = []
    for c in range(20):
        body = f"0{prefix}{n * 20 + c:09d}"
        cases.append(ev.sscc(body + check_digit(body), PREFIX_LEN))
    events = [ev.commissioning([p], f"L{n % 97}", date(2030, 12, 31), now_ms, place)
              for p in packs]
    events += [ev.packing(cases[c], packs[3 * c:3 * c + 3], now_ms + 1, place)
               for c in range(20)]
    for s in range(10):
        po = [("po", f"urn:epcglobal:cbv:bt:{buyer_gln}:po-{n}-{s}")]
        shipped = cases[2 * s:2 * s + 2]
        events.append(ev.sale(shipped, now_ms + 2, source=maker, destination=buyer,
                              transactions=po))
        events.append(ev.shipping(shipped, now_ms + 3, source=maker, destination=buyer,
                                  place=place, transactions=po))
    assert len(events) == EVENTS_PER_DOCUMENT
    return json.dumps(ev.document(events, now_ms)).encode()


async def capture(url: str, token: str, bodies: list[bytes], in_flight: int
                  ) -> tuple[float, list[float], list[dict[str, Any]]]:
    """Post every document with ``in_flight`` outstanding: (seconds, latencies, jobs)."""
    queue = list(enumerate(bodies))
    latencies: list[float] = []
    jobs: list[dict[str, Any]] = []
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/ld+json"}
    async with httpx.AsyncClient(base_url=url, timeout=120, headers=headers) as client:
        async def worker() -> None:
            while queue:
                _, body = queue.pop()
                sent = time.perf_counter()
                resp = await client.post("/epcis/capture", content=body)
                latencies.append(time.perf_counter() - sent)
                if resp.status_code != 202:
                    raise RuntimeError(f"capture answered {resp.status_code}: {resp.text[:300]}")
                jobs.append(resp.json())

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(in_flight)))
        return time.perf_counter() - start, latencies, jobs


def measure(url: str, operator: Identity, prefix: str, first: int, documents: int,
            in_flight: int, say: Callable[[str], None]) -> dict[str, Any]:
    """Capture documents ``first`` .. ``first + documents - 1``; the capture figures of
    the JSON result."""
    from salus.client import SalusClient

    now = time.time_ns() // 1_000_000
    bodies = [document(prefix, n, now) for n in range(first, first + documents)]
    with SalusClient(url, operator) as client:
        token = client.token()
    say(f"capturing {documents} documents of {EVENTS_PER_DOCUMENT} events, "
        f"{in_flight} in flight")
    seconds, latencies, jobs = asyncio.run(capture(url, token, bodies, in_flight))
    failed = [j for j in jobs if not j["success"]]
    if failed:
        raise RuntimeError(f"{len(failed)} captures refused: {failed[0]['errors']}")
    events = documents * EVENTS_PER_DOCUMENT
    return {"capture_documents": documents, "capture_events": events,
            "capture_in_flight": in_flight,
            "capture_events_per_s": round(events / seconds),
            "capture_p50_ms": round(percentile(latencies, 0.5) * 1000, 1),
            "capture_p99_ms": round(percentile(latencies, 0.99) * 1000, 1)}
