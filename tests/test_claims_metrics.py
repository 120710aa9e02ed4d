"""The CMS-0057-F metrics (salus.claims.metrics) on a ledger built through the claims
contract: equal to the hand-computed values of claims_metrics_world, payers not mixed,
years split by submission block time, an empty year, refusals, bounded reads."""

from __future__ import annotations

import json
from typing import Any

import pytest

from claims_metrics_world import ACME_2025, seed
from claims_world import OTHER_PAYER, PAYER, PROVIDER, Claims
from salus.claims.metrics import MetricsError, payer_metrics, share_bp, year_bounds


@pytest.fixture
def c(chain) -> Claims:
    return seed(chain)


class Reads:
    """State reads through the store, counted."""

    def __init__(self, c: Claims) -> None:
        self.store = c.chain.ledger.store
        self.gets = self.scans = 0
        self.prefixes: set[str] = set()

    def get(self, key: str) -> Any:
        self.gets += 1
        row = self.store.state_row(key)
        return None if row is None else json.loads(row[0])

    def scan(self, prefix: str, after: str, limit: int) -> list[tuple[str, Any]]:
        self.scans += 1
        self.prefixes.add(prefix)
        return [(k, json.loads(v)) for k, v, _ in self.store.state_scan(prefix, after, limit)]

    def metrics(self, payer: str, year: int, **kw: Any) -> dict[str, Any]:
        return payer_metrics(self.get, self.scan, payer, year, **kw)


def test_metrics_equal_the_hand_computed_values(c: Claims) -> None:
    reads = Reads(c)
    got = reads.metrics(PAYER, 2025)
    assert got["period"] == {"from": "2025-01-01", "to": "2025-12-31",
                             "from_ms": year_bounds(2025)[0], "to_ms": year_bounds(2026)[0]}
    for group in ("standard", "expedited", "all"):
        assert got[group] == ACME_2025[group], group
    # only the payer's own index was scanned, never the whole state
    assert reads.prefixes == {f"claims/by-payer/{PAYER}/"}


def test_years_split_at_new_year_by_submission_block_time(c: Claims) -> None:
    reads = Reads(c)
    # I, submitted at 23:59:59 and decided at 00:00:00, is 2025's; J alone is 2026's
    later = reads.metrics(PAYER, 2026)
    assert later["standard"]["requests"] == later["standard"]["approved"] == 1
    assert later["standard"]["decision_time"] == {"count": 1, "mean_s": 1, "median_s": 1}
    assert later["expedited"]["requests"] == 0 and later["all"]["requests"] == 1


def test_two_payers_are_not_mixed(c: Claims) -> None:
    other = Reads(c).metrics(OTHER_PAYER, 2025)
    assert other["all"]["requests"] == other["standard"]["denied"] == 1
    assert other["all"]["share_bp"]["denied"] == 10_000
    assert other["expedited"]["requests"] == 0
    assert Reads(c).metrics(OTHER_PAYER, 2026)["all"]["requests"] == 0


def test_an_empty_year_gives_zeros_and_none(c: Claims) -> None:
    empty = Reads(c).metrics(PAYER, 2024)
    for group in ("standard", "expedited", "all"):
        g = empty[group]
        assert g["requests"] == g["determined"] == g["approved"] == 0
        assert set(g["share_bp"].values()) == {None}
        assert g["decision_time"] == {"count": 0, "mean_s": None, "median_s": None}


def test_who_is_no_insurer_and_years_out_of_range_are_refused(c: Claims) -> None:
    reads = Reads(c)
    for payer in (PROVIDER, "health-dept", "nobody", "../member", ""):
        with pytest.raises(MetricsError) as err:
            reads.metrics(payer, 2025)
        assert err.value.code == "NOT_FOUND"
    for year in (1969, 9999, -1, 2**64):
        with pytest.raises(MetricsError) as err:
            reads.metrics(PAYER, year)
        assert err.value.code == "BAD_REQUEST"


def test_reads_are_bounded_by_the_years_requests(c: Claims) -> None:
    reads = Reads(c)
    reads.metrics(PAYER, 2025)
    # two binary searches over 12-digit heights (40 probes each), then one page
    assert reads.scans <= 2 * 41 + 1
    assert reads.gets <= 1 + 2 * 41 + 10
    with pytest.raises(MetricsError) as err:
        Reads(c).metrics(PAYER, 2025, max_scanned=5)  # 10 requests and claims in 2025
    assert err.value.code == "TOO_LARGE"
    assert Reads(c).metrics(PAYER, 2025, max_scanned=10)["all"]["requests"] == 8


@pytest.mark.parametrize(("count", "of", "bp"), [
    (0, 0, None), (0, 3, 0), (1, 3, 3333), (2, 3, 6667), (1, 8, 1250), (1, 20_000, 1),
    (1, 20_001, 0), (3, 3, 10_000)])
def test_shares_are_basis_points_rounded_half_up(count: int, of: int, bp: int | None) -> None:
    assert share_bp(count, of) == bp
