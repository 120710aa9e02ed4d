"""A payer's coverage rules: a versioned decision table that every member can read.

A rule set is a JSON document (:class:`RuleTable`) a payer publishes on the ledger
(``claims.publish_rules``). It is public policy, not health information, so the ledger keeps
the table itself. Its **version** is the SHA-256 of its RFC 8785 canonical bytes
(:func:`version`): the same table has the same version wherever it is written, and a
decision names the version it was made under.

Each rule says, for the service codes it matches (CPT or HCPCS Level II codes, listed, or
named code sets of codes and ranges), and optionally only for some plans:

* ``covered``: whether the service is covered at all;
* ``prior_auth``: whether a prior authorisation must approve it first; such a rule has
  ``units``, and an approval grants at most ``units.max`` units for ``units.period_days``
  days from the decision;
* ``units``: at most ``max`` units (of one claim line, or of one authorisation);
* ``age`` (whole years, inclusive) and ``sex`` (FHIR administrative gender) limits;
* ``places``: the CMS place-of-service codes it may be rendered in;
* ``allowed_cents``: the most the payer allows per unit, in integer cents;
* ``documentation``: the claim must cite supporting records; ``review``: a human reviews
  every request (the item is pended);
* ``carc``: the X12 claim adjustment reason code each failure carries, where the rule set's
  own ``carc`` (or :data:`DEFAULT_CARC`) is not what this rule wants.

**Hit policy FIRST** (as DMN names it): an item is judged by the first rule, in table
order, that matches its code and its coverage's plan; a code no rule matches is
``unlisted`` (denied or pended, as the table's ``unlisted`` says). So specific rules come
before general ones.

The schema is strict and closed (no key it does not name, no coercion, no floats); what it
cannot say is checked by :func:`problems`, every refusal with a stable code
(:data:`PROBLEMS`). Nothing here reads a clock or does I/O: the contract runs it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any, NotRequired

from pydantic import Field, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from salus.canonical import jcs
from salus.ledger.schema import STRICT, OrgId, array, integer, one_of, text

# -- vocabularies -----------------------------------------------------------------------------
#: The X12 claim adjustment reason codes (CARC) Salus uses, with what each says (X12's code
#: list, shortened). A decision carries no other.
CARC_MEANINGS = {
    "5": "procedure inconsistent with the place of service",
    "6": "procedure inconsistent with the patient's age",
    "7": "procedure inconsistent with the patient's gender",
    "15": "authorization number missing, invalid, or not for these services or provider",
    "16": "claim lacks information or has a submission or billing error",
    "18": "exact duplicate claim or service",
    "26": "expenses incurred before coverage",
    "27": "expenses incurred after coverage terminated",
    "31": "patient cannot be identified as our insured",
    "50": "not deemed a medical necessity by the payer",
    "96": "non-covered charge",
    "119": "benefit maximum for this period or occurrence reached",
    "197": "precertification or authorization absent",
    "198": "precertification or authorization exceeded",
    "204": "service not covered under the patient's current benefit plan",
    "252": "an attachment or other documentation is required",
    "B7": "provider not certified or eligible for this service on this date of service",
}
CARCS = frozenset(CARC_MEANINGS)

#: Why an item is not approved as asked, and the CARC it carries unless a table says
#: otherwise. ``duplicate`` always carries 18 (a table cannot change it).
DEFAULT_CARC = {
    "duplicate": "18", "no_coverage": "31", "before_coverage": "26", "after_coverage": "27",
    "billing": "16", "licence": "B7", "unlisted": "96", "not_covered": "204", "age": "6",
    "sex": "7", "place": "5", "documentation": "252", "prior_auth_absent": "197",
    "prior_auth_invalid": "15", "prior_auth_exceeded": "198", "units": "119",
    "medical_necessity": "50",
}
REASONS = frozenset(DEFAULT_CARC) | {"review"}
#: Each reason in plain words, as the pages show it to a patient, a provider and a
#: reviewer (``GET /v1/claims/vocabulary`` serves them with :data:`CARC_MEANINGS`).
REASON_WORDS = {
    "duplicate": "the same service was already billed",
    "no_coverage": "the insurer found no coverage of the patient",
    "before_coverage": "the service was before the coverage started",
    "after_coverage": "the service was after the coverage ended",
    "billing": "a billing error: the service is dated after the claim",
    "unlisted": "the insurer's rules do not list this service",
    "not_covered": "the plan does not cover this service",
    "age": "not covered at the patient's age",
    "sex": "not covered for the patient's sex",
    "place": "not covered where it was given (the place of service)",
    "licence": "the clinician was not licensed on the day of service",
    "documentation": "supporting documents were missing, or not the provider's or the "
                     "patient's, or were registered after the claim",
    "prior_auth_absent": "it needs a prior authorisation, and none approved it",
    "prior_auth_invalid": "the prior authorisation was not valid for it on that day",
    "prior_auth_exceeded": "more than the prior authorisation had left",
    "units": "more units than the plan allows: cut to the limit",
    "medical_necessity": "a medical reviewer judged it not medically necessary",
    "review": "a person at the insurer reviews every such request",
}
FIXED_CARC = frozenset({"duplicate"})
#: Reasons an item is pended (needs a human), with no CARC: the rule asks for review; no
#: rule lists the code and the table pends such codes; a request lacks the documentation
#: its rule requires (a claim is denied for it instead).
PEND_REASONS = frozenset({"review", "unlisted", "documentation"})
#: Reasons an item is approved with fewer units than asked.
MODIFY_REASONS = frozenset({"units", "prior_auth_exceeded"})
#: Reasons that judge the item against its rule: they need a matched rule that holds the
#: attribute (:func:`reason_applies`). Every other reason may be given with or without one.
RULE_REASONS = frozenset({"not_covered", "age", "sex", "place", "units", "documentation",
                          "prior_auth_absent", "prior_auth_invalid", "prior_auth_exceeded",
                          "review"})
#: Reasons only a claim (never a prior-authorisation request) is denied for.
CLAIM_ONLY_REASONS = frozenset({"billing", "licence", "prior_auth_absent",
                                "prior_auth_invalid", "prior_auth_exceeded"})
#: A reason only a human reviewer gives (CMS: an algorithm alone may not deny for it).
HUMAN_REASONS = frozenset({"medical_necessity"})

#: FHIR administrative gender.
SEXES = frozenset({"male", "female", "other", "unknown"})
UNLISTED_POLICIES = frozenset({"deny", "pend"})

#: CPT Category I (5 digits), Category II (4 digits and F), Category III (T), PLA (U), and
#: HCPCS Level II (a letter A-V and 4 digits).
SERVICE_CODE_PATTERN = "[0-9]{5}|[0-9]{4}[FTU]|[A-V][0-9]{4}"
#: CMS place-of-service codes, 01-99.
POS_PATTERN = "0[1-9]|[1-9][0-9]"
ID_PATTERN = "[A-Za-z0-9._-]{1,64}"

MAX_RULES = 200
MAX_CODE_SETS = 100
MAX_CODES = 100  # listed in one rule
MAX_SET_CODES = 1000
MAX_RANGES = 100
MAX_PLANS = 20
MAX_UNITS = 99_999
MAX_PERIOD_DAYS = 3660
MAX_AGE = 150
#: A billion dollars, in cents: far past any claim line, far below 2^53.
MAX_CENTS = 100_000_000_000

ServiceCode = text(SERVICE_CODE_PATTERN, 5, "a CPT or HCPCS Level II code")
Pos = text(POS_PATTERN, 2, "a CMS place-of-service code")
RuleId = text(ID_PATTERN, 64, "a rule id (the rule set's own)")
SetId = text(ID_PATTERN, 64, "a code set id (the rule set's own)")
PlanCode = text(ID_PATTERN, 64, "a plan code (the payer's own)")
Carc = one_of(CARCS, "an X12 claim adjustment reason code Salus uses")
Sex = one_of(SEXES, "FHIR administrative gender")
Units = integer(1, MAX_UNITS, "units of service")
Cents = integer(0, MAX_CENTS, "an amount in cents")

#: Per-reason CARC overrides: any reason but ``duplicate``, each at most once.
CarcMap = TypedDict("CarcMap", {r: NotRequired[Carc]  # type: ignore[misc]
                                for r in sorted(set(DEFAULT_CARC) - FIXED_CARC)})
CarcMap.__pydantic_config__ = STRICT  # type: ignore[attr-defined]


class CodeRange(TypedDict):
    """Codes from ``low`` to ``high`` inclusive, both of the same form (5 digits, 4 digits
    and the same letter, or the same letter and 4 digits)."""

    __pydantic_config__ = STRICT  # type: ignore[misc]
    low: ServiceCode
    high: ServiceCode


class CodeSet(TypedDict):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    id: SetId
    codes: array(ServiceCode, 0, MAX_SET_CODES, "the set's codes, each once")
    ranges: array(CodeRange, 0, MAX_RANGES, "the set's code ranges")


class UnitLimit(TypedDict):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    max: Units
    period_days: integer(1, MAX_PERIOD_DAYS, "days an authorisation's units last")


class AgeLimit(TypedDict):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    min: integer(0, MAX_AGE, "youngest age covered, whole years")
    max: integer(0, MAX_AGE, "oldest age covered, whole years")


class Rule(TypedDict):
    __pydantic_config__ = STRICT  # type: ignore[misc]
    id: RuleId
    codes: array(ServiceCode, 0, MAX_CODES, "codes the rule matches, each once")
    code_sets: array(SetId, 0, 20, "code sets the rule matches, each once")
    plans: array(PlanCode, 0, MAX_PLANS, "plans it applies to; none: every plan")
    covered: bool
    prior_auth: bool
    review: bool
    documentation: bool
    units: UnitLimit | None
    age: AgeLimit | None
    sex: Annotated[list[Sex], Field(min_length=1, max_length=len(SEXES))] | None
    places: Annotated[list[Pos], Field(min_length=1, max_length=99)] | None
    allowed_cents: Cents | None
    carc: CarcMap


class RuleTable(TypedDict):
    """A payer's rule set, as published (and hashed) whole."""

    __pydantic_config__ = STRICT  # type: ignore[misc]
    payer: OrgId
    unlisted: one_of(UNLISTED_POLICIES, "what happens to a code no rule matches")
    carc: CarcMap
    code_sets: array(CodeSet, 0, MAX_CODE_SETS, "named code sets")
    rules: array(Rule, 1, MAX_RULES, "the rules, in order: the first that matches decides")


_TABLE = TypeAdapter(RuleTable)

# -- semantic checks --------------------------------------------------------------------------
#: Every reason a table is refused, by its stable code.
PROBLEMS = {
    "SCHEMA": "does not fit the rule-set schema",
    "RULE_TWICE": "two rules have the same id",
    "SET_TWICE": "two code sets have the same id",
    "UNKNOWN_SET": "a rule names a code set the table does not define",
    "EMPTY_RULE": "a rule matches no code (no codes and no code sets)",
    "EMPTY_SET": "a code set holds no code and no range",
    "REPEATED": "a list names the same value twice",
    "BAD_RANGE": "a range's low code is above its high code",
    "MIXED_RANGE": "a range's codes are of different forms",
    "BAD_AGES": "an age limit's minimum is above its maximum",
    "AUTH_WITHOUT_UNITS": "a rule requiring prior authorisation has no unit limit",
    "UNCOVERED_ACTS": "a rule that covers nothing requires authorisation or review",
}


@dataclass(frozen=True)
class Problem:
    code: str
    where: str
    detail: str

    def __str__(self) -> str:
        return f"{self.code} at {self.where}: {self.detail}"


class RuleSetError(ValueError):
    """A table refused: every problem found, each with its code and where it is."""

    def __init__(self, found: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in found[:5])
                         + (f" (and {len(found) - 5} more)" if len(found) > 5 else ""))
        self.problems = found


def _twice(values: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    again = []
    for v in values:
        if v in seen:
            again.append(v)
        seen.add(v)
    return again


def code_form(code: str) -> str:
    """What a range's two ends must share: the leading letter (HCPCS), the trailing letter
    (CPT II, III, PLA), or nothing (CPT I). Codes of one form compare as strings."""
    if code[0].isalpha():
        return code[0]
    return "#" + code[4] if code[4].isalpha() else "#"


def problems(table: dict[str, Any]) -> list[Problem]:
    """What is wrong with a table that fits the schema (empty when nothing is)."""
    found: list[Problem] = []

    def say(code: str, where: str, detail: str) -> None:
        found.append(Problem(code, where, detail))

    sets = table["code_sets"]
    for again in _twice(s["id"] for s in sets):
        say("SET_TWICE", "code_sets", again)
    for i, s in enumerate(sets):
        where = f"code_sets[{i}]"
        if not s["codes"] and not s["ranges"]:
            say("EMPTY_SET", where, s["id"])
        for again in _twice(s["codes"]):
            say("REPEATED", f"{where}.codes", again)
        for j, r in enumerate(s["ranges"]):
            if code_form(r["low"]) != code_form(r["high"]):
                say("MIXED_RANGE", f"{where}.ranges[{j}]", f"{r['low']}-{r['high']}")
            elif r["low"] > r["high"]:
                say("BAD_RANGE", f"{where}.ranges[{j}]", f"{r['low']}-{r['high']}")
    defined = {s["id"] for s in sets}
    rules = table["rules"]
    for again in _twice(r["id"] for r in rules):
        say("RULE_TWICE", "rules", again)
    for i, r in enumerate(rules):
        where = f"rules[{i}]"
        if not r["codes"] and not r["code_sets"]:
            say("EMPTY_RULE", where, r["id"])
        for name in ("codes", "code_sets", "plans", "sex", "places"):
            for again in _twice(r[name] or []):
                say("REPEATED", f"{where}.{name}", again)
        for s in r["code_sets"]:
            if s not in defined:
                say("UNKNOWN_SET", f"{where}.code_sets", s)
        if r["age"] is not None and r["age"]["min"] > r["age"]["max"]:
            say("BAD_AGES", f"{where}.age", f"{r['age']['min']} > {r['age']['max']}")
        if r["prior_auth"] and r["units"] is None:
            say("AUTH_WITHOUT_UNITS", where, r["id"])
        if not r["covered"] and (r["prior_auth"] or r["review"]):
            say("UNCOVERED_ACTS", where, r["id"])
    return found


def check(table: Any) -> dict[str, Any]:
    """``table`` if it fits the schema and has no :func:`problems`, else
    :class:`RuleSetError`."""
    try:
        _TABLE.validate_python(table, strict=True)
    except ValidationError as exc:
        raise RuleSetError([
            Problem("SCHEMA", ".".join(str(p) for p in e["loc"]) or "table", e["msg"])
            for e in exc.errors(include_url=False, include_input=False)]) from None
    found = problems(table)
    if found:
        raise RuleSetError(found)
    return table


def version(table: dict[str, Any]) -> str:
    """The version of a table: SHA-256 (hex) of its RFC 8785 bytes."""
    return hashlib.sha256(jcs(table)).hexdigest()


def effective_carc(table: dict[str, Any], rule: dict[str, Any] | None, reason: str) -> str:
    """The CARC an item denied (or modified) for ``reason`` under ``rule`` carries: the
    rule's own, else the table's, else :data:`DEFAULT_CARC` (``duplicate``: always 18)."""
    if reason in FIXED_CARC:
        return DEFAULT_CARC[reason]
    if rule is not None and reason in rule["carc"]:
        return rule["carc"][reason]
    return table["carc"].get(reason, DEFAULT_CARC[reason])


def reason_applies(rule: dict[str, Any] | None, reason: str, use: str) -> bool:
    """Can an item judged under ``rule`` (None: no rule matched its code) of a request of
    ``use`` be refused, modified or pended for ``reason``? A reason that judges the item
    against its rule needs a rule holding what it judges: a payer cannot deny for an age
    limit its published rule does not have."""
    if use != "claim" and reason in CLAIM_ONLY_REASONS:
        return False
    if reason == "unlisted":
        return rule is None
    if reason not in RULE_REASONS:
        return True
    if rule is None:
        return False
    return {
        "not_covered": not rule["covered"],
        "age": rule["age"] is not None,
        "sex": rule["sex"] is not None,
        "place": rule["places"] is not None,
        "units": rule["units"] is not None,
        "documentation": True,  # a cited record may fail whatever the rule says
        "review": rule["review"],
    }.get(reason, rule["prior_auth"])  # the prior_auth_* reasons


@dataclass(frozen=True)
class RuleSet:
    """A checked table, ready to match codes (build with :func:`load`)."""

    table: dict[str, Any]
    version: str
    _exact: list[frozenset[str]] = field(repr=False)
    _ranges: list[list[tuple[str, str, str]]] = field(repr=False)
    _by_id: dict[str, dict[str, Any]] = field(repr=False)

    @property
    def payer(self) -> str:
        return self.table["payer"]

    @property
    def unlisted(self) -> str:
        return self.table["unlisted"]

    def rule(self, rule_id: str) -> dict[str, Any] | None:
        return self._by_id.get(rule_id)

    def match(self, code: str, plan: str | None) -> dict[str, Any] | None:
        """The first rule matching ``code`` for a coverage of ``plan`` (None: no coverage
        is known, so only rules for every plan match), or None (unlisted)."""
        form = code_form(code)
        for i, rule in enumerate(self.table["rules"]):
            if rule["plans"] and plan not in rule["plans"]:
                continue
            if code in self._exact[i] or any(f == form and low <= code <= high
                                             for f, low, high in self._ranges[i]):
                return rule
        return None

    def carc(self, rule: dict[str, Any] | None, reason: str) -> str:
        return effective_carc(self.table, rule, reason)


def load(table: Any) -> RuleSet:
    """A :class:`RuleSet` of a table that passes :func:`check`."""
    check(table)
    sets = {s["id"]: s for s in table["code_sets"]}
    exact: list[frozenset[str]] = []
    ranges: list[list[tuple[str, str, str]]] = []
    for rule in table["rules"]:
        named = [sets[s] for s in rule["code_sets"]]
        exact.append(frozenset(rule["codes"]).union(*(s["codes"] for s in named)))
        ranges.append([(code_form(r["low"]), r["low"], r["high"])
                       for s in named for r in s["ranges"]])
    return RuleSet(table, version(table), exact, ranges, {r["id"]: r for r in table["rules"]})
