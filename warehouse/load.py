"""Load one run into the working warehouse: revisions, facts, findings, withdrawals, alerts.

How it stays correct:
- **Idempotent.** A report is keyed by ``report_id = hash(portal_id, url)`` and a revision by
  ``Report.content_hash()``; the same input twice finds every hash already current and writes no
  report, fact, finding or alert (alerts are also deduplicated by key).
- **Atomic per batch.** New and revised reports are written in batches; each batch (revisions,
  sections, facts, findings, the reports rows and the per-report alerts) is one transaction, so a
  crash leaves whole reports or nothing.  The run-level work (fetch log, withdrawals, cross-report
  checks, coverage alerts, run row) is one final transaction, recomputed from the warehouse state,
  so a re-run after a crash converges to the same state a clean run would have produced.
- **Streamed.** A run hands its documents over piece by piece as they are extracted (:class:`RunLoader`), so
  it never holds every report of the run; the run-level work waits for :meth:`RunLoader.finish`.
- **Bulk.** Rows go in as Arrow tables through ``INSERT … SELECT`` (one statement per table per
  batch), never row by row; a worker thread hashes and builds the next batch's Arrow tables while
  DuckDB (which releases the GIL) inserts the current one.
- **Never worse.** A page that used to be a report and now reads as a non-report or is unreadable
  (anti-crawl page, truncated body) does not become a revision: the report keeps its content and
  the URL is listed in ``LoadResult.kept_previous``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hashlib
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np
import pyarrow as pa

from extractors.model import Report
from ogi.killpoints import killpoint
from warehouse.crosscheck import run_checks
from warehouse.db import Warehouse, crash_point, release_cache
from warehouse.identity import classify_issuer
from warehouse.inputs import DocumentInput, RunInput
from warehouse.outbox import enqueue_alert, enqueue_many
from warehouse.runlog import first_loaded_runs

MAX_DIFF_IN_PAYLOAD = 200


def report_id_for(portal_id: str, url: str) -> str:
    """Stable report id: the first 20 hex digits of sha256(portal_id NUL url)."""
    return hashlib.sha256(f"{portal_id}\x00{url}".encode()).hexdigest()[:20]


def _utc_naive(t: dt.datetime | None) -> dt.datetime | None:
    if t is None:
        return None
    if t.tzinfo is not None:
        t = t.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return t


def _as_date(v: Any) -> dt.date | None:
    """A date for DATE columns (a datetime or an ISO string from a lenient producer is accepted)."""
    if v is None or (isinstance(v, dt.date) and not isinstance(v, dt.datetime)):
        return v
    if isinstance(v, dt.datetime):
        return v.date()
    try:
        return dt.date.fromisoformat(str(v)[:10])
    except ValueError:
        return None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


@dataclass(slots=True)
class ReportRef:
    report_id: str
    url: str
    portal_id: str
    revision: int | None = None
    title: str = ""
    year: int | None = None
    #: error findings, one line each (malformed reports): the run summary shows them after the report is released
    findings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class FactChange:
    table: str
    row: str
    col: str
    old: float | None
    new: float | None


@dataclass(slots=True)
class RevisedReport:
    report_id: str
    url: str
    portal_id: str
    revision: int
    changes: list[FactChange] = field(default_factory=list)


@dataclass
class LoadResult:
    run_id: str
    new: list[ReportRef] = field(default_factory=list)
    revised: list[RevisedReport] = field(default_factory=list)
    malformed: list[ReportRef] = field(default_factory=list)
    not_parsed: list[ReportRef] = field(default_factory=list)
    withdrawn: list[ReportRef] = field(default_factory=list)
    #: Documents without an extracted report that the warehouse has never seen (re-extract them).
    unknown_unchanged: list[str] = field(default_factory=list)
    #: URLs whose new content was not a readable report while the warehouse has a report: kept as is.
    kept_previous: list[str] = field(default_factory=list)
    #: Portals whose first successful run this was (their baseline payload): one ``baseline`` alert each
    #: instead of per-report alerts.
    baseline: dict[str, dict[str, Any]] = field(default_factory=dict)
    unchanged: int = 0
    documents: int = 0
    facts_loaded: int = 0
    findings_loaded: int = 0
    cross_findings: int = 0
    missing: int = 0
    alerts_enqueued: int = 0
    #: The cross-report checks' inputs were unchanged since they were computed: their result was kept.
    cross_checks_kept: bool = False
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def new_ids(self) -> list[str]:
        return [r.report_id for r in self.new]

    @property
    def new_urls(self) -> list[str]:
        return [r.url for r in self.new]

    def counts(self) -> dict[str, int]:
        """The numbers a run summary shows."""
        return {
            "documents": self.documents,
            "new": len(self.new),
            "revised": len(self.revised),
            "unchanged": self.unchanged,
            "malformed": len(self.malformed),
            "not_parsed": len(self.not_parsed),
            "withdrawn": len(self.withdrawn),
            "kept_previous": len(self.kept_previous),
            "unknown_unchanged": len(self.unknown_unchanged),
            "facts_loaded": self.facts_loaded,
            "findings_loaded": self.findings_loaded,
            "cross_findings": self.cross_findings,
            "missing": self.missing,
            "alerts_enqueued": self.alerts_enqueued,
        }

    @property
    def changed(self) -> bool:
        return bool(self.new or self.revised or self.withdrawn or self.alerts_enqueued)


@dataclass(slots=True)
class _Doc:
    """One document to load, with everything derived from it."""

    doc: DocumentInput
    report_id: str
    content_hash: str | None  # None: nothing to compare (unchanged, not re-extracted)
    report: Report | None
    status: str = "not_parsed"
    revision: int = 1
    old_revision: int | None = None
    agency_key: str = "unknown"
    issuer_type: str = "other"
    was_report: bool = False  # the current revision in the warehouse is a report (not a notice, WAF page …)
    baseline: bool = False  # the portal's first successful run: no per-report alerts (one baseline item instead)


def _content_hash(d: DocumentInput) -> str | None:
    if d.report is not None:
        return d.report.content_hash()
    if d.error is not None:
        return hashlib.sha256(f"unreadable\x00{d.error}".encode()).hexdigest()
    return None


# ------------------------------------------------------------------------------------------ arrow builders


def _repeat(values: list[Any], counts: list[int], type_: pa.DataType) -> pa.Array:
    """``values[i]`` repeated ``counts[i]`` times, as a dictionary array (no per-row copies)."""
    idx = pa.array(np.repeat(np.arange(len(values), dtype=np.int32), counts), pa.int32())
    return pa.DictionaryArray.from_arrays(idx, pa.array(values, type_))


def _facts_table(batch: list[_Doc]) -> pa.Table:
    reps = [d.report for d in batch]
    counts = [len(r.facts) for r in reps]  # type: ignore[union-attr]
    facts = [f for r in reps for f in r.facts]  # type: ignore[union-attr]
    revision = np.repeat(np.array([d.revision for d in batch], dtype=np.int32), counts)
    return pa.table(
        {
            "report_id": _repeat([d.report_id for d in batch], counts, pa.string()),
            "revision": pa.array(revision, pa.int32()),
            "tbl": pa.array([f.table for f in facts], pa.string()),
            "row_key": pa.array([f.row for f in facts], pa.string()),
            "col_key": pa.array([f.col for f in facts], pa.string()),
            "value": pa.array([f.value for f in facts], pa.float64()),
            "raw": pa.array([f.raw for f in facts], pa.string()),
            "document_sha256": _repeat([d.doc.sha256 for d in batch], counts, pa.string()),
            "table_index": pa.array([f.table_index for f in facts], pa.int32()),
            "grid_row": pa.array([f.grid_row for f in facts], pa.int32()),
            "grid_col": pa.array([f.grid_col for f in facts], pa.int32()),
            "implicit_zero": pa.array([f.implicit_zero for f in facts], pa.bool_()),
        }
    )


def _sections_table(batch: list[_Doc]) -> pa.Table:
    rows = [(d.report_id, d.revision, s.number, s.heading, s.text) for d in batch for s in d.report.sections]  # type: ignore[union-attr]
    cols = list(zip(*rows)) if rows else [[], [], [], [], []]
    return pa.table(
        {
            "report_id": pa.array(cols[0], pa.string()),
            "revision": pa.array(cols[1], pa.int32()),
            "number": pa.array(cols[2], pa.int32()),
            "heading": pa.array(cols[3], pa.string()),
            "text": pa.array(cols[4], pa.string()),
        }
    )


def _findings_table(batch: list[_Doc]) -> pa.Table:
    rows = [
        (d.report_id, d.revision, "extractor", f.rule, f.severity, f.message, f.expected, f.actual, f.table, f.row, f.col)
        for d in batch
        for f in d.report.findings  # type: ignore[union-attr]
    ]
    names = ["report_id", "revision", "source", "rule", "severity", "message", "expected", "actual", "tbl", "row_key", "col_key"]
    types = [pa.string(), pa.int32()] + [pa.string()] * 4 + [pa.float64()] * 2 + [pa.string()] * 3
    cols = list(zip(*rows)) if rows else [[] for _ in names]
    return pa.table({n: pa.array(list(c), t) for n, c, t in zip(names, cols, types)})


def _revisions_table(batch: list[_Doc], run: RunInput, loaded_at: dt.datetime) -> pa.Table:
    def rep(d: _Doc) -> Report | None:
        return d.report

    return pa.table(
        {
            "report_id": pa.array([d.report_id for d in batch], pa.string()),
            "revision": pa.array([d.revision for d in batch], pa.int32()),
            "content_hash": pa.array([d.content_hash for d in batch], pa.string()),
            "run_id": pa.array([run.run_id] * len(batch), pa.string()),
            "loaded_at": pa.array([loaded_at] * len(batch), pa.timestamp("us")),
            "document_sha256": pa.array([d.doc.sha256 for d in batch], pa.string()),
            "is_report": pa.array([bool(rep(d) and rep(d).is_report) for d in batch], pa.bool_()),
            "reason": pa.array([(rep(d).reason if rep(d) else d.doc.error) for d in batch], pa.string()),
            "title": pa.array([(rep(d).title if rep(d) else (d.doc.link_text or "")) for d in batch], pa.string()),
            "agency": pa.array([(rep(d).agency if rep(d) else "") for d in batch], pa.string()),
            "year": pa.array([(rep(d).year if rep(d) else None) for d in batch], pa.int32()),
            "published": pa.array([(_as_date(rep(d).published) if rep(d) else None) for d in batch], pa.date32()),
            "template": pa.array([(rep(d).template if rep(d) else "unknown") for d in batch], pa.string()),
            "status": pa.array([d.status for d in batch], pa.string()),
            "text": pa.array([(rep(d).text if rep(d) else "") for d in batch], pa.string()),
            "n_facts": pa.array([len(rep(d).facts) if rep(d) else 0 for d in batch], pa.int32()),
            "n_errors": pa.array(
                [sum(f.severity == "error" for f in rep(d).findings) if rep(d) else 0 for d in batch], pa.int32()
            ),
            "agency_key": pa.array([d.agency_key for d in batch], pa.string()),
            "issuer_type": pa.array([d.issuer_type for d in batch], pa.string()),
            "list_date": pa.array([_as_date(d.doc.list_date) for d in batch], pa.date32()),
            "kind": pa.array([d.doc.kind for d in batch], pa.string()),
            "doc_kind": pa.array([doc_kind(rep(d), d.doc.error) for d in batch], pa.string()),
        }
    )


def doc_kind(report: Report | None, error: str | None) -> str | None:
    """``report`` (readable or not), ``unreadable`` (no report could be made of the body), or the non-report's kind."""
    if report is not None:
        return report.document_kind
    return "unreadable" if error is not None else None


def _documents_table(docs: list[DocumentInput], run_id: str) -> pa.Table:
    return pa.table(
        {
            "portal_id": pa.array([d.portal_id for d in docs], pa.string()),
            "url": pa.array([d.url for d in docs], pa.string()),
            "sha256": pa.array([d.sha256 for d in docs], pa.string()),
            "kind": pa.array([d.kind for d in docs], pa.string()),
            "fetched_at": pa.array([_utc_naive(d.fetched_at) for d in docs], pa.timestamp("us")),
            "first_seen_run": pa.array([run_id] * len(docs), pa.string()),
            "link_text": pa.array([d.link_text for d in docs], pa.string()),
            "list_date": pa.array([_as_date(d.list_date) for d in docs], pa.date32()),
            "parent_url": pa.array([d.parent_url for d in docs], pa.string()),
            "error": pa.array([d.error for d in docs], pa.string()),
        }
    )


def _insert(wh: Warehouse, table: str, data: pa.Table, conflict: str = "", *, only_new: tuple[str, ...] = ()) -> None:
    """INSERT … SELECT from an Arrow table; ``only_new`` = key columns of rows to skip when present.

    ``only_new`` is an anti-join rather than ``ON CONFLICT DO NOTHING``: DuckDB checks ON CONFLICT row
    by row (about 10x slower in bulk), and the writer lock means nobody inserts in between.
    """
    if data.num_rows == 0:
        return
    name = f"_arrow_{table}"
    wh.con.register(name, data)
    try:
        cols = ", ".join(data.column_names)
        where = ""
        if only_new:
            match = " AND ".join(f"t.{k} = s.{k}" for k in only_new)
            where = f"WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {match})"
        wh.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {name} s {where} {conflict}")
    finally:
        wh.con.unregister(name)


def _upsert_reports(wh: Warehouse, data: pa.Table) -> None:
    """New reports are inserted; revised ones get their new current revision (one statement each)."""
    _insert(wh, "reports", data, only_new=("report_id",))
    wh.con.register("_arrow_reports_upd", data)
    try:
        wh.execute(
            """UPDATE reports SET current_revision = s.current_revision, last_seen_at = s.last_seen_at,
                   last_seen_run = s.last_seen_run, last_changed_at = s.last_changed_at,
                   withdrawn_at = NULL, withdrawn_run = NULL
               FROM _arrow_reports_upd s
               WHERE reports.report_id = s.report_id AND reports.current_revision <> s.current_revision"""
        )
    finally:
        wh.con.unregister("_arrow_reports_upd")


# ------------------------------------------------------------------------------------------ the load


def _prepare(documents: list[DocumentInput], county: dict[str, str | None]) -> list[_Doc]:
    """Report ids and issuer identity per document (the same URL twice in one piece: the last wins)."""
    by_id: dict[str, _Doc] = {}
    for d in documents:
        if d.supplement_of:
            continue  # a copy attached to a complete report page: a document, not a report
        rid = report_id_for(d.portal_id, d.url)
        item = _Doc(d, rid, None, d.report)
        if d.report is not None:
            item.status = d.report.status
            iss = classify_issuer(d.report.agency, d.report.title, county.get(d.portal_id))
            item.agency_key, item.issuer_type = iss.key, iss.issuer_type
        by_id[rid] = item
    return list(by_id.values())


def _existing(wh: Warehouse, ids: list[str]) -> dict[str, tuple[int, str, bool]]:
    if not ids:
        return {}
    wh.con.register("_ids", pa.table({"report_id": pa.array(ids, pa.string())}))
    try:
        rows = wh.execute(
            """SELECT r.report_id, r.current_revision, v.content_hash, v.is_report
               FROM reports r JOIN _ids USING (report_id)
               JOIN report_revisions v ON v.report_id = r.report_id AND v.revision = r.current_revision"""
        ).fetchall()
    finally:
        wh.con.unregister("_ids")
    return {r[0]: (int(r[1]), r[2], bool(r[3])) for r in rows}


def _old_facts(wh: Warehouse, batch: list[_Doc]) -> dict[str, dict[tuple[str, str, str], float | None]]:
    revised = [d for d in batch if d.old_revision is not None]
    if not revised:
        return {}
    keys = pa.table(
        {
            "report_id": pa.array([d.report_id for d in revised], pa.string()),
            "revision": pa.array([d.old_revision for d in revised], pa.int32()),
        }
    )
    wh.con.register("_old", keys)
    try:
        rows = wh.execute(
            "SELECT f.report_id, f.tbl, f.row_key, f.col_key, f.value FROM facts f JOIN _old USING (report_id, revision)"
        ).fetchall()
    finally:
        wh.con.unregister("_old")
    out: dict[str, dict[tuple[str, str, str], float | None]] = {}
    for rid, t, r, c, v in rows:
        out.setdefault(rid, {})[(t, r, c)] = v
    return out


def _diff(old: dict[tuple[str, str, str], float | None], new: dict[tuple[str, str, str], Any]) -> list[FactChange]:
    changes = []
    for key in sorted(set(old) | set(new)):
        o = old.get(key)
        n = new.get(key)
        n = float(n) if n is not None else None
        if o != n or (key in old) != (key in new):
            changes.append(FactChange(key[0], key[1], key[2], o, n))
    return changes


@dataclass
class _Batch:
    """Everything one batch transaction writes, built off the connection (in a worker thread)."""

    docs: list[_Doc]
    loaded_at: dt.datetime
    tables: dict[str, pa.Table]
    alerts: list[dict[str, Any]]


def _build_batch(run: RunInput, batch: list[_Doc], started: dt.datetime) -> _Batch:
    """Pure Python + Arrow: no database access, so it can overlap the previous batch's inserts."""
    loaded_at = _now()
    with_report = [d for d in batch if d.report is not None]
    alerts: list[dict[str, Any]] = []
    for d in batch:
        title = d.report.title if d.report else (d.doc.link_text or "")
        ref = ReportRef(d.report_id, d.doc.url, d.doc.portal_id, d.revision, title)
        if d.baseline:
            continue  # the portal's first run: its reports go into the one baseline item, not one alert each
        if (d.old_revision is None or not d.was_report) and d.report is not None and d.report.is_report:
            alerts.append(dict(kind="new_report", ref=ref,
                               payload={"year": d.report.year, "agency": d.report.agency, "status": d.status,
                                        "template": d.report.template, "facts": len(d.report.facts),
                                        "issuer_type": d.issuer_type}))
        if d.status == "malformed":
            errors = [
                {"rule": f.rule, "severity": f.severity, "message": f.message, "expected": f.expected,
                 "actual": f.actual, "table": f.table, "row": f.row, "col": f.col}
                for f in d.report.findings  # type: ignore[union-attr]
                if f.severity == "error"
            ]
            alerts.append(dict(kind="malformed_report", ref=ref, payload={"findings": errors}))
    n = len(batch)
    tables = {
        "documents": _documents_table([d.doc for d in batch], run.run_id),
        "report_revisions": _revisions_table(batch, run, loaded_at),
        "sections": _sections_table(with_report),
        "facts": _facts_table(with_report),
        "findings": _findings_table(with_report),
        "reports": pa.table(
            {
                "report_id": pa.array([d.report_id for d in batch], pa.string()),
                "portal_id": pa.array([d.doc.portal_id for d in batch], pa.string()),
                "url": pa.array([d.doc.url for d in batch], pa.string()),
                "current_revision": pa.array([d.revision for d in batch], pa.int32()),
                "first_seen_at": pa.array([started] * n, pa.timestamp("us")),
                "first_seen_run": pa.array([run.run_id] * n, pa.string()),
                "last_seen_at": pa.array([started] * n, pa.timestamp("us")),
                "last_seen_run": pa.array([run.run_id] * n, pa.string()),
                "last_changed_at": pa.array([started] * n, pa.timestamp("us")),
            }
        ),
    }
    return _Batch(batch, loaded_at, tables, alerts)


def _write_batch(wh: Warehouse, run: RunInput, b: _Batch, result: LoadResult) -> None:
    """One transaction: the batch's revisions, sections, facts, findings, report rows and alerts."""
    old_facts = _old_facts(wh, b.docs)  # revised reports only: the previous revision's facts, for the diff
    alerts = list(b.alerts)
    revised: list[RevisedReport] = []
    for d in b.docs:
        if d.old_revision is None or not d.was_report:
            continue  # a non-report (a WAF page …) that now reads as a report is new, not revised
        changes = _diff(old_facts.get(d.report_id, {}), d.report.fact_map() if d.report else {})
        revised.append(RevisedReport(d.report_id, d.doc.url, d.doc.portal_id, d.revision, changes))
        title = d.report.title if d.report else (d.doc.link_text or "")
        alerts.append(
            dict(
                kind="revised_report",
                ref=ReportRef(d.report_id, d.doc.url, d.doc.portal_id, d.revision, title),
                payload={
                    "previous_revision": d.old_revision,
                    "changed_facts": [
                        {"table": c.table, "row": c.row, "col": c.col, "old": c.old, "new": c.new}
                        for c in changes[:MAX_DIFF_IN_PAYLOAD]
                    ],
                    "changed_facts_total": len(changes),
                    "status": d.status,
                },
            )
        )
    t = b.tables
    with wh.transaction():
        _insert(wh, "documents", t["documents"], only_new=("portal_id", "url", "sha256"))
        _insert(wh, "report_revisions", t["report_revisions"])
        crash_point("after_revisions")
        _insert(wh, "sections", t["sections"])
        _insert(wh, "facts", t["facts"])
        crash_point("after_facts")
        killpoint("load.rows")
        _insert(wh, "findings", t["findings"])
        _upsert_reports(wh, t["reports"])
        enqueued = enqueue_many(
            wh,
            [
                dict(
                    kind=a["kind"],
                    url=a["ref"].url,
                    report_id=a["ref"].report_id,
                    revision=a["ref"].revision,
                    portal_id=a["ref"].portal_id,
                    title=a["ref"].title,
                    payload=a["payload"],
                )
                for a in alerts
            ],
            run_id=run.run_id,
            created_at=b.loaded_at,
        )
        crash_point("before_batch_commit")
    # only after the commit: the result never reports what did not land
    result.alerts_enqueued += enqueued
    result.revised.extend(revised)
    for d in b.docs:
        title = d.report.title if d.report else (d.doc.link_text or "")
        ref = ReportRef(d.report_id, d.doc.url, d.doc.portal_id, d.revision, title,
                        d.report.year if d.report else None)
        if d.status == "malformed" and d.report is not None:
            ref.findings = [f"[{f.severity}] {f.rule}: {f.message}" for f in d.report.findings if f.severity == "error"]
        if d.old_revision is None:
            result.new.append(ref)
        if d.status == "malformed":
            result.malformed.append(ref)
        elif d.status == "not_parsed":
            result.not_parsed.append(ref)
    result.facts_loaded += t["facts"].num_rows
    result.findings_loaded += t["findings"].num_rows


def _run_tables(run: RunInput) -> dict[str, pa.Table]:
    fetches = [f for c in run.crawls for f in c.fetches]
    failures = [(c.portal_id, f) for c in run.crawls for f in c.failures]
    started = _utc_naive(run.started_at)
    return {
        "fetch_log": pa.table(
            {
                "run_id": pa.array([run.run_id] * len(fetches), pa.string()),
                "portal_id": pa.array([f.portal_id for f in fetches], pa.string()),
                "url": pa.array([f.url for f in fetches], pa.string()),
                "fetched_at": pa.array([_utc_naive(f.fetched_at) for f in fetches], pa.timestamp("us")),
                "kind": pa.array([f.kind for f in fetches], pa.string()),
                "status": pa.array([f.status for f in fetches], pa.int32()),
                "sha256": pa.array([f.sha256 for f in fetches], pa.string()),
                "bytes": pa.array([f.bytes for f in fetches], pa.int64()),
                "attempts": pa.array([f.attempts for f in fetches], pa.int32()),
                "error": pa.array([f.error for f in fetches], pa.string()),
                "elapsed_ms": pa.array([f.elapsed_ms for f in fetches], pa.float64()),
            }
        ),
        "fetch_failures": pa.table(
            {
                "run_id": pa.array([run.run_id] * len(failures), pa.string()),
                "portal_id": pa.array([f.portal_id or pid for pid, f in failures], pa.string()),
                "url": pa.array([f.url for _, f in failures], pa.string()),
                "kind": pa.array([f.kind for _, f in failures], pa.string()),
                "reason": pa.array([f.reason for _, f in failures], pa.string()),
                "attempts": pa.array([f.attempts for _, f in failures], pa.int32()),
            }
        ),
        "portal_runs": pa.table(
            {
                "run_id": pa.array([run.run_id] * len(run.crawls), pa.string()),
                "portal_id": pa.array([c.portal_id for c in run.crawls], pa.string()),
                "started_at": pa.array([started] * len(run.crawls), pa.timestamp("us")),
                "ok": pa.array([c.ok for c in run.crawls], pa.bool_()),
                "listing_complete": pa.array([c.listing_complete for c in run.crawls], pa.bool_()),
                "cms": pa.array([c.cms for c in run.crawls], pa.string()),
                "error": pa.array([c.error for c in run.crawls], pa.string()),
                "documents": pa.array([len(c.documents) for c in run.crawls], pa.int32()),
                "failures": pa.array([len(c.failures) for c in run.crawls], pa.int32()),
                "requests": pa.array([c.requests for c in run.crawls], pa.int32()),
                "bytes": pa.array([c.bytes for c in run.crawls], pa.int64()),
                "elapsed_s": pa.array([c.elapsed_s for c in run.crawls], pa.float64()),
            }
        ),
        "portals": pa.table(
            {
                "portal_id": pa.array([p.id for p in run.portals], pa.string()),
                "name": pa.array([p.name for p in run.portals], pa.string()),
                "division_code": pa.array([p.division_code for p in run.portals], pa.string()),
                "province": pa.array([p.province for p in run.portals], pa.string()),
                "city": pa.array([p.city for p in run.portals], pa.string()),
                "county": pa.array([p.county for p in run.portals], pa.string()),
                "cms": pa.array([p.cms for p in run.portals], pa.string()),
                "start_urls": pa.array([list(p.start_urls) for p in run.portals], pa.list_(pa.string())),
                "first_seen_at": pa.array([started] * len(run.portals), pa.timestamp("us")),
                "last_seen_at": pa.array([started] * len(run.portals), pa.timestamp("us")),
            }
        ),
    }


def _seen_table(seen: set[tuple[str, str]], crawls: list[Any]) -> pa.Table:
    items = sorted(seen | {(d.portal_id, d.url) for c in crawls for d in c.documents})
    return pa.table(
        {
            "portal_id": pa.array([p for p, _ in items], pa.string()),
            "url": pa.array([u for _, u in items], pa.string()),
        }
    )


def _portal_unreachable(wh: Warehouse, run: RunInput, after: int) -> int:
    """Alert once per failure streak when a portal failed ``after`` consecutive runs."""
    n = 0
    start_url = {p.id: (p.start_urls[0] if p.start_urls else "") for p in run.portals}
    for c in run.crawls:
        if c.ok:
            continue
        rows = wh.execute(
            "SELECT run_id, ok, error FROM portal_runs WHERE portal_id = ? ORDER BY started_at DESC, run_id DESC",
            [c.portal_id],
        ).fetchall()
        streak = []
        for run_id, ok, error in rows:
            if ok:
                break
            streak.append((run_id, error))
        if len(streak) < after:
            continue
        first_failed = streak[-1][0]
        if (
            enqueue_alert(
                wh,
                "portal_unreachable",
                url=start_url.get(c.portal_id, ""),
                portal_id=c.portal_id,
                title=f"{c.portal_id}: unreachable for {len(streak)} consecutive runs",
                payload={"consecutive_failures": len(streak), "error": c.error, "since_run": first_failed},
                run_id=run.run_id,
                subject=f"{c.portal_id}|{first_failed}",
            )
            is not None
        ):
            n += 1
    return n


def _baseline_alerts(wh: Warehouse, run: RunInput, portals: set[str]) -> list[dict[str, Any]]:
    """One ``baseline`` item per portal on its first successful run: what is there, in one line each.

    Historical gaps (years without a report whose deadline passed before the portal was added) are shown here
    and in ``analytics.coverage``, never alerted one by one (see :mod:`warehouse.crosscheck`).
    """
    if not portals:
        return []
    start_url = {p.id: (p.start_urls[0] if p.start_urls else "") for p in run.portals}
    alerts = []
    for pid in sorted(portals):
        per_year = dict(wh.execute(
            """SELECT year, count(*)::INTEGER FROM analytics.reports WHERE portal_id = ? AND NOT withdrawn
               GROUP BY year ORDER BY year NULLS LAST""", [pid]).fetchall())
        malformed, not_parsed = wh.execute(
            """SELECT count(*) FILTER (WHERE status = 'malformed'), count(*) FILTER (WHERE status = 'not_parsed')
               FROM analytics.reports WHERE portal_id = ? AND NOT withdrawn""", [pid]).fetchall()[0]
        gaps = [r[0] for r in wh.execute(
            "SELECT year FROM analytics.coverage WHERE portal_id = ? AND deadline_passed AND NOT published ORDER BY year",
            [pid]).fetchall()]
        missing = wh.execute(
            "SELECT count(*) FROM main.coverage_findings WHERE portal_id = ? AND rule = 'xr.missing'", [pid]).fetchall()[0][0]
        documents = wh.execute("SELECT count(*) FROM analytics.documents WHERE portal_id = ?", [pid]).fetchall()[0][0]
        alerts.append(dict(
            kind="baseline", url=start_url.get(pid, ""), portal_id=pid, subject=pid,
            title=f"{pid}: first run, {sum(per_year.values())} reports loaded",
            payload={"reports_per_year": {str(k): v for k, v in per_year.items()}, "malformed": int(malformed),
                     "not_parsed": int(not_parsed), "coverage_gaps": gaps, "missing_agencies": int(missing or 0),
                     "documents": int(documents or 0),
                     "details": f"analytics.coverage / analytics.missing_reports WHERE portal_id = '{pid}'"},
        ))
    return alerts


def _store_publications(wh: Warehouse, run: RunInput) -> None:
    """The publication decisions of this run (``publication.Decision``), in the run's final transaction."""
    if not run.publications:
        return
    ds = {(d.portal_id, d.url): d for d in run.publications}.values()
    data = pa.table({
        "portal_id": pa.array([d.portal_id for d in ds], pa.string()),
        "url": pa.array([d.url for d in ds], pa.string()),
        "sha256": pa.array([d.sha256 for d in ds], pa.string()),
        "role": pa.array([d.role for d in ds], pa.string()),
        "of_url": pa.array([d.of_url for d in ds], pa.string()),
        "decided_run": pa.array([run.run_id] * len(ds), pa.string()),
    })
    _insert(wh, "publications", data, """ON CONFLICT (portal_id, url) DO UPDATE SET sha256 = excluded.sha256,
        role = excluded.role, of_url = excluded.of_url, decided_run = excluded.decided_run""")


def stored_publications(wh: Warehouse, portal_ids: list[str] | None = None) -> dict[str, dict[str, tuple]]:
    """``{portal_id: {url: (sha256, role, of_url)}}``: the decisions earlier runs stored (read before a run)."""
    sql = "SELECT portal_id, url, sha256, role, of_url FROM publications"
    rows = (wh.execute(sql + " WHERE portal_id IN (SELECT unnest(?::VARCHAR[]))", [portal_ids]).fetchall()
            if portal_ids else wh.execute(sql).fetchall())
    out: dict[str, dict[str, tuple]] = {}
    for pid, url, sha, role, of_url in rows:
        out.setdefault(pid, {})[url] = (sha, role, of_url)
    return out


def _chunks(docs: list[_Doc], batch_size: int) -> list[list[_Doc]]:
    """Batches that start small and double up to ``batch_size``.

    The first batch is built before any insert can overlap it, so it is kept small; later batches
    are large because each commit has a fixed cost (fewer, bigger transactions use less CPU).
    """
    out: list[list[_Doc]] = []
    size, i = min(batch_size, 500), 0
    while i < len(docs):
        out.append(docs[i : i + size])
        i += size
        size = min(batch_size, size * 2)
    return out


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """The loader's input holds many small objects (facts); the cyclic GC would rescan them on every
    generation-2 collection triggered by the rows we build, which costs more than the load itself.
    Nothing here creates reference cycles worth collecting mid-load."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class RunLoader:
    """One run's load in pieces, so that a run never holds all its reports at once.

    ``load`` takes one piece of extracted documents (a portal, or a few hundred documents of a large one) and
    writes its new and revised reports in batch transactions; the caller may release the reports right after.
    ``finish`` takes the crawls and commits the run-level work in one final transaction (fetch log, unchanged
    documents, publication decisions, withdrawals, cross-report checks, baseline and coverage alerts, the run row).
    A crash between pieces keeps the committed pieces; the next run finds the rest unknown to the warehouse
    (:meth:`unknown`) and extracts it from the archive, and redoes the final transaction from warehouse state.
    """

    def __init__(self, wh: Warehouse, run_id: str, started_at: dt.datetime, *, mode: str = "nightly",
                 as_of: dt.date | None = None, portals: list[Any] | None = None, batch_size: int = 4000,
                 unreachable_after: int = 3) -> None:
        self.wh = wh
        self.run = RunInput(run_id=run_id, started_at=started_at, portals=list(portals or []), crawls=[],
                            documents=[], as_of=as_of or dt.date.today(), mode=mode)
        self.batch_size = max(1, batch_size)
        self.unreachable_after = unreachable_after
        self.result = LoadResult(run_id)
        self._t0 = time.perf_counter()
        self._started = _utc_naive(started_at) or _now()
        self._county = {p.id: p.county for p in self.run.portals}
        self._unchanged: list[pa.Table] = []  # documents rows of what was not re-loaded (small: no reports)
        self._unchanged_keys: set[tuple[str, str, str]] = set()
        #: what :meth:`unknown` read of the warehouse's current revisions, for the :meth:`load` of the same piece
        #: that follows it (nothing is written in between): (report ids asked for, their rows)
        self._existing_read: tuple[set[str], dict[str, tuple[int, str, bool]]] | None = None
        self._seen: set[tuple[str, str]] = set()
        self._publications: dict[tuple[str, str], Any] = {}
        self.result.timings["batches_s"] = 0.0
        with self._failure_recorded():
            wh.execute(
                """INSERT INTO runs (run_id, mode, started_at, as_of, status) VALUES (?, ?, ?, ?, 'running')
                   ON CONFLICT (run_id) DO UPDATE SET status = 'running', error = NULL""",
                [run_id, mode, self._started, self.run.as_of],
            )
            # read before anything of this run is loaded: a portal's first night is decided once per run
            self._first = {} if mode == "reprocess" else first_loaded_runs(wh, run_id)
        self.result.timings["prepare_s"] = time.perf_counter() - self._t0

    def is_baseline(self, portal_id: str) -> bool:
        """This run is the portal's first successful one (given its crawl is ok): one baseline item, no per-report alerts."""
        if self.run.mode == "reprocess":
            return False
        first = self._first.get(portal_id)
        return first is None or first[0] == self.run.run_id

    def unknown(self, documents: list[DocumentInput]) -> list[DocumentInput]:
        """Documents with nothing extracted (unchanged to the crawler) that the warehouse has no report for.

        A new warehouse over an old archive, or a run killed between its crawl and its load, leaves such
        documents: the caller extracts them from the archive before :meth:`load`, or they would be lost.
        """
        cand = {report_id_for(d.portal_id, d.url): d for d in documents if not d.supplement_of}
        if not any(d.report is None and d.error is None for d in cand.values()):
            return []
        # every report of the piece, not only these: :meth:`load` needs them all, and reuses this read
        rows = _existing(self.wh, list(cand))
        self._existing_read = (set(cand), rows)
        return [d for rid, d in cand.items() if rid not in rows and d.report is None and d.error is None]

    @contextlib.contextmanager
    def _failure_recorded(self) -> Iterator[None]:
        try:
            yield
        except Exception as e:
            # The failed batch rolled back; record why on the run row (its own transaction) and re-raise.
            try:
                self.wh.execute(
                    "UPDATE runs SET status = 'failed', error = ?, finished_at = ? WHERE run_id = ?",
                    [f"load failed: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:500], _now(),
                     self.run.run_id],
                )
            except Exception:  # noqa: BLE001 - the original error matters more
                pass
            raise

    def load(self, documents: list[DocumentInput], publications: list[Any] = (), *,  # type: ignore[assignment]
             crawl_ok: bool = True) -> None:
        """Load one piece: its new and revised reports, each batch one transaction (see the module docstring)."""
        t1 = time.perf_counter()
        with self._failure_recorded(), _no_cyclic_gc():
            self._load(documents, crawl_ok)
        for p in publications:
            self._publications[(p.portal_id, p.url)] = p
        self._seen.update((d.portal_id, d.url) for d in documents)
        self.result.documents += len(documents)
        self.result.timings["batches_s"] += time.perf_counter() - t1

    def _load(self, documents: list[DocumentInput], crawl_ok: bool) -> None:
        run, result, started = self.run, self.result, self._started
        docs = _prepare(documents, self._county)
        for d in docs:
            d.baseline = crawl_ok and self.is_baseline(d.doc.portal_id)
        ids = [d.report_id for d in docs]
        read, self._existing_read = self._existing_read, None
        if read is not None and read[0].issuperset(ids):  # a no-change piece: unknown() just read all of them
            existing = {i: read[1][i] for i in ids if i in read[1]}
        else:
            existing = _existing(self.wh, ids)
        unchanged: list[DocumentInput] = [d for d in documents if d.supplement_of]

        def classify_and_build(chunk: list[_Doc]) -> _Batch | None:
            # content hashes and Arrow tables: CPU work that overlaps the previous batch's DuckDB inserts
            changed = []
            for d in chunk:
                d.content_hash = _content_hash(d.doc)
                cur = existing.get(d.report_id)
                if d.content_hash is None:
                    if cur is None:
                        result.unknown_unchanged.append(d.doc.url)
                    else:
                        result.unchanged += 1
                    unchanged.append(d.doc)
                elif cur is None:
                    changed.append(d)
                elif cur[1] == d.content_hash:
                    result.unchanged += 1
                    unchanged.append(d.doc)
                elif cur[2] and d.status == "not_parsed":
                    # A good report now reads as a non-report or unreadable (anti-crawl page, truncated body, a
                    # maintenance page): never let that hide the report; keep the current revision.
                    result.kept_previous.append(d.doc.url)
                    unchanged.append(d.doc)
                else:
                    d.old_revision, d.revision, d.was_report = cur[0], cur[0] + 1, cur[2]
                    changed.append(d)
            return _build_batch(run, changed, started) if changed else None

        chunks = _chunks(docs, self.batch_size)
        if len(chunks) == 1:  # nothing to overlap (most pieces of a night): no thread
            if (batch := classify_and_build(chunks[0])) is not None:
                _write_batch(self.wh, run, batch, result)
        elif chunks:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ogi-load-build") as pool:
                pending = pool.submit(classify_and_build, chunks[0])
                for i in range(len(chunks)):
                    batch = pending.result()  # type: ignore[union-attr]
                    pending = pool.submit(classify_and_build, chunks[i + 1]) if i + 1 < len(chunks) else None
                    if batch is not None:
                        _write_batch(self.wh, run, batch, result)
        # the first piece's row of a document wins, as when each piece inserted its own (finish: one insert)
        fresh = []
        for d in unchanged:
            key = (d.portal_id, d.url, d.sha256)
            if key not in self._unchanged_keys:
                self._unchanged_keys.add(key)
                fresh.append(d)
        unchanged = fresh
        if unchanged:
            self._unchanged.append(_documents_table(unchanged, run.run_id))

    def finish(self, crawls: list[Any]) -> LoadResult:
        """The run's final transaction; returns what changed over the whole run."""
        if self.result.new or self.result.revised:
            # what the pieces loaded is written out (the snapshot's CHECKPOINT would do it a moment later) and the
            # cache they left is emptied: the cross-report checks read the whole warehouse once, and DuckDB's cache
            # of it on top of the pieces' was the 10,000-page first run's peak (bench.memory)
            self.wh.con.execute("CHECKPOINT")
            release_cache(self.wh.con)
        with self._failure_recorded(), _no_cyclic_gc():
            return self._finish(crawls)

    def _finish(self, crawls: list[Any]) -> LoadResult:
        wh, run, result, started = self.wh, self.run, self.result, self._started
        run.crawls = list(crawls)
        run.publications = list(self._publications.values())
        baseline = {c.portal_id for c in run.crawls if c.ok and self.is_baseline(c.portal_id)}
        t2 = time.perf_counter()
        tables = _run_tables(run)
        with wh.transaction():
            _insert(
                wh,
                "portals",
                tables["portals"],
                """ON CONFLICT (portal_id) DO UPDATE SET name = excluded.name, division_code = excluded.division_code,
                       province = excluded.province, city = excluded.city, county = excluded.county,
                       cms = excluded.cms, start_urls = excluded.start_urls, last_seen_at = excluded.last_seen_at""",
            )
            for t in ("fetch_log", "fetch_failures", "portal_runs"):
                wh.execute(f"DELETE FROM {t} WHERE run_id = ?", [run.run_id])
                _insert(wh, t, tables[t])
            if self._unchanged:  # one anti-join for the whole run, not one per piece
                _insert(wh, "documents", pa.concat_tables(self._unchanged), only_new=("portal_id", "url", "sha256"))
            _store_publications(wh, run)

            seen = _seen_table(self._seen, run.crawls)
            wh.con.register("_seen", seen)
            try:
                wh.execute(
                    """UPDATE reports SET last_seen_at = ?, last_seen_run = ?, withdrawn_at = NULL, withdrawn_run = NULL
                       FROM _seen WHERE reports.portal_id = _seen.portal_id AND reports.url = _seen.url
                         AND (reports.last_seen_run IS DISTINCT FROM ? OR reports.withdrawn_at IS NOT NULL)""",
                    [started, run.run_id, run.run_id],
                )
                if run.mode != "reprocess":
                    complete = [c.portal_id for c in run.crawls if c.ok and c.listing_complete]
                    if complete:
                        rows = wh.execute(
                            """UPDATE reports SET withdrawn_at = ?, withdrawn_run = ?
                               WHERE withdrawn_at IS NULL AND portal_id IN (SELECT unnest(?::VARCHAR[]))
                                 AND NOT EXISTS (SELECT 1 FROM _seen s WHERE s.portal_id = reports.portal_id
                                                                         AND s.url = reports.url)
                               RETURNING report_id, url, portal_id, current_revision""",
                            [started, run.run_id, complete],
                        ).fetchall()
                        result.withdrawn = [ReportRef(r[0], r[1], r[2], r[3]) for r in rows]
            finally:
                wh.con.unregister("_seen")

            xr = run_checks(wh, as_of=run.as_of, run_id=run.run_id)
            result.cross_findings = xr.findings_total
            result.missing = xr.missing_total
            result.cross_checks_kept = xr.skipped
            result.alerts_enqueued += xr.alerts_enqueued
            items = _baseline_alerts(wh, run, baseline)
            result.alerts_enqueued += enqueue_many(wh, items, run_id=run.run_id)
            result.baseline = {a["portal_id"]: a["payload"] for a in items}
            result.alerts_enqueued += _portal_unreachable(wh, run, self.unreachable_after)
            crash_point("before_final_commit")
            killpoint("load.final")
            result.timings["finalize_s"] = time.perf_counter() - t2
            result.timings["total_s"] = time.perf_counter() - self._t0
            wh.execute(
                """UPDATE runs SET status = 'ok', finished_at = ?, portals = ?, portals_failed = ?, documents = ?,
                       reports_new = ?, reports_revised = ?, reports_unchanged = ?, reports_withdrawn = ?,
                       reports_malformed = ?, reports_not_parsed = ?, facts_loaded = ?, findings_loaded = ?,
                       alerts_enqueued = ?, fetches = ?, failures = ?, load_seconds = ?, error = NULL,
                       timings = json_merge_patch(coalesce(timings, '{}'), ?::JSON)
                   WHERE run_id = ?""",
                [
                    _now(),
                    len(run.portals),
                    sum(1 for c in run.crawls if not c.ok),
                    result.documents,
                    len(result.new),
                    len(result.revised),
                    result.unchanged,
                    len(result.withdrawn),
                    len(result.malformed),
                    len(result.not_parsed),
                    result.facts_loaded,
                    result.findings_loaded,
                    result.alerts_enqueued,
                    tables["fetch_log"].num_rows,
                    tables["fetch_failures"].num_rows,
                    result.timings["total_s"],
                    json.dumps({f"load.{k}": round(v, 4) for k, v in result.timings.items()}),
                    run.run_id,
                ],
            )
        result.timings["xr_s"] = xr.seconds
        return result


def by_portal(documents: list[DocumentInput]) -> dict[str, list[DocumentInput]]:
    """Documents per portal, in order of first appearance."""
    out: dict[str, list[DocumentInput]] = {}
    for d in documents:
        out.setdefault(d.portal_id, []).append(d)
    return out


def load_run(
    wh: Warehouse,
    run: RunInput,
    *,
    batch_size: int = 4000,
    unreachable_after: int = 3,
) -> LoadResult:
    """Load one whole run held in memory (tests, benchmarks, the warehouse CLI); a nightly run streams
    its pieces through :class:`RunLoader` instead."""
    loader = RunLoader(wh, run.run_id, run.started_at, mode=run.mode, as_of=run.as_of, portals=run.portals,
                       batch_size=batch_size, unreachable_after=unreachable_after)
    ok = {c.portal_id: c.ok for c in run.crawls}
    decisions: dict[str, list[Any]] = {}
    for x in run.publications:
        decisions.setdefault(x.portal_id, []).append(x)
    for pid, docs in by_portal(run.documents).items():
        loader.load(docs, decisions.pop(pid, []), crawl_ok=ok.get(pid, False))
    for rest in decisions.values():
        loader.load([], rest)
    return loader.finish(run.crawls)


def record_run_failure(
    wh: Warehouse,
    run_id: str,
    error: str,
    *,
    started_at: dt.datetime | None = None,
    mode: str = "nightly",
    url: str = "",
) -> int | None:
    """Mark a run failed and enqueue its ``run_failed`` alert in one transaction (called by the flows)."""
    with wh.transaction():
        wh.execute(
            """INSERT INTO runs (run_id, mode, started_at, status, error, finished_at) VALUES (?, ?, ?, 'failed', ?, ?)
               ON CONFLICT (run_id) DO UPDATE SET status = 'failed', error = excluded.error,
                   finished_at = excluded.finished_at""",
            [run_id, mode, _utc_naive(started_at) or _now(), error, _now()],
        )
        return enqueue_alert(
            wh,
            "run_failed",
            url=url,
            title=f"run {run_id} failed",
            payload={"error": error},
            run_id=run_id,
            subject=run_id,
        )


def record_run_timings(wh: Warehouse, run_id: str, timings: dict[str, float]) -> None:
    """Merge phase timings (e.g. ``{"crawl_s": 12.3, "extract_s": 4.5}``) into the run row (flows call this)."""
    wh.execute(
        "UPDATE runs SET timings = json_merge_patch(coalesce(timings, '{}'), ?::JSON) WHERE run_id = ?",
        [json.dumps({k: round(float(v), 4) for k, v in timings.items()}), run_id],
    )
