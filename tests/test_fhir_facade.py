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


def _get(net: RecordsNet, token: str, path: str, **params) -> requests.Response:
    return requests.get(f"{net.url}/fhir/{path}", params=params, timeout=30,
                        headers={"Authorization": f"Bearer {token}", "X-Purpose-Of-Use": "TREAT"})


def _split(bundle: dict) -> tuple[list[dict], dict[str, str]]:
    """(the resources, {withheld record id: diagnostics}) of a searchset Bundle."""
    resources = [e["resource"] for e in bundle["entry"] if e.get("search", {}).get("mode") != "outcome"]
    withheld = {}
    for e in bundle["entry"]:
        if e.get("search", {}).get("mode") == "outcome" and e["resource"]["id"].startswith("withheld-"):
            (issue,) = e["resource"]["issue"]
            withheld[issue["expression"][0].split("/")[1]] = issue["diagnostics"]
    return resources, withheld


def test_a_record_the_vault_cannot_produce_is_withheld_not_a_500(net: RecordsNet) -> None:
    """A registration with an invented id (nothing in the vault) and a record whose vault
    copy no longer matches its hash: every search and $everything still answers 200 with
    the patient's other records and one OperationOutcome entry per withheld record."""
    import sqlite3

    from fhir.resources.R4B import get_fhir_model_class

    from salus.client import SalusError
    from salus.records.ingest_request import REQUEST_HEADER
    pat = net.patient("pat-withheld")
    pid = patient_fhir_id(pat.did)
    with net.client("dr-adams") as doc:
        stored = doc.ingest("st-mary", pat.did, bundle_for("MRN-WITHHELD"))
        request = doc.ingest_headers("st-mary", pat.did, b"{}")[REQUEST_HEADER]
    with net.client("pat-withheld") as me:
        me.grant({"member": net.did("dr-baker")}, ["TREAT"])
    invented = "r-" + "5ca1ab1e" * 4
    receipt = net.as_gateway("st-mary", "records", "register", {
        "record": invented, "patient": pat.did, "resource_type": "Observation",
        "content_hash": "ee" * 32, "request": request})
    assert receipt.valid, receipt
    condition = next(s for s in stored if s["type"] == "Condition")
    vault = sqlite3.connect(net.data / "vaults" / "st-mary.db")
    vault.execute("UPDATE blobs SET body = ? WHERE hash = ?", (b"\0" * 64, condition["content_hash"]))
    vault.commit()
    vault.close()
    net.settle()

    with net.client("dr-baker") as baker:
        token = baker.token()
        observations = _get(net, token, "Observation", patient=pid)
        assert observations.status_code == 200, observations.text
        found, withheld = _split(observations.json())
        assert [r["resourceType"] for r in found] == ["Observation"]  # the real one
        assert list(withheld) == [invented] and "VAULT_INCONSISTENT" in withheld[invented]
        conditions = _get(net, token, "Condition", patient=pid)
        assert conditions.status_code == 200
        found, withheld = _split(conditions.json())
        assert found == [] and list(withheld) == [condition["record"]]
        assert "TAMPERED" in withheld[condition["record"]]
        everything = _get(net, token, f"Patient/{pid}/$everything")
        assert everything.status_code == 200
        get_fhir_model_class("Bundle").model_validate(everything.json())
        found, withheld = _split(everything.json())
        served = {r["id"] for r in found if r["resourceType"] not in ("Provenance", "Patient")}
        assert served == {s["record"] for s in stored if s["type"] not in ("Condition", "Patient")}
        assert set(withheld) == {invented, condition["record"]}
        # reading a withheld record is a clear error with a stable code ...
        r = _get(net, token, f"Observation/{invented}")
        assert r.status_code == 500 and r.json()["resourceType"] == "OperationOutcome"
        assert "VAULT_INCONSISTENT" in r.json()["issue"][0]["diagnostics"]
        with pytest.raises(SalusError) as err:
            baker.read_record("st-mary", invented)
        assert (err.value.status, err.value.code) == (500, "VAULT_INCONSISTENT")
        # ... and the node keeps serving the patient's other records
        obs = next(s for s in stored if s["type"] == "Observation")
        assert baker.read_record("st-mary", obs["record"])["resourceType"] == "Observation"
        assert _get(net, token, f"Patient/{pid}").json()["resourceType"] == "Patient"


def test_a_grantee_sees_only_what_their_grant_covers_and_hears_of_nothing_else(
        net: RecordsNet) -> None:
    """A grant for one resource type showed its grantee the patient's whole index (ids,
    types, custodians, authors), and $everything named every other record as refused,
    each refusal on the patient's access log. A grantee now sees, reads and is told of
    only what their grants cover."""
    pat = net.patient("pat-scope")
    pid = patient_fhir_id(pat.did)
    with net.client("dr-adams") as doc:
        stored = doc.ingest("st-mary", pat.did, bundle_for("MRN-SCOPE"))
    observations = {r["record"] for r in stored if r["type"] == "Observation"}
    assert observations and len(stored) > len(observations)
    with net.client("pat-scope") as me:
        me.grant({"member": net.did("dr-baker")}, ["TREAT"], resource_types=["Observation"])
        log_before = me.access_log(limit=1000)["entries"]
    with net.client("dr-baker") as baker:
        index = baker.record_index(pat.did)
        token = baker.token()
    assert {r["id"] for r in index} == observations and {r["type"] for r in index} == {
        "Observation"}
    everything = _get(net, token, f"Patient/{pid}/$everything").json()
    resources, outcomes = _split(everything)
    assert {r["resourceType"] for r in resources} - {"Provenance"} == {"Observation"}
    assert outcomes == {}  # nothing outside the grant is named, withheld or refused
    assert not [e for e in everything["entry"] if e.get("search", {}).get("mode") == "outcome"]
    net.settle()
    with net.client("pat-scope") as me:
        new = [e for e in me.access_log(limit=1000)["entries"]
               if e not in log_before and e["requester"] == net.did("dr-baker")]
    assert new and {e["record"] for e in new} == observations
    assert {e["code"] for e in new} == {"CONSENT"}
    with net.client("pat-scope") as me:  # the patient still sees all of her index
        assert len(me.record_index()) == len(stored)


def test_links_in_answers_name_the_node_not_the_host_header(net: RecordsNet) -> None:
    """The facade built its links from the request's Host header, which any client (or a
    cache in between) sets: a CapabilityStatement or a Bundle could point elsewhere."""
    forged = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
    doc = requests.get(f"{net.url}/fhir/metadata", headers=forged, timeout=10).json()
    assert doc["implementation"]["url"] == f"{net.url}/fhir"
    pat = net.patient("pat-links")
    with net.client("dr-adams") as c:
        c.ingest("st-mary", pat.did, bundle_for("MRN-LINKS"))
    with net.client("pat-links") as me:
        token = me.token()
    bundle = requests.get(f"{net.url}/fhir/Observation", timeout=30,
                          params={"patient": patient_fhir_id(pat.did)},
                          headers={**forged, "Authorization": f"Bearer {token}",
                                   "X-Purpose-Of-Use": "PATRQT"}).json()
    urls = [e["fullUrl"] for e in bundle["entry"]] + [x["url"] for x in bundle.get("link", [])]
    assert urls and all(u.startswith(f"{net.url}/fhir/") or u == f"{net.url}/fhir"
                        for u in urls), urls


def test_every_registrable_clinical_type_is_searchable() -> None:
    # a type custodians may register (a completed survey, for rewards) but not search
    # would be on the ledger and out of reach of the patient's own FHIR client
    from salus.records.contracts.layout import RESOURCE_TYPES
    from salus.records.fhir_export import SEARCH_TYPES

    assert set(SEARCH_TYPES) == RESOURCE_TYPES - {"Patient", "Binary"}
