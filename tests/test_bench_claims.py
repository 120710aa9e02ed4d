"""`salus bench claims` runs small and reports every field with sane values (no timing
is asserted)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from salus.claims import pas
from salus.claims.bench import MIXES, Options, claim_bundle, outcomes, pa_bundle, run


def test_the_bundles_are_distinct_valid_pas_requests_and_a_claim_cites_its_authorisation(
        ) -> None:
    today = datetime(2026, 3, 2, 10, tzinfo=UTC)
    bodies = [pa_bundle(i, 3, today) for i in range(8)]
    assert len({hashlib.sha256(b).digest() for b in bodies}) == 8
    for i, body in enumerate(bodies):
        request = pas.read_request(body)  # raises on an invalid Bundle
        assert request.use == "preauthorization"
        assert [it.service.code for it in request.items] == [c for c, _ in MIXES[i % 4]]
        # a member's second request is for another day: never its first's duplicate
        assert request.items[0].service_date == ("2026-03-02" if i < 3 else
                                                 "2026-03-03" if i < 6 else "2026-03-04")
    ref = hashlib.sha256(bodies[0]).hexdigest()
    claim = pas.read_request(claim_bundle(0, 0, ref, today))
    assert claim.use == "claim" and claim.pre_auth_refs == (ref,)


def test_outcomes_reads_review_actions_and_claim_reasons() -> None:
    def response(*items: dict) -> dict:
        return {"entry": [{"resource": {"resourceType": "ClaimResponse", "item": list(items)}}]}

    action = {"adjudication": [{"extension": [{"extension": [
        {"url": "x/extension-reviewActionCode",
         "valueCodeableConcept": {"coding": [{"code": "A4"}]}}]}]}]}
    denied = {"adjudication": [{"reason": {"coding": [{"code": "B7"}]}}]}
    paid = {"adjudication": [{"category": {}}]}
    assert outcomes(response(action, denied, paid)) == ["A4", "B7", "paid"]


def test_claims_benchmark_reports_its_fields() -> None:
    result = run(Options(members=12, requests=16, in_flight=4, latency_rate=40,
                         latency_seconds=0.5, claims=4))
    for field in ("pa_decisions_per_s", "p50_ms", "p99_ms", "claims_per_s", "in_flight",
                  "latency_rate", "offered", "offered_per_s", "p99_ms_saturated", "pa_items",
                  "claim_lines", "node_cpu_ms_per_decision", "node_loop_cpu_ms_per_decision",
                  "client_cpu_ms_per_decision", "blocks_per_decision", "load_average",
                  "machine"):
        assert field in result, field
    assert result["benchmark"] == "claims"
    assert result["pa_decisions_per_s"] > 0 and result["claims_per_s"] > 0
    assert result["p99_ms"] >= result["p50_ms"] > 0 and result["offered"] == 20
    # 36 requests cycling through the four mixes (9 of each): every item decided as the
    # rules say; each answer was a PAS response (run() raises otherwise)
    assert result["pa_items"] == {"A1": 27, "A2": 9, "A3": 9, "A4": 9}
    # four claims, each citing an approved MRI, paid on a licence that verifies
    assert result["claims"] == 4 and result["claim_lines"] == {"paid": 4}
    assert result["node_cpu_ms_per_decision"] >= result["node_loop_cpu_ms_per_decision"] >= 0
    assert 0 < result["blocks_per_decision"] <= 2  # two transactions a decision: two blocks at most
    assert {"cpu", "cores", "python"} <= set(result["machine"])
    json.dumps(result)  # what --json prints
