"""The payer's review page in a real browser (claims_pages_world): a medical reviewer sees
each pended request with its service, rule, reason and due time, and denies one for
medical necessity, signed in the browser (human review, CARC 50 on the ledger); a claims
officer's medical-necessity denial is refused by the node with its reason and changes
nothing; another payer's officer is refused the queue; the phantom-billing list; axe."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from browser import Watched, chromium, screenshot, violations
from claims_pages_world import claims_pages_site, open_as
from claims_site import Site
from web_demo import SCREENSHOTS

PAGE = "/ui/pages/claims_review"


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[tuple[Site, dict[str, str]]]:
    with claims_pages_site(tmp_path_factory.mktemp("claims-review-web")) as found:
        yield found


def open_page(browser, site: Site, who: str, **context) -> Watched:
    return open_as(browser, site, who, PAGE, "queue-status", **context)


def _ledger_line(site: Site, rid: str) -> dict:
    with site.client("registrar") as c:
        return c.claims_request(rid)["lines"][0]


def test_a_medical_reviewer_denies_for_medical_necessity(world) -> None:
    site, made = world
    rid = made["review_ben"]
    with chromium() as browser:
        page = open_page(browser, site, "reviewer", bypass_csp=True)
        assert page.text_content("#role-note").startswith("You are medical reviewer of acme-health")
        card = page.locator(f"#queue li[data-request='{rid}']")
        text = card.text_content()
        assert "70450, 1 unit, 2026-03-10" in text and "800.00" in text  # the service, from the payer's vault
        assert "ct-review" in text and "a person at the insurer reviews every such request" in text
        assert "d " in text and "left" in text and "pg-review-ben" in text  # due, the identifier
        assert page.locator("#appeals li").count() == 0  # the visit's appeal was decided
        # the phantom list is empty so far
        assert page.text_content("#phantom-status") == "No patient has flagged a service."
        assert violations(page) == []
        card.locator("input[value=denied]").check()
        options = card.locator("select option").all_text_contents()
        assert any("medically necessary (CARC 50): medical reviewers only" in o for o in options)
        assert not any("patient's age" in o for o in options)  # the rule has no age limit: not a reason
        card.locator("select").select_option("medical_necessity")
        screenshot(page, SCREENSHOTS, "claims-review")
        card.locator("button[type=submit]").click()
        page.wait_for_selector("#queue-status.ok")
        assert page.locator(f"#queue li[data-request='{rid}']").count() == 0
        assert page.errors == []
    decided = _ledger_line(site, rid)
    assert (decided["outcome"], decided["reason"], decided["carc"], decided["human"]) == (
        "denied", "medical_necessity", "50", True)


def test_a_claims_officer_is_refused_a_medical_necessity_denial(world) -> None:
    site, made = world
    rid = made["review_ana"]
    with chromium() as browser:
        page = open_page(browser, site, "officer")
        assert "a denial for medical necessity is a medical reviewer's" in page.text_content("#role-note")
        card = page.locator(f"#queue li[data-request='{rid}']")
        card.locator("input[value=denied]").check()
        card.locator("select").select_option("medical_necessity")
        card.locator("button[type=submit]").click()
        status = card.locator("p[role=status]")
        status.locator("text=Refused").wait_for()
        assert "FORBIDDEN" in status.text_content() and "medical reviewer" in status.text_content()
        assert page.locator(f"#queue li[data-request='{rid}']").count() == 1  # still owed
        # the officer approves it instead: all units, the billed amount (no allowance)
        card.locator("input[value=approved]").check()
        card.locator("button[type=submit]").click()
        page.wait_for_selector("#queue-status.ok")
    decided = _ledger_line(site, rid)
    assert (decided["outcome"], decided["units"], decided["amount_cents"], decided["human"]) == (
        "approved", 1, 80_000, True)


def test_another_payers_officer_and_a_provider_are_refused_the_queue(world) -> None:
    site, _ = world
    with chromium() as browser:
        page = open_page(browser, site, "other-officer")
        assert page.input_value("#payer") == "beacon-health"  # her own: nothing owed
        assert page.text_content("#queue-status") == "Nothing owes a decision at beacon-health."
        page.fill("#payer", "acme-health")
        page.click("#scope button")
        page.wait_for_selector("#queue-status.bad")
        assert page.text_content("#queue-status").startswith("✘ Refused by the node: FORBIDDEN_READ")
        assert page.locator("#queue li").count() == 0 and "FORBIDDEN_READ" in page.text_content(
            "#phantom-status")
        page = open_page(browser, site, "registrar")
        assert "you hold neither role" in page.text_content("#role-note")
        assert "FORBIDDEN_READ" in page.text_content("#queue-status")
        assert "FORBIDDEN_READ" in page.text_content("#phantom-status")
