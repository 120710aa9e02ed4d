"""Who may call a contract method, on whose data: one rule per method.

Each method declares its rule beside its code (``@method(who=...)``); the runtime checks
it at admission, after the arguments fit their schema and before the method runs, on the
node's ingress and again on every peer. A refusal is ``FORBIDDEN`` with a reason, and the
transaction is not ordered (or, caught on a peer, not kept): nothing is written.

The rules, each numbered as ``docs/security.md`` cites them:

* **A1 Own identity.** A patient's keys, encryption key, consent, opt-outs and recovery
  set are changed only by the patient (or, for keys, by the recovery set the patient
  chose, after the patient's delay). A member of kind patient is never the target of an
  admin action, and nobody grants a patient roles.
* **A2 Own organisation.** An organisation's admin acts only on members of that
  organisation: the target member's organisation, never "some organisation".
* **A3 Governance.** Organisations are added and removed only by an admin of a
  regulator.
* **A4 Roles.** A method that needs a role needs it held now, in an active organisation,
  of the types the method names.
* **A5 Own custodian.** A gateway acts only for its own custodian: it registers and
  amends that custodian's records and logs accesses to them.
* **A6 Newcomers.** A key that is not a member may sign exactly one thing: its own
  registration as a patient.

Every rule reads only ledger state through the transaction's context, so every peer
judges a transaction the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from salus.ledger.codes import Code, Rejected
from salus.ledger.members import (
    GOVERNING_TYPES,
    PATIENT_KIND,
    has_role,
    key_index,
    member_key,
    org_key,
)

if TYPE_CHECKING:
    from salus.ledger.contract import Context


def _forbidden(reason: str) -> Rejected:
    return Rejected(Code.FORBIDDEN, reason)


def forbidden(rule: str, reason: str) -> Rejected:
    """An application rule's refusal, citing the rule (``SC3: ...``, ``CL6: ...``)."""
    return Rejected(Code.FORBIDDEN, f"{rule}: {reason}")


def signer_org(ctx: Context) -> str:
    """The signer's organisation (a rule that admitted a member of one has run)."""
    assert ctx.member is not None and ctx.member["org"] is not None
    return ctx.member["org"]


def _signer(ctx: Context) -> dict[str, Any]:
    if ctx.member is None:
        raise Rejected(Code.UNKNOWN_SIGNER, f"{ctx.signer} is not a member")
    return ctx.member


def _is_admin_of(ctx: Context, org: str | None) -> bool:
    return org is not None and has_role(ctx.get, ctx.member, "admin", org, ctx.height)


def is_governor(ctx: Context) -> bool:
    """Is the signer an admin of a regulator (A3)?"""
    member = ctx.member
    if member is None or member["org"] is None:
        return False
    org = ctx.get(org_key(member["org"]))
    return org is not None and org["type"] in GOVERNING_TYPES and _is_admin_of(ctx, org["id"])


class Rule:
    """A rule: :meth:`check` raises ``FORBIDDEN`` (nothing else) unless the signer may
    call the method with these arguments; :meth:`describe` says it in words."""

    #: Whether a key that is not a member may sign the method at all (A6).
    newcomer: bool = False
    cites: str = ""

    def check(self, ctx: Context, args: dict[str, Any]) -> None:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Newcomer(Rule):
    """A6: a key not yet a member registers itself."""

    newcomer = True
    cites = "A6"

    def check(self, ctx: Context, args: dict[str, Any]) -> None:
        if ctx.member is not None:
            raise _forbidden("this key already belongs to a member")

    def describe(self) -> str:
        return "a key that is not yet a member, registering itself"


@dataclass(frozen=True)
class AnyMember(Rule):
    """Any member with an active key, acting for themself."""

    cites = "A1"

    def check(self, ctx: Context, args: dict[str, Any]) -> None:
        _signer(ctx)

    def describe(self) -> str:
        return "any member, for themself"


@dataclass(frozen=True)
class Patient(Rule):
    """A1: a patient, acting on their own identity, consent or records."""

    cites = "A1"

    def check(self, ctx: Context, args: dict[str, Any]) -> None:
        if _signer(ctx)["kind"] != PATIENT_KIND:
            raise _forbidden("only a patient may do this, for themself")

    def describe(self) -> str:
        return "the patient themself"


@dataclass(frozen=True)
class AdminOf(Rule):
    """A2: an admin of the organisation the argument ``org`` names."""

    org: str
    cites = "A2"

    def check(self, ctx: Context, args: dict[str, Any]) -> None:
        if not _is_admin_of(ctx, args[self.org]):
            raise _forbidden(f"only an admin of {_org_named(args[self.org], self.org)} may do this")

    def describe(self) -> str:
        return f"an admin of the organisation named by `{self.org}`"


def _org_named(org: str | None, arg: str) -> str:
    """An organisation a reason names: never "None" when the argument named none."""
    return org if org is not None else f"the organisation `{arg}` names (it named none)"


def _target(ctx: Context, member_id: str) -> dict[str, Any]:
    target = ctx.get(member_key(member_id))
    if target is None:  # the schema's reference check ran first; this is a bug guard
        raise Rejected(Code.NOT_FOUND, f"no member {member_id}")
    return target


def _admin_over(ctx: Context, target: dict[str, Any]) -> None:
    """A1 + A2: the signer is an admin of the target's own organisation, and the target
    is not a patient."""
    if target["kind"] == PATIENT_KIND:
        raise _forbidden("a patient's identity and roles are changed only by the patient "
                         "(or the recovery set they chose); no admin acts on a patient")
    if target["org"] is None:  # (kinds of member other than patients all have one today)
        raise _forbidden("the member belongs to no organisation, so no admin may do this")
    if not _is_admin_of(ctx, target["org"]):
        raise _forbidden(f"only an admin of {target['org']}, the member's own organisation, "
                         "may do this")


@dataclass(frozen=True)
class AdminOfMember(Rule):
    """A1 + A2: an admin of the organisation of the member the argument names; with
    ``or_self``, also the member themself (when the argument is absent or theirs)."""

    member: str
    or_self: bool = False
    cites = "A1, A2"

    def check(self, ctx: Context, args: dict[str, Any]) -> None:
        signer = _signer(ctx)
        named = args.get(self.member)
        if self.or_self and named in (None, signer["id"]):
            return
        _admin_over(ctx, _target(ctx, named))

    def describe(self) -> str:
        who = (f"the member themself (`{self.member}` absent or their own id), or "
               if self.or_self else "")
        return (f"{who}an admin of the organisation of the member named by `{self.member}`; "
                "never an admin over a patient")


@dataclass(frozen=True)
class KeyHolderOrAdmin(Rule):
    """A1 + A2: the member holding the key the argument names, or an admin of that
    member's organisation (never over a patient)."""

    key: str
    cites = "A1, A2"

    def check(self, ctx: Context, args: dict[str, Any]) -> None:
        signer = _signer(ctx)
        holder = ctx.get(key_index(args[self.key]))
        if holder == signer["id"]:
            return
        _admin_over(ctx, _target(ctx, holder))

    def describe(self) -> str:
        return (f"the member holding the key named by `{self.key}`, or an admin of that "
                "member's organisation; never an admin over a patient")


@dataclass(frozen=True)
class Governor(Rule):
    """A3: an admin of a regulator."""

    cites = "A3"

    def check(self, ctx: Context, args: dict[str, Any]) -> None:
        _signer(ctx)
        if not is_governor(ctx):
            raise _forbidden("only an admin of a regulator may change the consortium")

    def describe(self) -> str:
        return "an admin of a regulator"


@dataclass(frozen=True)
class HoldsRole(Rule):
    """A4: a member holding one of ``roles`` now, in an organisation of ``org_types``
    (any type when None)."""

    roles: tuple[str, ...]
    org_types: frozenset[str] | None = None
    cites = "A4"

    def check(self, ctx: Context, args: dict[str, Any]) -> None:
        member = _signer(ctx)
        if not any(has_role(ctx.get, member, r, member["org"], ctx.height) for r in self.roles):
            raise _forbidden(f"only a member with the {' or '.join(self.roles)} role may do this")
        if self.org_types is not None:
            org = ctx.get(org_key(member["org"])) if member["org"] is not None else None
            if org is None or org["type"] not in self.org_types:
                what = "a member of no organisation" if org is None else f"a {org['type']}"
                raise _forbidden(f"{what} may not do this (only: "
                                 f"{', '.join(sorted(self.org_types))})")

    def describe(self) -> str:
        where = "" if self.org_types is None else \
            f" in a {' / '.join(sorted(self.org_types))}"
        return f"a member holding the {' or '.join(self.roles)} role{where}"


@dataclass(frozen=True)
class PatientOrGovernor(Rule):
    """A1 + A3: the patient the argument names, or an admin of a regulator (a
    regulator-approved action on the patient's behalf)."""

    patient: str
    cites = "A1, A3"

    def check(self, ctx: Context, args: dict[str, Any]) -> None:
        if _signer(ctx)["id"] != args[self.patient] and not is_governor(ctx):
            raise _forbidden("only the patient or a regulator's admin may do this")

    def describe(self) -> str:
        return f"the patient named by `{self.patient}`, or an admin of a regulator"


@dataclass(frozen=True)
class GuardianOf(Rule):
    """A1: a guardian in the recovery set chosen by the patient the argument names."""

    patient: str
    cites = "A1"

    def check(self, ctx: Context, args: dict[str, Any]) -> None:
        signer = _signer(ctx)
        target = _target(ctx, args[self.patient])
        recovery = target.get("recovery") or {}
        if signer["id"] not in recovery.get("guardians", []):
            raise _forbidden(f"only a guardian {args[self.patient]} chose may do this")

    def describe(self) -> str:
        return f"a guardian in the recovery set chosen by the patient named by `{self.patient}`"
