"""``salus bench rewards``: visits awarded by the node's rewards service, and patients'
statements (the benchmark itself: :mod:`salus.rewards.bench`, imported when it runs)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from salus.cli.common import BenchJsonOpt, err, fail


def command(
    patients: Annotated[int, typer.Option(help="Patients enrolled in the programme")] = 200,
    visits: Annotated[int, typer.Option(help="Kept visits per patient (1-15: the annual "
                                             "cap)")] = 2,
    feeds: Annotated[int, typer.Option(help="EHR feeds ingesting at once")] = 4,
    statements: Annotated[int, typer.Option(help="Statement reads to time")] = 5_000,
    in_flight: Annotated[int, typer.Option(help="Statement reads outstanding")] = 16,
    latency_rate: Annotated[int, typer.Option(help="Statement reads/s offered for p50/p99")] = 200,
    latency_seconds: Annotated[float, typer.Option(help="Length of the latency run")] = 5.0,
    as_json: BenchJsonOpt = False,
) -> None:
    """Visits ingested and awarded by the node's rewards service; patients' statements."""
    from salus.rewards import bench

    if not 1 <= visits <= bench.MAX_VISITS:
        fail(f"--visits is 1 to {bench.MAX_VISITS} (the annual cap)")
    print(json.dumps(bench.run(patients=patients, visits=visits, feeds=feeds,
                               statements=statements, in_flight=in_flight,
                               latency_rate=latency_rate, latency_seconds=latency_seconds,
                               progress=None if as_json else err)))
