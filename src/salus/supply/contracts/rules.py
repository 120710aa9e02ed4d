"""Who may call each method of the supply contract (``docs/security.md`` cites SC1-SC13,
stated in :mod:`salus.supply.contracts.supply`).

Every rule here runs at admission (S7), so a wrong party's call is dropped, identically on
every peer, and never kept. Possession is the one fact these rules read that an earlier
transaction of the same block can change: a call admitted at ingress is judged again in
its block, and dropped there (``FORBIDDEN``) if the pack moved first. A refusal never
names the organisation that does possess or own a pack: that is a trading relationship.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from salus.ledger.authority import HoldsRole, Rule, forbidden, is_governor, signer_org
from salus.ledger.codes import Code, Rejected
from salus.ledger.contract import Context
from salus.ledger.members import GOVERNING_TYPES, has_role, org_key
from salus.ledger.state import TxState
from salus.supply.contracts.layout import (
    DISPENSER_ROLES,
    DISPENSER_TYPES,
    PACK,
    REGULATOR_ROLES,
    SUPPLY_ROLE,
    TRADING_TYPES,
    event_key,
    gtin_prefixes,
    item_state_key,
    lot_id,
    lot_key,
    prefix_key,
)


@dataclass(frozen=True)
class Registrar(Rule):
    """A3 + SC1: an admin of a regulator registers a manufacturer's prefix."""

    cites = "A3, SC1"

    def check(self, ctx: Context, args: dict[str, Any]) -> None:
        if ctx.member is None:
            raise Rejected(Code.UNKNOWN_SIGNER, f"{ctx.signer} is not a member")
        if not is_governor(ctx):
            raise forbidden("SC1", "only an admin of a regulator registers a GS1 company prefix")

    def describe(self) -> str:
        return "an admin of a regulator"


@dataclass(frozen=True)
class TradingParty(HoldsRole):
    """A4 + SC9: a holder of the supply role (``roles``) in a trading organisation; an
    event already recorded is repeated only by the organisation that recorded it (then
    nothing else is checked: the repeat changes nothing). Subclasses add the party the
    call's items demand (:meth:`party`)."""

    roles: tuple[str, ...] = (SUPPLY_ROLE,)
    org_types: frozenset[str] | None = TRADING_TYPES
    cites = "A4, SC9"

    def check(self, ctx: Context, args: dict[str, Any]) -> None:
        super().check(ctx, args)
        self.check_party(ctx, args)

    def check_party(self, ctx: Context, args: dict[str, Any]) -> None:
        """SC9 and :meth:`party`: what :meth:`check` judges after the signer's standing
        (a capture judges each rule's standing once, and this for every step)."""
        org = signer_org(ctx)
        event = args.get("event")
        if event is not None:
            recorded = ctx.get(event_key(event))
            if recorded is not None:
                if recorded["org"] != org:
                    raise forbidden("SC9", f"event {event} was recorded by another organisation")
                return
        self.party(ctx, args, org)

    def party(self, ctx: Context, args: dict[str, Any], org: str) -> None:
        """Raise FORBIDDEN unless ``org`` is the party these items demand."""


@dataclass(frozen=True)
class BrandOwner(TradingParty):
    """SC2: the manufacturer whose registered GS1 company prefix follows the GTIN's
    indicator digit."""

    rule: str = "SC2"  # the rule a refusal cites
    cites = "A4, SC2, SC9"

    def party(self, ctx: Context, args: dict[str, Any], org: str) -> None:
        for prefix in gtin_prefixes(args["gtin"]):
            registered = ctx.get(prefix_key(prefix))
            if registered is not None:
                if registered["org"] != org:
                    raise forbidden(self.rule, f"GTIN {args['gtin']} is not {org}'s: its GS1 "
                                               "company prefix is another manufacturer's")
                return
        raise forbidden(self.rule, f"no registered GS1 company prefix starts GTIN {args['gtin']}")

    def describe(self) -> str:
        return (super().describe() + ", of the manufacturer whose registered GS1 company "
                "prefix starts `gtin`")


@dataclass(frozen=True)
class ProductOwner(BrandOwner):
    """SC13: the brand owner of ``gtin`` (as SC2 finds it) attaches its footprints."""

    rule: str = "SC13"
    cites = "A4, SC13"


@dataclass(frozen=True)
class Possessor(TradingParty):
    """SC3: the current possessor of every existing item the call names."""

    items: Callable[[dict[str, Any]], list[str]] = lambda args: []
    names: str = ""
    cites = "A4, SC3, SC9"

    def party(self, ctx: Context, args: dict[str, Any], org: str) -> None:
        for item in self.items(args):
            found = ctx.get(item_state_key(item))
            if found is not None and found["possessor"] != org:
                raise forbidden("SC3", f"item {item} is not in {org}'s possession")

    def describe(self) -> str:
        return super().describe() + f", of the organisation possessing {self.names}"


@dataclass(frozen=True)
class Destination(TradingParty):
    """SC5: the destination of the shipment of every item the call names."""

    cites = "A4, SC5, SC9"

    def party(self, ctx: Context, args: dict[str, Any], org: str) -> None:
        for item in args["items"]:
            found = ctx.get(item_state_key(item))
            # absent only in a capture's step, judged again once earlier steps have run
            if found is not None and found["shipped_to"] != org:
                raise forbidden("SC5", f"item {item} is not shipped to {org}")

    def describe(self) -> str:
        return super().describe() + ", of the organisation every item in `items` is shipped to"


@dataclass(frozen=True)
class BrandOwnerOrRegulator(Rule):
    """SC7, SC8: a regulator's admin or supply operator, or a supply operator of the brand
    owner of the lot (``owner(ctx, args)``: its organisation, None if there is none)."""

    owner: Callable[[Context, dict[str, Any]], str | None]
    names: str
    rule: str

    @property
    def cites(self) -> str:  # type: ignore[override]
        return f"A4, {self.rule}"

    def check(self, ctx: Context, args: dict[str, Any]) -> None:
        member = ctx.member
        if member is None:
            raise Rejected(Code.UNKNOWN_SIGNER, f"{ctx.signer} is not a member")
        org = ctx.get(org_key(member["org"])) if member["org"] is not None else None
        if org is not None and org["type"] in GOVERNING_TYPES and any(
                has_role(ctx.get, member, role, org["id"], ctx.height) for role in REGULATOR_ROLES):
            return
        if org is None or not has_role(ctx.get, member, SUPPLY_ROLE, org["id"], ctx.height) \
                or org["id"] != self.owner(ctx, args):
            raise forbidden(self.rule, f"only a {SUPPLY_ROLE} of the brand owner of "
                                       f"{self.names}, or a regulator, may do this")

    def describe(self) -> str:
        return (f"a member holding the {SUPPLY_ROLE} role in the brand owner of {self.names}, "
                f"or the {' or '.join(REGULATOR_ROLES)} role in a regulator")


def lot_owner(ctx: Context, args: dict[str, Any]) -> str | None:
    found = ctx.get(lot_key(lot_id(args["gtin"], args["lot"])))
    return None if found is None else found["owner"]


def item_brand_owner(ctx: Context, args: dict[str, Any]) -> str | None:
    """A pack's lot owner; a container has none (only a regulator acts on it)."""
    found = ctx.get(item_state_key(args["item"]))
    if found is None or found["kind"] != PACK:
        return None
    return lot_owner(ctx, found)


@dataclass(frozen=True)
class Dispenser(Possessor):
    """SC6: a pharmacy's or hospital's supply operator or pharmacist, possessing the pack."""

    roles: tuple[str, ...] = DISPENSER_ROLES
    org_types: frozenset[str] | None = DISPENSER_TYPES
    items: Callable[[dict[str, Any]], list[str]] = lambda args: [args["item"]]
    names: str = "`item`"
    cites = "A4, SC3, SC6, SC9"


@dataclass(frozen=True)
class Repackager(TradingParty):
    """SC10: the possessor of every input, who is also the brand owner of the outputs'
    GTIN (a repackager commissions under its own registered prefix)."""

    cites = "A4, SC2, SC3, SC10, SC9"

    def party(self, ctx: Context, args: dict[str, Any], org: str) -> None:
        Possessor(items=lambda a: a["inputs"]).party(ctx, args, org)
        BrandOwner().party(ctx, args, org)

    def describe(self) -> str:
        return (super().describe() + ", of the organisation possessing every item in "
                "`inputs` and owning the GS1 company prefix that starts `gtin`")


@dataclass(frozen=True)
class Capturer(TradingParty):
    """SC11: a trading party's supply operator, and, for every step of the call, whoever
    that step's own method admits after the steps before it. In a block the steps run
    (``simulate``) in the transaction's own state while it is admitted: a capture with a
    step its signer may not take, or naming an item that does not exist, is dropped and
    never kept, like any call; a step refused on its own merits (``CONFLICT``, ...) is
    the body's to refuse, kept with its code; and the body returns what the steps did
    (``Context.prepared``) rather than run them again."""

    simulate: Callable[[Context, list[dict[str, Any]]], Any] = lambda ctx, steps: None
    cites = "A4, SC11"

    def check(self, ctx: Context, args: dict[str, Any]) -> None:
        HoldsRole.check(self, ctx, args)
        if isinstance(ctx.state, TxState):
            # in a block: the steps run once, in the transaction's own state; the body
            # returns their outcome (or, refused on their merits, keeps the refusal)
            try:
                ctx.prepared = (True, self.simulate(ctx, args["steps"]))
            except Rejected as exc:
                if exc.code in ADMISSION_CODES:
                    raise
                ctx.prepared = (False, exc)
            return
        # At ingress (committed state, read-only) only the signer's standing is judged:
        # the block runs the steps and drops the capture there if a step is not the
        # signer's to take, so it is never kept either way, and running them here too
        # would double the work of every capture (docs/benchmarks.md).

    def describe(self) -> str:
        return super().describe() + "; each step is judged by its own method's rule"


#: Refusals of a capture's step that are admission's (S5-S7): dropped at ingress.
ADMISSION_CODES = frozenset({Code.FORBIDDEN, Code.UNKNOWN_SIGNER, Code.KEY_NOT_ACTIVE,
                             Code.NOT_FOUND, Code.BAD_ARGUMENTS})
