"""A client assertion made in the browser is one the token endpoint's own checks accept
(PyJWT, EdDSA, the member's did:key), with the claims the Python SDK makes."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import jwt
import pytest

from node_cases import run_cases
from salus.identity import Identity
from salus.identity.assertion import public_key

RUNNER = Path(__file__).parent / "js" / "assertion_cases.mjs"
TOKEN_URL = "http://127.0.0.1:8700/v1/auth/token"


def test_a_browser_assertion_verifies_as_the_sdk_s_does() -> None:
    me = Identity.from_seed(hashlib.sha256(b"web-assertion").digest())
    other = Identity.from_seed(hashlib.sha256(b"someone-else").digest())
    now = int(time.time())
    cases = [{"key_file": me.to_json(), "token_url": TOKEN_URL, "now": now}] * 2
    first, second = run_cases(RUNNER, cases)
    claims = jwt.decode(first, public_key(me.did), algorithms=["EdDSA"], audience=TOKEN_URL,
                        options={"require": ["iss", "sub", "aud", "exp", "jti"]})
    assert claims["iss"] == claims["sub"] == me.did and claims["exp"] == now + 60
    assert jwt.get_unverified_header(first)["kid"] == me.did
    assert jwt.decode(second, public_key(me.did), algorithms=["EdDSA"],
                      audience=TOKEN_URL)["jti"] != claims["jti"]  # each one usable once
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(first, public_key(other.did), algorithms=["EdDSA"], audience=TOKEN_URL)
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(first, public_key(me.did), algorithms=["EdDSA"],
                   audience="http://evil.example/v1/auth/token")
