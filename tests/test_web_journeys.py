"""The issue's first journey, end to end in two browsers on the served demo: a patient
imports her key and grants a clinician with the form; the clinician opens the link the
patient's page shows and reads her record; the patient sees that read appear without
reloading; she revokes with the button; the clinician's next read is refused, and she
sees that refusal appear too. Nobody's key leaves their browser, and the node's log
holds none of the record's words."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from browser import chromium, sign_in
from salus.client import SalusClient
from test_web_clinician import PERSON, PROBLEM, VALUE, records_for
from web_demo import Demo

PATIENT_PAGE = "/ui/pages/patient"


def test_grant_read_watch_revoke_refused(demo_site: Demo, tmp_path: Path,
                                         caplog: pytest.LogCaptureFixture) -> None:
    for name in ("", "salus", "uvicorn", "uvicorn.error", "uvicorn.access"):
        caplog.set_level(logging.DEBUG, logger=name)
    clinician, clinician_key = demo_site.enrol("st-mary", ["clinician"], tmp_path, "dr-iris")
    patient, patient_key = demo_site.patient(tmp_path, "pat-journey")
    records_for(demo_site, patient, "SM-JOURNEY")
    with chromium() as browser:
        me = sign_in(browser, demo_site.url, patient_key)
        me.goto(f"{demo_site.url}{PATIENT_PAGE}")
        me.wait_for_selector("#access-live:has-text('Live')")
        me.evaluate("window.notReloaded = true")
        # she grants the clinician, by member id, for treatment
        me.fill("#grantee-did", clinician.did)
        me.check("#purposes input[value=TREAT]")
        me.click("#grant button[type=submit]")
        me.wait_for_selector("#grant-status.ok")
        with SalusClient(demo_site.url, patient) as c:
            (grant,) = c.consents()["grants"].values()
        assert grant["grantee"] == {"member": clinician.did} and grant["status"] == "active"
        link = me.get_attribute("#share-link", "href")
        assert link and urlsplit(link).path == "/ui/pages/clinician"
        assert parse_qs(urlsplit(link).query) == {"patient": [patient.did]}

        # the clinician opens the link she shows, and reads
        doc = sign_in(browser, demo_site.url, clinician_key)
        doc.goto(link if link.startswith("http") else f"{demo_site.url}{link}")
        doc.wait_for_selector("#find-status.ok")
        assert PROBLEM in doc.text_content("[data-group=problems]")
        assert VALUE in doc.text_content("[data-group=observations]")

        # she sees it, live
        read = me.locator(f"#access tr[data-requester='{clinician.did}'][data-outcome=granted]")
        read.first.wait_for()
        assert "Treatment (TREAT)" in read.first.text_content()

        # she revokes; his next read is refused, and she sees that too
        row = me.locator(f"#grants tr[data-grant='{grant['id']}']")
        row.locator("button.revoke-start").click()
        row.locator("button.confirm-revoke").click()
        me.wait_for_selector("#grants-status.ok")
        doc.click("#find button[type=submit]")
        doc.wait_for_selector("#find-status.bad")
        assert doc.is_hidden("#record") and PROBLEM not in doc.text_content("main")
        code = doc.text_content("#refusal-code")
        assert code in {"NO_CONSENT", "CONSENT_REVOKED"}
        refused = me.locator(f"#access tr[data-requester='{clinician.did}'][data-outcome=refused]")
        refused.first.wait_for()
        assert "CONSENT_REVOKED" in refused.first.text_content()
        assert me.evaluate("window.notReloaded") is True
        assert me.errors == [] and doc.errors_besides(403) == []

    with SalusClient(demo_site.url, patient) as c:
        assert c.consents()["grants"][grant["id"]]["status"] == "revoked"
    # what the node logged while all this ran: no key material, none of the record's words
    logged = "\n".join(r.getMessage() for r in caplog.records)
    seeds = [Path(k).read_text() for k in (patient_key, clinician_key)]
    words = [PROBLEM, VALUE, PERSON["name"][0]["family"], PERSON["birthDate"]]
    assert not [w for w in words if w in logged]
    assert not [s for s in seeds if s.split('"ed25519_seed": "')[1][:20] in logged]
