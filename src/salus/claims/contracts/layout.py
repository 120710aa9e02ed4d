"""Where the claims contract keeps its state, the vocabularies it accepts, and its keys.

State (docs/claims.md, "Decision: what the ledger holds"), every key under ``claims/``:

* ``claims/rules/<version>`` -> ``{payer, version, table, height, time, previous}``: a
  published rule set, whole (public policy); ``claims/rule/<version>/<rule id>`` -> one
  rule with its effective CARC per reason, and ``claims/policy/<version>`` -> ``{payer,
  unlisted, carc}``: what a decision is checked against, read by key.
* ``claims/rules-current/<payer>`` -> ``{version, height}``; ``claims/rules-history/<payer>/
  <height, 16 digits>`` -> version: every version the payer made current, in order.
* ``claims/coverage/<coverage id>`` -> ``{id, payer, plan, start, end, member, patient,
  height, time}``: ``member`` is the payer's keyed hash of the member id, never the id;
  ``claims/member/<payer>/<member hash>`` -> the coverage id (how a PAS request's Coverage
  identifier finds it).
* ``claims/request/<claim hash>`` -> one prior-authorisation request or claim (module
  docstring of :mod:`salus.claims.contracts.claims`: its fields).
* ``claims/fingerprint/<use>/<fingerprint>`` -> ``{request, sequence}``: the live item
  with that keyed duplicate fingerprint.
* ``claims/open/<payer>/<request>`` -> ``{use, priority, due, status}``: what the payer
  still has to decide (its review queue).
* ``claims/review/<payer>/<height>/<index>/<sequence>`` -> ``{request, sequence, kind,
  height, time}``: items a patient flagged as never received, until the payer records
  what it found (the finding then stays on the claim's line).
* ``claims/by-patient/<patient>/<height>/<request>``, ``claims/by-provider/<org>/<height>/
  <request>``, ``claims/by-payer/<payer>/<height>/<request>`` -> ``{use}``: the requests of a
  patient (her explanations of benefit), of a provider and of a payer (its metrics), in
  ledger order.

No claim content: hashes, keyed fingerprints, opaque ids, codes, integers, dates of
coverage and of authorisation, times. The claim, its diagnoses and its services stay in the
provider's and the payer's vaults.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from salus.claims.rules import ID_PATTERN, MAX_UNITS
from salus.ledger.calendar import civil_from_days, days_from_civil
from salus.ledger.schema import Date, Sha256Hex, integer, one_of, reference, text

PREFIX = "claims/"
PREAUTH, CLAIM = "preauthorization", "claim"
USES = frozenset({PREAUTH, CLAIM})
EXPEDITED, STANDARD = "expedited", "standard"
PRIORITIES = frozenset({EXPEDITED, STANDARD})
HOUR_MS = 60 * 60 * 1000
DAY_MS = 24 * HOUR_MS
#: CMS-0057-F: a prior-authorisation decision is due 72 hours (expedited) or 7 calendar
#: days (standard) after the request, here in block time.
DUE_MS = {EXPEDITED: 72 * HOUR_MS, STANDARD: 7 * DAY_MS}
#: An extension moves the due time once, by up to 14 days (42 CFR 422.568, 422.572).
EXTENSION_MS = 14 * DAY_MS

APPROVED, DENIED, PENDED, MODIFIED = "approved", "denied", "pended", "modified"
OUTCOMES = frozenset({APPROVED, DENIED, PENDED, MODIFIED})
GRANTED = frozenset({APPROVED, MODIFIED})
SUBMITTED, DECIDED, APPEALED = "submitted", "decided", "appealed"
CANCELLED, REPLACED = "cancelled", "replaced"
#: Statuses in which the payer owes a decision.
OPEN = frozenset({SUBMITTED, PENDED, APPEALED})
LIVE = frozenset({SUBMITTED, PENDED, DECIDED, APPEALED})

PAYER_TYPES = frozenset({"insurer"})
PROVIDER_TYPES = frozenset({"hospital", "lab", "pharmacy"})
#: Who at a payer states its policy (rules, coverage), and who decides requests.
POLICY_ROLES = ("claims_officer", "admin")
MEDICAL_REVIEWER = "medical_reviewer"
REVIEW_ROLES = ("claims_officer", MEDICAL_REVIEWER)
#: Who at a provider submits, updates, cancels and appeals its requests.
PROVIDER_ROLES = ("registrar", "clinician")

MAX_ITEMS = 50  # X12 837P's service lines per claim
MAX_EVIDENCE = 20
MAX_PRIOR_AUTHS = 10
MAX_APPEALS = 2
MAX_PAYMENTS = 10


# -- keys ------------------------------------------------------------------------------------
def rules_key(version: str) -> str:
    return f"{PREFIX}rules/{version}"


def rule_key(version: str, rule: str) -> str:
    return f"{PREFIX}rule/{version}/{rule}"


def policy_key(version: str) -> str:
    return f"{PREFIX}policy/{version}"


def current_rules_key(payer: str) -> str:
    return f"{PREFIX}rules-current/{payer}"


def rules_history_key(payer: str, height: int) -> str:
    return f"{PREFIX}rules-history/{payer}/{height:016d}"


def coverage_key(coverage: str) -> str:
    return f"{PREFIX}coverage/{coverage}"


def member_key(payer: str, member: str) -> str:
    return f"{PREFIX}member/{payer}/{member}"


def request_key(request: str) -> str:
    return f"{PREFIX}request/{request}"


def fingerprint_key(use: str, fingerprint: str) -> str:
    return f"{PREFIX}fingerprint/{use}/{fingerprint}"


def open_key(payer: str, request: str) -> str:
    return f"{PREFIX}open/{payer}/{request}"


def review_key(payer: str, height: int, index: int, sequence: int) -> str:
    return f"{PREFIX}review/{payer}/{height:012d}/{index:05d}/{sequence:03d}"


def index_key(kind: str, who: str, height: int, request: str) -> str:
    """``kind``: ``by-patient``, ``by-provider`` or ``by-payer``."""
    return f"{PREFIX}{kind}/{who}/{height:012d}/{request}"


# -- dates in block time (no datetime in a contract) ------------------------------------------
def days_of(date: str) -> int:
    """Days since 1970-01-01 of a ``YYYY-MM-DD`` date."""
    return days_from_civil(int(date[:4]), int(date[5:7]), int(date[8:10]))


def date_of(days: int) -> str:
    """The ``YYYY-MM-DD`` date ``days`` after 1970-01-01."""
    year, month, day = civil_from_days(days)
    return f"{year:04d}-{month:02d}-{day:02d}"


def block_date(time_ms: int) -> str:
    """The UTC date of a block time."""
    return date_of(time_ms // DAY_MS)


def authorised_period(decided_ms: int, period_days: int) -> tuple[str, str]:
    """An approved authorisation's period: from the decision's date, ``period_days`` days."""
    start = decided_ms // DAY_MS
    return date_of(start), date_of(start + period_days - 1)


def due_time(use: str, priority: str, submitted_ms: int) -> int | None:
    """When a decision is due (CMS-0057-F binds prior authorisation; a claim has no due
    time here)."""
    return submitted_ms + DUE_MS[priority] if use == PREAUTH else None


def _real_date(value: str) -> str:
    """A ``YYYY-MM-DD`` that names a day (2025-02-30 does not: it comes back as March)."""
    if date_of(days_of(value)) != value:
        raise PydanticCustomError("bad_date", "{value} is not a date", {"value": value})
    return value


# -- argument types (salus.ledger.schema) ----------------------------------------------------
RealDate = Annotated[Date, AfterValidator(_real_date)]
Use = one_of(USES, "FHIR Claim.use: preauthorization or claim")
Priority = one_of(PRIORITIES, "CMS-0057-F priority: expedited (72 h) or standard (7 days)")
Outcome = one_of(OUTCOMES, "an item's decision")
#: What the payer found when it looked into a service the patient flagged (CL16).
CONFIRMED, UNFOUNDED = "confirmed", "unfounded"
FINDINGS = frozenset({CONFIRMED, UNFOUNDED})
Finding = one_of(FINDINGS, "what the payer found: confirmed (the service was not rendered as "
                           "billed) or unfounded (the records show it was)")
RequestId = text("[0-9a-f]{64}", 64, "a request: the SHA-256 of the claim document")
RequestRef = reference(RequestId, "claim or prior-authorisation request", request_key)
#: Opaque by construction: hex the payer draws, never a member or policy number.
CoverageId = text("cv-[0-9a-f]{32}", 35, "a coverage id: cv- and 32 random hex digits")
CoverageRef = reference(CoverageId, "coverage", coverage_key)
MemberHash = text("[0-9a-f]{64}", 64, "the payer's keyed hash (HMAC-SHA-256) of the member id")
Fingerprint = Sha256Hex
Sequence = integer(1, MAX_ITEMS, "an item's sequence number (FHIR Claim.item.sequence)")
ItemCount = integer(1, MAX_ITEMS, "how many items the document holds")
UnitCount = integer(1, MAX_UNITS, "units of service")
PlanId = text(ID_PATTERN, 64, "a plan code (the payer's own)")
