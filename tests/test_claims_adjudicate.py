"""The pure adjudication: every path an item can take, each with its CARC and its rule,
from nothing but (claim facts, rule set, ledger facts)."""

from __future__ import annotations

import ast
import inspect
from dataclasses import replace

import pytest

from claims_world import PAYER, item, rule, table, units
from salus.claims import adjudicate as adjudicate_module
from salus.claims import rules as rules_module
from salus.claims.adjudicate import (
    AuthItem,
    ClaimFacts,
    Coverage,
    LedgerFacts,
    PriorAuth,
    Record,
    adjudicate,
    age_on,
    fingerprint,
    fingerprints,
)
from salus.claims.contracts import facts as facts_module
from salus.claims.contracts import layout
from salus.claims.rules import load
from test_contract_rules import FORBIDDEN_CALLS, FORBIDDEN_MODULES

ANA, BEN = "did:key:ana", "did:key:ben"
COVER = "cv-" + "a" * 32
T0 = 1_763_700_000_000  # 2025-11-21, the tests' block time
DAY = layout.DAY_MS
RULES = load(table())
COVERAGE = Coverage(PAYER, "gold", "2025-01-01", None, ANA)
LICENCE = (("2020-01-01", None),)
PA = "f" * 64


def claim(*items, use="claim", **kw) -> ClaimFacts:
    base = dict(use=use, coverage=COVER, patient=ANA, birth_date="1970-03-15", sex="female",
                provider="st-mary", practitioner="did:key:dr", priority="standard",
                items=tuple(items))
    return ClaimFacts(**{**base, **kw})


def facts(**kw) -> LedgerFacts:
    base = dict(submitted_height=10, submitted_time=T0, decided_time=T0 + 1000,
                coverage=COVERAGE, licence=LICENCE)
    return LedgerFacts(**{**base, **kw})


def one(c: ClaimFacts, f: LedgerFacts | None = None, rules=RULES):
    (d,) = adjudicate(c, rules, f or facts())
    return d


def outcome(d) -> tuple:
    return d.outcome, d.rule, d.reason, d.carc, d.units, d.amount_cents


def test_an_item_the_rules_cover_is_approved_at_the_allowed_amount() -> None:
    assert outcome(one(claim(item(1, "99213", 1, 20_000)))) == (
        "approved", "office-visit", None, None, 1, 15_000)  # billed 200.00, allowed 150.00
    assert outcome(one(claim(item(1, "99214", 1, 9_000)))) == (
        "approved", "office-visit", None, None, 1, 9_000)  # billed less than allowed


@pytest.mark.parametrize(("the_item", "kw", "f", "expected"), [
    (item(1, "99213"), {}, facts(duplicates=frozenset({1})),
     ("denied", "office-visit", "duplicate", "18")),
    (item(1, "99213"), {}, facts(coverage=None), ("denied", "office-visit", "no_coverage", "31")),
    (item(1, "99213"), {}, facts(coverage=replace(COVERAGE, payer="beacon-health")),
     ("denied", "office-visit", "no_coverage", "31")),
    (item(1, "99213"), {"patient": BEN}, facts(), ("denied", "office-visit", "no_coverage", "31")),
    (item(1, "99213", date="2024-12-31"), {}, facts(),
     ("denied", "office-visit", "before_coverage", "26")),
    (item(1, "99213"), {}, facts(coverage=replace(COVERAGE, end="2025-10-31")),
     ("denied", "office-visit", "after_coverage", "27")),
    (item(1, "99213", date="2025-11-22"), {}, facts(),
     ("denied", "office-visit", "billing", "16")),  # billed before it was rendered
    (item(1, "12345"), {}, facts(), ("denied", None, "unlisted", "96")),
    (item(1, "15780"), {}, facts(), ("denied", "cosmetic", "not_covered", "204")),
    (item(1, "77067"), {"birth_date": "1990-01-01"}, facts(), ("denied", "mammogram", "age", "6")),
    (item(1, "77067"), {"sex": "male"}, facts(), ("denied", "mammogram", "sex", "7")),
    (item(1, "99213", place="21"), {}, facts(), ("denied", "office-visit", "place", "5")),
    (item(1, "99213"), {}, facts(licence=(("2020-01-01", "2025-11-20"),)),
     ("denied", "office-visit", "licence", "B7")),  # revoked the day before
    (item(1, "99213"), {}, facts(licence=()), ("denied", "office-visit", "licence", "B7")),
    (item(1, "90837"), {}, facts(), ("denied", "psychotherapy", "documentation", "16")),
    (item(1, "81162"), {}, facts(coverage=replace(COVERAGE, plan="silver")),
     ("denied", None, "unlisted", "96")),  # a gold-only rule, for a silver plan
])
def test_every_denial_carries_its_reason_carc_and_rule(the_item, kw, f, expected) -> None:
    d = one(claim(the_item, **kw), f)
    assert (d.outcome, d.rule, d.reason, d.carc) == expected
    assert d.units is None and d.amount_cents is None


def test_a_failing_check_earlier_in_the_order_decides() -> None:
    # a duplicate of an uncovered service, after coverage ended: the duplicate decides
    f = facts(duplicates=frozenset({1}), coverage=replace(COVERAGE, end="2025-01-31"))
    assert one(claim(item(1, "15780")), f).reason == "duplicate"
    # lapsed coverage before the rules: a covered service after the end is lapsed, not approved
    assert one(claim(item(1, "99213")), facts(coverage=replace(COVERAGE, end="2025-01-31"))
               ).reason == "after_coverage"


def test_unlisted_codes_are_pended_when_the_table_says_so() -> None:
    rules = load(table(unlisted="pend"))
    assert outcome(one(claim(item(1, "12345")), rules=rules)) == (
        "pended", None, "unlisted", None, None, None)


def test_ages_are_whole_years_on_the_date_of_service() -> None:
    assert age_on("1985-11-21", "2025-11-21") == 40
    assert age_on("1985-11-22", "2025-11-21") == 39
    assert age_on("2000-02-29", "2025-02-28") == 24
    assert one(claim(item(1, "77067"), birth_date="1985-11-21")).outcome == "approved"
    assert one(claim(item(1, "77067"), birth_date="1985-11-22")).reason == "age"


def test_evidence_must_be_the_providers_registered_before_the_claim() -> None:
    mine = Record("r-1", "st-mary", ANA, 9)
    c = claim(item(1, "90837"), evidence=("r-1",))
    assert one(c, facts(records=(mine,))).outcome == "approved"
    for bad in (replace(mine, height=11),  # registered after the claim
                replace(mine, custodian="riverside"),  # another provider's record
                replace(mine, patient=BEN)):  # another patient's
        assert outcome(one(c, facts(records=(bad,)))) == (
            "denied", "psychotherapy", "documentation", "16", None, None)
    assert one(c, facts()).reason == "documentation"  # not on the ledger at all
    # a bad citation fails every item, even one whose rule needs no documentation
    assert one(claim(item(1, "99213"), evidence=("r-1",)), facts()).reason == "documentation"


def test_a_request_without_required_documentation_is_pended_for_it() -> None:
    c = claim(item(1, "90837"), use="preauthorization")
    assert outcome(one(c)) == ("pended", "psychotherapy", "documentation", None, None, None)


def test_rules_that_ask_for_review_pend() -> None:
    c = claim(item(1, "95810"), use="preauthorization", evidence=("r-1",))
    d = one(c, facts(records=(Record("r-1", "st-mary", ANA, 3),)))
    assert outcome(d) == ("pended", "sleep-study", "review", None, None, None)


def test_a_request_is_approved_for_at_most_the_rules_units_for_its_period() -> None:
    c = claim(item(1, "97110", 8, 0), use="preauthorization")
    d = one(c)
    assert outcome(d) == ("approved", "physical-therapy", None, None, 8, 0)
    assert d.period == ("2025-11-21", "2026-02-18")  # 90 days from the decision's date
    d = one(claim(item(1, "97162", 20, 0), use="preauthorization"))
    assert outcome(d) == ("modified", "physical-therapy", "units", "119", 12, 0)
    assert d.prior_auth is None


def auth(units_left: int, rule_id: str = "physical-therapy", *, active: bool = True,
         start: str = "2025-11-01", end: str = "2026-01-29", coverage: str = COVER,
         request: str = PA) -> PriorAuth:
    return PriorAuth(request, coverage, active, (AuthItem(1, rule_id, units_left, start, end),))


def test_a_claim_uses_the_authorisation_it_cites() -> None:
    c = claim(item(1, "97110", 4, 20_000), prior_auths=(PA,))
    d = one(c, facts(prior_auths=(auth(12),)))
    assert outcome(d) == ("approved", "physical-therapy", None, None, 4, 16_000)
    assert d.prior_auth == (PA, 1)
    d = one(c, facts(prior_auths=(auth(3),)))  # 3 units left: modified, paid pro rata
    assert outcome(d) == ("modified", "physical-therapy", "prior_auth_exceeded", "198", 3, 12_000)


@pytest.mark.parametrize(("c", "pa", "reason", "carc"), [
    (claim(item(1, "97110", 4)), auth(12), "prior_auth_absent", "197"),  # not cited
    (claim(item(1, "97110", 4), prior_auths=(PA,)), auth(12, "mri-lumbar"),
     "prior_auth_absent", "197"),  # cited, but it authorised another rule
    (claim(item(1, "97110", 4), prior_auths=(PA,)), auth(12, end="2025-11-20"),
     "prior_auth_invalid", "15"),  # expired the day before the service
    (claim(item(1, "97110", 4), prior_auths=(PA,)), auth(12, start="2025-11-22"),
     "prior_auth_invalid", "15"),
    (claim(item(1, "97110", 4), prior_auths=(PA,)), auth(12, active=False),
     "prior_auth_invalid", "15"),  # cancelled
    (claim(item(1, "97110", 4), prior_auths=(PA,)), auth(12, coverage="cv-" + "b" * 32),
     "prior_auth_invalid", "15"),
    (claim(item(1, "97110", 4), prior_auths=(PA,)), auth(0), "prior_auth_exceeded", "198"),
])
def test_missing_invalid_and_exhausted_authorisations_are_denied(c, pa, reason, carc) -> None:
    d = one(c, facts(prior_auths=(pa,)))
    assert (d.outcome, d.rule, d.reason, d.carc) == ("denied", "physical-therapy", reason, carc)


def test_items_of_one_claim_share_an_authorisations_units() -> None:
    c = claim(item(1, "97110", 5, 5_000), item(2, "97161", 5, 5_000), item(3, "97162", 5, 5_000),
              prior_auths=(PA, "e" * 64))
    second = auth(4, request="e" * 64)
    d1, d2, d3 = adjudicate(c, RULES, facts(prior_auths=(auth(8), second)))
    assert (d1.units, d1.prior_auth, d1.outcome) == (5, (PA, 1), "approved")
    assert (d2.units, d2.prior_auth, d2.outcome) == (3, (PA, 1), "modified")  # what PA had left
    assert (d3.units, d3.prior_auth, d3.outcome) == (4, ("e" * 64, 1), "modified")


def test_claim_lines_without_authorisation_are_held_to_units_max() -> None:
    d = one(claim(item(1, "99213", 3, 45_000)))
    assert outcome(d) == ("modified", "office-visit", "units", "119", 1, 15_000)


def test_it_is_one_pure_function_of_its_inputs() -> None:
    c = claim(item(1, "97110", 4, 20_000), item(2, "99213"), item(3, "15780"),
              prior_auths=(PA,))
    f = facts(prior_auths=(auth(3),))
    assert adjudicate(c, RULES, f) == adjudicate(c, load(table()), f)
    assert [d.sequence for d in adjudicate(replace(c, items=c.items[::-1]), RULES, f)] == [1, 2, 3]


@pytest.mark.parametrize("module", [adjudicate_module, rules_module, layout, facts_module],
                         ids=lambda m: m.__name__)
def test_adjudication_is_deterministic_code(module) -> None:
    """Held to the contracts' own rules: no clock, randomness, I/O or floats."""
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            assert not {n.split(".")[0] for n in names} & FORBIDDEN_MODULES
        if isinstance(node, ast.Constant):
            assert not isinstance(node.value, float)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in FORBIDDEN_CALLS


def test_fingerprints_match_a_duplicate_at_any_payer_and_nothing_else() -> None:
    key = b"k" * 32
    c = claim(item(1, "99213", 1, 15_000), item(2, "99214", 1, 15_000))
    at_other_payer = replace(c, coverage="cv-" + "b" * 32, priority="expedited")
    assert fingerprints(key, c) == fingerprints(key, at_other_payer)
    base = fingerprint(key, "claim", ANA, "st-mary", c.items[0])
    for changed in (fingerprint(key, "claim", BEN, "st-mary", c.items[0]),
                    fingerprint(key, "claim", ANA, "riverside", c.items[0]),
                    fingerprint(key, "claim", ANA, "st-mary", replace(c.items[0], code="99214")),
                    fingerprint(key, "claim", ANA, "st-mary",
                                replace(c.items[0], date="2025-11-20")),
                    fingerprint(key, "claim", ANA, "st-mary",
                                replace(c.items[0], amount_cents=15_001)),
                    fingerprint(key, "preauthorization", ANA, "st-mary", c.items[0]),
                    fingerprint(b"x" * 32, "claim", ANA, "st-mary", c.items[0])):
        assert changed != base


def test_layout_dates_round_trip_and_due_times_follow_cms_0057_f() -> None:
    for d in ("1970-01-01", "2000-02-29", "2025-11-21", "2099-12-31", "1969-12-31"):
        assert layout.date_of(layout.days_of(d)) == d
    assert layout.block_date(T0) == "2025-11-21"
    assert layout.due_time("preauthorization", "expedited", T0) == T0 + 72 * 3600 * 1000
    assert layout.due_time("preauthorization", "standard", T0) == T0 + 7 * DAY
    assert layout.due_time("claim", "standard", T0) is None
    assert layout.authorised_period(T0, 1) == ("2025-11-21", "2025-11-21")
    assert units(1, 1) == {"max": 1, "period_days": 1} and rule("x")["covered"] is True
