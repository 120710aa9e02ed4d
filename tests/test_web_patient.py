"""The patient page in a real browser, on the served demo: a new patient's records from
three custodians in groups with a chart per numeric observation; grants made with the
form and revoked with the button, as they land on the ledger; a grantee's reads (released
and refused) appearing in the access log without a reload; the break-glass switch; erasure;
and what a hostile form, a tampered vault or another patient gets."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from browser import Watched, accessibility_violations, chromium, screenshot, sign_in
from salus.client import SalusClient, SalusError
from salus.identity import Identity
from salus.node.datadir import DataDir
from salus.records.custodian import vault_path
from salus.records.demo import LOINC, RXNORM, SNOMED, codeable, fhir_bundle
from web_demo import SCREENSHOTS, Demo

PAGE = "/ui/pages/patient"
ROWAN = {"name": [{"family": "Testcase", "given": ["Rowan"]}], "gender": "other",
         "birthDate": "1980-05-05"}
#: Systolic blood pressure at City General, three readings: the chart's series.
READINGS = [("2026-03-02T09:00:00Z", 151), ("2026-06-01T09:00:00Z", 142),
            ("2026-09-01T09:00:00Z", 131)]


def _bp(when: str, value: int) -> dict[str, Any]:
    return {"resourceType": "Observation", "status": "final", "effectiveDateTime": when,
            "code": codeable(LOINC, "8480-6", "Systolic blood pressure"),
            "valueQuantity": {"value": value, "unit": "mm[Hg]"}}


def _records(demo: Demo, patient: Identity) -> dict[str, list[dict[str, Any]]]:
    """Records of every group at st-mary, city-general and northlab, ingested by each
    custodian's clinical staff through the SDK as records/demo.py does (each EHR's
    patient id is the patient's own: an id links to one patient at a custodian)."""
    mrn = patient.did[-10:]
    bundles = {
        ("dr-alice", "st-mary"): fhir_bundle(
            f"T1-{mrn}", ROWAN,
            {"resourceType": "Condition", "code": codeable(SNOMED, "195967001", "Asthma")},
            {"resourceType": "MedicationStatement", "status": "active",
             "medicationCodeableConcept": codeable(RXNORM, "745679", "salbutamol inhaler")},
            {"resourceType": "AllergyIntolerance",
             "code": codeable(SNOMED, "300913006", "Shellfish allergy")},
            {"resourceType": "Immunization", "status": "completed",
             "vaccineCode": codeable("http://hl7.org/fhir/sid/cvx", "33", "Pneumococcal"),
             "occurrenceDateTime": "2026-02-11"},
            {"resourceType": "Encounter", "status": "finished",
             "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                       "code": "AMB"}}),
        ("dr-bob", "city-general"): fhir_bundle(f"T2-{mrn}", ROWAN, *[_bp(w, v) for w, v in READINGS]),
        ("tech-dan", "northlab"): fhir_bundle(
            f"T3-{mrn}", ROWAN,
            {"resourceType": "Observation", "status": "final",
             "effectiveDateTime": "2026-05-20T08:00:00Z",
             "code": codeable(LOINC, "4548-4", "Hemoglobin A1c"),
             "valueQuantity": {"value": 5.4, "unit": "%"}},
            {"resourceType": "Observation", "status": "final",
             "code": codeable(LOINC, "72166-2", "Tobacco smoking status"),
             "valueCodeableConcept": codeable(SNOMED, "266919005", "Never smoked")}),
    }
    out: dict[str, list[dict[str, Any]]] = {}
    for (author, custodian), bundle in bundles.items():
        with demo.client(author) as c:
            out[custodian] = c.ingest(custodian, patient.did, bundle)
    return out


def _open(browser: Any, demo: Demo, key: Path, **context: Any) -> Watched:
    page = sign_in(browser, demo.url, key, **context)
    page.goto(f"{demo.url}{PAGE}")
    page.wait_for_selector("#access-live:has-text('Live')")
    return page


def _consent(demo: Demo, who: Identity) -> dict[str, Any]:
    with SalusClient(demo.url, who) as c:
        return c.consents()


def test_the_patient_sees_every_group_from_every_custodian_and_a_chart_per_measure(
        demo_site: Demo, tmp_path: Path) -> None:
    me, key = demo_site.patient(tmp_path, "rowan")
    _records(demo_site, me)
    with chromium() as browser:
        page = _open(browser, demo_site, key, viewport={"width": 1100, "height": 900})
        page.wait_for_selector("#group-observations figure.chart canvas")
        status = page.text_content("#records-status")
        assert "Rowan Testcase" in status and "3 custodians" in status
        for group, what, held_by in (
                ("problems", "Asthma", "St Mary"), ("medications", "salbutamol inhaler", "St Mary"),
                ("allergies", "Shellfish allergy", "St Mary"),
                ("immunisations", "Pneumococcal", "St Mary"),
                ("encounters", "Outpatient visit", "St Mary"),
                ("observations", "Hemoglobin A1c", "North Diagnostics"),
                ("observations", "Systolic blood pressure", "City General")):
            row = page.locator(f"#group-{group} tbody tr", has_text=what).first
            assert held_by in row.text_content(), (group, what)
        assert "Never smoked" in page.text_content("#group-observations")
        # one chart per numeric code (not the coded smoking status), each drawn, each with
        # its values as a table: the blood pressure's three readings, oldest first
        figures = page.locator("#group-observations figure.chart")
        assert figures.count() == 2
        # each figure holds its values table (no other page's fixed .chart height cuts it
        # short, so the next figure does not overlap it)
        assert all(gap >= 0 for gap in figures.evaluate_all(
            "fs => fs.map(f => f.getBoundingClientRect().bottom"
            " - f.querySelector('table').getBoundingClientRect().bottom)"))
        bp = figures.filter(has_text="Systolic blood pressure")
        assert [r.split("\t")[1] for r in bp.locator("tbody tr").all_inner_texts()] == \
            [f"{v} mm[Hg]" for _, v in READINGS]
        canvas = bp.locator("canvas")
        assert canvas.get_attribute("role") == "img" and canvas.get_attribute("aria-describedby")
        painted = canvas.evaluate("c => { const d = c.getContext('2d').getImageData(0, 0, c.width,"
                                  " c.height).data; let n = 0; for (let i = 3; i < d.length; i += 4)"
                                  " if (d[i]) n++; return n; }")
        assert painted > 1000
        assert page.locator("#unserved").is_hidden()
        # the clinician link and its QR code name this patient
        link = page.get_attribute("#share-link", "href")
        assert link == f"{demo_site.url}/ui/pages/clinician?patient={me.did.replace(':', '%3A')}"
        assert page.locator("#share-qr svg[role=img] path").get_attribute("d").count("M") > 100
        assert page.errors == []


def test_a_grant_made_with_the_form_is_on_the_ledger_exactly_and_the_button_revokes_it(
        demo_site: Demo, tmp_path: Path) -> None:
    me, key = demo_site.patient(tmp_path, "grantor")
    zone = ZoneInfo("Europe/Paris")
    first = date.today() + timedelta(days=10)
    last = first + timedelta(days=30)
    with chromium() as browser:
        page = _open(browser, demo_site, key, timezone_id="Europe/Paris")
        page.check("#grant input[name=kind][value=group]")
        page.select_option("#grantee-org", "city-general")
        page.select_option("#grantee-role", "nurse")
        for code in ("TREAT", "HOPERAT"):
            page.check(f"#purposes input[value={code}]")
        for rtype in ("Observation", "Immunization"):
            page.check(f"#types input[value={rtype}]")
        page.fill("#grant-start", first.isoformat())
        page.fill("#grant-end", last.isoformat())
        page.click("#grant button[type=submit]")
        page.wait_for_selector("#grant-status.ok")
        (grant,) = _consent(demo_site, me)["grants"].values()
        assert grant["grantee"] == {"org": "city-general", "role": "nurse"}
        assert grant["purposes"] == ["HOPERAT", "TREAT"]
        assert grant["resource_types"] == ["Immunization", "Observation"]
        midnight = datetime(first.year, first.month, first.day, tzinfo=zone)
        after_last = datetime(last.year, last.month, last.day, tzinfo=zone) + timedelta(days=1)
        assert grant["start"] == int(midnight.timestamp() * 1000)
        assert grant["end"] == int(after_last.timestamp() * 1000)
        assert grant["status"] == "active"
        row = page.locator(f"#grants tr[data-grant='{grant['id']}']")
        assert "Nurses at City General Hospital" in row.text_content()
        assert "not started yet" in row.text_content()
        # revoke: one click asks, the second revokes; "keep it" changes nothing
        row.locator("button.revoke-start").click()
        row.get_by_role("button", name="Keep it").click()
        assert _consent(demo_site, me)["grants"][grant["id"]]["status"] == "active"
        row.locator("button.revoke-start").click()
        row.locator("button.confirm-revoke").click()
        page.wait_for_selector("#grants-status.ok")
        assert _consent(demo_site, me)["grants"][grant["id"]]["status"] == "revoked"
        assert "revoked" in page.locator(f"#grants tr[data-grant='{grant['id']}']").text_content()
        assert page.locator(f"#grants tr[data-grant='{grant['id']}'] button").count() == 0
        assert page.errors == []


def test_a_grantees_reads_appear_in_the_access_log_without_a_reload(demo_site: Demo,
                                                                    tmp_path: Path) -> None:
    me, key = demo_site.patient(tmp_path, "watched")
    stored = _records(demo_site, me)
    reader, _ = demo_site.enrol("city-general", ["clinician"], tmp_path, "reader")
    with SalusClient(demo_site.url, me) as c:
        c.grant({"member": reader.did}, ["TREAT"], share_existing=False)
    record = next(r for r in stored["city-general"] if r["type"] == "Observation")
    with chromium() as browser:
        page = _open(browser, demo_site, key, viewport={"width": 1100, "height": 900})
        page.evaluate("window.notReloaded = true")
        assert page.locator(f"#access tr[data-requester='{reader.did}']").count() == 0
        with SalusClient(demo_site.url, reader) as c:
            c.read_record("city-general", record["record"], "TREAT")
            released = page.locator(f"#access tr[data-requester='{reader.did}'][data-outcome=granted]")
            released.wait_for()
            assert "City General Hospital" in released.text_content()
            assert "Treatment (TREAT)" in released.text_content()
            assert "Observation held by City General Hospital" in released.text_content()
            with pytest.raises(SalusError) as refused:
                c.read_record("city-general", record["record"], "HRESCH")
        assert refused.value.code == "PURPOSE_NOT_GRANTED"
        row = page.locator(f"#access tr[data-requester='{reader.did}'][data-outcome=refused]")
        row.wait_for()
        assert "Refused (PURPOSE_NOT_GRANTED)" in row.text_content()
        assert "Research (HRESCH)" in row.text_content()
        page.wait_for_function("document.getElementById('access-news').textContent"
                               ".includes('refused (PURPOSE_NOT_GRANTED)')")
        assert page.get_attribute("#access-news", "aria-live") == "polite"
        assert page.evaluate("window.notReloaded") is True
        screenshot(page, SCREENSHOTS, "patient")  # records, a grant, and two reads by others
        assert page.errors == []


def test_the_break_glass_switch_sets_the_choice_on_the_ledger(demo_site: Demo,
                                                               tmp_path: Path) -> None:
    me, key = demo_site.patient(tmp_path, "chooser")
    with chromium() as browser:
        page = _open(browser, demo_site, key)
        switch = page.locator("#break-glass")
        page.wait_for_selector("#break-glass:enabled")  # not before the choice is read
        assert switch.get_attribute("aria-checked") == "true"
        switch.click()
        page.wait_for_selector("#break-glass[aria-checked=false]")
        assert _consent(demo_site, me)["break_glass_opt_out"] is True
        assert "opted out" in page.text_content("#break-glass-state")
        switch.press("Enter")  # a real button: the keyboard works too
        page.wait_for_selector("#break-glass[aria-checked=true]")
        assert _consent(demo_site, me)["break_glass_opt_out"] is False
        assert page.errors == []


def test_erasure_needs_the_typed_words_then_erases_every_record(demo_site: Demo,
                                                                tmp_path: Path) -> None:
    me, key = demo_site.patient(tmp_path, "eraser")
    stored = _records(demo_site, me)
    count = sum(len(v) for v in stored.values())
    with chromium() as browser:
        page = _open(browser, demo_site, key)
        page.wait_for_selector("#group-problems tbody tr")
        page.fill("#erase-confirm", "erase")
        page.click("#erase button[type=submit]")
        page.wait_for_selector("#erase-status.bad")
        with SalusClient(demo_site.url, me) as c:
            assert {r["status"] for r in c.record_index()} == {"active"}
        page.fill("#erase-confirm", "Erase all my records")
        page.click("#erase button[type=submit]")
        page.wait_for_selector("#erase-status.ok")
        with SalusClient(demo_site.url, me) as c:
            index = c.record_index()
        assert len(index) == count and {r["status"] for r in index} == {"erased"}
        page.wait_for_selector("#unserved:not([hidden])")
        assert page.locator("#unserved-list li.erased").count() == count
        assert "No records are held for you" in page.text_content("#records-status")
        assert page.locator("#groups tbody tr").count() == 0
        assert page.errors == []


def test_a_record_the_vault_cannot_serve_is_named_with_its_reason(demo_site: Demo,
                                                                   tmp_path: Path) -> None:
    me, key = demo_site.patient(tmp_path, "tampered")
    stored = _records(demo_site, me)
    victim = next(r for r in stored["northlab"] if r["type"] == "Observation")
    vault = sqlite3.connect(vault_path(DataDir(demo_site.data), "northlab"))
    with vault:  # one byte of the ciphertext changed at rest
        (digest, body), = vault.execute(
            "SELECT hash, body FROM blobs WHERE hash = (SELECT hash FROM documents "
            "WHERE record = ?)", (victim["record"],))
        vault.execute("UPDATE blobs SET body = ? WHERE hash = ?",
                      (bytes([body[0] ^ 1]) + body[1:], digest))
    vault.close()
    with chromium() as browser:
        page = _open(browser, demo_site, key)
        page.wait_for_selector("#unserved:not([hidden])")
        item = page.locator("#unserved-list li", has_text=victim["record"])
        assert "TAMPERED" in item.text_content()
        assert "Asthma" in page.text_content("#group-problems")  # the rest is served
        assert page.errors == []


def test_hostile_record_words_stay_text_and_a_tampered_grant_form_changes_nothing(
        demo_site: Demo, tmp_path: Path) -> None:
    me, key = demo_site.patient(tmp_path, "hostile")
    clinician = demo_site.key("dr-alice")
    markup = "<img src=x onerror=window.pwned=1>"
    with demo_site.client("dr-alice") as c:  # a record whose words are markup stays words
        c.ingest("st-mary", me.did, fhir_bundle(
            f"H-{me.did[-10:]}", ROWAN,
            {"resourceType": "Condition", "code": {"text": markup}},
            {"resourceType": "Observation", "status": "final", "code": {"text": markup},
             "valueQuantity": {"value": 1, "unit": markup}}))
    with chromium() as browser:
        page = _open(browser, demo_site, key)
        page.wait_for_selector("#group-observations figure.chart")
        assert markup in page.text_content("#group-problems")
        assert markup in page.text_content("#group-observations figcaption")
        assert page.locator("#groups img").count() == 0
        assert page.evaluate("window.pwned") is None
        cases = [
            # a purpose checkbox whose value is text, not an HL7 code
            ("#purposes input[value=TREAT]", "Please let my sister read everything"),
            # a resource type that is no FHIR type
            ("#types input[value=Observation]", "<img src=x onerror=alert(1)>"),
        ]
        for selector, value in cases:
            page.fill("#grantee-did", clinician.did)
            box = page.locator(selector).element_handle()
            box.check()
            box.evaluate("(box, v) => { box.value = v; }", value)
            page.click("#grant button[type=submit]")
            page.wait_for_selector("#grant-status.bad")
            assert "BAD_ARGUMENTS" in page.text_content("#grant-status"), value
            assert page.locator("#grant-status img").count() == 0
            page.evaluate("document.getElementById('grant-status').className = ''")
            box.uncheck()
        # a grantee who is not an organisation member (a patient: herself)
        page.fill("#grantee-did", me.did)
        page.check("#purposes input[value=HRESCH]")
        page.click("#grant button[type=submit]")
        page.wait_for_selector("#grant-status.bad")
        assert "BAD_ARGUMENTS" in page.text_content("#grant-status")
        assert _consent(demo_site, me)["grants"] == {}
        assert "You have granted no one access" in page.text_content("#grants")
        assert page.errors == []


def test_another_patient_sees_none_of_this_patients_records_or_grants(demo_site: Demo,
                                                                      tmp_path: Path) -> None:
    first, _ = demo_site.patient(tmp_path, "first")
    _records(demo_site, first)
    bob = demo_site.key("dr-bob")
    with SalusClient(demo_site.url, first) as c:
        c.grant({"member": bob.did}, ["TREAT"], share_existing=False)
    other, other_key = demo_site.patient(tmp_path, "other")
    with chromium() as browser:
        page = _open(browser, demo_site, other_key)
        page.wait_for_selector("#records-status:has-text('No records')")
        # the grants list loads on its own: read the page once it has rendered too
        page.wait_for_selector("#grants:has-text('You have granted no one access')")
        text = page.inner_text("main")
        for secret in ("Asthma", "Rowan", "Systolic", "Hemoglobin", first.did,
                       bob.did[-6:]):
            assert secret not in text
        assert other.did in page.get_attribute("#share-link", "href").replace("%3A", ":")
        assert page.errors == []


def test_a_member_who_is_not_a_patient_is_told_so(demo_site: Demo) -> None:
    with chromium() as browser:
        page = sign_in(browser, demo_site.url, demo_site.key_path("dr-alice"))
        page.goto(f"{demo_site.url}{PAGE}")
        page.wait_for_selector("#page-status a")
        assert "for patients" in page.text_content("#page-status")
        assert page.locator("#patient").is_hidden()
        assert page.errors == []


def test_the_patient_page_is_accessible_and_fits_a_phone(demo_site: Demo) -> None:
    key = demo_site.key_path("patient-ivy")
    with chromium() as browser:
        assert accessibility_violations(browser, f"{demo_site.url}{PAGE}",
                                        "#access-live:has-text('Live')", key_file=key) == []
        page = _open(browser, demo_site, key, viewport={"width": 390, "height": 844})
        page.wait_for_selector("#group-observations figure.chart canvas")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert page.errors == []
