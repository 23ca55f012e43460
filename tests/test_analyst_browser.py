"""The analyst page in a real headless browser: Debian's chromium driven by Playwright (no browser download).

Checked against SQL on the same warehouse (tests/analyst_expectations.py): the heatmap's cells, the trend
charts' data and the trend table, the findings table and its filter, a drill-down with the failing cells
highlighted, last night's lists; no console error, no request leaving the page; a screenshot is saved.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from analyst import write_page
from analyst_expectations import expected_cell_counts, expected_trends, query

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():  # a failure that says what to do, not a silent skip
        pytest.fail("chromium is not installed: run scripts/setup-system (Debian package chromium)")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(str(profile), executable_path=CHROMIUM, args=FLAGS, headless=True,
                                                   viewport={"width": 1400, "height": 1000})
        try:
            yield ctx
        finally:
            ctx.close()


def open_page(browser, path: Path):
    """Load ``path``; every request other than the page itself is aborted and recorded, as are console errors."""
    page = browser.new_page()
    log = {"errors": [], "requests": []}
    own = path.resolve().as_uri()

    def route(r):
        if r.request.url.split("#")[0] == own:
            r.continue_()
        else:
            log["requests"].append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: log["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: log["errors"].append(str(e)))
    page.on("dialog", lambda d: (log["errors"].append("dialog: " + d.message), d.dismiss()))
    page.goto(own)
    page.wait_for_selector("body[data-ready='1']", timeout=20_000)
    return page, log


def test_page_in_chromium_shows_the_warehouse(browser, analyst_warehouse, tmp_path):
    db = analyst_warehouse["db"]
    res = write_page(db, tmp_path / "report.html")
    page, log = open_page(browser, res.path)

    # heatmap: every state's cell count, in the cells and in the legend, as SQL says
    want = expected_cell_counts(db)
    for state, n in want.items():
        assert page.locator(f"#heatmap .cell[data-state='{state}']").count() == n, state
        assert page.inner_text(f"#hm-legend [data-state='{state}'] .count") == str(n)
    # the malformed report's cell: its date on hover, its URL as the link
    url, published = query(db, "SELECT url, published_date FROM analytics.reports WHERE status = 'malformed'")[0]
    cell = page.locator(f"#heatmap a.cell[data-state='malformed'][href='{url}']")
    assert cell.count() == 1 and str(published) in cell.get_attribute("title")

    # trends: the chart data and the table, overall and for one county
    trends = expected_trends(db)
    years = sorted(y for y in trends if trends[y].get("reports"))
    chart = page.evaluate("() => { const c = Chart.getChart('ch-received'); return [c.data.labels, c.data.datasets[0].data] }")
    assert chart[0] == [str(y) for y in years]
    assert chart[1] == [trends[y]["received"] for y in years]
    rate = page.evaluate("() => Chart.getChart('ch-rate').data.datasets[0].data")
    assert rate == pytest.approx([trends[y]["rate"] for y in years])
    review = page.evaluate("() => Chart.getChart('ch-review').data.datasets.map(d => d.data)")
    assert [sum(col) for col in zip(*review)] == [trends[y]["review"] for y in years]
    for y in years:
        row = page.locator(f"#trend-table tr[data-year='{y}']")
        assert row.locator("td[data-k='received']").inner_text().replace(",", "") == f"{trends[y]['received']:.0f}"
        assert row.locator("td[data-k='rate']").inner_text() == f"{100 * trends[y]['rate']:.1f}%"
        assert row.locator("td[data-k='litigation_total']").inner_text() == f"{trends[y]['litigation']:.0f}"
    county = query(db, "SELECT county FROM analytics.portals ORDER BY portal_id LIMIT 1")[0][0]
    page.select_option("#tr-county", county)
    one = expected_trends(db, county=county)
    got = page.evaluate("() => Chart.getChart('ch-received').data.datasets[0].data")
    assert got == [one[y]["received"] for y in sorted(one) if one[y].get("reports")] and got != chart[1]

    # findings: all of them, then a filter narrows the table to one rule
    total = query(db, "SELECT (SELECT count(*) FROM analytics.findings) + (SELECT count(*) FROM analytics.missing_reports)")[0][0]
    assert page.get_attribute("#findings-count", "data-matching") == str(total)
    n_balance = query(db, "SELECT count(*) FROM analytics.findings WHERE rule = 't3.balance'")[0][0]
    assert page.inner_text("#rule-counts tr[data-rule='t3.balance'] td.num") == str(n_balance)
    page.select_option("#f-rule", "t3.balance")
    assert page.locator("#findings-table tbody tr").count() == n_balance < total
    assert page.get_attribute("#findings-count", "data-matching") == str(n_balance)
    assert set(page.locator("#findings-table tbody tr").evaluate_all("rs => rs.map(r => r.dataset.rule)")) == {"t3.balance"}

    # drill-down of the malformed report: its cells as printed, the failing ones highlighted with the rule
    page.locator("#findings-table tbody tr button.linkbtn").first.click()
    page.wait_for_selector("#drill[data-ready='1']")
    assert page.locator("#drill").is_visible()
    bad_cells = {f"t3|{r}|{c}" for r, c in query(db, "SELECT row_key, col_key FROM analytics.findings WHERE rule = 't3.balance'")}
    highlighted = set(page.locator("#drill td.bad").evaluate_all("ts => ts.map(t => t.dataset.key)"))
    assert bad_cells <= highlighted
    for k in bad_cells:
        assert "t3.balance" in page.get_attribute(f"#drill td[data-key='{k}']", "title")
    raw = dict(query(db, "SELECT tbl || '|' || row_key || '|' || col_key, raw FROM analytics.facts f "
                         "JOIN analytics.reports r USING (report_id) WHERE r.url = ?", [url]))
    key = "t3|new_received|total"
    assert page.inner_text(f"#drill td[data-key='{key}']") == raw[key]
    assert url in page.inner_text("#drill .prov")
    page.screenshot(path=str(tmp_path / "drill-down.png"))
    page.click("#drill-close")
    assert not page.locator("#drill").is_visible()

    # last night: the new report and the revised one with its cells old → new
    assert page.inner_text("#lastrun h3[data-group='new'] .count") == "1"
    assert analyst_warehouse["new_url"] in page.inner_html("#lastrun ul[data-group='new']")
    revised = page.locator("#lastrun ul[data-group='revised'] li")
    assert revised.count() == 1 and revised.locator(".old").count() > 0

    page.select_option("#f-rule", "")
    page.screenshot(path=str(tmp_path / "analyst-page.png"), full_page=True)
    assert (tmp_path / "analyst-page.png").stat().st_size > 50_000
    assert log["errors"] == [] and log["requests"] == []
    page.close()


def test_hostile_titles_and_links_stay_text(browser, tmp_path):
    """A portal controls titles, agencies and URLs: markup in them is shown as text, a javascript: URL never linked."""
    import datetime as dt

    from warehouse import load_run, open_writer
    from warehouse import synthetic as s

    evil = '<img src=x onerror="alert(1)"></script><script>alert(2)</script>'
    rep = s.make_report(year=2022, agency="扶沟县财政局", title="年度报告" + evil, published=dt.date(2023, 1, 10))
    docs = [s.document(rep, "http://henan-zhoukou-fugou.example.gov.cn/a.html"),
            s.document(s.make_report(year=2021, agency="扶沟县财政局", seed=3), "javascript:alert(3)")]
    db = tmp_path / "ogi.duckdb"
    with open_writer(db, 5) as wh:
        load_run(wh, s.run_input("r1", docs))
        wh.publish()
    res = write_page(db, tmp_path / "evil.html")
    page, log = open_page(browser, res.path)
    assert page.locator("#heatmap img, #lastrun img, #findings img").count() == 0
    assert evil in page.inner_text("#lastrun")
    assert page.locator("a[href^='javascript']").count() == 0
    page.locator("#lastrun ul[data-group='new'] button.linkbtn").first.click()
    page.wait_for_selector("#drill[data-ready='1']")
    assert page.locator("#drill img").count() == 0
    assert log["errors"] == [] and log["requests"] == []
    page.close()
