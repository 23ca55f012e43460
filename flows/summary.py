"""The run summary: counts, new and malformed reports with links, failures per portal, timings.

Rendered as Markdown for the Prefect artifact and as plain text for ``ogi run``; both come from one
:class:`RunSummary` so what the UI shows and what the terminal shows never disagree.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from ogi.config import redact_url

MAX_LISTED = 50
MAX_LISTED_TEXT = 20  # the terminal summary lists fewer (the artifact has up to MAX_LISTED)


@dataclass(slots=True)
class ReportLine:
    title: str
    url: str
    portal_id: str
    year: int | None = None
    findings: list[str] = field(default_factory=list)


@dataclass(slots=True)
class PortalLine:
    portal_id: str
    ok: bool
    error: str | None
    documents: int
    new: int
    changed: int
    unchanged: int
    failures: int
    unreadable: int
    requests: int
    bytes: int
    crawl_s: float
    extract_s: float
    failure_kinds: dict[str, int] = field(default_factory=dict)
    sample_failures: list[str] = field(default_factory=list)


@dataclass(slots=True)
class RunSummary:
    run_id: str
    mode: str
    started_at: dt.datetime
    finished_at: dt.datetime
    db_path: str
    portals: list[PortalLine]
    found: int  # documents seen (report pages and attachments)
    new: int  # new reports (per the loader)
    revised: int
    malformed: int
    failed: int  # failed fetches + unreadable documents (a failed portal counts at least once)
    withdrawn: int = 0
    new_reports: list[ReportLine] = field(default_factory=list)
    revised_reports: list[ReportLine] = field(default_factory=list)
    malformed_reports: list[ReportLine] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    #: Portals whose first successful run this was: ``{portal_id: one-line baseline}`` (history, not alerted).
    baseline: dict[str, str] = field(default_factory=dict)
    alerts_failed: int = 0
    events_emitted: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    report_page: str | None = None  # the analyst page written after the load (analyst.publish_page)
    report_page_error: str | None = None
    #: How the run was split (``flows.autoshard``): shard count and why, or why it ran in one process; ``None`` for a
    #: small registry run in one process as always.
    sharding: str | None = None
    missing_shards: list[int] = field(default_factory=list)  # shards of a sharded run left out of this merge

    @property
    def failed_portals(self) -> list[PortalLine]:
        return [p for p in self.portals if not p.ok]

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["started_at"] = self.started_at.isoformat()
        d["finished_at"] = self.finished_at.isoformat()
        return d

    # ------------------------------------------------------------------ rendering

    def headline(self) -> str:
        return (
            f"{self.mode} run {self.run_id}: {self.found} documents found, {self.new} new, {self.revised} revised, "
            f"{self.malformed} malformed, {self.failed} failed ({len(self.failed_portals)}/{len(self.portals)} portals failed) "
            f"in {(self.finished_at - self.started_at).total_seconds():.1f} s"
        )

    def markdown(self) -> str:
        out = [f"# OGI {self.mode} run `{self.run_id}`", ""]
        out.append(f"Started {self.started_at:%Y-%m-%d %H:%M:%S} UTC, took "
                   f"{(self.finished_at - self.started_at).total_seconds():.1f} s. Warehouse: `{self.db_path}`.")
        out.append(self._page_line("Analyst page: `{}`."))
        if self.sharding:
            out.append(f"Sharding: {_md(self.sharding)}.")
        out += ["", "| found | new | revised | malformed | withdrawn | failed |", "|---:|---:|---:|---:|---:|---:|",
                f"| {self.found} | {self.new} | {self.revised} | {self.malformed} | {self.withdrawn} | {self.failed} |", ""]
        for title, items in (("New reports", self.new_reports), ("Revised reports", self.revised_reports),
                             ("Malformed reports", self.malformed_reports)):
            if not items:
                continue
            out.append(f"## {title} ({len(items)})")
            for r in items[:MAX_LISTED]:
                out.append(f"- [{_md(r.title or r.url)}]({r.url}) — `{r.portal_id}`" + (f", {r.year}" if r.year else ""))
                out.extend(f"  - {_md(f)}" for f in r.findings[:8])
            if len(items) > MAX_LISTED:
                out.append(f"- … and {len(items) - MAX_LISTED} more")
            out.append("")
        if self.baseline:
            out += [f"## Baseline: first run of {len(self.baseline)} portal(s)", "",
                    "Per-report alerts start with the next run; historical gaps are listed here and in `analytics.coverage`.", ""]
            out += [f"- `{pid}`: {_md(line)}" for pid, line in self.baseline.items()] + [""]
        out += ["## Portals", "", "| portal | status | documents | new | changed | unchanged | failures | requests | crawl s | extract s |",
                "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for p in self.portals:
            status = "ok" if p.ok else f"**failed**: {_md(p.error or '')}"
            out.append(f"| `{p.portal_id}` | {status} | {p.documents} | {p.new} | {p.changed} | {p.unchanged} | "
                       f"{p.failures + p.unreadable} | {p.requests} | {p.crawl_s:.2f} | {p.extract_s:.2f} |")
        fails = [p for p in self.portals if p.failure_kinds or p.sample_failures]
        if fails:
            out += ["", "### Failures per portal"]
            for p in fails:
                kinds = ", ".join(f"{k} ×{n}" for k, n in sorted(p.failure_kinds.items()))
                out.append(f"- `{p.portal_id}`: {kinds}")
                out.extend(f"  - {_md(s)}" for s in p.sample_failures)
        out += ["", "## Alerts"]
        out += [f"- {_md(a)}" for a in self.alerts] or ["- no alert channel configured (set OGI_ALERT_URLS)"]
        if self.events_emitted:
            out.append(f"- {self.events_emitted} Prefect events emitted (`ogi.alert.*`)")
        out += ["", "## Timings", "", "| stage | seconds |", "|---|---:|"]
        out += [f"| {k} | {v:.2f} |" for k, v in self.timings.items()]
        return "\n".join(out) + "\n"

    def _page_line(self, fmt: str) -> str:
        if self.report_page:
            return fmt.format(self.report_page)
        return fmt.format(f"not written ({self.report_page_error})" if self.report_page_error else "not written")

    def text(self) -> str:
        out = [self.headline(), f"warehouse: {self.db_path}", self._page_line("analyst page: {}")]
        if self.sharding:
            out.append(f"sharding: {self.sharding}")
        for title, items in (("new reports", self.new_reports), ("revised reports", self.revised_reports),
                             ("malformed reports", self.malformed_reports)):
            if items:
                out.append(f"{title} ({len(items)}):")
                for r in items[:MAX_LISTED_TEXT]:
                    out.append(f"  - {r.title or '(untitled)'}  {r.url}")
                    out.extend(f"      {f}" for f in r.findings[:8])
                if len(items) > MAX_LISTED_TEXT:
                    out.append(f"  … and {len(items) - MAX_LISTED_TEXT} more (the Prefect artifact and analytics.reports list them all)")
        if self.baseline:
            out.append(f"baseline (first run of {len(self.baseline)} portal(s); per-report alerts start with the next run):")
            out.extend(f"  {pid}: {line}" for pid, line in self.baseline.items())
        out.append("portals:")
        for p in self.portals:
            state = "ok" if p.ok else f"FAILED: {p.error}"
            extra = f", {p.failures} fetch failures" if p.failures else ""
            extra += f", {p.unreadable} unreadable" if p.unreadable else ""
            if self.mode == "reprocess":
                out.append(f"  {p.portal_id}: {p.documents} documents re-extracted from the raw archive{extra}")
            else:
                out.append(f"  {p.portal_id}: {state}; {p.documents} documents ({p.new} new, {p.changed} changed, "
                           f"{p.unchanged} unchanged){extra}; {p.requests} requests")
            if p.failure_kinds:
                out.append("      failures: " + ", ".join(f"{k} ×{n}" for k, n in sorted(p.failure_kinds.items())))
        out.append("alerts:")
        out += [f"  {a}" for a in self.alerts] or ["  no alert channel configured (set OGI_ALERT_URLS)"]
        out.append("timings: " + ", ".join(f"{k} {v:.2f}s" for k, v in self.timings.items()))
        return "\n".join(out)


def _md(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


# ------------------------------------------------------------------------------------------- building


def _get(obj: Any, *names: str, default: Any = None) -> Any:
    for n in names:
        if isinstance(obj, dict) and n in obj:
            return obj[n]
        if hasattr(obj, n):
            return getattr(obj, n)
    return default


def _count(v: Any) -> int:
    if v is None:
        return 0
    if isinstance(v, (int, float)):
        return int(v)
    try:
        return len(v)
    except TypeError:
        return 0


def _report_lines(items: Any, docs_by_url: dict[str, Any], with_findings: bool = False) -> list[ReportLine] | None:
    """Turn whatever list the loader returns (objects, dicts, report ids or URLs) into report lines."""
    if items is None or isinstance(items, (int, float)):
        return None
    lines = []
    for it in items:
        if isinstance(it, str):
            url = it if "://" in it else ""
            doc = docs_by_url.get(url)
            rep = getattr(doc, "report", None)
            lines.append(ReportLine(title=getattr(rep, "title", "") or "", url=url or it,
                                    portal_id=getattr(doc, "portal_id", "") or "", year=getattr(rep, "year", None)))
            continue
        url = _get(it, "url", default="") or ""
        doc = docs_by_url.get(url)
        rep = getattr(doc, "report", None)
        lines.append(ReportLine(
            title=_get(it, "title", default=None) or getattr(rep, "title", "") or "",
            url=url, portal_id=_get(it, "portal_id", default="") or getattr(doc, "portal_id", "") or "",
            year=_get(it, "year", default=None) or getattr(rep, "year", None),
            findings=_findings(_get(it, "findings", default=None), rep) if with_findings else [],
        ))
    return lines


def _findings(found: Any, report: Any) -> list[str]:
    src = found if found else [f for f in (getattr(report, "findings", None) or []) if getattr(f, "severity", "") == "error"]
    out = []
    for f in src or []:
        if isinstance(f, str):
            out.append(f)
        else:
            out.append(f"[{_get(f, 'severity', default='error')}] {_get(f, 'rule', default='?')}: {_get(f, 'message', default='')}")
    return out


def build_summary(
    *,
    run_id: str,
    mode: str,
    started_at: dt.datetime,
    settings: Any,
    portals: Iterable[Any],
    crawls: list[Any],
    batches: list[Any],
    load_result: Any,
    delivery: Any,
    timings: dict[str, float],
    finished_at: dt.datetime | None = None,
    report_page: Any = None,
    sharding: str | None = None,
) -> RunSummary:
    crawl_by = {c.portal_id: c for c in crawls}
    batch_by = {b.portal_id: b for b in batches}
    docs = [d for b in batches for d in b.documents]
    docs_by_url = {d.url: d for d in docs}
    lines: list[PortalLine] = []
    for p in portals:
        c = crawl_by.get(p.id)
        b = batch_by.get(p.id)
        bdocs = b.documents if b else []
        st = Counter(d.crawl_status for d in bdocs)
        failures = list(getattr(c, "failures", []) or [])
        kinds = Counter(getattr(f, "kind", "error") for f in failures)
        unreadable_docs = [d for d in bdocs if getattr(d, "error", None)]
        samples = [redact_url(f"{f.kind}: {f.url} ({f.reason})")[:300] for f in failures[:3]]
        samples += [redact_url(f"unreadable: {d.url} ({d.error})")[:300] for d in unreadable_docs[:3]]
        lines.append(PortalLine(
            portal_id=p.id, ok=bool(getattr(c, "ok", mode == "reprocess")),
            error=redact_url(c.error) if getattr(c, "error", None) else None,
            documents=len(bdocs), new=st.get("new", 0), changed=st.get("changed", 0), unchanged=st.get("unchanged", 0),
            failures=len(failures), unreadable=len(unreadable_docs), requests=int(getattr(c, "requests", 0) or 0),
            bytes=int(getattr(c, "bytes", 0) or 0), crawl_s=float(getattr(c, "elapsed_s", 0.0) or 0.0),
            extract_s=float(getattr(b, "elapsed_s", 0.0) or 0.0), failure_kinds=dict(kinds), sample_failures=samples,
        ))

    # the loader decides what is new / revised (by content hash); fall back to the crawl's view
    new_items = _get(load_result, "new_reports", "new", default=None)
    rev_items = _get(load_result, "revised_reports", "revised", default=None)
    bad_items = _get(load_result, "malformed_reports", "malformed", default=None)
    withdrawn = _count(_get(load_result, "withdrawn_reports", "withdrawn", default=0))
    not_parsed = {_get(r, "report_id") for r in (_get(load_result, "not_parsed", default=None) or [])}
    if not_parsed and isinstance(new_items, list):  # a new page that is not a report is not a new report
        new_items = [r for r in new_items if _get(r, "report_id") not in not_parsed]
    new_lines = _report_lines(new_items, docs_by_url)
    rev_lines = _report_lines(rev_items, docs_by_url)
    bad_lines = _report_lines(bad_items, docs_by_url, with_findings=True)
    if new_lines is None:
        new_lines = [_line(d) for d in docs if d.crawl_status == "new" and _is_report(d)]
    if bad_lines is None:
        bad_lines = [_line(d, with_findings=True) for d in docs if _is_report(d) and d.report.status == "malformed"]
    rev_lines = rev_lines or []
    # failed fetches + unreadable documents; a failed portal counts at least once
    failed = sum(max(p.failures + p.unreadable, 0 if p.ok else 1) for p in lines)
    alerts = list(delivery.lines()) if delivery is not None else []
    from alerts.digest import baseline_line

    baseline = {pid: baseline_line(payload) for pid, payload in (_get(load_result, "baseline", default=None) or {}).items()}
    return RunSummary(
        run_id=run_id, mode=mode, started_at=started_at, finished_at=finished_at or dt.datetime.now(dt.timezone.utc),
        db_path=str(settings.db_path), portals=lines, found=len(docs),
        new=_count(new_items) if isinstance(new_items, (int, float)) else len(new_lines),
        revised=_count(rev_items) if isinstance(rev_items, (int, float)) else len(rev_lines),
        malformed=_count(bad_items) if isinstance(bad_items, (int, float)) else len(bad_lines),
        failed=failed, withdrawn=withdrawn, new_reports=new_lines, revised_reports=rev_lines, malformed_reports=bad_lines,
        alerts=alerts, baseline=baseline, alerts_failed=len(delivery.failed) if delivery is not None else 0,
        events_emitted=getattr(delivery, "events_emitted", 0) if delivery is not None else 0, timings=dict(timings),
        report_page=getattr(report_page, "path", None), report_page_error=getattr(report_page, "error", None),
        sharding=sharding,
    )


def _is_report(d: Any) -> bool:
    return d.report is not None and d.report.is_report


def _line(d: Any, with_findings: bool = False) -> ReportLine:
    return ReportLine(title=d.report.title, url=d.url, portal_id=d.portal_id, year=d.report.year,
                      findings=_findings(None, d.report) if with_findings else [])
