"""`salus bench rewards` runs small and reports every field, each sane (no timing is
asserted): every visit kept is awarded by the node's own service, checked on every
patient's statement, and the cancelled visits earn nothing."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from salus.cli.main import app
from salus.rewards.bench import MAX_VISITS, POINTS, check_statement, run

runner = CliRunner()


def test_rewards_benchmark_reports_its_fields_and_checks_every_award() -> None:
    result = runner.invoke(app, ["bench", "rewards", "--patients", "6", "--visits", "2",
                                 "--feeds", "2", "--statements", "120", "--in-flight", "4",
                                 "--latency-rate", "60", "--latency-seconds", "0.5", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)  # --json: the JSON object alone
    for field in ("awards_per_s", "awards_seconds", "award_lag_p50_ms", "ingest_per_s", "statement_per_s",
                  "statement_p50_ms", "statement_p99_ms", "offered_statement_per_s",
                  "statement_p99_ms_saturated", "machine"):
        assert field in out, field
    assert out["benchmark"] == "rewards"
    # every kept visit awarded, each checked on its patient's statement
    assert out["awards"] == out["awards_checked"] == 6 * 2
    assert out["statements_checked"] == out["patients"] == 6
    assert out["records"] == 6 * (1 + 2 + 1)  # a Patient, two kept visits, one cancelled
    assert out["awards_per_s"] > 0 and out["awards_seconds"] > 0
    # an award's block comes after its visit's (block times, from the ledger)
    assert out["award_lag_p99_ms"] >= out["award_lag_p50_ms"] >= 0
    assert out["ingest_per_s"] > 0 and out["statement_per_s"] > 0
    assert out["statement_p99_ms"] >= out["statement_p50_ms"] > 0
    assert out["offered_statement_per_s"] > 0 and out["statements"] == 120
    assert {"cpu", "cores", "python", "system"} <= set(out["machine"])


def test_the_benchmark_refuses_more_visits_than_the_annual_cap_awards() -> None:
    result = runner.invoke(app, ["bench", "rewards", "--visits", str(MAX_VISITS + 1)])
    assert result.exit_code != 0 and "annual cap" in result.output
    with pytest.raises(ValueError, match="annual cap"):
        run(visits=0)


def _statement(entries: list[dict[str, object]], balance: int, consistent: bool = True
               ) -> dict[str, object]:
    return {"patient": "did:key:zPat", "programmes": [{
        "programme": "bench-care", "balance": balance, "consistent": consistent,
        "entries": entries}]}


def _award(record: str) -> dict[str, object]:
    return {"kind": "award", "points": POINTS, "record": record, "time": 1}


def test_a_statement_missing_or_doubling_an_award_fails_the_check() -> None:
    good = _statement([_award("r1"), _award("r2")], 2 * POINTS)
    assert len(check_statement(good, 2)) == 2
    bad = [_statement([_award("r1")], POINTS),                        # one visit not awarded
           _statement([_award("r1"), _award("r1")], 2 * POINTS),      # one visit twice
           _statement([_award("r1"), _award("r2")], 2 * POINTS, False),  # balance != account
           _statement([_award("r1"), _award("r2"),
                       {"kind": "redemption", "points": POINTS}], POINTS)]  # something else
    for statement in bad:
        with pytest.raises(RuntimeError):
            check_statement(statement, 2)
