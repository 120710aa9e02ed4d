"""The provider's requests page in a real browser (claims_pages_world): a registrar sees
each request's status, each item's decision in words with its CARC and description, the
due time; appeals a cut item, signed in the browser; sees the payer's decision arrive on
the live feed. A nurse (no registrar or clinician role) and a patient are refused by the
node, and told so. axe-core finds no WCAG 2.1 AA violation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from browser import Watched, chromium, screenshot, violations
from claims_pages_world import claims_pages_site, open_as
from claims_site import Site
from web_demo import SCREENSHOTS

PAGE = "/ui/pages/claims_requests"


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[tuple[Site, dict[str, str]]]:
    with claims_pages_site(tmp_path_factory.mktemp("claims-requests-web")) as found:
        yield found


def open_page(browser, site: Site, who: str, **context) -> Watched:
    return open_as(browser, site, who, PAGE, "requests-status", **context)


def test_a_registrar_reads_the_decisions_appeals_and_hears_the_answer(world) -> None:
    site, made = world
    rid = made["mri"]
    with chromium() as browser:
        page = open_page(browser, site, "registrar", bypass_csp=True)
        page.wait_for_selector("#live:has-text('Live')")
        assert page.text_content("#role-note") == "You are registrar of st-mary."
        assert page.text_content("#requests-status") == "4 request(s) and claim(s) of st-mary."
        card = page.locator(f"#requests li[data-request='{rid}']")
        row = card.locator("tr[data-item='1']").text_content()
        assert "70551, 3 units" in row and "billed 3,000.00" in row
        assert "A2: approved in part (fewer units)" in row
        assert "more units than the plan allows: cut to the limit" in row
        assert "CARC 119: benefit maximum for this period or occurrence reached" in row
        assert "2 units, 2,000.00" in row  # granted, with its period
        assert "decided in time" in card.text_content() and "pg-mri-3" in card.text_content()
        pended = page.locator(f"#requests li[data-request='{made['review_ben']}']").text_content()
        assert "A4: pended" in pended and "left" in pended
        visit = page.locator(f"#requests li[data-request='{made['visit']}']").text_content()
        assert "A1: approved" in visit and "appealed 1 time" in visit
        assert violations(page) == []
        screenshot(page, SCREENSHOTS, "claims-requests")
        # the appeal: nothing ticked is not sent
        card.locator("form.appeal button").click()
        assert "Tick the items" in card.locator("form.appeal p").text_content()
        card.locator("input[name=item][value='1']").check()
        card.locator("form.appeal button").click()
        page.wait_for_selector("#action-status.ok")
        assert "Appeal sent: recorded on the ledger" in page.text_content("#action-status")
        card = page.locator(f"#requests li[data-request='{rid}']")
        assert "appealed (appealed 1 time)" in card.text_content()
        with site.client("registrar") as c:
            assert c.claims_request(rid)["status"] == "appealed"
        # the reviewer upholds the cut: the page hears it on the live feed
        with site.client("reviewer") as reviewer:
            reviewer.decide_claim(rid, [{"sequence": 1, "outcome": "modified", "rule": "mri-brain",
                                         "reason": "units", "carc": "119", "units": 2,
                                         "amount_cents": 200_000}])
        page.wait_for_selector("#news:has-text('decided, now decided')")
        assert rid[:12] in page.text_content("#news")
        assert "decided (appealed 1 time)" in page.locator(
            f"#requests li[data-request='{rid}']").text_content()
        assert page.errors == []


@pytest.mark.parametrize("who", ["nurse", "ana"])
def test_anyone_but_the_providers_registrars_and_clinicians_is_refused(world, who) -> None:
    site, _ = world
    with chromium() as browser:
        page = open_page(browser, site, who)
        assert "you hold neither role" in page.text_content("#role-note")
        assert page.text_content("#requests-status").startswith(
            "✘ Refused by the node: FORBIDDEN_READ")
        assert page.locator("#requests li").count() == 0
        page.wait_for_selector("#live:has-text('No live feed for you')")
