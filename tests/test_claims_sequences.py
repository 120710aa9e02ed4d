"""Random sequences of claims calls by random parties: hypothesis looks for one that takes
an authorisation's units below zero (or loses track of them), lets anyone but the payer's
reviewers decide, decides a request a second time without an appeal, or lets a duplicate
through (CL5, CL6, CL9, CL11)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
)

from claims_world import FP_KEY, PAYER, Claims, approve_pa, build_claims, item, table
from conftest import run_reaching, world_ledger
from salus.claims.adjudicate import fingerprints
from salus.claims.contracts.layout import GRANTED, OPEN, open_key
from salus.claims.rules import CARCS, DEFAULT_CARC, REASONS, load
from salus.ledger import transaction

ACTORS = ["officer", "reviewer", "second_reviewer", "other_officer", "payer_admin",
          "registrar", "clinician", "other_registrar", "ana", "ben"]
DECIDERS = {"officer", "reviewer", "second_reviewer"}
#: Who acts for a provider, and which.
PROVIDERS = {"registrar": "st-mary", "clinician": "st-mary", "other_registrar": "riverside"}
#: Services drawn from a small pool, so the same one is billed twice often.
SERVICES = [("99213", 10_000), ("99214", 15_000), ("97110", 4_000), ("97161", 8_000),
            ("15780", 30_000), ("12345", 5_000)]
RULES = load(table())
RULE_IDS = [r["id"] for r in table()["rules"]]
#: Valid calls the runs made, by method: the sequences reach what they claim to test.
SEEN: dict[str, int] = {}

actors = st.sampled_from(ACTORS)
#: A side's calls are signed by one of its own as often as by anyone, so sequences go
#: somewhere (as the supply test's "@holder").
payers = st.one_of(st.sampled_from(sorted(DECIDERS)), actors)
providers = st.one_of(st.sampled_from(["registrar", "clinician"]), actors)
#: Therapy (authorised units) drawn as often as all the rest.
services = st.lists(st.sampled_from(SERVICES + [SERVICES[2], SERVICES[3]] * 2), min_size=1,
                    max_size=3)


class ClaimsLife(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp())
        self.chain = world_ledger(self.dir / "ledger.db")
        self.c: Claims = build_claims(self.chain)
        self.pas = [approve_pa(self.c, "ana", "97110", 6)[0]]
        self.requests: dict[str, Any] = {}  # request id -> its ClaimFacts
        self.live: dict[tuple[str, str], str] = {}  # (use, fingerprint) -> request id
        self.provider: dict[str, str] = {}  # request id -> the provider that submitted it
        self.n = 0

    def teardown(self) -> None:
        self.chain.ledger.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _one(self, raw: bytes) -> str:
        (code, _), = self.c.run(raw)
        if code == "VALID":
            method = transaction.decode(raw).method
            SEEN[method] = SEEN.get(method, 0) + 1
        return code

    def _status(self, rid: str) -> str:
        return self.c.request(rid)["status"]

    # -- the provider's side ---------------------------------------------------------------
    @rule(actor=providers, patient=st.sampled_from(["ana", "ana", "ben"]), lines=services,
          cite=st.sampled_from([True, True, False]), preauth=st.sampled_from([False, False, True]))
    def submit(self, actor: str, patient: str, lines, cite: bool, preauth: bool) -> None:
        self.n += 1
        use = "preauthorization" if preauth else "claim"
        claim = self.c.facts(patient, [item(i, code, 2, cents) for i, (code, cents)
                                       in enumerate(lines, start=1)], use=use,
                             prior_auths=tuple(self.pas_of(patient)) if cite
                             and use == "claim" else ())
        rid, args = self.c.submit_args(claim, salt=str(self.n))
        live = dict(self.live)
        expected = []
        for seq, fp in enumerate(args["fingerprints"], start=1):
            if (use, fp) in live:
                expected.append(seq)
            else:
                live[(use, fp)] = rid
        if self._one(self.c.call(actor, "submit", args)) != "VALID":
            return
        assert actor in PROVIDERS, actor
        assert self.c.request(rid)["duplicates"] == expected  # every duplicate caught
        self.live = live
        self.requests[rid] = claim
        self.provider[rid] = PROVIDERS[actor]
        if use == "preauthorization":
            self.pas.append(rid)

    def pas_of(self, patient: str) -> list[str]:
        """The authorisation requests under the patient's coverage."""
        return [pa for pa in self.pas if self.c.request(pa)["patient"] == self.c.did(patient)]

    def _parties(self, rid: str) -> set[str]:
        """Who acts for the request's provider, and its patient."""
        staff = {a for a, org in PROVIDERS.items() if org == self.provider[rid]}
        return staff | {"ana" if self.requests[rid].patient == self.c.did("ana") else "ben"}

    @precondition(lambda self: self.requests)
    @rule(actor=actors, data=st.data())
    def cancel(self, actor: str, data) -> None:
        rid = data.draw(st.sampled_from(sorted(self.requests)))
        if self._one(self.c.call(actor, "cancel", {"request": rid})) == "VALID":
            assert actor in self._parties(rid) and actor in PROVIDERS
            self.live = {k: v for k, v in self.live.items() if v != rid}

    @precondition(lambda self: self.requests)
    @rule(actor=providers, data=st.data())
    def appeal(self, actor: str, data) -> None:
        # mostly a decided request's refused item (what an appeal is for), else anything
        decided = {rid: [line["sequence"] for line in found["lines"]
                         if line["outcome"] in ("denied", "modified")]
                   for rid in sorted(self.requests)
                   if (found := self.c.request(rid))["status"] == "decided"}
        decided = {rid: seqs for rid, seqs in decided.items() if seqs}
        if decided and data.draw(st.booleans()):
            rid = data.draw(st.sampled_from(sorted(decided)))
            seq = data.draw(st.sampled_from(decided[rid]))
        else:
            rid = data.draw(st.sampled_from(sorted(self.requests)))
            seq = data.draw(st.integers(1, 3))
        before = self._status(rid)
        if self._one(self.c.call(actor, "appeal", {"request": rid, "items": [seq]})) == "VALID":
            assert before == "decided" and actor in self._parties(rid)

    # -- the payer's side ------------------------------------------------------------------
    @precondition(lambda self: self.requests)
    @rule(actor=payers, data=st.data())
    def decide_by_the_rules(self, actor: str, data) -> None:
        owing = sorted(r for r in self.requests if self._status(r) in OPEN)
        rid = data.draw(st.sampled_from(owing if owing and data.draw(st.booleans())
                                        else sorted(self.requests)))
        found = self.c.request(rid)
        decisions = self.c.adjudicate(rid, self.requests[rid])
        owed = {line["sequence"] for line in found["lines"]
                if line["outcome"] in (None, "pended") or found["status"] == "appealed"}
        uses = [{"sequence": d.sequence, "prior_auth": d.prior_auth[0],
                 "prior_auth_item": d.prior_auth[1], "units": d.units}
                for d in decisions if d.prior_auth is not None and d.sequence in owed
                and found["lines"][d.sequence - 1]["prior_auth"] is None]
        if uses:
            self._one(self.c.call(actor, "use_units", {"claim": rid, "uses": uses}))
        items = [d.ledger() for d in decisions if d.sequence in owed] or \
            [d.ledger() for d in decisions]  # nothing owed: try to decide it all again
        self._decide(actor, rid, items, found["status"] != "submitted")

    @precondition(lambda self: self.requests)
    @rule(actor=actors, data=st.data(), human=st.booleans())
    def decide_anything(self, actor: str, data, human: bool) -> None:
        rid = data.draw(st.sampled_from(sorted(self.requests)))
        items = []
        for seq in range(1, self.c.request(rid)["items"] + 1):
            rule_id = data.draw(st.sampled_from([*RULE_IDS, None]))
            reason = data.draw(st.sampled_from([None, *sorted(REASONS)]))
            table_carc = RULES.carc(RULES.rule(rule_id) if rule_id else None, reason) \
                if reason in DEFAULT_CARC else None
            units = data.draw(st.sampled_from([None, 1, 2, 50]))
            items.append({
                "sequence": seq, "rule": rule_id, "reason": reason, "units": units,
                "outcome": data.draw(st.sampled_from(["approved", "denied", "pended",
                                                      "modified"])),
                "carc": data.draw(st.sampled_from([table_carc, table_carc, *sorted(CARCS)])),
                "amount_cents": None if units is None else data.draw(st.integers(0, 30_000))})
        self._decide(actor, rid, items, human)

    def _decide(self, actor: str, rid: str, items: list[dict], human: bool) -> None:
        before = self.c.request(rid)
        code = self._one(self.c.call(actor, "decide", {"request": rid, "items": items,
                                                       "human_review": human}))
        if code != "VALID":
            return
        assert actor in DECIDERS, actor  # no decision by anyone but the payer's reviewers
        assert before["status"] in OPEN, before["status"]  # never twice without an appeal
        if before["status"] == "appealed":
            assert self.c.did(actor) not in {d["reviewer"] for d in before["decisions"]}

    @precondition(lambda self: self.requests)
    @rule(actor=payers, data=st.data(), units=st.integers(1, 8))
    def use_units(self, actor: str, data, units: int) -> None:
        rid = data.draw(st.sampled_from(sorted(self.requests)))
        pa = data.draw(st.sampled_from(self.pas))
        seq = data.draw(st.integers(1, 3))
        code = self._one(self.c.call(actor, "use_units", {"claim": rid, "uses": [
            {"sequence": seq, "prior_auth": pa, "prior_auth_item": 1, "units": units}]}))
        if code == "VALID":
            assert actor in DECIDERS

    # -- invariants ------------------------------------------------------------------------
    @invariant()
    def units_are_never_below_zero_and_every_unit_is_accounted_for(self) -> None:
        reserved: dict[tuple[str, int], int] = {}
        for rid in self.requests:
            for line in self.c.request(rid)["lines"]:
                if line["prior_auth"] is not None:
                    key = (line["prior_auth"]["request"], line["prior_auth"]["item"])
                    reserved[key] = reserved.get(key, 0) + line["prior_auth"]["units"]
        for pa in self.pas:
            for line in self.c.request(pa)["lines"]:
                assert line["used"] == reserved.get((pa, line["sequence"]), 0)
                if line["used"]:
                    assert line["outcome"] in GRANTED and line["used"] <= line["units"]

    @invariant()
    def duplicates_are_only_ever_denied_18(self) -> None:
        for rid in self.requests:
            found = self.c.request(rid)
            for seq in found["duplicates"]:
                line = found["lines"][seq - 1]
                assert line["outcome"] in (None, "denied") and line["carc"] in (None, "18")

    @invariant()
    def the_queue_holds_what_is_owed(self) -> None:
        for rid in self.requests:
            owed = self._status(rid) in OPEN
            assert (self.c.get(open_key(PAYER, rid)) is not None) == owed

    @invariant()
    def a_fingerprint_names_its_first_live_item(self) -> None:
        for (use, fp), rid in self.live.items():
            held = self.c.get(f"claims/fingerprint/{use}/{fp}")
            assert held["request"] == rid
            assert fingerprints(FP_KEY, self.requests[rid]).index(fp) + 1 == held["sequence"]


#: Derandomized: hypothesis's swarm testing leaves whole rules out of some runs, so a
#: random set of runs does not always reach appeals or reservations; this one does (the
#: test below holds it to that) and runs the same sequences every time.
SETTINGS = settings(
    max_examples=30, stateful_step_count=25, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def test_random_sequences_hold_the_invariants_and_reach_every_kind_of_call() -> None:
    """The machine above, reaching submissions, decisions, reservations, appeals and
    cancellations."""
    run_reaching(ClaimsLife, SETTINGS, SEEN, {"submit", "decide", "use_units", "appeal", "cancel"})
