"""Data Integrity proofs with the ``eddsa-jcs-2022`` cryptosuite (W3C vc-di-eddsa v1.0).

A proof is an Ed25519 signature over SHA-256(JCS(proof options)) || SHA-256(JCS(document
without its proof)), carried in the document's ``proof`` as a multibase base58btc
``proofValue``. Section numbers below are those of the W3C Recommendation
"Data Integrity EdDSA Cryptosuites v1.0", section 3.3.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import based58
import nacl.exceptions
import nacl.signing

from salus.canonical import JSONError, jcs
from salus.identity import Identity
from salus.identity.did import DIDError, ed25519_from_did

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-jcs-2022"


class ProofInvalid(ValueError):
    """The proof is malformed or does not verify; ``str()`` says which."""


@dataclass(frozen=True)
class VerifiedProof:
    signer: str | None  # the did:key that signed; None when the caller gave the key
    options: dict[str, Any]  # the proof without its value


def verification_method(did: str) -> str:
    """The verification method id of a did:key: the did, then its key as the fragment."""
    return f"{did}#{did.removeprefix('did:key:')}"


def did_of_method(method: str) -> str:
    """The did:key a ``verificationMethod`` names; raise unless it is a did:key method."""
    did, _, fragment = method.partition("#")
    if fragment != did.removeprefix("did:key:"):
        raise ProofInvalid(f"verificationMethod {method!r} is not a did:key key reference")
    try:
        ed25519_from_did(did)
    except DIDError as exc:
        raise ProofInvalid(f"verificationMethod: {exc}") from None
    return did


_OPTIONS_CACHE: dict[tuple[tuple[str, Any], ...], bytes] = {}


def _options_hash(options: dict[str, Any]) -> bytes:
    """SHA-256(JCS(options)). Every credential of an issuer's batch carries the same
    options, so their hash is remembered, but only for options made of strings and
    lists of strings, whose key below determines their JCS exactly."""
    key = tuple((k, v if type(v) is str else tuple(v)) for k, v in options.items()
                if type(v) is str or (type(v) is list and all(type(x) is str for x in v)))
    if len(key) != len(options):
        return hashlib.sha256(jcs(options)).digest()
    digest = _OPTIONS_CACHE.get(key)
    if digest is None:
        if len(_OPTIONS_CACHE) >= 1024:
            _OPTIONS_CACHE.clear()
        digest = _OPTIONS_CACHE[key] = hashlib.sha256(jcs(options)).digest()
    return digest


def _hash_data(options: dict[str, Any], document: dict[str, Any]) -> bytes:
    """Sections 3.3.4-3.3.5: proof config hash first, then the transformed document's."""
    return _options_hash(options) + hashlib.sha256(jcs(document)).digest()


def add_proof(document: dict[str, Any], key: Identity, *, created: str,
              proof_purpose: str = "assertionMethod", method: str | None = None,
              challenge: str | None = None, domain: str | None = None) -> dict[str, Any]:
    """Section 3.3.1 (Create Proof): a copy of ``document`` with an eddsa-jcs-2022 proof."""
    if "proof" in document:
        raise ValueError("the document already carries a proof")
    options: dict[str, Any] = {
        "type": PROOF_TYPE, "cryptosuite": CRYPTOSUITE, "created": created,
        "verificationMethod": method or verification_method(key.did),
        "proofPurpose": proof_purpose}
    if challenge is not None:
        options["challenge"] = challenge
    if domain is not None:
        options["domain"] = domain
    if "@context" in document:  # 3.3.1 step 2: the proof shares the document's context
        options["@context"] = document["@context"]
    signature = key.sign(_hash_data(options, document))
    return {**document, "proof": {**options, "proofValue": "z" + based58.b58encode(signature).decode()}}


@dataclass(frozen=True)
class SignedContent:
    """What an eddsa-jcs-2022 proof signs, and the signature: computed once, it serves
    both the signature check and the batch leaf (:mod:`salus.credentials.batch`)."""

    options: dict[str, Any]  # the proof without its value
    hash_data: bytes  # SHA-256(JCS(options)) || SHA-256(JCS(document)), section 3.3.5
    signature: bytes


def signed_content(secured: dict[str, Any]) -> SignedContent:
    """Sections 3.3.2 steps 1-5 and 3.3.4-3.3.5: the proof's options, the hash data it
    signs, and its signature bytes. Raise :class:`ProofInvalid` if it is malformed."""
    if not isinstance(secured, dict):
        raise ProofInvalid("a secured document is a JSON object")
    proof = secured.get("proof")
    if not isinstance(proof, dict):
        raise ProofInvalid("the document has no single proof object")
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    if options.get("type") != PROOF_TYPE or options.get("cryptosuite") != CRYPTOSUITE:
        raise ProofInvalid(f"proof is not a {PROOF_TYPE} with cryptosuite {CRYPTOSUITE}")
    value = proof.get("proofValue")
    if not isinstance(value, str) or not value.startswith("z"):
        raise ProofInvalid("proofValue is not multibase base58btc")
    try:
        signature = based58.b58decode(value[1:].encode())
    except ValueError:
        raise ProofInvalid("proofValue is not base58btc") from None
    if len(signature) != 64:
        raise ProofInvalid(f"proofValue decodes to {len(signature)} bytes, not 64")
    if not isinstance(options.get("verificationMethod"), str):
        raise ProofInvalid("proof has no verificationMethod")
    document = {k: v for k, v in secured.items() if k != "proof"}
    if "@context" in options:  # 3.3.2 step 5: the document's context starts with the proof's
        ctx, doc_ctx = options["@context"], document.get("@context")
        ctx_list = ctx if isinstance(ctx, list) else [ctx]
        doc_list = doc_ctx if isinstance(doc_ctx, list) else [doc_ctx]
        if doc_list[:len(ctx_list)] != ctx_list:
            raise ProofInvalid("the proof's @context does not match the document's")
        document["@context"] = ctx
    try:
        hash_data = _hash_data(options, document)
    except JSONError as exc:
        raise ProofInvalid(f"the document cannot be canonicalised: {exc}") from None
    return SignedContent(options, hash_data, signature)


def verify_proof(secured: dict[str, Any], public_key: bytes | None = None,
                 content: SignedContent | None = None) -> VerifiedProof:
    """Section 3.3.2 (Verify Proof). The key is the did:key of ``verificationMethod``
    unless ``public_key`` is given. Raise :class:`ProofInvalid` with the reason."""
    content = content or signed_content(secured)
    signer: str | None = None
    key = public_key
    if key is None:
        signer = did_of_method(content.options["verificationMethod"])
        key = ed25519_from_did(signer)
    try:
        nacl.signing.VerifyKey(key).verify(content.hash_data, content.signature)
    except nacl.exceptions.BadSignatureError:
        raise ProofInvalid("the signature does not verify over this document") from None
    return VerifiedProof(signer, content.options)
