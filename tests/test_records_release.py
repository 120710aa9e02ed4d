"""What the records application takes and what its audit trail says: coded FHIR elements
against their required value sets, FHIR searches with invalid parameters, and access-log
outcomes that tell a released read from one allowed but not released."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator

import httpx
import pytest

from conftest import ident
from records_net import RecordsNet, fixture_bundle, running
from salus.client import SalusError
from salus.records import fhir_ingest


@pytest.fixture(scope="module")
def net(tmp_path_factory) -> Iterator[RecordsNet]:
    with running(tmp_path_factory.mktemp("release"), "pat-release") as net:
        yield net


def _resource(kind: str) -> dict:
    entry = next(e for e in fixture_bundle()["entry"] if e["resource"]["resourceType"] == kind)
    return copy.deepcopy(entry["resource"])


# -- required bindings ----------------------------------------------------------------------
def test_the_fixture_bundle_keeps_to_its_required_bindings() -> None:
    assert len(fhir_ingest.parse(json.dumps(fixture_bundle()).encode())) > 5


@pytest.mark.parametrize(("kind", "change", "where"), [
    ("Observation", lambda r: r.update(status="bogus"), "Observation.status"),
    ("Condition", lambda r: r["clinicalStatus"]["coding"][0].update(code="cured-ish"),
     "Condition.clinicalStatus"),
    ("Condition", lambda r: r.update(clinicalStatus={"text": "fine now"}),
     "Condition.clinicalStatus"),
    ("AllergyIntolerance", lambda r: r.update(category=["food", "gossip"]),
     "AllergyIntolerance.category[1]"),
    ("Patient", lambda r: r.update(gender="m"), "Patient.gender"),
    ("Observation", lambda r: r.update(text={"status": "whatever", "div": "<div>x</div>"}),
     "Observation.text.status"),
])
def test_a_code_outside_its_required_value_set_is_refused(kind: str, change, where: str) -> None:
    resource = _resource(kind)
    change(resource)
    with pytest.raises(fhir_ingest.InvalidFHIR) as exc:
        fhir_ingest.parse(json.dumps(resource).encode())
    (issue,) = exc.value.issues
    assert (issue.expression, issue.code) == (where, "code-invalid"), issue
    assert "value set" in issue.diagnostics or "coding of" in issue.diagnostics


def test_a_bogus_status_is_refused_over_the_api_and_nothing_is_stored(net: RecordsNet) -> None:
    patient = net.did("pat-release")
    resource = _resource("Observation")
    resource["status"] = "bogus"
    with net.client("dr-adams") as doc, pytest.raises(SalusError) as err:
        doc.ingest("st-mary", patient, resource)
    assert err.value.status == 422 and "Observation.status" in str(err.value)
    with net.client("pat-release") as me:
        assert me.record_index() == []


# -- FHIR searches with invalid parameters ------------------------------------------------------
def test_fhir_searches_with_invalid_parameters_are_bad_requests(net: RecordsNet) -> None:
    pid = net.did("pat-release").removeprefix("did:key:")
    with net.client("pat-release") as me:
        auth = {"authorization": f"Bearer {me.token()}"}
    for params, headers in (({"patient": pid}, {"X-Purpose-Of-Use": "SNOOPING"}),
                            ({"patient": pid}, {"X-Purpose-Of-Use": ""}),
                            ({"patient": "../../etc"}, {}), ({"patient": "Patient/a b"}, {}),
                            ({"patient": "x" * 65}, {})):
        r = httpx.get(f"{net.url}/fhir/Observation", params=params, headers={**auth, **headers})
        assert r.status_code == 400, (params, headers, r.text)
        outcome = r.json()
        assert outcome["resourceType"] == "OperationOutcome"
        assert outcome["issue"][0]["code"] == "invalid"
    # a well-formed id of nobody is a search that found nothing
    r = httpx.get(f"{net.url}/fhir/Observation", params={"patient": "Nobody"}, headers=auth)
    assert r.status_code == 200 and r.json()["total"] == 0


# -- allowed, but not released -------------------------------------------------------------------
def test_an_allowed_read_that_releases_nothing_is_not_logged_as_granted(net: RecordsNet) -> None:
    """A grantee with no encryption key on the ledger may read the record, but the REST
    gateway cannot wrap its key to them: the access log says NO_ENCRYPTION_KEY,
    ``not_released``, never "granted"; the FHIR facade, which releases plaintext over
    TLS to the same reader, is granted and logged so."""
    keyless = ident("dr-keyless")
    net.people["dr-keyless"] = keyless
    with net.client("north-admin") as admin:  # enrolled without an encryption key
        admin.call("membership", "enrol", {"org": "north", "member": keyless.did,
                                           "roles": ["clinician"]})
    patient = net.patient("pat-keyless")
    with net.client("dr-adams") as doc:
        stored = doc.ingest("st-mary", patient.did, _resource("Observation"))
    with net.client("pat-keyless") as me:
        me.grant({"member": keyless.did}, ["TREAT"])
    with net.client("dr-keyless") as reader:
        with pytest.raises(SalusError) as err:
            reader.read_record("st-mary", stored[0]["record"])
        assert (err.value.status, err.value.code) == (409, "NO_ENCRYPTION_KEY")
        r = httpx.get(f"{net.url}/fhir/Observation/{stored[0]['record']}",
                      headers={"authorization": f"Bearer {reader.token()}"})
        assert r.status_code == 200 and r.json()["resourceType"] == "Observation"
    net.settle()
    with net.client("pat-keyless") as me:
        log = me.access_log()["entries"]
        events = me._request("GET", "/v1/access/log", auth=True,
                             params={"format": "fhir"})["entry"]
    assert [(e["code"], e["outcome"]) for e in log] == [("NO_ENCRYPTION_KEY", "not_released"),
                                                        ("CONSENT", "granted")]
    assert [(e["resource"]["outcome"], e["resource"]["outcomeDesc"]) for e in events] == [
        ("4", "NO_ENCRYPTION_KEY"), ("0", "CONSENT")]
