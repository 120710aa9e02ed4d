"""SMART on FHIR scopes: what one access token may be used for.

A scope is ``<context>/<resource>.<permissions>``:

- context ``system`` (a backend service acting as the member) or ``user`` (a person's
  own app): both act as the member the token names. A scope only ever narrows what that
  member may do; who may see what is decided by the member's roles and the read rules,
  whatever the scope. ``patient/`` scopes need a patient picked at launch, which the
  client-credentials grant never gives: refused.
- resource ``*`` or a FHIR resource type this node serves (``Observation``, ...).
- permissions: SMART v2, a non-empty run of ``c r u d s`` in that order (create, read,
  update, delete, search: ``rs``, ``cruds``), or SMART v1 ``read`` (= ``rs``),
  ``write`` (= ``cud``) or ``*`` (= ``cruds``). Granular v2 scopes with a query
  (``system/Observation.rs?category=...``) are refused: nothing here could enforce them.

What a request needs (:func:`needed`): a FHIR read ``GET /fhir/<Type>/<id>`` needs
``r`` on that type, a search ``GET /fhir/<Type>?...`` needs ``s`` on it; everything else
a token opens (``$everything``, which returns every type, the ledger's state, members,
the record index, consent and access logs) is not one FHIR resource and needs the
permission on ``*``: ``r`` to read (GET), ``c`` to POST (ingest, binaries, handing out a
key), ``u`` to PUT or PATCH, ``d`` to DELETE.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from salus.records.contracts.layout import RESOURCE_TYPES

CONTEXTS = ("system", "user")
#: SMART v2 permissions, in the order a scope must list them.
PERMISSIONS = "cruds"
#: SMART v1 permission words and their v2 equivalents.
V1_PERMISSIONS = {"read": "rs", "write": "cud", "*": "cruds"}
#: Resource types a scope may name: what the node stores, and the FHIR views of its
#: consent and access log.
SCOPE_RESOURCES = frozenset(RESOURCE_TYPES | {"Consent", "AuditEvent"})
#: A token request without a scope gets this one (what SMART v1 clients asked for).
DEFAULT_SCOPE = "system/*.read"
#: What a request's method needs on a resource.
_METHOD_PERMISSION = {"GET": "r", "HEAD": "r", "POST": "c", "PUT": "u", "PATCH": "u",
                      "DELETE": "d"}


class ScopeError(ValueError):
    """A scope this node does not support; the message says why."""


@dataclass(frozen=True, slots=True)
class Scope:
    context: str
    resource: str  # "*" or a resource type
    permissions: frozenset[str]

    def allows(self, resource: str, permission: str) -> bool:
        return permission in self.permissions and self.resource in ("*", resource)


def parse(text: str) -> Scope:
    """One scope, or :class:`ScopeError` saying what is wrong with it."""
    if "?" in text:
        raise ScopeError(f"{text}: scopes with a query (SMART v2 granular scopes) are not "
                         "supported")
    context, slash, rest = text.partition("/")
    resource, dot, permissions = rest.rpartition(".")
    if not slash or not dot or not resource:
        raise ScopeError(f"{text}: a scope is <context>/<resource>.<permissions>, "
                         "e.g. system/*.rs")
    if context == "patient":
        raise ScopeError(f"{text}: patient/ scopes need a patient chosen at launch, which "
                         "the client-credentials grant does not give; use system/ or user/")
    if context not in CONTEXTS:
        raise ScopeError(f"{text}: the context must be one of {', '.join(CONTEXTS)}")
    if resource != "*" and resource not in SCOPE_RESOURCES:
        raise ScopeError(f"{text}: {resource!r} is not a resource type this node serves "
                         f"(* or one of {', '.join(sorted(SCOPE_RESOURCES))})")
    letters = V1_PERMISSIONS.get(permissions, permissions)
    if not letters or not _in_order(letters):
        raise ScopeError(f"{text}: permissions are read, write, * or SMART v2 letters "
                         f"from {PERMISSIONS!r} in that order (e.g. rs, cruds)")
    return Scope(context, resource, frozenset(letters))


def _in_order(letters: str) -> bool:
    """Each letter of ``letters`` is one of c r u d s, none twice, in that order."""
    position = -1
    for letter in letters:
        found = PERMISSIONS.find(letter, position + 1)
        if found < 0:
            return False
        position = found
    return True


@functools.lru_cache(maxsize=1024)
def parse_all(text: str) -> tuple[Scope, ...]:
    """Every scope of a space-separated list; :class:`ScopeError` names each bad one."""
    scopes, bad = [], []
    for item in text.split():
        try:
            scopes.append(parse(item))
        except ScopeError as exc:
            bad.append(str(exc))
    if bad:
        raise ScopeError("; ".join(bad))
    if not scopes:
        raise ScopeError("no scope given")
    return tuple(scopes)


def needed(method: str, path: str) -> tuple[str, str]:
    """(resource, permission) a request needs: see the module's docstring."""
    permission = _METHOD_PERMISSION.get(method.upper(), "c")
    if path.startswith("/fhir/") and permission == "r":
        parts = path[len("/fhir/"):].split("/")
        if len(parts) == 1 and parts[0]:
            return parts[0], "s"
        if len(parts) == 2 and parts[1]:
            return parts[0], "r"
    return "*", permission


def allows(scopes: tuple[Scope, ...], resource: str, permission: str) -> bool:
    return any(s.allows(resource, permission) for s in scopes)


def supported() -> list[str]:
    """What ``/.well-known/smart-configuration`` advertises: the wildcard scopes in
    SMART v2 and v1 syntax, and read-and-search of each resource type."""
    wildcard = ("*.cruds", "*.rs", "*.r", "*.s", "*.c", "*.read", "*.write")
    return ([f"{c}/{w}" for c in CONTEXTS for w in wildcard]
            + [f"{c}/{t}.rs" for c in CONTEXTS for t in sorted(SCOPE_RESOURCES)])
