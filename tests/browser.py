"""A real browser for tests: Debian's Chromium (``apt-get install chromium``, which
``make test`` does) driven by Playwright, headless, reaching only 127.0.0.1."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = "chromium"
#: axe-core from npm (a dev dependency in package.json, installed by `make`).
AXE = Path(__file__).resolve().parents[1] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


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


def accessibility_violations(browser: Browser, url: str, ready: str) -> list[str]:
    """axe-core's WCAG 2.1 A and AA violations on the page at ``url`` once ``ready`` (a
    selector) shows, as ``rule: targets``. axe is injected as a script, which the
    pages' CSP rightly forbids, so this page alone is opened with CSP bypassed."""
    assert AXE.is_file(), f"{AXE} is missing: `make install` runs npm ci"
    context = browser.new_context(bypass_csp=True)
    try:
        page = context.new_page()
        page.goto(url)
        page.wait_for_selector(ready)
        page.add_script_tag(path=str(AXE))
        found = page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
                              ".then(r => r.violations.map(v => v.id + ': ' + "
                              "v.nodes.map(n => n.target.join(' ')).join(', ')))", WCAG_AA)
    finally:
        context.close()
    return found
