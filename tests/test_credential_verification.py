"""Issue, anchor, revoke and verify credentials on a real node; every step's failure."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ident
from credentials_net import CredNet, degree, licence, privileges, running
from salus.canonical import jcs
from salus.credentials.verifier import STEPS, Verifier

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
    with net.client() as c:
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
