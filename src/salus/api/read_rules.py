"""Who may read what: one rule per read endpoint, declared beside its route.

The write side has a rule per contract method (:mod:`salus.ledger.authority`); the read
side has a :class:`ReadRule` per endpoint. A rule lists what the endpoint serves, part by
part (:class:`Sees`), and for each part the audiences who may see it. The handler finds
the facts a rule needs (whose data it is, which custodian's, who signed it), asks the
rule which part this viewer may see (:meth:`ReadRule.check`), and serves that view and
nothing more. Whoever is in no audience gets nothing: 401 ``UNAUTHENTICATED`` if they
sent no token and a token could have helped, otherwise 403 ``FORBIDDEN_READ`` with a
reason naming who may read it.

The audiences (``docs/security.md``'s read table uses these words):

* **Public**: anyone, without a token. What the public sees is proofs, not data: tree
  heads, inclusion and consistency proofs, block headers, transaction ids and codes.
* **Member**: any member with a token. **Staff**: a member of an organisation (not a
  patient).
* **Own**: the member the request is about, themself (a patient's own consent, log,
  record).
* **Auditor**: the auditor role in a regulator. **Regulator**: the admin role in a
  regulator. Both see every view, and the auditor raw state too; neither reads a
  record's contents by role (only the patient's consent opens those).
* **Peer operator**: whoever holds a key that signs this chain's blocks (a peer named
  in genesis, or the embedded orderer). It holds no ledger role: its node already orders
  and executes every transaction, so transaction bytes and raw state give it nothing it
  does not have; it authenticates at ``/v1/auth/token`` with that key.
* **Signer**: the member whose key signed the transaction (with any of their keys).
* **Guardian**: a member of the recovery set the patient chose.

The records application adds its own (:mod:`salus.records.read_rules`): a patient's
grantees, a custodian's staff, and the consent decision the gateway makes per record.

Roles are judged in ledger state at the head, not from the token: a role revoked a
moment ago no longer opens anything.

FastAPI inspects ``viewer_of``'s signature, so no ``from __future__ import annotations``.
"""

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request

from salus.api.auth import Principal
from salus.api.errors import ApiError
from salus.ledger.ledger import Ledger
from salus.ledger.members import (
    GOVERNING_TYPES,
    MEMBER_KIND,
    has_role,
    member_key,
    member_of_key,
    org_key,
)

FORBIDDEN_READ = "FORBIDDEN_READ"
#: Organisation types whose auditors and admins oversee the consortium: the regulators
#: that govern it (salus.ledger.authority A3).
OVERSIGHT_TYPES = GOVERNING_TYPES


class Viewer:
    """Who is reading: their token's principal (None without one) and, looked up when a
    rule first needs it, their member record as the ledger has it now."""

    __slots__ = ("_looked_up", "_member", "ledger", "principal")

    def __init__(self, principal: Principal | None, ledger: Ledger) -> None:
        self.principal = principal
        self.ledger = ledger
        self._member: dict[str, Any] | None = None
        self._looked_up = False

    @property
    def member_id(self) -> str | None:
        return None if self.principal is None else self.principal.member_id

    @property
    def member(self) -> dict[str, Any] | None:
        if not self._looked_up:
            self._looked_up = True
            if self.principal is not None:
                self._member = self.ledger.state_value(member_key(self.principal.member_id))
        return self._member

    def get(self, key: str) -> Any:
        return self.ledger.state_value(key)

    def holds(self, roles: Iterable[str], org: str | None = None,
              org_types: frozenset[str] | None = None) -> bool:
        """Does the viewer hold one of ``roles`` now (in ``org``; in an organisation of
        ``org_types``)?"""
        member = self.member
        if member is None or member["org"] is None:
            return False
        if org_types is not None:
            found = self.get(org_key(member["org"]))
            if found is None or found["type"] not in org_types:
                return False
        height = self.ledger.height
        return any(has_role(self.get, member, r, org, height) for r in roles)


class Audience:
    """A kind of reader. :meth:`admits` looks at the viewer and the facts the handler
    found (``about``); :meth:`describe` says it in words for refusals and the table."""

    #: Whether only a token can put a viewer in this audience.
    needs_token: bool = True

    def admits(self, viewer: Viewer, about: Mapping[str, Any]) -> bool:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


class _Public(Audience):
    needs_token = False

    def admits(self, viewer: Viewer, about: Mapping[str, Any]) -> bool:
        return True

    def describe(self) -> str:
        return "anyone, without a token"


class _Member(Audience):
    def admits(self, viewer: Viewer, about: Mapping[str, Any]) -> bool:
        return viewer.member is not None

    def describe(self) -> str:
        return "a member (any, with a token)"


class _Staff(Audience):
    def admits(self, viewer: Viewer, about: Mapping[str, Any]) -> bool:
        member = viewer.member
        return member is not None and member["kind"] == MEMBER_KIND

    def describe(self) -> str:
        return "a member of an organisation (not a patient)"


@dataclass(frozen=True)
class Own(Audience):
    """The member whose data it is (``about[arg]``, a member id), themself."""

    arg: str
    who: str = "member"

    def admits(self, viewer: Viewer, about: Mapping[str, Any]) -> bool:
        member = viewer.member  # a member's own data, never a peer operator's
        return member is not None and member["id"] == about.get(self.arg)

    def describe(self) -> str:
        return f"the {self.who} themself (`{self.arg}`)"


class _Auditor(Audience):
    def admits(self, viewer: Viewer, about: Mapping[str, Any]) -> bool:
        return viewer.holds(("auditor",), org_types=OVERSIGHT_TYPES)

    def describe(self) -> str:
        return "an auditor of a regulator"


class _Regulator(Audience):
    def admits(self, viewer: Viewer, about: Mapping[str, Any]) -> bool:
        return viewer.holds(("admin",), org_types=OVERSIGHT_TYPES)

    def describe(self) -> str:
        return "an admin of a regulator"


class _PeerOperator(Audience):
    def admits(self, viewer: Viewer, about: Mapping[str, Any]) -> bool:
        return (viewer.principal is not None
                and viewer.principal.did in viewer.ledger.genesis.block_signers)

    def describe(self) -> str:
        return "a peer operator (the key that signs this chain's blocks)"


@dataclass(frozen=True)
class Signer(Audience):
    """The member who signed the transaction whose signing key is ``about[arg]``."""

    arg: str

    def admits(self, viewer: Viewer, about: Mapping[str, Any]) -> bool:
        did = about.get(self.arg)
        if viewer.member_id is None or not isinstance(did, str):
            return False
        signer = member_of_key(viewer.get, did)
        return signer is not None and signer["id"] == viewer.member_id

    def describe(self) -> str:
        return "the member who signed it"


@dataclass(frozen=True)
class Guardian(Audience):
    """A guardian in the recovery set chosen by the patient ``about[arg]`` names."""

    arg: str

    def admits(self, viewer: Viewer, about: Mapping[str, Any]) -> bool:
        patient = viewer.get(member_key(str(about.get(self.arg))))
        recovery = (patient or {}).get("recovery") or {}
        return viewer.member_id is not None and viewer.member_id in recovery.get("guardians", ())

    def describe(self) -> str:
        return f"a guardian the patient (`{self.arg}`) chose"


PUBLIC: Audience = _Public()
MEMBER: Audience = _Member()
STAFF: Audience = _Staff()
AUDITOR: Audience = _Auditor()
REGULATOR: Audience = _Regulator()
PEER_OPERATOR: Audience = _PeerOperator()
#: Who may see every view of the ledger's own data (not records' contents).
OVERSEERS = (AUDITOR, REGULATOR)


@dataclass(frozen=True)
class Sees:
    """One part of what an endpoint serves (``what``), the audiences who may see it, and
    the name of the view the handler serves them."""

    who: tuple[Audience, ...]
    what: str
    view: str = "all"


#: Every rule declared, in the order their modules declared them (for the read table).
DECLARED: list["ReadRule"] = []


@dataclass(frozen=True)
class ReadRule:
    method: str
    path: str
    sees: tuple[Sees, ...]
    audiences: tuple[Audience, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        seen: list[Audience] = []
        for part in self.sees:
            seen += [a for a in part.who if a not in seen]
        object.__setattr__(self, "audiences", tuple(seen))
        DECLARED.append(self)

    @property
    def endpoint(self) -> str:
        return f"{self.method} {self.path}"

    def view(self, viewer: Viewer, only: str | None = None, **about: Any) -> str | None:
        """The view of the first part (of view ``only``, if given) whose audience admits
        ``viewer``; None if none does."""
        for part in self.sees:
            if (only is None or part.view == only) and any(
                    a.admits(viewer, about) for a in part.who):
                return part.view
        return None

    def allows(self, viewer: Viewer, view: str, **about: Any) -> bool:
        return self.view(viewer, view, **about) is not None

    def check(self, viewer: Viewer, only: str | None = None, **about: Any) -> str:
        """:meth:`view`, or the refusal: 401 without a token, else 403."""
        found = self.view(viewer, only, **about)
        if found is None:
            raise self.refusal(viewer, only)
        return found

    def refusal(self, viewer: Viewer, only: str | None = None) -> ApiError:
        parts = [p for p in self.sees if only is None or p.view == only]
        who = _either(a.describe() for p in parts for a in p.who)
        if viewer.principal is None:
            return ApiError(401, "UNAUTHENTICATED",
                            f"this needs a bearer token from POST /v1/auth/token; {self.endpoint} "
                            f"is for {who}", {"WWW-Authenticate": "Bearer"})
        return ApiError(403, FORBIDDEN_READ, f"only {who} may read this ({self.endpoint})")

    def openapi(self) -> dict[str, Any]:
        """The rule, as the ``x-salus-read`` extension of the operation."""
        return {"x-salus-read": [{"who": [a.describe() for a in p.who], "sees": p.what}
                                 for p in self.sees]}

    def route(self, router: Any, **kw: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register the decorated handler on ``router`` (an APIRouter or the app) at this
        rule's path and method, and mark it with the rule (tests/test_read_matrix.py
        finds every route's rule through the mark)."""
        path = self.path.removeprefix(getattr(router, "prefix", ""))
        extra = {**kw.pop("openapi_extra", {}), **self.openapi()}

        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            fn.read_rule = self  # type: ignore[attr-defined]
            return router.api_route(path, methods=[self.method], openapi_extra=extra,
                                    **kw)(fn)
        return register


def _either(names: Iterable[str]) -> str:
    unique = list(dict.fromkeys(names))
    return unique[0] if len(unique) == 1 else ", ".join(unique[:-1]) + " or " + unique[-1]


def public(method: str, path: str, what: str) -> ReadRule:
    """A rule for an endpoint whose every answer is for anyone."""
    return ReadRule(method, path, (Sees((PUBLIC,), what),))


async def viewer_of(request: Request) -> Viewer:
    """The request's viewer. A token, if sent, must be valid (401 otherwise); whether
    one was needed is for the endpoint's rule to say."""
    principal = None
    if request.headers.get("authorization"):
        principal = request.app.state.tokens.from_request(request)
    return Viewer(principal, request.app.state.node.ledger)


ViewerDep = Annotated[Viewer, Depends(viewer_of)]


def read_table() -> str:
    """Every read endpoint with its rule, as the markdown table in docs/security.md
    (``salus api --reads`` prints it; a test compares the two)."""
    from salus.api import app  # noqa: F401  (the node's own rules)
    from salus.applications import APPLICATIONS

    for application in APPLICATIONS:  # and every application's, beside its routes
        for module in application.route_modules:
            importlib.import_module(f"salus.{application.name}.{module}")

    rows = ["| endpoint | who may read | what they see |", "|---|---|---|"]
    for rule in sorted(DECLARED, key=lambda r: (r.path, r.method)):
        for i, part in enumerate(rule.sees):
            name = f"`{rule.endpoint}`" if i == 0 else ""
            rows.append(f"| {name} | {'; '.join(a.describe() for a in part.who)} | "
                        f"{part.what} |")
    return "\n".join(rows) + "\n"
