"""The benchmark runs and reports every field the docs promise (no timing is asserted)."""

from __future__ import annotations

from salus.bench.ledger import run


def test_ledger_benchmark_reports_its_fields() -> None:
    result = run(txs=2000, signers=10, batch=500, latency_seconds=0.4, in_flight=2)
    for field in ("tx_per_s", "txs", "ed25519_verify_per_s_per_core", "p50_ms_at_5000",
                  "p99_ms_at_5000", "proofs_per_s_in_process", "proofs_per_s_http", "machine"):
        assert field in result, field
    assert result["txs"] == 2000 and result["invalid"] == 0
    assert result["tx_per_s"] > 0 and result["p99_ms_at_5000"] >= result["p50_ms_at_5000"] > 0
    assert result["proof_tree_size"] >= 2000 + 2000  # the two runs' transactions and the signers


def test_ledger_benchmark_without_a_latency_run_says_so() -> None:
    """--latency-seconds 0 measured throughput, then divided by zero."""
    result = run(txs=1000, signers=10, batch=500, latency_seconds=0, in_flight=2)
    assert result["invalid"] == 0 and result["tx_per_s"] > 0
    assert result["p50_ms_at_5000"] is None and result["p99_ms_at_5000"] is None


def test_records_benchmark_reports_its_fields_and_audits_every_read() -> None:
    from salus.records.bench import run as run_records

    result = run_records(patients=6, clinicians=4, panel=3, reads=300, in_flight=4,
                         latency_rate=200, latency_seconds=0.5)
    for field in ("reads_per_s", "p50_ms", "p99_ms", "ingest_per_s", "first_reads_per_s",
                  "machine"):
        assert field in result, field
    assert result["records"] == 6 * 9  # a Patient and eight clinical resources each
    assert result["reads_per_s"] > 0 and result["ingest_per_s"] > 0
    assert result["p99_ms"] >= result["p50_ms"] > 0
    # every access (first reads, timed reads, latency reads) is on the ledger
    assert result["audited"] == result["accesses"] == 4 * 3 + 300 + 100


def test_credentials_benchmark_reports_its_fields_and_catches_every_revocation() -> None:
    from salus.credentials.bench import run as run_credentials

    result = run_credentials(credentials=300, batch_size=100, revoked=7, workers=2)
    for field in ("verify_per_s", "issue_per_s", "batch_size", "verify_per_s_one_process",
                  "machine"):
        assert field in result, field
    assert result["batch_size"] == 100 and result["credentials"] == 300
    assert result["verify_per_s"] > 0 and result["issue_per_s"] > 0
    # run() raises unless exactly the revoked credentials fail, and at "status"
    assert result["revoked_detected"] == 7


def test_supply_benchmark_reports_its_fields_at_each_pack_count() -> None:
    from salus.supply.bench import ITEMS_PER_COMMISSION, Options
    from salus.supply.bench import run as run_supply

    packs = (1500, ITEMS_PER_COMMISSION * 2 + 7)
    for client in ("keepalive", "aiohttp"):
        result = run_supply(packs, Options(verifications=300, in_flight=4, latency_rate=200,
                                           latency_seconds=0.5, client=client,
                                           capture_documents=3, capture_in_flight=2))
        for field in ("verify_per_s", "p50_ms", "p99_ms", "packs", "by_packs", "machine",
                      "capture_events_per_s"):
            assert field in result, field
        # run() raises unless every verification of a commissioned pack verified
        assert [row["packs"] for row in result["by_packs"]] == list(packs)
        assert result["packs"] == 1500 and result["client"] == client
        for row in result["by_packs"]:
            assert row["verify_per_s"] > 0 and row["p99_ms"] >= row["p50_ms"] > 0
            assert row["offered_per_s"] > 0 and row["commission_packs_per_s"] > 0
            # run() raises unless every capture succeeded, whole
            assert row["capture_events"] == 300 and row["capture_events_per_s"] > 0
