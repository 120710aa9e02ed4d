"""``salus bench supply``: packs verified at the counter and EPCIS documents captured
(the benchmark itself: :mod:`salus.supply.bench`, imported when it runs)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from salus.cli.common import BenchJsonOpt, err, fail


def command(
    packs: Annotated[list[int] | None, typer.Option(
        help="Packs on the ledger when measuring (repeat to measure at several counts, "
             "e.g. --packs 10000 --packs 1000000)")] = None,
    verifications: Annotated[int, typer.Option(help="Verifications to time")] = 20_000,
    in_flight: Annotated[int, typer.Option(help="Verification requests outstanding")] = 32,
    latency_rate: Annotated[int, typer.Option(help="Verifications/s offered for p50/p99")] = 1000,
    latency_seconds: Annotated[float, typer.Option(help="Length of the latency run")] = 10.0,
    client: Annotated[str, typer.Option(
        help="Load generator: keepalive (lean HTTP/1.1) or aiohttp")] = "keepalive",
    capture_documents: Annotated[int, typer.Option(
        help="EPCIS documents of 100 events to capture at each pack count")] = 100,
    capture_in_flight: Annotated[int, typer.Option(help="Captures outstanding")] = 4,
    as_json: BenchJsonOpt = False,
) -> None:
    """Packs commissioned on the ledger, verified at the counter (GET /vrs/...), and EPCIS
    documents captured (POST /epcis/capture)."""
    from salus.supply import bench

    if client not in ("keepalive", "aiohttp"):
        fail("--client is keepalive or aiohttp")
    options = bench.Options(verifications=verifications, in_flight=in_flight,
                            latency_rate=latency_rate, latency_seconds=latency_seconds,
                            client=client, capture_documents=capture_documents,
                            capture_in_flight=capture_in_flight)
    print(json.dumps(bench.run(tuple(packs or (10_000,)), options,
                               progress=None if as_json else err)))
