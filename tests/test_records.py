"""Records: FHIR ingest, vault, gateway, consent, audit, break-glass, erasure."""

from __future__ import annotations

import base64
import json
import sqlite3
import time

import pytest

from records_net import PHI, RecordsNet, bundle_for, fixture_bundle, phi_in, start, stop
from salus.client import SalusError
from salus.identity import Identity
from salus.ledger import transaction


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    net, server, node = start(tmp_path_factory.mktemp("records"))
    yield net
    stop(server, node)


def test_ingest_then_patient_reads_own_record(net: RecordsNet) -> None:
    pat = net.patient("pat-ingest")
    with net.client("dr-adams") as doc:
        stored = doc.ingest("st-mary", pat.did, bundle_for("MRN-INGEST"))
    types = sorted(s["type"] for s in stored)
    assert types.count("Binary") == 1 and "Patient" in types and len(stored) == 13
    with net.client("pat-ingest") as me:
        index = me.record_index()
        assert {r["id"] for r in index} == {s["record"] for s in stored}
        obs = next(s for s in stored if s["type"] == "Observation")
        resource = me.read_record("st-mary", obs["record"])
    assert resource["valueQuantity"]["unit"] == "ng/mL" and resource["id"] == obs["record"]


def _every_ledger_byte(net: RecordsNet) -> list[bytes]:
    conn = sqlite3.connect(net.data / "ledger.db")
    conn.text_factory = bytes
    try:
        out = [bytes(r[0]) for r in conn.execute("SELECT raw FROM txs")]
        out += [bytes(r[0]) for r in conn.execute("SELECT header FROM blocks")]
        out += [bytes(k) + bytes(v) for k, v in conn.execute("SELECT key, value FROM state")]
        out += [bytes(r[0]) for r in conn.execute("SELECT detail FROM txs WHERE detail IS NOT NULL")]
    finally:
        conn.close()
    return out


def test_no_phi_reaches_the_ledger(net: RecordsNet) -> None:
    pat = net.patient("pat-phi")
    with net.client("dr-adams") as doc:
        stored = doc.ingest("st-mary", pat.did, fixture_bundle())
    with net.client("pat-phi") as me:
        me.grant({"member": net.did("dr-adams")}, ["TREAT"])
    with net.client("dr-adams") as doc:
        for s in stored:
            doc.read_record("st-mary", s["record"])  # reads write audit entries too
    blobs = _every_ledger_byte(net)
    assert any(pat.did.encode() in b for b in blobs)  # the scan does see the ledger
    assert not phi_in(blobs)
    # ... while the vault holds it only encrypted
    vault = (net.data / "vaults" / "st-mary.db").read_bytes()
    for needle in PHI:
        assert needle.encode() not in vault, f"{needle!r} is in the vault in plaintext"


def test_invalid_fhir_gets_operation_outcome_and_stores_nothing(net: RecordsNet) -> None:
    pat = net.patient("pat-invalid")
    bad = bundle_for("MRN-INVALID")
    bad["entry"][2]["resource"]["valueQuantity"]["value"] = "lots"
    del bad["entry"][3]["resource"]["subject"]
    with net.client("dr-adams") as doc:
        body = json.dumps(bad).encode()
        resp = doc._http.post("/v1/records/st-mary/ingest", params={"patient": pat.did},
                              content=body,
                              headers={"Authorization": f"Bearer {doc.token()}",
                                       **doc.ingest_headers("st-mary", pat.did, body)})
        assert resp.status_code == 422
        outcome = resp.json()
        assert outcome["resourceType"] == "OperationOutcome"
        where = [i["expression"][0] for i in outcome["issue"]]
        assert "Bundle.entry[2].resource.valueQuantity.value" in where
        assert "Bundle.entry[3].resource.subject" in where
        # not JSON at all: 400; JSON that is no FHIR Salus takes: 422
        for body, status in ((b"{not json", 400), (b'{"resourceType": "Spaceship"}', 422),
                             (b"[]", 422)):
            r = doc._http.post("/v1/records/st-mary/ingest", params={"patient": pat.did},
                               content=body, headers={"Authorization": f"Bearer {doc.token()}",
                                                      **doc.ingest_headers("st-mary", pat.did,
                                                                           body)})
            assert r.status_code == status and r.json()["resourceType"] == "OperationOutcome"
    with net.client("pat-invalid") as me:
        assert me.record_index() == []
    assert net.gateway.custodians["st-mary"].vault.documents_of(pat.did) == []


def test_wrong_patient_is_refused(net: RecordsNet) -> None:
    first, second = net.patient("pat-wrong-1"), net.patient("pat-wrong-2")
    mixed = bundle_for("MRN-MIXED")
    mixed["entry"][4]["resource"]["patient"]["reference"] = "Patient/SOMEONE-ELSE"
    with net.client("dr-adams") as doc:
        with pytest.raises(SalusError) as err:
            doc.ingest("st-mary", first.did, json.dumps(mixed).encode())
        assert err.value.status == 422
        doc.ingest("st-mary", first.did, records_bundle("MRN-WRONG"))
        # the same person at this hospital cannot later be filed under another patient
        with pytest.raises(SalusError) as err:
            doc.ingest("st-mary", second.did, records_bundle("MRN-WRONG"))
        assert err.value.code == "WRONG_PATIENT"
        with pytest.raises(SalusError) as err:  # not a registered patient
            doc.ingest("st-mary", net.did("dr-baker"), records_bundle("MRN-X"))
        assert err.value.code == "UNKNOWN_PATIENT"
    with net.client("pat-wrong-2") as me:
        assert me.record_index() == []


def test_writers_must_be_clinical_staff_of_the_custodian(net: RecordsNet) -> None:
    pat = net.patient("pat-writer")
    for who, custodian in (("dr-baker", "st-mary"), ("claims-fox", "st-mary"),
                           ("pat-writer", "st-mary")):
        with net.client(who) as c, pytest.raises(SalusError) as err:
            c.ingest(custodian, pat.did, records_bundle("MRN-W"))
        assert err.value.code == "FORBIDDEN"
    with net.client("dr-adams") as c, pytest.raises(SalusError) as err:
        c.ingest("nowhere", pat.did, records_bundle("MRN-W"))
    assert err.value.status in (403, 404)


def records_bundle(source: str) -> bytes:
    doc = bundle_for(source)
    doc["entry"] = doc["entry"][:3]
    return json.dumps(doc).encode()


def _log(net: RecordsNet, patient: str) -> list[dict]:
    net.settle()
    with net.client(patient) as me:
        return me.access_log(limit=1000)["entries"]


def test_consent_grant_read_revoke(net: RecordsNet) -> None:
    pat = net.patient("pat-consent")
    with net.client("dr-adams") as doc:
        stored = doc.ingest("st-mary", pat.did, records_bundle("MRN-C1"))
    obs = next(s for s in stored if s["type"] == "Observation")
    vault = net.gateway.custodians["st-mary"].vault
    with net.client("dr-baker") as baker:
        with pytest.raises(SalusError) as err:
            baker.read_record("st-mary", obs["record"])
        assert err.value.code == "NO_CONSENT" and err.value.status == 403
        with net.client("pat-consent") as me:
            grant = me.grant({"member": net.did("dr-baker")}, ["TREAT"],
                             resource_types=["Observation", "Condition"])
        # the patient's client re-wrapped the existing record's key for the grantee
        assert net.did("dr-baker") in vault.recipients(vault.document(obs["record"]))
        assert baker.read_record("st-mary", obs["record"])["resourceType"] == "Observation"
        with pytest.raises(SalusError) as err:  # not covered: wrong resource type
            baker.read_record("st-mary", next(s["record"] for s in stored
                                              if s["type"] == "Encounter"))
        assert err.value.code == "NO_CONSENT"
        with pytest.raises(SalusError) as err:  # not covered: wrong purpose
            baker.read_record("st-mary", obs["record"], purpose="HRESCH")
        assert err.value.code == "PURPOSE_NOT_GRANTED"
        with net.client("pat-consent") as me:
            me.revoke(grant)
        with pytest.raises(SalusError) as err:
            baker.read_record("st-mary", obs["record"])
        assert err.value.code == "CONSENT_REVOKED"
    # new records after the revocation are not wrapped to the old grantee
    with net.client("dr-adams") as doc:
        later = doc.ingest("st-mary", pat.did, records_bundle("MRN-C1"))
    for s in later:
        assert net.did("dr-baker") not in vault.recipients(vault.document(s["record"], s["version"]))
    assert net.did("dr-baker") not in vault.recipients(vault.document(obs["record"], 1))
    entries = [e for e in _log(net, "pat-consent") if e["requester"] == net.did("dr-baker")]
    codes = [e["code"] for e in entries]
    assert codes == ["NO_CONSENT", "CONSENT", "NO_CONSENT", "PURPOSE_NOT_GRANTED",
                     "CONSENT_REVOKED"]
    assert all(e["requester_org"] == "north" and e["custodian"] == "st-mary" for e in entries)


def test_new_records_are_wrapped_to_current_grantees(net: RecordsNet) -> None:
    pat = net.patient("pat-wrap")
    with net.client("pat-wrap") as me:
        me.grant({"member": net.did("dr-baker")}, ["TREAT"], resource_types=["Observation"])
    with net.client("dr-adams") as doc:
        stored = doc.ingest("st-mary", pat.did, records_bundle("MRN-WRAP"))
    vault = net.gateway.custodians["st-mary"].vault
    for s in stored:
        recipients = vault.recipients(vault.document(s["record"]))
        assert pat.did in recipients
        assert (net.did("dr-baker") in recipients) == (s["type"] == "Observation")


def test_bad_requests_are_refused_and_audited(net: RecordsNet) -> None:
    pat = net.patient("pat-bad")
    with net.client("dr-adams") as doc:
        stored = doc.ingest("st-mary", pat.did, records_bundle("MRN-BAD"))
    rec = stored[0]["record"]
    with net.client("dr-baker") as baker:
        raw = baker.sign("access", "read", {"custodian": "st-mary", "record": rec,
                                            "purpose": "TREAT"})
        forged = bytes([raw[0] ^ 1]) + raw[1:]
        resp = baker._http.post("/v1/records/read",
                                json={"request": base64.b64encode(forged).decode()})
        assert resp.status_code == 401
        assert resp.json()["error"]["code"] == "BAD_REQUEST_SIGNATURE"
        stranger = Identity.generate()  # a key that is no member's, signing properly
        unknown = transaction.encode(stranger, chain=net.app.state.node.ledger.chain_id, contract="access",
                                     method="read", args={"custodian": "st-mary", "record": rec,
                                                          "purpose": "TREAT"},
                                     nonce=1, time=int(time.time() * 1000))
        resp = baker._http.post("/v1/records/read",
                                json={"request": base64.b64encode(unknown).decode()})
        assert resp.status_code == 403 and resp.json()["error"]["code"] == "NOT_A_MEMBER"
        with pytest.raises(SalusError) as err:
            baker.read_record("st-mary", "r-doesnotexist")
        assert err.value.code == "UNKNOWN_RECORD" and err.value.status == 404
        with pytest.raises(SalusError) as err:
            baker.read_record("north", rec)
        assert err.value.code == "WRONG_CUSTODIAN"
        with pytest.raises(SalusError) as err:
            baker.read_record("st-mary", rec, purpose="SNOOPING")
        assert err.value.code == "BAD_PURPOSE"
        # replaying a served request
        raw = baker.sign("access", "read", {"custodian": "st-mary", "record": rec, "purpose": "TREAT"})
        body = {"request": base64.b64encode(raw).decode()}
        assert baker._http.post("/v1/records/read", json=body).status_code == 403
        replay = baker._http.post("/v1/records/read", json=body)
        assert replay.status_code == 409 and replay.json()["error"]["code"] == "REPLAYED_REQUEST"
        for junk in ({"request": "!!!"}, {"request": base64.b64encode(b"x" * 70).decode()}, {}):
            assert baker._http.post("/v1/records/read", json=junk).status_code in (400, 422)
    log = _log(net, "pat-bad")
    # Nothing ties a forged or non-member request to a reader: it is in no one's log. A
    # custodian logs only its own records: north's refusal names no record of st-mary's.
    assert [e["code"] for e in log] == ["BAD_PURPOSE", "NO_CONSENT"]
    assert log[1]["requester"] == net.did("dr-baker")
    net.settle()
    with net.client("po-green") as officer:
        audit = officer._request("GET", "/v1/access/audit", auth=True,
                                 params={"custodian": "st-mary", "limit": 1000})["entries"]
    codes = {e["code"] for e in audit}
    assert {"UNKNOWN_RECORD", "BAD_PURPOSE"} <= codes
    assert not codes & {"WRONG_CUSTODIAN", "BAD_REQUEST_SIGNATURE", "NOT_A_MEMBER"}
    unknown_entry = next(e for e in audit if e["code"] == "UNKNOWN_RECORD")
    assert unknown_entry["record"] is None and unknown_entry["patient"] is None
    assert next(e for e in audit if e["code"] == "BAD_PURPOSE")["purpose"] == "unknown"


def test_tampered_ciphertext_is_never_served(net: RecordsNet) -> None:
    pat = net.patient("pat-tamper")
    with net.client("dr-adams") as doc:
        stored = doc.ingest("st-mary", pat.did, records_bundle("MRN-T"))
    target = stored[1]
    conn = sqlite3.connect(net.data / "vaults" / "st-mary.db")
    body = bytearray(conn.execute("SELECT body FROM blobs WHERE hash = ?",
                                  (target["content_hash"],)).fetchone()[0])
    body[20] ^= 0xFF
    conn.execute("UPDATE blobs SET body = ? WHERE hash = ?", (bytes(body), target["content_hash"]))
    conn.commit()
    conn.close()
    with net.client("pat-tamper") as me:
        with pytest.raises(SalusError) as err:
            me.read_record("st-mary", target["record"])
        assert err.value.code == "TAMPERED" and err.value.status == 500
        assert me.read_record("st-mary", stored[0]["record"])["resourceType"] == "Patient"


def test_break_glass_notifies_patient_and_lands_on_review_list(net: RecordsNet) -> None:
    import threading

    import httpx
    pat = net.patient("pat-er")
    with net.client("dr-adams") as doc:
        stored = doc.ingest("st-mary", pat.did, records_bundle("MRN-ER"))
    rec = stored[1]["record"]
    events: list[str] = []
    ready = threading.Event()

    def listen() -> None:
        with net.client("pat-er") as me, httpx.stream(
                "GET", f"{net.url}/v1/access/events", timeout=30,
                headers={"Authorization": f"Bearer {me.token()}"}) as resp:
            for line in resp.iter_lines():
                if line.startswith("event:"):
                    events.append(line.split(":", 1)[1].strip())
                    ready.set()
                if "access" in events and "break_glass" in events:
                    return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert ready.wait(10)  # subscribed
    with net.client("er-chen") as er:
        with pytest.raises(SalusError) as err:
            er.read_record("st-mary", rec, purpose="ETREAT")
        assert err.value.code == "BREAK_GLASS_NOT_OPEN"
        with pytest.raises(SalusError):
            er.break_glass(pat.did, "felt like it")  # reasons are coded
        override = er.break_glass(pat.did, "unconscious")
        assert override["end"] - override["start"] == 60 * 60 * 1000
        assert er.read_record("st-mary", rec, purpose="ETREAT")["resourceType"]
        with pytest.raises(SalusError) as err:  # the override is for emergency treatment only
            er.read_record("st-mary", rec, purpose="TREAT")
        assert err.value.code == "NO_CONSENT"
    with net.client("dr-baker") as baker, pytest.raises(SalusError) as err:
        baker.break_glass(pat.did, "unconscious")
    assert err.value.code == "FORBIDDEN"
    listener.join(15)
    assert "break_glass" in events and "access" in events
    log = _log(net, "pat-er")
    started = [e for e in log if e["kind"] == "break_glass"]
    assert len(started) == 1 and started[0]["requester"] == net.did("er-chen")
    emergency = [e for e in log if e["kind"] == "read" and e["emergency"]]
    assert len(emergency) == 1 and emergency[0]["basis"] == override["id"]
    with net.client("pat-er") as me:
        bundle = me.access_log(fhir=True)
    net.settle()
    kinds = [(e["resource"]["type"]["code"], [s["code"] for s in e["resource"]["subtype"]])
             for e in bundle["entry"]]
    assert ("110113", ["110127"]) in kinds
    net.settle()
    with net.client("po-green") as officer:
        pending = officer.review_list("st-mary")["entries"]
        mine = [e for e in pending if e["patient"] == pat.did]
        assert len(mine) == 1 and mine[0]["emergency"]
        # what the reviewer weighs: the override's coded reason, and what was read
        assert mine[0]["override"]["reason"] == "unconscious"
        assert mine[0]["override"]["id"] == override["id"] == mine[0]["basis"]
        assert mine[0]["record_type"] == stored[1]["type"]
        officer.review(mine[0]["key"], "justified")
        assert all(e["patient"] != pat.did for e in officer.review_list("st-mary")["entries"])
    with net.client("dr-adams") as doc, pytest.raises(SalusError) as err:
        doc.review_list("st-mary")
    assert err.value.code == "FORBIDDEN_READ"  # a read refused by its rule (read_rules)


def test_opted_out_patient_cannot_be_broken_into(net: RecordsNet) -> None:
    pat = net.patient("pat-optout")
    with net.client("dr-adams") as doc:
        stored = doc.ingest("st-mary", pat.did, records_bundle("MRN-OPT"))
    with net.client("pat-optout") as me:
        me.set_break_glass(False)
    with net.client("er-chen") as er:
        with pytest.raises(SalusError) as err:
            er.break_glass(pat.did, "unconscious")
        assert err.value.code == "FORBIDDEN"
        with pytest.raises(SalusError) as err:
            er.read_record("st-mary", stored[0]["record"], purpose="ETREAT")
        assert err.value.code == "BREAK_GLASS_OPTED_OUT"


def test_consent_and_audit_export_as_valid_fhir(net: RecordsNet) -> None:
    from fhir.resources.R4B import get_fhir_model_class
    pat = net.patient("pat-export")
    with net.client("dr-adams") as doc:
        stored = doc.ingest("st-mary", pat.did, records_bundle("MRN-EXP"))
    with net.client("pat-export") as me:
        me.grant({"role": "clinician", "org": "north"}, ["TREAT", "HPAYMT"],
                 records=[stored[1]["record"]], end=2_000_000_000_000)
        g2 = me.grant({"org": "city-lab"}, ["TREAT"], resource_types=["Observation"])
        me.revoke(g2)
        consents = me.consents(fhir=True)
        me.read_record("st-mary", stored[0]["record"])
        net.settle()
        audit = me.access_log(fhir=True)
    model = get_fhir_model_class("Bundle")
    model.model_validate(consents)
    model.model_validate(audit)
    statuses = sorted(e["resource"]["status"] for e in consents["entry"])
    assert statuses == ["active", "inactive"]
    active = next(e["resource"] for e in consents["entry"] if e["resource"]["status"] == "active")
    assert [p["code"] for p in active["provision"]["purpose"]] == ["HPAYMT", "TREAT"]
    assert audit["entry"][0]["resource"]["outcome"] == "0"


def test_erasure_shreds_every_copy_and_the_audit_still_passes(net: RecordsNet) -> None:
    from salus.ledger.audit import audit
    from salus.node.contracts import registry
    pat = net.patient("pat-erase")
    with net.client("dr-adams") as doc:
        at_mary = doc.ingest("st-mary", pat.did, records_bundle("MRN-ERASE"))
    with net.client("tech-hall") as tech:
        at_lab = tech.ingest("city-lab", pat.did, records_bundle("LAB-ERASE"))
    with net.client("pat-erase") as me:
        me.grant({"member": net.did("dr-baker")}, ["TREAT"])  # keys now wrapped to a grantee too
    secrets = []
    for org, stored in (("st-mary", at_mary), ("city-lab", at_lab)):
        conn = sqlite3.connect(net.data / "vaults" / f"{org}.db")
        for s in stored:
            secrets.append(bytes(conn.execute("SELECT body FROM blobs WHERE hash = ?",
                                              (s["content_hash"],)).fetchone()[0]))
            secrets += [bytes(w) for (w,) in conn.execute(
                "SELECT wrapped FROM wrapped_keys WHERE record = ?", (s["record"],))]
        conn.close()
    assert len(secrets) > 2 * len(at_mary + at_lab)
    with net.client("dr-baker") as other, pytest.raises(SalusError) as err:
        other.erase(patient=pat.did)  # only the patient or a regulator
    assert err.value.code == "FORBIDDEN"
    with net.client("pat-erase") as me:
        receipt = me.erase()
        assert receipt.output == {"erased": len(at_mary) + len(at_lab)}
    net.settle()
    time.sleep(0.2)  # the vaults follow the committed erasure event
    for org in ("st-mary", "city-lab"):
        files = [p for p in (net.data / "vaults").glob(f"{org}.db*")]
        content = b"".join(p.read_bytes() for p in files)
        for secret in secrets:
            assert secret not in content, f"ciphertext or key survives in {org}'s vault"
    with net.client("pat-erase") as me:
        index = me.record_index()
        assert {r["status"] for r in index} == {"erased"}
        assert all(r["hash"] for r in index)  # the ledger keeps the hashes
        with pytest.raises(SalusError) as err:
            me.read_record("st-mary", at_mary[0]["record"])
        assert err.value.code == "RECORD_ERASED"
    net.settle()
    report = audit(net.gateway.ledger.store, registry())
    assert report.ok, report.problem
    assert report.blocks == net.gateway.ledger.height + 1


def test_a_backlog_of_accesses_is_audited_in_transactions_that_fit(net: RecordsNet) -> None:
    """Hundreds of accesses queued at once (a read burst) go out as several access.log
    transactions, each within the chain's size limit, instead of one the node refuses as
    TOO_LARGE (which answered every one of those reads 503 AUDIT_UNAVAILABLE)."""
    import asyncio
    import hashlib

    from salus.records.contracts.access import MAX_ENTRIES
    trail = net.gateway.trails["st-mary"]
    entry = {"record": None, "patient": None, "requester": net.did("dr-baker"),
             "requester_org": "north", "purpose": "unknown", "code": "UNKNOWN_RECORD",
             "basis": None, "request": "", "at": int(time.time() * 1000),
             "height": net.gateway.ledger.height}
    requests = [hashlib.sha256(f"burst-{i}".encode()).hexdigest() for i in range(MAX_ENTRIES)]
    one_batch = MAX_ENTRIES * len(json.dumps({**entry, "request": requests[0]}))
    assert one_batch > net.gateway.ledger.executor.max_tx_bytes  # would not fit one

    async def burst() -> None:
        await asyncio.gather(*(trail.record({**entry, "request": r}) for r in requests))
    net.on_server(burst())
    net.settle()
    with net.client("po-green") as officer:
        logged, after = set(), ""
        while True:
            page = officer.custodian_log("st-mary", limit=1000, after=after)
            logged |= {e["request"] for e in page["entries"]}
            if page["next"] is None:
                break
            after = page["next"]
    assert set(requests) <= logged
