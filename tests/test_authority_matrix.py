"""The permission matrix: every contract method, called by every kind of actor.

The expected table below is written out from the issue's rules, independently of the
declarations in the code: for each method, who may call it (and whether the call then
succeeds, or is admitted and refused by the contract on its own merits). Everyone else is
refused at admission (``FORBIDDEN``; a key that is no member's: ``UNKNOWN_SIGNER``):
the block drops it, so nothing of it is written and it is in no log. A test below holds
the declarations to the same list, so no method can be added without a row here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest

from authority_world import (
    ACTORS,
    AT_COUNTER,
    DISPENSED,
    IN_TRANSIT,
    MADE,
    RECORD,
    SUPPLY_OPERATORS,
    SUSPECT,
    World,
    build_world,
    ingest_request,
    read_entry,
)
from claims_world import item, member_hash, table
from conftest import ident, world_ledger
from rewards_world import programme
from salus.ledger.codes import Code
from salus.ledger.signatures import executable
from salus.node.contracts import registry
from supply_world import EXPIRY, GTIN, LOT, case, event, pack

VALID, ADMITTED = "VALID", "ADMITTED"  # ADMITTED: past admission; the contract decides
MEMBERS = [a for a in ACTORS if a != "non_member"]
PATIENTS = ["patient", "other_patient"]
#: St Mary's registrar and clinicians: who acts for the provider that submitted the claims.
PROVIDER_STAFF = ["registrar", "clinician_with_grant", "clinician_without_grant"]
#: The payer's claims officer and medical reviewer: who decides its requests.
PAYER_DECIDERS = ["payer_officer", "payer_reviewer"]
#: Who at St Mary's (the sponsor) publishes programmes and reverses its awards.
SPONSOR_OFFICERS = ["sponsor_officer", "target_org_admin"]

Args = Callable[[World], dict[str, Any]]
#: (case, contract, method, args, {actor: VALID | ADMITTED}); everyone else is refused.
CASES: list[tuple[str, str, str, Args, dict[str, str]]] = [
    ("register a new patient", "membership", "register_patient", lambda w: {},
     {"non_member": VALID}),
    ("enrol into St Mary's", "membership", "enrol",
     lambda w: {"org": "st-mary", "member": ident("newcomer").did, "roles": ["nurse"]},
     {"target_org_admin": VALID}),
    ("grant roles to St Mary's nurse", "membership", "grant_roles",
     lambda w: {"member": w.did("nurse"), "roles": ["clinician"]}, {"target_org_admin": VALID}),
    ("grant roles to the patient", "membership", "grant_roles",
     lambda w: {"member": w.did("patient"), "roles": ["emergency_clinician"]}, {}),
    ("revoke roles of St Mary's nurse", "membership", "revoke_roles",
     lambda w: {"member": w.did("nurse"), "roles": ["nurse"]}, {"target_org_admin": VALID}),
    ("revoke roles of the patient", "membership", "revoke_roles",
     lambda w: {"member": w.did("patient"), "roles": ["researcher"]}, {}),
    ("rotate one's own key", "membership", "rotate_key",
     lambda w: {"new_key": ident("rotated").did}, dict.fromkeys(MEMBERS, VALID)),
    ("rotate the patient's key", "membership", "rotate_key",
     lambda w: {"new_key": ident("takeover").did, "member": w.did("patient")},
     {"patient": VALID}),
    ("rotate St Mary's nurse's key", "membership", "rotate_key",
     lambda w: {"new_key": ident("nurse-new").did, "member": w.did("nurse")},
     {"target_org_admin": VALID, "nurse": VALID}),
    ("revoke the patient's key", "membership", "revoke_key",
     lambda w: {"key": w.did("patient"), "reason": "key_compromise"}, {"patient": VALID}),
    ("revoke St Mary's nurse's key", "membership", "revoke_key",
     lambda w: {"key": w.did("nurse"), "reason": "key_lost"},
     {"target_org_admin": VALID, "nurse": VALID}),
    ("set one's encryption key", "membership", "set_encryption_key",
     lambda w: {"encryption_key": ident("enc").encryption_did}, dict.fromkeys(MEMBERS, VALID)),
    ("choose one's recovery set", "membership", "set_recovery",
     lambda w: {"guardians": [w.did("registrar")], "threshold": 1},
     # the patient's own recovery is open, so only the other patient's change succeeds
     {"patient": ADMITTED, "other_patient": VALID}),
    ("propose a new key for the patient", "membership", "start_recovery",
     lambda w: {"patient": w.did("patient"), "new_key": ident("proposed").did},
     # the other patient's own proposal is open (CONFLICT); the registrar may add theirs
     {"other_patient": ADMITTED, "registrar": VALID}),
    ("approve the patient's recovery", "membership", "approve_recovery",
     lambda w: {"patient": w.did("patient"), "recovery": w.recovery},
     {"registrar": VALID, "other_patient": ADMITTED}),  # already approved: CONFLICT
    ("complete the patient's recovery", "membership", "complete_recovery",
     lambda w: {"patient": w.did("patient"), "recovery": w.recovery},
     {"registrar": ADMITTED, "other_patient": ADMITTED}),  # too few approvals yet
    ("cancel a recovery", "membership", "cancel_recovery",
     lambda w: {"recovery": w.recovery},
     {"patient": VALID, "other_patient": ADMITTED}),  # not hers: NOT_FOUND
    ("add an organisation", "membership", "add_organisation",
     lambda w: {"id": "new-clinic", "name": "New Clinic", "type": "hospital",
                "admins": [ident("new-clinic-admin").did]}, {"regulator_admin": VALID}),
    ("remove an organisation", "membership", "remove_organisation",
     lambda w: {"id": "northlab", "reason": "closed"}, {"regulator_admin": VALID}),
    ("anchor a document hash", "notary", "anchor",
     lambda w: {"hash": hashlib.sha256(b"a document").hexdigest()},
     dict.fromkeys(MEMBERS, VALID)),
    ("amend St Mary's record", "records", "register",
     lambda w: {"record": RECORD, "patient": w.did("patient"), "resource_type": "Observation",
                "content_hash": "ab" * 32, "version": 2, "amends": w.record_hash,
                "request": ingest_request(w, "clinician_with_grant")},
     {"own_gateway": VALID}),
    ("erase the patient's record", "records", "erase",
     lambda w: {"patient": w.did("patient"), "records": [RECORD]},
     {"patient": VALID, "regulator_admin": VALID}),
    ("grant access", "consent", "grant",
     lambda w: {"grantee": {"role": "nurse", "org": "st-mary"}, "purposes": ["TREAT"]},
     {"patient": VALID, "other_patient": VALID}),  # each to their own records
    ("revoke the patient's grant", "consent", "revoke", lambda w: {"grant": w.grant},
     {"patient": VALID, "other_patient": ADMITTED}),  # not hers: NOT_FOUND
    ("opt out of break-glass", "consent", "set_break_glass", lambda w: {"allowed": False},
     {"patient": VALID, "other_patient": VALID}),
    ("log a refused read of St Mary's record", "access", "log",
     lambda w: {"entries": [read_entry(w, "clinician_without_grant", "NO_CONSENT", None)]},
     {"own_gateway": VALID}),
    ("log a granted read under the patient's grant", "access", "log",
     lambda w: {"entries": [read_entry(w, "clinician_with_grant", "CONSENT", w.grant)]},
     {"own_gateway": VALID}),
    ("break the glass on the patient", "access", "break_glass",
     lambda w: {"patient": w.did("patient"), "reason": "life_threatening"},
     {"clinician_without_grant": VALID}),
    ("review an emergency access", "access", "review",
     lambda w: {"entry": w.review_entry, "finding": "justified"}, {"privacy_officer": VALID}),
    ("anchor a credential batch", "credentials", "anchor",
     lambda w: {"root": "cd" * 32, "size": 1, "types": ["LicenseCredential"]},
     {"board_issuer": VALID}),
    ("open a status list", "credentials", "create_status_list",
     lambda w: {"status_list": "another-list", "purpose": "suspension"},
     {"board_issuer": VALID, "cme_issuer": VALID}),
    ("change the board's status list", "credentials", "set_status",
     lambda w: {"status_list": "board-rev",
                "changes": [{"index": 3, "value": True, "reason": "surrendered"}]},
     {"board_issuer": VALID}),
    ("assess a learner", "education", "assess",
     lambda w: {"learner": w.did("nurse"), "kind": "epa", "competency": "EPA1", "level": 3,
                "date": "2026-11-01"}, {"assessor": VALID}),
    ("record teaching", "education", "teach",
     lambda w: {"learners": [w.did("nurse")], "activity": "airway-lab"}, {"assessor": VALID}),
    ("record CME", "education", "record_cme",
     lambda w: {"professional": w.did("nurse"), "activity": "sepsis-2026", "hours": 150,
                "category": "AMA_PRA_1", "completed": "2026-10-01"}, {"cme_issuer": VALID}),
    ("state a CME requirement", "education", "set_cme_requirement",
     lambda w: {"id": "biennial", "hours": 5000, "months": 24},
     {"board_issuer": VALID, "board_admin": VALID}),
    ("record a module", "education", "record_module",
     lambda w: {"module": "airway-101", "learner": w.did("nurse"), "pre": 40, "post": 80},
     {"assessor": VALID}),
    ("register a GS1 company prefix", "supply", "register_prefix",
     lambda w: {"prefix": "761234", "org": "genericco"}, {"regulator_admin": VALID}),
    ("commission pharmaco's GTIN", "supply", "commission",
     lambda w: {"event": event("m commission"), "gtin": GTIN, "lot": LOT, "expiry": EXPIRY,
                "items": [pack("M-NEW")]}, {"maker_operator": VALID}),
    ("repeat pharmaco's commissioning event", "supply", "commission",
     lambda w: {"event": event("world commissioning"), "gtin": GTIN, "lot": LOT,
                "expiry": EXPIRY, "items": [MADE, IN_TRANSIT, AT_COUNTER, DISPENSED, SUSPECT]},
     {"maker_operator": VALID}),  # idempotent: no effect, the first outcome
    ("pack pharmaco's pack into a new case", "supply", "aggregate",
     lambda w: {"event": event("m pack"), "parent": case("55"), "children": [MADE],
                "action": "ADD"}, {"maker_operator": VALID}),
    ("ship pharmaco's pack", "supply", "ship",
     lambda w: {"event": event("m ship"), "items": [MADE], "to": "wholesale",
                "sale": event("m sale")}, {"maker_operator": VALID}),
    ("receive the shipment to the distributor", "supply", "receive",
     lambda w: {"event": event("m receive"), "items": [IN_TRANSIT]},
     {"distributor_operator": VALID}),
    ("dispense the corner pharmacy's pack", "supply", "dispense",
     lambda w: {"event": event("m dispense"), "item": AT_COUNTER}, {"pharmacy_operator": VALID}),
    ("dispense a dispensed pack again", "supply", "dispense",
     lambda w: {"event": event("m dispense again"), "item": DISPENSED},
     {"pharmacy_operator": ADMITTED}),  # CONFLICT: already dispensed
    ("decommission pharmaco's pack", "supply", "decommission",
     lambda w: {"event": event("m decommission"), "items": [MADE]}, {"maker_operator": VALID}),
    ("destroy pharmaco's pack", "supply", "destroy",
     lambda w: {"event": event("m destroy"), "items": [MADE]}, {"maker_operator": VALID}),
    ("recall pharmaco's lot", "supply", "recall",
     lambda w: {"gtin": GTIN, "lot": LOT, "reason": "contamination"},
     {"maker_operator": VALID, "regulator_admin": VALID}),
    ("report the pharmacy's pack suspect", "supply", "report",
     lambda w: {"event": event("m report"), "item": AT_COUNTER, "status": "suspect"},
     {"pharmacy_operator": VALID}),
    ("close the suspect pack's investigation", "supply", "close_investigation",
     lambda w: {"item": SUSPECT, "finding": "cleared"},
     {"maker_operator": VALID, "regulator_admin": VALID}),
    ("register the distributor's party GLN", "supply", "register_party",
     lambda w: {"gln": "9506000000015", "org": "wholesale"}, {"regulator_admin": VALID}),
    ("observe an event", "supply", "observe",
     lambda w: {"event": event("m observe")}, dict.fromkeys(SUPPLY_OPERATORS.values(), VALID)),
    ("declare the world's shipment in error", "supply", "declare_error",
     lambda w: {"event": event("world shipment"), "reason": "incorrect_data"},
     {"maker_operator": VALID}),
    ("repackage pharmaco's pack under pharmaco's GTIN", "supply", "transform",
     lambda w: {"event": event("m transform"), "inputs": [MADE], "gtin": GTIN, "lot": "RP-1",
                "expiry": EXPIRY, "outputs": [pack("M-REPACK")]}, {"maker_operator": VALID}),
    ("capture a document shipping pharmaco's pack", "supply", "capture",
     lambda w: {"steps": [{"method": "observe", "event": event("m doc observe")},
                          {"method": "ship", "event": event("m doc ship"), "items": [MADE],
                           "to": "wholesale"}]}, {"maker_operator": VALID}),
    ("attach a footprint to pharmaco's GTIN", "supply", "attach_footprint",
     lambda w: {"gtin": GTIN, "lot": LOT, "footprint": {
         "footprint_hash": "fe" * 32, "declared_unit": "piece", "declared_amount_milli": 1000,
         "pcf_excluding_biogenic_ug": 21_000_000, "pcf_including_biogenic_ug": 20_500_000,
         "fossil_ghg_ug": 19_000_000}}, {"maker_operator": VALID}),
    ("publish the payer's rules", "claims", "publish_rules",
     lambda w: {"table": table()}, {"payer_officer": VALID, "payer_admin": VALID}),
    ("record the patient's coverage", "claims", "record_coverage",
     lambda w: {"coverage": w.claims.patients["ana"], "plan": "gold", "start": "2025-01-01",
                "member": member_hash("M-ana"), "patient": w.did("patient")},
     {"payer_officer": VALID, "payer_admin": VALID}),
    ("submit a claim for the patient", "claims", "submit",
     lambda w: w.claims.submit_args(w.claims.facts("ana", [item(1, "99213")]), "matrix")[1],
     dict.fromkeys([*PROVIDER_STAFF, "other_provider_registrar"], VALID)),
    ("update St Mary's open claim", "claims", "update",
     lambda w: {"request": w.open_claim, **{k: v for k, v in w.claims.submit_args(
         w.claims.facts("ana", [item(1, "99213")]), "matrix update")[1].items()
         if k not in ("use", "coverage")}}, dict.fromkeys(PROVIDER_STAFF, VALID)),
    ("cancel St Mary's open claim", "claims", "cancel",
     lambda w: {"request": w.open_claim}, dict.fromkeys(PROVIDER_STAFF, VALID)),
    ("appeal the patient's denied claim", "claims", "appeal",
     lambda w: {"request": w.denied_claim, "items": [1]},
     dict.fromkeys([*PROVIDER_STAFF, "patient"], VALID)),
    ("flag a service the patient never received", "claims", "flag_phantom",
     lambda w: {"request": w.open_claim, "items": [2]}, {"patient": VALID}),
    ("record what the payer found on a flagged service", "claims", "resolve_phantom",
     lambda w: {"request": w.denied_claim, "sequence": 1, "finding": "unfounded"},
     dict.fromkeys(PAYER_DECIDERS, VALID)),
    ("extend the payer's open authorisation request", "claims", "extend",
     lambda w: {"request": w.open_pa}, dict.fromkeys(PAYER_DECIDERS, VALID)),
    ("reserve authorised units for the open claim", "claims", "use_units",
     lambda w: {"claim": w.open_claim, "uses": [
         {"sequence": 1, "prior_auth": w.pa, "prior_auth_item": 1, "units": 2}]},
     dict.fromkeys(PAYER_DECIDERS, VALID)),
    ("decide the open claim", "claims", "decide",
     lambda w: {"request": w.open_claim, "human_review": False, "items": [
         {"sequence": 1, "outcome": "denied", "rule": "physical-therapy", "reason": "licence",
          "carc": "B7", "units": None, "amount_cents": None},
         {"sequence": 2, "outcome": "approved", "rule": "office-visit", "reason": None,
          "carc": None, "units": 1, "amount_cents": 10_000}]},
     dict.fromkeys(PAYER_DECIDERS, VALID)),
    ("record the payment of the decided claim", "claims", "record_payment",
     lambda w: {"claim": w.decided_claim, "paid_cents": 10_000, "patient_cents": 2_000,
                "remittance": "ab" * 32}, {"payer_officer": VALID}),
    ("publish a new rewards programme", "rewards", "publish_programme",
     lambda w: programme("matrix-new"),
     dict.fromkeys([*SPONSOR_OFFICERS, "other_sponsor_officer", "payer_admin"], VALID)),
    ("revise St Mary's rewards programme", "rewards", "publish_programme",
     lambda w: programme("stm-keep", expiry_days=60), dict.fromkeys(SPONSOR_OFFICERS, VALID)),
    ("enrol in St Mary's second programme", "rewards", "enrol",
     lambda w: {"programme": "stm-matrix"}, dict.fromkeys(PATIENTS, VALID)),
    ("leave St Mary's programme", "rewards", "leave",
     lambda w: {"programme": "stm-keep"}, dict.fromkeys(PATIENTS, VALID)),
    ("award the patient's kept appointment", "rewards", "award",
     lambda w: {"programme": "stm-keep", "event": "appointment_kept", "record": w.unrewarded},
     {"sponsor_service": VALID}),
    ("redeem parking in St Mary's programme", "rewards", "redeem",
     lambda w: {"programme": "stm-keep", "item": "parking"},
     {"patient": VALID, "other_patient": ADMITTED}),  # he has no points
    ("expire the patient's points", "rewards", "expire",
     lambda w: {"programme": "stm-keep", "patient": w.did("patient")},
     # RW9: the patient and her sponsor only; none is due: refused on its merits
     dict.fromkeys(["patient", *SPONSOR_OFFICERS, "sponsor_service"], ADMITTED)),
    ("reverse St Mary's award to the patient", "rewards", "reverse",
     lambda w: {"award": w.award, "reason": "entered_in_error"},
     dict.fromkeys([*SPONSOR_OFFICERS, "sponsor_service"], VALID)),
]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    chain = world_ledger(tmp_path_factory.mktemp("matrix") / "ledger.db")
    yield build_world(chain)
    chain.ledger.close()


def expected(actor: str, allowed: dict[str, str]) -> str:
    if actor in allowed:
        return allowed[actor]
    if actor == "non_member" and "non_member" not in allowed:
        return Code.UNKNOWN_SIGNER
    return Code.FORBIDDEN


def outcome(world: World, actor: str, contract: str, method: str, args: dict[str, Any]
            ) -> tuple[str, str, bool]:
    """(code, reason, kept) of the call in the next block, without committing it."""
    chain = world.chain
    raw = chain.tx(world.key[actor], contract, method, args)
    txs, ok = executable([raw], chain.ledger.executor.max_tx_bytes)
    result = chain.ledger.executor.execute(chain.ledger.state_bytes, chain.ledger.height + 1,
                                           chain.time + 1000, txs, ok, set())
    (r,) = [*result.results, *result.dropped]
    return r.code, r.reason, bool(result.results)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_every_actor_against_every_method(world: World, case) -> None:
    _, contract, method, args, allowed = case
    for actor in ACTORS:
        want = expected(actor, allowed)
        code, reason, kept = outcome(world, actor, contract, method, args(world))
        assert reason or code == Code.VALID, (actor, code)
        assert "None" not in reason, (actor, reason)  # reasons say something true
        if want == VALID:
            assert code == Code.VALID, (actor, code, reason)
        elif want == ADMITTED:  # past admission, refused by the contract on its merits
            assert kept and code not in (Code.VALID, Code.FORBIDDEN, Code.UNKNOWN_SIGNER), \
                (actor, code, reason)
        else:
            assert (code, kept) == (want, False), (actor, code, reason)


def test_refusals_write_nothing_and_reach_no_log(world: World) -> None:
    """Every refused call of the matrix, committed for real in one block: the block keeps
    none of them and the state does not change."""
    chain = world.chain
    raws = [chain.tx(world.key[actor], contract, method, args(world))
            for _, contract, method, args, allowed in CASES for actor in ACTORS
            if expected(actor, allowed) not in (VALID, ADMITTED)]
    state = list(chain.ledger.store.all_state())
    size = chain.ledger.log_size
    block = chain.commit(*raws)
    assert block.header.tx_count == 0 and chain.ledger.log_size == size
    assert set(chain.codes(block)) == {Code.FORBIDDEN, Code.UNKNOWN_SIGNER}
    assert list(chain.ledger.store.all_state()) == state


def test_the_matrix_covers_every_method() -> None:
    declared = {(m.contract, m.name) for m in registry().all_methods()}
    assert declared == {(c[1], c[2]) for c in CASES}
