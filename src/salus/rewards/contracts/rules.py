"""Who may call each method of the rewards contract (``docs/security.md`` cites RW1-RW10,
stated in :mod:`salus.rewards.contracts.rewards`).

Every rule runs at admission (S7): a wrong party's call is dropped, identically on every
peer, and never kept. A sponsor (a hospital or an insurer) acts only on its own
programmes: its admin or rewards officer publishes them and reverses its awards, its
service key awards. A patient enrols, leaves and redeems only for herself (there is no
argument naming another patient). Anyone may make due points expire.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from salus.ledger.authority import HoldsRole, forbidden, signer_org
from salus.ledger.contract import Context
from salus.rewards.contracts.layout import (
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


#: RW5: awards are signed by the sponsor's service key only.
AWARDER = SponsorStaff(roles=(SERVICE_ROLE,), rule="RW5")
#: RW9: reversals by the sponsor's officers or its service.
REVERSER = SponsorStaff(roles=(*OFFICER_ROLES, SERVICE_ROLE), sponsor=award_sponsor,
                        names="`award`", rule="RW9")
