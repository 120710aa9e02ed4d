"""The browser signs exactly what the Python SDK signs: the same key file and fields give
the same wire bytes (Ed25519 is deterministic, so any difference in the canonical JSON
shows), run through the browser's modules in Node's WebCrypto."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from node_cases import run_cases
from salus.identity import Identity
from salus.ledger import transaction

RUNNER = Path(__file__).parent / "js" / "envelope_cases.mjs"

#: Arguments where canonical JSON implementations differ if they are going to: key order
#: by UTF-16 code units (astral characters, accents, case), escapes, nesting, numbers.
ARGS: list[dict[str, Any]] = [
    {"hash": "ab" * 32},
    {"hash": "cd" * 32, "label": "discharge"},
    {"b": 1, "a": [3, 2, 1], "B": {"z": None, "y": True, "x": False}},
    {"\u00e9": "caf\u00e9", "e": "\U0001f600", "\U0001f600": 1, "\ufb01": "ligature"},
    {"text": "quote \" backslash \\ tab \t newline \n nul \u0000 del \u007f sep \u2028"},
    {"n": [0, -1, 9007199254740991, -9007199254740991, 1000000]},
    {"deep": {"a": {"b": {"c": {"d": [{"e": []}, {}]}}}}},
]


def test_the_browser_signs_the_same_bytes_as_the_python_sdk() -> None:
    keys = [Identity.from_seed(hashlib.sha256(b"web-%d" % i).digest()) for i in range(3)]
    cases, expected = [], []
    for i, args in enumerate(ARGS):
        key = keys[i % len(keys)]
        fields = {"chain": "salus-demo", "contract": "notary", "method": "anchor", "args": args,
                  "nonce": 1_764_300_000_000_000 + i, "time": 1_764_300_000_000 + i}
        cases.append({"key_file": key.to_json(), "fields": fields})
        expected.append({"did": key.did, "wire": transaction.encode(key, **fields).hex()})
    assert run_cases(RUNNER, cases) == expected


def test_the_browser_refuses_what_it_cannot_sign_faithfully() -> None:
    key = Identity.from_seed(hashlib.sha256(b"web-x").digest()).to_json()
    fields = {"chain": "c", "contract": "notary", "method": "anchor", "args": {}, "time": 1}
    wrong_did = {**key, "did": Identity.from_seed(hashlib.sha256(b"other").digest()).did}
    verdicts = run_cases(RUNNER, [
        {"key_file": key, "fields": {**fields, "nonce": 2**53}},  # no longer exact in JS
        {"key_file": key, "fields": {**fields, "nonce": -1}},
        {"key_file": wrong_did, "fields": {**fields, "nonce": 1}},
        {"key_file": {**key, "type": "something-else"}, "fields": {**fields, "nonce": 1}},
        {"key_file": {**key, "ed25519_seed": "AAAA"}, "fields": {**fields, "nonce": 1}},
        {"key_file": key, "fields": {**fields, "nonce": 1, "args": {"x": "\ud800"}}},
    ])
    assert [v.get("error", "").split(":")[0] for v in verdicts] == [
        "RangeError", "RangeError", "KeyFileError", "KeyFileError", "KeyFileError", "Error"]
    assert "does not match" in verdicts[2]["error"]
