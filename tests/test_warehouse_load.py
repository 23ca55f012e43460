"""Loader behaviour on a real DuckDB file: idempotency, revisions with history, withdrawals, statuses."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from warehouse import load_run, open_writer, report_id_for
from warehouse import synthetic as s
from warehouse.synthetic import state_digest

P = "henan-zhoukou-fugou"


@pytest.fixture()
def db(tmp_path):
    return tmp_path / "ogi.duckdb"


def _docs():
    return [
        s.document(s.make_report(year=2020, agency="扶沟县财政局", carried_over={}), "http://a/cz2020.html"),
        s.document(s.make_report(year=2021, agency="扶沟县教育局"), "http://a/jy2021.html"),
        s.document(s.make_report(year=2021, agency="扶沟县人民政府", malformed=True), "http://a/zf2021.html"),
        s.document(s.not_a_report("解读 article, not a report"), "http://a/jd.html"),
        s.document(None, "http://a/broken.pdf", error="truncated: body ended early"),
    ]


def test_double_load_changes_nothing(db):
    run = s.run_input("r1", _docs())
    with open_writer(db, 5) as wh:
        first = load_run(wh, run)
        before = state_digest(wh.con)
        second = load_run(wh, run)
        after = state_digest(wh.con)
        assert before == after
        assert before["reports"][0] == 5 and before["facts"][0] > 500
        # a later nightly run with the same content: still no new revision, fact, finding or alert
        third = load_run(wh, dataclasses.replace(run, run_id="r2", started_at=run.started_at + dt.timedelta(days=1)))
        later = state_digest(wh.con)
        for t in ("report_revisions", "facts", "findings", "alerts", "sections", "coverage_findings"):
            assert later[t] == before[t], t
        last_seen = wh.execute("SELECT DISTINCT last_seen_run FROM reports").fetchall()
    assert len(first.new) == 5 and first.alerts_enqueued > 0
    assert first.counts()["new"] == 5 and second.counts()["unchanged"] == 5 and second.counts()["new"] == 0
    assert second.new == [] and second.revised == [] and second.alerts_enqueued == 0 and second.unchanged == 5
    assert third.new == [] and third.revised == [] and third.alerts_enqueued == 0
    assert last_seen == [("r2",)]


def test_statuses_and_provenance(db):
    with open_writer(db, 5) as wh:
        res = load_run(wh, s.run_input("r1", _docs()))
        rows = dict(wh.execute("SELECT url, status FROM analytics.reports").fetchall())
        prov = wh.execute(
            """SELECT f.raw, f.table_index, f.grid_row, f.grid_col, f.document_sha256 = d.sha256
               FROM analytics.facts f JOIN analytics.reports r USING (report_id)
               JOIN documents d ON d.url = r.url
               WHERE r.url = 'http://a/cz2020.html' AND f.tbl = 't3' AND f.row_key = 'new_received'
                 AND f.col_key = 'total'"""
        ).fetchone()
        reason = wh.scalar("SELECT reason FROM analytics.reports WHERE url = 'http://a/broken.pdf'")
        documents = wh.execute("SELECT url, doc_kind, reason FROM analytics.documents").fetchall()
    # an interpretation (解读) is not a report: it is in analytics.documents with why; an unreadable PDF is a
    # report we could not read (not_parsed in analytics.reports)
    assert rows == {
        "http://a/cz2020.html": "ok",
        "http://a/jy2021.html": "ok",
        "http://a/zf2021.html": "malformed",
        "http://a/broken.pdf": "not_parsed",
    }
    assert [u for u, _, _ in documents] == ["http://a/jd.html"] and documents[0][1] != "report" and documents[0][2]
    assert [r.url for r in res.malformed] == ["http://a/zf2021.html"]
    assert {r.url for r in res.not_parsed} == {"http://a/jd.html", "http://a/broken.pdf"}
    assert prov[1:] == (2, 3, 8, True) and prov[0].isdigit()
    assert "truncated" in reason


def test_report_id_is_stable_hash_of_portal_and_url():
    assert report_id_for(P, "http://a/x.html") == report_id_for(P, "http://a/x.html")
    assert report_id_for(P, "http://a/x.html") != report_id_for("other-portal", "http://a/x.html")


def test_revision_keeps_history_and_diffs_facts(db):
    url = "http://a/cz2020.html"
    old = s.make_report(year=2020, agency="扶沟县财政局", seed=1)
    new = s.make_report(year=2020, agency="扶沟县财政局", seed=1)
    # the portal corrected two cells of table 三
    for f in new.facts:
        if (f.table, f.row, f.col) in {("t3", "granted", "natural_person"), ("t3", "granted", "total")}:
            f.value = (f.value or 0) + 3
            f.raw = str(f.value)
    with open_writer(db, 5) as wh:
        load_run(wh, s.run_input("r1", [s.document(old, url)]))
        res = load_run(wh, s.run_input("r2", [s.document(new, url, status="changed")]))
        revs = wh.execute("SELECT revision, is_latest FROM analytics.revisions ORDER BY revision").fetchall()
        cur = wh.scalar(
            "SELECT value FROM analytics.facts WHERE tbl='t3' AND row_key='granted' AND col_key='total'"
        )
        hist = wh.execute(
            "SELECT revision, value FROM facts WHERE tbl='t3' AND row_key='granted' AND col_key='total' ORDER BY 1"
        ).fetchall()
        n_latest = wh.scalar("SELECT count(*) FROM analytics.facts")
        rep = wh.execute("SELECT revision, first_seen_at < last_changed_at FROM analytics.reports").fetchone()
        alert = wh.execute("SELECT revision, payload->>'$.changed_facts_total' FROM alerts WHERE kind='revised_report'").fetchone()
        # loading the old content again is a revision too (the page went back), never a duplicate row
        res3 = load_run(wh, s.run_input("r3", [s.document(old, url, status="changed")]))
        n_revs = wh.scalar("SELECT count(*) FROM report_revisions")
    assert revs == [(1, False), (2, True)]
    assert [r.report_id for r in res.revised] == [report_id_for(P, url)]
    changes = {(c.row, c.col): (c.old, c.new) for c in res.revised[0].changes}
    assert set(changes) == {("granted", "natural_person"), ("granted", "total")}
    old_total, new_total = changes[("granted", "total")]
    assert new_total == old_total + 3 and cur == new_total
    assert [h[0] for h in hist] == [1, 2] and hist[1][1] == hist[0][1] + 3
    assert n_latest == len(new.facts)
    assert rep[0] == 2
    assert alert == (2, "2")
    assert res3.revised[0].revision == 3 and n_revs == 3


def test_withdrawn_only_after_complete_listing_and_never_in_reprocess(db):
    a, b = "http://a/1.html", "http://a/2.html"
    ra, rb = s.make_report(year=2020, agency="扶沟县财政局"), s.make_report(year=2020, agency="扶沟县教育局")
    with open_writer(db, 5) as wh:
        load_run(wh, s.run_input("r1", [s.document(ra, a), s.document(rb, b)]))
        # b vanished but the listing was incomplete: not withdrawn
        r2 = load_run(wh, s.run_input("r2", [s.document(ra, a)], listing_complete=False))
        # reprocess never withdraws
        r3 = load_run(wh, s.run_input("r3", [s.document(ra, a)], mode="reprocess"))
        assert r2.withdrawn == [] and r3.withdrawn == []
        r4 = load_run(wh, s.run_input("r4", [s.document(ra, a)]))
        row = wh.execute("SELECT withdrawn, withdrawn_at IS NOT NULL, status FROM analytics.reports WHERE url = ?", [b]).fetchone()
        facts_b = wh.scalar(
            "SELECT count(*) FROM analytics.facts f JOIN analytics.reports r USING (report_id) WHERE r.url = ?", [b]
        )
        # it comes back: live again, same revision
        r5 = load_run(wh, s.run_input("r5", [s.document(ra, a), s.document(rb, b, status="unchanged")]))
        back = wh.execute("SELECT withdrawn, revision FROM analytics.reports WHERE url = ?", [b]).fetchone()
    assert [w.url for w in r4.withdrawn] == [b]
    assert row == (True, True, "ok") and facts_b == len(rb.facts)  # marked, never deleted
    assert back == (False, 1) and r5.revised == []


def test_unchanged_document_without_report_only_touches_last_seen(db):
    url = "http://a/1.html"
    rep = s.make_report(year=2020)
    with open_writer(db, 5) as wh:
        load_run(wh, s.run_input("r1", [s.document(rep, url)]))
        d = s.document(None, url, status="unchanged")
        res = load_run(wh, s.run_input("r2", [d]))
        n = wh.scalar("SELECT count(*) FROM report_revisions")
        seen = wh.scalar("SELECT last_seen_run FROM reports")
        unknown = load_run(wh, s.run_input("r3", [s.document(None, "http://a/never-seen.html", status="unchanged")],
                                          listing_complete=False))
    assert res.unchanged == 1 and res.new == [] and n == 1 and seen == "r2"
    assert unknown.unknown_unchanged == ["http://a/never-seen.html"]


def test_batches_and_run_row(db):
    docs = [s.document(s.make_report(year=2020, agency=f"扶沟县第{i}局", seed=i), f"http://a/{i}.html") for i in range(7)]
    with open_writer(db, 5) as wh:
        res = load_run(wh, s.run_input("r1", docs), batch_size=3)
        run = wh.execute(
            "SELECT status, reports_new, facts_loaded, documents, fetches FROM main.runs"
        ).fetchone()
        pr = wh.execute("SELECT ok, listing_complete, documents FROM portal_runs").fetchall()
    assert len(res.new) == 7 and res.facts_loaded == sum(len(d.report.facts) for d in docs)
    assert run == ("ok", 7, res.facts_loaded, 7, 8)
    assert pr == [(True, True, 7)]
    assert {"prepare_s", "batches_s", "finalize_s", "total_s"} <= res.timings.keys()


def test_failed_statement_rolls_back_the_whole_batch(db):
    """DuckDB would accept COMMIT after a failed statement and commit nothing silently: we never get there."""
    with open_writer(db, 5) as wh:
        wh.execute("CREATE TABLE t (a INTEGER PRIMARY KEY)")
        with pytest.raises(Exception):
            with wh.transaction():
                wh.execute("INSERT INTO t VALUES (1)")
                wh.execute("INSERT INTO t VALUES (1)")  # constraint violation
        assert wh.scalar("SELECT count(*) FROM t") == 0
        with wh.transaction():  # the connection is usable again
            wh.execute("INSERT INTO t VALUES (2)")
        assert wh.scalar("SELECT count(*) FROM t") == 1


def test_exception_mid_load_leaves_no_partial_report_and_marks_run_failed(db, monkeypatch):
    docs = _docs()
    with open_writer(db, 5) as wh:
        load_run(wh, s.run_input("r1", docs[:2]))
        before = state_digest(wh.con)
        monkeypatch.setenv("OGI_WAREHOUSE_CRASH_AT", "after_facts!raise")
        with pytest.raises(RuntimeError, match="injected failure"):
            load_run(wh, s.run_input("r2", docs))
        assert state_digest(wh.con) == before
        assert wh.execute("SELECT status, error LIKE 'load failed%' FROM runs WHERE run_id = 'r2'").fetchone() == (
            "failed", True)
        monkeypatch.delenv("OGI_WAREHOUSE_CRASH_AT")
        res = load_run(wh, s.run_input("r2", docs))
        assert len(res.new) == 3 and wh.scalar("SELECT status FROM runs WHERE run_id = 'r2'") == "ok"


def test_run_timings_recorded(db):
    import json

    from warehouse import record_run_timings

    with open_writer(db, 5) as wh:
        load_run(wh, s.run_input("r1", _docs()))
        record_run_timings(wh, "r1", {"crawl_s": 1.5})
        t = json.loads(wh.scalar("SELECT timings FROM analytics.runs WHERE run_id = 'r1'"))
    assert t["crawl_s"] == 1.5 and t["load.total_s"] > 0 and "load.batches_s" in t


def test_a_report_is_not_replaced_by_an_anti_crawl_page_or_a_read_error(db):
    url = "http://a/1.html"
    rep = s.make_report(year=2020)
    with open_writer(db, 5) as wh:
        load_run(wh, s.run_input("r1", [s.document(rep, url)]))
        r2 = load_run(wh, s.run_input("r2", [s.document(s.not_a_report("anti-crawl challenge page"), url, status="changed")]))
        r3 = load_run(wh, s.run_input("r3", [s.document(None, url, status="changed", error="truncated body")]))
        row = wh.execute("SELECT revision, status FROM analytics.reports").fetchone()
        n_docs = wh.scalar("SELECT count(*) FROM documents")
    assert r2.kept_previous == [url] and r3.kept_previous == [url] and r2.revised == []
    assert row == (1, "ok") and n_docs == 3  # the bodies are indexed, the report keeps its revision


def test_lenient_dates_and_missing_agency(db):
    rep = s.make_report(year=2020, agency="")
    rep.title = "2020年政府信息公开工作年度报告"  # neither agency nor a name in the title
    rep.published = dt.datetime(2021, 1, 10, 9, 30)  # a datetime where a date is expected
    d = s.document(rep, "http://a/1.html")
    d.list_date = "2021-01-11"  # type: ignore[assignment]
    with open_writer(db, 5) as wh:
        load_run(wh, s.run_input("r1", [d]))
        row = wh.execute("SELECT published_date, agency_key, issuer_type FROM analytics.reports").fetchone()
    assert row == (dt.date(2021, 1, 10), "unknown", "other")
