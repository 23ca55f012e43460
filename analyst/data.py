"""What the page shows, read from the analytics views of a snapshot (one query per section).

Everything is computed here, in Python and SQL, and handed to the page as plain JSON-able values: the
browser only filters, aggregates sums per year and draws.  So the numbers a test checks in the browser
are the numbers this module produced from SQL, and the tests can compare both with their own SQL.

Heatmap cell state (per issuer and report year), worst first when an issuer has several reports in a
year (``labels.CELL_STATES``): not parsed, image only (a ``table.image`` finding; such a report is also
``not_parsed``, the cell says why), malformed (status),
late (``analytics.reports.late``), published with no known date, on time; with no live report: missing
when the deadline passed at the latest run's as-of date and the issuer had published before (every
such year, not only the first one that ``xr.missing`` flags), otherwise no cell.  Withdrawn reports do
not count (as in ``analytics.coverage``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import duckdb

from analyst.labels import ISSUER_ORDER, STATE_RANK
from ogi.sourcedigest import source_digest

#: Report columns sent to the page, in this order (the page reads them by these names).
REPORT_FIELDS = (
    "id", "portal", "issuer", "year", "template", "status", "published", "late", "url", "title", "agency",
    "kind", "revision", "n_errors", "withdrawn", "deadline", "image_only", "duplicate", "reason",
)  # the archive hash and load times are provenance: they travel in the drill-down chunk (analyst.drilldown)


@dataclass
class Filters:
    portals: list[str] | None = None
    years: list[int] | None = None

    def params(self) -> list[Any]:
        return [self.portals, self.portals, self.years, self.years]

    @staticmethod
    def where(alias: str = "r") -> str:
        return (f"(?::VARCHAR[] IS NULL OR list_contains(?::VARCHAR[], {alias}.portal_id)) AND "
                f"(?::INTEGER[] IS NULL OR list_contains(?::INTEGER[], {alias}.year))")


@dataclass
class PageData:
    meta: dict[str, Any]
    portals: list[dict[str, Any]]
    years: list[int]
    issuers: list[dict[str, Any]]
    reports: list[list[Any]]
    cells: list[list[Any]]
    t3: list[list[Any]]
    t4: list[list[Any]]
    findings: list[list[Any]]
    last_run: dict[str, Any] | None
    report_ids: list[str] = field(default_factory=list)  # index → report_id (for the drill-down chunks)
    n_findings: int = 0


class KeptJSON(str):
    """A part of the page data copied as JSON text from the page being replaced (same :func:`data_key`)."""


#: The parts of the page data that depend only on what :func:`data_key` sums up (the rest -- the latest run, the
#: meta -- is read every time).  A rebuild with the same key copies them from the page it replaces.
KEPT_PARTS = ("years", "issuers", "reports", "cells", "t3", "t4", "findings")


def _code_version() -> str:
    """The code that makes the page data: the analyst modules, the analytics views, the deadline rule."""
    import warehouse.analytics
    import warehouse.identity

    return source_digest(*map(str, sorted(Path(__file__).parent.glob("*.py"))), warehouse.analytics.__file__,
                         warehouse.identity.__file__)


#: What the kept parts are made of, summed up: the reports and their current revisions (a revision's rows and facts
#: are never rewritten, so its number stands for them), withdrawals, every finding and coverage finding, the
#: portals' names and places, the as-of date of the views.  Counts and sums of row hashes: a few ms at any size.
_KEY_SQL = """
SELECT concat_ws('|',
  (SELECT count(*) || ':' || coalesce(sum(hash(report_id, current_revision, portal_id, url, first_seen_at,
                                               last_changed_at, withdrawn_at)), 0) FROM main.reports),
  (SELECT count(*) FROM main.report_revisions),
  (SELECT count(*) || ':' || coalesce(sum(hash(f)), 0) FROM main.findings f),
  (SELECT count(*) || ':' || coalesce(sum(hash(c)), 0) FROM main.coverage_findings c),
  (SELECT count(*) || ':' || coalesce(sum(hash(portal_id, name, province, city, county, division_code)), 0)
   FROM main.portals)),
  (SELECT coalesce(max(as_of), current_date) FROM main.runs WHERE status = 'ok')
"""


def data_key(con: duckdb.DuckDBPyConnection, filters: Filters, report_ids: list[str], schema_version: int) -> str:
    """The key of the kept parts: equal keys, equal parts (so a no-change night copies them instead of rebuilding
    them).  ``as_of`` (the latest run's, and the views') counts only by its year and the last deadline day before it
    (:func:`warehouse.identity.last_deadline_day`): the heatmap and the coverage years compare it with nothing else."""
    from warehouse.identity import last_deadline_day

    sums, views_as_of = con.execute(_KEY_SQL).fetchone()
    run = latest_run(con)
    page_as_of = (run or {}).get("as_of") or dt.date.today()
    h = hashlib.sha256()
    for part in (_code_version(), str(schema_version), repr(filters.params()), sums,
                 *(f"{d.year}:{last_deadline_day(d)}" for d in (page_as_of, views_as_of))):
        h.update(part.encode() + b"\n")
    for r in report_ids:  # the page order itself: the kept parts index reports by position
        h.update(r.encode() + b"\n")
    return h.hexdigest()


def _iso(v: Any) -> Any:
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat(sep=" ", timespec="seconds") if isinstance(v, dt.datetime) else v.isoformat()
    return v


def _num(v: Any) -> Any:
    """Counts as ints (smaller JSON); keep real fractions."""
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _safe_url(url: str | None) -> str | None:
    """Only http(s) links reach an href: a hostile portal could list a ``javascript:`` URL."""
    if url and url.lower().startswith(("http://", "https://")):
        return url
    return None


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    cur = con.execute(sql, params or [])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def deadline(issuer_type: str | None, year: int) -> dt.date:
    """The statutory deadline, as ``analytics.reports.deadline`` computes it (31 Mar county, else 31 Jan)."""
    return dt.date(year + 1, 3, 31) if issuer_type == "county_government" else dt.date(year + 1, 1, 31)


def latest_run(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    rows = _rows(con, "SELECT * FROM analytics.runs ORDER BY started_at DESC NULLS LAST LIMIT 1")
    return rows[0] if rows else None


def report_ids(con: duckdb.DuckDBPyConnection, filters: Filters | None = None) -> list[str]:
    """The page's reports in page order (``PageData.report_ids`` of :func:`load`), without the rest of the page:
    the drill-down chunks are built from it first, before the page data is held (``analyst.write_page``)."""
    filters = filters or Filters()
    return [r for (r,) in con.execute(f"""
        SELECT r.report_id FROM analytics.reports r
        WHERE {Filters.where()} AND r.portal_id IN (SELECT portal_id FROM analytics.portals)
        ORDER BY r.portal_id, coalesce(r.agency_key, r.agency, ''), r.year NULLS LAST, r.url""",
        filters.params()).fetchall()]


def load(con: duckdb.DuckDBPyConnection, filters: Filters | None = None, *, kept: dict[str, Any] | None = None,
         report_ids: list[str] | None = None) -> PageData:
    """The page data.  ``kept``: the :data:`KEPT_PARTS` (and ``n_findings``) of the page being replaced, whose
    :func:`data_key` is this snapshot's, with ``report_ids`` (:func:`report_ids`): only the rest is read."""
    filters = filters or Filters()
    run = latest_run(con)
    as_of = (run or {}).get("as_of") or dt.date.today()

    portals = _rows(con, """SELECT portal_id, name, province, city, county FROM analytics.portals
                            WHERE ?::VARCHAR[] IS NULL OR list_contains(?::VARCHAR[], portal_id)
                            ORDER BY province NULLS LAST, city NULLS LAST, county NULLS LAST, portal_id""",
                    [filters.portals, filters.portals])
    portal_idx = {p["portal_id"]: i for i, p in enumerate(portals)}
    if kept is not None:
        if report_ids is None:
            raise ValueError("kept page data needs the report order it was made with")
        ridx = {rid: n for n, rid in enumerate(report_ids)}
        parts = {k: KeptJSON(kept[k]) for k in KEPT_PARTS}
        return PageData(meta=_meta(as_of, run), portals=portals, **parts,
                        last_run=_last_run(con, run, ridx, portal_idx) if run else None,
                        report_ids=list(report_ids), n_findings=int(kept["n_findings"]))

    reps = _rows(con, f"""
        SELECT r.report_id, r.portal_id, coalesce(r.agency_key, r.agency, '') AS agency_key, r.agency, r.issuer_type,
               r.year, r.template, r.status, r.published_date, r.late, r.url, r.title, r.kind, r.revision,
               r.n_errors, r.withdrawn, r.deadline, r.reason,
               coalesce(x.image_only, false) AS image_only, coalesce(x.duplicate, false) AS duplicate
        FROM analytics.reports r
        LEFT JOIN (SELECT report_id, bool_or(rule = 'table.image') AS image_only,
                          bool_or(rule = 'xr.duplicate_publication') AS duplicate
                   FROM analytics.findings GROUP BY report_id) x USING (report_id)
        WHERE {Filters.where()}
        ORDER BY r.portal_id, agency_key, r.year NULLS LAST, r.url""", filters.params())
    reps = [r for r in reps if r["portal_id"] in portal_idx]

    missing = _rows(con, f"""SELECT portal_id, agency_key, agency, issuer_type, year, deadline, prev_url, message
                             FROM analytics.missing_reports r WHERE {Filters.where()}""", filters.params())
    missing = [m for m in missing if m["portal_id"] in portal_idx]

    # issuers: every (portal, agency) with a report in any year (a year filter must not hide who is missing),
    # plus those only known from a missing-report finding; the latest name and type win
    issuers: dict[tuple[str, str], dict[str, Any]] = {}
    for pid, key, name, itype, first in con.execute("""
            SELECT portal_id, coalesce(agency_key, agency, '') AS k, arg_max(agency, coalesce(year, 0)),
                   arg_max(issuer_type, coalesce(year, 0)),
                   min(year) FILTER (WHERE NOT withdrawn AND status <> 'not_parsed')
            FROM analytics.reports
            WHERE ?::VARCHAR[] IS NULL OR list_contains(?::VARCHAR[], portal_id)
            GROUP BY portal_id, k""", [filters.portals, filters.portals]).fetchall():
        if pid in portal_idx:
            issuers[(pid, key)] = {"portal": portal_idx[pid], "key": key, "name": name, "type": itype or "other",
                                   "first_year": first}
    for m in missing:
        i = issuers.setdefault((m["portal_id"], m["agency_key"]),
                               {"portal": portal_idx[m["portal_id"]], "key": m["agency_key"], "first_year": m["year"] - 1})
        i["name"] = i.get("name") or m["agency"]
        i["type"] = i.get("type") or m["issuer_type"] or "other"
    ordered = sorted(issuers.items(), key=lambda kv: (kv[1]["portal"], ISSUER_ORDER.get(kv[1]["type"], 9),
                                                      kv[1].get("name") or kv[1]["key"] or ""))
    issuer_idx = {k: n for n, (k, _) in enumerate(ordered)}
    issuer_list = [{"portal": v["portal"], "name": v.get("name") or v["key"] or "（机关不明）", "type": v["type"],
                    "first_year": v["first_year"]} for _, v in ordered]

    report_ids = [r["report_id"] for r in reps]
    ridx = {rid: n for n, rid in enumerate(report_ids)}
    reports = [[
        r["report_id"], portal_idx[r["portal_id"]], issuer_idx[(r["portal_id"], r["agency_key"])], r["year"],
        r["template"], r["status"], _iso(r["published_date"]), r["late"], _safe_url(r["url"]), r["title"], r["agency"],
        r["kind"], r["revision"], r["n_errors"], r["withdrawn"], _iso(r["deadline"]),
        r["image_only"], r["duplicate"], r["reason"],
    ] for r in reps]

    # years: the coverage range of the portals shown, plus every report year
    cov_years = {y for (y,) in con.execute(
        "SELECT DISTINCT year FROM analytics.coverage WHERE ?::VARCHAR[] IS NULL OR list_contains(?::VARCHAR[], portal_id)",
        [filters.portals, filters.portals]).fetchall() if y is not None}
    years = sorted((cov_years | {r["year"] for r in reps if r["year"] is not None}))
    if filters.years:
        years = [y for y in years if y in set(filters.years)]

    cells = _cells(reps, ridx, issuer_idx, issuer_list, years, as_of, missing)
    t3, t4 = _trends(con, filters, ridx)
    findings = _findings(con, filters, ridx, portal_idx, missing)
    last = _last_run(con, run, ridx, portal_idx) if run else None
    return PageData(meta=_meta(as_of, run), portals=portals, years=years, issuers=issuer_list, reports=reports,
                    cells=cells, t3=t3, t4=t4, findings=findings, last_run=last, report_ids=report_ids,
                    n_findings=len(findings))


def _meta(as_of: dt.date, run: dict[str, Any] | None) -> dict[str, Any]:
    return {"as_of": _iso(as_of), "run": {k: _iso(v) for k, v in (run or {}).items() if k != "timings"} or None}


def _cells(reps: list[dict[str, Any]], ridx: dict[str, int], issuer_idx: dict[tuple[str, str], int],
           issuers: list[dict[str, Any]], years: list[int], as_of: dt.date,
           missing: list[dict[str, Any]]) -> list[list[Any]]:
    """``[issuer, year, state, [report indexes], flagged_by_xr_missing]`` for every non-empty cell."""
    by_cell: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for r in reps:
        if r["withdrawn"] or r["year"] is None:
            continue
        by_cell.setdefault((issuer_idx[(r["portal_id"], r["agency_key"])], r["year"]), []).append(r)
    xr = {(issuer_idx[(m["portal_id"], m["agency_key"])], m["year"]) for m in missing}
    year_set = set(years)
    out: list[list[Any]] = []
    for (i, y), rs in by_cell.items():
        if y not in year_set:
            continue
        states = [_state(r) for r in rs]
        rs = [r for _, r in sorted(zip(states, rs), key=lambda sr: STATE_RANK[sr[0]])]
        out.append([i, y, min(states, key=STATE_RANK.__getitem__), [ridx[r["report_id"]] for r in rs], False])
    for i, iss in enumerate(issuers):
        first = iss["first_year"]
        for y in years:
            if (i, y) in by_cell:
                continue
            due = deadline(iss["type"], y) < as_of
            if ((i, y) in xr) or (due and first is not None and y > first):
                out.append([i, y, "missing", [], (i, y) in xr])
    out.sort(key=lambda c: (c[0], c[1]))
    return out


def _state(r: dict[str, Any]) -> str:
    if r["image_only"]:  # a 图片版 report is not_parsed too; say why
        return "image_only"
    if r["status"] == "not_parsed":
        return "not_parsed"
    if r["status"] == "malformed":
        return "malformed"
    if r["late"]:
        return "late"
    if r["published_date"] is None:
        return "date_unknown"
    return "on_time"


def _trends(con: duckdb.DuckDBPyConnection, filters: Filters, ridx: dict[str, int]) -> tuple[list, list]:
    from analyst.labels import T3_MEASURES
    from warehouse.analytics import T4_OUTCOMES

    t3 = [[ridx[r[0]]] + [_num(v) for v in r[1:]] for r in con.execute(
        f"SELECT r.report_id, {', '.join('r.' + m for m in T3_MEASURES)} FROM analytics.t3_applications r "
        f"WHERE {Filters.where()} ORDER BY r.report_id", filters.params()).fetchall() if r[0] in ridx]
    t4_cols = [c.name for c in T4_OUTCOMES.columns if c.type == "DOUBLE"]
    t4 = [[ridx[r[0]]] + [_num(v) for v in r[1:]] for r in con.execute(
        f"SELECT r.report_id, {', '.join('r.' + c for c in t4_cols)} FROM analytics.t4_outcomes r "
        f"WHERE {Filters.where()} ORDER BY r.report_id", filters.params()).fetchall() if r[0] in ridx]
    return t3, t4


#: Finding row sent to the page: report index (None for an issuer-level finding), then these.
FINDING_FIELDS = ("report", "rule", "severity", "message", "expected", "actual", "tbl", "row", "col",
                  "portal", "year", "agency", "url")


def _findings(con: duckdb.DuckDBPyConnection, filters: Filters, ridx: dict[str, int], portal_idx: dict[str, int],
              missing: list[dict[str, Any]]) -> list[list[Any]]:
    out = []
    for f in con.execute(f"""
            SELECT f.report_id, f.rule, f.severity, f.message, f.expected, f.actual, f.tbl, f.row_key, f.col_key,
                   r.portal_id, r.year, r.agency, r.url
            FROM analytics.findings f JOIN analytics.reports r USING (report_id)
            WHERE {Filters.where()}
            ORDER BY r.portal_id, r.year, r.agency, f.rule, f.tbl, f.row_key, f.col_key""", filters.params()).fetchall():
        if f[0] not in ridx:
            continue
        out.append([ridx[f[0]], f[1], f[2], f[3], _num(f[4]), _num(f[5]), f[6], f[7], f[8], portal_idx[f[9]], f[10],
                    f[11], None])
    for m in missing:
        out.append([None, "xr.missing", "warning", m["message"], None, None, None, None, None,
                    portal_idx[m["portal_id"]], m["year"], m["agency"], _safe_url(m["prev_url"])])
    return out


def _last_run(con: duckdb.DuckDBPyConnection, run: dict[str, Any], ridx: dict[str, int],
              portal_idx: dict[str, int]) -> dict[str, Any]:
    """What the latest run did: new, revised (cells old → new), malformed, not parsed, failed, withdrawn."""
    rid = run["run_id"]

    def mine(report_ids: Iterable[str]) -> list[int]:
        return [ridx[r] for r in report_ids if r in ridx]

    new = mine(r for (r,) in con.execute(
        "SELECT report_id FROM main.report_revisions WHERE run_id = ? AND revision = 1 AND status <> 'not_parsed' "
        "ORDER BY report_id", [rid]).fetchall())
    revised_rows = con.execute(
        "SELECT report_id, revision FROM main.report_revisions WHERE run_id = ? AND revision > 1 ORDER BY report_id",
        [rid]).fetchall()
    changes: dict[str, list[list[Any]]] = {}
    for r in con.execute("""
            WITH rv AS (SELECT report_id, revision FROM main.report_revisions WHERE run_id = ? AND revision > 1),
                 n AS (SELECT f.* FROM main.facts f JOIN rv USING (report_id, revision)),
                 o AS (SELECT f.* FROM main.facts f JOIN rv ON f.report_id = rv.report_id AND f.revision = rv.revision - 1)
            SELECT coalesce(n.report_id, o.report_id) AS report_id, coalesce(n.tbl, o.tbl) AS tbl,
                   coalesce(n.row_key, o.row_key) AS row_key, coalesce(n.col_key, o.col_key) AS col_key,
                   o.raw, n.raw, o.value, n.value
            FROM n FULL OUTER JOIN o ON n.report_id = o.report_id AND n.tbl = o.tbl AND n.row_key = o.row_key
                                     AND n.col_key = o.col_key
            WHERE n.raw IS DISTINCT FROM o.raw OR n.value IS DISTINCT FROM o.value
            ORDER BY 1, 2, 3, 4""", [rid]).fetchall():
        changes.setdefault(r[0], []).append([r[1], r[2], r[3], r[4], r[5], _num(r[6]), _num(r[7])])
    revised = [[ridx[r], v, changes.get(r, [])] for r, v in revised_rows if r in ridx]
    malformed = mine(r for (r,) in con.execute(
        "SELECT report_id FROM main.report_revisions WHERE run_id = ? AND status = 'malformed' ORDER BY report_id",
        [rid]).fetchall())
    not_parsed = mine(r for (r,) in con.execute(
        "SELECT report_id FROM main.report_revisions WHERE run_id = ? AND status = 'not_parsed' ORDER BY report_id",
        [rid]).fetchall())
    withdrawn = mine(r for (r,) in con.execute(
        "SELECT report_id FROM main.reports WHERE withdrawn_run = ? ORDER BY report_id", [rid]).fetchall())
    failed = [[portal_idx.get(p), _safe_url(u), k, reason] for p, u, k, reason in con.execute(
        "SELECT portal_id, url, kind, reason FROM main.fetch_failures WHERE run_id = ? ORDER BY portal_id, url",
        [rid]).fetchall() if p in portal_idx]
    failed += [[portal_idx.get(p), _safe_url(u), "unreadable", err] for p, u, err in con.execute(
        "SELECT portal_id, url, error FROM main.documents WHERE first_seen_run = ? AND error IS NOT NULL "
        "ORDER BY portal_id, url", [rid]).fetchall() if p in portal_idx]
    portals_failed = [[portal_idx[p], err] for p, err in con.execute(
        "SELECT portal_id, error FROM main.portal_runs WHERE run_id = ? AND NOT ok ORDER BY portal_id",
        [rid]).fetchall() if p in portal_idx]
    keep = ("run_id", "mode", "status", "started_at", "finished_at", "as_of", "portals", "portals_failed", "documents",
            "reports_new", "reports_revised", "reports_withdrawn", "reports_malformed", "error")
    return {"run": {k: _iso(run.get(k)) for k in keep}, "new": new, "revised": revised, "malformed": malformed,
            "not_parsed": not_parsed, "withdrawn": withdrawn, "failed": failed, "portals_failed": portals_failed}
