"""A payer's rule set: a closed, strict decision table, versioned by its RFC 8785 hash,
judged by its first matching rule; every refusal reason is named."""

from __future__ import annotations

import copy
import hashlib
import json

import pytest
import rfc8785

from claims_world import rule, table, units
from salus.claims.rules import (
    CARC_MEANINGS,
    DEFAULT_CARC,
    PROBLEMS,
    RuleSetError,
    check,
    effective_carc,
    load,
    problems,
    reason_applies,
    version,
)


def codes_of(exc: RuleSetError) -> set[str]:
    return {p.code for p in exc.problems}


def test_the_version_is_the_sha256_of_the_rfc8785_bytes() -> None:
    t = table()
    assert version(t) == hashlib.sha256(rfc8785.dumps(t)).hexdigest()
    shuffled = json.loads(json.dumps(t, sort_keys=True))  # the same table, keys reordered
    assert version(shuffled) == version(t)
    changed = copy.deepcopy(t)
    changed["rules"][2]["allowed_cents"] += 1  # one cent
    assert version(changed) != version(t)


def test_the_first_matching_rule_decides() -> None:
    rs = load(table(rules=[
        rule("knee-gold", codes=["27447"], plans=["gold"], prior_auth=True, units=units(1, 30)),
        rule("knee", codes=["27447"]),
        rule("radiology", code_sets=["radiology"]),
        rule("hcpcs", code_sets=["wheelchairs"]),
    ], code_sets=[{"id": "radiology", "codes": [], "ranges": [{"low": "70010", "high": "76499"}]},
                  {"id": "wheelchairs", "codes": ["E1130"],
                   "ranges": [{"low": "K0001", "high": "K0009"}]}]))
    assert rs.match("27447", "gold")["id"] == "knee-gold"
    assert rs.match("27447", "silver")["id"] == "knee"  # plans restrict a rule
    assert rs.match("27447", None)["id"] == "knee"  # no coverage known: no plan's rule
    assert rs.match("72148", "gold")["id"] == "radiology"  # inside a range
    assert rs.match("76500", "gold") is None  # past its end: unlisted
    assert rs.match("K0005", "gold")["id"] == "hcpcs"
    assert rs.match("E1130", "gold")["id"] == "hcpcs"
    assert rs.match("L0005", "gold") is None  # another HCPCS letter is another form
    assert rs.match("7010T", "gold") is None  # a CPT III code is not in a CPT I range


@pytest.mark.parametrize(("change", "code"), [
    (lambda t: t["rules"].append(copy.deepcopy(t["rules"][0])), "RULE_TWICE"),
    (lambda t: t["code_sets"].append(copy.deepcopy(t["code_sets"][0])), "SET_TWICE"),
    (lambda t: t["rules"][0]["code_sets"].append("nowhere"), "UNKNOWN_SET"),
    (lambda t: t["rules"][0].update(codes=[]), "EMPTY_RULE"),
    (lambda t: t["code_sets"][0].update(codes=[], ranges=[]), "EMPTY_SET"),
    (lambda t: t["rules"][2]["codes"].append("99213"), "REPEATED"),
    (lambda t: t["rules"][2].update(places=["11", "11"]), "REPEATED"),
    (lambda t: t["code_sets"][0]["ranges"].append({"low": "97163", "high": "97161"}),
     "BAD_RANGE"),
    (lambda t: t["code_sets"][0]["ranges"].append({"low": "97161", "high": "9716T"}),
     "MIXED_RANGE"),
    (lambda t: t["rules"][3].update(age={"min": 60, "max": 40}), "BAD_AGES"),
    (lambda t: t["rules"][0].update(units=None), "AUTH_WITHOUT_UNITS"),
    (lambda t: t["rules"][4].update(review=True), "UNCOVERED_ACTS"),
])
def test_every_problem_is_named(change, code) -> None:
    t = table()
    change(t)
    with pytest.raises(RuleSetError) as caught:
        check(t)
    assert code in codes_of(caught.value) and code in PROBLEMS
    assert problems(table()) == []


@pytest.mark.parametrize("change", [
    lambda t: t["rules"][2].update(allowed_cents=150.0),  # a float
    lambda t: t["rules"][2].update(allowed_cents=2**64),  # past any bound
    lambda t: t["rules"][2].update(allowed_cents=-1),
    lambda t: t["rules"][2].update(allowed_cents="15000"),  # no coercion
    lambda t: t["rules"][0].update(covered=1),
    lambda t: t["rules"][0].update(note="covers lumbar MRI for Ivy Smith"),  # closed
    lambda t: t.update(description="our policy"),
    lambda t: t["rules"][0].update(codes=["lumbar MRI"]),  # free text where a code belongs
    lambda t: t["rules"][0].update(codes=["7214"]),
    lambda t: t["rules"][0].update(id="MRI for Jack"),
    lambda t: t["rules"][2].update(places=["00"]),
    lambda t: t["rules"][3].update(sex=["woman"]),
    lambda t: t["rules"][3].update(age={"min": 40, "max": 151}),
    lambda t: t["rules"][0]["carc"].update(units="45"),  # not a CARC Salus uses
    lambda t: t["carc"].update(duplicate="16"),  # duplicates always carry 18
    lambda t: t.update(unlisted="approve"),
    lambda t: t.update(rules=[]),
    lambda t: t.update(rules=[t["rules"][0]] * 201),
])
def test_what_the_schema_refuses(change) -> None:
    t = table()
    change(t)
    with pytest.raises(RuleSetError) as caught:
        check(t)
    assert codes_of(caught.value) == {"SCHEMA"}


def test_each_failure_carries_its_carc_rule_first_then_table_then_default() -> None:
    t = table(carc={"not_covered": "96", "units": "198"})
    rs = load(t)
    assert rs.carc(rs.rule("cosmetic"), "not_covered") == "96"  # the table's
    assert rs.carc(rs.rule("psychotherapy"), "documentation") == "16"  # the rule's own
    assert rs.carc(rs.rule("mri-lumbar"), "documentation") == "252"  # the default
    assert rs.carc(None, "duplicate") == "18"
    assert effective_carc(t, t["rules"][0], "prior_auth_absent") == "197"
    assert set(DEFAULT_CARC.values()) <= set(CARC_MEANINGS)


def test_a_reason_needs_a_rule_that_has_what_it_judges() -> None:
    rs = load(table())
    mri, visit, mammo, cosmetic = (rs.rule(r) for r in
                                   ("mri-lumbar", "office-visit", "mammogram", "cosmetic"))
    assert reason_applies(mammo, "age", "claim") and not reason_applies(visit, "age", "claim")
    assert reason_applies(visit, "place", "claim") and not reason_applies(mri, "place", "claim")
    assert reason_applies(cosmetic, "not_covered", "claim")
    assert not reason_applies(visit, "not_covered", "claim")
    assert reason_applies(mri, "prior_auth_absent", "claim")
    assert not reason_applies(visit, "prior_auth_absent", "claim")
    assert not reason_applies(mri, "prior_auth_absent", "preauthorization")
    assert not reason_applies(mri, "licence", "preauthorization")
    assert reason_applies(None, "unlisted", "claim") and not reason_applies(mri, "unlisted", "claim")
    assert not reason_applies(None, "age", "claim")
    assert reason_applies(None, "duplicate", "claim") and reason_applies(mri, "after_coverage",
                                                                        "preauthorization")
