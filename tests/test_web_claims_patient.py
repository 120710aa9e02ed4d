"""The patient's claims on her page, in a real browser (claims_pages_world): every claim
and prior authorisation in her name, with billed, allowed, paid and what she owes, each
decision and its reason in words; "I never received this service" signs
claims.flag_phantom and the item joins the payer's review list (its reviewers see it on
their page, and resolve it there with claims.resolve_phantom: the patient reads what they
found); an appeal of a cut signs claims.appeal; another patient sees none of hers.
axe-core finds no WCAG 2.1 AA violation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from browser import Watched, chromium, screenshot, sign_in, violations
from claims_pages_world import claims_pages_site, open_as
from claims_site import Site
from salus.client import TransactionRejected
from salus.node.datadir import DataDir
from web_demo import SCREENSHOTS


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[tuple[Site, dict[str, str]]]:
    with claims_pages_site(tmp_path_factory.mktemp("claims-patient-web")) as found:
        yield found


def open_page(browser, site: Site, who: str, **context) -> Watched:
    return open_as(browser, site, who, "/ui/pages/patient", "claims-status", **context)


def test_the_patient_reads_her_claims_flags_a_phantom_service_and_appeals(world) -> None:
    site, made = world
    with chromium() as browser:
        page = open_page(browser, site, "ana", bypass_csp=True)
        assert page.text_content("#claims-status") == (
            "3 claim(s) and prior authorisation(s) in your name.")
        visit = page.locator(f"#claims li[data-eob='{made['visit']}']")
        text = visit.text_content()
        assert "Claim from St Mary" in text and "Acme" in text
        for shown in ("Billed150.00 USD", "Allowed150.00 USD", "Paid by the insurer120.00 USD",
                      "You owe30.00 USD", "99213, units: 1", "2026-03-01", "approved"):
            assert shown in text, shown
        mri = page.locator(f"#claims li[data-eob='{made['mri']}']").text_content()
        assert "approved in part (2 of 3 units): CARC 119: benefit maximum" in mri
        assert "Paid by the insurer" not in mri  # an authorisation: nothing is paid on it
        assert made["review_ben"] not in page.content()  # ben's, not hers
        assert violations(page) == []
        screenshot(page, SCREENSHOTS, "claims-patient")
        visit.locator("button:has-text('I never received this service')").click()
        page.wait_for_selector("#claims-status.ok")
        assert "never received 99213" in page.text_content("#claims-status")
        # flagged once: the page says where the flag stands instead of offering it again
        visit = page.locator(f"#claims li[data-eob='{made['visit']}']")
        assert "your insurer is looking into it" in visit.text_content()
        assert visit.locator("button:has-text('I never received this service')").count() == 0
        page.locator(f"#claims li[data-eob='{made['mri']}'] "
                     "button:has-text('Appeal this decision')").click()
        page.wait_for_selector("#claims-status.ok")
        assert page.errors == []
    with site.client("registrar") as c:
        assert c.claims_request(made["visit"])["lines"][0]["flagged"] is True
        assert c.claims_request(made["mri"])["status"] == "appealed"
    # the payer's reviewers see the flag on their page
    with chromium() as browser:
        page = sign_in(browser, site.url, DataDir(site.data).keys_dir / "officer.key")
        page.goto(f"{site.url}/ui/pages/claims_review")
        page.wait_for_selector(f"#phantom tr[data-request='{made['visit']}']")
        row = page.text_content(f"#phantom tr[data-request='{made['visit']}']")
        assert "st-mary" in row and "99213, 1 unit, 2026-03-01" in row and "150.00" in row
        assert "A1: approved" in row
        # and the appealed MRI is listed for her: she made no earlier decision on it
        assert page.locator(f"#appeals li[data-request='{made['mri']}']").count() == 1
        # she records what she found: the flag leaves the list
        page.click(f"#phantom tr[data-request='{made['visit']}'] "
                   "button:has-text('Records show it was rendered')")
        page.wait_for_selector("#phantom-action.ok")
        assert page.locator(f"#phantom tr[data-request='{made['visit']}']").count() == 0
        assert page.errors == []
    with site.client("registrar") as c:
        flag = c.claims_request(made["visit"])["lines"][0]["flag"]
        assert flag["finding"] == "unfounded"
    with site.client("ana") as ana, pytest.raises(TransactionRejected) as again:
        ana.call("claims", "flag_phantom", {"request": made["visit"], "items": [1]})
    assert again.value.receipt.code == "CONFLICT"  # flagged once
    # and the patient reads what her insurer found
    with chromium() as browser:
        page = open_page(browser, site, "ana")
        visit = page.locator(f"#claims li[data-eob='{made['visit']}']").text_content()
        assert "your insurer found records that it was" in visit


def test_another_patient_sees_none_of_hers_and_cannot_flag_them(world) -> None:
    site, made = world
    with chromium() as browser:
        page = open_page(browser, site, "ben")
        assert page.text_content("#claims-status") == (
            "1 claim(s) and prior authorisation(s) in your name.")
        assert page.locator(f"#claims li[data-eob='{made['visit']}']").count() == 0
    with site.client("ben") as ben, pytest.raises(TransactionRejected) as refused:
        ben.call("claims", "flag_phantom", {"request": made["visit"], "items": [1]})
    assert refused.value.receipt.code == "FORBIDDEN"
