"""One error shape for every API failure: ``{"error": {"code", "reason"}}``.

Every failure answers in it, the unexpected ones too (500 ``INTERNAL``, the details only
in the node's log): never a plain-text page or a dropped connection. A parameter that
does not fit its declared type or range is 400 ``BAD_REQUEST``; a body that does not fit
its model 422 ``BAD_REQUEST``. Routes under a prefix may answer in their own shape
(the FHIR facade: an OperationOutcome), given to :func:`install`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

#: Renders (status, code, reason) as a response, for the routes under one path prefix.
Renderer = Callable[[int, str, str], Response]


class ApiError(Exception):
    def __init__(self, status: int, code: str, reason: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.code = code
        self.reason = reason
        self.headers = headers


def error_body(code: str, reason: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "reason": reason}}


def install(app: FastAPI, renderers: Mapping[str, Renderer] | None = None) -> None:
    """Answer every failure of ``app`` as an error body, or with the renderer of the
    longest path prefix in ``renderers`` that the request's path starts with."""
    by_prefix = sorted((renderers or {}).items(), key=lambda item: -len(item[0]))

    def answer(request: Request, status: int, code: str, reason: str,
               headers: Mapping[str, str] | None = None) -> Response:
        path = request.url.path
        renderer = next((r for prefix, r in by_prefix if path.startswith(prefix)), None)
        if renderer is None:
            return JSONResponse(error_body(code, reason), status, headers=headers)
        response = renderer(status, code, reason)
        response.headers.update(headers or {})
        return response

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return answer(request, exc.status, exc.code, exc.reason, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        loc = tuple(first.get("loc", ()))
        where = ".".join(str(p) for p in loc)
        # A body that does not fit its model is 422 (as FastAPI answers); a path, query
        # or header parameter that does not fit its type or range is a bad request.
        status = 422 if loc[:1] == ("body",) else 400
        return answer(request, status, "BAD_REQUEST",
                      f"{where}: {first.get('msg', 'invalid request')}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "HTTP_ERROR")
        return answer(request, exc.status_code, code, str(exc.detail), exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # Starlette logs the exception with its traceback after this answer is sent;
        # the client learns only that it happened (a message could hold anything).
        return answer(request, 500, "INTERNAL", "the node failed to answer this request; "
                                                "the failure is in its log")
