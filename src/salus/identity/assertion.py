"""JWTs signed with a member's Ed25519 key (RFC 8037 "EdDSA"), via PyJWT.

Used for OAuth2 client assertions (RFC 7523, as SMART on FHIR Backend Services uses
them) and for the node's own access tokens.
"""

from __future__ import annotations

import secrets
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from salus.identity.did import ed25519_from_did
from salus.identity.keys import Identity

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: Where a node takes client assertions, under its public URL.
TOKEN_PATH = "/v1/auth/token"


def token_endpoint(public_url: str) -> str:
    """The token endpoint under a node's public URL: the audience of every assertion
    that node accepts."""
    return public_url.rstrip("/") + TOKEN_PATH


def private_key(identity: Identity) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes(identity.signing_key))


def public_key(did: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(ed25519_from_did(did))


def sign_jwt(identity: Identity, claims: dict[str, Any]) -> str:
    return jwt.encode(claims, private_key(identity), algorithm="EdDSA",
                      headers={"kid": identity.did})


def client_assertion(identity: Identity, token_url: str, now: int, lifetime: int = 60) -> str:
    """A client assertion for the token endpoint at ``token_url`` (times in seconds)."""
    return sign_jwt(identity, {
        "iss": identity.did, "sub": identity.did, "aud": token_url,
        "iat": now, "exp": now + lifetime, "jti": secrets.token_hex(16),
    })
