"""OAuth2 client-credentials with a signed JWT assertion (SMART Backend Services style).

A member proves who it is by signing a short-lived JWT with its own ledger key; the node
checks the key is an active member key on the ledger right now and answers with an
access token (an EdDSA JWT signed by the node) that carries the member's current roles.
Tokens live five minutes by default; each assertion can be used once.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

import jwt
from fastapi import Request

from salus.api.errors import ApiError
from salus.identity import Identity
from salus.identity.assertion import ASSERTION_TYPE, public_key, sign_jwt
from salus.identity.did import DIDError
from salus.ledger.ledger import Ledger
from salus.ledger.members import has_role, key_entry, member_of_key

MAX_ASSERTION_LIFETIME = 300
CLOCK_SKEW = 60
#: SMART-style scopes a token may carry; every member may read the ledger's own data.
SUPPORTED_SCOPES = ("system/*.read", "system/*.write")


@dataclass(frozen=True, slots=True)
class Principal:
    member_id: str
    did: str
    org: str | None
    roles: tuple[str, ...]
    scopes: tuple[str, ...]

    def has_role(self, role: str) -> bool:
        return role in self.roles


class TokenService:
    def __init__(self, key: Identity, ledger: Ledger, lifetime: int = 300) -> None:
        self.key = key
        self.ledger = ledger
        self.lifetime = lifetime
        self._used: dict[str, int] = {}
        self._lock = threading.Lock()
        self._public = public_key(key.did)

    def _fail(self, reason: str) -> ApiError:
        return ApiError(400, "INVALID_CLIENT", reason)

    def _remember(self, jti: str, exp: int, now: int) -> None:
        with self._lock:
            for old in [j for j, e in self._used.items() if e < now - CLOCK_SKEW]:
                del self._used[old]
            if jti in self._used:
                raise self._fail("this client assertion was already used (jti replay)")
            self._used[jti] = exp

    def issue(self, grant_type: str, assertion_type: str, assertion: str, audience: str,
              scope: str | None, now: int | None = None) -> dict[str, Any]:
        now = int(time.time()) if now is None else now
        if grant_type != "client_credentials":
            raise ApiError(400, "UNSUPPORTED_GRANT_TYPE", "grant_type must be client_credentials")
        if assertion_type != ASSERTION_TYPE:
            raise self._fail(f"client_assertion_type must be {ASSERTION_TYPE}")
        try:
            issuer = jwt.decode(assertion, options={"verify_signature": False}).get("iss")
            claims = jwt.decode(
                assertion, public_key(str(issuer)), algorithms=["EdDSA"], audience=audience,
                leeway=CLOCK_SKEW, options={"require": ["iss", "sub", "aud", "exp", "jti"]})
        except (jwt.PyJWTError, DIDError, ValueError) as exc:
            raise self._fail(f"client assertion rejected: {exc}") from None
        if claims["sub"] != claims["iss"]:
            raise self._fail("client assertion iss and sub must both be the member's did:key")
        if claims["exp"] - now > MAX_ASSERTION_LIFETIME:
            raise self._fail(f"client assertion must expire within {MAX_ASSERTION_LIFETIME} s")
        did = claims["iss"]
        member = member_of_key(self.ledger.state_value, did) or self._peer_operator(did)
        entry = None if member is None else key_entry(member, did)
        if member is None or entry is None or entry["status"] != "active":
            raise self._fail("the assertion's key is not an active member key on this ledger")
        self._remember(str(claims["jti"]), int(claims["exp"]), now)
        requested = (scope or SUPPORTED_SCOPES[0]).split()
        unknown = [s for s in requested if s not in SUPPORTED_SCOPES]
        if unknown:
            raise ApiError(400, "INVALID_SCOPE", f"unsupported scope(s): {' '.join(unknown)}")
        height = self.ledger.height
        roles = sorted({r["role"] for r in member["roles"]
                        if has_role(self.ledger.state_value, member, r["role"], None, height)})
        token = sign_jwt(self.key, {
            "iss": self.key.did, "aud": self.ledger.chain_id, "sub": member["id"], "did": did,
            "org": member["org"], "roles": roles, "scope": " ".join(requested),
            "iat": now, "exp": now + self.lifetime, "jti": secrets.token_hex(16),
        })
        return {"access_token": token, "token_type": "bearer", "expires_in": self.lifetime,
                "scope": " ".join(requested)}

    def _peer_operator(self, did: str) -> dict[str, Any] | None:
        """A key that signs this chain's blocks (a genesis peer's, or the embedded
        orderer's) is its operator's credential, though no member's: a token for it holds
        no role and reads what a peer operator may (salus.api.read_rules.PEER_OPERATOR)."""
        if did not in self.ledger.genesis.block_signers:
            return None
        return {"id": did, "org": self.ledger.genesis.peer_org(did), "roles": [],
                "keys": [{"did": did, "status": "active"}]}

    def principal(self, token: str) -> Principal:
        try:
            claims = jwt.decode(token, self._public, algorithms=["EdDSA"],
                                audience=self.ledger.chain_id, issuer=self.key.did)
        except jwt.ExpiredSignatureError:
            raise ApiError(401, "TOKEN_EXPIRED", "access token expired; request a new one",
                           {"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None
        except jwt.PyJWTError as exc:
            raise ApiError(401, "INVALID_TOKEN", f"access token rejected: {exc}",
                           {"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None
        return Principal(claims["sub"], claims["did"], claims.get("org"),
                         tuple(claims.get("roles", ())), tuple(claims.get("scope", "").split()))

    def from_request(self, request: Request) -> Principal:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "UNAUTHENTICATED",
                           "this endpoint needs a bearer token from POST /v1/auth/token",
                           {"WWW-Authenticate": "Bearer"})
        return self.principal(token.strip())
