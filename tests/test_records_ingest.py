"""Ingest needs the caller's signed request: the gateway checks it before any work, and
the contract checks it again at the node's ingress (a rogue gateway gets nowhere)."""

from __future__ import annotations

import base64
import json
import time

import httpx
import pytest

from records_net import RecordsNet, bundle_for, start, stop
from salus.client import SalusClient, SalusError
from salus.identity import Identity
from salus.records.contracts.layout import patient_records_prefix, record_key
from salus.records.ingest_request import REQUEST_HEADER, SALT_HEADER, signed_headers


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    net, server, node = start(tmp_path_factory.mktemp("ingest"))
    yield net
    stop(server, node)


def small_bundle(source: str) -> bytes:
    doc = bundle_for(source)
    doc["entry"] = doc["entry"][:3]
    return json.dumps(doc).encode()


def post(c: SalusClient, custodian: str, patient: str, body: bytes, headers: dict[str, str],
         kind: str = "ingest") -> httpx.Response:
    return c._http.post(f"/v1/records/{custodian}/{kind}", params={"patient": patient},
                        content=body, headers={"Authorization": f"Bearer {c.token()}",
                                               "Content-Type": "application/fhir+json", **headers})


def headers_for(net: RecordsNet, who: Identity, custodian: str, patient: str, body: bytes,
                **kw) -> dict[str, str]:
    chain = kw.pop("chain", net.gateway.ledger.chain_id)
    at = kw.pop("time", int(time.time() * 1000))
    return signed_headers(who, chain=chain, custodian=custodian, patient=patient, body=body,
                          nonce=int(time.time() * 1e6), time=at, **kw)


def _stored_for(net: RecordsNet, patient: str) -> tuple[int, int]:
    """(documents in st-mary's vault, records on the ledger) for a patient."""
    vault = net.gateway.custodians["st-mary"].vault
    ledger = net.gateway.ledger.store.state_scan(patient_records_prefix(patient), "", 1000)
    return len(vault.documents_of(patient)), len(ledger)


def test_ingest_refuses_a_request_it_cannot_trust(net: RecordsNet) -> None:
    pat, other = net.patient("pat-req"), net.patient("pat-req-other")
    body = small_bundle("MRN-REQ")
    adams, nurse = net.people["dr-adams"], net.people["nurse-diaz"]
    good = headers_for(net, adams, "st-mary", pat.did, body)
    forged = base64.b64decode(good[REQUEST_HEADER])
    forged = base64.b64encode(bytes([forged[0] ^ 1]) + forged[1:]).decode()
    cases = {
        "no request": ({}, 400, "MISSING_REQUEST"),
        "not base64": ({REQUEST_HEADER: "%%%"}, 400, "BAD_REQUEST"),
        "not an envelope": ({REQUEST_HEADER: base64.b64encode(b"x" * 90).decode()}, 400,
                            "BAD_REQUEST"),
        "forged signature": ({**good, REQUEST_HEADER: forged}, 401, "BAD_REQUEST_SIGNATURE"),
        "signed by someone else": (headers_for(net, nurse, "st-mary", pat.did, body), 403,
                                   "FORBIDDEN"),
        "another body": (headers_for(net, adams, "st-mary", pat.did, body + b" "), 403,
                         "REQUEST_MISMATCH"),
        "another patient": (headers_for(net, adams, "st-mary", other.did, body), 403,
                            "REQUEST_MISMATCH"),
        "another custodian": (headers_for(net, adams, "city-lab", pat.did, body), 403,
                              "REQUEST_MISMATCH"),
        "salt not the one hashed": ({**headers_for(net, adams, "st-mary", pat.did, body),
                                     SALT_HEADER: base64.b64encode(b"s" * 16).decode()}, 403,
                                    "REQUEST_MISMATCH"),
        "salt too short": ({**good, SALT_HEADER: base64.b64encode(b"s").decode()}, 400,
                           "BAD_REQUEST"),
        "stale": (headers_for(net, adams, "st-mary", pat.did, body,
                              time=int(time.time() * 1000) - 3 * 60 * 1000), 400, "STALE"),
        "another chain": (headers_for(net, adams, "st-mary", pat.did, body, chain="elsewhere"),
                          400, "WRONG_CHAIN"),
    }
    with net.client("dr-adams") as doc:
        for case, (headers, status, code) in cases.items():
            r = post(doc, "st-mary", pat.did, body, headers)
            assert (r.status_code, r.json()["error"]["code"]) == (status, code), case
        assert _stored_for(net, pat.did) == (0, 0)  # nothing sealed, nothing registered
        # the node keeps serving: the good request works once, and only once
        r = post(doc, "st-mary", pat.did, body, good)
        assert r.status_code == 201, r.text
        assert {s["author"] for s in r.json()["records"]} == {adams.did}
        replay = post(doc, "st-mary", pat.did, body, good)
        assert (replay.status_code, replay.json()["error"]["code"]) == (409, "REPLAYED_REQUEST")
    assert _stored_for(net, pat.did) == (3, 3)
    with net.client("pat-req") as me:
        assert {r["author"] for r in me.record_index()} == {adams.did}


def test_neither_the_gateway_key_nor_a_patient_ingests(net: RecordsNet) -> None:
    pat = net.patient("pat-feed")
    body = small_bundle("MRN-FEED")
    gateway_key = net.gateway.custodians["st-mary"].key
    net.people["st-mary-gateway"] = gateway_key
    for who in ("st-mary-gateway", "pat-feed"):
        with net.client(who) as c:
            r = post(c, "st-mary", pat.did, body,
                     headers_for(net, net.people[who], "st-mary", pat.did, body))
            assert (r.status_code, r.json()["error"]["code"]) == (403, "FORBIDDEN"), who
    assert _stored_for(net, pat.did) == (0, 0)


def test_binary_needs_a_request_over_its_bytes(net: RecordsNet) -> None:
    pat = net.patient("pat-bin")
    data = b"%PDF-1.7 a scanned referral letter"
    with net.client("dr-adams") as doc:
        for headers in ({}, doc.ingest_headers("st-mary", pat.did, data + b"!")):
            r = post(doc, "st-mary", pat.did, data, {**headers, "Content-Type": "application/pdf"},
                     kind="binary")
            assert r.status_code in (400, 403) and r.json()["error"]["code"] in (
                "MISSING_REQUEST", "REQUEST_MISMATCH")
        assert _stored_for(net, pat.did) == (0, 0)
        stored = doc.store_binary("st-mary", pat.did, data, "application/pdf")
    assert stored["type"] == "Binary" and stored["author"] == net.did("dr-adams")
    with net.client("pat-bin") as me:
        assert base64.b64decode(me.read_record("st-mary", stored["record"])["data"]) == data


def test_a_rogue_gateway_is_refused_at_the_nodes_ingress(net: RecordsNet) -> None:
    """The gateway key signing a registration the contract will not admit: refused before
    ordering (never in the log), and the gateway keeps working."""
    pat = net.patient("pat-rogue")
    with net.client("dr-baker") as baker:  # a clinician of north, not st-mary
        foreign = baker.ingest_headers("st-mary", pat.did, b"{}")[REQUEST_HEADER]
    with net.client("dr-adams") as adams:
        for_other = adams.ingest_headers("st-mary", net.did("pat-req"), b"{}")[REQUEST_HEADER]
    record = "r-" + "0123456789abcdef" * 2
    height = net.gateway.ledger.height
    for request in (foreign, for_other):
        receipt = net.as_gateway("st-mary", "records", "register", {
            "record": record, "patient": pat.did, "resource_type": "Observation",
            "content_hash": "ab" * 32, "request": request})
        assert (receipt.status, receipt.code) == ("refused", "FORBIDDEN"), receipt
    assert net.gateway.ledger.state_value(record_key(record)) is None
    with net.client("dr-adams") as adams:  # and the gateway's writer still works
        stored = adams.ingest("st-mary", pat.did, small_bundle("MRN-ROGUE"))
    assert len(stored) == 3 and net.gateway.ledger.height > height


def test_sdk_errors_name_the_code(net: RecordsNet) -> None:
    pat = net.patient("pat-sdk")
    with net.client("nurse-diaz") as nurse, pytest.raises(SalusError) as err:
        nurse.ingest("city-lab", pat.did, small_bundle("MRN-SDK"))
    assert err.value.status == 403 and err.value.code == "FORBIDDEN"


def test_cli_ingest_and_binary_sign_as_the_keys_member(net: RecordsNet, tmp_path) -> None:
    from typer.testing import CliRunner

    from salus.cli.main import app
    pat = net.patient("pat-cli")
    key = tmp_path / "dr-adams.key"
    net.people["dr-adams"].save(key)
    bundle, scan = tmp_path / "bundle.json", tmp_path / "scan.pdf"
    bundle.write_bytes(small_bundle("MRN-CLI"))
    scan.write_bytes(b"%PDF-1.7 an ECG strip")
    runner = CliRunner()
    common = ["--custodian", "st-mary", "--patient", pat.did, "-k", str(key), "--node", net.url]
    ingested = runner.invoke(app, ["records", "ingest", str(bundle), *common])
    assert ingested.exit_code == 0, ingested.output
    binary = runner.invoke(app, ["records", "binary", str(scan), *common])
    assert binary.exit_code == 0, binary.output
    assert json.loads(binary.output)["type"] == "Binary"
    with net.client("pat-cli") as me:
        index = me.record_index()
    assert len(index) == 4 and {r["author"] for r in index} == {net.did("dr-adams")}
    refused = runner.invoke(app, ["records", "binary", str(scan), "--custodian", "city-lab",
                                  *common[2:]])
    assert refused.exit_code == 1 and "FORBIDDEN" in refused.output
