"""Who may call each method of the claims contract (``docs/security.md`` cites CL1-CL15,
stated in :mod:`salus.claims.contracts.claims`).

Every rule here runs at admission (S7): a wrong party's call is dropped, identically on
every peer, and never kept. The parties are organisations: a payer (an insurer) acts on the
requests, coverage and rules that are its own; a provider (a hospital, lab or pharmacy) on
the requests it submitted, citing only records it holds as custodian; a patient on the
claims made under her coverage. A refusal never names another party's data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from salus.claims.contracts.layout import (
    APPEALED,
    MEDICAL_REVIEWER,
    PAYER_TYPES,
    POLICY_ROLES,
    PROVIDER_ROLES,
    PROVIDER_TYPES,
    REVIEW_ROLES,
    coverage_key,
    request_key,
)
from salus.claims.rules import HUMAN_REASONS
from salus.ledger.authority import HoldsRole, Rule, forbidden, signer_org
from salus.ledger.codes import Code, Rejected
from salus.ledger.contract import Context
from salus.ledger.members import PATIENT_KIND, has_role
from salus.records.contracts.layout import record_key


def request_party(field: str, arg: str = "request") -> Callable[[Context, dict[str, Any]], Any]:
    """The ``field`` (``payer``, ``provider``) of the request argument ``arg`` names."""
    def party(ctx: Context, args: dict[str, Any]) -> Any:
        found = ctx.get(request_key(args[arg]))
        return None if found is None else found[field]
    return party


#: The payer of the request ``request`` names.
request_payer = request_party("payer")


def coverage_payer(ctx: Context, args: dict[str, Any]) -> str | None:
    found = ctx.get(coverage_key(args["coverage"]))
    return None if found is None else found["payer"]


@dataclass(frozen=True)
class PayerStaff(HoldsRole):
    """A4 + ``rule``: a holder of one of ``roles`` in an insurer, acting for its own
    organisation: the payer the call concerns (``payer(ctx, args)``; None when the call
    names nothing that has one yet)."""

    roles: tuple[str, ...] = POLICY_ROLES
    org_types: frozenset[str] | None = PAYER_TYPES
    payer: Callable[[Context, dict[str, Any]], str | None] = lambda ctx, args: None
    names: str = ""
    rule: str = "CL1"

    @property
    def cites(self) -> str:  # type: ignore[override]
        return f"A4, {self.rule}"

    def check(self, ctx: Context, args: dict[str, Any]) -> None:
        super().check(ctx, args)
        payer = self.payer(ctx, args)
        if payer is not None and payer != signer_org(ctx):
            raise forbidden(self.rule, f"{self.names} is not {signer_org(ctx)}'s")

    def describe(self) -> str:
        return super().describe() + (f", of the payer of {self.names}" if self.names else "")


@dataclass(frozen=True)
class Decider(PayerStaff):
    """CL6, CL8, CL11: a claims officer or medical reviewer of the request's payer; a
    medical-necessity denial only by a medical reviewer, flagged as a human review; an
    appeal only by a reviewer who made no earlier decision on the request."""

    roles: tuple[str, ...] = REVIEW_ROLES
    payer: Callable[[Context, dict[str, Any]], str | None] = request_payer
    names: str = "`request`"
    rule: str = "CL6"

    @property
    def cites(self) -> str:  # type: ignore[override]
        return "A4, CL6, CL8, CL11"

    def check(self, ctx: Context, args: dict[str, Any]) -> None:
        super().check(ctx, args)
        assert ctx.member is not None
        if any(item["reason"] in HUMAN_REASONS for item in args["items"]) and not (
                args["human_review"] and has_role(ctx.get, ctx.member, MEDICAL_REVIEWER,
                                                  signer_org(ctx), ctx.height)):
            raise forbidden("CL8", "a medical-necessity denial is made by a medical "
                                   "reviewer, as a human review")
        found = ctx.get(request_key(args["request"]))
        if found is not None and found["status"] == APPEALED and any(
                d["reviewer"] == ctx.member["id"] for d in found["decisions"]):
            raise forbidden("CL11", "an appeal is decided by a reviewer who made no earlier "
                                    "decision on the request")

    def describe(self) -> str:
        return (super().describe() + f"; a medical-necessity denial only by a {MEDICAL_REVIEWER}; "
                "an appeal only by one who made no earlier decision on it")


@dataclass(frozen=True)
class Provider(HoldsRole):
    """A4 + CL3, CL4, CL14: a registrar or clinician of a provider organisation; the
    request the call names (``request``), if any, is one its organisation submitted; every
    record it cites (``evidence``) is one its organisation holds as custodian."""

    roles: tuple[str, ...] = PROVIDER_ROLES
    org_types: frozenset[str] | None = PROVIDER_TYPES
    request: str | None = None
    evidence: bool = True  # whether the method takes records to cite
    cites = "A4, CL3, CL4, CL14"

    def check(self, ctx: Context, args: dict[str, Any]) -> None:
        super().check(ctx, args)
        org = signer_org(ctx)
        if self.request is not None:
            found = ctx.get(request_key(args[self.request]))
            if found is not None and found["provider"] != org:
                raise forbidden("CL14", f"`{self.request}` was submitted by another provider")
        for record in args.get("evidence") or []:
            found = ctx.get(record_key(record))
            if found is not None and found["custodian"] != org:
                raise forbidden("CL4", f"record {record} is not held by {org}")

    def describe(self) -> str:
        which = (f", of the provider that submitted `{self.request}`" if self.request else "")
        cited = ", citing only records it holds as custodian" if self.evidence else ""
        return super().describe() + which + cited


def _is_patient_of(ctx: Context, request: dict[str, Any] | None) -> bool:
    member = ctx.member
    return (member is not None and member["kind"] == PATIENT_KIND and request is not None
            and request["patient"] == member["id"])


@dataclass(frozen=True)
class PatientOf(Rule):
    """A1 + CL13: the patient the request's coverage names."""

    request: str = "request"
    cites = "A1, CL13"

    def check(self, ctx: Context, args: dict[str, Any]) -> None:
        if ctx.member is None:
            raise Rejected(Code.UNKNOWN_SIGNER, f"{ctx.signer} is not a member")
        if not _is_patient_of(ctx, ctx.get(request_key(args[self.request]))):
            raise forbidden("CL13", "only the patient the request's coverage names may do this")

    def describe(self) -> str:
        return f"the patient whose coverage `{self.request}` was made under"


@dataclass(frozen=True)
class ProviderOrPatient(Rule):
    """A1, A4 + CL11: a registrar or clinician of the provider that submitted the request,
    or the patient its coverage names."""

    cites = "A1, A4, CL11"

    def check(self, ctx: Context, args: dict[str, Any]) -> None:
        if ctx.member is None:
            raise Rejected(Code.UNKNOWN_SIGNER, f"{ctx.signer} is not a member")
        found = ctx.get(request_key(args["request"]))
        if _is_patient_of(ctx, found):
            return
        member = ctx.member
        if found is None or member["org"] != found["provider"] or not any(
                has_role(ctx.get, member, role, member["org"], ctx.height)
                for role in PROVIDER_ROLES):
            raise forbidden("CL11", "only the provider that submitted the request (its "
                                    f"{' or '.join(PROVIDER_ROLES)}) or its patient may appeal")

    def describe(self) -> str:
        return (f"a member holding the {' or '.join(PROVIDER_ROLES)} role in the provider that "
                "submitted `request`, or the patient whose coverage it was made under")
