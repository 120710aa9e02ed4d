"""``/ui``: the web application's pages and modules, on the node's own origin.

Every answer carries the security headers the pages rely on: a strict Content-Security-
Policy (no inline script but the import map, by hash), no sniffing, no framing, no
referrer. Pages are templates with two placeholders filled in here: the import map and the
shared header (``partials/header.html``).
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from salus.api.errors import ApiError
from salus.web.assets import Assets

_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css",
          ".svg": "image/svg+xml", ".json": "application/json"}
IMPORT_MAP_SLOT = "<!-- importmap -->"
#: Where a page's shared header (the navigation, who is signed in) goes.
HEADER_SLOT = "<!-- header -->"


def _headers(assets: Assets) -> dict[str, str]:
    return {"Content-Security-Policy": assets.content_security_policy,
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY", "Cache-Control": "no-cache"}


def _file(path: Path | None, assets: Assets) -> Response:
    if path is None:
        raise ApiError(404, "NOT_FOUND", "no such file in the web application")
    media = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media, headers=_headers(assets))


def build_router(assets: Assets | None = None) -> APIRouter:
    assets = assets or Assets()
    router = APIRouter(prefix="/ui", include_in_schema=False)

    @router.get("")
    async def root() -> Response:
        return RedirectResponse("/ui/", status_code=308)

    @router.get("/")
    async def home() -> Response:
        return await page("index")

    @router.get("/pages/{name}")
    async def page(name: str) -> Response:
        path = assets.page(name) if name.isidentifier() else None
        if path is None:
            raise ApiError(404, "NOT_FOUND", f"no page {name!r}")
        html = (path.read_text()
                .replace(IMPORT_MAP_SLOT, f'<script type="importmap">{assets.import_map}</script>')
                .replace(HEADER_SLOT, assets.header))
        return HTMLResponse(html, headers=_headers(assets))

    @router.get("/static/{path:path}")
    async def static(path: str) -> Response:
        return _file(assets.static(path), assets)

    @router.get("/vendor/{path:path}")
    async def vendor(path: str) -> Response:
        scoped = path.startswith("@")
        parts = path.split("/", 2 if scoped else 1)
        if len(parts) < (3 if scoped else 2):
            raise ApiError(404, "NOT_FOUND", "no such module")
        package = "/".join(parts[:-1])
        return _file(assets.vendor(package, parts[-1]), assets)

    return router
