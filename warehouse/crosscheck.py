"""Cross-report checks: findings that need more than one report, written on the later report.

Recomputed from the warehouse state at the end of every load and *diffed* into the findings table
(only rows that appear or disappear are touched), so the result does not depend on which run
brought which report, a re-run after a crash converges, and a second identical load changes
nothing.  Findings attach to the latest revision; those of older revisions stay as history.

Rules (stable ids):
- ``xr.carry_over_mismatch`` (warning): this year's t3 上年结转 ≠ last year's t3 结转下年度继续办理 of the
  same agency, per column.
- ``xr.duplicate_text`` (warning): 内容雷同 -- Jaccard similarity of character 5-gram shingles of the
  section text (digits and whitespace removed, so a copy with only the numbers changed still
  matches) ≥ 0.9 against the same agency's previous-year report.
- ``xr.duplicate_publication`` (warning): another URL carries the same content (same content hash);
  the finding goes on every copy but the first seen.
- ``xr.yoy_jump`` (info): 本年新收申请 总计 grew ×5 or more, or shrank to ÷5 or less, year over year
  (both years > 0 and the larger ≥ 10, so 1 → 5 is not news).
- ``xr.late`` (warning): published (page date, else list date) after 31 Jan of year+1 (31 Mar for the
  county government).
- ``xr.missing`` (warning, on the agency in ``coverage_findings``): the agency published for Y-1, has
  no report for Y, and Y's deadline is before ``as_of``; not judged while the portal's latest crawl
  failed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ogi.sourcedigest import source_digest
from warehouse.outbox import enqueue_many
from warehouse.identity import last_deadline_day
from warehouse.runlog import first_loaded_runs

DUPLICATE_TEXT_THRESHOLD = 0.9
SHINGLE = 5
MIN_TEXT_CHARS = 200  # shorter texts (image-only reports) are not compared
YOY_FACTOR = 5.0
YOY_MIN = 10.0



#: (rule id, severity, what it means) -- documented in docs/warehouse.md.
XR_RULES: tuple[tuple[str, str, str], ...] = (
    ("xr.carry_over_mismatch", "warning", "表三 上年结转 of this year ≠ 结转下年度继续办理 of the same agency's previous-year report, per column."),
    ("xr.duplicate_text", "warning", f"内容雷同: shingle Jaccard similarity ≥ {DUPLICATE_TEXT_THRESHOLD} with the same agency's previous-year report (digits ignored)."),
    ("xr.duplicate_publication", "warning", "Another URL carries the same report content (same content hash); set on every copy but the first seen (a page and its own attachment count as one publication)."),
    ("xr.yoy_jump", "info", f"本年新收申请 总计 changed ×{YOY_FACTOR:g} or ÷{YOY_FACTOR:g} year over year (both > 0, larger ≥ {YOY_MIN:g})."),
    ("xr.late", "warning", "Published after 31 Jan of year+1 (departments, offices, townships) or 31 Mar (the county government)."),
    ("xr.missing", "warning", "In `coverage_findings` / `analytics.missing_reports`: the agency published for Y-1 but not for Y, and Y's deadline passed."),
)


@dataclass
class CrossCheckResult:
    findings_total: int = 0
    findings_added: int = 0
    findings_removed: int = 0
    missing_total: int = 0
    alerts_enqueued: int = 0
    pairs_compared: int = 0
    seconds: float = 0.0
    skipped: bool = False  # the inputs were those of the last computation: its result was kept (:func:`run_checks`)


#: Deleted before shingling: whitespace, ASCII and full-width digits, common punctuation (so a copy with
#: only the numbers or the spacing changed still matches).
STRIP_CHARS = (
    " \t\n\r\x0b\x0c\u00a0\u3000\u2002\u2003\u2009\u200b\ufeff0123456789０１２３４５６７８９,，.。、;；:：()（）%％"
)
_STRIP_RE = re.compile("[" + re.escape(STRIP_CHARS) + "]+")
_STRIP_MASK = np.zeros(0x10000, dtype=bool)  # code point -> stripped? (all stripped chars are in the BMP)
_STRIP_MASK[[ord(c) for c in STRIP_CHARS]] = True


def _normalise(text: str) -> str:
    return _STRIP_RE.sub("", text)


def shingles(text: str, k: int = SHINGLE) -> set[str]:
    s = _normalise(text)
    return {s[i : i + k] for i in range(max(0, len(s) - k + 1))}


def jaccard(a: set[str], b: set[str]) -> float:
    if not a and not b:
        return 0.0
    return len(a & b) / len(a | b)


_P = np.uint64(1_000_003)


def shingle_hashes(text: str, k: int = SHINGLE) -> np.ndarray:
    """The shingles of :func:`shingles` as sorted unique 64-bit rolling hashes (vectorised: ~50x faster).

    Code points go through numpy; a k-gram's hash is sum(c_i * P^(k-1-i)) mod 2^64.  Collisions are
    astronomically rare at report sizes and could only raise the similarity by a hair.
    """
    raw = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    cps = raw[~_STRIP_MASK[np.minimum(raw, 0xFFFF)]].astype(np.uint64)  # = _normalise(text), vectorised
    if len(cps) < k:
        return np.empty(0, dtype=np.uint64)
    n = len(cps) - k + 1
    h = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for i in range(k):
            h = h * _P + cps[i : i + n]
    h.sort()
    return h[np.concatenate(([True], h[1:] != h[:-1]))]


def jaccard_hashes(a: np.ndarray, b: np.ndarray) -> float:
    if a.size == 0 and b.size == 0:
        return 0.0
    inter = np.intersect1d(a, b, assume_unique=True).size
    return inter / (a.size + b.size - inter)


_NUM = "CASE WHEN {x} = round({x}) THEN CAST(CAST({x} AS BIGINT) AS VARCHAR) ELSE CAST({x} AS VARCHAR) END"


def _num(x: str) -> str:
    return _NUM.format(x=x)


_BASE = """
CREATE OR REPLACE TEMP TABLE xr_base AS
SELECT r.report_id, v.revision, r.portal_id, r.url, r.first_seen_at, v.agency_key, v.issuer_type, v.agency,
       v.title, v.year, coalesce(v.published, v.list_date) AS pub, v.content_hash,
       CASE WHEN v.issuer_type = 'county_government' THEN make_date(v.year + 1, 3, 31)
            ELSE make_date(v.year + 1, 1, 31) END AS deadline,
       d.parent_url
FROM reports r JOIN report_revisions v ON v.report_id = r.report_id AND v.revision = r.current_revision
LEFT JOIN documents d ON d.portal_id = r.portal_id AND d.url = r.url AND d.sha256 = v.document_sha256
WHERE r.withdrawn_at IS NULL AND v.is_report AND v.year IS NOT NULL
"""

# One report per (portal, agency, year): the first seen (a second URL is a duplicate publication).
_PRIMARY = """
CREATE OR REPLACE TEMP TABLE xr_primary AS
SELECT * FROM xr_base WHERE agency_key <> 'unknown'
QUALIFY row_number() OVER (PARTITION BY portal_id, agency_key, year ORDER BY first_seen_at, url) = 1
"""

_PAIRS = """
CREATE OR REPLACE TEMP TABLE xr_pairs AS
SELECT c.report_id, c.revision, c.year, c.url, p.report_id AS prev_report_id, p.revision AS prev_revision,
       p.year AS prev_year, p.url AS prev_url, c.portal_id, c.agency_key
FROM xr_primary c JOIN xr_primary p
  ON p.portal_id = c.portal_id AND p.agency_key = c.agency_key AND p.year = c.year - 1
"""

_NEW = """
CREATE OR REPLACE TEMP TABLE xr_new (
  report_id VARCHAR, revision INTEGER, rule VARCHAR, severity VARCHAR, message VARCHAR,
  expected DOUBLE, actual DOUBLE, tbl VARCHAR, row_key VARCHAR, col_key VARCHAR)
"""

_CARRY = f"""
INSERT INTO xr_new
SELECT x.report_id, x.revision, 'xr.carry_over_mismatch', 'warning',
       '上年结转政府信息公开申请数量 (' || fc.col_key || ') = ' || {_num('fc.value')} || ', but the ' || x.prev_year
         || ' report says 结转下年度继续办理 = ' || {_num('fp.value')} || ' (' || x.prev_url || ')',
       fp.value, fc.value, 't3', 'carried_over', fc.col_key
FROM xr_pairs x
JOIN facts fc ON fc.report_id = x.report_id AND fc.revision = x.revision AND fc.tbl = 't3'
             AND fc.row_key = 'carried_over'
JOIN facts fp ON fp.report_id = x.prev_report_id AND fp.revision = x.prev_revision AND fp.tbl = 't3'
             AND fp.row_key = 'carried_forward' AND fp.col_key = fc.col_key
WHERE fc.value IS NOT NULL AND fp.value IS NOT NULL AND fc.value <> fp.value
"""

_YOY = f"""
INSERT INTO xr_new
SELECT x.report_id, x.revision, 'xr.yoy_jump', 'info',
       '本年新收政府信息公开申请 总计 went from ' || {_num('fp.value')} || ' (' || x.prev_year || ') to '
         || {_num('fc.value')} || ' (' || x.year || ')',
       fp.value, fc.value, 't3', 'new_received', 'total'
FROM xr_pairs x
JOIN facts fc ON fc.report_id = x.report_id AND fc.revision = x.revision AND fc.tbl = 't3'
             AND fc.row_key = 'new_received' AND fc.col_key = 'total'
JOIN facts fp ON fp.report_id = x.prev_report_id AND fp.revision = x.prev_revision AND fp.tbl = 't3'
             AND fp.row_key = 'new_received' AND fp.col_key = 'total'
WHERE fc.value > 0 AND fp.value > 0 AND greatest(fc.value, fp.value) >= {YOY_MIN}
  AND (fc.value >= {YOY_FACTOR} * fp.value OR fc.value * {YOY_FACTOR} <= fp.value)
"""

_DUP_PUB = """
INSERT INTO xr_new
SELECT b.report_id, b.revision, 'xr.duplicate_publication', 'warning',
       'the same report content is also published at ' || d.first_url, NULL, NULL, NULL, NULL, NULL
FROM xr_base b
JOIN (SELECT content_hash, arg_min(report_id, (first_seen_at, url)) AS first_id,
             arg_min(url, (first_seen_at, url)) AS first_url,
             arg_min(parent_url, (first_seen_at, url)) AS first_parent
      FROM xr_base GROUP BY content_hash HAVING count(*) > 1) d USING (content_hash)
WHERE b.report_id <> d.first_id
  -- a report page and its own attachment (Word/PDF of the same report) are one publication
  AND b.parent_url IS DISTINCT FROM d.first_url AND d.first_parent IS DISTINCT FROM b.url
"""

_LATE = """
INSERT INTO xr_new
SELECT report_id, revision, 'xr.late', 'warning',
       'published ' || strftime(pub, '%Y-%m-%d') || ', after the deadline ' || strftime(deadline, '%Y-%m-%d')
         || ' (' || issuer_type || ')', NULL, NULL, NULL, NULL, NULL
FROM xr_base WHERE pub IS NOT NULL AND pub > deadline
"""

_DUP_TEXT = f"""
INSERT INTO xr_new
SELECT x.report_id, x.revision, 'xr.duplicate_text', 'warning',
       '内容雷同: the text is ' || CAST(round(s.jaccard * 100) AS INTEGER) || '% identical to the ' || x.prev_year
         || ' report of the same agency (' || x.prev_url || ')',
       NULL, s.jaccard, NULL, NULL, NULL
FROM xr_pairs x JOIN text_similarity s USING (report_id, revision, prev_report_id, prev_revision)
WHERE s.jaccard >= {DUPLICATE_TEXT_THRESHOLD}
"""

_MISSING = """
CREATE OR REPLACE TEMP TABLE xr_missing AS
SELECT p.portal_id, p.agency_key, p.year + 1 AS year, 'xr.missing' AS rule, 'warning' AS severity,
       p.agency || ' published a report for ' || p.year || ' but none for ' || (p.year + 1)
         || ' although the deadline ' || strftime(CASE WHEN p.issuer_type = 'county_government'
              THEN make_date(p.year + 2, 3, 31) ELSE make_date(p.year + 2, 1, 31) END, '%Y-%m-%d')
         || ' has passed' AS message,
       p.agency, p.issuer_type,
       CASE WHEN p.issuer_type = 'county_government' THEN make_date(p.year + 2, 3, 31)
            ELSE make_date(p.year + 2, 1, 31) END AS deadline,
       p.report_id AS prev_report_id, p.url AS prev_url
FROM xr_primary p
WHERE NOT EXISTS (SELECT 1 FROM xr_primary c WHERE c.portal_id = p.portal_id AND c.agency_key = p.agency_key
                                              AND c.year = p.year + 1)
  AND (CASE WHEN p.issuer_type = 'county_government' THEN make_date(p.year + 2, 3, 31)
            ELSE make_date(p.year + 2, 1, 31) END) < ?
  AND coalesce((SELECT arg_max(ok, started_at) FROM portal_runs pr WHERE pr.portal_id = p.portal_id), true)
"""


def _alertable(con, as_of: dt.date, late: list[tuple], missing: list[tuple], first_runs: dict
               ) -> tuple[list[tuple], list[tuple]]:
    """Only what became late or missing since the portal was added is alerted; history is the baseline.

    - a report published late is alerted once (its first late revision), unless it was loaded by the portal's
      first successful run (then it is history: it is in the baseline item, coverage and the findings);
    - a missing report (agency, year) is alerted when its deadline passes after the portal's first successful
      run, judged with the run's ``as_of``; a deadline that had passed before then is a historical gap.
    """
    first = {pid: (as_of_, started) for pid, (_, as_of_, started) in first_runs.items()}
    first_seen: dict = {}
    alerted: set = set()
    if late:
        ids = sorted({r[0] for r in late})
        first_seen = dict(con.execute(
            "SELECT rep.report_id, r.started_at FROM reports rep JOIN runs r ON r.run_id = rep.first_seen_run"
            " WHERE rep.report_id IN (SELECT unnest(?::VARCHAR[]))", [ids]).fetchall())
        alerted = {r[0] for r in con.execute(
            "SELECT DISTINCT report_id FROM alerts WHERE kind = 'late_report' AND report_id IN (SELECT unnest(?::VARCHAR[]))",
            [ids]).fetchall()}
    late = [r for r in late if r[0] not in alerted and r[3] in first
            and (first_seen.get(r[0]) is None or first_seen[r[0]] > first[r[3]][1])]
    missing = [m for m in missing if m[0] in first and m[6] >= first[m[0]][0]]
    return late, missing


SIMILARITY_CHUNK = 1000  # pairs per round: bounds memory to ~2,000 texts' shingles at a time


def _similarity(con, pairs: list[tuple]) -> pa.Table:
    """Jaccard for (report, revision, prev_report, prev_revision) pairs not memoised yet."""
    parts = [_similarity_chunk(con, pairs[i : i + SIMILARITY_CHUNK]) for i in range(0, len(pairs), SIMILARITY_CHUNK)]
    return pa.concat_tables(parts) if parts else _similarity_chunk(con, [])


def _similarity_chunk(con, pairs: list[tuple]) -> pa.Table:
    keys = {(r, v) for r, v, _, _ in pairs} | {(r, v) for _, _, r, v in pairs}
    con.register(
        "_sim_keys",
        pa.table(
            {
                "report_id": pa.array([k[0] for k in keys], pa.string()),
                "revision": pa.array([k[1] for k in keys], pa.int32()),
            }
        ),
    )
    try:
        rows = con.execute(
            """SELECT v.report_id, v.revision, coalesce(nullif(st.t, ''), v.text)
               FROM report_revisions v JOIN _sim_keys USING (report_id, revision)
               LEFT JOIN (SELECT x.report_id, x.revision, string_agg(x.text, '' ORDER BY x.number) AS t
                          FROM sections x JOIN _sim_keys USING (report_id, revision) GROUP BY 1, 2) st
                 USING (report_id, revision)"""
        ).fetchall()
    finally:
        con.unregister("_sim_keys")
    sets = {(r, v): shingle_hashes(t or "") if len(t or "") >= MIN_TEXT_CHARS else None for r, v, t in rows}
    out = []
    for r, v, pr, pv in pairs:
        a, b = sets.get((r, v)), sets.get((pr, pv))
        out.append((r, v, pr, pv, jaccard_hashes(a, b) if a is not None and b is not None else None))
    cols = list(zip(*out)) if out else [[]] * 5
    return pa.table(
        {
            "report_id": pa.array(cols[0], pa.string()),
            "revision": pa.array(cols[1], pa.int32()),
            "prev_report_id": pa.array(cols[2], pa.string()),
            "prev_revision": pa.array(cols[3], pa.int32()),
            "jaccard": pa.array(cols[4], pa.float64()),
        }
    )


def _code_version() -> str:
    """The source of the checks (this module, the first-run rule, the outbox's dedupe): changed code recomputes."""
    import warehouse.identity
    import warehouse.outbox
    import warehouse.runlog

    return source_digest(__file__, warehouse.runlog.__file__, warehouse.outbox.__file__, warehouse.identity.__file__)


#: What the checks read, summed up: the reports' current revisions (a revision's rows, facts and text are never
#: rewritten, so its number stands for them), withdrawals, first-seen order, the documents (parent pages), each
#: portal's latest crawl outcome.  Counts and sums of row hashes: cheap at any size.
_INPUTS = """
SELECT concat_ws('|',
  (SELECT count(*) FROM reports),
  (SELECT coalesce(sum(hash(report_id, current_revision, portal_id, url, first_seen_at, withdrawn_at IS NULL)), 0)
   FROM reports),
  (SELECT count(*) FROM report_revisions),
  (SELECT count(*) FROM documents),
  (SELECT coalesce(sum(hash(portal_id, ok)), 0) FROM (
     SELECT portal_id, arg_max(ok, started_at) AS ok FROM portal_runs GROUP BY portal_id)))
"""

_OUTPUTS = """
SELECT concat_ws('|', (SELECT count(*) FROM findings WHERE source = 'cross_report'),
                      (SELECT count(*) FROM coverage_findings WHERE rule = 'xr.missing'),
                      (SELECT count(*) FROM text_similarity))
"""


def _inputs(con, as_of: dt.date, first: dict) -> str:
    parts = [_code_version(), last_deadline_day(as_of).isoformat(), con.execute(_INPUTS).fetchone()[0],
             repr(sorted((pid, str(a), str(s)) for pid, (_, a, s) in first.items()))]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def run_checks(wh, *, as_of: dt.date, run_id: str | None) -> CrossCheckResult:
    """Recompute all cross-report findings and coverage findings; enqueue late/missing alerts.

    Runs inside the caller's transaction (the load's final one).  When nothing the checks read has changed
    since they were last computed (``main.derived_state``: same reports and revisions, no deadline passed, the
    same portals failing, the same code) and their result is as they wrote it, the result is kept: recomputing
    it would write nothing and enqueue nothing (every alert is deduplicated), and it is a full pass over the
    warehouse -- most of a no-change night's load.
    """
    t0 = time.perf_counter()
    con = wh.con
    first = first_loaded_runs(con, run_id)
    inputs = _inputs(con, as_of, first)
    prev = con.execute(
        "SELECT inputs, outputs, findings_total, missing_total FROM derived_state WHERE name = 'cross_report'"
    ).fetchone()
    if prev is not None and prev[0] == inputs and prev[1] == con.execute(_OUTPUTS).fetchone()[0]:
        return CrossCheckResult(findings_total=prev[2], missing_total=prev[3], skipped=True,
                                seconds=time.perf_counter() - t0)
    res = CrossCheckResult()
    for stmt in (_BASE, _PRIMARY, _PAIRS, _NEW):
        con.execute(stmt)

    todo = con.execute(
        """SELECT x.report_id, x.revision, x.prev_report_id, x.prev_revision FROM xr_pairs x
           WHERE NOT EXISTS (SELECT 1 FROM text_similarity s WHERE s.report_id = x.report_id
                 AND s.revision = x.revision AND s.prev_report_id = x.prev_report_id
                 AND s.prev_revision = x.prev_revision)
           ORDER BY x.portal_id, x.agency_key, x.year"""
    ).fetchall()
    res.pairs_compared = len(todo)
    if todo:
        sim = _similarity(con, todo)
        con.register("_sim", sim)
        try:
            con.execute("INSERT INTO text_similarity SELECT * FROM _sim ON CONFLICT DO NOTHING")
        finally:
            con.unregister("_sim")

    for stmt in (_CARRY, _YOY, _DUP_PUB, _LATE, _DUP_TEXT):
        con.execute(stmt)

    latest_xr = """f.source = 'cross_report' AND EXISTS (SELECT 1 FROM reports r WHERE r.report_id = f.report_id
                                                          AND r.current_revision = f.revision)"""
    same = """n.report_id = f.report_id AND n.revision = f.revision AND n.rule = f.rule AND n.message = f.message
              AND n.col_key IS NOT DISTINCT FROM f.col_key"""
    res.findings_removed = len(
        con.execute(
            f"DELETE FROM findings f WHERE {latest_xr} AND NOT EXISTS (SELECT 1 FROM xr_new n WHERE {same}) RETURNING 1"
        ).fetchall()
    )
    res.findings_added = len(
        con.execute(
            f"""INSERT INTO findings (report_id, revision, source, rule, severity, message, expected, actual, tbl,
                                      row_key, col_key)
                SELECT n.report_id, n.revision, 'cross_report', n.rule, n.severity, n.message, n.expected, n.actual,
                       n.tbl, n.row_key, n.col_key
                FROM xr_new n WHERE NOT EXISTS (SELECT 1 FROM findings f WHERE f.source = 'cross_report' AND {same})
                RETURNING 1"""
        ).fetchall()
    )
    res.findings_total = int(con.execute("SELECT count(*) FROM xr_new").fetchone()[0])

    # coverage: missing reports
    con.execute(_MISSING, [as_of])
    con.execute(
        """DELETE FROM coverage_findings c WHERE rule = 'xr.missing' AND NOT EXISTS (
               SELECT 1 FROM xr_missing m WHERE m.portal_id = c.portal_id AND m.agency_key = c.agency_key
                                            AND m.year = c.year)"""
    )
    con.execute(
        """INSERT INTO coverage_findings (portal_id, agency_key, year, rule, severity, message, agency, issuer_type,
                                          deadline, prev_report_id, prev_url)
           SELECT portal_id, agency_key, year, rule, severity, message, agency, issuer_type, deadline,
                  prev_report_id, prev_url FROM xr_missing
           ON CONFLICT DO NOTHING"""
    )
    missing = con.execute(
        "SELECT portal_id, agency_key, year, agency, prev_url, message, deadline, prev_report_id FROM xr_missing"
    ).fetchall()
    res.missing_total = len(missing)

    late = con.execute(
        """SELECT b.report_id, b.revision, b.url, b.portal_id, b.title, b.pub, b.deadline, b.issuer_type, b.year
           FROM xr_base b JOIN xr_new n ON n.report_id = b.report_id AND n.rule = 'xr.late'"""
    ).fetchall()
    late, missing = _alertable(con, as_of, late, missing, first)
    alerts = [
        dict(
            kind="late_report",
            report_id=r[0],
            revision=r[1],
            url=r[2],
            portal_id=r[3],
            title=r[4],
            payload={"published": r[5], "deadline": r[6], "issuer_type": r[7], "year": r[8]},
        )
        for r in late
    ] + [
        dict(
            kind="missing_report",
            url=m[4],
            portal_id=m[0],
            title=f"{m[3]}: no report for {m[2]}",
            subject=f"{m[0]}|{m[1]}|{m[2]}",
            payload={"agency_key": m[1], "agency": m[3], "year": m[2], "deadline": m[6],
                     "previous_report_id": m[7], "previous_url": m[4], "message": m[5]},
        )
        for m in missing
    ]
    res.alerts_enqueued = enqueue_many(wh, alerts, run_id=run_id)
    for t in ("xr_base", "xr_primary", "xr_pairs", "xr_new", "xr_missing"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    con.execute(
        """INSERT OR REPLACE INTO derived_state (name, inputs, outputs, findings_total, missing_total, run_id, computed_at)
           VALUES ('cross_report', ?, (""" + _OUTPUTS + """), ?, ?, ?, now() AT TIME ZONE 'UTC')""",
        [inputs, res.findings_total, res.missing_total, run_id],
    )
    res.seconds = time.perf_counter() - t0
    return res
