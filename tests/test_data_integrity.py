"""eddsa-jcs-2022 against the W3C specification's own test vector, and tamper checks."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import based58
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salus.credentials.data_integrity import ProofInvalid, add_proof, verify_proof
from salus.identity import Identity
from salus.identity.did import did_from_ed25519

VECTOR = json.loads((Path(__file__).parent / "fixtures/vc/eddsa_jcs_2022_vector.json").read_text())


def _vector_key() -> tuple[Identity, bytes]:
    secret = based58.b58decode(VECTOR["privateKeyMultibase"][1:].encode())
    public = based58.b58decode(VECTOR["publicKeyMultibase"][1:].encode())
    assert secret[:2] == b"\x80\x26" and public[:2] == b"\xed\x01"  # multicodec ed25519-priv/pub
    return Identity.from_seed(secret[2:]), public[2:]


def test_signing_the_w3c_example_reproduces_its_published_proof_value() -> None:
    key, public = _vector_key()
    assert key.public_key == public
    signed = VECTOR["signed"]
    unsigned = {k: v for k, v in signed.items() if k != "proof"}
    ours = add_proof(unsigned, key, created=signed["proof"]["created"],
                     method=signed["proof"]["verificationMethod"])
    assert ours["proof"] == signed["proof"]
    assert ours == signed


def test_the_w3c_example_verifies_and_any_change_breaks_it() -> None:
    _, public = _vector_key()
    assert verify_proof(VECTOR["signed"], public).options["created"] == "2023-02-24T23:36:38Z"
    changed = copy.deepcopy(VECTOR["signed"])
    changed["credentialSubject"]["alumniOf"] = "The School of Counterexamples"
    with pytest.raises(ProofInvalid, match="does not verify"):
        verify_proof(changed, public)
    changed = copy.deepcopy(VECTOR["signed"])
    changed["proof"]["created"] = "2023-02-24T23:36:39Z"  # the options are signed too
    with pytest.raises(ProofInvalid, match="does not verify"):
        verify_proof(changed, public)


def test_a_did_key_issuer_is_its_own_verification_method() -> None:
    key = Identity.generate()
    signed = add_proof({"@context": ["https://www.w3.org/ns/credentials/v2"], "issuer": key.did,
                        "n": 1}, key, created="2026-11-21T00:00:00Z")
    assert signed["proof"]["verificationMethod"] == f"{key.did}#{key.did[8:]}"
    assert verify_proof(signed).signer == key.did
    other = Identity.generate()
    forged = copy.deepcopy(signed)
    forged["proof"]["verificationMethod"] = f"{other.did}#{other.did[8:]}"
    with pytest.raises(ProofInvalid, match="does not verify"):
        verify_proof(forged)


@pytest.mark.parametrize("breakage, reason", [
    (lambda p: p.pop("proofValue"), "multibase"),
    (lambda p: p.update(proofValue="u" + p["proofValue"][1:]), "multibase"),
    (lambda p: p.update(proofValue="z0OIl"), "base58"),
    (lambda p: p.update(proofValue="z" + based58.b58encode(b"x" * 63).decode()), "63 bytes"),
    (lambda p: p.update(cryptosuite="eddsa-rdfc-2022"), "cryptosuite"),
    (lambda p: p.update(verificationMethod=did_from_ed25519(b"\x01" * 32)), "key reference"),
    (lambda p: p.update({"@context": ["https://example.org/other"]}), "@context"),
])
def test_malformed_proofs_are_refused_with_a_reason(breakage, reason) -> None:
    key = Identity.generate()
    signed = add_proof({"@context": ["https://www.w3.org/ns/credentials/v2"], "x": "y"}, key,
                       created="2026-11-21T00:00:00Z")
    breakage(signed["proof"])
    with pytest.raises(ProofInvalid, match=reason):
        verify_proof(signed)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_flipping_any_byte_of_the_serialised_document_breaks_the_proof(data) -> None:
    key = Identity.from_seed(b"\x07" * 32)
    signed = add_proof({"@context": ["https://www.w3.org/ns/credentials/v2"],
                        "credentialSubject": {"id": "did:example:1", "hours": 12}},
                       key, created="2026-11-21T00:00:00Z")
    raw = bytearray(json.dumps(signed).encode())
    i = data.draw(st.integers(0, len(raw) - 1))
    raw[i] ^= data.draw(st.integers(1, 255))
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return  # not JSON any more: refused before any proof check
    if doc == signed:
        return  # whitespace or an equivalent escape: the same document
    with pytest.raises(ProofInvalid):
        verify_proof(doc)
