"""The education page in a real browser, on the demo's competency ledger: resident-vic's
EPA and milestone levels over time (chart and table), dean-ruth's teaching lineage as a
tree, dr-alice's CME hours against the state board's requirement; and a reader the read
rules refuse (a patient) sees the node's code and nothing else."""

from __future__ import annotations

from typing import Any

from browser import accessibility_violations, chromium, screenshot, sign_in
from web_demo import SCREENSHOTS, Demo

PAGE = "/ui/pages/education"
#: resident-vic's assessments as the demo records them (src/salus/credentials/demo.py):
#: (competency (kind), date, level)
VIC = [["EPA1 (epa)", "2026-08-01", "3"], ["EPA1 (epa)", "2026-10-15", "4"],
       ["EPA10 (epa)", "2026-10-15", "2"], ["EPA4 (epa)", "2026-10-15", "3"],
       ["MK2 (milestone)", "2026-10-20", "2"], ["PC1 (milestone)", "2026-10-20", "3"]]
CHART = """async () => {
  const { Chart } = await import("chart.js");  // the page's own instance, by the import map
  const chart = Chart.getChart(document.getElementById("progress-chart"));
  return { labels: chart.data.labels,
           lines: Object.fromEntries(chart.data.datasets.map(d => [d.label, d.data])) };
}"""


def _member_id(demo: Demo, name: str) -> str:
    with demo.client(name) as c:
        return str(c.member(demo.key(name).did)["id"])


def _rows(page: Any, table: str) -> list[list[str]]:
    return page.evaluate("""t => [...document.querySelectorAll(t + ' tbody tr')]
        .map(r => [...r.cells].map(c => c.textContent))""", table)


def test_progress_lineage_and_cme_show_the_demos_values(demo_site: Demo) -> None:
    vic, alice, bob = (_member_id(demo_site, n) for n in ("resident-vic", "dr-alice", "dr-bob"))
    with chromium() as browser:
        page = sign_in(browser, demo_site.url, demo_site.key_path("dean-ruth"))
        page.goto(f"{demo_site.url}{PAGE}")
        # by default, the signed-in educator's own lineage: alice and bob, then vic under alice
        page.wait_for_selector("#lineage-status.ok")
        assert page.text_content("#lineage-summary") == (
            "3 people in 2 generation(s) (generation 1: 2; generation 2: 1)")
        tree = page.evaluate("""() => { const walk = li => ({ id: li.dataset.member,
            children: [...(li.querySelector(':scope > details > ul')?.children ?? [])].map(walk) });
            return walk(document.querySelector('#lineage-tree > ul > li')); }""")
        assert tree["id"] == _member_id(demo_site, "dean-ruth")
        assert sorted(c["id"] for c in tree["children"]) == sorted([alice, bob])
        under = {c["id"]: [g["id"] for g in c["children"]] for c in tree["children"]}
        assert under == {alice: [vic], bob: []}
        assert "st-mary, clinician, educator" in page.text_content(
            f"#lineage-tree li[data-member='{alice}']")
        # the tree is used with the keyboard: a summary takes focus and folds its branch
        page.focus(f"li[data-member='{alice}'] > details > summary")
        page.keyboard.press("Enter")
        assert page.evaluate(f"!document.querySelector(\"li[data-member='{alice}'] > details\").open")
        page.keyboard.press("Enter")
        assert page.evaluate(f"document.querySelector(\"li[data-member='{alice}'] > details\").open")

        page.fill("#learner", demo_site.key("resident-vic").did)
        page.click("#progress-form button")
        page.wait_for_function("() => document.querySelectorAll('#progress-table tbody tr').length === 6")
        assert [r[:3] for r in _rows(page, "#progress-table")] == VIC
        facts = page.text_content("#progress-facts")
        assert "EPAs assessed3" in facts and "EPAs entrusted (level 4 or more)EPA1" in facts
        assert "EPAs still to entrust12" in facts
        chart = page.evaluate(CHART)
        assert chart["labels"] == ["2026-08-01", "2026-10-15", "2026-10-20"]
        assert chart["lines"]["EPA1 (epa)"] == [3, 4, None]
        assert chart["lines"]["PC1 (milestone)"] == [None, None, 3]

        page.fill("#professional", demo_site.key("dr-alice").did)
        page.fill("#as-of", "2026-11-28")
        page.click("#cme-form button")
        page.wait_for_selector("#cme:not([hidden]) #cme-table tbody tr")
        assert page.evaluate("[document.getElementById('cme-progress').value, "
                             "document.getElementById('cme-progress').max]") == [3500, 5000]
        assert page.text_content("#cme-summary") == (
            "35 of 50 hours (70%) in AMA_PRA_1, from 2024-11-28 (exclusive) through "
            "2026-11-28: 15 hours short.")
        assert page.get_attribute("#cme-summary", "class") == "bad"  # not met yet
        assert sorted(_rows(page, "#cme-table")) == [
            ["sepsis-update-2026 (cme-institute)", "15", "2026-03-10", "yes"],
            ["stewardship-2026 (cme-institute)", "20", "2026-09-02", "yes"]]
        # as of a date before the second activity: it falls outside the period
        page.fill("#as-of", "2026-06-30")
        page.click("#cme-form button")
        page.wait_for_function("() => document.getElementById('cme-progress').value === 1500")
        assert ["stewardship-2026 (cme-institute)", "20", "2026-09-02", "no"] in _rows(
            page, "#cme-table")
        screenshot(page, SCREENSHOTS, "education")
        assert page.errors == []


def test_a_reader_the_rules_refuse_sees_the_code_and_no_data(demo_site: Demo) -> None:
    vic = demo_site.key("resident-vic").did
    with chromium() as browser:
        page = sign_in(browser, demo_site.url, demo_site.key_path("patient-ivy"))
        page.goto(f"{demo_site.url}{PAGE}")
        for status in ("#progress-status", "#lineage-status", "#cme-status"):
            page.wait_for_selector(f"{status}.bad")
            assert page.text_content(status).startswith("✘ FORBIDDEN_READ: only ")
        page.fill("#learner", vic)  # nor anyone else's
        page.click("#progress-form button")
        page.wait_for_function(
            "() => document.getElementById('progress-status').textContent.includes('FORBIDDEN_READ')")
        assert page.locator("#progress-table tbody tr").count() == 0
        assert page.text_content("#lineage-tree") == "" and page.is_hidden("#cme")
        assert page.errors_besides(403) == []
    with chromium() as browser:  # and signed out, the page asks for a key first
        page = browser.new_page()
        page.goto(f"{demo_site.url}{PAGE}")
        page.wait_for_selector("main [role=alert]")
        assert "Sign in" in page.text_content("main")


def test_the_education_page_is_accessible_and_fits_a_phone(demo_site: Demo) -> None:
    def as_ruth(page: Any) -> None:
        page.goto(f"{demo_site.url}/ui/")
        page.set_input_files("#key-file", str(demo_site.key_path("dean-ruth")))
        page.click("#import button[type=submit]")
        page.wait_for_selector("#import-status.ok")
        page.goto(f"{demo_site.url}{PAGE}")
        page.wait_for_selector("#lineage-status.ok")
        page.fill("#learner", demo_site.key("resident-vic").did)
        page.click("#progress-form button")
        page.wait_for_selector("#progress-table tbody tr")
        page.fill("#professional", demo_site.key("dr-alice").did)
        page.click("#cme-form button")
        page.wait_for_selector("#cme-table tbody tr")

    with chromium() as browser:
        assert accessibility_violations(browser, f"{demo_site.url}{PAGE}", "main", act=as_ruth) == []
        page = sign_in(browser, demo_site.url, demo_site.key_path("dean-ruth"),
                       viewport={"width": 390, "height": 844})
        page.goto(f"{demo_site.url}{PAGE}")
        page.wait_for_selector("#lineage-status.ok")
        page.fill("#learner", demo_site.key("resident-vic").did)
        page.click("#progress-form button")
        page.wait_for_selector("#progress-table tbody tr")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert page.errors == []
