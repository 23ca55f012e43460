"""The ``analytics`` schema: the documented, backward-compatible surface analysts query.

Every view is declared here once -- name, Chinese label, description, columns (name, type, Chinese
label, meaning) and SQL -- and the same declaration creates the view, writes ``COMMENT ON`` for it
and its columns, and generates ``docs/warehouse.md`` (:mod:`warehouse.docgen`).  The contract of
issue 2 fixes the first columns of reports/facts/findings/coverage; columns may be added at the end,
never removed or renamed.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from extractors.formats import T4_COLS, T4_ROWS, TABLES


@dataclass(frozen=True)
class ViewColumn:
    name: str
    type: str
    label_zh: str
    description: str


@dataclass(frozen=True)
class View:
    name: str  # without the schema
    label_zh: str
    description: str
    columns: tuple[ViewColumn, ...]
    sql: str  # a SELECT whose output columns are exactly ``columns``, in order

    @property
    def qualified(self) -> str:
        return f"analytics.{self.name}"


V = ViewColumn


def _t3_rows_by_group() -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for tables in TABLES.values():
        for label in tables["t3"].blocks[0].rows:
            if label.group and label.key not in groups.setdefault(label.group, []):
                groups[label.group].append(label.key)
    return groups


def _t3_label(key: str) -> str:
    """The label printed on the official form for a table 三 row (from extractors/formats.py)."""
    for tables in TABLES.values():
        for label in tables["t3"].blocks[0].rows:
            if label.key == key:
                return label.label
    raise KeyError(key)


def _in(keys: list[str]) -> str:
    return "(" + ", ".join(f"'{k}'" for k in keys) + ")"


_G = _t3_rows_by_group()

# ------------------------------------------------------------------------------------------ reports

#: The current revision ``v`` of report row ``r`` is a report: readable or not (图片版, unreadable body), never a
#: notice, interpretation, summary, list, WAF or placeholder page (those are in ``analytics.documents``), and
#: not a page or attachment the publication stage decided is a copy or carrier of another document.
_IS_REPORT = """coalesce(v.doc_kind, CASE WHEN v.is_report THEN 'report' ELSE 'not_a_report' END)
                 IN ('report', 'unreadable', 'error')
      AND NOT EXISTS (SELECT 1 FROM main.publications pb WHERE pb.portal_id = r.portal_id AND pb.url = r.url
                                                             AND pb.role <> 'report')"""

REPORTS = View(
    "reports",
    "报告",
    "One row per report (its latest revision). Withdrawn reports stay, flagged `withdrawn`. Only reports: what"
    " else was fetched (notices, interpretations, summaries, lists, WAF pages, attachment copies) is in"
    " `analytics.documents`. When the crawl last saw a URL is run-log data: `analytics.report_checks`.",
    (
        V("report_id", "VARCHAR", "报告ID", "Stable id: hash of (portal_id, url)."),
        V("portal_id", "VARCHAR", "门户ID", "Portal the report was found on (registry id)."),
        V("url", "VARCHAR", "网址", "Report URL."),
        V("title", "VARCHAR", "标题", "Report title."),
        V("agency", "VARCHAR", "发布机关", "Issuing agency as printed (or taken from the title)."),
        V("year", "INTEGER", "报告年度", "Statistics year the report covers."),
        V("template", "VARCHAR", "格式版本", "2019 | 2021 | legacy | unknown (detected from the tables)."),
        V("published_date", "DATE", "发布日期", "Publication date shown by the page, else the date beside the link on the list page."),
        V("first_seen_at", "TIMESTAMP", "首次发现时间", "When the pipeline first loaded the report."),
        V("last_changed_at", "TIMESTAMP", "最近变更时间", "When the latest revision was loaded."),
        V("revision", "INTEGER", "修订版本", "Latest revision number (1 = never changed)."),
        V("status", "VARCHAR", "状态", "ok | malformed (an error finding) | not_parsed (not readable as a report)."),
        V("agency_key", "VARCHAR", "机关标识", "Normalised agency key, stable per portal across years and name variants."),
        V("issuer_type", "VARCHAR", "机关类型", "county_government | government_office | department | township | other."),
        V("deadline", "DATE", "法定截止日期", "31 Mar of year+1 for the county government, 31 Jan of year+1 otherwise."),
        V("late", "BOOLEAN", "逾期发布", "published_date is after the deadline (NULL when either is unknown)."),
        V("withdrawn", "BOOLEAN", "已撤下", "A complete listing of the portal no longer shows the URL."),
        V("withdrawn_at", "TIMESTAMP", "撤下时间", "When it was found withdrawn."),
        V("kind", "VARCHAR", "文档类型", "report_page | attachment."),
        V("content_hash", "VARCHAR", "内容哈希", "Hash of what the latest revision says."),
        V("document_sha256", "VARCHAR", "原始文档哈希", "sha256 of the raw body in the crawler archive."),
        V("n_facts", "INTEGER", "数据项数", "Number of facts of the latest revision."),
        V("n_errors", "INTEGER", "错误数", "Error findings of the extractor."),
        V("reason", "VARCHAR", "未解析原因", "Why the report could not be read (status not_parsed)."),
        V("province", "VARCHAR", "省", "Province of the portal."),
        V("city", "VARCHAR", "市", "City of the portal."),
        V("county", "VARCHAR", "县", "County of the portal."),
    ),
    f"""
    SELECT r.report_id, r.portal_id, r.url, v.title, v.agency, v.year, v.template,
           coalesce(v.published, v.list_date) AS published_date,
           r.first_seen_at, r.last_changed_at, r.current_revision AS revision, v.status,
           v.agency_key, v.issuer_type,
           CASE WHEN v.year IS NULL THEN NULL
                WHEN v.issuer_type = 'county_government' THEN make_date(v.year + 1, 3, 31)
                ELSE make_date(v.year + 1, 1, 31) END AS deadline,
           coalesce(v.published, v.list_date) > (CASE WHEN v.issuer_type = 'county_government'
                THEN make_date(v.year + 1, 3, 31) ELSE make_date(v.year + 1, 1, 31) END) AS late,
           r.withdrawn_at IS NOT NULL AS withdrawn, r.withdrawn_at, v.kind, v.content_hash,
           v.document_sha256, v.n_facts, v.n_errors, v.reason, p.province, p.city, p.county
    FROM main.reports r
    JOIN main.report_revisions v ON v.report_id = r.report_id AND v.revision = r.current_revision
    LEFT JOIN main.portals p ON p.portal_id = r.portal_id
    WHERE {_IS_REPORT}
    """,
)

FACTS = View(
    "facts",
    "报表数据",
    "Canonical cells of tables 二/三/四 of the latest revision of each report; keys are listed under *Fact keys*.",
    (
        V("report_id", "VARCHAR", "报告ID", "Report."),
        V("tbl", "VARCHAR", "表", "t2 (主动公开) | t3 (依申请公开) | t4 (行政复议、行政诉讼) | "
          "legacy (figures a pre-2019 report states, keys in docs/formats.md)."),
        V("row_key", "VARCHAR", "行", "Canonical row key (see Fact keys)."),
        V("col_key", "VARCHAR", "列", "Canonical column key (see Fact keys)."),
        V("value", "DOUBLE", "数值", "Value; money in 万元; NULL when printed as not applicable (/, —)."),
        V("raw", "VARCHAR", "原文", "Cell text exactly as printed."),
        V("revision", "INTEGER", "修订版本", "Revision the fact belongs to (the latest)."),
        V("table_index", "INTEGER", "表格序号", "Index of the <table> in the raw document."),
        V("grid_row", "INTEGER", "网格行", "Row in the span-expanded grid."),
        V("grid_col", "INTEGER", "网格列", "Column in the span-expanded grid."),
        V("implicit_zero", "BOOLEAN", "空白计零", "The cell was blank and read as 0."),
        V("document_sha256", "VARCHAR", "原始文档哈希", "Raw document the cell was read from."),
    ),
    f"""
    SELECT f.report_id, f.tbl, f.row_key, f.col_key, f.value, f.raw, f.revision, f.table_index,
           f.grid_row, f.grid_col, f.implicit_zero, f.document_sha256
    FROM main.facts f
    JOIN main.reports r ON r.report_id = f.report_id AND f.revision = r.current_revision
    JOIN main.report_revisions v ON v.report_id = r.report_id AND v.revision = r.current_revision
    WHERE {_IS_REPORT}
    """,
)

FINDINGS = View(
    "findings",
    "质量问题",
    "Quality findings of the latest revision: the extractor's rules and the cross-report checks (`xr.*`).",
    (
        V("report_id", "VARCHAR", "报告ID", "Report."),
        V("rule", "VARCHAR", "规则", "Stable rule id (e.g. t3.balance, xr.carry_over_mismatch)."),
        V("severity", "VARCHAR", "严重程度", "error | warning | info."),
        V("message", "VARCHAR", "说明", "Human-readable message."),
        V("revision", "INTEGER", "修订版本", "Revision the finding belongs to (the latest)."),
        V("source", "VARCHAR", "来源", "extractor | cross_report."),
        V("expected", "DOUBLE", "应为", "Expected number, when the rule compares numbers."),
        V("actual", "DOUBLE", "实为", "Actual number."),
        V("tbl", "VARCHAR", "表", "Table of the cell concerned."),
        V("row_key", "VARCHAR", "行", "Row of the cell concerned."),
        V("col_key", "VARCHAR", "列", "Column of the cell concerned."),
    ),
    f"""
    SELECT f.report_id, f.rule, f.severity, f.message, f.revision, f.source, f.expected, f.actual,
           f.tbl, f.row_key, f.col_key
    FROM main.findings f
    JOIN main.reports r ON r.report_id = f.report_id AND f.revision = r.current_revision
    JOIN main.report_revisions v ON v.report_id = r.report_id AND v.revision = r.current_revision
    WHERE {_IS_REPORT}
    """,
)

_AS_OF = "(SELECT coalesce(max(as_of), current_date) FROM main.runs WHERE status = 'ok')"

COVERAGE = View(
    "coverage",
    "发布覆盖情况",
    "One row per portal and report year (from the portal's first report year, or the last due year, to the"
    " last year whose first deadline (31 Jan) has passed at the latest run's as-of date): published or not, on time or"
    " late, malformed or not. Not-parsed and withdrawn documents do not count as published.",
    (
        V("portal_id", "VARCHAR", "门户ID", "Portal."),
        V("year", "INTEGER", "报告年度", "Report (statistics) year."),
        V("published", "BOOLEAN", "已发布", "At least one report for the year is on the portal."),
        V("on_time", "BOOLEAN", "按时发布", "Published and no report of the year was published after its deadline."),
        V("late", "BOOLEAN", "逾期", "At least one report of the year was published after its deadline."),
        V("malformed", "BOOLEAN", "存在错误", "At least one report of the year has an error finding."),
        V("portal_name", "VARCHAR", "门户名称", "Portal name."),
        V("province", "VARCHAR", "省", "Province."),
        V("city", "VARCHAR", "市", "City."),
        V("county", "VARCHAR", "县", "County."),
        V("division_code", "VARCHAR", "行政区划代码", "Administrative division code."),
        V("county_report_published", "BOOLEAN", "县政府报告已发布", "The county government's own report for the year exists."),
        V("county_report_late", "BOOLEAN", "县政府报告逾期", "The county government's report was published after 31 Mar."),
        V("deadline_passed", "BOOLEAN", "已过截止日期", "The county deadline (31 Mar of year+1) is before the as-of date."),
        V("reports", "INTEGER", "报告数", "Reports for the year."),
        V("agencies", "INTEGER", "发布机关数", "Distinct agencies with a report for the year."),
        V("late_reports", "INTEGER", "逾期报告数", "Reports published after their deadline."),
        V("malformed_reports", "INTEGER", "错误报告数", "Reports with an error finding."),
        V("missing_agencies", "INTEGER", "缺报机关数", "Agencies that published the year before but not this year (xr.missing)."),
    ),
    f"""
    WITH asof_date AS (SELECT {_AS_OF} AS as_of),
    rep AS (
        SELECT * FROM analytics.reports WHERE NOT withdrawn AND status <> 'not_parsed' AND year IS NOT NULL
    ),
    bounds AS (
        SELECT p.portal_id,
               least(coalesce(min(rep.year), year(a.as_of) - 1), year(a.as_of) - 1) AS y0,
               greatest(coalesce(max(rep.year), 0),
                        CASE WHEN a.as_of > make_date(year(a.as_of), 1, 31) THEN year(a.as_of) - 1
                             ELSE year(a.as_of) - 2 END) AS y1
        FROM main.portals p CROSS JOIN asof_date a
        LEFT JOIN rep ON rep.portal_id = p.portal_id AND rep.year BETWEEN 2008 AND year(a.as_of)
        GROUP BY p.portal_id, a.as_of
    ),
    years AS (SELECT portal_id, unnest(range(y0, y1 + 1)) AS year FROM bounds),
    agg AS (
        SELECT portal_id, year, count(*) AS reports, count(DISTINCT agency_key) AS agencies,
               count(*) FILTER (WHERE late) AS late_reports,
               count(*) FILTER (WHERE status = 'malformed') AS malformed_reports,
               bool_or(issuer_type = 'county_government') AS county_pub,
               bool_or(issuer_type = 'county_government' AND late) AS county_late
        FROM rep GROUP BY portal_id, year
    ),
    miss AS (
        SELECT portal_id, year, count(*) AS n FROM main.coverage_findings WHERE rule = 'xr.missing'
        GROUP BY portal_id, year
    )
    SELECT y.portal_id, y.year::INTEGER AS year,
           coalesce(agg.reports, 0) > 0 AS published,
           coalesce(agg.reports, 0) > 0 AND coalesce(agg.late_reports, 0) = 0 AS on_time,
           coalesce(agg.late_reports, 0) > 0 AS late,
           coalesce(agg.malformed_reports, 0) > 0 AS malformed,
           p.name AS portal_name, p.province, p.city, p.county, p.division_code,
           coalesce(agg.county_pub, false) AS county_report_published,
           coalesce(agg.county_late, false) AS county_report_late,
           make_date(y.year::INTEGER + 1, 3, 31) < (SELECT as_of FROM asof_date) AS deadline_passed,
           coalesce(agg.reports, 0)::INTEGER AS reports,
           coalesce(agg.agencies, 0)::INTEGER AS agencies,
           coalesce(agg.late_reports, 0)::INTEGER AS late_reports,
           coalesce(agg.malformed_reports, 0)::INTEGER AS malformed_reports,
           coalesce(miss.n, 0)::INTEGER AS missing_agencies
    FROM years y
    JOIN main.portals p ON p.portal_id = y.portal_id
    LEFT JOIN agg ON agg.portal_id = y.portal_id AND agg.year = y.year
    LEFT JOIN miss ON miss.portal_id = y.portal_id AND miss.year = y.year
    """,
)

# ------------------------------------------------------------------------------------------ convenience


def _t3_sql() -> str:
    def one(key: str) -> str:
        return f"max(f.value) FILTER (WHERE f.row_key = '{key}')"

    def group(keys: list[str]) -> str:
        return f"sum(f.value) FILTER (WHERE f.row_key IN {_in(keys)})"

    return f"""
    SELECT r.report_id, r.portal_id, r.agency, r.agency_key, r.issuer_type, r.year, r.template,
           {one('new_received')} AS received,
           {one('carried_over')} AS carried_over,
           {one('granted')} AS granted,
           {one('partially_granted')} AS partially_granted,
           {group(_G['denied'])} AS denied,
           {group(_G['unable'])} AS unable,
           {group(_G['rejected'])} AS rejected,
           {group(_G['other'])} AS other,
           {one('total_handled')} AS total_handled,
           {one('carried_forward')} AS carried_forward,
           {one('granted')} / nullif({one('total_handled')}, 0) AS grant_rate,
           ({one('granted')} + {one('partially_granted')}) / nullif({one('total_handled')}, 0)
               AS grant_rate_incl_partial,
           r.url, r.status
    FROM analytics.reports r
    JOIN analytics.facts f ON f.report_id = r.report_id AND f.tbl = 't3' AND f.col_key = 'total'
    GROUP BY ALL
    """


T3_APPLICATIONS = View(
    "t3_applications",
    "依申请公开情况（表三）",
    "One wide row per report with a table 三: the 总计 column of each handling outcome (groups summed).",
    (
        V("report_id", "VARCHAR", "报告ID", "Report."),
        V("portal_id", "VARCHAR", "门户ID", "Portal."),
        V("agency", "VARCHAR", "发布机关", "Issuing agency."),
        V("agency_key", "VARCHAR", "机关标识", "Normalised agency key."),
        V("issuer_type", "VARCHAR", "机关类型", "Issuer type."),
        V("year", "INTEGER", "报告年度", "Report year."),
        V("template", "VARCHAR", "格式版本", "2019 | 2021."),
        V("received", "DOUBLE", _t3_label("new_received"), "t3 new_received / total."),
        V("carried_over", "DOUBLE", _t3_label("carried_over"), "t3 carried_over / total."),
        V("granted", "DOUBLE", _t3_label("granted"), "t3 granted / total."),
        V("partially_granted", "DOUBLE", _t3_label("partially_granted"), "t3 partially_granted / total."),
        V("denied", "DOUBLE", "不予公开", "Sum of the eight denied_* rows (（三）不予公开)."),
        V("unable", "DOUBLE", "无法提供", "Sum of the unable_* rows (（四）无法提供)."),
        V("rejected", "DOUBLE", "不予处理", "Sum of the rejected_* rows (（五）不予处理)."),
        V("other", "DOUBLE", "其他处理", "（六）其他处理: the 2019 row, or the sum of the three 2021 rows."),
        V("total_handled", "DOUBLE", _t3_label("total_handled"), "（七）总计."),
        V("carried_forward", "DOUBLE", _t3_label("carried_forward"), "t3 carried_forward / total."),
        V("grant_rate", "DOUBLE", "公开率", "granted / total_handled (NULL when nothing was handled)."),
        V("grant_rate_incl_partial", "DOUBLE", "公开率（含部分公开）", "(granted + partially_granted) / total_handled."),
        V("url", "VARCHAR", "网址", "Report URL."),
        V("status", "VARCHAR", "状态", "Report status."),
    ),
    _t3_sql(),
)


def _t4_columns() -> tuple[ViewColumn, ...]:
    cols = []
    for r in T4_ROWS:
        for c in T4_COLS:
            cols.append(V(f"{r.key}_{c.key}", "DOUBLE", f"{r.label}·{c.label}", f"t4 {r.key} / {c.key}."))
    return tuple(cols)


def _t4_sql() -> str:
    picks = ",\n           ".join(
        f"max(f.value) FILTER (WHERE f.row_key = '{r.key}' AND f.col_key = '{c.key}') AS {r.key}_{c.key}"
        for r in T4_ROWS
        for c in T4_COLS
    )
    return f"""
    SELECT r.report_id, r.portal_id, r.agency, r.agency_key, r.year,
           {picks},
           r.url
    FROM analytics.reports r
    JOIN analytics.facts f ON f.report_id = r.report_id AND f.tbl = 't4'
    GROUP BY ALL
    """


T4_OUTCOMES = View(
    "t4_outcomes",
    "行政复议、行政诉讼情况（表四）",
    "One wide row per report with a table 四: the 15 cells (review, litigation without/after review × outcome).",
    (
        V("report_id", "VARCHAR", "报告ID", "Report."),
        V("portal_id", "VARCHAR", "门户ID", "Portal."),
        V("agency", "VARCHAR", "发布机关", "Issuing agency."),
        V("agency_key", "VARCHAR", "机关标识", "Normalised agency key."),
        V("year", "INTEGER", "报告年度", "Report year."),
    )
    + _t4_columns()
    + (V("url", "VARCHAR", "网址", "Report URL."),),
    _t4_sql(),
)

COUNTY_COVERAGE = View(
    "county_coverage",
    "县年度发布情况",
    "One row per county and report year (portals of one county combined), from `analytics.coverage`.",
    (
        V("province", "VARCHAR", "省", "Province."),
        V("city", "VARCHAR", "市", "City."),
        V("county", "VARCHAR", "县", "County (the portal id when the registry names none)."),
        V("division_code", "VARCHAR", "行政区划代码", "Administrative division code."),
        V("year", "INTEGER", "报告年度", "Report year."),
        V("portals", "INTEGER", "门户数", "Portals of the county."),
        V("published", "BOOLEAN", "已发布", "Any report for the year."),
        V("county_report_published", "BOOLEAN", "县政府报告已发布", "The county government's own report exists."),
        V("county_report_late", "BOOLEAN", "县政府报告逾期", "It was published after 31 Mar of year+1."),
        V("on_time", "BOOLEAN", "按时发布", "Published and nothing late."),
        V("reports", "INTEGER", "报告数", "Reports for the year."),
        V("agencies", "INTEGER", "发布机关数", "Distinct agencies reporting."),
        V("late_reports", "INTEGER", "逾期报告数", "Reports published late."),
        V("malformed_reports", "INTEGER", "错误报告数", "Reports with an error finding."),
        V("missing_agencies", "INTEGER", "缺报机关数", "Agencies missing this year (xr.missing)."),
        V("deadline_passed", "BOOLEAN", "已过截止日期", "The county deadline has passed."),
    ),
    """
    SELECT province, city, coalesce(county, portal_id) AS county, division_code, year,
           count(*)::INTEGER AS portals, bool_or(published) AS published,
           bool_or(county_report_published) AS county_report_published,
           bool_or(county_report_late) AS county_report_late,
           bool_or(published) AND NOT bool_or(late) AS on_time,
           sum(reports)::INTEGER AS reports, sum(agencies)::INTEGER AS agencies,
           sum(late_reports)::INTEGER AS late_reports, sum(malformed_reports)::INTEGER AS malformed_reports,
           sum(missing_agencies)::INTEGER AS missing_agencies, bool_or(deadline_passed) AS deadline_passed
    FROM analytics.coverage
    GROUP BY province, city, coalesce(county, portal_id), division_code, year
    """,
)

AGENCIES = View(
    "agencies",
    "发布机关",
    "One row per agency and portal, followed across years and name variants.",
    (
        V("portal_id", "VARCHAR", "门户ID", "Portal."),
        V("agency_key", "VARCHAR", "机关标识", "Normalised key (stable per portal)."),
        V("issuer_type", "VARCHAR", "机关类型", "county_government | government_office | department | township | other."),
        V("agency", "VARCHAR", "机关名称", "Name as printed in the most recent report."),
        V("names", "VARCHAR[]", "名称写法", "All printed variants of the name."),
        V("first_year", "INTEGER", "首个报告年度", "Earliest report year."),
        V("last_year", "INTEGER", "最近报告年度", "Latest report year."),
        V("reports", "INTEGER", "报告数", "Reports (latest revisions, not withdrawn)."),
        V("years", "INTEGER[]", "报告年度列表", "Years with a report."),
    ),
    """
    SELECT portal_id, agency_key, arg_max(issuer_type, coalesce(year, 0)) AS issuer_type,
           arg_max(agency, coalesce(year, 0)) AS agency, list_sort(list(DISTINCT agency)) AS names,
           min(year) AS first_year, max(year) AS last_year, count(*)::INTEGER AS reports,
           list_sort(list(DISTINCT year) FILTER (WHERE year IS NOT NULL)) AS years
    FROM analytics.reports
    WHERE NOT withdrawn AND status <> 'not_parsed'
    GROUP BY portal_id, agency_key
    """,
)

MISSING_REPORTS = View(
    "missing_reports",
    "缺报",
    "Agencies that published for the previous year but have no report for `year` although its deadline passed.",
    (
        V("portal_id", "VARCHAR", "门户ID", "Portal."),
        V("agency_key", "VARCHAR", "机关标识", "Agency key."),
        V("agency", "VARCHAR", "机关名称", "Name as printed last."),
        V("issuer_type", "VARCHAR", "机关类型", "Issuer type."),
        V("year", "INTEGER", "缺报年度", "The year without a report."),
        V("deadline", "DATE", "法定截止日期", "Deadline that passed."),
        V("prev_report_id", "VARCHAR", "上年报告ID", "The agency's report for year-1."),
        V("prev_url", "VARCHAR", "上年报告网址", "Its URL."),
        V("message", "VARCHAR", "说明", "Message."),
    ),
    """
    SELECT portal_id, agency_key, agency, issuer_type, year, deadline, prev_report_id, prev_url, message
    FROM main.coverage_findings WHERE rule = 'xr.missing'
    """,
)

REVISIONS = View(
    "revisions",
    "报告修订历史",
    "Every revision of every report (history); join `main.facts` on (report_id, revision) for old values.",
    (
        V("report_id", "VARCHAR", "报告ID", "Report."),
        V("revision", "INTEGER", "修订版本", "Revision number."),
        V("is_latest", "BOOLEAN", "是否最新", "This is the current revision."),
        V("loaded_at", "TIMESTAMP", "载入时间", "When the revision was loaded."),
        V("run_id", "VARCHAR", "运行ID", "Run that loaded it."),
        V("content_hash", "VARCHAR", "内容哈希", "Hash of what it says."),
        V("title", "VARCHAR", "标题", "Title."),
        V("agency", "VARCHAR", "发布机关", "Agency."),
        V("year", "INTEGER", "报告年度", "Year."),
        V("template", "VARCHAR", "格式版本", "Template."),
        V("status", "VARCHAR", "状态", "ok | malformed | not_parsed."),
        V("n_facts", "INTEGER", "数据项数", "Facts of the revision."),
        V("document_sha256", "VARCHAR", "原始文档哈希", "Raw document."),
        V("url", "VARCHAR", "网址", "Report URL."),
    ),
    """
    SELECT v.report_id, v.revision, v.revision = r.current_revision AS is_latest, v.loaded_at, v.run_id,
           v.content_hash, v.title, v.agency, v.year, v.template, v.status, v.n_facts, v.document_sha256, r.url
    FROM main.report_revisions v JOIN main.reports r ON r.report_id = v.report_id
    """,
)

PORTALS = View(
    "portals",
    "门户",
    "One row per portal with its crawl health (consecutive failed runs drive the portal_unreachable alert). When"
    " each run crawled it is run-log data: `analytics.portal_runs`.",
    (
        V("portal_id", "VARCHAR", "门户ID", "Portal."),
        V("name", "VARCHAR", "门户名称", "Name."),
        V("province", "VARCHAR", "省", "Province."),
        V("city", "VARCHAR", "市", "City."),
        V("county", "VARCHAR", "县", "County."),
        V("division_code", "VARCHAR", "行政区划代码", "Division code."),
        V("last_ok", "BOOLEAN", "最近运行成功", "The latest crawl of the portal worked."),
        V("consecutive_failures", "INTEGER", "连续失败次数", "Failed runs since the last successful one."),
        V("reports", "INTEGER", "报告数", "Live reports (not withdrawn)."),
    ),
    """
    WITH pr AS (
        SELECT portal_id, started_at, ok,
               count(*) FILTER (WHERE ok) OVER (PARTITION BY portal_id ORDER BY started_at DESC
                   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS oks_since
        FROM main.portal_runs
    ),
    health AS (
        SELECT portal_id, arg_max(ok, started_at) AS last_ok,
               (count(*) FILTER (WHERE oks_since = 0))::INTEGER AS consecutive_failures
        FROM pr GROUP BY portal_id
    ),
    live AS (SELECT portal_id, count(*)::INTEGER AS n FROM main.reports WHERE withdrawn_at IS NULL GROUP BY portal_id)
    SELECT p.portal_id, p.name, p.province, p.city, p.county, p.division_code, h.last_ok,
           coalesce(h.consecutive_failures, 0) AS consecutive_failures, coalesce(live.n, 0) AS reports
    FROM main.portals p LEFT JOIN health h USING (portal_id) LEFT JOIN live USING (portal_id)
    """,
)

DOCUMENTS = View(
    "documents",
    "非报告文档",
    "Everything fetched that is not a report: notices about compiling the reports, interpretations (解读),"
    " summaries (要点), lists, WAF/placeholder pages, and the copies and carrier pages of a report (one"
    " publication, one report). Coverage, agencies and alerts ignore them. A report we could not read (图片版)"
    " is a report (`analytics.reports`, status not_parsed), not a document.",
    (
        V("url", "VARCHAR", "网址", "Document URL."),
        V("doc_kind", "VARCHAR", "文档类型", "notice | interpretation | summary | plan | guide | list | anti_crawl | "
          "login | placeholder | truncated | other_report | not_a_report (docs/formats.md), or copy (an attachment of"
          " a complete report page) | carrier (a page whose attachment is the report) | pending (a carrier whose"
          " attachment is not fetched yet)."),
        V("reason", "VARCHAR", "原因", "Why it is not a report."),
        V("portal_id", "VARCHAR", "门户ID", "Portal."),
        V("kind", "VARCHAR", "抓取类型", "report_page | attachment."),
        V("title", "VARCHAR", "标题", "Title of the page (or the link text)."),
        V("of_url", "VARCHAR", "所属报告", "copy / carrier / pending: the URL of the document that is the report."),
        V("fetched_at", "TIMESTAMP", "抓取时间", "When the body was fetched."),
        V("first_seen_at", "TIMESTAMP", "首次发现时间", "When the pipeline first loaded the URL."),
        V("document_sha256", "VARCHAR", "原始文档哈希", "sha256 of the raw body in the crawler archive."),
    ),
    """
    WITH body AS (
        SELECT d.portal_id, d.url, d.sha256, d.kind, d.fetched_at, d.link_text FROM main.documents d
    ),
    decided AS (
        SELECT pb.portal_id, pb.url, pb.role AS doc_kind, pb.of_url, pb.sha256,
               CASE pb.role WHEN 'copy' THEN 'a copy of the report page ' || pb.of_url
                            WHEN 'carrier' THEN 'the report is its attachment ' || pb.of_url
                            ELSE 'its attachment ' || pb.of_url || ' (the report) is not fetched yet' END AS reason
        FROM main.publications pb WHERE pb.role <> 'report'
    ),
    nonreport AS (
        SELECT r.portal_id, r.url, coalesce(v.doc_kind, 'not_a_report') AS doc_kind, v.reason, v.title, v.kind,
               v.document_sha256 AS sha256, r.first_seen_at
        FROM main.reports r
        JOIN main.report_revisions v ON v.report_id = r.report_id AND v.revision = r.current_revision
        WHERE coalesce(v.doc_kind, CASE WHEN v.is_report THEN 'report' ELSE 'not_a_report' END)
              NOT IN ('report', 'unreadable', 'error')
          AND NOT EXISTS (SELECT 1 FROM decided x WHERE x.portal_id = r.portal_id AND x.url = r.url)
    )
    SELECT n.url, n.doc_kind, n.reason, n.portal_id, coalesce(b.kind, n.kind) AS kind, n.title, NULL AS of_url,
           b.fetched_at, n.first_seen_at, n.sha256 AS document_sha256
    FROM nonreport n LEFT JOIN body b ON b.portal_id = n.portal_id AND b.url = n.url AND b.sha256 = n.sha256
    UNION ALL
    SELECT x.url, x.doc_kind, x.reason, x.portal_id, b.kind, b.link_text AS title, x.of_url, b.fetched_at,
           (SELECT min(b2.fetched_at) FROM body b2 WHERE b2.portal_id = x.portal_id AND b2.url = x.url),
           x.sha256
    FROM decided x LEFT JOIN body b ON b.portal_id = x.portal_id AND b.url = x.url AND b.sha256 = x.sha256
    """,
)

PORTAL_RUNS = View(
    "portal_runs",
    "门户运行记录",
    "Run log: one row per portal and run (when it was crawled, did it work). Grows by one row per portal per run.",
    (
        V("run_id", "VARCHAR", "运行ID", "Run."),
        V("portal_id", "VARCHAR", "门户ID", "Portal."),
        V("started_at", "TIMESTAMP", "开始时间", "Run start."),
        V("ok", "BOOLEAN", "成功", "The crawl of the portal worked."),
        V("listing_complete", "BOOLEAN", "列表完整", "Every list page was read."),
        V("error", "VARCHAR", "错误", "Why the crawl failed."),
        V("documents", "INTEGER", "文档数", "Report pages and attachments seen."),
        V("requests", "INTEGER", "请求数", "HTTP requests."),
        V("bytes", "BIGINT", "字节数", "Bytes received."),
        V("elapsed_s", "DOUBLE", "耗时（秒）", "Crawl wall time."),
    ),
    """
    SELECT run_id, portal_id, started_at, ok, listing_complete, error, documents, requests, bytes, elapsed_s
    FROM main.portal_runs
    """,
)

REPORT_CHECKS = View(
    "report_checks",
    "报告最近检查",
    "Run log: when the crawl last saw each report URL (changes every night by design, so it is not a column of"
    " `analytics.reports`, whose rows change only when a report does).",
    (
        V("report_id", "VARCHAR", "报告ID", "Report."),
        V("portal_id", "VARCHAR", "门户ID", "Portal."),
        V("url", "VARCHAR", "网址", "URL."),
        V("last_seen_at", "TIMESTAMP", "最近发现时间", "Start of the last run in which the crawl saw the URL."),
        V("last_seen_run", "VARCHAR", "最近发现运行", "That run."),
    ),
    """
    SELECT report_id, portal_id, url, last_seen_at, last_seen_run FROM main.reports
    """,
)

RUNS = View(
    "runs",
    "运行记录",
    "One row per pipeline run with its counts and timings.",
    (
        V("run_id", "VARCHAR", "运行ID", "Run."),
        V("mode", "VARCHAR", "模式", "nightly | backfill | reprocess."),
        V("status", "VARCHAR", "状态", "running | ok | failed | interrupted (killed: marked by the next run)."),
        V("started_at", "TIMESTAMP", "开始时间", "Start."),
        V("finished_at", "TIMESTAMP", "结束时间", "End of the load."),
        V("as_of", "DATE", "判定日期", "Date deadlines were judged against."),
        V("portals", "INTEGER", "门户数", "Portals."),
        V("portals_failed", "INTEGER", "失败门户数", "Portals whose crawl failed."),
        V("documents", "INTEGER", "文档数", "Documents loaded."),
        V("reports_new", "INTEGER", "新报告", "New reports."),
        V("reports_revised", "INTEGER", "修订报告", "Revised reports."),
        V("reports_withdrawn", "INTEGER", "撤下报告", "Withdrawn reports."),
        V("reports_malformed", "INTEGER", "错误报告", "Malformed new revisions."),
        V("facts_loaded", "BIGINT", "载入数据项", "Facts inserted."),
        V("alerts_enqueued", "INTEGER", "新增提醒", "Alerts enqueued."),
        V("load_seconds", "DOUBLE", "载入耗时（秒）", "Load time."),
        V("error", "VARCHAR", "错误", "Why the run failed or what its interruption left to the next run."),
        V("timings", "JSON", "各阶段耗时", "Seconds per phase (load.*; crawl/extract when recorded by the flow)."),
    ),
    """
    SELECT run_id, mode, status, started_at, finished_at, as_of, portals, portals_failed, documents,
           reports_new, reports_revised, reports_withdrawn, reports_malformed, facts_loaded, alerts_enqueued,
           load_seconds, error, timings
    FROM main.runs
    """,
)

#: In creation order (later views may use earlier ones).
VIEWS: tuple[View, ...] = (
    REPORTS,
    FACTS,
    FINDINGS,
    COVERAGE,
    T3_APPLICATIONS,
    T4_OUTCOMES,
    COUNTY_COVERAGE,
    AGENCIES,
    MISSING_REPORTS,
    REVISIONS,
    PORTALS,
    DOCUMENTS,
    PORTAL_RUNS,
    REPORT_CHECKS,
    RUNS,
)


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def create_views(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create the analytics views and their comments; idempotent, cheap (views hold no data)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS analytics")
    for v in VIEWS:
        cols = ", ".join(c.name for c in v.columns)
        con.execute(f"CREATE OR REPLACE VIEW {v.qualified} ({cols}) AS {v.sql}")
        con.execute(f"COMMENT ON VIEW {v.qualified} IS {_q(v.label_zh + ' — ' + v.description)}")
        for c in v.columns:
            con.execute(f"COMMENT ON COLUMN {v.qualified}.{c.name} IS {_q(c.label_zh + ' — ' + c.description)}")


#: Example questions with their SQL (documented in docs/warehouse.md; a test runs every one).
RECIPES: tuple[tuple[str, str], ...] = (
    (
        "Which counties published their own report on time, per year?",
        "SELECT province, county, year, county_report_published, county_report_late\n"
        "FROM analytics.county_coverage WHERE deadline_passed ORDER BY province, county, year",
    ),
    (
        "Applications received and grant rate per county government report",
        "SELECT r.county, a.year, a.received, a.granted, round(a.grant_rate, 3) AS grant_rate\n"
        "FROM analytics.t3_applications a JOIN analytics.reports r USING (report_id)\n"
        "WHERE a.issuer_type = 'county_government' ORDER BY r.county, a.year",
    ),
    (
        "Who breaks the arithmetic of the official form (error findings)?",
        "SELECT r.agency, r.year, f.rule, f.message, r.url\n"
        "FROM analytics.findings f JOIN analytics.reports r USING (report_id)\n"
        "WHERE f.severity = 'error' ORDER BY r.agency, r.year",
    ),
    (
        "Who copied last year's report (内容雷同) or carried over the wrong numbers?",
        "SELECT r.agency, r.year, f.rule, f.message\n"
        "FROM analytics.findings f JOIN analytics.reports r USING (report_id)\n"
        "WHERE f.rule IN ('xr.duplicate_text', 'xr.carry_over_mismatch') ORDER BY r.agency, r.year",
    ),
    (
        "Which agencies have not published this year although the deadline passed?",
        "SELECT portal_id, agency, year, deadline, prev_url FROM analytics.missing_reports ORDER BY portal_id, agency",
    ),
    (
        "How did a revised report change? (every revision's 总计 of table 三 row 予以公开)",
        "SELECT v.report_id, v.revision, v.loaded_at, f.value\n"
        "FROM analytics.revisions v JOIN main.facts f USING (report_id, revision)\n"
        "WHERE f.tbl = 't3' AND f.row_key = 'granted' AND f.col_key = 'total' ORDER BY v.report_id, v.revision",
    ),
)
