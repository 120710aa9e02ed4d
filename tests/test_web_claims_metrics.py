"""The prior-authorisation metrics page in a real browser, on a node serving the seeded
ledger (claims_metrics_world): public (no sign-in), a chart per metric comparing the two
payers, standard and expedited, each with a table of the same figures, and no WCAG 2.1 AA
violation."""

from __future__ import annotations

from typing import Any

import pytest

from browser import Watched, accessibility_violations, chromium
from claims_metrics_world import served

PAGE = "/ui/pages/claims_metrics"
READY = "#median-time-table tbody tr"
METRICS = ("approved", "partially-approved", "denied", "approved-after-appeal",
           "extended-approved", "late", "mean-time", "median-time")
CHART = """async (id) => {
  const { Chart } = await import("chart.js");  // the page's own instance, by the import map
  const chart = Chart.getChart(document.getElementById(id + "-chart"));
  return { labels: chart.data.labels,
           series: Object.fromEntries(chart.data.datasets.map(d => [d.label, d.data])) };
}"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with served(tmp_path_factory.mktemp("claims-metrics-web")) as (url, _c):
        yield url


def rows(page: Any, table: str) -> dict[str, list[str]]:
    return page.evaluate("""t => Object.fromEntries([...document.querySelectorAll(t + ' tbody tr')]
        .map(r => [r.dataset.payer, [...r.cells].slice(1).map(c => c.textContent)]))""", table)


def test_the_charts_and_tables_show_each_payers_metrics(site: str) -> None:
    with chromium() as browser:
        page = Watched(browser.new_page())
        page.goto(f"{site}{PAGE}?year=2025")
        page.wait_for_selector(READY)
        assert page.text_content("#metrics-status") == (
            "✔ 2 payer(s), 9 prior-authorisation request(s) submitted in 2025")
        assert [f.get_attribute("id") for f in page.query_selector_all("figure canvas")] == [
            f"{m}-chart" for m in METRICS]
        approved = page.evaluate(CHART, "approved")
        assert approved == {"labels": ["Acme Health", "Beacon Health"],
                            "series": {"Standard": [75, 0], "Expedited": [50, None]}}
        assert rows(page, "#approved-table") == {
            "acme-health": ["3 of 4 (75.00%)", "1 of 2 (50.00%)"],
            "beacon-health": ["0 of 1 (0.00%)", "0 of 0 (none determined)"]}
        assert page.evaluate(CHART, "denied")["series"] == {"Standard": [0, 100],
                                                            "Expedited": [50, None]}
        assert rows(page, "#approved-after-appeal-table")["acme-health"] == [
            "0 of 4 (0.00%)", "1 of 2 (50.00%)"]
        assert rows(page, "#extended-approved-table")["acme-health"][0] == "1 of 4 (25.00%)"
        # mean times: 216002 s and 129601 s, in hours on the chart
        assert page.evaluate(CHART, "mean-time")["series"] == {
            "Standard": [60, 0], "Expedited": [36, None]}
        assert rows(page, "#mean-time-table")["acme-health"] == ["2d 12h 0m 2s",
                                                                 "1d 12h 0m 1s"]
        assert rows(page, "#median-time-table")["beacon-health"] == ["0h 0m 1s",
                                                                     "none determined"]
        # another year, from the form: 2026 holds one acme request
        page.fill("#year", "2026")
        page.click("#year-form button")
        page.wait_for_function("() => document.getElementById('metrics-status').textContent"
                               ".includes('2026')")
        assert rows(page, "#approved-table")["acme-health"] == ["1 of 1 (100.00%)",
                                                                "0 of 0 (none determined)"]
        assert page.errors == []


def test_the_page_has_no_accessibility_violations(site: str) -> None:
    with chromium() as browser:
        assert accessibility_violations(browser, f"{site}{PAGE}?year=2025", READY) == []
