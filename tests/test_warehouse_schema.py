"""Schema: migrations (upgrading an old file), comments, the analytics contract, generated docs."""

from __future__ import annotations

import os

import pytest

from warehouse import load_run, open_writer, work_path
from warehouse import synthetic as s
from warehouse.analytics import VIEWS
from warehouse.db import _acquire_lock, lock_path
from warehouse.docgen import DOC_PATH, render
from warehouse.schema import LATEST_VERSION, current_tables

CONTRACT = {
    "reports": ["report_id", "portal_id", "url", "title", "agency", "year", "template", "published_date",
                "first_seen_at", "last_changed_at", "revision", "status"],
    "facts": ["report_id", "tbl", "row_key", "col_key", "value", "raw"],
    "findings": ["report_id", "rule", "severity", "message"],
    "coverage": ["portal_id", "year", "published", "on_time", "late", "malformed"],
}


def test_upgrade_from_migration_1(tmp_path):
    db = tmp_path / "ogi.duckdb"
    with open_writer(db, 5, migrate_to=1) as wh:
        assert wh.scalar("SELECT max(version) FROM schema_version") == 1
        cols = {r[0] for r in wh.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = 'report_revisions'").fetchall()}
        assert "agency_key" not in cols
        wh.execute("INSERT INTO portals (portal_id, name) VALUES ('henan-zhoukou-fugou', '扶沟县人民政府')")
        wh.execute(
            """INSERT INTO reports (report_id, portal_id, url, current_revision, first_seen_at, last_changed_at)
               VALUES ('old1', 'henan-zhoukou-fugou', 'http://a/old.html', 1, TIMESTAMP '2022-01-01', TIMESTAMP '2022-01-01')"""
        )
        wh.execute(
            """INSERT INTO report_revisions (report_id, revision, content_hash, is_report, title, agency, year, template, status)
               VALUES ('old1', 1, 'h', true, '扶沟县财政局2020年政府信息公开工作年度报告', '扶沟县财政局', 2020, '2019', 'ok')"""
        )
        wh.execute("INSERT INTO facts (report_id, revision, tbl, row_key, col_key, value, raw) VALUES ('old1', 1, 't3', 'new_received', 'total', 5, '5')")
    with open_writer(db, 5) as wh:
        assert wh.scalar("SELECT max(version) FROM schema_version") == LATEST_VERSION
        assert [r[0] for r in wh.execute("SELECT version FROM schema_version ORDER BY 1").fetchall()] == list(
            range(1, LATEST_VERSION + 1)
        )
        row = wh.execute("SELECT url, year, status, agency_key FROM analytics.reports").fetchone()
        assert row == ("http://a/old.html", 2020, "ok", None)
        assert wh.scalar("SELECT value FROM analytics.facts") == 5
        # and the upgraded file takes a normal load
        res = load_run(wh, s.run_input("r1", [s.document(s.make_report(year=2021), "http://a/new.html")],
                                       listing_complete=False))
        assert len(res.new) == 1
        assert wh.scalar("SELECT count(*) FROM analytics.reports") == 2


def test_reopen_is_a_no_op(tmp_path):
    db = tmp_path / "ogi.duckdb"
    with open_writer(db, 5):
        pass
    with open_writer(db, 5) as wh:
        assert wh.scalar("SELECT count(*) FROM schema_version") == LATEST_VERSION


def test_every_table_and_column_has_a_comment(tmp_path):
    with open_writer(tmp_path / "ogi.duckdb", 5) as wh:
        tables = wh.execute("SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'main'").fetchall()
        cols = wh.execute(
            "SELECT table_name, column_name, comment FROM duckdb_columns() WHERE schema_name = 'main' AND NOT internal"
        ).fetchall()
        vcols = wh.execute(
            "SELECT table_name, column_name, comment FROM duckdb_columns() WHERE schema_name = 'analytics'"
        ).fetchall()
        views = wh.execute("SELECT view_name, comment FROM duckdb_views() WHERE schema_name = 'analytics'").fetchall()
    assert {t for t, _ in tables} == set(current_tables())
    assert all(c for _, c in tables), [t for t, c in tables if not c]
    assert all(c for *_, c in cols), [(t, n) for t, n, c in cols if not c]
    assert all(c for *_, c in vcols), [(t, n) for t, n, c in vcols if not c]
    assert {v for v, _ in views} == {v.name for v in VIEWS} and all(c for _, c in views)


def _not_a_report():
    from extractors.model import Report

    return Report(is_report=False, reason="an interpretation article (解读) about a report, not the report itself",
                  title="扶沟县2021年政府信息公开工作年度报告解读", doc_kind="interpretation")


def test_analytics_views_have_the_documented_columns(tmp_path):
    with open_writer(tmp_path / "ogi.duckdb", 5) as wh:
        docs = [
            s.document(s.make_report(year=2020, malformed=True), "http://a/1.html"),
            s.document(s.make_report(year=2021, agency="扶沟县人民政府"), "http://a/2.html"),
            s.document(_not_a_report(), "http://a/jd.html"),  # analytics.documents
        ]
        load_run(wh, s.run_input("r1", docs))
        for v in VIEWS:
            declared = [c.name for c in v.columns]
            got = [d[0] for d in wh.execute(f"SELECT * FROM {v.qualified}").description]
            assert got == declared, v.name
            # the SQL itself yields those names in that order (the declaration cannot drift from the SQL)
            raw = [d[0] for d in wh.execute(f"SELECT * FROM ({v.sql}) LIMIT 0").description]
            assert raw == declared, v.name
            types = dict(wh.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name='analytics' AND table_name=?",
                [v.name],
            ).fetchall())
            for c in v.columns:
                assert types[c.name] == c.type, (v.name, c.name, types[c.name])
            assert wh.execute(f"SELECT count(*) FROM {v.qualified}").fetchone()[0] >= 1, v.name
    for name, cols in CONTRACT.items():
        view = next(v for v in VIEWS if v.name == name)
        assert [c.name for c in view.columns][: len(cols)] == cols


def test_views_work_on_an_empty_warehouse(tmp_path):
    with open_writer(tmp_path / "ogi.duckdb", 5) as wh:
        for v in VIEWS:
            wh.execute(f"SELECT * FROM {v.qualified}").fetchall()


def test_docs_are_generated_and_current():
    text = render()
    assert DOC_PATH.read_text(encoding="utf-8") == text, "run: python -m warehouse.docgen"
    for v in VIEWS:
        assert f"`{v.qualified}`" in text
        for c in v.columns:
            assert f"| `{c.name}` | {c.type} | {c.label_zh.replace('|', chr(92) + '|')} |" in text
    # fact keys with the labels printed on the official forms
    for label in ("本年新收政府信息公开申请数量", "结转下年度继续办理", "逾期不补正", "本年收费金额", "尚未审结"):
        assert label in text


def test_work_path_is_next_to_the_db(tmp_path):
    assert work_path(tmp_path / "ogi.duckdb") == tmp_path / "ogi.work.duckdb"
    assert work_path("data/x") == __import__("pathlib").Path("data/x.work.duckdb")


def test_a_file_from_a_newer_version_is_refused(tmp_path):
    from warehouse.schema import SchemaTooNew

    db = tmp_path / "ogi.duckdb"
    with open_writer(db, 5) as wh:
        wh.execute("INSERT INTO schema_version VALUES (?, 'from the future', now())", [LATEST_VERSION + 1])
    with pytest.raises(SchemaTooNew, match="newer"):
        open_writer(db, 5)
    # the writer lock was released despite the refusal
    os.close(_acquire_lock(lock_path(db), 0.5)[0])


def test_prerelease_alert_column_name_is_upgraded(tmp_path):
    from warehouse import enqueue_alert, pending_alerts

    db = tmp_path / "ogi.duckdb"
    with open_writer(db, 5, migrate_to=2) as wh:
        wh.execute("ALTER TABLE alerts RENAME COLUMN id TO alert_id")  # how pre-release files looked
        wh.execute("INSERT INTO alerts (kind, url, dedupe_key) VALUES ('run_failed', 'u', 'run_failed|r0')")
    with open_writer(db, 5) as wh:
        assert [a.kind for a in pending_alerts(wh, "c")] == ["run_failed"]
        assert enqueue_alert(wh, "run_failed", url="u", run_id="r1") is not None


def test_documented_recipes_run(tmp_path):
    from warehouse.analytics import RECIPES

    with open_writer(tmp_path / "ogi.duckdb", 5) as wh:
        docs = [
            s.document(s.make_report(year=2020, agency="扶沟县人民政府", malformed=True), "http://a/1.html"),
            s.document(s.make_report(year=2021, agency="扶沟县人民政府"), "http://a/2.html"),
        ]
        load_run(wh, s.run_input("r1", docs))
        counts = [len(wh.execute(sql).fetchall()) for _, sql in RECIPES]
    assert counts[0] >= 1 and counts[1] == 2 and counts[2] == 1 and counts[5] == 2


def test_reopen_skips_unchanged_declarations_but_repairs_and_upgrades_them(tmp_path, monkeypatch):
    """Views and comments are re-applied only when their declarations changed (or a view went missing)."""
    import warehouse.analytics as analytics
    import warehouse.schema as schema_mod

    db = tmp_path / "ogi.duckdb"
    with open_writer(db, 5):
        pass
    calls = []
    real = schema_mod.apply_comments
    monkeypatch.setattr(schema_mod, "apply_comments", lambda con: (calls.append(1), real(con)))
    with open_writer(db, 5):
        pass
    assert calls == []  # unchanged: skipped
    with open_writer(db, 5) as wh:
        wh.execute("DROP VIEW analytics.reports")
    with open_writer(db, 5) as wh:
        assert wh.scalar("SELECT count(*) FROM duckdb_views() WHERE schema_name='analytics' AND view_name='reports'") == 1
    assert calls == [1]  # a missing view is repaired
    first = analytics.VIEWS[0]
    changed = type(first)(**{**first.__dict__, "description": first.description + " (changed)"})
    monkeypatch.setattr(analytics, "VIEWS", (changed,) + tuple(analytics.VIEWS[1:]))
    with open_writer(db, 5) as wh:
        comment = wh.scalar(f"SELECT comment FROM duckdb_views() WHERE schema_name='analytics' AND view_name='{first.name}'")
    assert "(changed)" in comment and calls == [1, 1]
