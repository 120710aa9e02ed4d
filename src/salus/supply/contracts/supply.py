"""The supply contract: the rules every serialised pack obeys, on the ledger (issue 16).

It holds what docs/supply.md decides (item keys, never serials; statuses, lots, recalls,
event hashes, investigations) and nothing of the EPCIS documents themselves, which stay
in each organisation's repository. Each method names its EPCIS event by the CBV 2.0
canonical hash (``ni:///sha-256;…?ver=CBV2.0``).

The rules, numbered as ``docs/security.md`` cites them; each check below cites its rule
(authority checks in :mod:`salus.supply.contracts.rules`, at admission):

* **SC1 Prefixes.** A GS1 company prefix (4-12 digits) is registered by a regulator's
  admin, to a manufacturer, once; no registered prefix is the start of another.
* **SC2 Commissioning.** Only a supply operator of the manufacturer whose registered
  prefix follows a GTIN-14's indicator digit commissions that GTIN; each item key once;
  the packs start owned and possessed by that manufacturer. A lot has one brand owner
  and one expiry, and is never commissioned into once recalled or expired.
* **SC3 Possession.** Only a supply operator of an item's current possessor packs or
  unpacks it, ships it, decommissions or destroys it, or reports it; a pack in transit is
  still its shipper's, who cannot move it again until it is received.
* **SC4 Aggregation.** An item is inside one container at a time (a pack contains
  nothing), never inside itself; a new container is created by packing it; only an
  active container is packed or unpacked, only with active items; an item leaves only
  the container it is in. An item inside a container moves only with it: shipping,
  receiving, decommissioning, destroying, dispensing and reporting name top-level items,
  and act on everything inside them, which always shares the container's status and
  possessor.
* **SC5 Shipments.** Active items are shipped to another active trading organisation
  and become ``in_transit``; only that destination receives them. Receipt moves
  possession, and ownership too when the shipment names a sale: the TransactionEvent
  (DSCSA transaction information and statement) by its hash, which the shipper records
  (a hash used by another organisation or for another event is refused). Only the owner
  of every item shipped, and of everything inside it, sells: a possessor that does not
  own (a 3PL, a consignee) ships without a sale. The TI and TS
  stay in the shipper's repository; the ledger proves which ones were attested.
* **SC6 Dispensing.** A pack is dispensed once, by a pharmacy or hospital (a supply
  operator or pharmacist) possessing it, never inside a container, and never when its
  lot is recalled, it is expired (expiry before the block's UTC date), or its status is
  anything but active (destroyed, stolen, suspect, illegitimate, ...).
* **SC7 Recalls.** A lot is recalled, once, by a supply operator of its brand owner or
  by a regulator (admin or supply operator); one event per lot, with the lot id, and a
  public notice (``supply/recall/``) in the order recalls are made.
* **SC8 Suspect product.** The possessor reports an active item suspect (quarantined,
  an investigation due 24 hours later in block time) or an active or in-transit item
  stolen. Only the brand owner or a regulator closes an investigation: ``cleared`` (active
  again) or ``illegitimate`` (with the FDA Form 3911 facts, as codes); a close after the
  deadline is marked late. Destroying is the one thing done to an illegitimate item.
* **SC9 Events.** Every event hash is recorded once, with the recording organisation,
  method and arguments. The same call again by that organisation is idempotent: no
  effect, the same outcome. The hash with another method or other arguments is refused
  (``CONFLICT``); by another organisation, refused at admission. An event with no
  effect on any item (an observation, an association, a TransactionEvent that sells
  nothing shipped in the same capture) is recorded by ``observe``. Only the organisation
  that recorded an event declares it in error (EPCIS 2.0 §7.4.1.4): the record is marked,
  never removed, and what the event did stands until corrective events undo it.
* **SC10 Repackaging.** A TransformationEvent's inputs are decommissioned and its
  outputs commissioned in one step, by an organisation possessing every input and
  owning the GS1 company prefix of the outputs' GTIN (SC2, SC3 together), and owning
  every input (the outputs are its own, so a consignee cannot make another's packs its
  own this way). No input pack is recalled (its lot) or expired, and the outputs expire
  no later than any input pack: repackaging never turns a recalled or expired drug into
  a fresh, dispensable lot.
* **SC11 Capture.** ``capture`` runs the steps of one EPCIS document (at most
  ``MAX_STEPS``) in order, all or nothing: each step is admitted by its own method's
  rule and references, on its turn, with the steps before it applied, while the block
  admits the capture (so a step its signer may not take drops the whole capture, never
  kept), and a step refused on its merits refuses the whole call; both name the step.
  The items all steps visit count against one ``MAX_TOUCHED``.
* **SC12 Parties.** A regulator's admin registers a trading organisation's party GLN
  (check digit verified), once; a GLN names one organisation.
* **SC13 Footprints.** Only a supply operator of a GTIN's brand owner (as SC2 finds it)
  attaches a PACT v3 product footprint to that product, or to one of its lots, which must
  exist: the footprint's hash and key figures as integers (micrograms CO2e per declared
  unit, thousandths of the declared unit), never the document. A later footprint replaces
  the one before and names its hash; the same footprint again changes nothing; the same
  hash with other figures is refused.
"""

from __future__ import annotations

import hashlib
import inspect
import typing
from typing import Annotated, Any, Literal, NotRequired

from pydantic import Field
from typing_extensions import TypedDict

from salus.canonical import state_bytes
from salus.ledger.authority import HoldsRole
from salus.ledger.codes import Code, Rejected
from salus.ledger.contract import Context, Contract, Method, bind, method
from salus.ledger.members import OrgRef, org_active_at, org_key
from salus.ledger.schema import (
    MAX_JSON_INT,
    STRICT,
    Date,
    Sha256Hex,
    array,
    integer,
    one_of,
)
from salus.supply.contracts.layout import (
    ACTIVE,
    BRAND_OWNER_TYPE,
    CONTAINER,
    DECOMMISSIONED,
    DESTROYED,
    DISPENSED,
    FORM_3911,
    ILLEGITIMATE,
    IN_TRANSIT,
    INVESTIGATION_MS,
    MAX_CHILDREN,
    MAX_ITEMS,
    MAX_STEPS,
    MAX_TOUCHED,
    PACK,
    PREFIX_DIGITS,
    STOLEN,
    SUSPECT,
    TRADING_TYPES,
    AggregateAction,
    CompanyPrefix,
    DeclaredUnit,
    ErrorReason,
    EventHash,
    Expiry,
    Finding,
    Gln,
    Gtin,
    ItemKey,
    ItemRef,
    Lot,
    RecallReason,
    ReportStatus,
    block_date,
    event_key,
    footprint_key,
    investigation_key,
    item_state_key,
    lot_id,
    lot_key,
    party_key,
    prefix_cover_key,
    prefix_key,
    recall_key,
)
from salus.supply.contracts.rules import (
    BrandOwner,
    BrandOwnerOrRegulator,
    Capturer,
    Destination,
    Dispenser,
    Possessor,
    ProductOwner,
    Registrar,
    Repackager,
    TradingParty,
    item_brand_owner,
    lot_owner,
    signer_org,
)

NewItems = array(ItemKey, 1, MAX_ITEMS, "item keys of the packs commissioned, each new")
Items = array(ItemRef, 1, MAX_ITEMS, "item keys, each once")
#: A capture step's item arguments: keys, not references (see ``_step_type``).
_UNCHECKED = ((ItemRef, ItemKey), (Items, array(ItemKey, 1, MAX_ITEMS, "item keys, each once")))


def _one_of(table: tuple[tuple[Any, Any], ...], hint: Any, default: Any) -> Any:
    """What ``table`` pairs with this very type object (identity: the aliases are equal
    to others by value), or ``default``."""
    return next((value for key, value in table if key is hint), default)


class Form3911(TypedDict):
    """The coded facts of an FDA Form 3911 notification (its description stays off)."""

    __pydantic_config__ = STRICT  # type: ignore[misc]
    notification: one_of(FORM_3911["notification"], "Form 3911: type of notification")
    classification: one_of(FORM_3911["classification"], "Form 3911: classification")
    product_type: one_of(FORM_3911["product_type"], "Form 3911: product type")
    dosage_form: one_of(FORM_3911["dosage_form"], "Form 3911: dosage form")
    reporter: one_of(FORM_3911["reporter"], "Form 3911: who is reporting")
    determined: Date
    quantity: integer(1, 10_000_000, "Form 3911: quantity of illegitimate product (units)")


class Footprint(TypedDict):
    """What the ledger keeps of a PACT v3 ProductFootprint: its hash and key figures, as
    :func:`salus.supply.footprint.key_figures` computes them (exact integers, no floats)."""

    __pydantic_config__ = STRICT  # type: ignore[misc]
    footprint_hash: Sha256Hex
    declared_unit: DeclaredUnit
    declared_amount_milli: integer(1, MAX_JSON_INT, "declaredUnitAmount, in thousandths")
    pcf_excluding_biogenic_ug: integer(-MAX_JSON_INT, MAX_JSON_INT,
                                       "pcfExcludingBiogenicUptake, µg CO2e per declared unit")
    pcf_including_biogenic_ug: integer(-MAX_JSON_INT, MAX_JSON_INT,
                                       "pcfIncludingBiogenicUptake, µg CO2e per declared unit")
    fossil_ghg_ug: integer(0, MAX_JSON_INT, "fossilGhgEmissions, µg CO2e per declared unit")


def _conflict(rule: str, reason: str) -> Rejected:
    return Rejected(Code.CONFLICT, f"{rule}: {reason}")


def _once(items: list[str]) -> None:
    if len(set(items)) != len(items):
        raise Rejected(Code.BAD_ARGUMENTS, "name each item once")


# -- SC9: events ----------------------------------------------------------------------------
def _digest(args: dict[str, Any]) -> str:
    return hashlib.sha256(state_bytes(args)).hexdigest()


def _outcome(event: str, recorded: dict[str, Any]) -> dict[str, Any]:
    return {"event": event, "action": recorded["action"], "height": recorded["height"]}


def _repeat(ctx: Context, event: str, action: str, args: dict[str, Any]) -> dict[str, Any] | None:
    """SC9: the outcome of an event already recorded (its organisation's rule admitted
    the signer), or None for a new event."""
    recorded = ctx.get(event_key(event))
    if recorded is None:
        return None
    if recorded["action"] != action:
        raise _conflict("SC9", f"event {event} was recorded as {recorded['action']}, not {action}")
    if recorded["args"] != _digest(args):
        raise _conflict("SC9", f"event {event} was recorded with other arguments")
    return _outcome(event, recorded)


def _record(ctx: Context, event: str, action: str, args: dict[str, Any] | None) -> dict[str, Any]:
    recorded = {"org": signer_org(ctx), "action": action, "height": ctx.height,
                "args": None if args is None else _digest(args)}
    ctx.put(event_key(event), recorded)
    return _outcome(event, recorded)


# -- items ----------------------------------------------------------------------------------
def _item(ctx: Context, item: str) -> dict[str, Any]:
    return ctx.get(item_state_key(item))  # an ItemRef: admission found it


def _new_item(kind: str, org: str, event: str, gtin: str | None = None, lot: str | None = None,
              expiry: int | None = None) -> dict[str, Any]:
    return {"kind": kind, "gtin": gtin, "lot": lot, "expiry": expiry, "owner": org,
            "possessor": org, "status": ACTIVE, "parent": None,
            "children": [] if kind == CONTAINER else None, "shipped_to": None, "sale": None,
            "parties": [org], "event": event}


def _trees(ctx: Context, items: list[str], allowed: frozenset[str], rule: str
           ) -> list[tuple[str, dict[str, Any]]]:
    """SC4: top-level ``items`` whose status is ``allowed``, with everything inside them."""
    _once(items)
    out: list[tuple[str, dict[str, Any]]] = []
    for item in items:
        doc = _item(ctx, item)
        if doc["parent"] is not None:
            raise _conflict("SC4", f"item {item} is inside a container: unpack it, or name "
                                   "the container")
        if doc["status"] not in allowed:
            raise _conflict(rule, f"item {item} is {doc['status']}")
        stack = [(item, doc)]
        while stack:
            key, node = stack.pop()
            out.append((key, node))
            ctx.touched += 1
            if ctx.touched > MAX_TOUCHED:
                raise _conflict("SC4", f"more than {MAX_TOUCHED} items in one transaction")
            stack += [(child, _item(ctx, child)) for child in node["children"] or []]
    return out


def _set(ctx: Context, nodes: list[tuple[str, dict[str, Any]]], event: str, **changes: Any) -> None:
    for key, doc in nodes:
        doc.update(changes, event=event)
        ctx.put(item_state_key(key), doc)


def _expired(ctx: Context, doc: dict[str, Any]) -> bool:
    return doc["expiry"] < block_date(ctx.time)


def _commission(ctx: Context, event: str, gtin: str, lot: str, expiry: int,
                items: list[str]) -> None:
    """SC2: new packs of one lot, owned and possessed by the signer's organisation."""
    _once(items)
    org = signer_org(ctx)
    if expiry < block_date(ctx.time):
        raise _conflict("SC2", f"expiry {expiry} has passed")
    lid = lot_id(gtin, lot)
    found = ctx.get(lot_key(lid))
    if found is None:
        ctx.put(lot_key(lid), {"gtin": gtin, "lot": lot, "expiry": expiry, "owner": org,
                               "recall": None})
    elif found["expiry"] != expiry:  # SC2: one expiry per lot
        raise _conflict("SC2", f"lot {lot} expires on {found['expiry']}, not {expiry}")
    elif found["recall"] is not None:
        raise _conflict("SC2", f"lot {lot} is recalled")
    for item in items:
        if ctx.get(item_state_key(item)) is not None:  # SC2: once
            raise _conflict("SC2", f"item {item} is already commissioned")
        ctx.put(item_state_key(item), _new_item(PACK, org, event, gtin, lot, expiry))
    ctx.emit("supply_commissioned", event=event, org=org, lot=lid)


class SupplyContract(Contract):
    name = "supply"

    @method(who=Registrar())
    def register_prefix(self, ctx: Context, prefix: CompanyPrefix, org: OrgRef) -> dict[str, Any]:
        """A regulator registers a manufacturer's GS1 company prefix."""
        if ctx.get(org_key(org))["type"] != BRAND_OWNER_TYPE:  # SC1
            raise Rejected(Code.BAD_ARGUMENTS, f"SC1: {org} is not a {BRAND_OWNER_TYPE}")
        if not org_active_at(ctx.get, org, ctx.height):
            raise _conflict("SC1", f"{org} was removed from the consortium")
        shorter = [prefix[:n] for n in range(PREFIX_DIGITS[0], len(prefix))]
        if ctx.get(prefix_key(prefix)) is not None or ctx.get(prefix_cover_key(prefix)) \
                or any(ctx.get(prefix_key(p)) is not None for p in shorter):  # SC1
            raise _conflict("SC1", f"prefix {prefix} overlaps a registered GS1 company prefix")
        ctx.put(prefix_key(prefix), {"prefix": prefix, "org": org, "height": ctx.height})
        for p in shorter:
            ctx.put(prefix_cover_key(p), True)
        ctx.emit("supply_prefix_registered", prefix=prefix, org=org)
        return {"prefix": prefix, "org": org}

    @method(who=BrandOwner())
    def commission(self, ctx: Context, event: EventHash, gtin: Gtin, lot: Lot, expiry: Expiry,
                   items: NewItems) -> dict[str, Any]:
        """The brand owner commissions packs of one lot (EPCIS ObjectEvent ADD,
        bizStep commissioning, ILMD lot and expiry)."""
        args = {"gtin": gtin, "lot": lot, "expiry": expiry, "items": items}
        if (done := _repeat(ctx, event, "commission", args)) is not None:
            return done
        _commission(ctx, event, gtin, lot, expiry, items)
        return _record(ctx, event, "commission", args)

    @method(who=Possessor(items=lambda a: [a["parent"], *a["children"]],
                          names="`parent` (if it exists) and every item in `children`"))
    def aggregate(self, ctx: Context, event: EventHash, parent: ItemKey, children: Items,
                  action: AggregateAction) -> dict[str, Any]:
        """Pack items into a container (ADD, creating it if new) or unpack them (DELETE):
        EPCIS AggregationEvent."""
        args = {"parent": parent, "children": children, "action": action}
        if (done := _repeat(ctx, event, "aggregate", args)) is not None:
            return done
        _once(children)
        if parent in children:
            raise Rejected(Code.BAD_ARGUMENTS, "SC4: an item is never inside itself")
        org = signer_org(ctx)
        box = ctx.get(item_state_key(parent))
        if box is None:
            if action == "DELETE":
                raise Rejected(Code.NOT_FOUND, f"no item {parent}")
            box = _new_item(CONTAINER, org, event)
        elif box["kind"] != CONTAINER:
            raise _conflict("SC4", f"item {parent} is a pack: it contains nothing")
        elif box["status"] != ACTIVE:
            raise _conflict("SC4", f"container {parent} is {box['status']}")
        if action == "ADD":
            above, up = {parent}, box["parent"]
            while up is not None:  # SC4: the container's own ancestors
                above.add(up)
                up = _item(ctx, up)["parent"]
            if len(box["children"]) + len(children) > MAX_CHILDREN:
                raise _conflict("SC4", f"at most {MAX_CHILDREN} items in one container")
            for child in children:
                doc = _item(ctx, child)
                if doc["parent"] is not None:
                    raise _conflict("SC4", f"item {child} is already inside a container")
                if doc["status"] != ACTIVE:
                    raise _conflict("SC4", f"item {child} is {doc['status']}")
                if child in above:
                    raise _conflict("SC4", f"item {child} holds {parent}")
                doc.update(parent=parent)
                ctx.put(item_state_key(child), doc)
            box["children"] = box["children"] + children
        else:
            for child in children:
                doc = _item(ctx, child)
                if doc["parent"] != parent:
                    raise _conflict("SC4", f"item {child} is not inside {parent}")
                doc.update(parent=None)
                ctx.put(item_state_key(child), doc)
            leaving = set(children)
            box["children"] = [c for c in box["children"] if c not in leaving]
        box["event"] = event
        ctx.put(item_state_key(parent), box)
        ctx.emit("supply_aggregated", event=event, org=org, parent=parent, action=action)
        return _record(ctx, event, "aggregate", args)

    @method(who=Possessor(items=lambda a: a["items"], names="every item in `items`"))
    def ship(self, ctx: Context, event: EventHash, items: Items, to: OrgRef,
             sale: EventHash | None = None) -> dict[str, Any]:
        """Ship items (and what is inside them) to a trading partner: EPCIS ObjectEvent
        OBSERVE, bizStep shipping. ``sale``: the hash of the TransactionEvent carrying the
        DSCSA transaction information and statement when the shipment sells."""
        args = {"items": items, "to": to, "sale": sale}
        if (done := _repeat(ctx, event, "ship", args)) is not None:
            return done
        org = signer_org(ctx)
        if to == org:
            raise Rejected(Code.BAD_ARGUMENTS, "SC5: a shipment goes to another organisation")
        if ctx.get(org_key(to))["type"] not in TRADING_TYPES \
                or not org_active_at(ctx.get, to, ctx.height):
            raise _conflict("SC5", f"{to} is not an active trading partner "
                                   f"({', '.join(sorted(TRADING_TYPES))})")
        if sale is not None:
            if sale == event:
                raise Rejected(Code.BAD_ARGUMENTS, "SC5: the sale is its own TransactionEvent")
            recorded = ctx.get(event_key(sale))
            if recorded is None:
                _record(ctx, sale, "sale", None)
            elif recorded["org"] != org or recorded["action"] != "sale":  # SC5
                raise _conflict("SC5", f"event {sale} is not a sale {org} recorded")
        nodes = _trees(ctx, items, frozenset({ACTIVE}), "SC5")
        if sale is not None:  # SC5: receipt moves ownership, so only the owner sells
            for key, doc in nodes:
                if doc["owner"] != org:
                    raise _conflict("SC5", f"item {key} is not {org}'s own: only its owner "
                                           "sells it (ship it without a sale)")
        _set(ctx, nodes, event, status=IN_TRANSIT, shipped_to=to, sale=sale)
        ctx.emit("supply_shipped", event=event, org=org, to=to, items=items,
                 sale=sale is not None)
        return _record(ctx, event, "ship", args)

    @method(who=Destination())
    def receive(self, ctx: Context, event: EventHash, items: Items) -> dict[str, Any]:
        """The destination receives shipped items: EPCIS ObjectEvent OBSERVE, bizStep
        receiving. Possession moves; ownership too if the shipment named a sale."""
        args = {"items": items}
        if (done := _repeat(ctx, event, "receive", args)) is not None:
            return done
        org = signer_org(ctx)
        for key, doc in _trees(ctx, items, frozenset({IN_TRANSIT}), "SC5"):
            if doc["sale"] is not None:  # SC5: a sale moves ownership
                doc["owner"] = org
            if org not in doc["parties"]:
                doc["parties"] = [*doc["parties"], org]
            _set(ctx, [(key, doc)], event, possessor=org, status=ACTIVE, shipped_to=None,
                 sale=None)
        ctx.emit("supply_received", event=event, org=org, items=items)
        return _record(ctx, event, "receive", args)

    @method(who=Dispenser())
    def dispense(self, ctx: Context, event: EventHash, item: ItemRef) -> dict[str, Any]:
        """A pharmacy or hospital dispenses a pack it possesses: EPCIS ObjectEvent,
        bizStep dispensing."""
        args = {"item": item}
        if (done := _repeat(ctx, event, "dispense", args)) is not None:
            return done
        doc = _item(ctx, item)
        if doc["kind"] != PACK:
            raise _conflict("SC6", f"item {item} is a container: only a pack is dispensed")
        if doc["status"] == DISPENSED:
            raise _conflict("SC6", f"pack {item} was already dispensed")
        if doc["parent"] is not None:
            raise _conflict("SC6", f"pack {item} is inside a container: unpack it first")
        if doc["status"] != ACTIVE:
            raise _conflict("SC6", f"pack {item} is {doc['status']}")
        if ctx.get(lot_key(lot_id(doc["gtin"], doc["lot"])))["recall"] is not None:
            raise _conflict("SC6", f"pack {item} is in a recalled lot")
        if _expired(ctx, doc):
            raise _conflict("SC6", f"pack {item} expired on {doc['expiry']}")
        _set(ctx, [(item, doc)], event, status=DISPENSED)
        ctx.emit("supply_dispensed", event=event, org=signer_org(ctx), item=item)
        return _record(ctx, event, "dispense", args)

    @method(who=Possessor(items=lambda a: a["items"], names="every item in `items`"))
    def decommission(self, ctx: Context, event: EventHash, items: Items) -> dict[str, Any]:
        """The possessor takes items out of the supply chain (EPCIS ObjectEvent DELETE,
        bizStep decommissioning)."""
        args = {"items": items}
        if (done := _repeat(ctx, event, "decommission", args)) is not None:
            return done
        _set(ctx, _trees(ctx, items, frozenset({ACTIVE}), "SC3"), event, status=DECOMMISSIONED)
        ctx.emit("supply_decommissioned", event=event, org=signer_org(ctx), items=items)
        return _record(ctx, event, "decommission", args)

    @method(who=Possessor(items=lambda a: a["items"], names="every item in `items`"))
    def destroy(self, ctx: Context, event: EventHash, items: Items) -> dict[str, Any]:
        """The possessor destroys items, active or found illegitimate (EPCIS ObjectEvent
        DELETE, bizStep destroying)."""
        args = {"items": items}
        if (done := _repeat(ctx, event, "destroy", args)) is not None:
            return done
        _set(ctx, _trees(ctx, items, frozenset({ACTIVE, ILLEGITIMATE}), "SC8"), event,
             status=DESTROYED)
        ctx.emit("supply_destroyed", event=event, org=signer_org(ctx), items=items)
        return _record(ctx, event, "destroy", args)

    @method(who=BrandOwnerOrRegulator(lot_owner, "the lot (`gtin`, `lot`)", "SC7"))
    def recall(self, ctx: Context, gtin: Gtin, lot: Lot, reason: RecallReason) -> dict[str, Any]:
        """The brand owner or a regulator recalls a lot: dispensing refuses its packs."""
        lid = lot_id(gtin, lot)
        found = ctx.get(lot_key(lid))
        if found is None:
            raise Rejected(Code.NOT_FOUND, f"no lot {lot} of GTIN {gtin}")
        if found["recall"] is not None:  # SC7: once
            raise _conflict("SC7", f"lot {lot} of GTIN {gtin} is already recalled")
        found["recall"] = {"reason": reason, "by": ctx.member_id, "org": ctx.member["org"],
                           "height": ctx.height, "time": ctx.time}
        ctx.put(lot_key(lid), found)
        ctx.put(recall_key(ctx.height, lid), {  # SC7: the public notice
            "gtin": gtin, "lot": lot, "reason": reason, "owner": found["owner"],
            "org": ctx.member["org"], "height": ctx.height, "time": ctx.time})
        ctx.emit("supply_recalled", lot=lid, gtin=gtin, owner=found["owner"], reason=reason)
        return {"lot": lid, "recalled": ctx.height}

    @method(who=Possessor(items=lambda a: [a["item"]], names="`item`"))
    def report(self, ctx: Context, event: EventHash, item: ItemRef, status: ReportStatus
               ) -> dict[str, Any]:
        """The possessor reports an item stolen, or suspect (quarantined, investigated)."""
        args = {"item": item, "status": status}
        if (done := _repeat(ctx, event, "report", args)) is not None:
            return done
        org = signer_org(ctx)
        allowed = frozenset({ACTIVE, IN_TRANSIT}) if status == STOLEN else frozenset({ACTIVE})
        nodes = _trees(ctx, [item], allowed, "SC8")
        _set(ctx, nodes, event, status=status)
        doc = nodes[0][1]
        owner = item_brand_owner(ctx, {"item": item}) if doc["kind"] == PACK else None
        due = None
        if status == SUSPECT:  # SC8: an investigation, due in 24 h of block time
            due = ctx.time + INVESTIGATION_MS
            ctx.put(investigation_key(item), {
                "item": item, "status": "open", "opened_by": org, "reporter": ctx.member_id,
                "event": event, "height": ctx.height, "time": ctx.time, "due": due,
                "finding": None, "facts": None, "closed_by": None, "closed_org": None,
                "closed_height": None, "closed_time": None, "late": None})
        ctx.emit("supply_reported", event=event, org=org, item=item, status=status,
                 brand_owner=owner, due=due)
        return _record(ctx, event, "report", args)

    @method(who=BrandOwnerOrRegulator(item_brand_owner, "`item`'s lot", "SC8"))
    def close_investigation(self, ctx: Context, item: ItemRef, finding: Finding,
                            facts: Form3911 | None = None) -> dict[str, Any]:
        """The brand owner or a regulator closes a suspect item's investigation."""
        found = ctx.get(investigation_key(item))
        if found is None:
            raise Rejected(Code.NOT_FOUND, f"no investigation of item {item}")
        if found["status"] != "open":
            raise _conflict("SC8", f"the investigation of item {item} is closed")
        if (finding == ILLEGITIMATE) != (facts is not None):  # SC8
            raise Rejected(Code.BAD_ARGUMENTS, "SC8: an illegitimate finding carries the Form "
                                               "3911 facts, and only it")
        late = ctx.time > found["due"]
        nodes = _trees(ctx, [item], frozenset({SUSPECT}), "SC8")
        _set(ctx, nodes, found["event"], status=ACTIVE if finding == "cleared" else ILLEGITIMATE)
        found.update(status="closed", finding=finding, facts=facts, closed_by=ctx.member_id,
                     closed_org=ctx.member["org"], closed_height=ctx.height,
                     closed_time=ctx.time, late=late)
        ctx.put(investigation_key(item), found)
        ctx.emit("supply_investigation_closed", item=item, finding=finding, late=late,
                 parties=nodes[0][1]["parties"])
        return {"item": item, "finding": finding, "late": late}


    @method(who=Registrar())
    def register_party(self, ctx: Context, gln: Gln, org: OrgRef) -> dict[str, Any]:
        """A regulator registers a trading organisation's party GLN (SC12)."""
        if ctx.get(org_key(org))["type"] not in TRADING_TYPES:
            raise Rejected(Code.BAD_ARGUMENTS, f"SC12: {org} is not a trading organisation "
                                               f"({', '.join(sorted(TRADING_TYPES))})")
        if ctx.get(party_key(gln)) is not None:
            raise _conflict("SC12", f"GLN {gln} is already registered")
        ctx.put(party_key(gln), {"gln": gln, "org": org, "height": ctx.height})
        ctx.emit("supply_party_registered", gln=gln, org=org)
        return {"gln": gln, "org": org}

    @method(who=TradingParty())
    def observe(self, ctx: Context, event: EventHash) -> dict[str, Any]:
        """Record an event that changes no item (SC9): an observation, an association,
        a TransactionEvent selling nothing shipped in the same capture."""
        if (done := _repeat(ctx, event, "observe", {})) is not None:
            return done
        return _record(ctx, event, "observe", {})

    @method(who=TradingParty())
    def declare_error(self, ctx: Context, event: EventHash, reason: ErrorReason
                      ) -> dict[str, Any]:
        """The organisation that recorded an event declares it in error (SC9; EPCIS 2.0
        §7.4.1.4): the record is marked, never removed."""
        recorded = ctx.get(event_key(event))
        if recorded is None:
            raise Rejected(Code.NOT_FOUND, f"no event {event} on the ledger")
        if recorded.get("error") is not None:
            return {**_outcome(event, recorded), "error": recorded["error"]}
        recorded["error"] = {"reason": reason, "height": ctx.height}
        ctx.put(event_key(event), recorded)
        ctx.emit("supply_error_declared", event=event, org=signer_org(ctx), reason=reason)
        return {**_outcome(event, recorded), "error": recorded["error"]}

    @method(who=Repackager())
    def transform(self, ctx: Context, event: EventHash, inputs: Items, gtin: Gtin, lot: Lot,
                  expiry: Expiry, outputs: NewItems) -> dict[str, Any]:
        """Repackaging (EPCIS TransformationEvent, SC10): the inputs are decommissioned
        and the outputs commissioned as packs of the repackager's own GTIN and lot."""
        args = {"inputs": inputs, "gtin": gtin, "lot": lot, "expiry": expiry,
                "outputs": outputs}
        if (done := _repeat(ctx, event, "transform", args)) is not None:
            return done
        if set(inputs) & set(outputs):
            raise Rejected(Code.BAD_ARGUMENTS, "SC10: an output is not one of the inputs")
        nodes = _trees(ctx, inputs, frozenset({ACTIVE}), "SC10")
        org = signer_org(ctx)
        for key, doc in nodes:  # SC10: the outputs are the inputs' drug, no fresher
            if doc["owner"] != org:  # the outputs are the repackager's own: so were these
                raise _conflict("SC10", f"input {key} is not {org}'s own")
            if doc["kind"] != PACK:
                continue
            if ctx.get(lot_key(lot_id(doc["gtin"], doc["lot"])))["recall"] is not None:
                raise _conflict("SC10", f"input {key} is in a recalled lot")
            if _expired(ctx, doc):
                raise _conflict("SC10", f"input {key} expired on {doc['expiry']}")
            if doc["expiry"] < expiry:
                raise _conflict("SC10", f"input {key} expires on {doc['expiry']}, before "
                                        f"the outputs' {expiry}")
        _set(ctx, nodes, event, status=DECOMMISSIONED)
        _commission(ctx, event, gtin, lot, expiry, outputs)
        return _record(ctx, event, "transform", args)

    @method(who=Capturer(simulate=lambda ctx, steps: _run_steps(ctx, steps)))
    def capture(self, ctx: Context, steps: CaptureSteps) -> dict[str, Any]:
        """The events of one EPCIS document, in order, all or nothing (SC11): each step
        is the call its event implies (``method`` and that method's arguments)."""
        if ctx.prepared is not None:  # admission ran the steps in this state (Capturer)
            done, outcome = ctx.prepared
            if not done:
                raise outcome
            return {"steps": outcome}
        return {"steps": _run_steps(ctx, steps)}


    @method(who=ProductOwner())
    def attach_footprint(self, ctx: Context, gtin: Gtin, footprint: Footprint,
                         lot: Lot | None = None) -> dict[str, Any]:
        """The brand owner attaches a PACT v3 product footprint (its hash and key figures)
        to a product, or to one of its lots."""
        lid = None
        if lot is not None:
            lid = lot_id(gtin, lot)
            # SC13: a lot that exists; its owner is the GTIN's brand owner (SC2)
            if ctx.get(lot_key(lid)) is None:
                raise Rejected(Code.NOT_FOUND, f"no lot {lot} of GTIN {gtin}")
        key = footprint_key(gtin, lid)
        before = ctx.get(key)
        figures = {k: v for k, v in footprint.items() if k != "footprint_hash"}
        if before is not None and before["hash"] == footprint["footprint_hash"]:  # SC13
            if any(before[k] != v for k, v in figures.items()):
                raise _conflict("SC13", f"footprint {before['hash']} was attached with other "
                                        "figures")
            return {"gtin": gtin, "lot": lot, "hash": before["hash"], "height": before["height"]}
        doc = {"gtin": gtin, "lot": lot, "hash": footprint["footprint_hash"], **figures,
               "org": signer_org(ctx), "height": ctx.height, "time": ctx.time,
               "replaces": None if before is None else before["hash"]}
        ctx.put(key, doc)
        ctx.emit("supply_footprint_attached", gtin=gtin, lot=lid, org=doc["org"],
                 hash=doc["hash"])
        return {"gtin": gtin, "lot": lot, "hash": doc["hash"], "height": ctx.height}


def _run_steps(ctx: Context, steps: list[dict[str, Any]]) -> list[Any]:
    """SC11: each step's references (after the steps before it), rule and body. The
    capture's own schema already held every step's arguments to its method's types; the
    signer's standing under each step's rule is judged once per rule, not per step."""
    outcomes = []
    standing: set[str] = set()  # methods whose rule admitted the signer's standing
    for i, step in enumerate(steps):
        name = step["method"]
        found = _STEPS[name]
        args = {k: v for k, v in step.items() if k != "method"}
        try:
            _references_exist(ctx, name, args)
            rule = found.who
            if isinstance(rule, TradingParty):
                if name not in standing:
                    HoldsRole.check(rule, ctx, args)
                    standing.add(name)
                rule.check_party(ctx, args)
            else:
                rule.check(ctx, args)
            outcomes.append(found.fn(ctx, **args))
        except Rejected as exc:
            raise Rejected(exc.code, f"step {i} ({name}): {exc.reason}") from None
    return outcomes


def _references_exist(ctx: Context, name: str, args: dict[str, Any]) -> None:
    """What a step's references name exists, as its method's schema would check (S6)."""
    for arg, many, what, key in _REFERENCES[name]:
        value = args.get(arg)
        for one in (value if many else [value]) if value is not None else []:
            if ctx.get(key(one)) is None:
                raise Rejected(Code.NOT_FOUND, f"argument {arg}: no {what} {one}")


#: The methods a capture's steps may name: those an EPCIS event implies.
STEP_METHODS = ("commission", "aggregate", "ship", "receive", "dispense", "decommission",
                "destroy", "report", "observe", "declare_error", "transform")


def _step_type(fn: Any) -> Any:
    """A capture step naming ``fn``: ``method`` and ``fn``'s arguments, each an item key
    rather than a reference (an item may be made by an earlier step; the step's own
    schema checks references on its turn)."""
    hints = typing.get_type_hints(fn, include_extras=True)
    fields: dict[str, Any] = {"method": Literal[fn.__name__]}  # type: ignore[valid-type]
    for p in list(inspect.signature(fn).parameters.values())[1:]:
        hint = _one_of(_UNCHECKED, hints[p.name], hints[p.name])
        fields[p.name] = hint if p.default is inspect.Parameter.empty else NotRequired[hint]
    step = TypedDict(f"{fn.__name__.title().replace('_', '')}Step", fields)  # type: ignore[operator]
    step.__pydantic_config__ = STRICT  # type: ignore[attr-defined]
    return step


_CONTRACT = SupplyContract()
_STEPS: dict[str, Method] = {name: bind(_CONTRACT, name) for name in STEP_METHODS}
#: Each step method's reference arguments: (name, a list?, what it names, its state key).
_REFERENCE_TYPES = ((ItemRef, (False, "item", item_state_key)),
                    (Items, (True, "item", item_state_key)),
                    (OrgRef, (False, "organisation", org_key)))
_REFERENCES = {
    name: [(arg, *found)
           for arg, hint in typing.get_type_hints(_STEPS[name].fn, include_extras=True).items()
           if (found := _one_of(_REFERENCE_TYPES, hint, None)) is not None]
    for name in STEP_METHODS}
CaptureStep = Annotated[typing.Union[tuple(_step_type(getattr(_CONTRACT, n))  # noqa: UP007
                                           for n in STEP_METHODS)],
                        Field(discriminator="method")]
CaptureSteps = array(CaptureStep, 1, MAX_STEPS, "the document's events, in order, as calls")
