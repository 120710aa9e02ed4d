"""Adjudication: ONE pure function from (claim facts, rule set, ledger facts) to a decision
per item (:func:`adjudicate`).

The payer's service runs it to decide; ``salus claims verify`` runs it again, for whoever
holds the claim (the patient, the provider, an auditor), with the facts the ledger recorded
for that decision (:mod:`salus.claims.verify`), and compares. So it reads no clock (the
submission and decision times are facts given to it), no state, no FHIR: the claim is the
small typed structure :class:`ClaimFacts`, which the PAS mapping fills from a Bundle.

Each item is judged in this order; the first check that fails decides it:

1. its fingerprint was already on the ledger (live) when it was submitted: denied
   ``duplicate`` (CARC 18);
2. coverage: none of this payer's for this patient: ``no_coverage``; the date of service
   before its start: ``before_coverage``; after its end: ``after_coverage``;
3. a claim for a service dated after the claim was submitted: ``billing``;
4. no rule matches the code (for the coverage's plan): ``unlisted``, denied or pended as
   the table says;
5. the rule covers nothing: ``not_covered``; then the rule's ``age``, ``sex`` and
   ``places`` limits;
6. a claim: the rendering practitioner's licence not valid on the date of service
   (``licence``; the periods are a fact the caller supplies from the credentials
   application);
7. documentation: a cited record not registered by the provider (as custodian), for this
   patient, at or before the submission's height: denied ``documentation``; none cited
   where the rule requires it: a claim is denied, a request pended;
8. the rule asks for human review: pended ``review``;
9. units. A request is approved for at most the rule's ``units.max`` (fewer: modified,
   ``units``), for ``units.period_days`` days from the decision's date. A claim under a
   rule requiring authorisation uses the first authorisation it cites that approved this
   rule, is active, covers the date of service and has units left: none approved the
   rule: ``prior_auth_absent``; none valid for the date: ``prior_auth_invalid``; none with
   units left: ``prior_auth_exceeded``; fewer left than billed: modified to what is left.
   Other claims lines are held to ``units.max`` (modified, ``units``).

An approved item's amount is its billed amount (pro rata for the units approved), at most
the rule's ``allowed_cents`` per unit. Integers throughout: cents, units, whole years.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

from salus.canonical import jcs
from salus.claims.contracts.layout import (
    APPROVED,
    CLAIM,
    DENIED,
    MODIFIED,
    PENDED,
    authorised_period,
    block_date,
)
from salus.claims.rules import RuleSet


@dataclass(frozen=True)
class Item:
    """One service line: FHIR ``Claim.item``."""

    sequence: int
    code: str  # CPT or HCPCS
    units: int
    amount_cents: int  # billed, for all its units
    date: str  # date of service (planned, in a request), YYYY-MM-DD
    place: str  # CMS place-of-service code


@dataclass(frozen=True)
class ClaimFacts:
    """What adjudication reads of a claim or prior-authorisation request."""

    use: str  # "preauthorization" or "claim"
    coverage: str  # the coverage id
    patient: str  # the patient's member id, as the coverage names her
    birth_date: str  # YYYY-MM-DD (an age limit is judged on each date of service)
    sex: str  # FHIR administrative gender
    provider: str  # the provider organisation
    practitioner: str  # the rendering practitioner's member id
    priority: str
    items: tuple[Item, ...]
    evidence: tuple[str, ...] = ()  # record ids of the records application
    prior_auths: tuple[str, ...] = ()  # the authorisations a claim cites (request ids)


@dataclass(frozen=True)
class Coverage:
    payer: str
    plan: str
    start: str
    end: str | None
    patient: str


@dataclass(frozen=True)
class AuthItem:
    """One approved item of a prior authorisation, as the ledger holds it."""

    sequence: int
    rule: str
    units_left: int  # before this claim used any
    start: str | None
    end: str | None


@dataclass(frozen=True)
class PriorAuth:
    request: str
    coverage: str
    active: bool  # neither cancelled nor replaced
    items: tuple[AuthItem, ...]


@dataclass(frozen=True)
class Record:
    """A cited record as the records application registered it."""

    record: str
    custodian: str
    patient: str
    height: int  # the height its cited version was registered at


@dataclass(frozen=True)
class LedgerFacts:
    """What the ledger (and the credentials application) says, as of the decision."""

    submitted_height: int
    submitted_time: int  # ms, block time of the submission
    decided_time: int  # ms, block time of the decision
    coverage: Coverage | None
    duplicates: frozenset[int] = frozenset()
    prior_auths: tuple[PriorAuth, ...] = ()
    records: tuple[Record, ...] = ()
    #: The periods (start, end or None) in which the rendering practitioner's licence was
    #: valid: a fact the caller supplies, from the credentials application.
    licence: tuple[tuple[str, str | None], ...] = ()


@dataclass(frozen=True)
class ItemDecision:
    sequence: int
    outcome: str
    rule: str | None
    reason: str | None = None
    carc: str | None = None
    units: int | None = None
    amount_cents: int | None = None
    #: A claim item's authorisation: (request, item sequence) whose units it uses.
    prior_auth: tuple[str, int] | None = None
    #: An approved request item's authorised period (start, end).
    period: tuple[str, str] | None = field(default=None)

    def ledger(self) -> dict[str, object]:
        """The item as ``claims.decide`` takes it."""
        return {"sequence": self.sequence, "outcome": self.outcome, "rule": self.rule,
                "reason": self.reason, "carc": self.carc, "units": self.units,
                "amount_cents": self.amount_cents}


def age_on(birth_date: str, date: str) -> int:
    """Whole years completed on ``date``."""
    years = int(date[:4]) - int(birth_date[:4])
    return years - (date[5:] < birth_date[5:])


def _licensed(periods: tuple[tuple[str, str | None], ...], date: str) -> bool:
    return any(start <= date and (end is None or date <= end) for start, end in periods)


class _Judge:
    """One adjudication's working state (the units a claim has used so far)."""

    def __init__(self, claim: ClaimFacts, rules: RuleSet, facts: LedgerFacts) -> None:
        self.claim, self.rules, self.facts = claim, rules, facts
        self.coverage = facts.coverage
        self.plan = None if self.coverage is None else self.coverage.plan
        records = {r.record: r for r in facts.records}
        self.bad_evidence = any(
            (r := records.get(rid)) is None or r.custodian != claim.provider
            or r.patient != claim.patient or r.height > facts.submitted_height
            for rid in claim.evidence)
        auths = {pa.request: pa for pa in facts.prior_auths}
        self.auths = [auths[r] for r in claim.prior_auths if r in auths]
        self.left = {(pa.request, it.sequence): it.units_left
                     for pa in self.auths for it in pa.items}
        self.submitted_date = block_date(facts.submitted_time)

    def deny(self, item: Item, rule: dict | None, reason: str) -> ItemDecision:
        return ItemDecision(item.sequence, DENIED, _id(rule), reason,
                            self.rules.carc(rule, reason))

    def pend(self, item: Item, rule: dict | None, reason: str) -> ItemDecision:
        return ItemDecision(item.sequence, PENDED, _id(rule), reason)

    def grant(self, item: Item, rule: dict, units: int, reason: str,
              prior_auth: tuple[str, int] | None = None,
              period: tuple[str, str] | None = None) -> ItemDecision:
        billed = item.amount_cents * units // item.units
        allowed = billed if rule["allowed_cents"] is None else min(
            billed, rule["allowed_cents"] * units)
        if units < item.units:
            return ItemDecision(item.sequence, MODIFIED, rule["id"], reason,
                                self.rules.carc(rule, reason), units, allowed, prior_auth, period)
        return ItemDecision(item.sequence, APPROVED, rule["id"], None, None, units, allowed,
                            prior_auth, period)

    def item(self, item: Item) -> ItemDecision:
        claim, coverage = self.claim, self.coverage
        rule = self.rules.match(item.code, self.plan)
        if item.sequence in self.facts.duplicates:
            return self.deny(item, rule, "duplicate")
        if coverage is None or coverage.payer != self.rules.payer \
                or coverage.patient != claim.patient:
            return self.deny(item, rule, "no_coverage")
        if item.date < coverage.start:
            return self.deny(item, rule, "before_coverage")
        if coverage.end is not None and item.date > coverage.end:
            return self.deny(item, rule, "after_coverage")
        if claim.use == CLAIM and item.date > self.submitted_date:
            return self.deny(item, rule, "billing")
        if rule is None:
            if self.rules.unlisted == "pend":
                return self.pend(item, None, "unlisted")
            return self.deny(item, None, "unlisted")
        if not rule["covered"]:
            return self.deny(item, rule, "not_covered")
        age = rule["age"]
        if age is not None and not age["min"] <= age_on(claim.birth_date, item.date) <= age["max"]:
            return self.deny(item, rule, "age")
        if rule["sex"] is not None and claim.sex not in rule["sex"]:
            return self.deny(item, rule, "sex")
        if rule["places"] is not None and item.place not in rule["places"]:
            return self.deny(item, rule, "place")
        if claim.use == CLAIM and not _licensed(self.facts.licence, item.date):
            return self.deny(item, rule, "licence")
        if self.bad_evidence:
            return self.deny(item, rule, "documentation")
        if rule["documentation"] and not claim.evidence:
            if claim.use == CLAIM:
                return self.deny(item, rule, "documentation")
            return self.pend(item, rule, "documentation")
        if rule["review"]:
            return self.pend(item, rule, "review")
        return self.units(item, rule)

    def units(self, item: Item, rule: dict) -> ItemDecision:
        limit = rule["units"]
        if self.claim.use != CLAIM:
            if limit is None:
                return self.grant(item, rule, item.units, "units")
            period = authorised_period(self.facts.decided_time, limit["period_days"])
            return self.grant(item, rule, min(item.units, limit["max"]), "units", period=period)
        if not rule["prior_auth"]:
            units = item.units if limit is None else min(item.units, limit["max"])
            return self.grant(item, rule, units, "units")
        approving = [(pa, it) for pa in self.auths for it in pa.items if it.rule == rule["id"]]
        if not approving:
            return self.deny(item, rule, "prior_auth_absent")
        valid = [(pa, it) for pa, it in approving
                 if pa.active and pa.coverage == self.claim.coverage
                 and (it.start is None or it.start <= item.date)
                 and (it.end is None or item.date <= it.end)]
        if not valid:
            return self.deny(item, rule, "prior_auth_invalid")
        for pa, it in valid:
            key = (pa.request, it.sequence)
            if self.left[key] > 0:
                units = min(item.units, self.left[key])
                self.left[key] -= units
                return self.grant(item, rule, units, "prior_auth_exceeded", prior_auth=key)
        return self.deny(item, rule, "prior_auth_exceeded")


def _id(rule: dict | None) -> str | None:
    return None if rule is None else rule["id"]


def adjudicate(claim: ClaimFacts, rules: RuleSet, facts: LedgerFacts) -> tuple[ItemDecision, ...]:
    """The decision the published ``rules`` give for each item of ``claim``, in sequence
    order, given the ledger's ``facts`` (module docstring: the order of the checks)."""
    judge = _Judge(claim, rules, facts)
    return tuple(judge.item(item) for item in sorted(claim.items, key=lambda i: i.sequence))


def fingerprint(key: bytes, use: str, patient: str, provider: str, item: Item) -> str:
    """An item's keyed duplicate fingerprint: HMAC-SHA-256 under the consortium's
    fingerprint key of (use, patient, provider, code, date of service, amount). Equal for
    the same service billed twice, at any payer; without the key, nobody can test a guess
    of who was treated for what."""
    message = jcs(["salus-claim-fingerprint/1", use, patient, provider, item.code, item.date,
                   item.amount_cents])
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def fingerprints(key: bytes, claim: ClaimFacts) -> list[str]:
    """Every item's fingerprint, in sequence order (as ``claims.submit`` takes them)."""
    return [fingerprint(key, claim.use, claim.patient, claim.provider, item)
            for item in sorted(claim.items, key=lambda i: i.sequence)]
