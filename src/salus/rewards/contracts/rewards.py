"""The rewards contract: sponsors' programmes, patients' enrolments, and every award,
redemption, expiry and reversal of points, on the ledger (issue 18).

Points are not money: they are awarded only against a record registration the ledger
already holds, never move between patients, buy only in-kind catalogue items, and are
taken away only by expiry or by reversing an award made in error. Every entry names the
programme, the sponsor, the patient (her pseudonymous did), the event by record id and
the transaction; nothing says what the encounter or the survey was (docs/rewards.md).

The rules, numbered as ``docs/security.md`` cites them; each check below cites its rule
(authority checks in :mod:`salus.rewards.contracts.rules`, at admission):

* **RW1 Programmes.** An admin or rewards officer of a hospital or insurer publishes its
  own programme under an id it picks; publishing it again (only its sponsor) makes a new
  version of its terms, which bind awards and redemptions from then on. Caps are at most
  OIG's nominal value ($15 an item, $75 a year per patient, retail value; defaults), the
  item cap at most the annual cap; every number is bounded by the schema.
* **RW2 Rewarded events.** A programme rewards only kept appointments (a registered
  Encounter) and completed surveys (a registered QuestionnaireResponse), each kind once,
  with its points; an event that keys on choosing a provider or pharmacy or on a billable
  service is refused with its reason, and so is any event worth more than the item cap.
  Whose records it rewards is the sponsor's own or every custodian's alike, never a list
  of providers (that would key on choosing them).
* **RW3 Catalogue.** Items are in kind (merchandise, parking, a meal, a health supply,
  education), each with an id, a code (never a sentence), points and a retail value at
  most the item cap and at most what its points are worth; cash, cash equivalents, gift
  cards, copayment or deductible waivers and other cost-sharing are refused by kind.
* **RW4 Enrolment.** Only the patient herself enrols in a programme, and leaves it;
  leaving stops awards, never takes her points.
* **RW5 Awards.** Only the sponsor's service key awards, and only against a record the
  ledger holds: of the event's resource type, not erased, of a patient enrolled now whose
  record's current version was registered while she was enrolled, held by the sponsor as
  custodian or, when the programme rewards every custodian's records, by a custodian whose
  patient's consent in force lets the signer read it. The points are the programme's for
  that event, worth at most the item cap.
* **RW6 Once per event.** A sponsor rewards a record once, whatever programme and
  version; a reversed award is not awarded again.
* **RW7 Annual cap.** What a sponsor awards a patient in a calendar year (UTC, block
  time), net of reversals, and what she redeems from it in a year, each stay within the
  programme's annual cap; both start again at the year boundary.
* **RW8 Redemption.** Only the patient, for herself, for an in-kind item of the current
  catalogue, never for more points than her balance after due expiries; points are spent
  soonest-expiring first.
* **RW9 Expiry and reversal.** Points expire ``expiry_days`` after their award, in block
  time; the patient or her programme's sponsor (an officer or its service) may make due
  points expire, nobody else, and a redemption does first. Only the sponsor
  reverses an award, once, with a reason code, taking back only what of that award is
  still unspent: never more than the award, never other points (no penalties).
* **RW10 Not money, not transferable.** No method moves points between patients or
  programmes; an account is one patient's in one programme. Its balance is always awards
  minus redemptions minus expiries minus reversals, recomputed from the entries
  (:mod:`salus.rewards.statement`).
"""

from __future__ import annotations

from typing import Any

from typing_extensions import TypedDict

from salus.ledger.codes import Code, Rejected
from salus.ledger.contract import Context, Contract, method
from salus.ledger.members import PatientRef
from salus.ledger.schema import STRICT, array
from salus.records.contracts.layout import RecordRef, record_key
from salus.rewards.contracts.layout import (
    EVENT_RECORD_TYPES,
    IN_KIND,
    MAX_CATALOGUE,
    MAX_LOTS,
    NOMINAL_ANNUAL_CENTS,
    NOMINAL_ITEM_CENTS,
    REFUSED_EVENTS,
    REFUSED_KINDS,
    SPONSOR_RECORDS,
    AnnualCapCents,
    Custodians,
    EventKind,
    ExpiryDays,
    ItemCapCents,
    ItemCode,
    ItemId,
    ItemKind,
    PointCents,
    Points,
    ProgrammeId,
    ProgrammeRef,
    RetailCents,
    ReversalReason,
    RewardedEvent,
    TxId,
    account_key,
    award_key,
    block_year,
    enrolment_key,
    entry_key,
    event_key,
    expiry_time,
    patient_programmes_prefix,
    programme_key,
    year_key,
)
from salus.rewards.contracts.rules import (
    AWARDER,
    REVERSER,
    PatientHerself,
    PatientOrSponsor,
    SponsorStaff,
)


class EventTerm(TypedDict):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    kind: EventKind
    points: Points


class CatalogueItem(TypedDict):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    id: ItemId
    code: ItemCode
    points: Points
    retail_cents: RetailCents
    kind: ItemKind


EventTerms = array(EventTerm, 1, len(EVENT_RECORD_TYPES) + len(REFUSED_EVENTS),
                   "the events rewarded, each kind once")
Catalogue = array(CatalogueItem, 1, MAX_CATALOGUE, "the catalogue, each item id once")
AwardRef = TxId  # checked against state in the body: a NOT_FOUND there names the award


def _bad(rule: str, reason: str) -> Rejected:
    return Rejected(Code.BAD_ARGUMENTS, f"{rule}: {reason}")


def _conflict(rule: str, reason: str) -> Rejected:
    return Rejected(Code.CONFLICT, f"{rule}: {reason}")


def _once(rule: str, values: list[str], what: str) -> None:
    if len(set(values)) != len(values):
        raise _bad(rule, f"name each {what} once")


def _check_terms(events: list[dict[str, Any]], point_cents: int, item_cap: int,
                 annual_cap: int, catalogue: list[dict[str, Any]]) -> None:
    """RW1-RW3 on a programme's terms."""
    if item_cap > annual_cap:
        raise _bad("RW1", f"the item cap ({item_cap} cents) is above the annual cap "
                          f"({annual_cap} cents)")
    _once("RW2", [e["kind"] for e in events], "rewarded event")
    for event in events:
        if event["kind"] in REFUSED_EVENTS:
            raise _bad("RW2", f"{event['kind']} may not be rewarded: "
                              f"{REFUSED_EVENTS[event['kind']]}")
        value = event["points"] * point_cents
        if value > item_cap:
            raise _bad("RW2", f"{event['kind']} is worth {value} cents, above the item cap "
                              f"({item_cap} cents)")
    _once("RW3", [i["id"] for i in catalogue], "catalogue item")
    for item in catalogue:
        if item["kind"] in REFUSED_KINDS:
            raise _bad("RW3", f"item {item['id']} is {item['kind']}: "
                              f"{REFUSED_KINDS[item['kind']]}; only in-kind items are offered")
        if item["retail_cents"] > item_cap:
            raise _bad("RW3", f"item {item['id']}'s retail value ({item['retail_cents']} "
                              f"cents) is above the item cap ({item_cap} cents)")
        if item["retail_cents"] > item["points"] * point_cents:
            raise _bad("RW3", f"item {item['id']} is worth {item['retail_cents']} cents but "
                              f"costs points worth {item['points'] * point_cents}: points "
                              "never buy more than they are worth")


def _entry(ctx: Context, programme: dict[str, Any], patient: str, n: int, kind: str,
           points: int, **fields: Any) -> int:
    """Write statement entry ``n`` of this transaction; returns the next ``n``."""
    ctx.put(entry_key(patient, programme["id"], ctx.height, ctx.index, n), {
        "kind": kind, "programme": programme["id"], "sponsor": programme["sponsor"],
        "patient": patient, "points": points, **fields, "tx": ctx.tx_id,
        "height": ctx.height, "time": ctx.time})
    return n + 1


def _account(ctx: Context, programme: str, patient: str) -> dict[str, Any]:
    return ctx.get(account_key(programme, patient)) or {"balance": 0, "lots": []}


def _expire_due(ctx: Context, programme: dict[str, Any], patient: str,
                account: dict[str, Any], n: int) -> tuple[int, int]:
    """RW9: every lot of ``account`` past its expiry expires, one entry each. Returns
    (points expired, next entry number)."""
    expired, live = 0, []
    for lot in account["lots"]:
        if lot["expires"] <= ctx.time:
            n = _entry(ctx, programme, patient, n, "expiry", lot["remaining"],
                       award=lot["award"], expired_at=lot["expires"])
            expired += lot["remaining"]
        else:
            live.append(lot)
    account["lots"] = live
    account["balance"] -= expired
    return expired, n


def _year(ctx: Context, sponsor: str, patient: str, year: int) -> tuple[str, dict[str, Any]]:
    key = year_key(sponsor, patient, year)
    return key, ctx.get(key) or {"awarded_cents": 0, "redeemed_cents": 0}


class RewardsContract(Contract):
    name = "rewards"

    # -- the sponsor ------------------------------------------------------------------------
    @method(who=SponsorStaff())
    def publish_programme(self, ctx: Context, programme: ProgrammeId, events: EventTerms,
                          point_cents: PointCents, expiry_days: ExpiryDays,
                          catalogue: Catalogue, custodians: Custodians = SPONSOR_RECORDS,
                          item_cap_cents: ItemCapCents = NOMINAL_ITEM_CENTS,
                          annual_cap_cents: AnnualCapCents = NOMINAL_ANNUAL_CENTS
                          ) -> dict[str, Any]:
        """A sponsor publishes (or revises) a programme's terms (RW1-RW3)."""
        _check_terms(events, point_cents, item_cap_cents, annual_cap_cents, catalogue)
        before = ctx.get(programme_key(programme))
        version = 1 if before is None else before["version"] + 1
        sponsor = ctx.member["org"]
        ctx.put(programme_key(programme), {
            "id": programme, "sponsor": sponsor, "version": version,
            "events": sorted(events, key=lambda e: e["kind"]), "point_cents": point_cents,
            "item_cap_cents": item_cap_cents, "annual_cap_cents": annual_cap_cents,
            "expiry_days": expiry_days, "custodians": custodians, "catalogue": catalogue,
            "height": ctx.height, "time": ctx.time})
        ctx.emit("rewards_programme_published", programme=programme, sponsor=sponsor,
                 version=version)
        return {"programme": programme, "version": version}

    @method(who=AWARDER)
    def award(self, ctx: Context, programme: ProgrammeRef, event: RewardedEvent,
              record: RecordRef) -> dict[str, Any]:
        """The sponsor's service awards a programme's points for a record registration
        on the ledger (RW5-RW7)."""
        terms = ctx.get(programme_key(programme))
        sponsor = terms["sponsor"]
        points = next((e["points"] for e in terms["events"] if e["kind"] == event), None)
        if points is None:
            raise _conflict("RW5", f"programme {programme} does not reward {event}")
        doc = ctx.get(record_key(record))
        if doc["type"] != EVENT_RECORD_TYPES[event]:
            raise _conflict("RW5", f"{event} is a registered {EVENT_RECORD_TYPES[event]}; "
                                   f"record {record} is not one")
        if doc["status"] == "erased":
            raise _conflict("RW5", f"record {record} was erased")
        if ctx.get(event_key(sponsor, record)) is not None:
            raise _conflict("RW6", f"{sponsor} already rewarded record {record}")
        patient = doc["patient"]
        enrolled = ctx.get(enrolment_key(programme, patient))
        if enrolled is None or enrolled["status"] != "enrolled":
            raise _conflict("RW5", f"the record's patient is not enrolled in {programme}")
        if doc["height"] < enrolled["height"]:
            raise _conflict("RW5", "the record was registered before its patient enrolled")
        value = points * terms["point_cents"]
        if value > terms["item_cap_cents"]:  # (RW2 refused such terms; kept as a guard)
            raise _conflict("RW5", f"the award is worth {value} cents, above the item cap")
        year = block_year(ctx.time)
        ykey, totals = _year(ctx, sponsor, patient, year)
        if totals["awarded_cents"] + value > terms["annual_cap_cents"]:
            raise _conflict("RW7", f"{sponsor} awarded {totals['awarded_cents']} cents to this "
                                   f"patient in {year}; {value} more passes the annual cap "
                                   f"({terms['annual_cap_cents']} cents)")
        account = _account(ctx, programme, patient)
        if len(account["lots"]) >= MAX_LOTS:
            raise _conflict("RW5", f"the account holds {MAX_LOTS} live awards; redeem or "
                                   "let some expire first")
        expires = expiry_time(ctx.time, terms["expiry_days"])
        entry = entry_key(patient, programme, ctx.height, ctx.index, 0)
        _entry(ctx, terms, patient, 0, "award", points, cents=value, event=event,
               record=record, custodian=doc["custodian"], version=doc["version"],
               expires=expires)
        account["lots"].append({"award": ctx.tx_id, "points": points, "remaining": points,
                                "expires": expires, "point_cents": terms["point_cents"],
                                "year": year})
        account["balance"] += points
        ctx.put(account_key(programme, patient), account)
        totals["awarded_cents"] += value
        ctx.put(ykey, totals)
        ctx.put(event_key(sponsor, record), {"programme": programme, "award": ctx.tx_id,
                                             "height": ctx.height})
        ctx.put(award_key(ctx.tx_id), {"programme": programme, "patient": patient,
                                       "sponsor": sponsor, "points": points, "entry": entry,
                                       "reversed": False})
        ctx.emit("rewards_awarded", programme=programme, sponsor=sponsor, patient=patient,
                 points=points, event=event)
        return {"award": ctx.tx_id, "points": points, "balance": account["balance"],
                "expires": expires}

    @method(who=REVERSER)
    def reverse(self, ctx: Context, award: AwardRef, reason: ReversalReason) -> dict[str, Any]:
        """The sponsor reverses an award made in error, with a reason (RW9): only what of
        it is unspent."""
        found = ctx.get(award_key(award))
        if found is None:
            raise Rejected(Code.NOT_FOUND, f"no award {award}")
        if found["reversed"]:
            raise _conflict("RW9", f"award {award} was reversed already")
        programme, patient = found["programme"], found["patient"]
        terms = ctx.get(programme_key(programme))
        account = _account(ctx, programme, patient)
        _, n = _expire_due(ctx, terms, patient, account, 0)
        lot = next((x for x in account["lots"] if x["award"] == award), None)
        if lot is None or lot["remaining"] == 0:
            raise _conflict("RW9", f"nothing of award {award} is left to reverse (spent or "
                                   "expired points stay spent: a reversal is no penalty)")
        taken = lot["remaining"]
        account["lots"].remove(lot)
        account["balance"] -= taken
        ctx.put(account_key(programme, patient), account)
        value = taken * lot["point_cents"]
        _entry(ctx, terms, patient, n, "reversal", taken, award=award, reason=reason,
               cents=value)
        ykey, totals = _year(ctx, found["sponsor"], patient, lot["year"])
        totals["awarded_cents"] -= value
        ctx.put(ykey, totals)
        found.update(reversed=True)
        ctx.put(award_key(award), found)
        ctx.emit("rewards_reversed", programme=programme, patient=patient, points=taken,
                 reason=reason)
        return {"award": award, "points": taken, "balance": account["balance"]}

    # -- the patient ------------------------------------------------------------------------
    @method(who=PatientHerself())
    def enrol(self, ctx: Context, programme: ProgrammeRef) -> dict[str, Any]:
        """A patient enrols herself in a programme (RW4)."""
        patient = ctx.member_id
        before = ctx.get(enrolment_key(programme, patient))
        if before is not None and before["status"] == "enrolled":
            raise _conflict("RW4", f"you are enrolled in {programme} already")
        sponsor = ctx.get(programme_key(programme))["sponsor"]
        ctx.put(enrolment_key(programme, patient), {
            "programme": programme, "patient": patient, "status": "enrolled",
            "height": ctx.height, "time": ctx.time, "left_height": None})
        ctx.put(patient_programmes_prefix(patient) + programme,
                {"sponsor": sponsor, "height": ctx.height})
        ctx.emit("rewards_enrolled", programme=programme, sponsor=sponsor, patient=patient)
        return {"programme": programme, "enrolled": True}

    @method(who=PatientHerself())
    def leave(self, ctx: Context, programme: ProgrammeRef) -> dict[str, Any]:
        """A patient leaves a programme: no more awards; her points stay hers (RW4)."""
        patient = ctx.member_id
        found = ctx.get(enrolment_key(programme, patient))
        if found is None or found["status"] != "enrolled":
            raise _conflict("RW4", f"you are not enrolled in {programme}")
        found.update(status="left", left_height=ctx.height)
        ctx.put(enrolment_key(programme, patient), found)
        return {"programme": programme, "enrolled": False}

    @method(who=PatientHerself(rule="RW8"))
    def redeem(self, ctx: Context, programme: ProgrammeRef, item: ItemId) -> dict[str, Any]:
        """A patient spends her own points on an in-kind catalogue item (RW8)."""
        patient = ctx.member_id
        terms = ctx.get(programme_key(programme))
        chosen = next((i for i in terms["catalogue"] if i["id"] == item), None)
        if chosen is None:
            raise Rejected(Code.NOT_FOUND, f"RW8: programme {programme} offers no item {item}")
        if chosen["kind"] not in IN_KIND:  # (RW3 refused such catalogues; kept as a guard)
            raise _conflict("RW8", f"item {item} is not in kind")
        account = _account(ctx, programme, patient)
        _, n = _expire_due(ctx, terms, patient, account, 0)
        cost = chosen["points"]
        if cost > account["balance"]:
            raise _conflict("RW8", f"item {item} costs {cost} points; your balance is "
                                   f"{account['balance']}")
        sponsor = terms["sponsor"]
        year = block_year(ctx.time)
        ykey, totals = _year(ctx, sponsor, patient, year)
        if totals["redeemed_cents"] + chosen["retail_cents"] > terms["annual_cap_cents"]:
            raise _conflict("RW7", f"you redeemed {totals['redeemed_cents']} cents of items "
                                   f"from {sponsor} in {year}; this one passes the annual cap "
                                   f"({terms['annual_cap_cents']} cents)")
        owed, spent = cost, []
        for lot in sorted(account["lots"], key=lambda x: x["expires"]):  # stable: award order
            if owed == 0:
                break
            take = min(owed, lot["remaining"])
            lot["remaining"] -= take
            owed -= take
            spent.append({"award": lot["award"], "points": take})
        account["lots"] = [x for x in account["lots"] if x["remaining"] > 0]
        account["balance"] -= cost
        ctx.put(account_key(programme, patient), account)
        totals["redeemed_cents"] += chosen["retail_cents"]
        ctx.put(ykey, totals)
        _entry(ctx, terms, patient, n, "redemption", cost, item=item, code=chosen["code"],
               item_kind=chosen["kind"], cents=chosen["retail_cents"], spent=spent)
        ctx.emit("rewards_redeemed", programme=programme, sponsor=sponsor, patient=patient,
                 item=item, points=cost)
        return {"programme": programme, "item": item, "points": cost,
                "balance": account["balance"]}

    # -- the patient or her sponsor -------------------------------------------------------
    @method(who=PatientOrSponsor())
    def expire(self, ctx: Context, programme: ProgrammeRef, patient: PatientRef
               ) -> dict[str, Any]:
        """The patient, or her programme's sponsor, makes her points past their expiry
        expire (RW9)."""
        terms = ctx.get(programme_key(programme))
        account = ctx.get(account_key(programme, patient))
        if account is None:
            raise _conflict("RW9", f"the patient holds no points in {programme}")
        expired, _ = _expire_due(ctx, terms, patient, account, 0)
        if expired == 0:
            raise _conflict("RW9", "no points are past their expiry")
        ctx.put(account_key(programme, patient), account)
        return {"programme": programme, "expired": expired}
