"""Alert outbox: written with the load, once per (kind, report, revision), delivered per channel."""

from __future__ import annotations

import datetime as dt

from warehouse import (
    enqueue_alert,
    load_run,
    mark_delivered,
    open_writer,
    pending_alerts,
    record_run_failure,
)
from warehouse import synthetic as s


def test_load_alerts_name_their_report_and_are_never_repeated(tmp_path):
    ok = s.make_report(year=2020, agency="扶沟县财政局")
    bad = s.make_report(year=2020, agency="扶沟县教育局", malformed=True)
    docs = [s.document(ok, "http://a/ok"), s.document(bad, "http://a/bad"), s.document(s.not_a_report(), "http://a/x")]
    with open_writer(tmp_path / "ogi.duckdb", 5) as wh:
        s.baseline_run(wh)  # not the portal's first run
        assert [a.kind for a in pending_alerts(wh, "json://sink")] == ["baseline"]
        mark_delivered(wh, [a.id for a in pending_alerts(wh, "json://sink")], "json://sink")
        res = load_run(wh, s.run_input("r1", docs, as_of=dt.date(2021, 1, 1)))
        alerts = pending_alerts(wh, "json://sink")
        kinds = sorted((a.kind, a.url) for a in alerts)
        assert kinds == [("malformed_report", "http://a/bad"), ("new_report", "http://a/bad"), ("new_report", "http://a/ok")]
        assert res.alerts_enqueued == 3
        mal = next(a for a in alerts if a.kind == "malformed_report")
        assert mal.payload["findings"][0]["rule"] == "t3.row_total" and mal.revision == 1 and mal.title
        assert all(a.report_id and a.portal_id == "henan-zhoukou-fugou" for a in alerts)
        # same run again, and a later run with the same content: nothing new
        load_run(wh, s.run_input("r1", docs, as_of=dt.date(2021, 1, 1)))
        load_run(wh, s.run_input("r2", docs, as_of=dt.date(2021, 1, 1)))
        assert len(pending_alerts(wh, "json://sink")) == 3


def test_delivery_is_per_channel_and_failed_channel_keeps_pending(tmp_path):
    with open_writer(tmp_path / "ogi.duckdb", 5) as wh:
        load_run(wh, s.run_input("r1", [s.document(s.make_report(year=2020), "http://a/1")], as_of=dt.date(2021, 1, 1)))
        ids = [a.id for a in pending_alerts(wh, "mail")]
        assert len(ids) == 1
        assert mark_delivered(wh, ids, "mail") == 1
        assert mark_delivered(wh, ids, "mail") == 0  # idempotent
        assert pending_alerts(wh, "mail") == []
        # "dingtalk" failed this run: its alerts stay pending for the next one
        assert [a.id for a in pending_alerts(wh, "dingtalk")] == ids
        load_run(wh, s.run_input("r2", [s.document(s.make_report(year=2020), "http://a/1"),
                                        s.document(s.make_report(year=2021), "http://a/2")], as_of=dt.date(2021, 1, 1)))
        assert len(pending_alerts(wh, "dingtalk")) == 2 and len(pending_alerts(wh, "mail")) == 1
        assert pending_alerts(wh, "dingtalk", max_age_days=0.0) == []


def test_enqueue_alert_dedupes(tmp_path):
    with open_writer(tmp_path / "ogi.duckdb", 5) as wh:
        a = enqueue_alert(wh, "late_report", url="http://a/1", report_id="r", revision=1, title="t")
        b = enqueue_alert(wh, "late_report", url="http://a/1", report_id="r", revision=1, title="t")
        c = enqueue_alert(wh, "late_report", url="http://a/1", report_id="r", revision=2, title="t")
        assert a is not None and b is None and c is not None and c > a


def test_run_failed(tmp_path):
    with open_writer(tmp_path / "ogi.duckdb", 5) as wh:
        aid = record_run_failure(wh, "r9", "registry unreadable", url="portals/registry.yaml")
        again = record_run_failure(wh, "r9", "registry unreadable")
        row = wh.execute("SELECT status, error FROM runs WHERE run_id = 'r9'").fetchone()
        alerts = pending_alerts(wh, "x")
    assert aid is not None and again is None
    assert row == ("failed", "registry unreadable")
    assert [(a.kind, a.payload["error"], a.run_id) for a in alerts] == [("run_failed", "registry unreadable", "r9")]


def test_portal_unreachable_after_n_consecutive_failed_runs(tmp_path):
    p = s.portal()
    day = dt.datetime(2024, 2, 1, 2, 0, tzinfo=dt.timezone.utc)
    with open_writer(tmp_path / "ogi.duckdb", 5) as wh:
        def run(i, ok):
            return load_run(wh, s.run_input(f"r{i}", [], portals=[p], ok=ok, started_at=day + dt.timedelta(days=i)),
                            unreachable_after=3)

        run(0, True)
        assert [a.kind for a in pending_alerts(wh, "c")] == ["baseline"]  # the portal's first run
        mark_delivered(wh, [a.id for a in pending_alerts(wh, "c")], "c")
        run(1, False)
        run(2, False)
        assert pending_alerts(wh, "c") == []
        res = run(3, False)
        alerts = pending_alerts(wh, "c")
        assert res.alerts_enqueued == 1 and [a.kind for a in alerts] == ["portal_unreachable"]
        assert alerts[0].url == p.start_urls[0] and alerts[0].payload["consecutive_failures"] == 3
        run(4, False)  # same streak: no second alert
        assert len(pending_alerts(wh, "c")) == 1
        health = wh.execute("SELECT last_ok, consecutive_failures FROM analytics.portals").fetchone()
        assert health == (False, 4)
        run(5, True)
        for i in range(6, 9):
            run(i, False)  # a new streak alerts again
        assert len(pending_alerts(wh, "c")) == 2
