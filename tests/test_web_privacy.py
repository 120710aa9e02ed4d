"""Break-glass end to end in the browser, and the privacy officer's review: a clinician
breaks the glass (coded reason, confirmation) and reads; the privacy officer of the
custodian sees each emergency read on the review list and records a finding, which is on
the ledger and takes the entry off the pending list. Another organisation's privacy
officer is refused the list; a clinician without the emergency role is refused the
override, and nothing is written."""

from __future__ import annotations

from pathlib import Path

from browser import Watched, accessibility_violations, chromium, screenshot, sign_in, violations
from salus.client import SalusClient
from salus.identity import Identity
from test_web_clinician import PROBLEM, eventually, open_link, records_for
from web_demo import SCREENSHOTS, Demo


def pending_for(demo: Demo, officer_key: Path, custodian: str, patient: str,
                pending: bool = True) -> list[dict]:
    with SalusClient(demo.url, Identity.load(officer_key)) as officer:
        return [e for e in officer.review_list(custodian, pending=pending)["entries"]
                if e["patient"] == patient]


def open_review(page: Watched, demo: Demo) -> None:
    page.goto(f"{demo.url}/ui/pages/privacy")
    page.wait_for_selector("#review-count:not(:empty), #review-status.bad")


def test_a_clinician_breaks_the_glass_and_the_privacy_officer_records_a_finding(
        demo_site: Demo, tmp_path: Path) -> None:
    er, er_key = demo_site.enrol("city-general", ["clinician", "emergency_clinician"], tmp_path,
                                 "dr-flint")
    officer, officer_key = demo_site.enrol("st-mary", ["privacy_officer"], tmp_path, "po-moss")
    _other, other_key = demo_site.enrol("city-general", ["privacy_officer"], tmp_path, "po-fern")
    patient, _ = demo_site.patient(tmp_path, "pat-glass")
    records_for(demo_site, patient, "SM-GLASS")
    with chromium() as browser:
        page = sign_in(browser, demo_site.url, er_key)
        assert open_link(page, demo_site, patient.did) == "bad"  # no grant
        assert page.text_content("#refusal-code") == "NO_CONSENT"
        page.click("#bg-start")
        page.wait_for_selector("#bg-reason:not([hidden]) #bg-reasons input")  # codes fetched
        reasons = page.eval_on_selector_all("#bg-reasons input", "els => els.map(e => e.value)")
        assert sorted(reasons) == ["life_threatening", "no_proxy_available", "unable_to_consent",
                                   "unconscious"]  # the contract's schema's codes
        page.click("#bg-reason button[type=submit]")  # no reason chosen: not a step further
        assert page.is_hidden("#bg-confirm")
        page.check("#bg-reasons input[value=unconscious]")
        page.click("#bg-reason button[type=submit]")
        page.wait_for_selector("#bg-confirm:not([hidden])")
        confirm = page.text_content("#bg-confirm")
        assert "unconscious" in confirm and "logged on the ledger" in confirm
        assert "patient will be notified" in confirm and "privacy officer" in confirm
        assert pending_for(demo_site, officer_key, "st-mary", patient.did) == []  # not yet
        page.click("#bg-go")
        page.wait_for_selector("#record:not([hidden])")
        assert "ETREAT" in page.text_content("#record-basis")
        assert PROBLEM in page.text_content("[data-group=problems]")
        assert page.is_hidden("#refusal") and page.text_content("#bg-status").startswith("✔")
        assert page.errors_besides(403) == []  # the first, refused read

    entries = eventually(lambda: pending_for(demo_site, officer_key, "st-mary", patient.did),
                         lambda found: len(found) >= 6)  # each record read at St Mary's
    assert {e["requester"] for e in entries} == {er.did}
    assert {e["override"]["reason"] for e in entries} == {"unconscious"}
    target = entries[0]

    with chromium() as browser:
        page = sign_in(browser, demo_site.url, officer_key)
        open_review(page, demo_site)
        assert page.input_value("#custodian") == "st-mary"
        card = page.locator(f"li[data-entry='{target['key']}']")
        text = card.text_content()
        assert "unconscious" in text and target["record"] in text
        assert target["record_type"] in text and "city-general" in text
        assert card.locator(f"code[title='{er.did}']").count() == 1  # who, shortened
        assert card.locator(f"code[title='{patient.did}']").count() == 1  # the patient
        screenshot(page, SCREENSHOTS, "privacy")
        # a finding recorded meanwhile elsewhere (another tab, the CLI): the stale form is
        # refused by the node, with its code, and the finding stands
        stale = entries[1]
        with SalusClient(demo_site.url, officer) as sdk:
            sdk.review(stale["key"], "justified")
        stale_card = page.locator(f"li[data-entry='{stale['key']}']")
        stale_card.locator("input[value=unjustified]").check()
        stale_card.locator("button[type=submit]").click()
        page.wait_for_selector(f"li[data-entry='{stale['key']}'] p.bad")
        assert "CONFLICT" in stale_card.text_content()
        card.locator("input[value=unjustified]").check()
        card.locator("button[type=submit]").click()
        page.wait_for_selector("#review-status.ok")
        assert "unjustified" in page.text_content("#review-status")
        page.wait_for_selector(f"li[data-entry='{target['key']}']", state="detached")
        page.check("#show-reviewed")  # the toggle: reviewed entries, with their finding
        page.wait_for_selector(f"li[data-entry='{target['key']}']")
        reviewed = page.locator(f"li[data-entry='{target['key']}']")
        assert "unjustified" in reviewed.text_content()
        assert reviewed.locator("form").count() == 0  # nothing more to record
        page.click("#audit-load")  # the full access log shows the emergency reads too
        page.wait_for_selector("#audit-status.ok")
        assert "BREAK_GLASS" in page.text_content("#audit")
        assert page.errors == []

        # another organisation's privacy officer: their own list lacks it; St Mary's is refused
        other = sign_in(browser, demo_site.url, other_key)
        open_review(other, demo_site)
        assert other.input_value("#custodian") == "city-general"
        assert other.locator(f"code[title='{patient.did}']").count() == 0
        other.fill("#custodian", "st-mary")
        other.click("#scope button[type=submit]")
        other.wait_for_selector("#review-status.bad")
        assert "FORBIDDEN_READ" in other.text_content("#review-status")
        assert other.locator("#reviews li").count() == 0
        other.click("#audit-load")
        other.wait_for_selector("#audit-status.bad")
        assert "FORBIDDEN_READ" in other.text_content("#audit-status")
        assert other.errors_besides(403) == []

    # the finding is on the ledger, by this officer; the entry left the pending list
    done = [e for e in pending_for(demo_site, officer_key, "st-mary", patient.did, pending=False)
            if e["key"] == target["key"]]
    assert len(done) == 1 and done[0]["finding"] == "unjustified"
    assert [e["finding"] for e in pending_for(demo_site, officer_key, "st-mary", patient.did,
                                              pending=False) if e["key"] == stale["key"]
            ] == ["justified"]
    assert done[0]["reviewed_by"] == officer.did
    assert target["key"] not in {e["key"] for e in pending_for(demo_site, officer_key, "st-mary",
                                                              patient.did)}
    with SalusClient(demo_site.url, patient) as me:  # the patient was told of it
        log = me.access_log(limit=1000)["entries"]
    assert [e["requester"] for e in log if e["kind"] == "break_glass"] == [er.did]


def test_a_clinician_without_the_emergency_role_is_refused_and_nothing_is_written(
        demo_site: Demo, tmp_path: Path) -> None:
    doc, doc_key = demo_site.enrol("st-mary", ["clinician"], tmp_path, "dr-birch")
    patient, _ = demo_site.patient(tmp_path, "pat-noglass")
    records_for(demo_site, patient, "SM-NOGLASS")
    with chromium() as browser:
        page = sign_in(browser, demo_site.url, doc_key)
        assert open_link(page, demo_site, patient.did) == "bad"
        assert "do not hold the emergency_clinician role" in page.text_content("#emergency-role")
        page.click("#bg-start")
        page.check("#bg-reasons input[value=life_threatening]")
        page.click("#bg-reason button[type=submit]")
        page.click("#bg-go")
        page.wait_for_selector("#bg-status.bad")
        status = page.text_content("#bg-status")
        assert "FORBIDDEN" in status and "emergency_clinician" in status
        assert page.is_hidden("#record") and PROBLEM not in page.text_content("main")
        assert page.errors_besides(403) == []
    with SalusClient(demo_site.url, patient) as me:
        log = me.access_log(limit=1000)["entries"]
    assert [e for e in log if e["kind"] == "break_glass"] == []
    assert {e["code"] for e in log if e["requester"] == doc.did} <= {"NO_CONSENT"}
    assert not [e for e in log if e.get("emergency")]


def test_the_privacy_page_is_accessible_and_fits_a_phone(demo_site: Demo,
                                                        tmp_path: Path) -> None:
    _officer, officer_key = demo_site.enrol("st-mary", ["privacy_officer"], tmp_path, "po-reed")
    _doc, doc_key = demo_site.enrol("northlab", ["lab_technician"], tmp_path, "tech-noel")
    with chromium() as browser:
        page = sign_in(browser, demo_site.url, officer_key, viewport={"width": 390, "height": 844})
        open_review(page, demo_site)
        page.check("#show-reviewed")  # the demo's entry, reviewed or not, and the log
        page.wait_for_selector("#reviews li")
        page.click("#audit-load")
        page.wait_for_selector("#audit-status.ok")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert page.errors == []
        checked = sign_in(browser, demo_site.url, officer_key, bypass_csp=True)
        open_review(checked, demo_site)
        checked.check("#show-reviewed")
        checked.wait_for_selector("#reviews li")
        checked.click("#audit-load")
        checked.wait_for_selector("#audit-status.ok")
        assert violations(checked) == []
        # a member with no reviewer role: told so, and shown the node's refusal
        nobody = sign_in(browser, demo_site.url, doc_key, bypass_csp=True)
        open_review(nobody, demo_site)
        assert "neither the privacy_officer nor the auditor" in nobody.text_content("#role-note")
        assert "FORBIDDEN_READ" in nobody.text_content("#review-status")
        assert violations(nobody) == []
        assert accessibility_violations(browser, f"{demo_site.url}/ui/pages/privacy",
                                        "main") == []  # signed out
