"""The FHIR facade, driven by a standard FHIR client (fhirpy) with nothing but a token."""

from __future__ import annotations

import pytest
import requests
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import ForbiddenError

from records_net import RecordsNet, bundle_for, start, stop
from salus.records.fhir_export import patient_fhir_id


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    net, server, node = start(tmp_path_factory.mktemp("fhir"))
    yield net
    stop(server, node)


def fhir_client(net: RecordsNet, who: str, purpose: str = "TREAT") -> SyncFHIRClient:
    with net.client(who) as c:
        token = c.token()
    return SyncFHIRClient(f"{net.url}/fhir", authorization=f"Bearer {token}",
                          extra_headers={"X-Purpose-Of-Use": purpose})


def test_metadata_is_a_capability_statement(net: RecordsNet) -> None:
    doc = requests.get(f"{net.url}/fhir/metadata", timeout=10).json()
    assert doc["resourceType"] == "CapabilityStatement" and doc["fhirVersion"] == "4.0.1"
    from fhir.resources.R4B import get_fhir_model_class
    get_fhir_model_class("CapabilityStatement").model_validate(doc)
    types = {r["type"] for r in doc["rest"][0]["resource"]}
    assert {"Patient", "Observation", "Condition", "MedicationStatement"} <= types


def test_fhirpy_reads_merged_records_with_consent_and_audit(net: RecordsNet) -> None:
    pat = net.patient("pat-fhir")
    pid = patient_fhir_id(pat.did)
    with net.client("dr-adams") as doc:
        at_mary = doc.ingest("st-mary", pat.did, bundle_for("MRN-F1"))
    with net.client("tech-hall") as tech:
        lab = bundle_for("LAB-F1")
        lab["entry"] = [lab["entry"][0], lab["entry"][2]]  # Patient + Observation
        lab["entry"][1]["resource"]["code"]["coding"][0]["code"] = "2345-7"  # glucose
        at_lab = tech.ingest("city-lab", pat.did, lab)

    stranger = fhir_client(net, "dr-baker")
    with pytest.raises(ForbiddenError) as err:  # no consent yet
        stranger.reference("Patient", pid).to_resource()
    assert "NO_CONSENT" in str(err.value)
    assert stranger.resources("Observation").search(patient=pid).fetch_all() == []

    with net.client("pat-fhir") as me:
        me.grant({"member": net.did("dr-baker")}, ["TREAT"])
    client = fhir_client(net, "dr-baker")
    patient = client.reference("Patient", pid).to_resource()
    assert patient["resourceType"] == "Patient" and patient["id"] == pid
    assert patient["name"][0]["family"] == "Quackenbush"  # decrypted for the authorised reader

    observations = client.resources("Observation").search(patient=pid).fetch_all()
    assert len(observations) == 2
    sources = {o["meta"]["source"] for o in observations}
    assert sources == {"urn:salus:st-mary", "urn:salus:city-lab"}
    troponin = client.resources("Observation").search(patient=pid, code="89579-7").fetch_all()
    assert [o["code"]["coding"][0]["code"] for o in troponin] == ["89579-7"]
    glucose = client.resources("Observation").search(
        patient=pid, code="http://loinc.org|2345-7").fetch_all()
    assert len(glucose) == 1 and glucose[0]["meta"]["source"] == "urn:salus:city-lab"
    conditions = client.resources("Condition").search(patient=f"Patient/{pid}").fetch_all()
    assert len(conditions) == 1

    everything = client.execute(f"Patient/{pid}/$everything", method="get")
    kinds = [e["resource"]["resourceType"] for e in everything["entry"]]
    assert kinds.count("Provenance") == len(at_mary) + len(at_lab)
    custodians = {e["resource"]["agent"][0]["who"]["identifier"]["value"]
                  for e in everything["entry"] if e["resource"]["resourceType"] == "Provenance"}
    assert custodians == {"st-mary", "city-lab"}
    from fhir.resources.R4B import get_fhir_model_class
    get_fhir_model_class("Bundle").model_validate(everything)

    net.settle()
    with net.client("pat-fhir") as me:
        log = me.access_log(limit=1000)["entries"]
    mine = [e for e in log if e["requester"] == net.did("dr-baker")]
    assert {e["custodian"] for e in mine} == {"st-mary", "city-lab"}
    assert any(e["code"] == "NO_CONSENT" for e in mine)
    assert sum(e["code"] == "CONSENT" for e in mine) >= len(at_mary) + len(at_lab)


def test_facade_refuses_without_token_or_purpose(net: RecordsNet) -> None:
    r = requests.get(f"{net.url}/fhir/Observation", params={"patient": "x"}, timeout=10)
    assert r.status_code == 401
    with net.client("dr-adams") as c:
        headers = {"Authorization": f"Bearer {c.token()}"}
    r = requests.get(f"{net.url}/fhir/Spaceship", params={"patient": "x"}, headers=headers,
                     timeout=10)
    assert r.status_code == 400 and r.json()["resourceType"] == "OperationOutcome"
    r = requests.get(f"{net.url}/fhir/Observation/r-nothing", headers=headers, timeout=10)
    assert r.status_code == 404 and r.json()["resourceType"] == "OperationOutcome"
