"""Where the rewards contract keeps its state, the vocabularies it accepts, and its keys.

State (docs/rewards.md, "What the ledger holds"), every key under ``rewards/``:

* ``rewards/programme/<programme>`` -> ``{id, sponsor, version, events: [{kind, points}],
  point_cents, item_cap_cents, annual_cap_cents, expiry_days, custodians, catalogue:
  [{id, code, points, retail_cents, kind}], height, time}``: a published programme (public
  terms, no patient in it).
* ``rewards/enrolment/<programme>/<patient>`` -> ``{programme, patient, status, height,
  time, left_height}``: who is enrolled (a prefix scan lists a programme's patients).
* ``rewards/by-patient/<patient>/<programme>`` -> ``{sponsor, height}``: the programmes
  a patient ever joined (her statement's index).
* ``rewards/account/<programme>/<patient>`` -> ``{balance, lots: [{award, points,
  remaining, expires, point_cents, year}]}``: her live points, oldest first, each lot an
  award not yet spent, expired or reversed.
* ``rewards/entry/<patient>/<programme>/<height>/<index>/<n>`` -> one statement entry
  (``award``, ``redemption``, ``expiry`` or ``reversal``) with its transaction id; the
  balance is recomputed from these (:mod:`salus.rewards.statement`).
* ``rewards/event/<sponsor>/<record>`` -> ``{programme, award, height}``: the record
  registration a sponsor rewarded (once per event, across its programmes).
* ``rewards/award/<tx id>`` -> ``{programme, patient, sponsor, points, entry, reversed}``:
  an award by its transaction id (what a reversal names).
* ``rewards/year/<sponsor>/<patient>/<year>`` -> ``{awarded_cents, redeemed_cents}``: the
  retail value a sponsor gave a patient in a calendar year of block time (the annual cap
  is a sponsor's, whatever programme it runs through).

No health information: opaque ids, pseudonymous dids, codes, integers and times. Which
encounter or survey an award rewards is named by its record id only; what it was, where
and why stays in the custodian's vault.
"""

from __future__ import annotations

from salus.claims.contracts.layout import DAY_MS, block_date
from salus.ledger.schema import integer, one_of, reference, text

PREFIX = "rewards/"

#: Organisation types that may sponsor a programme. (The ledger has no ``clinic`` type: a
#: clinic joins as a ``hospital``; see docs/rewards.md.)
SPONSOR_TYPES = frozenset({"hospital", "insurer"})
#: Who at a sponsor publishes its programmes and reverses awards made in error.
OFFICER_ROLES = ("admin", "rewards_officer")
#: The sponsor's service key: the only signer of awards.
SERVICE_ROLE = "rewards_service"

# -- rewarded events (RW2) ---------------------------------------------------------------
APPOINTMENT_KEPT, SURVEY_COMPLETED = "appointment_kept", "survey_completed"
#: Each rewarded event and the FHIR resource type of the record registration it is.
EVENT_RECORD_TYPES = {APPOINTMENT_KEPT: "Encounter", SURVEY_COMPLETED: "QuestionnaireResponse"}
#: Events a programme may not reward, each with why: they key on choosing a provider or a
#: pharmacy, or on a billable service (the beneficiary-inducement rule, docs/rewards.md).
REFUSED_EVENTS = {
    "provider_chosen": "it rewards choosing a provider",
    "pharmacy_chosen": "it rewards choosing a pharmacy",
    "provider_switched": "it rewards switching provider",
    "prescription_filled": "it rewards a billable service (a dispensed prescription)",
    "service_received": "it rewards a billable service",
    "referral_made": "it rewards a referral",
}
EVENT_KINDS = frozenset(EVENT_RECORD_TYPES) | frozenset(REFUSED_EVENTS)

# -- catalogue (RW3) -----------------------------------------------------------------------
#: What a catalogue item may be: in kind, used where it is given, worth its retail value.
IN_KIND = frozenset({"merchandise", "parking", "meal", "health_supply", "education"})
#: Cash and cash equivalents, and what the beneficiary-inducement rule names as
#: remuneration: refused with the reason.
REFUSED_KINDS = {
    "cash": "cash is not an in-kind item",
    "cash_equivalent": "an item convertible to cash or used like cash (a check, a debit "
                       "card) is a cash equivalent",
    "general_gift_card": "a general-purpose gift card is a cash equivalent",
    "copay_waiver": "a copayment waiver reduces cost-sharing",
    "deductible_waiver": "a deductible waiver reduces cost-sharing",
    "cost_sharing": "a reduction of cost-sharing is remuneration",
    "premium_credit": "a premium credit is remuneration in money",
}
ITEM_KINDS = IN_KIND | frozenset(REFUSED_KINDS)

#: Whose records an award may reward: only the sponsor's own (it is their custodian), or any
#: custodian's alike (one the patient let the sponsor read). Never a list of providers: a
#: programme that rewards only some providers' records keys on choosing them.
SPONSOR_RECORDS, ANY_CUSTODIAN = "sponsor", "any"
CUSTODIANS = frozenset({SPONSOR_RECORDS, ANY_CUSTODIAN})

#: Why a sponsor reverses an award (never a penalty: RW7).
REVERSAL_REASONS = frozenset({
    "entered_in_error", "wrong_patient", "event_not_kept", "duplicate_event",
    "record_erased"})

# -- limits (RW1) ------------------------------------------------------------------------------
#: OIG's nominal value (Policy Statement Regarding Gifts of Nominal Value to Medicare and
#: Medicaid Beneficiaries, 7 December 2016): a retail value of no more than $15 an item and
#: $75 a year in the aggregate per patient, never cash or cash equivalents. A programme sets
#: its own caps at or below these; raising them is a change to the contract every peer runs.
NOMINAL_ITEM_CENTS = 1_500
NOMINAL_ANNUAL_CENTS = 7_500
MAX_POINTS = 1_000_000
MAX_EXPIRY_DAYS = 3 * 366
MAX_CATALOGUE = 50
#: Live lots an account holds at most (an award past it is refused; redeem or let expire).
MAX_LOTS = 1_000
#: Bound of any amount of cents an argument carries (a programme's caps are far below).
MAX_CENTS = 100_000_000


# -- keys --------------------------------------------------------------------------------------
def programme_key(programme: str) -> str:
    return f"{PREFIX}programme/{programme}"


def enrolment_prefix(programme: str) -> str:
    return f"{PREFIX}enrolment/{programme}/"


def enrolment_key(programme: str, patient: str) -> str:
    return enrolment_prefix(programme) + patient


def patient_programmes_prefix(patient: str) -> str:
    return f"{PREFIX}by-patient/{patient}/"


def account_key(programme: str, patient: str) -> str:
    return f"{PREFIX}account/{programme}/{patient}"


def entries_prefix(patient: str, programme: str | None = None) -> str:
    """A patient's statement entries, of one programme or (None) of all."""
    base = f"{PREFIX}entry/{patient}/"
    return base if programme is None else f"{base}{programme}/"


def entry_key(patient: str, programme: str, height: int, index: int, n: int) -> str:
    """Zero-padded ``height/index/n``: a prefix scan is ledger order."""
    return f"{entries_prefix(patient, programme)}{height:012d}/{index:05d}/{n:04d}"


def event_key(sponsor: str, record: str) -> str:
    return f"{PREFIX}event/{sponsor}/{record}"


def award_key(tx_id: str) -> str:
    return f"{PREFIX}award/{tx_id}"


def year_key(sponsor: str, patient: str, year: int) -> str:
    return f"{PREFIX}year/{sponsor}/{patient}/{year:04d}"


# -- block time ------------------------------------------------------------------------------
def block_year(time_ms: int) -> int:
    """The UTC calendar year of a block time: the annual caps' year."""
    return int(block_date(time_ms)[:4])


def expiry_time(time_ms: int, days: int) -> int:
    return time_ms + days * DAY_MS


# -- argument types (salus.ledger.schema) ------------------------------------------------------
ProgrammeId = text("[a-z0-9][a-z0-9-]{0,62}", 63, "a programme id: lowercase letters, digits, -")
ProgrammeRef = reference(ProgrammeId, "rewards programme", programme_key)
EventKind = one_of(EVENT_KINDS, "an event a programme rewards")
RewardedEvent = one_of(frozenset(EVENT_RECORD_TYPES), "a rewarded event")
ItemKind = one_of(ITEM_KINDS, "what a catalogue item is")
ItemId = text("[a-z0-9][a-z0-9-]{0,31}", 32, "a catalogue item id")
#: A catalogue's description code (the sponsor's own SKU-like code, never a sentence).
ItemCode = text("[A-Z0-9][A-Z0-9._-]{0,31}", 32, "an item's code: 1-32 of A-Z 0-9 . _ -")
Custodians = one_of(CUSTODIANS, "whose records awards reward: the sponsor's own, or any")
ReversalReason = one_of(REVERSAL_REASONS, "why an award is reversed")
TxId = text("[0-9a-f]{64}", 64, "a transaction id")
Points = integer(1, MAX_POINTS, "points")
PointCents = integer(1, NOMINAL_ITEM_CENTS, "the retail value of one point, in cents")
ItemCapCents = integer(1, NOMINAL_ITEM_CENTS, "the per-item cap, cents of retail value")
AnnualCapCents = integer(1, NOMINAL_ANNUAL_CENTS, "the annual cap per patient, cents of retail value")
RetailCents = integer(1, MAX_CENTS, "an item's retail value in cents")
ExpiryDays = integer(1, MAX_EXPIRY_DAYS, "days after an award its points expire")
