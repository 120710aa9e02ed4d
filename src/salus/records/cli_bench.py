"""``salus bench records``: FHIR ingest and audited reads through the records gateway
(the benchmark itself: :mod:`salus.records.bench`, imported when it runs)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from salus.cli.common import BenchJsonOpt, err


def command(
    reads: Annotated[int, typer.Option(help="Consent-checked reads to time")] = 20_000,
    patients: Annotated[int, typer.Option(help="Patients, one FHIR Bundle each")] = 200,
    clinicians: Annotated[int, typer.Option(help="Clinicians reading")] = 100,
    in_flight: Annotated[int, typer.Option(help="Read requests outstanding")] = 32,
    latency_rate: Annotated[int, typer.Option(help="Reads/s offered for p50/p99")] = 1000,
    latency_seconds: Annotated[float, typer.Option(help="Length of the latency run")] = 10.0,
    as_json: BenchJsonOpt = False,
) -> None:
    """FHIR ingest and audited reads through the records gateway."""
    from salus.records import bench

    print(json.dumps(bench.run(patients=patients, clinicians=clinicians, reads=reads,
                               in_flight=in_flight, latency_rate=latency_rate,
                               latency_seconds=latency_seconds,
                               progress=None if as_json else err)))
