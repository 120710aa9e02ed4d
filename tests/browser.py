"""A real browser for tests: Debian's Chromium (``apt-get install chromium``, which
``make test`` does) driven by Playwright, headless, reaching only 127.0.0.1."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = "chromium"


@contextmanager
def chromium() -> Iterator[Browser]:
    path = shutil.which(CHROMIUM)
    assert path, "Debian's chromium is needed for the browser tests: `make test` installs it"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, headless=True,
                                    args=["--no-sandbox", "--disable-dev-shm-usage"])
        try:
            yield browser
        finally:
            browser.close()


class Watched:
    """A page whose console errors, failed requests and CSP violations are collected."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        page.on("requestfailed", lambda r: self.errors.append(f"failed: {r.url}"))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.page, name)
