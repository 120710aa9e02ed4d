"""OAuth2 client-credentials with a signed JWT assertion (SMART Backend Services style).

A member proves who it is by signing a short-lived JWT with its own ledger key; the node
checks the key is an active member key on the ledger right now and answers with an
access token (an EdDSA JWT signed by the node) that carries the member's current roles.
Tokens live five minutes by default; each assertion can be used once, and only at the
node it was made for.

- The assertion's audience must be this node's token endpoint under its configured
  public URL (``salus node --public-url``), never a URL made from the request's own
  headers: a client that names the node it means cannot be talked into an assertion that
  another node (or a Host header naming it) accepts. Each network peer has its own URL,
  so an assertion made for one peer is refused by the others.
- The ``jti`` of every accepted assertion is remembered until the assertion expires, in
  the node's replay file (salus.records.replay): a restart does not reopen the window.
- Every request re-checks that the token's key is still an active key of the member it
  names (the ledger's state cache: two lookups), so a token issued before its key was
  revoked, rotated or recovered stops working with the block that retired the key.
- Scopes follow SMART v1 and v2 (salus.api.scopes); each request needs the one its
  method and path call for.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from fastapi import Request

from salus.api import scopes
from salus.api.errors import ApiError
from salus.identity import Identity
from salus.identity.assertion import (
    ASSERTION_TYPE,
    public_key,
    sign_jwt,
    token_endpoint,
)
from salus.identity.did import DIDError
from salus.ledger.ledger import Ledger
from salus.ledger.members import has_role, key_valid_at, member_of_key
from salus.records.replay import ReplayGuard

MAX_ASSERTION_LIFETIME = 300
CLOCK_SKEW = 60
_INVALID_TOKEN = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


@dataclass(frozen=True, slots=True)
class Principal:
    member_id: str
    did: str
    org: str | None
    roles: tuple[str, ...]
    scopes: tuple[str, ...]

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def allows(self, resource: str, permission: str) -> bool:
        """Does one of the token's scopes give ``permission`` on ``resource``?"""
        return scopes.allows(scopes.parse_all(" ".join(self.scopes)), resource, permission)


class TokenService:
    """``public_url``: this node's address as its clients name it (the assertions'
    audience is its token endpoint); ``replay_file``: where accepted assertions are
    remembered until they expire (the node's ``DataDir.replay_file``)."""

    def __init__(self, key: Identity, ledger: Ledger, lifetime: int = 300, *,
                 public_url: str, replay_file: str | Path) -> None:
        self.key = key
        self.ledger = ledger
        self.lifetime = lifetime
        self.public_url = public_url.rstrip("/")
        self.token_endpoint = token_endpoint(public_url)
        self._used = ReplayGuard(replay_file, "client_assertions",
                                 (MAX_ASSERTION_LIFETIME + CLOCK_SKEW) * 1000)
        self._public = public_key(key.did)

    def _fail(self, reason: str) -> ApiError:
        return ApiError(400, "INVALID_CLIENT", reason)

    def _remember(self, issuer: str, jti: str, exp: int, now: int) -> None:
        # keyed by issuer and jti (RFC 7523: a jti is unique per issuer), hashed to a
        # fixed size whatever length the client chose
        seen = hashlib.sha256(f"{issuer}|{jti}".encode()).hexdigest()
        if not self._used.first_use(seen, (exp + CLOCK_SKEW) * 1000, now * 1000):
            raise self._fail("this client assertion was already used (jti replay)")

    def _active_member(self, did: str) -> dict[str, Any] | None:
        """The member whose active key ``did`` is at the ledger's head, or the operator of a
        peer whose block-signing key it is; None if neither."""
        member = member_of_key(self.ledger.state_value, did)
        if member is None:
            return self._peer_operator(did)
        if not key_valid_at(member, did, self.ledger.height):
            return None
        return member

    async def written(self) -> None:
        """Return once the assertions accepted so far are remembered on disk."""
        await self._used.written()

    def close(self) -> None:
        self._used.close()

    def issue(self, grant_type: str, assertion_type: str, assertion: str,
              scope: str | None, now: int | None = None) -> dict[str, Any]:
        now = int(time.time()) if now is None else now
        if grant_type != "client_credentials":
            raise ApiError(400, "UNSUPPORTED_GRANT_TYPE", "grant_type must be client_credentials")
        if assertion_type != ASSERTION_TYPE:
            raise self._fail(f"client_assertion_type must be {ASSERTION_TYPE}")
        try:
            issuer = jwt.decode(assertion, options={"verify_signature": False}).get("iss")
            claims = jwt.decode(
                assertion, public_key(str(issuer)), algorithms=["EdDSA"],
                audience=self.token_endpoint,
                leeway=CLOCK_SKEW, options={"require": ["iss", "sub", "aud", "exp", "jti"]})
        except jwt.InvalidAudienceError:
            raise self._fail(f"the client assertion's audience (aud) must be this node's token "
                             f"endpoint, {self.token_endpoint}: an assertion made for another "
                             "address or another node is refused") from None
        except (jwt.PyJWTError, DIDError, ValueError) as exc:
            raise self._fail(f"client assertion rejected: {exc}") from None
        # PyJWT checks times it can read; a time that is no integer must not get further
        # (a string "exp" was an unhandled 500 that no failure budget counted).
        if any(type(claims.get(k, 0)) is not int for k in ("exp", "iat", "nbf")) or \
                not all(isinstance(claims[k], str) for k in ("iss", "sub", "jti")):
            raise self._fail("client assertion claims exp, iat and nbf must be integers "
                             "(seconds), iss, sub and jti strings")
        if claims["sub"] != claims["iss"]:
            raise self._fail("client assertion iss and sub must both be the member's did:key")
        if claims["exp"] - now > MAX_ASSERTION_LIFETIME:
            raise self._fail(f"client assertion must expire within {MAX_ASSERTION_LIFETIME} s")
        did = claims["iss"]
        member = self._active_member(did)
        if member is None:
            raise self._fail("the assertion's key is not an active member key on this ledger")
        requested = (scope or scopes.DEFAULT_SCOPE).split()
        try:
            scopes.parse_all(" ".join(requested))
        except scopes.ScopeError as exc:
            raise ApiError(400, "INVALID_SCOPE", f"unsupported scope: {exc}") from None
        self._remember(did, str(claims["jti"]), int(claims["exp"]), now)
        height = self.ledger.height
        roles = sorted({r["role"] for r in member["roles"]
                        if has_role(self.ledger.state_value, member, r["role"], None, height)})
        token = sign_jwt(self.key, {
            # the token is for this node alone: its public URL, not the chain (which every
            # copy of the node's data directory would share)
            "iss": self.key.did, "aud": self.public_url, "sub": member["id"], "did": did,
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
                                audience=self.public_url, issuer=self.key.did)
        except jwt.ExpiredSignatureError:
            raise ApiError(401, "TOKEN_EXPIRED", "access token expired; request a new one",
                           _INVALID_TOKEN) from None
        except jwt.PyJWTError as exc:
            raise ApiError(401, "INVALID_TOKEN", f"access token rejected: {exc}",
                           _INVALID_TOKEN) from None
        member = self._active_member(claims["did"])
        if member is None or member["id"] != claims["sub"]:
            raise ApiError(401, "KEY_NOT_ACTIVE",
                           "the key this token was issued to is no longer an active key of "
                           "its member (revoked, rotated or recovered); request a new token "
                           "with a current key", _INVALID_TOKEN)
        return Principal(claims["sub"], claims["did"], claims.get("org"),
                         tuple(claims.get("roles", ())), tuple(claims.get("scope", "").split()))

    def from_request(self, request: Request) -> Principal:
        """The member a request's bearer token names, if the token is valid, its key
        still active, and one of its scopes allows this method on this path."""
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "UNAUTHENTICATED",
                           "this endpoint needs a bearer token from POST /v1/auth/token",
                           {"WWW-Authenticate": "Bearer"})
        principal = self.principal(token.strip())
        resource, permission = scopes.needed(request.method, request.url.path)
        if not principal.allows(resource, permission):
            wanted = f"system/{resource}.{permission}"
            raise ApiError(403, "INSUFFICIENT_SCOPE",
                           f"this token's scopes ({' '.join(principal.scopes)}) do not allow "
                           f"{request.method} {request.url.path}: it needs {wanted} (or a "
                           "scope that includes it)",
                           {"WWW-Authenticate": f'Bearer error="insufficient_scope", '
                                                f'scope="{wanted}"'})
        return principal
