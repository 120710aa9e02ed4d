"""Where the web application's files come from, and the one inline script it allows.

Pages and our own modules ship in the package (``static/``). The npm modules they import
are installed by ``make`` (``npm ci``) into the checkout's ``node_modules``, or wherever
``SALUS_WEB_MODULES`` points; only the packages in :data:`VENDOR` are ever served from
there, each only below its own directory.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from functools import cached_property
from pathlib import Path

STATIC = Path(__file__).parent / "static"
#: Bare module name -> (npm package, its ES module entry within the package).
VENDOR: dict[str, tuple[str, str]] = {
    "canonicalize": ("canonicalize", "lib/canonicalize.js"),
    "@scure/base": ("@scure/base", "index.js"),
    "chart.js": ("chart.js", "dist/chart.js"),
    "@kurkle/color": ("@kurkle/color", "dist/color.esm.js"),  # chart.js imports it
    "uqr": ("uqr", "dist/index.mjs"),
}


class AssetsMissing(RuntimeError):
    """The npm modules are not installed: the pages cannot run without them."""


def _default_modules_dir() -> Path:
    # src/salus/web -> the checkout's root, where `npm ci` installs
    return Path(__file__).resolve().parents[3] / "node_modules"


class Assets:
    def __init__(self, modules_dir: Path | None = None) -> None:
        configured = os.environ.get("SALUS_WEB_MODULES")
        self.modules_dir = modules_dir or (Path(configured) if configured else _default_modules_dir())

    def page(self, name: str) -> Path | None:
        return _inside(STATIC / "pages", f"{name}.html")

    def static(self, path: str) -> Path | None:
        return _inside(STATIC, path)

    def vendor(self, package: str, path: str) -> Path | None:
        if package not in {pkg for pkg, _ in VENDOR.values()}:
            return None
        root = self.modules_dir / package
        if not root.is_dir():
            raise AssetsMissing(f"npm package {package} is not installed in {self.modules_dir}: "
                                "run `make install` (npm ci)")
        return _inside(root, path)

    @cached_property
    def header(self) -> str:
        return (STATIC / "partials" / "header.html").read_text()

    @cached_property
    def import_map(self) -> str:
        """The page's ``<script type="importmap">`` text: bare names to served modules."""
        imports = {name: f"/ui/vendor/{pkg}/{entry}" for name, (pkg, entry) in VENDOR.items()}
        return json.dumps({"imports": imports}, sort_keys=True)

    @cached_property
    def content_security_policy(self) -> str:
        """No inline script but the import map, allowed by its hash; nothing from elsewhere."""
        digest = base64.b64encode(hashlib.sha256(self.import_map.encode()).digest()).decode()
        return ("default-src 'none'; "
                f"script-src 'self' 'sha256-{digest}'; "
                "style-src 'self'; img-src 'self' data:; connect-src 'self'; "
                "font-src 'self'; manifest-src 'self'; "
                "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def _inside(root: Path, relative: str) -> Path | None:
    """``root / relative`` if that is a file below ``root`` (no ``..``, no symlink out)."""
    root = root.resolve()
    try:
        target = (root / relative).resolve()
    except (OSError, ValueError):
        return None
    if root not in target.parents or not target.is_file():
        return None
    return target
