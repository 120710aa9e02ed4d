"""Who may call each method of the rewards contract (``docs/security.md`` cites RW1-RW10,
stated in :mod:`salus.rewards.contracts.rewards`).

Every rule runs at admission (S7): a wrong party's call is dropped, identically on every
peer, and never kept. A sponsor (a hospital or an insurer) acts only on its own
programmes: its admin or rewards officer publishes them and reverses its awards, its
service key awards. A patient enrols, leaves and redeems only for herself (there is no
argument naming another patient). The patient or her sponsor makes due points expire.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from salus.ledger.authority import HoldsRole, Patient, Rule, forbidden, signer_org
from salus.ledger.codes import Rejected
from salus.ledger.contract import Context
from salus.records.contracts.layout import consent_key, record_key
from salus.records.policy import covers, grant_in_force, grantee_matches
from salus.rewards.contracts.layout import (
    ANY_CUSTODIAN,
    OFFICER_ROLES,
    SERVICE_ROLE,
    SPONSOR_TYPES,
    award_key,
    programme_key,
)


def programme_sponsor(ctx: Context, args: dict[str, Any]) -> str | None:
    """The sponsor of the programme ``programme`` names (None: no such programme yet)."""
    found = ctx.get(programme_key(args["programme"]))
    return None if found is None else found["sponsor"]


def award_sponsor(ctx: Context, args: dict[str, Any]) -> str | None:
    found = ctx.get(award_key(args["award"]))
    return None if found is None else found["sponsor"]


@dataclass(frozen=True)
class SponsorStaff(HoldsRole):
    """A4 + ``rule``: a holder of one of ``roles`` in a hospital or insurer, acting for its
    own organisation: the sponsor of what the call names (``sponsor(ctx, args)``; None when
    it names nothing that has one yet, as a new programme)."""

    roles: tuple[str, ...] = OFFICER_ROLES
    org_types: frozenset[str] | None = SPONSOR_TYPES
    sponsor: Callable[[Context, dict[str, Any]], str | None] = programme_sponsor
    names: str = "`programme`"
    rule: str = "RW1"

    @property
    def cites(self) -> str:  # type: ignore[override]
        return f"A4, {self.rule}"

    def check(self, ctx: Context, args: dict[str, Any]) -> None:
        super().check(ctx, args)
        sponsor = self.sponsor(ctx, args)
        if sponsor is not None and sponsor != signer_org(ctx):
            raise forbidden(self.rule, f"{self.names} is not {signer_org(ctx)}'s")

    def describe(self) -> str:
        return super().describe() + f", of the sponsor of {self.names}"


def may_read(ctx: Context, record: dict[str, Any]) -> bool:
    """Does a consent grant of the record's patient, in force now, cover the record and
    name the signer (so the sponsor's service may read whether the event happened)?"""
    consent = ctx.get(consent_key(record["patient"])) or {"grants": {}}
    assert ctx.member is not None
    return any(grant_in_force(g, ctx.time) and covers(g, record)
               and grantee_matches(ctx.get, g["grantee"], ctx.member, ctx.height)
               for g in consent["grants"].values())


@dataclass(frozen=True)
class Awarder(SponsorStaff):
    """A4 + RW5: the service key of the programme's sponsor, rewarding a record the
    sponsor holds as custodian or, when the programme rewards every custodian's records,
    one the patient's consent in force lets the signer read."""

    roles: tuple[str, ...] = (SERVICE_ROLE,)
    rule: str = "RW5"

    def check(self, ctx: Context, args: dict[str, Any]) -> None:
        super().check(ctx, args)
        sponsor = signer_org(ctx)
        terms = ctx.get(programme_key(args["programme"]))
        record = ctx.get(record_key(args["record"]))
        if terms is None or record is None or record["custodian"] == sponsor:
            return  # (the schema's reference checks refuse what does not exist)
        if terms["custodians"] != ANY_CUSTODIAN:
            raise forbidden("RW5", f"record {args['record']} is held by {record['custodian']}; "
                                   "the programme rewards only its sponsor's records")
        if not may_read(ctx, record):
            raise forbidden("RW5", f"record {args['record']} is held by {record['custodian']}, "
                                   "and no consent of its patient in force lets you read it")

    def describe(self) -> str:
        return (super().describe() + "; for a record the sponsor holds, or (a programme of "
                "every custodian's records) one the patient's consent lets the signer read")


#: RW5: awards are signed by the sponsor's service key only.
AWARDER = Awarder()
#: RW9: reversals by the sponsor's officers or its service.
REVERSER = SponsorStaff(roles=(*OFFICER_ROLES, SERVICE_ROLE), sponsor=award_sponsor,
                        names="`award`", rule="RW9")


@dataclass(frozen=True)
class PatientHerself(Patient):
    """A1 + ``rule``: a patient, on her own enrolment and points (no argument names
    another patient, so there is no one else's to act on)."""

    rule: str = "RW4"

    @property
    def cites(self) -> str:  # type: ignore[override]
        return f"A1, {self.rule}"

    def describe(self) -> str:
        return "the patient herself, on her own enrolment and points"


@dataclass(frozen=True)
class PatientOrSponsor(Rule):
    """A1 + A4 + RW9: the patient ``patient`` names, or an officer or the service of the
    programme's sponsor. Nobody else: an account's existence and its size are the
    patient's and her sponsor's business (any member could otherwise learn who holds
    points where, and so who is a patient where)."""

    cites = "A1, A4, RW9"
    staff: SponsorStaff = SponsorStaff(roles=(*OFFICER_ROLES, SERVICE_ROLE), rule="RW9")

    def check(self, ctx: Context, args: dict[str, Any]) -> None:
        if ctx.member is not None and ctx.member["id"] == args["patient"]:
            return
        try:
            self.staff.check(ctx, args)
        except Rejected:
            raise forbidden("RW9", "only the patient, or an officer or the service of the "
                                   "programme's sponsor, may make her points expire") from None
        if programme_sponsor(ctx, args) is None:
            raise forbidden("RW9", f"no programme {args['programme']}")

    def describe(self) -> str:
        return ("the patient named by `patient`, or a rewards officer, admin or the rewards "
                "service of the programme's sponsor")
