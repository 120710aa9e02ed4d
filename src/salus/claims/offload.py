"""The PAS reading and answering of ``Claim/$submit``, in the node's worker processes
(:mod:`salus.workers`), out of the node's event loop and GIL.

Reading a request Bundle and building its answer validate every resource against the FHIR
R4 models (:mod:`salus.claims.pas_request`, :mod:`salus.claims.pas_response`): a few
milliseconds of pure CPU each, which in the node process held every other request up.
The functions are the same pure ones, only run elsewhere; a refusal crosses back as its
issues and status (an exception with its own constructor arguments does not pickle) and
is raised again here, the same :class:`PasRefused`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from salus import workers
from salus.claims import pas
from salus.claims.pas_request import PasRefused, PasRequest
from salus.claims.pas_response import ItemDecision
from salus.records.fhir_ingest import Issue

T = TypeVar("T")


def _read(body: bytes) -> PasRequest | tuple[list[Issue], int]:
    try:
        return pas.read_request(body)
    except PasRefused as exc:
        return exc.issues, exc.status


async def _in_worker(fn: Callable[..., T], *args: Any) -> T:
    loop = asyncio.get_running_loop()
    pool = workers.pool()
    try:
        return await loop.run_in_executor(pool, fn, *args)
    except BrokenProcessPool:  # a worker died: a new pool, and the same pure work again
        workers.discard(pool)
        return await loop.run_in_executor(workers.pool(), fn, *args)


async def read_request(body: bytes) -> PasRequest:
    """:func:`salus.claims.pas.read_request`, in a worker process."""
    read = await _in_worker(_read, body)
    if isinstance(read, tuple):
        raise PasRefused(*read)
    return read


def _respond(request: PasRequest, decisions: Sequence[ItemDecision], kw: dict[str, Any]
             ) -> dict[str, Any]:
    return pas.response_bundle(request, decisions, **kw)


async def response_bundle(request: PasRequest, decisions: Sequence[ItemDecision],
                          **kw: Any) -> dict[str, Any]:
    """:func:`salus.claims.pas.response_bundle`, in a worker process."""
    return await _in_worker(_respond, request, tuple(decisions), kw)
