"""Request bodies read by the handler itself rather than by FastAPI, so that a handler can
refuse a request (a rate limit) before its body is read, and cap how much is read. Every
JSON body is read by :func:`salus.canonical.loads_strict` (duplicate keys, nesting, number
ranges), then checked against its model.

FastAPI needs real annotations here, so no ``from __future__ import annotations``.
"""

from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.requests import ClientDisconnect

from salus.api.errors import ApiError
from salus.canonical import JSONError, JSONValue, loads_strict

M = TypeVar("M", bound=BaseModel)


async def read_capped(request: Request, limit: int | None) -> bytes:
    """The body, or 413 ``TOO_LARGE`` as soon as it is known to exceed ``limit`` bytes."""
    if limit is None:
        return await request.body()
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
    except ClientDisconnect:  # gone mid-body: nobody to answer, nothing worth a traceback
        raise ApiError(400, "CLIENT_DISCONNECTED", "the client closed the connection before "
                                                   "sending the whole body") from None
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
