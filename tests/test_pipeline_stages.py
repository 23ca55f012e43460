"""Whole runs over the sample portal (``flows.pipeline.run_direct``: the body of ``ogi run`` without Prefect):
exactly idempotent reruns, non-reports out of ``analytics.reports``, the publication decision independent of what
one run happened to fetch (issue 11), and the one-way import graph of the stages.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from sample_portal.server import start as start_portal
from stream_probe import Outstanding
from warehouse.checksum import RUN_TIME_COLUMNS, differences, file_checksums
from analyst_expectations import query

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def portal():
    p = start_portal("127.0.0.1", 0)
    try:
        yield p
    finally:
        p.stop()


def _settings(home: Path, monkeypatch, registry: Path):
    from ogi.config import Settings

    home.mkdir(parents=True, exist_ok=True)
    cfg = home / "ogi.yaml"
    cfg.write_text("crawl:\n  polite: false\n  min_delay_s: 0\n  retries: 0\n  backoff_base_s: 0.01\n"
                   "  connect_timeout_s: 2\n  read_timeout_s: 5\nlock_timeout_s: 1\n", encoding="utf-8")
    monkeypatch.setenv("OGI_HOME", str(home))
    monkeypatch.setenv("OGI_CONFIG", str(cfg))
    monkeypatch.delenv("OGI_ALERT_URLS", raising=False)
    return Settings.load(db=home / "data" / "ogi.duckdb", portals=registry)


def _run(settings):
    from flows.pipeline import run_direct

    return run_direct(settings)


def test_no_change_reruns_leave_every_analytics_view_identical(portal, tmp_path, monkeypatch):
    # every quirk of the curated sample portal is on (PDF/DOCX-only reports, a directly listed PDF, 图片版, GBK with a
    # wrong header, POST lists, blank zero cells, legacy reports, decoys, lookalike non-reports), and one portal is
    # served without validators, so its pages come back as 200s compared by body hash
    portal.set_validators(False, portal="shimen")
    settings = _settings(tmp_path, monkeypatch, portal.write_registry(tmp_path / "registry.yaml"))
    _run(settings)
    first = file_checksums(settings.db_path)
    assert first["reports"].rows > 50 and first["facts"].rows > 5000 and first["documents"].rows > 0
    for _ in range(2):
        _run(settings)
        assert differences(first, file_checksums(settings.db_path)) == {}
    # the run log is the only thing that grows, by design (and is left out of the checksums)
    assert query(settings.db_path, "SELECT count(*) FROM analytics.runs") == [(3,)]


def test_non_reports_go_to_documents_and_coverage_counts_reports_only(portal, tmp_path, monkeypatch):
    settings = _settings(tmp_path, monkeypatch, portal.write_registry(tmp_path / "registry.yaml"))
    _run(settings)
    db = settings.db_path
    lookalikes = set(portal.lookalike_urls())
    assert len(lookalikes) == 3  # a notice, an interpretation and a summary under report-like list titles
    fetched = {r[0] for r in query(db, "SELECT url FROM main.documents")}
    assert lookalikes <= fetched  # the crawler did fetch them: only their content says what they are
    reports = dict(query(db, "SELECT url, status FROM analytics.reports"))
    assert not lookalikes & reports.keys()
    docs = {u: (k, why) for u, k, why in query(db, "SELECT url, doc_kind, reason FROM analytics.documents")}
    assert {docs[u][0] for u in lookalikes} == {"notice", "interpretation", "summary"}
    assert all(docs[u][1] for u in lookalikes)  # each says why it is not a report
    # a 图片版 report is still a report (we could not read it), not a document
    unread = {e.url for e in portal.expected_reports() if e.image_only}
    assert unread and {reports[u] for u in unread} == {"not_parsed"} and not unread & docs.keys()
    # everything in analytics.reports is an expected report (page or the attachment that is the report)
    expected = {e.url for e in portal.expected_reports()} | {e.attachment_url for e in portal.expected_reports()}
    assert set(reports) <= expected
    # coverage counts reports only: the same numbers as counting analytics.reports by hand
    by_hand = dict(((p, y), n) for p, y, n in query(db, """
        SELECT portal_id, year, count(*) FROM analytics.reports
        WHERE NOT withdrawn AND status <> 'not_parsed' AND year IS NOT NULL GROUP BY ALL"""))
    coverage = {(p, y): n for p, y, n in query(db, "SELECT portal_id, year, reports FROM analytics.coverage") if n}
    assert coverage == by_hand


def _attachment_only(portal):
    e = next(e for e in portal.expected_reports("qinghe") if e.attachment_url and e.page_url)
    return e.page_url, e.attachment_url


def test_a_failed_attachment_fetch_then_a_normal_run_equals_one_clean_run(portal, tmp_path, monkeypatch):
    """Issue 11 without SIGKILL: the attachment of an attachment-only report is not there on the first night."""
    registry = portal.write_registry(tmp_path / "registry.yaml")
    page_url, att_url = _attachment_only(portal)

    clean = _settings(tmp_path / "clean", monkeypatch, registry)
    _run(clean)
    want = file_checksums(clean.db_path, ignore_columns=RUN_TIME_COLUMNS)

    broken = _settings(tmp_path / "broken", monkeypatch, registry)
    portal.inject("404", path=att_url)
    _run(broken)
    # the stub page ("请见附件") is not loaded as the report while its attachment is missing
    urls = {r[0] for r in query(broken.db_path, "SELECT url FROM analytics.reports")}
    assert page_url not in urls and att_url not in urls
    assert query(broken.db_path, f"SELECT doc_kind FROM analytics.documents WHERE url = '{page_url}'") == [("pending",)]
    portal.clear_faults()
    _run(broken)
    got = file_checksums(broken.db_path, ignore_columns=RUN_TIME_COLUMNS)
    assert differences(want, got) == {}
    row = query(broken.db_path, f"SELECT template, n_facts, status FROM analytics.reports WHERE url = '{att_url}'")
    assert row and row[0][0] == "2021" and row[0][1] >= 100 and row[0][2] == "ok"
    assert query(broken.db_path, f"SELECT doc_kind, of_url FROM analytics.documents WHERE url = '{page_url}'") == [
        ("carrier", att_url)]


def test_an_unchanged_page_with_attachments_is_decided_from_its_stored_decision(portal, tmp_path, monkeypatch):
    from flows import pipeline

    settings = _settings(tmp_path, monkeypatch, portal.write_registry(tmp_path / "registry.yaml"))
    _run(settings)
    seen: list[str] = []
    real = pipeline.extract_document
    monkeypatch.setattr(pipeline, "extract_document", lambda data, doc: (seen.append(doc.url), real(data, doc))[1])
    _run(settings)
    assert seen == []  # nothing changed: no page (carrier or report with attachments) is extracted again


# ------------------------------------------------------------------------------------------ import graph

#: The stages in data-flow order; a module may import its own stage and the stages before it, never after.
STAGES = (("ogi", "registry"), ("crawler", "crawl"), ("extractors", "extract"), ("publication", "publication"),
          ("staging", "staging"), ("warehouse", "load"), ("alerts", "alert"))


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


def test_each_stage_imports_only_the_stages_before_it():
    order = {pkg: i for i, (pkg, _) in enumerate(STAGES)}
    bad = []
    for pkg, _ in STAGES:
        files = [ROOT / "ogi" / "registry.py"] if pkg == "ogi" else sorted((ROOT / pkg).rglob("*.py"))
        for f in files:
            for mod in _imports(f) & (order.keys() | {"flows", "analyst"}):
                if mod in ("flows", "analyst") or order[mod] > order[pkg]:
                    bad.append(f"{f.relative_to(ROOT)} imports {mod}")
    assert bad == []


def test_a_run_extracts_and_loads_piece_by_piece_and_releases_each_piece(portal, tmp_path, monkeypatch):
    """Bounded memory (issue 10): a run never holds more than about one piece of extracted reports, whatever its size."""
    from flows import pipeline

    monkeypatch.setattr(pipeline, "EXTRACT_PIECE", 6)
    seen = Outstanding(monkeypatch)
    settings = _settings(tmp_path, monkeypatch, portal.write_registry(tmp_path / "registry.yaml"))
    summary = _run(settings)
    assert summary.new > 50 and seen.extracted >= summary.new
    # a piece is 6 documents to extract, rounded up to whole page-and-attachments groups
    assert seen.worst <= 6 + 4, seen.worst
    assert seen.unreleased == 0
    # the summary still names every new report with its year (kept on the loader's refs, not on the reports)
    assert len(summary.new_reports) == summary.new and all(r.year for r in summary.new_reports)
    # and the warehouse is the one an unbounded run builds
    unbounded = tmp_path / "unbounded"
    monkeypatch.setattr(pipeline, "EXTRACT_PIECE", 100_000)
    _run(_settings(unbounded, monkeypatch, portal.write_registry(tmp_path / "registry.yaml")))
    assert differences(file_checksums(unbounded / "data" / "ogi.duckdb", ignore_columns=RUN_TIME_COLUMNS),
                       file_checksums(settings.db_path, ignore_columns=RUN_TIME_COLUMNS)) == {}
