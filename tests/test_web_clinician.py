"""The clinician's page: a patient who granted access is found by the link they show
(``?patient=<did>``) and their record read across custodians through the FHIR facade;
without a grant, after revocation, or for a patient who opted out of break-glass, the
page shows the node's refusal and its code, and nothing of the record. Break-glass in the
browser is tested end to end with the privacy officer in tests/test_web_privacy.py."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from browser import (
    Watched,
    accessibility_violations,
    chromium,
    screenshot,
    sign_in,
    violations,
)
from salus.client import SalusClient
from salus.identity import Identity
from salus.records.demo import LOINC, RXNORM, SNOMED, codeable, fhir_bundle
from web_demo import SCREENSHOTS, Demo

#: Invented, and unlike anything the demo seeds, so the page's text can only come from
#: this test's records.
PERSON = {"name": [{"family": "Quillfeather", "given": ["Odile"]}], "gender": "female",
          "birthDate": "1958-03-14"}
T = TypeVar("T")
PROBLEM = "Chronic obstructive lung disease"
VALUE = "Peak expiratory flow"
LATER = "Serum potassium"
HOSTILE = '<img src=x onerror="window.pwned=1">'


def records_for(demo: Demo, patient: Identity, mrn: str) -> None:
    """Records at two custodians, ingested by their clinicians as an EHR would."""
    with demo.client("dr-alice") as alice:
        alice.ingest("st-mary", patient.did, fhir_bundle(
            mrn, PERSON,
            {"resourceType": "Condition", "code": codeable(SNOMED, "13645005", PROBLEM)},
            {"resourceType": "MedicationStatement", "status": "active",
             "medicationCodeableConcept": codeable(RXNORM, "896188", "tiotropium inhaler")},
            {"resourceType": "AllergyIntolerance",
             "code": codeable(SNOMED, "294505008", "Allergy to amoxicillin")},
            {"resourceType": "Encounter", "status": "finished",
             "class": {"code": "AMB", "display": "ambulatory"},
             "period": {"start": "2026-09-01"}},
            {"resourceType": "Observation", "status": "final",
             "code": codeable(LOINC, "19935-6", VALUE),
             "valueQuantity": {"value": 312, "unit": "L/min"},
             "effectiveDateTime": "2026-09-01"}))
    with demo.client("tech-dan") as dan:
        dan.ingest("northlab", patient.did, fhir_bundle(
            "NL-" + mrn, PERSON,
            {"resourceType": "Observation", "status": "final",
             "code": codeable(LOINC, "2823-3", LATER),
             "valueQuantity": {"value": 4.1, "unit": "mmol/L"}}))


def eventually(read: Callable[[], T], done: Callable[[T], bool], seconds: float = 15) -> T:
    """``read()`` until ``done`` holds of it: a gateway's access entries commit a moment
    after the read they log."""
    deadline = time.monotonic() + seconds
    while True:
        found = read()
        if done(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def open_link(page: Watched, demo: Demo, patient: str) -> str:
    """Open the link a patient shows; the outcome line once the read is done."""
    page.goto(f"{demo.url}/ui/pages/clinician?patient={patient}")
    page.wait_for_selector("#find-status.ok, #find-status.bad")
    return page.get_attribute("#find-status", "class") or ""


def test_a_clinician_with_a_grant_reads_the_record_until_it_is_revoked(
        demo_site: Demo, tmp_path: Path) -> None:
    doc, doc_key = demo_site.enrol("st-mary", ["clinician"], tmp_path, "dr-wren")
    patient, _ = demo_site.patient(tmp_path, "pat-odile")
    records_for(demo_site, patient, "SM-WEB-1")
    with demo_site.client("dr-alice") as alice:  # a record that tries to become markup
        alice.ingest("st-mary", patient.did, fhir_bundle("SM-WEB-1X", PERSON, {
            "resourceType": "Condition", "code": {"text": HOSTILE}}))
    with SalusClient(demo_site.url, patient) as me:
        grant = me.grant({"member": doc.did}, ["TREAT"])
    with chromium() as browser:
        page = sign_in(browser, demo_site.url, doc_key)
        assert open_link(page, demo_site, patient.did) == "ok"
        assert page.input_value("#patient") == patient.did  # filled from ?patient=
        assert "Odile Quillfeather" in page.text_content("#demographics")
        problems = page.text_content("[data-group=problems]")
        assert PROBLEM in problems and "st-mary" in problems
        assert HOSTILE in problems  # shown as the text it is
        assert page.locator("main img").count() == 0 and page.evaluate("window.pwned") is None
        assert "tiotropium" in page.text_content("[data-group=medications]")
        assert "amoxicillin" in page.text_content("[data-group=allergies]")
        assert "ambulatory" in page.text_content("[data-group=encounters]")
        observations = page.text_content("[data-group=observations]")
        assert VALUE in observations and "312 L/min" in observations
        assert LATER in observations and "northlab" in observations  # the other custodian
        assert page.is_hidden("#refusal") and page.is_hidden("#emergency")
        screenshot(page, SCREENSHOTS, "clinician")

        with SalusClient(demo_site.url, patient) as me:
            me.revoke(grant)
        page.click("#find button[type=submit]")  # read again: refused now
        page.wait_for_selector("#refusal:not([hidden])")
        assert page.text_content("#refusal-code") == "NO_CONSENT"
        assert page.is_hidden("#record")
        assert PROBLEM not in page.text_content("main")
        assert page.errors_besides(403) == []  # the refusal, as the browser logs it
    with SalusClient(demo_site.url, patient) as me:  # both reads are on the patient's log
        codes = eventually(lambda: [e["code"] for e in me.access_log(limit=1000)["entries"]
                                    if e["requester"] == doc.did],
                           lambda found: "CONSENT_REVOKED" in found)
    # (the page was told NO_CONSENT: the facade does not say whether records exist to one
    # who may not see them; the patient's log says what each read came to)
    assert "CONSENT" in codes and "CONSENT_REVOKED" in codes


def test_without_a_grant_the_page_shows_the_refusal_not_an_empty_record(
        demo_site: Demo, tmp_path: Path) -> None:
    _doc, doc_key = demo_site.enrol("city-general", ["clinician"], tmp_path, "dr-ash")
    patient, _ = demo_site.patient(tmp_path, "pat-nogrant")
    records_for(demo_site, patient, "SM-WEB-2")
    with chromium() as browser:
        page = sign_in(browser, demo_site.url, doc_key)
        assert open_link(page, demo_site, patient.did) == "bad"
        assert page.text_content("#refusal-code") == "NO_CONSENT"
        assert "no grant" in page.text_content("#refusal-reason")
        assert page.is_hidden("#record") and PROBLEM not in page.text_content("main")
        # the did typed by hand, not a did: refused by the page before anything is asked
        page.fill("#patient", "Patient/../../v1/state")
        page.click("#find button[type=submit]")
        page.wait_for_selector("#patient[aria-invalid=true]")
        assert "not a patient's did" in page.text_content("#find-status")
        assert page.errors_besides(403) == []


def test_break_glass_on_a_patient_who_opted_out_shows_the_refusal(
        demo_site: Demo, tmp_path: Path) -> None:
    _er, er_key = demo_site.enrol("city-general", ["clinician", "emergency_clinician"],
                                  tmp_path, "dr-ember")
    kim = demo_site.made["patients"]["patient-kim"]  # the demo's opted-out patient
    with chromium() as browser:
        page = sign_in(browser, demo_site.url, er_key)
        assert open_link(page, demo_site, kim) == "bad"
        assert page.text_content("#refusal-code") == "NO_CONSENT"
        assert "You hold the emergency_clinician role" in page.text_content("#emergency-role")
        page.click("#bg-start")
        page.check("#bg-reasons input[value=unconscious]")
        page.click("#bg-reason button[type=submit]")
        page.click("#bg-go")
        page.wait_for_selector("#bg-status.bad")
        status = page.text_content("#bg-status")
        assert "FORBIDDEN" in status and "opted out" in status
        assert page.is_hidden("#record")
        assert page.errors_besides(403) == []


def test_the_clinician_page_is_accessible_and_fits_a_phone(demo_site: Demo,
                                                          tmp_path: Path) -> None:
    doc, doc_key = demo_site.enrol("st-mary", ["clinician", "emergency_clinician"], tmp_path,
                                   "dr-phone")
    patient, _ = demo_site.patient(tmp_path, "pat-phone")
    records_for(demo_site, patient, "SM-WEB-3")
    with SalusClient(demo_site.url, patient) as me:
        me.grant({"member": doc.did}, ["TREAT"], resource_types=["Patient", "Condition"])
    with chromium() as browser:
        page = sign_in(browser, demo_site.url, doc_key, viewport={"width": 390, "height": 844})
        assert open_link(page, demo_site, patient.did) == "ok"
        assert PROBLEM in page.text_content("[data-group=problems]")
        # what the grant does not cover is not shown, nor even named (it changed on
        # purpose: a grantee no longer learns which records lie outside their grant);
        # the emergency clinician is offered the glass all the same
        assert page.is_hidden("#not-served") and VALUE not in page.text_content("#record")
        assert page.is_visible("#bg-start")
        page.click("#bg-start")  # the break-glass steps fit too
        page.check("#bg-reasons input[value=life_threatening]")
        page.click("#bg-reason button[type=submit]")
        page.wait_for_selector("#bg-confirm:not([hidden])")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.click("#bg-back")  # cancelled: nothing signed
        assert page.is_visible("#bg-start") and page.is_hidden("#bg-confirm")
        assert page.errors == []

        # axe on the signed-in page: the record, then the reason form and the confirmation
        checked = sign_in(browser, demo_site.url, doc_key, bypass_csp=True)
        assert open_link(checked, demo_site, patient.did) == "ok"
        assert violations(checked) == []
        checked.click("#bg-start")
        checked.wait_for_selector("#bg-reason:not([hidden])")
        assert violations(checked) == []
        checked.check("#bg-reasons input[value=life_threatening]")
        checked.click("#bg-reason button[type=submit]")
        checked.wait_for_selector("#bg-confirm:not([hidden])")
        assert violations(checked) == []
        assert accessibility_violations(browser, f"{demo_site.url}/ui/pages/clinician",
                                        "main") == []  # signed out: the sign-in prompt
    with SalusClient(demo_site.url, patient) as me:  # cancelling wrote nothing
        assert not [e for e in me.access_log(limit=1000)["entries"]
                    if e["kind"] == "break_glass"]
