"""A real browser for tests: Debian's Chromium (``apt-get install chromium``, which
``make test`` does) driven by Playwright, headless, reaching only 127.0.0.1."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = "chromium"
#: axe-core from npm (a dev dependency in package.json, installed by `make`).
AXE = (Path(os.environ.get("SALUS_WEB_MODULES")
            or Path(__file__).resolve().parents[1] / "node_modules") / "axe-core" / "axe.min.js")
#: The flags the project runs Chromium with: headless, and nothing that reaches out.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-dev-shm-usage"]
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@contextmanager
def chromium() -> Iterator[Browser]:
    path = shutil.which(CHROMIUM)
    assert path, "Debian's chromium is needed for the browser tests: `make test` installs it"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, headless=True, args=FLAGS)
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

    def errors_besides(self, *statuses: int) -> list[str]:
        """The errors, but for Chromium's console line for each response with one of
        ``statuses``: a page shows the node's refusal, but the browser logs it anyway."""
        logged = tuple(f"the server responded with a status of {s} " for s in statuses)
        return [e for e in self.errors
                if not (e.startswith("Failed to load resource") and any(s in e for s in logged))]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.page, name)


def accessibility_violations(browser: Browser, url: str, ready: str, *,
                             key_file: Path | None = None,
                             act: Callable[[Page], None] | None = None) -> list[str]:
    """axe-core's WCAG 2.1 A and AA violations on the page at ``url`` once ``ready`` (a
    selector) shows, and ``act`` (if given) has used it, as ``rule: targets``; signed in
    with ``key_file`` first if given. axe is injected as a script, which the pages' CSP
    rightly forbids, so this page alone is opened with CSP bypassed."""
    assert AXE.is_file(), f"{AXE} is missing: `make install` runs npm ci"
    if key_file is not None:
        page = sign_in(browser, url.split("/ui/", 1)[0], key_file, bypass_csp=True).page
        context = page.context
    else:
        context = browser.new_context(bypass_csp=True)
        page = context.new_page()
    try:
        page.goto(url)
        page.wait_for_selector(ready)
        if act is not None:
            act(page)
        return violations(page)
    finally:
        context.close()


def violations(page: Page | Watched) -> list[str]:
    """axe-core's WCAG 2.1 A and AA violations on ``page`` as it is now (a page whose
    context bypasses CSP, e.g. ``sign_in(..., bypass_csp=True)``: for a signed-in view)."""
    assert AXE.is_file(), f"{AXE} is missing: `make install` runs npm ci"
    page.add_script_tag(path=str(AXE))
    return page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})"
                         ".then(r => r.violations.map(v => v.id + ': ' + "
                         "v.nodes.map(n => n.target.join(' ')).join(', ')))", WCAG_AA)


def sign_in(browser: Browser, url: str, key_file: Path, **context: Any) -> Watched:
    """A fresh browser profile signed in with ``key_file`` at ``url``'s /ui/ (the key is
    imported into that profile's IndexedDB, as a person would)."""
    page = Watched(browser.new_context(**context).new_page())
    page.goto(f"{url}/ui/")
    page.set_input_files("#key-file", str(key_file))
    page.click("#import button[type=submit]")
    page.wait_for_selector("#import-status.ok")
    return page


def screenshot(page: Page | Watched, directory: Path, name: str) -> None:
    """Save the page as ``directory/name.png`` (full page), for the docs."""
    directory.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(directory / f"{name}.png"), full_page=True)
