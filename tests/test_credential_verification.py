"""Issue, anchor, revoke and verify credentials on a real node; every step's failure."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ident
from credentials_net import CredNet, degree, licence, privileges, running
from salus.canonical import jcs
from salus.client import TransactionRejected
from salus.clock import iso_from_ms, ms_from_iso, wall_clock_ms
from salus.credentials import batch
from salus.credentials.anchor_proof import attach
from salus.credentials.context import ContextInvalid, VerificationContext
from salus.credentials.data_integrity import add_proof
from salus.credentials.issuer import CredentialRequest, IssueError, anchor_batch, anchor_evidence
from salus.credentials.presentation import present, verify_presentation
from salus.credentials.verifier import STEPS, Verifier
from salus.identity import Identity
from salus.ledger import transaction
from salus.node.datadir import DataDir

PHYSICIAN = ident("dr-pat")


@pytest.fixture(scope="module")
def net(tmp_path_factory) -> CredNet:
    with running(tmp_path_factory.mktemp("cred")) as net:
        yield net


@pytest.fixture(scope="module")
def issued(net: CredNet) -> dict:
    with net.issuer("registrar") as board, net.issuer("dean") as school, \
            net.issuer("credentialing") as hospital:
        lic = board.issue([licence(PHYSICIAN.did, "MD-100"), licence(ident("dr-quinn").did,
                                                                     "MD-101")])
        deg = school.issue([degree(PHYSICIAN.did)])
        priv = hospital.issue([privileges(PHYSICIAN.did)])
    return {"licence": lic[0], "other": lic[1], "degree": deg[0], "privileges": priv[0]}


def _ok(report) -> None:
    assert report.ok, json.dumps(report.to_json(), indent=1)


def test_issued_credentials_verify_at_every_step(net: CredNet, issued: dict) -> None:
    verifier = net.verifier()
    for cred in issued.values():
        report = verifier.verify(cred)
        _ok(report)
        assert [s.name for s in report.steps] == list(STEPS)
        assert all(s.ok is True and s.reason for s in report.steps)
    lic = verifier.verify(issued["licence"])
    assert lic.type == "LicenseCredential" and lic.subject == PHYSICIAN.did
    assert "medboard (board) may issue LicenseCredential" in lic.step("issuer_authorised").reason


def test_only_the_batch_root_reaches_the_ledger(net: CredNet, issued: dict) -> None:
    operator = Identity.load(DataDir(net.data).key_file)  # the log's bytes: an operator's
    with net.client(operator) as c:
        raw = b"".join(c.entries(0, c.sth().tree_size - 1))
    for cred in issued.values():
        for needle in (cred["credentialSubject"]["id"], cred["id"]):
            assert needle.encode() not in raw
    assert b"MD-100" not in raw and b"Doctor of Medicine" not in raw


def _regions(cred: dict) -> list[tuple[int, int, set[str]]]:
    """Byte spans of a credential's JCS form, and the steps a change there may fail at
    first (format, when the change breaks the structure)."""
    text = jcs(cred)
    issuer_proof = jcs(cred["proof"][0])
    start = text.index(issuer_proof)
    out = [(start, start + len(issuer_proof), {"format", "signature"})]
    anchor = cred["proof"][1]
    steps = {"batchRoot": "merkle", "batchSize": "merkle", "leafIndex": "merkle",
             "path": "merkle", "anchorTx": "anchor", "logIndex": "log", "treeSize": "log",
             "inclusion": "log", "treeHead": "log", "type": "format"}
    for key, step in steps.items():
        field = jcs({key: anchor[key]})[1:-1]
        at = text.index(field, start + len(issuer_proof))
        out.append((at, at + len(field), {"format", step}))
    return out


def _expected_steps(cred: dict, position: int) -> set[str]:
    for start, end, steps in _regions(cred):
        if start <= position < end:
            return steps
    return {"format", "signature"}  # the credential's own fields, and the JSON around them


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_one_byte_change_anywhere_fails_at_its_step(net: CredNet, issued: dict, data) -> None:
    cred = issued["licence"]
    raw = bytearray(jcs(cred))
    position = data.draw(st.integers(0, len(raw) - 1), label="position")
    new = data.draw(st.integers(0x20, 0x7e).filter(lambda b: b != raw[position]), label="byte")
    raw[position] = new
    report = _verifier(net).verify_bytes(bytes(raw))
    assert not report.ok
    assert report.failed_step in _expected_steps(cred, position), (
        position, chr(new), report.to_json())


_VERIFIER: dict[str, Verifier] = {}


def _verifier(net: CredNet) -> Verifier:
    if net.url not in _VERIFIER:
        _VERIFIER[net.url] = net.verifier()
    return _VERIFIER[net.url]


def _fails(report, step: str, match: str) -> None:
    assert not report.ok
    assert report.failed_step == step, json.dumps(report.to_json(), indent=1)
    assert match in report.step(step).reason, report.step(step).reason


def test_revoked_fails_at_status_and_history_answers_was_it_revoked_on_date_d(
        net: CredNet) -> None:
    with net.issuer("registrar") as board:
        (cred,) = board.issue([licence(ident("dr-rev").did, "MD-200")])
        before = wall_clock_ms()
        board.revoke(cred["id"], "disciplinary_action")
    verifier = net.verifier()
    _fails(verifier.verify(cred), "status", "revoked since")
    assert "disciplinary_action" in verifier.verify(cred).step("status").reason
    # as of a moment before the revocation, it stood
    assert verifier.verify(cred, before - 1).step("status").ok
    # presented, the presentation names the credential and the step that failed
    vp = present([cred], ident("dr-rev"), challenge="c-rev", domain="st-luke.example",
                 created=iso_from_ms(wall_clock_ms()))
    shown = verify_presentation(vp, challenge="c-rev", domain="st-luke.example",
                                verifier=verifier)
    assert not shown.ok and shown.failed_step == "credentials[0].status", shown.to_json()
    with net.issuer("registrar") as board, pytest.raises(TransactionRejected) as err:
        board.set_status(cred["id"], "revocation", False, "reinstated")
    assert err.value.code == "CONFLICT"


def test_suspended_fails_until_reinstated(net: CredNet) -> None:
    with net.issuer("registrar") as board:
        (cred,) = board.issue([licence(ident("dr-sus").did, "MD-201")])
        board.suspend(cred["id"], "under_investigation")
        _fails(net.verifier().verify(cred), "status", "suspended since")
        board.reinstate(cred["id"], "reinstated")
    report = net.verifier().verify(cred)
    _ok(report)
    assert "changed 2 time(s)" in report.step("status").reason


def test_expired_and_not_yet_valid_fail_at_validity(net: CredNet) -> None:
    now = wall_clock_ms()
    with net.issuer("registrar") as board:
        old, future = board.issue([
            licence(ident("dr-old").did, "MD-202", valid_from="2020-01-01T00:00:00Z",
                    valid_until="2021-01-01T00:00:00Z"),
            licence(ident("dr-new").did, "MD-203", valid_from=iso_from_ms(now + 86_400_000))])
    verifier = net.verifier()
    _fails(verifier.verify(old), "validity", "expired")
    _fails(verifier.verify(future), "validity", "not yet valid")
    _ok(verifier.verify(old, ms_from_iso("2020-06-01T00:00:00Z")))


def test_wrong_issuer_type_is_refused_by_the_ledger_and_caught_by_the_verifier(
        net: CredNet) -> None:
    with net.issuer("credentialing") as hospital:
        with pytest.raises(IssueError) as err:  # a hospital may not issue a licence
            hospital.issue([licence(PHYSICIAN.did, "MD-666")])
        assert err.value.code == "FORBIDDEN"
        # ... so it declares the batch as privileges and slips a licence in
        forged = add_proof(hospital._draft(licence(PHYSICIAN.did, "MD-666"), "urn:uuid:"
                                           "00000000-0000-4000-8000-000000000666",
                                           wall_clock_ms(), issued_status(net)),
                           hospital.identity, created=iso_from_ms(wall_clock_ms()))
        (cred,) = anchor_batch(hospital.client, [forged], ["HospitalPrivilegesCredential"])
    _fails(net.verifier().verify(cred), "issuer_authorised",
           "anchored for ['HospitalPrivilegesCredential'], not LicenseCredential")


def issued_status(net: CredNet) -> list[dict]:
    """The status entries of a privileges credential st-luke issued (a forger reuses them)."""
    with net.issuer("credentialing") as hospital:
        return hospital.issue([privileges(ident("dr-any").did)])[0]["credentialStatus"]


def test_key_rotated_before_issue_fails_and_the_new_key_issues(net: CredNet) -> None:
    old, new = ident("cme-desk"), ident("cme-desk-2")
    with net.client(old) as c:
        c.call("membership", "rotate_key", {"new_key": new.did})
    cme = CredentialRequest("CMECredential", {
        "id": PHYSICIAN.did, "achievement": {"type": ["Achievement"],
                                             "achievementType": "CertificateOfCompletion",
                                             "name": "Sepsis update"},
        "hours": 150, "category": "AMA_PRA_1", "completed": "2026-10-01"})
    with net.issuer("cme-desk", new) as desk:
        (good,) = desk.issue([cme])
        assert good["issuer"] == old.did  # the member id, which outlives its first key
        # a stale signing service still holding the old key signs; the new key anchors
        stale = add_proof(desk._draft(cme, "urn:uuid:00000000-0000-4000-8000-000000000777",
                                      wall_clock_ms(), good["credentialStatus"]),
                          old, created=iso_from_ms(wall_clock_ms()))
        (bad,) = anchor_batch(desk.client, [stale], ["CMECredential"])
    verifier = net.verifier()
    _ok(verifier.verify(good))
    _fails(verifier.verify(bad), "issuer_key", "rotated at height")


def test_revoked_key_keeps_what_it_issued_before_unless_compromised_earlier(
        net: CredNet) -> None:
    with net.issuer("dean") as school:
        (early,) = school.issue([degree(ident("dr-early").did)])
        (late,) = school.issue([degree(ident("dr-late").did)])
    verifier = net.verifier()
    early_height = verifier.context.anchors[early["proof"][1]["batchRoot"]]["height"]
    late_height = verifier.context.anchors[late["proof"][1]["batchRoot"]]["height"]
    # the compromise is known to have begun after `early` was issued, before `late`
    with net.client("med-school-admin") as admin:
        admin.call("membership", "revoke_key", {"key": ident("dean").did, "reason": "key_compromise",
                                                "effective_height": late_height})
    verifier = net.verifier()
    report = verifier.verify(early)
    _ok(report)
    assert f"revoked later, at height {late_height}" in report.step("issuer_key").reason
    _fails(verifier.verify(late), "issuer_key", "was revoked at height")
    assert early_height < late_height


def test_merkle_path_for_a_different_root_fails_at_merkle(net: CredNet, issued: dict) -> None:
    cred = copy.deepcopy(issued["licence"])
    other = issued["degree"]["proof"][1]
    for key in ("batchRoot", "batchSize", "leafIndex", "path"):
        cred["proof"][1][key] = other[key]
    _fails(net.verifier().verify(cred), "merkle", "does not lead to the batch root")


def test_anchor_not_in_the_log_fails_at_log(net: CredNet, issued: dict) -> None:
    cred = copy.deepcopy(issued["licence"])
    anchor = cred["proof"][1]
    # the same anchor, signed again but never submitted: a valid transaction not in the log
    tx = transaction.decode(base64.b64decode(anchor["anchorTx"]))
    unsent = transaction.encode(ident("registrar"), chain=net.chain_id, contract="credentials",
                                method="anchor", args=tx.args, nonce=tx.nonce + 10**9,
                                time=tx.time)
    anchor["anchorTx"] = base64.b64encode(unsent).decode()
    report = net.verifier().verify(cred)
    assert report.step("log").ok is False
    assert "not in the log" in report.step("log").reason


def test_an_anchor_the_ledger_rejected_fails_at_anchor(net: CredNet) -> None:
    """A non-issuer's anchor never reaches the log (refused at admission); a rejected
    anchor that did reach it proves nothing."""
    outsider = ident("dr-pat")
    signed = add_proof({**_draft_for(net), "issuer": outsider.did}, outsider,
                       created=iso_from_ms(wall_clock_ms()))
    with net.client(outsider) as c:
        c.call("membership", "register_patient", {})
        with pytest.raises(IssueError) as err:
            anchor_batch(c, [signed], ["HospitalPrivilegesCredential"])
        assert err.value.code == "FORBIDDEN"
        size = c.status()["log_size"]
        tree = batch.build([batch.credential_leaf(signed)])
        raw = c.sign("credentials", "anchor", {"root": tree.root.hex(), "size": 1,
                                               "types": ["HospitalPrivilegesCredential"]})
        with pytest.raises(TransactionRejected) as rejected:
            c.submit(raw)
        assert rejected.value.code == "FORBIDDEN" and c.status()["log_size"] == size
    # An issuer's second anchor of a root already anchored is a log leaf, but rejected
    # (CONFLICT): a credential whose evidence is that transaction fails at "anchor".
    registrar = net.keys["registrar"]
    signed = add_proof({**_draft_for(net), "issuer": registrar.did}, registrar,
                       created=iso_from_ms(wall_clock_ms()))
    with net.client("registrar") as c:
        tree = batch.build([batch.credential_leaf(signed)])
        args = {"root": tree.root.hex(), "size": 1, "types": ["LicenseCredential"]}
        assert c.submit(c.sign("credentials", "anchor", args)).valid
        raw = c.sign("credentials", "anchor", args)
        receipt = c.submit(raw)  # committed, as an invalid transaction
        assert receipt.status == "committed" and receipt.code == "CONFLICT"
        cred = attach(signed, tree, 0, anchor_evidence(c, raw))
    _fails(net.verifier().verify(cred), "anchor", "accepted no anchor")


def _draft_for(net: CredNet) -> dict:
    with net.issuer("credentialing") as hospital:
        doc = hospital.issue([privileges(ident("dr-x").did)])[0]
    return {k: v for k, v in doc.items() if k != "proof"}


def test_verification_survives_the_issuer_leaving_the_consortium(tmp_path: Path) -> None:
    with running(tmp_path) as net:
        with net.issuer("dean") as school:
            (cred,) = school.issue([degree(PHYSICIAN.did)])
        with net.client("health-dept-admin") as regulator:
            regulator.call("membership", "remove_organisation",
                           {"id": "med-school", "reason": "closed"})
        report = net.verifier().verify(cred)
        _ok(report)
        assert "left the consortium at height" in report.step("issuer_authorised").reason
        with net.issuer("dean") as school, pytest.raises(IssueError):
            school.issue([degree(PHYSICIAN.did)])  # it can no longer issue


def test_a_presentation_replayed_elsewhere_fails(net: CredNet, issued: dict) -> None:
    creds = [issued["licence"], issued["degree"]]  # selective: the privileges stay home
    vp = present(creds, PHYSICIAN, challenge="c-123", domain="st-luke.example",
                 created=iso_from_ms(wall_clock_ms()))
    verifier = net.verifier()
    good = verify_presentation(vp, challenge="c-123", domain="st-luke.example",
                               verifier=verifier)
    assert good.ok, json.dumps(good.to_json(), indent=1)
    assert len(good.dossier.credentials) == 2
    replayed = verify_presentation(vp, challenge="c-999", domain="st-luke.example",
                                   verifier=verifier)
    assert not replayed.ok and replayed.failed_step == "challenge"
    elsewhere = verify_presentation(vp, challenge="c-123", domain="evil.example",
                                    verifier=verifier)
    assert not elsewhere.ok and elsewhere.failed_step == "domain"
    stolen = present(creds, ident("dr-mallory"), challenge="c-123", domain="st-luke.example",
                     created=iso_from_ms(wall_clock_ms()))
    theft = verify_presentation(stolen, challenge="c-123", domain="st-luke.example",
                                verifier=verifier)
    assert not theft.ok and theft.failed_step == "holder_is_subject"
    tampered = copy.deepcopy(vp)
    tampered["proof"]["challenge"] = "c-999"
    assert verify_presentation(tampered, challenge="c-999", domain="st-luke.example",
                               verifier=verifier).failed_step == "holder_signature"


def test_a_dossier_verifies_in_one_call(net: CredNet, issued: dict) -> None:
    mine = [issued["licence"], issued["degree"], issued["privileges"]]
    dossier = net.verifier().verify_dossier(mine)
    assert dossier.ok and dossier.subject == PHYSICIAN.did
    body = dossier.to_json()
    assert body["summary"] == {"credentials": 3, "passed": 3, "failed": 0}
    mixed = net.verifier().verify_dossier([*mine, issued["other"]])
    assert not mixed.ok and "is about" in mixed.problems[0]


def test_the_context_is_trusted_only_under_the_orderer_key(net: CredNet) -> None:
    with net.client() as c:
        doc = c.credentials_context()
    VerificationContext.load(doc, net.orderer, net.chain_id)
    with pytest.raises(ContextInvalid, match="not signed by the trusted orderer"):
        VerificationContext.load(doc, ident("mallory").did)
    forged = copy.deepcopy(doc)
    forged["anchors"]["ab" * 32] = next(iter(doc["anchors"].values()))
    with pytest.raises(ContextInvalid, match="signature"):
        VerificationContext.load(forged, net.orderer)
    with pytest.raises(ContextInvalid, match="chain"):
        VerificationContext.load(doc, net.orderer, "another-chain")


def test_the_api_verifies_and_refuses_bad_input(net: CredNet, issued: dict) -> None:
    with net.client() as c:
        report = c.verify_credentials(issued["licence"])
        assert report["ok"] and report["failed_step"] is None
        dossier = c.verify_credentials([issued["licence"], issued["degree"]])
        assert dossier["ok"] and dossier["summary"]["passed"] == 2
        bad = c.verify_credentials({"hello": "world"})
        assert not bad["ok"] and bad["failed_step"] == "format"
        for body, code in ((b"{", "INVALID_JSON"), (b'{"x": 1.5}', "INVALID_JSON"),
                           (b"[]", "BAD_REQUEST"), (b'{"credentials": 3}', "BAD_REQUEST"),
                           (b'{"credential": {}, "at": "yesterday"}', "BAD_REQUEST")):
            resp = httpx.post(f"{net.url}/v1/credentials/verify", content=body)
            assert resp.status_code in (400, 422) and resp.json()["error"]["code"] == code
        resp = httpx.post(f"{net.url}/v1/credentials/verify-presentation",
                          json={"presentation": {}, "challenge": ""})
        assert resp.json()["error"]["code"] == "BAD_REQUEST"
        assert c.status()["height"] > 0  # still serving


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=st.recursive(st.none() | st.booleans() | st.integers(-10, 10) | st.text(max_size=8),
                        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                            st.sampled_from(["proof", "type", "issuer", "id", "@context",
                                             "credentialSubject", "credentialStatus", "x"]),
                            inner, max_size=5), max_leaves=20))
def test_any_json_gets_a_report_never_an_exception(net: CredNet, doc) -> None:
    report = _verifier(net).verify(doc)
    assert not report.ok and report.failed_step == "format"
