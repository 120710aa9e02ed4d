"""Random sequences of rewards calls by random parties, with time passing and years
turning: hypothesis looks for one that breaks the balance identity (awards - redemptions
- expiries - reversals, recomputed from the entries, is the account's balance, the sum
of its live lots, and never negative), moves points between patients, rewards one event
twice, passes an annual cap, or lets a refusal change anything (RW5-RW10)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from conftest import run_reaching, world_ledger
from rewards_world import CATALOGUE, HOSPITAL, Rewards, build_rewards, programme
from salus.claims.contracts.layout import DAY_MS
from salus.ledger import transaction
from salus.rewards.contracts.layout import (
    NOMINAL_ANNUAL_CENTS,
    account_key,
    block_year,
    event_key,
    year_key,
)

PATIENTS = ["ana", "ben", "cara"]
ACTORS = [*PATIENTS, "service", "officer", "other_service", "clinician"]
#: Parking (5 points, one appointment's worth) drawn most.
ITEMS = [i["id"] for i in CATALOGUE] + ["parking", "parking", "no-such-item"]
PROGRAMMES = ["stm-keep", "stm-short"]
#: Valid calls the runs made, by method: the sequences reach what they claim to test.
SEEN: dict[str, int] = {}

#: The service signs most awards, so that sequences go somewhere.
awarders = st.one_of(st.just("service"), st.sampled_from(ACTORS))
patients = st.sampled_from(PATIENTS)


class RewardsLife(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp())
        self.chain = world_ledger(self.dir / "ledger.db")
        self.w: Rewards = build_rewards(self.chain, patients=tuple(PATIENTS))
        # a second programme of the same sponsor: short expiry, small annual cap
        self.w.ok(self.w.call("officer", "publish_programme", programme(
            "stm-short", expiry_days=3, annual_cap_cents=2_000)))
        self.w.ok(*[self.w.call(p, "enrol", {"programme": "stm-short"}) for p in PATIENTS])
        self.records: list[str] = []
        self.awards: list[str] = []

    def teardown(self) -> None:
        self.chain.ledger.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _balances(self) -> dict[tuple[str, str], int]:
        out = {}
        for pid in PROGRAMMES:
            for p in PATIENTS:
                account = self.w.get(account_key(pid, self.w.did(p)))
                out[(pid, p)] = 0 if account is None else account["balance"]
        return out

    def _one(self, raw: bytes, owner: tuple[str, str] | None = None) -> tuple[str, Any]:
        """Commit one call; only ``owner``'s account (programme, patient) may change, and
        a refusal changes nothing."""
        before_state = [r for r in self.chain.ledger.store.all_state()
                        if not r[0].startswith("nonce/")]
        before = self._balances()
        block = self.chain.commit(raw)
        ((code, reason),) = self.chain.verdicts(block)
        after = self._balances()
        if code == "VALID":
            method = transaction.decode(raw).method
            SEEN[method] = SEEN.get(method, 0) + 1
            changed = {k for k in before if before[k] != after[k]}
            assert changed <= ({owner} if owner else set()), (method, changed)
            return code, block.results[0].output
        assert [r for r in self.chain.ledger.store.all_state()
                if not r[0].startswith("nonce/")] == before_state, (code, reason)
        return code, None

    # -- rules -----------------------------------------------------------------------------
    @rule(patient=patients, survey=st.booleans(), pid=st.sampled_from(PROGRAMMES),
          actor=awarders, again=st.booleans())
    def award(self, patient: str, survey: bool, pid: str, actor: str, again: bool) -> None:
        if again and self.records:
            record = self.records[-1]  # an event rewarded (or tried) already
        else:
            record = self.w.record(patient, "QuestionnaireResponse" if survey else "Encounter")
            self.records.append(record)
        doc = self.w.get(f"record/{record}")
        owner = next(p for p in PATIENTS if self.w.did(p) == doc["patient"])
        rewarded_before = self.w.get(event_key(HOSPITAL, record)) is not None
        code, out = self._one(self.w.award(
            record, "survey_completed" if doc["type"] != "Encounter" else "appointment_kept",
            pid, actor), (pid, owner))
        if code == "VALID":
            assert actor == "service" and not rewarded_before
            self.awards.append(out["award"])

    @rule(patient=patients, survey=st.booleans(), pid=st.sampled_from(PROGRAMMES))
    def service_awards(self, patient: str, survey: bool, pid: str) -> None:
        """The common case, drawn as often as every other award: a new event, the
        sponsor's service."""
        self.award(patient, survey, pid, "service", False)

    @rule(patient=patients, pid=st.sampled_from(PROGRAMMES))
    def patient_redeems_parking(self, patient: str, pid: str) -> None:
        self.redeem(patient, "parking", pid)

    @rule(patient=patients, item=st.sampled_from(ITEMS), pid=st.sampled_from(PROGRAMMES))
    def redeem(self, patient: str, item: str, pid: str) -> None:
        self._one(self.w.call(patient, "redeem", {"programme": pid, "item": item}),
                  (pid, patient))

    @rule(actor=st.sampled_from(ACTORS), index=st.integers(0, 50),
          reason=st.sampled_from(["entered_in_error", "wrong_patient", "event_not_kept"]))
    def reverse(self, actor: str, index: int, reason: str) -> None:
        if not self.awards:
            return
        award = self.awards[index % len(self.awards)]
        found = self.w.get(f"rewards/award/{award}")
        owner = next(p for p in PATIENTS if self.w.did(p) == found["patient"])
        code, out = self._one(self.w.call(actor, "reverse", {"award": award, "reason": reason}),
                              (found["programme"], owner))
        if code == "VALID":
            assert actor in ("service", "officer") and 0 < out["points"] <= found["points"]

    @rule(actor=st.sampled_from(ACTORS), patient=patients, pid=st.sampled_from(PROGRAMMES))
    def expire(self, actor: str, patient: str, pid: str) -> None:
        code, _ = self._one(self.w.call(actor, "expire", {"programme": pid,
                                                          "patient": self.w.did(patient)}),
                            (pid, patient))
        if code == "VALID":  # RW9: the patient herself or her sponsor's staff
            assert actor in (patient, "service", "officer"), actor

    @rule(actor=st.sampled_from(ACTORS), patient=patients)
    def short_points_lapse(self, actor: str, patient: str) -> None:
        """Time passes beyond the short programme's expiry, and someone says so."""
        self.chain.time += 4 * DAY_MS
        self.expire(actor, patient, "stm-short")

    @rule(patient=patients, pid=st.sampled_from(PROGRAMMES),
          join=st.sampled_from([True, True, False]))
    def enrolment(self, patient: str, pid: str, join: bool) -> None:
        self._one(self.w.call(patient, "enrol" if join else "leave", {"programme": pid}))

    @rule(days=st.sampled_from([1, 2, 4, 10, 31, 120]))
    def time_passes(self, days: int) -> None:
        self.chain.time += days * DAY_MS

    # -- invariants -----------------------------------------------------------------------------
    @invariant()
    def the_balance_identity_holds(self) -> None:
        for p in PATIENTS:
            statement = self.w.statement(p)
            for line in statement["programmes"]:
                account = self.w.get(account_key(line["programme"], self.w.did(p)))
                held = 0 if account is None else account["balance"]
                assert line["balance"] == line["awarded"] - line["redeemed"] - line["expired"] \
                    - line["reversed"] == held >= 0
                lots = [] if account is None else account["lots"]
                assert sum(x["remaining"] for x in lots) == held
                assert all(0 < x["remaining"] <= x["points"] for x in lots)
                assert line["consistent"]

    @invariant()
    def each_event_is_rewarded_once_and_caps_hold(self) -> None:
        awarded: dict[str, int] = {}
        for p in PATIENTS:
            for line in self.w.statement(p)["programmes"]:
                for e in line["entries"]:
                    if e["kind"] == "award":
                        awarded[e["record"]] = awarded.get(e["record"], 0) + 1
            for year in {2025, block_year(self.chain.time)}:
                totals = self.w.get(year_key(HOSPITAL, self.w.did(p), year))
                if totals is not None:
                    assert 0 <= totals["awarded_cents"] <= NOMINAL_ANNUAL_CENTS
                    assert 0 <= totals["redeemed_cents"] <= NOMINAL_ANNUAL_CENTS
        assert all(n == 1 for n in awarded.values()), awarded


SETTINGS = settings(
    max_examples=25, stateful_step_count=40, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def test_random_sequences_hold_the_invariants_and_reach_every_kind_of_call() -> None:
    """The machine above, reaching awards, redemptions, expiries, reversals, leaving and
    enrolling."""
    run_reaching(RewardsLife, SETTINGS, SEEN, {"award", "redeem", "expire", "reverse", "leave",
                                               "enrol"})
