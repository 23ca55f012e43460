"""What the analyst page must show, computed with SQL straight from the warehouse (not with analyst/).

Shared by tests/test_analyst_page.py and tests/test_analyst_browser.py.  The rules are the ones
docs/analyst-page.md states; writing them again here in SQL is the point: the page's Python and JS
are checked against an independent formulation on the same warehouse.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb

STATES = ("not_parsed", "image_only", "malformed", "late", "date_unknown", "on_time")

_CELLS = """
WITH live AS (
    SELECT r.portal_id, coalesce(r.agency_key, r.agency, '') AS k, r.year,
           CASE WHEN EXISTS (SELECT 1 FROM analytics.findings f WHERE f.report_id = r.report_id AND f.rule = 'table.image') THEN 1
                WHEN r.status = 'not_parsed' THEN 0
                WHEN r.status = 'malformed' THEN 2
                WHEN r.late THEN 3
                WHEN r.published_date IS NULL THEN 4
                ELSE 5 END AS s
    FROM analytics.reports r WHERE NOT r.withdrawn AND r.year IS NOT NULL
),
published AS (SELECT portal_id, k, year, min(s) AS s FROM live GROUP BY ALL),
issuers AS (
    SELECT portal_id, coalesce(agency_key, agency, '') AS k, arg_max(issuer_type, coalesce(year, 0)) AS t,
           min(year) FILTER (WHERE NOT withdrawn AND status <> 'not_parsed') AS first_year
    FROM analytics.reports GROUP BY ALL
),
years AS (SELECT DISTINCT year FROM analytics.coverage UNION SELECT DISTINCT year FROM analytics.reports WHERE year IS NOT NULL),
as_of AS (SELECT coalesce((SELECT as_of FROM analytics.runs ORDER BY started_at DESC LIMIT 1), current_date) AS d),
missing AS (
    SELECT i.portal_id, i.k, y.year FROM issuers i CROSS JOIN years y CROSS JOIN as_of
    WHERE NOT EXISTS (SELECT 1 FROM published p WHERE p.portal_id = i.portal_id AND p.k = i.k AND p.year = y.year)
      AND ((CASE WHEN i.t = 'county_government' THEN make_date(y.year + 1, 3, 31) ELSE make_date(y.year + 1, 1, 31) END
               < as_of.d AND y.year > i.first_year)
           OR EXISTS (SELECT 1 FROM analytics.missing_reports m WHERE m.portal_id = i.portal_id
                      AND m.agency_key = i.k AND m.year = y.year))
)
SELECT s, count(*) FROM published GROUP BY s
UNION ALL SELECT 6, count(*) FROM missing
"""


def expected_cell_counts(db: Path) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        counts = dict(con.execute(_CELLS).fetchall())
    finally:
        con.close()
    names = STATES + ("missing",)
    return {names[s]: int(n) for s, n in counts.items() if n}


def _trend_where(county: str | None, scope: str) -> str:
    w = ["NOT r.withdrawn", "r.status <> 'not_parsed'",
         "NOT EXISTS (SELECT 1 FROM analytics.findings f WHERE f.report_id = r.report_id AND f.rule = 'xr.duplicate_publication')"]
    if county:
        w.append(f"coalesce(p.county, p.name, p.portal_id) = '{county}'")
    if scope == "county_government":
        w.append("r.issuer_type = 'county_government'")
    return " AND ".join(w)


def expected_trends(db: Path, county: str | None = None, scope: str = "all") -> dict[int, dict[str, float]]:
    """Per year: applications received, grant rate (incl. partial), review and lawsuit totals."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        where = _trend_where(county, scope)
        t3 = con.execute(f"""
            SELECT a.year, sum(a.received), (sum(a.granted) + sum(a.partially_granted)) / nullif(sum(a.total_handled), 0),
                   sum(a.denied) / nullif(sum(a.total_handled), 0), count(*)
            FROM analytics.t3_applications a JOIN analytics.reports r USING (report_id)
            JOIN analytics.portals p ON p.portal_id = r.portal_id WHERE {where} GROUP BY 1""").fetchall()
        t4 = con.execute(f"""
            SELECT o.year, sum(o.review_total), sum(o.litigation_direct_total) + sum(o.litigation_after_review_total)
            FROM analytics.t4_outcomes o JOIN analytics.reports r USING (report_id)
            JOIN analytics.portals p ON p.portal_id = r.portal_id WHERE {where} GROUP BY 1""").fetchall()
    finally:
        con.close()
    out: dict[int, dict[str, float]] = {}
    for y, received, rate, denied, n in t3:
        out.setdefault(y, {}).update(received=received, rate=rate, denied=denied, reports=n)
    for y, review, lit in t4:
        out.setdefault(y, {}).update(review=review, litigation=lit)
    return out


def page_model(html: str) -> dict:
    """The JSON the page's script reads (``<script type="application/json" id="ogi-data">``)."""
    m = re.search(r'<script type="application/json" id="ogi-data">(.*?)</script>', html, re.S)
    assert m, "no data block in the page"
    return json.loads(m.group(1))


def query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()
