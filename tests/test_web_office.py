"""The credentialing office's side of the credentials page, in real browsers: the office
asks for credentials with a request made in its browser, the physician's browser wallet
answers it, and the office assesses the answer there: verified by the node, the report
built and signed in the browser exactly as ``salus.credentials.credentialing.assess``
builds it (Python's ``check_report`` accepts it, and refuses it once one byte is changed),
its hash anchored on the ledger by a transaction signed in the browser."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser

from browser import Watched, accessibility_violations, chromium, screenshot, sign_in
from salus.canonical import jcs, loads_strict
from salus.credentials.credentialing import (
    REPORT_TYPE,
    CredentialingError,
    check_report,
    check_request,
    request_dossier,
)
from salus.credentials.types import TYPES
from web_demo import SCREENSHOTS, Demo

PAGE = "/ui/pages/credentials"
ASKED = ["LicenseCredential", "DegreeCredential", "BoardCertificationCredential"]


def _wallet(demo: Demo, holder: str) -> list[Path]:
    return sorted((demo.data / "wallets" / holder / "credentials").glob("*.json"))


def _office(browser: Browser, demo: Demo, **context: Any) -> Watched:
    page = sign_in(browser, demo.url, demo.key_path("office-uma"), **context)
    page.goto(f"{demo.url}{PAGE}")
    page.wait_for_selector("#office:not([hidden]) #ask-types input")
    return page


def _download(page: Watched, link: str, to: Path) -> Path:
    with page.expect_download() as download:
        page.click(link)
    download.value.save_as(to)
    return to


def _ask(page: Watched, types: list[str], to: Path, domain: str = "st-mary.example") -> Path:
    page.fill("#ask-domain", domain)
    for kind in types:
        page.check(f"#ask-types input[value={kind}]")
    page.click("#ask-form button")
    page.wait_for_selector("#ask-status.ok")
    for kind in types:
        page.uncheck(f"#ask-types input[value={kind}]")
    return _download(page, "#ask-download", to)


def _answer(browser: Browser, demo: Demo, holder: str, request: Path, to: Path) -> Path:
    """The physician's browser wallet (the existing flow) answers ``request``."""
    page = sign_in(browser, demo.url, demo.key_path(holder))
    page.goto(f"{demo.url}{PAGE}")
    page.wait_for_selector("#wallet-table td")
    page.set_input_files("#wallet-files", [str(p) for p in _wallet(demo, holder)])
    page.click("#wallet-import button")
    page.wait_for_selector("#wallet-status.ok")
    page.set_input_files("#request-file", str(request))
    page.click("#request-form button")
    page.wait_for_selector("#request-status.ok")
    page.click("#answer")
    page.wait_for_selector("#answer-status.ok, #answer-status.bad")
    _download(page, "#answer-download", to)
    assert page.errors == []
    page.context.close()
    return to


def _assess(page: Watched, request: Path, presentation: Path, *, anchor: bool = False) -> str:
    """Assess in the office's browser; the status line once it is decided."""
    before = page.text_content("#assess-status")
    page.set_input_files("#assess-request", str(request))
    page.set_input_files("#assess-presentation", str(presentation))
    page.set_checked("#assess-anchor", anchor)
    page.click("#assess-form button")
    page.wait_for_function("""before => { const s = document.getElementById('assess-status');
        return s.className && s.textContent !== before; }""", arg=before)
    if anchor:
        page.wait_for_selector("#anchor-status.ok, #anchor-status.bad")
    return page.text_content("#assess-status")


def test_the_office_asks_the_wallet_answers_and_the_office_signs_and_anchors_a_report(
        demo_site: Demo, tmp_path: Path) -> None:
    office = demo_site.key("office-uma")
    alice = demo_site.key("dr-alice")
    with chromium() as browser:
        page = _office(browser, demo_site)
        # the page offers exactly the types Python knows, in its order
        offered = page.eval_on_selector_all("#ask-types input", "xs => xs.map(x => x.value)")
        assert offered == list(TYPES)
        # nothing ticked: refused as request_dossier refuses it
        page.fill("#ask-domain", "st-mary.example")
        page.click("#ask-form button")
        page.wait_for_selector("#ask-status.bad")
        assert "request known credential types" in page.text_content("#ask-status")
        assert page.is_hidden("#ask-download")

        request_file = _ask(page, ASKED, tmp_path / "request.json")
        request = loads_strict(request_file.read_bytes())
        check_request(request)
        made = request_dossier(office, "st-mary.example", ASKED)  # the same document
        assert list(request) == list(made)
        assert request["types"] == made["types"] == sorted(ASKED)
        assert request["requester"] == office.did and request["domain"] == "st-mary.example"
        assert request["id"].startswith("urn:uuid:") and len(request["id"]) == 45
        assert len(request["challenge"]) == len(made["challenge"]) == 32
        assert request["created"].endswith("Z") and len(request["created"]) == len(made["created"])
        # a second request has a fresh challenge
        again = loads_strict(_ask(page, ASKED, tmp_path / "again.json").read_bytes())
        assert again["challenge"] != request["challenge"] and again["id"] != request["id"]

        presentation = _answer(browser, demo_site, "dr-alice", request_file,
                               tmp_path / "presentation.json")
        status = _assess(page, request_file, presentation, anchor=True)
        assert status.startswith("✔ Complete"), status
        assert page.locator("#assess-report li[data-step]").count() > 5
        page.wait_for_selector("#anchor-status.ok")
        tx_id = page.get_attribute("#anchor-status a[data-tx]", "data-tx")
        screenshot(page, SCREENSHOTS, "credentials-office")
        raw = _download(page, "#assess-download", tmp_path / "report.json").read_bytes()
        assert page.errors == []

    report = loads_strict(raw)
    check_report(report, office.did)
    demo_report = json.loads(Path(demo_site.made["credentials"]["credentialing_report"]["file"])
                             .read_text())  # made by Python's assess
    assert list(report) == list(demo_report) and list(report["proof"]) == list(demo_report["proof"])
    assert report["type"] == REPORT_TYPE and report["request"] == request["id"]
    assert report["complete"] is True and report["missing_types"] == []
    assert report["requested_types"] == request["types"] and report["holder"] == alice.did
    assert report["presentation"]["ok"] and report["presentation"]["failed_step"] is None
    assert report["proof"]["created"] == report["verified_at"]
    # one byte changed: the report no longer checks
    number = report["id"].encode()  # the last digit of the report's id
    at = raw.index(number) + len(number) - 1
    changed = raw[:at] + (b"0" if raw[at:at + 1] != b"0" else b"1") + raw[at + 1:]
    assert len(changed) == len(raw) and changed != raw
    with pytest.raises(CredentialingError, match="proof"):
        check_report(loads_strict(changed), office.did)
    with pytest.raises(CredentialingError, match=f"signed by {office.did}, not"):
        check_report(report, alice.did)  # nor is it anyone else's report
    # the anchored hash is the report's, on the ledger, by the office
    digest = hashlib.sha256(jcs(report)).hexdigest()
    with demo_site.client("office-uma") as client:
        tx = client.tx(tx_id)
        assert tx["receipt"]["code"] == "VALID"
        assert tx["envelope"]["contract"] == "notary" and tx["envelope"]["method"] == "anchor"
        assert tx["envelope"]["args"] == {"hash": digest, "label": "credentialing-report"}
        assert tx["envelope"]["signer"] == office.did
    with demo_site.client("auditor-heidi") as auditor:
        assert auditor.state(f"anchor/{digest}")["by"] == office.did


def test_a_revoked_licence_makes_the_report_incomplete_and_names_the_failing_step(
        demo_site: Demo, tmp_path: Path) -> None:
    office = demo_site.key("office-uma")
    held = sorted(json.loads(p.read_text())["type"][1] for p in _wallet(demo_site, "dr-walt"))
    assert "LicenseCredential" in held
    with chromium() as browser:
        page = _office(browser, demo_site)
        request_file = _ask(page, held, tmp_path / "request.json")
        presentation = _answer(browser, demo_site, "dr-walt", request_file,
                               tmp_path / "presentation.json")
        status = _assess(page, request_file, presentation)
        assert status.startswith("✘ Incomplete: missing LicenseCredential."), status
        assert ".status: revoked since" in status
        facts = page.text_content("#assess-facts")
        assert "LicenseCredential" in facts and ".status" in facts
        assert page.locator("#assess-report li.bad[data-step$='.status']").count() == 1
        assert page.is_hidden("#anchor-status")  # not asked to anchor: nothing sent
        report = loads_strict(_download(page, "#assess-download",
                                        tmp_path / "report.json").read_bytes())
        assert page.errors == []
    check_report(report, office.did)
    assert report["complete"] is False and report["missing_types"] == ["LicenseCredential"]
    failed = report["presentation"]["failed_step"]
    assert failed.startswith("credentials[") and failed.endswith("].status")


def test_another_offices_request_is_refused_and_a_replayed_answer_is_incomplete(
        demo_site: Demo, tmp_path: Path) -> None:
    folder = demo_site.data / "credentialing"
    presentation = folder / "presentation-dr-alice.json"  # made for office-uma's request
    other = tmp_path / "other-office.json"
    other.write_text(json.dumps(request_dossier(demo_site.key("registrar-grace"),
                                                "st-mary.example", ASKED)))
    with chromium() as browser:
        page = _office(browser, demo_site)
        sent: list[str] = []
        page.on("request", lambda r: "/verify-presentation" in r.url and sent.append(r.url))
        status = _assess(page, other, presentation, anchor=False)
        assert status == "✘ this request was made by another office's key"
        assert sent == [] and page.is_hidden("#assess-download")  # nothing verified or signed
        assert page.locator("#assess-report *").count() == 0
        # dr-alice's answer to an earlier request, shown against a new request: the
        # challenge it was signed over is not this one's
        fresh = _ask(page, ASKED, tmp_path / "fresh.json")
        status = _assess(page, fresh, presentation)
        assert status.startswith("✘ Incomplete") and "failed at challenge" in status, status
        report = loads_strict(_download(page, "#assess-download",
                                        tmp_path / "report.json").read_bytes())
        assert report["complete"] is False and report["presentation"]["failed_step"] == "challenge"
        assert page.errors == []


def test_the_office_view_is_accessible_and_fits_a_phone(demo_site: Demo) -> None:
    folder = demo_site.data / "credentialing"

    def assess(page: Any) -> None:  # the demo's own request and answer: a complete report
        _assess(page, folder / "request-dr-alice.json", folder / "presentation-dr-alice.json")
        page.wait_for_selector("#assess-report li[data-step]")

    with chromium() as browser:
        url = f"{demo_site.url}{PAGE}"
        assert accessibility_violations(browser, url, "#office:not([hidden]) #ask-types input",
                                        key_file=demo_site.key_path("office-uma"),
                                        act=assess) == []
        page = _office(browser, demo_site, viewport={"width": 390, "height": 844})
        assess(page)
        assert page.text_content("#assess-status").startswith("✔ Complete")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        # keyboard: the form's controls are reached with Tab and labelled
        labels = page.eval_on_selector_all(
            "#ask-form input, #assess-form input",
            "xs => xs.map(x => x.labels.length)")
        assert labels and all(n == 1 for n in labels)
        assert page.errors == []
