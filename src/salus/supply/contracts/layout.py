"""Where the supply contract keeps its state, the vocabularies it accepts, and its keys.

State (docs/supply.md, "Decision: what the ledger holds"), every key under ``supply/``:

* ``supply/prefix/<GS1 company prefix>`` -> ``{prefix, org, height}``: a manufacturer's
  registered prefix. ``supply/prefix-cover/<digits>`` -> ``true`` for every shorter
  start of a registered prefix (4 digits or more), so that an overlap either way is
  found by a read, not a scan.
* ``supply/item/<item key>`` -> one pack or container: ``{kind, gtin, lot, expiry,
  owner, possessor, status, parent, children, shipped_to, sale, parties, event}``.
  ``children`` (item keys) is a container's contents, what moves with it; a pack's is
  null. ``sale`` is the TransactionEvent hash of a shipment that sells (else null).
* ``supply/lot/<lot id>`` -> ``{gtin, lot, expiry, owner, recall}``; ``recall`` is null or
  ``{reason, by, org, height, time}``. No count of packs: the ledger holds no volumes.
* ``supply/event/<64 hex of the CBV 2.0 event hash>`` -> ``{org, action, height, args}``:
  who recorded the event, with which method, and the SHA-256 of the call's canonical
  arguments (so a repeat is told from a different use of the same hash).
* ``supply/investigation/<item key>`` -> a suspect item's latest investigation.
* ``supply/party/<GLN>`` -> ``{gln, org, height}``: a trading organisation's party GLN
  (GS1's public register of who is who), so that the events of a document, which name
  parties by GLN, name ledger organisations.
* ``supply/recall/<height, 16 digits>/<lot id>`` -> ``{gtin, lot, reason, owner, org,
  height, time}``: the public notice of a recall, in the order recalls were made (the
  recall board reads it without scanning every lot).
* ``supply/footprint/product/<GTIN-14>`` and ``supply/footprint/lot/<lot id>`` -> the PACT
  v3 footprint attached to a product or a lot: ``{gtin, lot, hash, declared_unit,
  declared_amount_milli, pcf_excluding_biogenic_ug, pcf_including_biogenic_ug,
  fossil_ghg_ug, org, height, time, replaces}`` (integers; ``replaces``: the hash of the
  footprint it replaced, or null).

The **item key** is SHA-256 of ``salus-item/1|`` and the item's constrained canonical GS1
Digital Link (:attr:`salus.supply.identifiers.Identity.digital_link`): whoever holds a
pack's full identifier (serial included) finds it, nobody lists it. The **lot id** is
SHA-256 of ``<GTIN-14>|<lot>``.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from salus.ledger.calendar import civil_of_block
from salus.ledger.schema import integer, one_of, reference, text
from salus.supply.identifiers import check_digit

if TYPE_CHECKING:
    from salus.supply.identifiers import Identity

PREFIX = "supply/"
SUPPLY_ROLE = "supply_operator"
#: Who may dispense at the counter: the supply role or a pharmacist, of these types.
DISPENSER_ROLES = (SUPPLY_ROLE, "pharmacist")
DISPENSER_TYPES = frozenset({"pharmacy", "hospital"})
#: Organisations that trade packs (DSCSA trading partners).
TRADING_TYPES = frozenset({"manufacturer", "distributor", "pharmacy", "hospital"})
BRAND_OWNER_TYPE = "manufacturer"
#: A regulator's members who may recall a lot and close an investigation.
REGULATOR_ROLES = ("admin", SUPPLY_ROLE)

PACK, CONTAINER = "pack", "container"
ACTIVE, IN_TRANSIT, DISPENSED = "active", "in_transit", "dispensed"
DECOMMISSIONED, DESTROYED = "decommissioned", "destroyed"
STOLEN, SUSPECT, ILLEGITIMATE = "stolen", "suspect", "illegitimate"
STATUSES = frozenset({ACTIVE, IN_TRANSIT, DISPENSED, DECOMMISSIONED, DESTROYED, STOLEN,
                      SUSPECT, ILLEGITIMATE})
REPORTABLE = frozenset({STOLEN, SUSPECT})
FINDINGS = frozenset({"cleared", "illegitimate"})
AGGREGATE_ACTIONS = frozenset({"ADD", "DELETE"})
#: Why a lot is recalled: codes, never a story.
RECALL_REASONS = frozenset({
    "contamination", "sterility", "potency", "mislabeling", "packaging_defect",
    "foreign_substance", "stability", "counterfeit", "adverse_events", "regulatory_action",
    "other",
})
#: FDA Form 3911 (Drug Notification) fields, as codes; its free-text description stays in
#: the repository.
FORM_3911 = {
    "notification": frozenset({"initial", "follow_up", "request_for_termination"}),
    "classification": frozenset({"counterfeit", "diverted", "stolen", "intentional_adulteration",
                                 "unfit_for_distribution", "fraudulent_transaction"}),
    "product_type": frozenset({"human_rx_drug", "biological", "other"}),
    "dosage_form": frozenset({"tablet", "capsule", "oral_liquid", "injectable", "topical",
                              "inhalation", "transdermal", "ophthalmic", "other"}),
    "reporter": frozenset({"manufacturer", "wholesale_distributor", "dispenser", "repackager"}),
}
#: A suspect investigation is due this long after it opens (ms of block time).
#: CBV 2.0 §7.5 error reasons, and ``unknown`` when a declaration gives none.
ERROR_REASONS = frozenset({"did_not_occur", "incorrect_data", "unknown"})
INVESTIGATION_MS = 24 * 60 * 60 * 1000
MAX_ITEMS = 1000  # item keys per transaction
MAX_CHILDREN = 10_000  # items directly inside one container
#: Items one call may touch, containers' contents included: bounds a peer's work.
MAX_TOUCHED = 50_000
#: Steps of one ``capture`` call: the events of one EPCIS document (a transformation is
#: one step), so a document of up to this many events is captured all or nothing.
MAX_STEPS = 500
PREFIX_DIGITS = (4, 12)
#: PACT v3 ``declaredUnitOfMeasurement`` (pact/openapi-v3.yaml, CarbonFootprint).
DECLARED_UNITS = frozenset({"liter", "kilogram", "cubic meter", "kilowatt hour", "megajoule",
                            "ton kilometer", "square meter", "piece", "hour",
                            "megabit second"})

EVENT_HASH_PATTERN = r"ni:///sha-256;[0-9a-f]{64}\?ver=CBV2\.0"
EVENT_HASH_HEAD = len("ni:///sha-256;")


# -- keys ----------------------------------------------------------------------------------
def _sha256(text_: str) -> str:
    return hashlib.sha256(text_.encode()).hexdigest()


def item_key(identity: Identity) -> str:
    """The item key of a pack or container (module docstring)."""
    return item_key_of_link(identity.digital_link)


def item_key_of_link(link: str) -> str:
    """The item key of the item whose constrained canonical Digital Link is ``link``."""
    return _sha256("salus-item/1|" + link)


def lot_id(gtin: str, lot: str) -> str:
    return _sha256(f"{gtin}|{lot}")


def prefix_key(prefix: str) -> str:
    return f"{PREFIX}prefix/{prefix}"


def prefix_cover_key(digits: str) -> str:
    return f"{PREFIX}prefix-cover/{digits}"


def item_state_key(item: str) -> str:
    return f"{PREFIX}item/{item}"


def lot_key(lot: str) -> str:
    """State key of a lot, by its lot id."""
    return f"{PREFIX}lot/{lot}"


def event_key(event: str) -> str:
    """State key of an event, by its ``ni:///sha-256;…?ver=CBV2.0`` hash."""
    return f"{PREFIX}event/{event[EVENT_HASH_HEAD:EVENT_HASH_HEAD + 64]}"


def party_key(gln: str) -> str:
    return f"{PREFIX}party/{gln}"


def investigation_key(item: str) -> str:
    return f"{PREFIX}investigation/{item}"


RECALL_PREFIX = f"{PREFIX}recall/"


def recall_key(height: int, lot: str) -> str:
    """State key of a recall notice: by block height (16 digits sort as numbers), then lot id."""
    return f"{RECALL_PREFIX}{height:016d}/{lot}"


def footprint_key(gtin: str, lot: str | None = None) -> str:
    """State key of the footprint of a product (``lot`` None) or of a lot (its lot id)."""
    return f"{PREFIX}footprint/product/{gtin}" if lot is None else f"{PREFIX}footprint/lot/{lot}"


def gtin_prefixes(gtin: str) -> list[str]:
    """Every GS1 company prefix a GTIN-14 could carry: the digits after the indicator."""
    low, high = PREFIX_DIGITS
    return [gtin[1:1 + n] for n in range(low, high + 1)]


# -- dates in block time (no datetime in a contract) ------------------------------------------
def block_date(time_ms: int) -> int:
    """The UTC date of a block time as ``YYYYMMDD``."""
    year, month, day = civil_of_block(time_ms)
    return year * 10_000 + month * 100 + day


def _days_in(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _real_date(value: int) -> int:
    year, month, day = value // 10_000, value // 100 % 100, value % 100
    if not 1 <= month <= 12 or not 1 <= day <= _days_in(year, month):
        raise PydanticCustomError("bad_date", "{value} is not a date (YYYYMMDD)", {"value": value})
    return value


def _check_digit(value: str) -> str:
    """A GTIN's or GLN's last digit is its GS1 check digit (GenSpecs §7.9)."""
    if check_digit(value[:-1]) != value[-1]:
        raise PydanticCustomError("bad_check_digit", "{value}: wrong check digit",
                                  {"value": value})
    return value


# -- argument types (salus.ledger.schema) ----------------------------------------------------
EventHash = text(EVENT_HASH_PATTERN, 89, "a CBV 2.0 canonical event hash, ni:///sha-256;…?ver=CBV2.0")
ItemKey = text("[0-9a-f]{64}", 64, "an item key: SHA-256 of salus-item/1| and its Digital Link")
ItemRef = reference(ItemKey, "item", item_state_key)
Gtin = Annotated[text("[0-9]{14}", 14, "a GTIN-14, check digit verified"),
                 AfterValidator(_check_digit)]
#: AI 10: up to 20 characters of GS1's character set 82 (GenSpecs §7.11).
Lot = text(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}", 20, "a lot or batch number (AI 10)")
Expiry = Annotated[integer(20000101, 20991231, "expiry date, YYYYMMDD (AI 17, day 00 resolved)"),
                   AfterValidator(_real_date)]
CompanyPrefix = text(f"[0-9]{{{PREFIX_DIGITS[0]},{PREFIX_DIGITS[1]}}}", PREFIX_DIGITS[1],
                     "a GS1 company prefix, 4-12 digits")
AggregateAction = one_of(AGGREGATE_ACTIONS, "ADD packs a container, DELETE unpacks it")
ReportStatus = one_of(REPORTABLE, "what the possessor found")
Finding = one_of(FINDINGS, "the investigation's finding")
RecallReason = one_of(RECALL_REASONS, "why the lot is recalled")
Gln = Annotated[text("[0-9]{13}", 13, "a GLN-13, check digit verified"),
                AfterValidator(_check_digit)]
ErrorReason = one_of(ERROR_REASONS, "CBV 2.0 error reason (ER) of an error declaration")
DeclaredUnit = one_of(DECLARED_UNITS, "PACT v3 declaredUnitOfMeasurement")
