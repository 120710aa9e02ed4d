"""``salus bench claims``: prior authorisation and claims through ``Claim/$submit``
(the benchmark itself: :mod:`salus.claims.bench`, imported when it runs)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from salus.cli.common import BenchJsonOpt, err


def command(
    members: Annotated[int, typer.Option(help="Members with coverage")] = 1000,
    requests: Annotated[int, typer.Option(
        help="Prior-authorisation requests to time, in flight at once")] = 2000,
    in_flight: Annotated[int, typer.Option(help="Requests outstanding")] = 32,
    latency_rate: Annotated[int, typer.Option(help="Requests/s offered for p50/p99")] = 200,
    latency_seconds: Annotated[float, typer.Option(help="Length of the latency run")] = 10.0,
    claims: Annotated[int, typer.Option(
        help="Claims citing an approved authorisation to time (at most one per member)")
    ] = 500,
    as_json: BenchJsonOpt = False,
) -> None:
    """Da Vinci PAS prior authorisation and claims through POST /fhir/Claim/$submit."""
    from salus.claims import bench

    options = bench.Options(members=members, requests=requests, in_flight=in_flight,
                            latency_rate=latency_rate, latency_seconds=latency_seconds,
                            claims=claims)
    print(json.dumps(bench.run(options, progress=None if as_json else err)))
