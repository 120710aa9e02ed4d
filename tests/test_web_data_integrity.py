"""The browser's eddsa-jcs-2022 proofs (salus/web/static/js/data_integrity.js) and
presentations (presentation.js) against the Python modules': the same key, document and
options give the same proof, byte for byte (Ed25519 is deterministic, so any difference in
the canonical JSON or the hashing shows), run in Node's WebCrypto."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from node_cases import run_cases
from salus.credentials.data_integrity import add_proof, verify_proof
from salus.credentials.presentation import present
from salus.identity import Identity

RUNNER = Path(__file__).parent / "js" / "data_integrity_cases.mjs"
CREATED = "2026-11-28T12:47:38.100Z"


def _key(name: bytes) -> Identity:
    return Identity.from_seed(hashlib.sha256(b"web-di-" + name).digest())


def _credential(holder: str, i: int, **extra: Any) -> dict[str, Any]:
    return {"@context": ["https://www.w3.org/ns/credentials/v2"], "id": f"urn:uuid:{i:036d}",
            "type": ["VerifiableCredential", "LicenseCredential"], "issuer": "did:key:zIssuer",
            "credentialSubject": {"id": holder, "hours": 1500 + i, **extra},
            "proof": [{"type": "DataIntegrityProof", "proofValue": "z" + "1" * 80},
                      {"type": "SalusAnchorProof", "path": ["ab" * 32], "logIndex": 77}]}


DOCUMENTS: list[dict[str, Any]] = [
    {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["Report"], "n": 1},
    {"b": 1, "a": [3, 2, 1], "B": {"z": None, "y": True, "x": False}},
    {"\u00e9": "caf\u00e9", "e": "\U0001f600", "\U0001f600": 1, "\ufb01": "ligature",
     "text": "quote \" backslash \\ tab \t nul \u0000 sep \u2028",
     "n": [0, -1, 9007199254740991, -9007199254740991]},
]


def test_the_browser_makes_the_proofs_python_makes() -> None:
    keys = [_key(b"%d" % i) for i in range(3)]
    options = [{"created": CREATED},
               {"created": CREATED, "proofPurpose": "authentication", "challenge": "c-1",
                "domain": "st-mary.example"},
               {"created": "2027-01-01T00:00:00.000Z"}]
    cases, expected = [], []
    for i, doc in enumerate(DOCUMENTS):
        key, opts = keys[i], options[i]
        cases.append({"kind": "proof", "key_file": key.to_json(), "document": doc,
                      "options": opts})
        py = {k.replace("proofPurpose", "proof_purpose"): v for k, v in opts.items()}
        expected.append({"result": add_proof(doc, key, **py)})
    got = run_cases(RUNNER, cases)
    assert got == expected
    for made in got:  # and the Python verifier takes them
        assert verify_proof(made["result"]).signer is not None


def test_the_browser_presents_as_the_python_wallet_does() -> None:
    holder = _key(b"holder")
    creds = [_credential(holder.did, i) for i in range(3)]
    options = {"challenge": "LG-iyd32Lo55CrOqlcTt-CxWTUkzUoRR", "domain": "st-mary.example",
               "created": CREATED}
    [got] = run_cases(RUNNER, [{"kind": "present", "key_file": holder.to_json(),
                                "credentials": creds, "options": options}])
    assert got == {"result": present(creds, holder, **options)}
    assert verify_proof(got["result"]).options["challenge"] == options["challenge"]


def test_the_browser_refuses_what_python_would_read_otherwise() -> None:
    holder = _key(b"holder")
    key = holder.to_json()
    ok = {"created": CREATED}
    deep: Any = 1
    for _ in range(70):
        deep = [deep]
    vp = {"challenge": "c", "domain": "d", "created": CREATED}
    verdicts = run_cases(RUNNER, [
        {"kind": "proof", "key_file": key, "document": {"x": 1.5}, "options": ok},
        {"kind": "proof", "key_file": key, "document": {"x": 2**53 + 1}, "options": ok},
        {"kind": "proof", "key_file": key, "document": {"x": "\ud800"}, "options": ok},
        {"kind": "proof", "key_file": key, "document": {"x": deep}, "options": ok},
        {"kind": "proof", "key_file": key, "document": {"proof": {}}, "options": ok},
        {"kind": "present", "key_file": key, "options": vp,
         "credentials": [_credential(_key(b"other").did, 1)]},
        {"kind": "present", "key_file": key, "options": vp, "credentials": []},
        {"kind": "present", "key_file": key, "options": {**vp, "challenge": ""},
         "credentials": [_credential(holder.did, 1)]},
        {"kind": "request", "key_file": key, "request": {"type": "SalusDossierRequest"}},
        {"kind": "request", "key_file": key, "request": {
            "type": "SalusDossierRequest", "id": "urn:uuid:1", "challenge": "c", "domain": "d",
            "requester": "did:key:z", "types": ["LicenseCredential"]}},
    ])
    assert [v.get("error", "").split(":")[0] for v in verdicts] == ["ProofError"] * 8 + [
        "RequestError", ""]
    assert "not an integer" in verdicts[0]["error"] and "not an integer" in verdicts[1]["error"]
    assert "surrogate" in verdicts[2]["error"] and "deeper" in verdicts[3]["error"]
    assert "not about" in verdicts[5]["error"]
