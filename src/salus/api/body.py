"""Request bodies read by the handler itself rather than by FastAPI, so that a handler can
refuse a request (a rate limit) before its body is read, and cap how much is read. Every
JSON body is read by :func:`salus.canonical.loads_strict` (duplicate keys, nesting, number
ranges), then checked against its model.

FastAPI needs real annotations here, so no ``from __future__ import annotations``.
"""

import asyncio
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect

from salus.api.errors import ApiError
from salus.canonical import JSONError, JSONValue, loads_strict

M = TypeVar("M", bound=BaseModel)
#: A body must arrive within this many seconds, plus one for every MIN_BODY_RATE bytes
#: the endpoint may take: a client that declares a body and trickles it would otherwise
#: hold its connection and task for as long as it likes (uvicorn has no body timeout).
BODY_SECONDS = 30.0
MIN_BODY_RATE = 64 * 1024


async def read_capped(request: Request, limit: int | None) -> bytes:
    """The body, or 413 ``TOO_LARGE`` as soon as it is known to exceed ``limit`` bytes,
    or 408 ``BODY_TIMEOUT`` if it has not all arrived in time (:data:`BODY_SECONDS`)."""
    declared = request.headers.get("content-length", "")
    if limit is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    seconds = BODY_SECONDS + (limit or int(declared or 0)) / MIN_BODY_RATE
    chunks, size = [], 0
    try:
        async with asyncio.timeout(seconds):
            async for chunk in request.stream():
                size += len(chunk)
                if limit is not None and size > limit:
                    raise _too_large(limit)
                chunks.append(chunk)
    except ClientDisconnect:  # gone mid-body: nobody to answer, nothing worth a traceback
        raise ApiError(400, "CLIENT_DISCONNECTED", "the client closed the connection before "
                                                   "sending the whole body") from None
    except TimeoutError:
        raise ApiError(408, "BODY_TIMEOUT", f"the body did not arrive within {seconds:.0f} s",
                       {"Connection": "close"}) from None
    return b"".join(chunks)


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "TOO_LARGE", f"this endpoint takes at most {limit} bytes")


def loads_body(raw: bytes, *, decimals: bool = False) -> JSONValue:
    """``raw`` read as strict JSON (:func:`~salus.canonical.loads_strict`), or 400
    ``INVALID_JSON`` saying why not."""
    try:
        return loads_strict(raw, decimals=decimals)
    except JSONError as exc:
        raise ApiError(400, "INVALID_JSON", str(exc)) from None


def parse_json(raw: bytes, model: type[M]) -> M:
    """``raw`` as ``model``: 400 ``INVALID_JSON`` unless it is strict JSON; a mismatch
    answers 422 ``BAD_REQUEST`` exactly as a body FastAPI had parsed would (errors.py's
    handler, locations under ``body``). Strict validation: JSON's types, no coercion."""
    value = loads_body(raw)
    try:
        return model.model_validate(value, strict=True)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from None


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` describing a JSON body of ``model`` (read by the handler)."""
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": model.model_json_schema()}}}}
