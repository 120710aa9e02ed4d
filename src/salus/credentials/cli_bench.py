"""``salus bench credentials``: credentials issued in anchored batches and verified
offline (the benchmark itself: :mod:`salus.credentials.bench`, imported when it runs)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from salus.cli.common import BenchJsonOpt, err


def command(
    credentials: Annotated[int, typer.Option(help="Credentials to issue and verify")] = 20_000,
    batch_size: Annotated[int, typer.Option(help="Credentials per anchored batch")] = 1000,
    workers: Annotated[int | None, typer.Option(help="Verifying processes (default: one "
                                                     "per core)")] = None,
    as_json: BenchJsonOpt = False,
) -> None:
    """Issue credentials in anchored batches, then verify every step of each offline."""
    from salus.credentials import bench

    print(json.dumps(bench.run(credentials=credentials, batch_size=batch_size, workers=workers,
                               progress=None if as_json else err)))
