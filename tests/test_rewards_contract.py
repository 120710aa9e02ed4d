"""The rewards contract's refusals first (RW1-RW10): who may not call what, awards
without a verified event, twice for one event, past each cap, transfers, cash-like
items, programmes keyed on provider choice, numbers past 2^64, free text where a code
belongs. Each refusal has its code, writes nothing, and the chain goes on."""

from __future__ import annotations

import pytest

from conftest import Chain, ident
from rewards_world import CATALOGUE, HOSPITAL, INSURER, Rewards, build_rewards, programme
from salus.claims.contracts.layout import DAY_MS
from salus.ledger.codes import Code
from salus.rewards.contracts.layout import (
    NOMINAL_ANNUAL_CENTS,
    NOMINAL_ITEM_CENTS,
    REFUSED_EVENTS,
    REFUSED_KINDS,
    account_key,
    block_year,
)

#: 2026-01-01T00:00:00Z in ms: the year boundary the tests cross.
NEW_YEAR_2026 = 1_767_225_600_000


@pytest.fixture
def w(chain: Chain) -> Rewards:
    return build_rewards(chain)


def refused(w: Rewards, raw: bytes, code: str, match: str = "") -> str:
    """Commit ``raw`` alone: it is refused with ``code`` (a reason containing ``match``)
    and the state is as it was."""
    before = list(w.chain.ledger.store.all_state())
    ((got, reason),) = w.run(raw)
    assert got == code, (got, reason)
    assert match in reason, reason
    after = [row for row in w.chain.ledger.store.all_state() if not row[0].startswith("nonce/")]
    assert after == [row for row in before if not row[0].startswith("nonce/")]
    return reason


def balance(w: Rewards, patient: str, pid: str = "stm-keep") -> int:
    account = w.get(account_key(pid, w.did(patient)))
    return 0 if account is None else account["balance"]


# -- RW1-RW3: publishing -------------------------------------------------------------------
def test_only_a_sponsors_officer_publishes_its_own_programme(w: Rewards) -> None:
    assert w.ok(w.call("admin", "publish_programme", programme("stm-admin")))[0]["version"] == 1
    refused(w, w.call("other_officer", "publish_programme", programme()), Code.FORBIDDEN,
            "RW1: `programme` is not riverside's")
    for actor in ("service", "clinician", "gateway", "ana"):
        refused(w, w.call(actor, "publish_programme", programme("x")), Code.FORBIDDEN)
    refused(w, w.call(ident("stranger"), "publish_programme", programme("x")),
            Code.UNKNOWN_SIGNER)
    # the sponsor revises its own: a new version
    assert w.ok(w.call("officer", "publish_programme", programme(expiry_days=60)))[0] == {
        "programme": "stm-keep", "version": 2}


def test_a_lab_or_board_sponsors_nothing(w: Rewards) -> None:
    refused(w, w.call(ident("medboard-admin"), "publish_programme", programme("board")),
            Code.FORBIDDEN, "a board may not do this")


@pytest.mark.parametrize("kind", sorted(REFUSED_KINDS))
def test_cash_like_catalogue_items_are_refused(w: Rewards, kind: str) -> None:
    item = {"id": "card", "code": "CARD-25", "points": 10, "retail_cents": 1000, "kind": kind}
    refused(w, w.call("officer", "publish_programme", programme(
        "cashy", catalogue=[*CATALOGUE, item])), Code.BAD_ARGUMENTS, REFUSED_KINDS[kind])
    assert w.get("rewards/programme/cashy") is None


def test_an_unknown_kind_of_item_is_not_admitted(w: Rewards) -> None:
    item = {"id": "card", "code": "VISA-25", "points": 10, "retail_cents": 1000,
            "kind": "visa_card"}
    refused(w, w.call("officer", "publish_programme", programme("x", catalogue=[item])),
            Code.BAD_ARGUMENTS, "catalogue.0.kind")


@pytest.mark.parametrize("kind", sorted(REFUSED_EVENTS))
def test_a_programme_keyed_on_provider_choice_or_a_billable_service_is_refused(
        w: Rewards, kind: str) -> None:
    refused(w, w.call("officer", "publish_programme", programme(
        "steer", events=[{"kind": kind, "points": 5}])), Code.BAD_ARGUMENTS,
        f"RW2: {kind} may not be rewarded: {REFUSED_EVENTS[kind]}")


def test_no_field_names_a_provider_a_pharmacy_or_a_service(w: Rewards) -> None:
    """There is nowhere to key a rule on a provider: an event or a programme naming one is
    not admitted, and whose records count is the sponsor's or everyone's, never a list."""
    for changes in ({"events": [{"kind": "appointment_kept", "points": 5,
                                 "provider": "riverside"}]},
                    {"events": [{"kind": "appointment_kept", "points": 5, "cpt": "99213"}]},
                    {"custodians": ["st-mary"]}, {"custodians": "riverside"},
                    {"pharmacy": "corner-pharmacy"}):
        refused(w, w.call("officer", "publish_programme", programme("steer", **changes)),
                Code.BAD_ARGUMENTS)


def test_numbers_past_their_bounds(w: Rewards) -> None:
    big = 2**53 - 1  # the largest integer signed JSON carries exactly: past every bound here
    for changes in ({"point_cents": big}, {"point_cents": 0}, {"expiry_days": big},
                    {"expiry_days": -1}, {"item_cap_cents": NOMINAL_ITEM_CENTS + 1},
                    {"annual_cap_cents": NOMINAL_ANNUAL_CENTS + 1},
                    {"annual_cap_cents": big},
                    {"events": [{"kind": "appointment_kept", "points": big}]},
                    {"catalogue": [{**CATALOGUE[0], "points": big}]},
                    {"catalogue": [{**CATALOGUE[0], "retail_cents": big}]},
                    {"point_cents": "100"}, {"point_cents": True}):
        refused(w, w.call("officer", "publish_programme", programme("big", **changes)),
                Code.BAD_ARGUMENTS)


def _hostile(w: Rewards, actor: str, method: str, args: dict, placeholder: int,
             literal: bytes) -> bytes:
    """A transaction a hostile signer writes by hand: ``placeholder`` in the signed JSON
    replaced by ``literal`` (which no SDK signs), and signed again."""
    raw = w.call(actor, method, args)
    payload = raw[64:].replace(str(placeholder).encode(), literal)
    return w.key[actor].sign(payload) + payload


@pytest.mark.parametrize("literal", [str(2**64).encode(), str(2**64 + 1).encode(),
                                     str(2**53).encode(), b"1.5", b"1e3"])
def test_a_number_past_2_64_or_not_an_integer_is_malformed(w: Rewards, literal: bytes) -> None:
    marker = 987_654_321
    for args in (programme("big", point_cents=marker),
                 programme("big", events=[{"kind": "appointment_kept", "points": marker}])):
        refused(w, _hostile(w, "officer", "publish_programme", args, marker, literal),
                Code.MALFORMED)
    assert w.get("rewards/programme/big") is None


def test_free_text_where_a_code_belongs(w: Rewards) -> None:
    for changes in ({"catalogue": [{**CATALOGUE[0], "code": "Mug for our HIV clinic patients"}]},
                    {"catalogue": [{**CATALOGUE[0], "id": "mug for Ana"}]},
                    {"programme": "Reward for visiting Dr Smith"}):
        refused(w, w.call("officer", "publish_programme", {**programme(), **changes}),
                Code.BAD_ARGUMENTS)
    award = w.award(w.record("ana"))
    (out,) = w.ok(award)
    refused(w, w.call("officer", "reverse", {"award": out["award"],
                                             "reason": "patient was rude to staff"}),
            Code.BAD_ARGUMENTS)


def test_caps_above_the_item_cap_or_each_other_are_refused(w: Rewards) -> None:
    # 5 points of 100 cents: 500 cents an appointment, above a 400-cent item cap
    refused(w, w.call("officer", "publish_programme", programme("low", item_cap_cents=400)),
            Code.BAD_ARGUMENTS, "RW2: appointment_kept is worth 500 cents, above the item cap")
    refused(w, w.call("officer", "publish_programme", programme(
        "low", catalogue=[{**CATALOGUE[0], "retail_cents": 1_600}])), Code.BAD_ARGUMENTS,
        "above the item cap (1500 cents)")
    refused(w, w.call("officer", "publish_programme", programme(
        "low", item_cap_cents=1_000, annual_cap_cents=900)), Code.BAD_ARGUMENTS,
        "RW1: the item cap (1000 cents) is above the annual cap")
    # an item worth more than its points: points would buy more than they are worth
    refused(w, w.call("officer", "publish_programme", programme(
        "cheap", catalogue=[{**CATALOGUE[0], "points": 2}])), Code.BAD_ARGUMENTS,
        "points never buy more than they are worth")


# -- RW4: enrolment --------------------------------------------------------------------------
def test_only_the_patient_enrols_herself(chain: Chain) -> None:
    w = build_rewards(chain, enrol=False)
    for actor in ("officer", "service", "clinician"):
        refused(w, w.call(actor, "enrol", {"programme": "stm-keep"}), Code.FORBIDDEN)
    refused(w, w.call(ident("stranger"), "enrol", {"programme": "stm-keep"}),
            Code.UNKNOWN_SIGNER)
    refused(w, w.call("ana", "enrol", {"programme": "no-such"}), Code.NOT_FOUND)
    refused(w, w.call("ana", "enrol", {"programme": "stm-keep", "patient": w.did("ben")}),
            Code.BAD_ARGUMENTS)
    w.ok(w.call("ana", "enrol", {"programme": "stm-keep"}))
    refused(w, w.call("ana", "enrol", {"programme": "stm-keep"}), Code.CONFLICT,
            "enrolled in stm-keep already")


# -- RW5, RW6: awards ------------------------------------------------------------------------
def test_an_award_for_a_kept_appointment(w: Rewards) -> None:
    record = w.record("ana")
    (out,) = w.ok(w.award(record))
    assert out["points"] == 5 and out["balance"] == 5
    assert out["expires"] == w.chain.time + 30 * DAY_MS
    (survey,) = w.ok(w.award(w.record("ana", "QuestionnaireResponse"), "survey_completed"))
    assert survey["balance"] == 8
    mine = w.programme_of("ana", "stm-keep")
    assert [e["kind"] for e in mine["entries"]] == ["award", "award"]
    first = mine["entries"][0]
    assert (first["record"], first["event"], first["sponsor"], first["custodian"],
            first["tx"], first["cents"]) == (record, "appointment_kept", HOSPITAL, HOSPITAL,
                                             out["award"], 500)
    assert mine["balance"] == 8 and mine["consistent"]


def test_only_the_sponsors_service_awards(w: Rewards) -> None:
    record = w.record("ana")
    for actor in ("officer", "admin", "gateway", "clinician", "ana", "other_service",
                  "insurer_service"):
        refused(w, w.award(record, who=actor), Code.FORBIDDEN)
    refused(w, w.award(record, who=ident("stranger")), Code.UNKNOWN_SIGNER)
    w.ok(w.award(record))


def test_no_award_without_a_verified_event(w: Rewards) -> None:
    # no such record on the ledger
    refused(w, w.award("r-" + "0" * 32), Code.NOT_FOUND, "no record")
    # a record, but not the event's kind
    refused(w, w.award(w.record("ana", "Observation")), Code.CONFLICT,
            "appointment_kept is a registered Encounter")
    refused(w, w.award(w.record("ana"), "survey_completed"), Code.CONFLICT,
            "survey_completed is a registered QuestionnaireResponse")
    # an event the programme does not reward
    w.ok(w.call("officer", "publish_programme", programme(
        "surveys", events=[{"kind": "survey_completed", "points": 3}])))
    w.ok(w.call("ana", "enrol", {"programme": "surveys"}))
    refused(w, w.award(w.record("ana"), pid="surveys"), Code.CONFLICT,
            "does not reward appointment_kept")
    # another custodian's record, in a programme of the sponsor's own records
    refused(w, w.award(w.record("ana", custodian="riverside")), Code.FORBIDDEN,
            "the programme rewards only its sponsor's records")
    # an erased record
    erased = w.record("ana")
    w.ok(w.chain.tx(w.key["ana"], "records", "erase", {"patient": w.did("ana"),
                                                       "records": [erased]}))
    refused(w, w.award(erased), Code.CONFLICT, "was erased")
    assert balance(w, "ana") == 0


def test_no_award_for_a_patient_not_enrolled(chain: Chain) -> None:
    w = build_rewards(chain, patients=("ana", "ben", "cara"), enrol=False)
    w.ok(w.call("ana", "enrol", {"programme": "stm-keep"}))
    refused(w, w.award(w.record("cara")), Code.CONFLICT, "not enrolled")
    # a record registered before she enrolled is no event of the programme's
    before = w.record("ben")
    w.ok(w.call("ben", "enrol", {"programme": "stm-keep"}))
    refused(w, w.award(before), Code.CONFLICT, "registered before its patient enrolled")
    # after leaving: no awards, her points stay hers
    w.ok(w.award(w.record("ana")))
    w.ok(w.call("ana", "leave", {"programme": "stm-keep"}))
    refused(w, w.award(w.record("ana")), Code.CONFLICT, "not enrolled")
    assert balance(w, "ana") == 5
    w.ok(w.call("ana", "redeem", {"programme": "stm-keep", "item": "parking"}))
    refused(w, w.call("ana", "leave", {"programme": "stm-keep"}), Code.CONFLICT)


def test_once_per_event(w: Rewards) -> None:
    record = w.record("ana")
    w.ok(w.award(record))
    refused(w, w.award(record), Code.CONFLICT, "RW6: st-mary already rewarded record")
    # nor through another programme of the same sponsor
    w.ok(w.call("officer", "publish_programme", programme("stm-second")))
    w.ok(w.call("ana", "enrol", {"programme": "stm-second"}))
    refused(w, w.award(record, pid="stm-second"), Code.CONFLICT, "RW6")
    # nor twice in one block
    other = w.record("ana")
    assert [c for c, _ in w.run(w.award(other), w.award(other, pid="stm-second"))] == [
        "VALID", "CONFLICT"]
    assert balance(w, "ana") == 10


def test_an_insurer_rewards_any_custodians_record_the_patient_lets_it_read(w: Rewards) -> None:
    w.ok(w.call("insurer_officer", "publish_programme", programme(
        "acme-keep", custodians="any")))
    w.ok(w.call("ana", "enrol", {"programme": "acme-keep"}))
    record = w.record("ana")
    refused(w, w.award(record, pid="acme-keep", who="insurer_service"), Code.FORBIDDEN,
            "no consent of its patient in force lets you read it")
    # St Mary's service cannot award through Acme's programme
    refused(w, w.award(record, pid="acme-keep", who="service"), Code.FORBIDDEN,
            "`programme` is not st-mary's")
    w.ok(w.chain.tx(w.key["ana"], "consent", "grant", {
        "grantee": {"org": INSURER}, "purposes": ["HOPERAT"], "resource_types": ["Encounter"]}))
    w.ok(w.award(record, pid="acme-keep", who="insurer_service"))
    # a record the grant does not cover is still refused
    refused(w, w.award(w.record("ana", "QuestionnaireResponse"), "survey_completed",
                       pid="acme-keep", who="insurer_service"), Code.FORBIDDEN)
    assert balance(w, "ana", "acme-keep") == 5


# -- RW7: caps -------------------------------------------------------------------------------
def test_the_annual_cap_and_its_reset_at_the_year_boundary(w: Rewards) -> None:
    # 500 cents an appointment, a 7500-cent year: 15 awards, not 16
    w.chain.time = NEW_YEAR_2026 - 20 * 1000 - 30 * 60 * 1000
    for _ in range(15):
        w.ok(w.award(w.record("ana")))
    assert block_year(w.chain.time) == 2025
    reason = refused(w, w.award(w.record("ana")), Code.CONFLICT, "RW7")
    assert "awarded 7500 cents to this patient in 2025" in reason
    # the cap is the sponsor's, whichever of its programmes: a second one is capped too
    w.ok(w.call("officer", "publish_programme", programme("stm-second")))
    w.ok(w.call("ana", "enrol", {"programme": "stm-second"}))
    refused(w, w.award(w.record("ana"), pid="stm-second"), Code.CONFLICT, "RW7")
    # ben is a patient of his own
    w.ok(w.award(w.record("ben")))
    # the new year: the cap starts again
    pending = w.record("ana")
    w.chain.time = NEW_YEAR_2026
    w.ok(w.award(pending))
    assert block_year(w.chain.time) == 2026
    assert balance(w, "ana") == 80


def test_the_annual_cap_on_redemptions(chain: Chain) -> None:
    """What a patient redeems in a year stays within the cap, whatever she saved."""
    w = build_rewards(chain)
    w.chain.time = NEW_YEAR_2026 - 60 * 60 * 1000
    for _ in range(15):
        w.ok(w.award(w.record("ana")))
    w.chain.time = NEW_YEAR_2026 + 1000
    for _ in range(15):
        w.ok(w.award(w.record("ana")))
    assert balance(w, "ana") == 150
    for _ in range(6):  # 6 meals: 7200 cents of retail value
        w.ok(w.call("ana", "redeem", {"programme": "stm-keep", "item": "meal"}))
    refused(w, w.call("ana", "redeem", {"programme": "stm-keep", "item": "parking"}),
            Code.CONFLICT, "passes the annual cap (7500 cents)")
    assert balance(w, "ana") == 60


def test_a_programme_sets_lower_caps(w: Rewards) -> None:
    w.ok(w.call("officer", "publish_programme", programme(
        "small", item_cap_cents=500, annual_cap_cents=1_000,
        catalogue=[CATALOGUE[1]])))
    w.ok(w.call("ben", "enrol", {"programme": "small"}))
    w.ok(w.award(w.record("ben"), pid="small"), w.award(w.record("ben"), pid="small"))
    refused(w, w.award(w.record("ben"), pid="small"), Code.CONFLICT, "annual cap (1000 cents)")


# -- RW8, RW10: redemption, no transfers ---------------------------------------------------------
def test_redemption_within_the_balance(w: Rewards) -> None:
    w.ok(w.award(w.record("ana")))
    refused(w, w.call("ana", "redeem", {"programme": "stm-keep", "item": "mug"}),
            Code.CONFLICT, "costs 10 points; your balance is 5")
    refused(w, w.call("ana", "redeem", {"programme": "stm-keep", "item": "gift-card"}),
            Code.NOT_FOUND)
    (out,) = w.ok(w.call("ana", "redeem", {"programme": "stm-keep", "item": "parking"}))
    assert out["balance"] == 0
    line = w.programme_of("ana", "stm-keep")["entries"][-1]
    assert (line["kind"], line["item"], line["code"], line["points"], line["cents"]) == (
        "redemption", "parking", "PARK-1DAY", 5, 400)


def test_points_do_not_move_between_patients(w: Rewards) -> None:
    w.ok(w.award(w.record("ana")))
    # no method moves points
    for name in ("transfer", "give", "send", "move"):
        refused(w, w.call("ana", name, {"programme": "stm-keep", "to": w.did("ben"),
                                        "points": 5}), Code.UNKNOWN_METHOD)
    # redeeming names no patient: one naming ana is not admitted, whoever signs it
    for actor in ("ben", "ana", "officer"):
        refused(w, w.call(actor, "redeem", {"programme": "stm-keep", "item": "parking",
                                            "patient": w.did("ana")}), Code.BAD_ARGUMENTS)
    # ben redeems only his own (none); staff redeem nothing
    refused(w, w.call("ben", "redeem", {"programme": "stm-keep", "item": "parking"}),
            Code.CONFLICT, "your balance is 0")
    refused(w, w.call("officer", "redeem", {"programme": "stm-keep", "item": "parking"}),
            Code.FORBIDDEN)
    # an award goes to the record's patient, never to whom the service would name
    refused(w, w.call("service", "award", {"programme": "stm-keep", "event": "appointment_kept",
                                           "record": w.record("ana"), "patient": w.did("ben")}),
            Code.BAD_ARGUMENTS)
    assert (balance(w, "ana"), balance(w, "ben")) == (5, 0)


# -- RW9: expiry and reversal ----------------------------------------------------------------------
def test_points_expire_and_only_the_patient_or_her_sponsor_may_say_so(w: Rewards) -> None:
    w.ok(w.award(w.record("ana")))
    expire_ana = {"programme": "stm-keep", "patient": w.did("ana")}
    # RW9: not another patient, not another sponsor, not the sponsor's clinician: an
    # account's existence and size would tell who is a patient where
    for who in ("ben", "other_officer", "other_service", "clinician", "insurer_officer"):
        refused(w, w.call(who, "expire", expire_ana), Code.FORBIDDEN, "RW9")
    refused(w, w.call("ana", "expire", expire_ana), Code.CONFLICT,
            "no points are past their expiry")
    w.chain.time += 30 * DAY_MS
    (out,) = w.ok(w.call("service", "expire", expire_ana))
    assert out == {"programme": "stm-keep", "expired": 5}  # no balance in the answer
    refused(w, w.call("ben", "expire", {"programme": "stm-keep", "patient": w.did("ben")}),
            Code.CONFLICT, "holds no points")
    refused(w, w.call(ident("stranger"), "expire", expire_ana), Code.UNKNOWN_SIGNER)
    mine = w.programme_of("ana", "stm-keep")
    assert [(e["kind"], e["points"]) for e in mine["entries"]] == [("award", 5), ("expiry", 5)]


def test_a_redemption_cannot_spend_expired_points(w: Rewards) -> None:
    w.ok(w.award(w.record("ana")))
    w.chain.time += 20 * DAY_MS
    w.ok(w.award(w.record("ana")))
    w.chain.time += 11 * DAY_MS  # the first award's points are past expiry, not yet expired
    refused(w, w.call("ana", "redeem", {"programme": "stm-keep", "item": "mug"}),
            Code.CONFLICT, "your balance is 5")
    (out,) = w.ok(w.call("ana", "redeem", {"programme": "stm-keep", "item": "parking"}))
    assert out["balance"] == 0
    kinds = [e["kind"] for e in w.programme_of("ana", "stm-keep")["entries"]]
    assert kinds == ["award", "award", "expiry", "redemption"]


def test_a_reversal_takes_back_only_what_is_left_of_the_award(w: Rewards) -> None:
    (first,) = w.ok(w.award(w.record("ana")))
    w.ok(w.call("ana", "redeem", {"programme": "stm-keep", "item": "parking"}))
    (second,) = w.ok(w.award(w.record("ana")))
    # the first award's points are spent: nothing of it to take back, and no penalty
    refused(w, w.call("officer", "reverse", {"award": first["award"],
                                             "reason": "entered_in_error"}),
            Code.CONFLICT, "a reversal is no penalty")
    for actor in ("ana", "clinician", "other_officer", "insurer_officer"):
        refused(w, w.call(actor, "reverse", {"award": second["award"],
                                             "reason": "entered_in_error"}), Code.FORBIDDEN)
    refused(w, w.call("officer", "reverse", {"award": "f" * 64, "reason": "entered_in_error"}),
            Code.NOT_FOUND)
    (out,) = w.ok(w.call("officer", "reverse", {"award": second["award"],
                                                "reason": "event_not_kept"}))
    assert out == {"award": second["award"], "points": 5, "balance": 0}
    refused(w, w.call("service", "reverse", {"award": second["award"],
                                             "reason": "entered_in_error"}),
            Code.CONFLICT, "reversed already")
    assert balance(w, "ana") == 0
    mine = w.programme_of("ana", "stm-keep")
    assert mine["entries"][-1]["reason"] == "event_not_kept" and mine["consistent"]


def test_a_reversal_never_reaches_other_awards(w: Rewards) -> None:
    (a,) = w.ok(w.award(w.record("ana")))
    w.ok(w.award(w.record("ana")))
    w.ok(w.call("ana", "redeem", {"programme": "stm-keep", "item": "parking"}))  # spends a
    (b,) = w.ok(w.award(w.record("ana")))
    w.ok(w.call("service", "reverse", {"award": b["award"], "reason": "duplicate_event"}))
    assert balance(w, "ana") == 5  # the second award's points, untouched
    refused(w, w.call("service", "reverse", {"award": a["award"], "reason": "duplicate_event"}),
            Code.CONFLICT)


def test_a_reversal_frees_room_under_the_annual_cap(w: Rewards) -> None:
    awards = [w.ok(w.award(w.record("ana")))[0] for _ in range(15)]
    refused(w, w.award(w.record("ana")), Code.CONFLICT, "RW7")
    w.ok(w.call("officer", "reverse", {"award": awards[3]["award"],
                                       "reason": "wrong_patient"}))
    w.ok(w.award(w.record("ana")))


# -- the statement and the totals ------------------------------------------------------------------
def test_statement_and_programme_totals(w: Rewards) -> None:
    w.ok(w.award(w.record("ana")))
    survey, _ = w.ok(w.award(w.record("ana", "QuestionnaireResponse"), "survey_completed"),
                     w.award(w.record("ben")))
    w.ok(w.call("ana", "redeem", {"programme": "stm-keep", "item": "parking"}))
    w.ok(w.call("service", "reverse", {"award": survey["award"], "reason": "entered_in_error"}))
    mine = w.programme_of("ana", "stm-keep")
    assert (mine["awarded"], mine["redeemed"], mine["expired"], mine["reversed"],
            mine["balance"]) == (8, 5, 0, 3, 0)
    assert mine["consistent"] and mine["enrolled"] and mine["catalogue"] == CATALOGUE
    assert all(len(e["tx"]) == 64 and e["sponsor"] == HOSPITAL for e in mine["entries"])
    totals = w.totals("stm-keep")
    assert totals["points"] == {"awarded": 13, "redeemed": 5, "expired": 0, "reversed": 3,
                                "outstanding": 5}
    assert (totals["enrolled"], totals["awards"], totals["redemptions"]) == (2, 3, 1)
    assert totals["by_event"] == {"appointment_kept": 2, "survey_completed": 1}
    assert totals["by_item"] == {"parking": 1}
    assert totals["cents"] == {"awarded": 1000, "redeemed": 400}  # net of the reversal
    # the totals name no patient and no record
    text = repr(totals)
    assert w.did("ana") not in text and w.did("ben") not in text and "r-" not in text
    assert w.totals("no-such") is None


def test_each_event_and_item_is_named_once(w: Rewards) -> None:
    kept = {"kind": "appointment_kept", "points": 5}
    refused(w, w.call("officer", "publish_programme", programme(
        "twice", events=[kept, {**kept, "points": 1}])), Code.BAD_ARGUMENTS,
        "RW2: name each rewarded event once")
    refused(w, w.call("officer", "publish_programme", programme(
        "twice", catalogue=[CATALOGUE[0], {**CATALOGUE[1], "id": "mug"}])), Code.BAD_ARGUMENTS,
        "RW3: name each catalogue item once")
