"""The raw layer of the warehouse, declared once as versioned migrations.

Each migration is a list of declarative steps (create a table, add a column, run SQL).  The *current*
description of every table -- its columns, types and comments -- is the fold of all migrations, so
``COMMENT ON`` statements and the docs come from the same place as the DDL, while an old file is
upgraded by applying only the steps it has not seen yet (recorded in ``schema_version``).

Never edit a migration that has shipped: append a new one.  Analytics views are not migrations;
they are re-created on every writer open from :mod:`warehouse.analytics` (views hold no data).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    comment: str
    constraint: str = ""  # e.g. "PRIMARY KEY", "NOT NULL", "DEFAULT 0"


@dataclass(frozen=True)
class CreateTable:
    name: str
    comment: str
    columns: tuple[Column, ...]
    constraints: tuple[str, ...] = ()  # table constraints, e.g. "PRIMARY KEY (a, b)"

    def sql(self) -> list[str]:
        parts = [f"{c.name} {c.type} {c.constraint}".strip() for c in self.columns] + list(self.constraints)
        return [f"CREATE TABLE IF NOT EXISTS {self.name} (\n  " + ",\n  ".join(parts) + "\n)"]


@dataclass(frozen=True)
class AddColumn:
    table: str
    column: Column

    def sql(self) -> list[str]:
        c = self.column
        return [f"ALTER TABLE {self.table} ADD COLUMN IF NOT EXISTS {c.name} {c.type} {c.constraint}".strip()]


@dataclass(frozen=True)
class RawSQL:
    statements: tuple[str, ...]

    def sql(self) -> list[str]:
        return list(self.statements)


@dataclass(frozen=True)
class RenameColumnIfExists:
    """For files written by pre-release code that used an older column name."""

    table: str
    old: str
    new: str

    def sql(self) -> list[str]:
        return []

    def apply(self, con: duckdb.DuckDBPyConnection) -> None:
        n = con.execute(
            "SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'main' AND table_name = ? AND column_name = ?",
            [self.table, self.old],
        ).fetchone()[0]
        if n:
            con.execute(f"ALTER TABLE {self.table} RENAME COLUMN {self.old} TO {self.new}")


Step = CreateTable | AddColumn | RawSQL | RenameColumnIfExists


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    steps: tuple[Step, ...] = field(default_factory=tuple)


C = Column

# ------------------------------------------------------------------------------------------ migration 1

_M1 = Migration(
    1,
    "raw layer: portals, runs, fetch log, documents, reports, revisions, sections, facts, findings",
    (
        CreateTable(
            "portals",
            "One row per portal of the registry (latest registry values).",
            (
                C("portal_id", "VARCHAR", "Stable slug of the portal (registry id).", "PRIMARY KEY"),
                C("name", "VARCHAR", "Portal / government name, e.g. 扶沟县人民政府."),
                C("division_code", "VARCHAR", "6-digit administrative division code, when known."),
                C("province", "VARCHAR", "Province (省)."),
                C("city", "VARCHAR", "Prefecture-level city (市)."),
                C("county", "VARCHAR", "County (县/区/市)."),
                C("cms", "VARCHAR", "CMS hint from the registry or the detected family."),
                C("start_urls", "VARCHAR[]", "Annual-report column URLs of the portal."),
                C("first_seen_at", "TIMESTAMP", "When the portal first appeared in a run."),
                C("last_seen_at", "TIMESTAMP", "When the portal last appeared in a run."),
            ),
        ),
        CreateTable(
            "runs",
            "One row per pipeline run: counts, timings and status.",
            (
                C("run_id", "VARCHAR", "Run identifier given by the flow.", "PRIMARY KEY"),
                C("mode", "VARCHAR", "nightly | backfill | reprocess."),
                C("started_at", "TIMESTAMP", "When the run started (flow clock)."),
                C("finished_at", "TIMESTAMP", "When the load of the run committed."),
                C("as_of", "DATE", "The date deadlines were judged against (late / missing)."),
                C("status", "VARCHAR", "running | ok | failed | interrupted (its process died; marked by the next run)."),
                C("error", "VARCHAR", "Why the run failed, if it did."),
                C("portals", "INTEGER", "Portals in the run."),
                C("portals_failed", "INTEGER", "Portals whose crawl failed entirely."),
                C("documents", "INTEGER", "Documents handed to the loader."),
                C("reports_new", "INTEGER", "Reports seen for the first time."),
                C("reports_revised", "INTEGER", "Reports whose content changed (new revision)."),
                C("reports_unchanged", "INTEGER", "Reports seen again with the same content."),
                C("reports_withdrawn", "INTEGER", "Reports marked withdrawn in this run."),
                C("reports_malformed", "INTEGER", "New revisions with an error finding."),
                C("reports_not_parsed", "INTEGER", "New revisions that are not readable reports."),
                C("facts_loaded", "BIGINT", "Fact rows inserted."),
                C("findings_loaded", "BIGINT", "Extractor finding rows inserted."),
                C("alerts_enqueued", "INTEGER", "Alert outbox rows created by the load."),
                C("fetches", "BIGINT", "Fetch-log rows recorded."),
                C("failures", "BIGINT", "Fetch failures recorded."),
                C("load_seconds", "DOUBLE", "Wall time of the load stage."),
            ),
        ),
        CreateTable(
            "fetch_log",
            "Every HTTP exchange of every run (append-only per run; a re-load of the same run replaces its rows).",
            (
                C("run_id", "VARCHAR", "Run that made the request."),
                C("portal_id", "VARCHAR", "Portal the URL belongs to."),
                C("url", "VARCHAR", "Requested URL."),
                C("fetched_at", "TIMESTAMP", "When the response (or the last attempt) ended, UTC."),
                C("kind", "VARCHAR", "robots | list | list_api | report_page | attachment | start."),
                C("status", "INTEGER", "HTTP status; NULL when there was no response."),
                C("sha256", "VARCHAR", "sha256 of the archived body, when there was one."),
                C("bytes", "BIGINT", "Body bytes received."),
                C("attempts", "INTEGER", "Attempts made (retries + 1)."),
                C("error", "VARCHAR", "Failure kind and reason."),
                C("elapsed_ms", "DOUBLE", "Time spent on the exchange."),
            ),
        ),
        CreateTable(
            "fetch_failures",
            "Fetch failures per run (timeouts, 404s, blocked redirects, ...).",
            (
                C("run_id", "VARCHAR", "Run that saw the failure."),
                C("portal_id", "VARCHAR", "Portal of the URL."),
                C("url", "VARCHAR", "URL that failed."),
                C("kind", "VARCHAR", "Failure kind: timeout, connect, http_404, too_large, ..."),
                C("reason", "VARCHAR", "Human-readable reason."),
                C("attempts", "INTEGER", "Attempts made."),
            ),
        ),
        CreateTable(
            "documents",
            "Raw documents index: one row per (portal, URL, body sha256), pointing into the crawler archive.",
            (
                C("portal_id", "VARCHAR", "Portal of the document."),
                C("url", "VARCHAR", "Document URL."),
                C("sha256", "VARCHAR", "sha256 of the raw body: the archive object objects/<sha[:2]>/<sha>.gz."),
                C("kind", "VARCHAR", "report_page | attachment."),
                C("fetched_at", "TIMESTAMP", "When this body was fetched."),
                C("first_seen_run", "VARCHAR", "Run that first loaded this body."),
                C("link_text", "VARCHAR", "Anchor text on the list page."),
                C("list_date", "DATE", "Date shown beside the link on the list page."),
                C("parent_url", "VARCHAR", "For attachments: the report page linking it."),
                C("error", "VARCHAR", "Why the body could not be read, if so."),
            ),
            ("PRIMARY KEY (portal_id, url, sha256)",),
        ),
        CreateTable(
            "reports",
            "One row per report URL (report_id = stable hash of portal and URL); never deleted.",
            (
                C("report_id", "VARCHAR", "Stable id: hash of (portal_id, url).", "PRIMARY KEY"),
                C("portal_id", "VARCHAR", "Portal the report was found on."),
                C("url", "VARCHAR", "Report URL."),
                C("current_revision", "INTEGER", "Latest revision number (1-based)."),
                C("first_seen_at", "TIMESTAMP", "When the report was first loaded."),
                C("first_seen_run", "VARCHAR", "Run that first loaded it."),
                C("last_seen_at", "TIMESTAMP", "Last run start in which the crawl saw the URL."),
                C("last_seen_run", "VARCHAR", "Last run in which the crawl saw the URL."),
                C("last_changed_at", "TIMESTAMP", "When the latest revision was loaded."),
                C("withdrawn_at", "TIMESTAMP", "When a complete listing of the portal stopped showing it (NULL = live)."),
                C("withdrawn_run", "VARCHAR", "Run that marked it withdrawn."),
            ),
        ),
        CreateTable(
            "report_revisions",
            "Every distinct content of a report (decided by Report.content_hash()); earlier revisions are kept.",
            (
                C("report_id", "VARCHAR", "Report this revision belongs to."),
                C("revision", "INTEGER", "1, 2, ... in load order."),
                C("content_hash", "VARCHAR", "Hash of what the report says (not of the page chrome)."),
                C("run_id", "VARCHAR", "Run that loaded this revision."),
                C("loaded_at", "TIMESTAMP", "When this revision was loaded."),
                C("document_sha256", "VARCHAR", "Raw body the revision was extracted from."),
                C("is_report", "BOOLEAN", "False for pages that are not reports and unreadable documents."),
                C("reason", "VARCHAR", "Why it is not a report (or the read error)."),
                C("title", "VARCHAR", "Report title."),
                C("agency", "VARCHAR", "Issuing agency as printed."),
                C("year", "INTEGER", "Statistics year of the report."),
                C("published", "DATE", "Publication date shown by the page."),
                C("template", "VARCHAR", "2019 | 2021 | legacy | unknown."),
                C("status", "VARCHAR", "ok | malformed | not_parsed."),
                C("text", "VARCHAR", "Report body as plain text."),
                C("n_facts", "INTEGER", "Number of facts of the revision."),
                C("n_errors", "INTEGER", "Number of error findings of the extractor."),
            ),
            ("PRIMARY KEY (report_id, revision)",),
        ),
        CreateTable(
            "sections",
            "The six statutory sections of each revision.",
            (
                C("report_id", "VARCHAR", "Report."),
                C("revision", "INTEGER", "Revision."),
                C("number", "INTEGER", "Statutory section number 1..6."),
                C("heading", "VARCHAR", "Heading as printed."),
                C("text", "VARCHAR", "Section text."),
            ),
        ),
        CreateTable(
            "facts",
            "Canonical cells of tables 二/三/四 per revision, with the raw cell text and its provenance.",
            (
                C("report_id", "VARCHAR", "Report."),
                C("revision", "INTEGER", "Revision."),
                C("tbl", "VARCHAR", "t2 | t3 | t4."),
                C("row_key", "VARCHAR", "Canonical row key (extractors/formats.py)."),
                C("col_key", "VARCHAR", "Canonical column key (extractors/formats.py)."),
                C("value", "DOUBLE", "Numeric value (money in 万元); NULL when printed as not applicable."),
                C("raw", "VARCHAR", "Cell text as printed."),
                C("document_sha256", "VARCHAR", "Raw document the cell was read from."),
                C("table_index", "INTEGER", "Index of the <table> in the document."),
                C("grid_row", "INTEGER", "Row in the span-expanded grid."),
                C("grid_col", "INTEGER", "Column in the span-expanded grid."),
                C("implicit_zero", "BOOLEAN", "A blank cell read as 0."),
            ),
        ),
        CreateTable(
            "findings",
            "Quality findings per revision: the extractor's rules and the cross-report checks (xr.*).",
            (
                C("report_id", "VARCHAR", "Report."),
                C("revision", "INTEGER", "Revision."),
                C("source", "VARCHAR", "extractor | cross_report."),
                C("rule", "VARCHAR", "Stable rule id."),
                C("severity", "VARCHAR", "error | warning | info."),
                C("message", "VARCHAR", "Human-readable message."),
                C("expected", "DOUBLE", "Expected number, when the rule compares numbers."),
                C("actual", "DOUBLE", "Actual number."),
                C("tbl", "VARCHAR", "Table of the cell concerned."),
                C("row_key", "VARCHAR", "Row of the cell concerned."),
                C("col_key", "VARCHAR", "Column of the cell concerned."),
            ),
        ),
    ),
)

# ------------------------------------------------------------------------------------------ migration 2

_M2 = Migration(
    2,
    "issuer identity, portal runs, alert outbox and deliveries, coverage findings, text-similarity memo",
    (
        AddColumn("report_revisions", C("agency_key", "VARCHAR", "Normalised agency key, stable per portal.")),
        AddColumn(
            "report_revisions",
            C("issuer_type", "VARCHAR", "county_government | government_office | department | township | other."),
        ),
        AddColumn("report_revisions", C("list_date", "DATE", "Date shown beside the link on the list page.")),
        AddColumn("report_revisions", C("kind", "VARCHAR", "report_page | attachment.")),
        CreateTable(
            "portal_runs",
            "Per portal per run: did the crawl work, and how much did it see.",
            (
                C("run_id", "VARCHAR", "Run."),
                C("portal_id", "VARCHAR", "Portal."),
                C("started_at", "TIMESTAMP", "Run start (orders the runs of a portal)."),
                C("ok", "BOOLEAN", "False when the portal could not be crawled at all."),
                C("listing_complete", "BOOLEAN", "Every list page was read (withdrawals are only judged then)."),
                C("cms", "VARCHAR", "Detected CMS family."),
                C("error", "VARCHAR", "Why the crawl failed."),
                C("documents", "INTEGER", "Report pages and attachments seen."),
                C("failures", "INTEGER", "Fetch failures."),
                C("requests", "INTEGER", "HTTP requests made."),
                C("bytes", "BIGINT", "Bytes received."),
                C("elapsed_s", "DOUBLE", "Crawl wall time."),
            ),
            ("PRIMARY KEY (run_id, portal_id)",),
        ),
        RawSQL(("CREATE SEQUENCE IF NOT EXISTS alert_id_seq START 1",)),
        CreateTable(
            "alerts",
            "Alert outbox, written in the same transaction as the load; one row per (kind, report, revision).",
            (
                C("id", "BIGINT", "Outbox id (increasing).", "PRIMARY KEY DEFAULT nextval('alert_id_seq')"),
                C("kind", "VARCHAR", "new_report | revised_report | malformed_report | late_report | missing_report | portal_unreachable | run_failed."),
                C("report_id", "VARCHAR", "Report concerned (NULL for portal/run alerts)."),
                C("revision", "INTEGER", "Revision concerned."),
                C("url", "VARCHAR", "URL the alert is about (the report URL; for coverage alerts the last known report or the portal)."),
                C("portal_id", "VARCHAR", "Portal concerned."),
                C("title", "VARCHAR", "Report title or a short subject."),
                C("payload", "JSON", "Details: changed facts old->new, error findings, ..."),
                C("created_at", "TIMESTAMP", "When the alert was enqueued."),
                C("run_id", "VARCHAR", "Run that enqueued it."),
                C("dedupe_key", "VARCHAR", "kind|report|revision (or kind|subject): an alert is never enqueued twice.", "UNIQUE NOT NULL"),
            ),
        ),
        CreateTable(
            "alert_deliveries",
            "Which alert was delivered on which channel; an alert without a row for a channel is pending there.",
            (
                C("alert_id", "BIGINT", "alerts.id of the delivered alert."),
                C("channel_key", "VARCHAR", "Stable, secret-free key of the channel."),
                C("delivered_at", "TIMESTAMP", "When the channel accepted it."),
            ),
            ("PRIMARY KEY (alert_id, channel_key)",),
        ),
        CreateTable(
            "coverage_findings",
            "Findings about an agency rather than a report (xr.missing: no report for a year once the deadline passed).",
            (
                C("portal_id", "VARCHAR", "Portal."),
                C("agency_key", "VARCHAR", "Agency key."),
                C("year", "INTEGER", "Report year that is missing."),
                C("rule", "VARCHAR", "Rule id (xr.missing)."),
                C("severity", "VARCHAR", "Severity."),
                C("message", "VARCHAR", "Message."),
                C("agency", "VARCHAR", "Agency name as last printed."),
                C("issuer_type", "VARCHAR", "Issuer type of the agency."),
                C("deadline", "DATE", "Statutory deadline that passed."),
                C("prev_report_id", "VARCHAR", "The agency's report of the previous year."),
                C("prev_url", "VARCHAR", "Its URL."),
            ),
            ("PRIMARY KEY (portal_id, agency_key, year, rule)",),
        ),
        CreateTable(
            "text_similarity",
            "Memo of shingle Jaccard similarity between two revisions (xr.duplicate_text), so it is computed once.",
            (
                C("report_id", "VARCHAR", "Later report."),
                C("revision", "INTEGER", "Its revision."),
                C("prev_report_id", "VARCHAR", "Same agency's previous-year report."),
                C("prev_revision", "INTEGER", "Its revision."),
                C("jaccard", "DOUBLE", "Jaccard similarity of character 5-gram shingles (digits removed)."),
            ),
            ("PRIMARY KEY (report_id, revision, prev_report_id, prev_revision)",),
        ),
    ),
)

# ------------------------------------------------------------------------------------------ migration 3

_M3 = Migration(
    3,
    "per-phase run timings; alerts.id (pre-release files had alerts.alert_id)",
    (
        RenameColumnIfExists("alerts", "alert_id", "id"),
        AddColumn(
            "runs",
            C("timings", "JSON", "Seconds per phase: load phases, plus crawl/extract when the flow records them."),
        ),
    ),
)

# ------------------------------------------------------------------------------------------ migration 4

_M4 = Migration(
    4,
    "what a document is: report_revisions.doc_kind; the stored publication decisions (main.publications)",
    (
        AddColumn(
            "report_revisions",
            C("doc_kind", "VARCHAR", "report | unreadable | a non-report kind (notice, interpretation, summary, list, "
              "anti_crawl, placeholder, ...; see docs/formats.md). NULL in rows loaded before migration 4."),
        ),
        CreateTable(
            "publications",
            "The publication decision per report page with attachments and per such attachment (stage "
            "publication/): which document is the report. Stored with the load, reused while the page is unchanged.",
            (
                C("portal_id", "VARCHAR", "Portal."),
                C("url", "VARCHAR", "Page or attachment URL."),
                C("sha256", "VARCHAR", "Body the decision was made from (a changed body is decided again)."),
                C("role", "VARCHAR", "report | copy (an attachment of a complete page) | carrier (a page whose "
                  "attachment is the report) | pending (a carrier whose attachment is not fetched yet)."),
                C("of_url", "VARCHAR", "copy: the report page; carrier / pending: the attachment that is the report."),
                C("decided_run", "VARCHAR", "Run that stored the decision."),
            ),
            ("PRIMARY KEY (portal_id, url)",),
        ),
    ),
)

# ------------------------------------------------------------------------------------------ migration 5

_M5 = Migration(
    5,
    "sharded runs: which staged shard attempt each run merged (main.merged_shards)",
    (
        CreateTable(
            "merged_shards",
            "One row per shard of a sharded run (issue 13) whose staged files the merger loaded; written in the "
            "same transaction as the shard's rows, so a shard is merged whole or not at all and a second merge of "
            "the same run loads the attempt recorded here (and changes nothing).",
            (
                C("run_id", "VARCHAR", "The sharded run (its plan under the staging root)."),
                C("shard", "INTEGER", "Shard number in the run's plan."),
                C("attempt", "INTEGER", "Attempt of the shard that was merged (a lost worker's shard is run again "
                  "as a new attempt)."),
                C("manifest_sha256", "VARCHAR", "sha256 of the attempt's manifest.json (pins the exact files)."),
                C("portals", "INTEGER", "Portals in the shard."),
                C("pieces", "INTEGER", "Staged pieces loaded."),
                C("merged_at", "TIMESTAMP", "When the shard's transaction committed (UTC)."),
            ),
            ("PRIMARY KEY (run_id, shard)",),
        ),
    ),
)

# ------------------------------------------------------------------------------------------ migration 6

_M6 = Migration(
    6,
    "what the cross-report checks were last computed from (main.derived_state)",
    (
        CreateTable(
            "derived_state",
            "One row per result derived from the whole warehouse (today: the cross-report checks): a fingerprint of "
            "its inputs when it was last computed, written in the same transaction as the result. A run whose "
            "inputs have the same fingerprint (nothing loaded, revised or withdrawn, no statutory deadline passed, "
            "the same code) keeps the result instead of recomputing it.",
            (
                C("name", "VARCHAR", "Which result (cross_report).", "PRIMARY KEY"),
                C("inputs", "VARCHAR", "Fingerprint of the inputs (see warehouse/crosscheck.py)."),
                C("outputs", "VARCHAR", "Row counts of the result as written (a result changed since is recomputed)."),
                C("findings_total", "INTEGER", "Cross-report findings on the latest revisions."),
                C("missing_total", "INTEGER", "Missing-report coverage findings."),
                C("run_id", "VARCHAR", "Run that computed it."),
                C("computed_at", "TIMESTAMP", "When (UTC)."),
            ),
        ),
    ),
)

MIGRATIONS: tuple[Migration, ...] = (_M1, _M2, _M3, _M4, _M5, _M6)
LATEST_VERSION = MIGRATIONS[-1].version

_VERSION_TABLE = CreateTable(
    "schema_version",
    "Applied schema migrations (one row per version).",
    (
        C("version", "INTEGER", "Migration number.", "PRIMARY KEY"),
        C("description", "VARCHAR", "What the migration did."),
        C("applied_at", "TIMESTAMP", "When it was applied to this file."),
    ),
)


def current_tables() -> dict[str, CreateTable]:
    """The tables as they are after all migrations (columns in order, comments)."""
    tables: dict[str, CreateTable] = {_VERSION_TABLE.name: _VERSION_TABLE}
    for m in MIGRATIONS:
        for s in m.steps:
            if isinstance(s, CreateTable):
                tables[s.name] = s
            elif isinstance(s, AddColumn):
                t = tables[s.table]
                tables[s.table] = CreateTable(t.name, t.comment, t.columns + (s.column,), t.constraints)
    return tables


class SchemaTooNew(Exception):
    """The file was written by a newer version of the code; refusing to touch it."""


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = 'schema_version'"
    ).fetchone()[0]
    if not exists:
        return 0
    return int(con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0])


def migrate(con: duckdb.DuckDBPyConnection, target: int | None = None) -> list[int]:
    """Apply the migrations above the file's version (up to ``target``), each in its own transaction."""
    target = LATEST_VERSION if target is None else target
    for stmt in _VERSION_TABLE.sql():
        con.execute(stmt)
    have = schema_version(con)
    if have > LATEST_VERSION:
        raise SchemaTooNew(
            f"warehouse schema version {have} is newer than this code understands ({LATEST_VERSION}): upgrade ogi"
        )
    applied: list[int] = []
    for m in MIGRATIONS:
        if m.version <= have or m.version > target:
            continue
        con.execute("BEGIN")
        try:
            for step in m.steps:
                for stmt in step.sql():
                    con.execute(stmt)
                if isinstance(step, RenameColumnIfExists):
                    step.apply(con)
            con.execute(
                "INSERT INTO schema_version VALUES (?, ?, ?)",
                [m.version, m.description, dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)],
            )
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
        applied.append(m.version)
    return applied


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def apply_comments(con: duckdb.DuckDBPyConnection) -> None:
    """``COMMENT ON`` every raw table and column (idempotent; run after migrations)."""
    existing = {
        r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'").fetchall()
    }
    for t in current_tables().values():
        if t.name not in existing:
            continue
        con.execute(f"COMMENT ON TABLE {t.name} IS {_q(t.comment)}")
        for c in t.columns:
            con.execute(f"COMMENT ON COLUMN {t.name}.{c.name} IS {_q(c.comment)}")
