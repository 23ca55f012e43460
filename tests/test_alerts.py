"""Alerts on their own: digest content, secret scrubbing, outbox semantics, delivery to a real loopback sink."""

from __future__ import annotations

import logging
import re

import pytest

from alerts import sink as sink_mod
from alerts.channels import channel_key, scrub, send
from alerts.deliver import EVENTS_CHANNEL, deliver_pending
from alerts.digest import render_digest
from alerts.model import Alert
from alerts.outbox import MemoryOutbox


def new(i: int, portal: str = "p1") -> Alert:
    return Alert(
        kind="new_report", report_id=f"r{i}", revision=1, url=f"http://portal.test/r{i}.html",
        portal_id=portal, title=f"2023年政府信息公开工作年度报告 {i}",
    )


REVISED = Alert(
    kind="revised_report", report_id="r9", revision=2, url="http://portal.test/r9.html", portal_id="p1",
    title="扶沟县2022年报告",
    payload={"changes": [{"table": "t3", "row": "new_received", "col": "total", "old": 10, "new": 12}]},
)
MALFORMED = Alert(
    kind="malformed_report", report_id="r8", revision=1, url="http://portal.test/r8.html", portal_id="p1",
    title="坏报告",
    payload={"findings": [{"rule": "t3.column_balance", "severity": "error", "message": "一+二 ≠ 总计+四: 5 vs 7"}]},
)


@pytest.fixture
def sink():
    s = sink_mod.start()
    yield s
    s.stop()


def test_digest_groups_by_kind_names_every_url_and_shows_details():
    d = render_digest([new(1), REVISED, MALFORMED, new(2)])
    assert d.left_out == 0 and d.shown == 4
    for url in ("http://portal.test/r1.html", "http://portal.test/r2.html", REVISED.url, MALFORMED.url):
        assert url in d.body
    assert "t3/new_received/total: 10 → 12" in d.body
    assert "t3.column_balance" in d.body and "5 vs 7" in d.body
    # most actionable first
    assert d.body.index("Malformed report (1)") < d.body.index("Revised report (1)") < d.body.index("New report (2)")
    assert "2 new report" in d.title and "1 malformed report" in d.title


def test_digest_is_capped_with_a_count_of_what_was_left_out():
    d = render_digest([new(i) for i in range(30)], max_items=10)
    assert d.shown == 10 and d.left_out == 20
    assert d.body.count("http://portal.test/") == 10
    assert "and 20 more alerts not shown" in d.body
    assert "New report (30)" in d.body


def test_alert_identity_is_kind_report_revision():
    assert new(1).id == new(1).id
    assert new(1).id != new(2).id
    r2 = Alert(kind="revised_report", report_id="r9", revision=3, url=REVISED.url)
    assert r2.id != REVISED.id
    assert Alert.from_row({"kind": "new_report", "id": "x1", "payload": '{"a": 1}'}).payload == {"a": 1}


def test_scrub_removes_tokens_passwords_and_query_secrets():
    urls = ["dingtalk://SECRETSIGN@TOKEN123456/", "mailtos://user:hunter22@mail.example.com?to=a@b.c",
            "json://127.0.0.1:9/hook/abcdefTOKEN?key=QUERYSECRET"]
    text = ("failed dingtalk://SECRETSIGN@TOKEN123456/ and TOKEN123456; password hunter22; "
            "POST http://127.0.0.1:9/hook/abcdefTOKEN?key=QUERYSECRET refused")
    out = scrub(text, urls)
    for secret in ("SECRETSIGN", "TOKEN123456", "hunter22", "abcdefTOKEN", "QUERYSECRET"):
        assert secret not in out
    assert "refused" in out


def test_send_to_a_real_sink(sink):
    res = send(sink.apprise_url("hook/TOKENXYZ"), "t", "hello 报告")
    assert res.ok, res.error
    assert len(sink.received) == 1
    assert sink.received[0].path == "/hook/TOKENXYZ"
    assert sink.received[0].title == "t" and sink.received[0].message == "hello 报告"


def test_failed_send_error_never_contains_the_token(caplog):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    url = f"json://127.0.0.1:{port}/hook/VERYSECRETTOKEN"
    with caplog.at_level(logging.DEBUG):
        res = send(url, "t", "b", timeout_s=2)
    assert not res.ok and res.error
    assert "VERYSECRETTOKEN" not in res.error
    assert "VERYSECRETTOKEN" not in caplog.text
    assert "VERYSECRETTOKEN" not in " ".join(res.log)


def test_outbox_at_least_once_never_twice_and_failed_channel_retried(sink):
    box = MemoryOutbox([new(1), new(2)])
    url = sink.apprise_url()
    rep = deliver_pending(box, [url])
    assert [c.sent for c in rep.channels] == [True]
    assert len(sink.received) == 1 and "r1.html" in sink.received[0].message and "r2.html" in sink.received[0].message
    # a rerun with nothing new sends nothing
    rep = deliver_pending(box, [url])
    assert rep.channels[0].pending == 0 and len(sink.received) == 1
    # re-enqueueing the same report revision is a no-op (never twice)
    assert box.enqueue(new(1)) is False
    assert box.pending(channel_key(url)) == []
    # the channel fails: the alert stays pending, then goes out on the next run
    box.enqueue(REVISED)
    sink.fail_with = 503
    rep = deliver_pending(box, [url])
    assert rep.failed and "503" in (rep.channels[0].error or "")
    assert [a.id for a in box.pending(channel_key(url))] == [REVISED.id]
    sink.fail_with = None
    box.enqueue(MALFORMED)
    deliver_pending(box, [url])
    last = sink.received[-1].message
    assert len(sink.received) == 2 and REVISED.url in last and MALFORMED.url in last
    assert box.pending(channel_key(url)) == []


def test_two_channels_are_independent(sink):
    other = sink_mod.start()
    try:
        other.fail_with = 500
        box = MemoryOutbox([new(1)])
        rep = deliver_pending(box, [sink.apprise_url(), other.apprise_url()])
        assert [c.sent for c in rep.channels] == [True, False]
        assert box.pending(channel_key(sink.apprise_url())) == []
        assert len(box.pending(channel_key(other.apprise_url()))) == 1
        assert "127.0.0.1" in rep.lines()[1] and "FAILED" in rep.lines()[1]
    finally:
        other.stop()


def test_events_wait_for_a_flow_run():
    box = MemoryOutbox([new(1)])
    rep = deliver_pending(box, [], emit_events=True)  # not inside a flow run: nothing to send them to
    assert rep.events_emitted == 0
    assert len(box.pending(EVENTS_CHANNEL)) == 1


def test_sink_records_to_file(tmp_path):
    out = tmp_path / "alerts.jsonl"
    s = sink_mod.start(out=out)
    try:
        assert send(s.apprise_url(), "title", "body").ok
    finally:
        s.stop()
    import json

    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert rows[0]["body"]["title"] == "title" and rows[0]["path"] == "/hook"


def test_every_kind_renders_its_details():
    alerts = [
        Alert(kind="late_report", report_id="r1", revision=1, url="http://p.test/r1.html", title="迟报",
              payload={"agency": "县教育局", "year": 2023, "deadline": "2024-01-31", "published": "2024-03-02"}),
        Alert(kind="missing_report", url="http://p.test/", portal_id="p1", title="缺报",
              payload={"agency": "县民政局", "year": 2024, "deadline": "2025-01-31"}),
        Alert(kind="portal_unreachable", url="http://p.test/", portal_id="p1", title="p1",
              payload={"consecutive_failures": 3, "error": "connect: refused"}),
        Alert(kind="run_failed", run_id="x", title="run x failed", payload={"error": "RuntimeError: boom"}),
    ]
    body = render_digest(alerts).body
    assert "deadline=2024-01-31" in body and "published=2024-03-02" in body
    assert "agency=县民政局, year=2024" in body
    assert "3 consecutive failed runs (connect: refused)" in body
    assert "RuntimeError: boom" in body
    assert body.index("Run failed (1)") < body.index("Late report (1)") < body.index("Portal unreachable (1)")
    assert "http://p.test/r1.html" in body


def test_sink_runs_as_a_module_and_prints_what_it_receives(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "a.jsonl"
    proc = subprocess.Popen([sys.executable, "-u", "-m", "alerts.sink", "--port", "0", "--out", str(out)],
                            stdout=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        url = re.search(r"OGI_ALERT_URLS=(json://\S+)", first).group(1)
        assert send(url, "标题", "正文 http://p.test/r1.html").ok
        lines = [proc.stdout.readline() for _ in range(3)]
        assert "标题" in lines[1] and "http://p.test/r1.html" in lines[2]
        assert "标题" in out.read_text(encoding="utf-8")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
