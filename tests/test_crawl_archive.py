"""The raw archive and the link/encoding helpers the crawler relies on."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import sqlite3
import threading

import pytest

from crawler import Archive, crawl_portals
from crawler.links import decode_html, extract_links, is_attachment_url, is_list_link, is_report_link, parse_html
from crawler.types import FetchRecord
from ogi.registry import load_registry


def test_put_get_latest_documents(tmp_path):
    a = Archive(tmp_path)
    body = "<html>清河县2021年政府信息公开工作年度报告</html>".encode()
    sha = a.put("http://x/r1.html", body, portal_id="p", kind="report_page", status=200,
                headers={"ETag": '"e1"', "Last-Modified": "Wed, 01 Jan 2025 00:00:00 GMT", "Content-Type": "text/html",
                         "Set-Cookie": "secret"},
                link_text="标题", list_date=dt.date(2022, 1, 5))
    assert sha == hashlib.sha256(body).hexdigest()
    blob = tmp_path / "objects" / sha[:2] / f"{sha}.gz"
    assert gzip.decompress(blob.read_bytes()) == body and a.get(sha) == body
    assert a.put("http://x/r1-copy.html", body, portal_id="p", kind="attachment", status=200, parent_url="http://x/r1.html") == sha
    st = a.latest("http://x/r1.html")
    assert (st.sha256, st.etag, st.kind, st.link_text, st.list_date) == (sha, '"e1"', "report_page", "标题", dt.date(2022, 1, 5))
    a.put("http://x/list.html", b"<html>list</html>", portal_id="p", kind="list", status=200)
    docs = a.documents("p")
    assert [(d.url, d.kind, d.parent_url) for d in docs] == [
        ("http://x/r1-copy.html", "attachment", "http://x/r1.html"), ("http://x/r1.html", "report_page", None)]
    assert a.documents("other") == []
    log = a.fetch_log("p")
    assert len(log) == 3 and log[0]["headers"] and "set-cookie" not in log[0]["headers"]  # no cookies kept
    a.close()
    # reopen: everything persisted
    b = Archive(tmp_path)
    assert b.latest("http://x/r1.html").sha256 == sha and len(b.fetch_log()) == 3
    with pytest.raises(KeyError):
        b.get("0" * 64)
    with pytest.raises(ValueError):
        b.get("../../etc/passwd")  # never a path from anything but a hex digest
    b.close()


def test_failed_exchanges_do_not_change_the_url_state(tmp_path):
    with Archive(tmp_path) as a:
        good = a.put("http://x/r.html", b"report", portal_id="p", kind="report_page", status=200)
        a.put("http://x/r.html", b"captcha", portal_id="p", kind="report_page", status=200,
              error="anti_crawl: captcha", update_state=False)
        a.log(FetchRecord("p", "http://x/r.html", dt.datetime.now(dt.timezone.utc), "report_page", None,
                          error="timeout: read", attempts=2))
        assert a.latest("http://x/r.html").sha256 == good
        rows = a.fetch_log(url="http://x/r.html")
        assert [r["error"] for r in rows] == [None, "anti_crawl: captcha", "timeout: read"]


def test_archive_shared_by_threads_and_instances(tmp_path):
    """Prefect may run portals in threads, each opening the same archive directory."""
    errors: list[Exception] = []

    def work(i: int) -> None:
        try:
            a = Archive(tmp_path)
            for j in range(60):
                a.put(f"http://x/{i}/{j}", f"{i}-{j}".encode() * 50, portal_id=f"p{i}", kind="report_page", status=200)
            a.close()
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with Archive(tmp_path) as a:
        assert len(a.documents()) == 240 and len(a.fetch_log()) == 240


def test_every_fetched_body_is_archived_with_its_log_row(sample_portal, sample_registry, fast_crawl_settings, tmp_path):
    archive = Archive(tmp_path / "a")
    results = crawl_portals(load_registry(sample_registry), archive, fast_crawl_settings, progress=False)
    log = archive.fetch_log()
    assert len(log) == sum(len(r.fetches) for r in results)
    sent = [row for row in log if not (row["error"] or "").startswith("robots")]  # blocked: logged, never sent
    assert len(sent) == len(sample_portal.requests) and len(log) - len(sent) == 1
    bodies = [row for row in log if row["status"] == 200]
    assert bodies and all(row["sha256"] and archive.get(row["sha256"]) for row in bodies)
    assert {row["kind"] for row in log} == {"robots", "start", "list", "list_api", "report_page", "attachment"}
    served = sorted(q.bytes for q in sample_portal.requests if q.status == 200)
    assert sorted(row["bytes"] for row in bodies) == served


def test_body_is_archived_before_parsing(sample_portal, sample_registry, fast_crawl_settings, tmp_path, monkeypatch):
    """A parser crash on one portal: its start page is already archived, and the other portals finish."""
    import crawler.cms as cms

    real = cms.extract_links

    def exploding(doc, base, **kw):
        if "/shimen/" in base:
            raise RuntimeError("parser bug")
        return real(doc, base, **kw)

    monkeypatch.setattr(cms, "extract_links", exploding)
    archive = Archive(tmp_path / "a")
    results = {r.portal_id: r for r in crawl_portals(load_registry(sample_registry), archive, fast_crawl_settings,
                                                     progress=False)}
    bad = results["sample-vsb-shimen"]
    assert bad.error == "RuntimeError: parser bug" and not bad.listing_complete
    start = sample_portal.start_url("shimen")
    assert b"list2.htm" in archive.get(archive.latest(start).sha256)
    assert all(r.ok and r.documents for pid, r in results.items() if pid != "sample-vsb-shimen")


def test_progress_bar_goes_to_stderr(sample_portal, sample_registry, fast_crawl_settings, tmp_path, capsys):
    crawl_portals(load_registry(sample_registry)[:1], Archive(tmp_path / "a"), fast_crawl_settings, progress=True)
    out, err = capsys.readouterr()
    assert "sample-trs-qinghe" in err and "sample-trs-qinghe" not in out


async def test_sync_wrapper_works_inside_a_running_event_loop(sample_portal, sample_registry, fast_crawl_settings, tmp_path):
    results = crawl_portals(load_registry(sample_registry)[:1], Archive(tmp_path / "a"), fast_crawl_settings, progress=False)
    assert results[0].ok and len(results[0].documents) == (len(sample_portal.expected_reports("qinghe")) + 1
                                                     + len(sample_portal.lookalike_urls("qinghe")))


@pytest.mark.parametrize("text,expected", [
    ("清河县人民政府2023年政府信息公开工作年度报告", True),
    ("清河县教育局2021年度政府信息公开工作年度报告（图片版）", True),
    ("二〇二一年政府信息公开年报", True),
    ("关于2022年政府信息公开工作年度报告的解读", False),
    ("清河县2022年政府信息公开工作年度报告解读", False),
    ("图解：清河县2021年政府信息公开工作年度报告", False),
    ("一图读懂2021年政府信息公开年报", False),
    ("清河县2023年政务公开工作要点", False),
    ("清河县人民政府信息公开指南", False),
    ("政府信息公开年报", False),  # a column name: a list link, not a report
    ("2022年统计公报", False),
])
def test_report_link_classification(text, expected):
    assert is_report_link(text) is expected


def test_list_and_attachment_links():
    assert is_list_link("政府信息公开年报") and is_list_link("年度报告")
    assert not is_list_link("2021年政府信息公开年报") and not is_list_link("年报解读")
    assert is_attachment_url("http://x/P020220120.pdf") and is_attachment_url("http://x/a.WPS")
    assert is_attachment_url("http://x/module/download/downfile.jsp?classid=-1&filename=19102020.xls")
    assert not is_attachment_url("http://x/t2022_1.html") and not is_attachment_url("http://x/pdf.html")


def test_decode_html_prefers_a_charset_that_fits():
    gbk = '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312"></head><body>石门县“年报”</body></html>'.encode("gbk")
    assert decode_html(gbk, "text/html; charset=utf-8") == (gbk.decode("gb18030"), "gb18030")  # wrong header
    assert decode_html(gbk, "text/html")[1] == "gb18030"  # meta only
    assert decode_html("云溪".encode(), "text/html")[0] == "云溪"
    assert decode_html(b"\xff\xfe\x00junk", None)[0]  # never raises


def test_extract_links_resolves_relative_urls_and_dates():
    doc = parse_html('<base href="http://h/a/b/"><ul><li><a href="./202301/t20230105_1.html" title="完整标题2022年年报">截断…</a>'
                     '<span>2023-01-05</span></li><li><a href="javascript:void(0)">x</a></li>'
                     '<li><a href="../c.pdf#page=2">附件</a></li></ul>')
    links = extract_links(doc, "http://ignored/")
    assert [(lk.url, lk.text, lk.date) for lk in links] == [
        ("http://h/a/b/202301/t20230105_1.html", "完整标题2022年年报", dt.date(2023, 1, 5)),
        ("http://h/a/c.pdf", "附件", None),
    ]


def test_report_candidates_split_pages_attachments_and_offsite():
    from crawler.cms import ListState
    from crawler.crawl import report_candidates
    from crawler.links import Link
    from ogi.registry import Portal

    state = ListState()
    for url, text in [
        ("http://a/zfxxgknb/202201/t20220120_1.html", "清河县2021年政府信息公开工作年度报告"),
        ("http://a/zfxxgknb/P020220120.pdf", "清河县财政局2021年政府信息公开工作年度报告.pdf"),
        ("http://a/zfxxgknb/202201/t20220120_2.html", "清河县2021年政府信息公开工作年度报告解读"),
        ("http://elsewhere/r.html", "清河县2020年政府信息公开工作年度报告"),
        ("http://a/index.html", "首页"),
    ]:
        state.add(Link(url, text))
    pages, direct = report_candidates(state, Portal("p", "p", ("http://a/zfxxgknb/",), ("a",)))
    assert list(pages) == ["http://a/zfxxgknb/202201/t20220120_1.html"]
    assert list(direct) == ["http://a/zfxxgknb/P020220120.pdf"]


def test_decode_html_utf8_page_with_a_wrong_gbk_label():
    page = '<html><head><meta charset="gbk"></head><body>平潭综合实验区年报</body></html>'.encode("utf-8")
    text, enc = decode_html(page, "text/html; charset=GBK")
    assert enc == "utf-8" and "平潭综合实验区年报" in text


def test_a_write_is_committed_before_the_call_returns(tmp_path):
    """The crawler awaits the network between archive writes: a transaction left open across that wait blocks
    every other portal's connection (with shared per-host slots this deadlocked a run for the 60 s busy timeout).
    The 304 bookkeeping (``touch`` here) is batched in memory instead, never in an open transaction (next test)."""
    a = Archive(tmp_path)
    a.put("http://x/a.html", b"<html>a</html>", portal_id="p1", kind="report_page", status=200)
    a.log(FetchRecord("p1", "http://x/b.html", dt.datetime.now(dt.timezone.utc), "report_page", 304))
    a.touch("http://x/a.html")
    a.mark_unchecked("http://x/a.html")
    other = sqlite3.connect(tmp_path / "index.sqlite", timeout=0.2)  # another portal's connection, impatient
    try:
        other.execute("INSERT INTO fetch_log(portal_id, url, kind, fetched_at, status) VALUES ('p2', 'u', 'k', 't', 200)")
        other.commit()
        assert other.execute("SELECT count(*) FROM fetch_log").fetchone()[0] == 3
    finally:
        other.close()
        a.close()


def test_304_bookkeeping_is_batched_but_always_read_back_and_never_left_open(tmp_path, monkeypatch):
    """``not_modified`` / ``touch`` rows wait in memory for one batched transaction (a no-change night is ~1,000
    of them); the archive's own reads see them at once, another connection once a batch or any other write
    commits them, and a batch never stays open as a transaction (another writer is never blocked)."""
    import crawler.archive as archive_mod

    monkeypatch.setattr(archive_mod, "DEFER_ROWS", 3)
    monkeypatch.setattr(archive_mod, "DEFER_S", 3600.0)
    a = Archive(tmp_path)
    page, att = "http://x/p.html", "http://x/p.pdf"
    a.put(page, b"<html>p</html>", portal_id="p", kind="report_page", status=200, headers={"ETag": '"1"'},
          confirmed=False)
    a.put(att, b"%PDF-1.4", portal_id="p", kind="attachment", status=200, parent_url=page)
    other = sqlite3.connect(tmp_path / "index.sqlite", timeout=0.2)

    def committed_304s() -> int:
        return other.execute("SELECT count(*) FROM fetch_log WHERE status = 304").fetchone()[0]

    now = dt.datetime.now(dt.timezone.utc)
    a.not_modified(FetchRecord("p", page, now, "report_page", 304, a.latest(page).sha256),
                   headers={"ETag": '"2"'}, confirmed=False)
    assert committed_304s() == 0  # deferred …
    other.execute("INSERT INTO fetch_log(portal_id, url, kind, fetched_at, status) VALUES ('q', 'u', 'k', 't', 200)")
    other.commit()  # … without a transaction open: another writer goes ahead at once
    assert a.latest(page).etag == '"2"' and a.latest(page).checked_at is None  # read back (unconfirmed 304)
    assert committed_304s() == 1  # the read wrote the batch first
    a.not_modified(FetchRecord("p", att, now, "attachment", 304, a.latest(att).sha256), parent_url=page)
    a.touch(page)
    assert committed_304s() == 1
    [child] = a.children(page)  # a deferred refresh of a child: children() reads it back too
    assert child.url == att and child.checked_at is not None and committed_304s() == 2
    for i in range(3):  # DEFER_ROWS touches: written without any read
        a.not_modified(FetchRecord("p", att, now, "attachment", 304, child.sha256), parent_url=page)
    assert committed_304s() == 5
    a.not_modified(FetchRecord("p", att, now, "attachment", 304, child.sha256), parent_url=page)
    a.put("http://x/list.html", b"<html>list</html>", portal_id="p", kind="list", status=200)
    statuses = [r[0] for r in other.execute("SELECT status FROM fetch_log WHERE portal_id = 'p' ORDER BY id")]
    assert statuses == [200, 200, 304, 304, 304, 304, 304, 304, 200]  # a put writes the batch first, in order
    a.not_modified(FetchRecord("p", page, now, "report_page", 304, a.latest(page).sha256))
    a.close()
    assert committed_304s() == 7  # close writes what is left
    other.close()


def test_bulk_states_and_intact_say_what_latest_children_and_has_say(tmp_path):
    """Archive.states / Archive.intact (the crawl's plan reads) agree with latest / children / has, deferred 304
    bookkeeping and a damaged blob included."""
    a = Archive(tmp_path / "a")
    pages = [f"http://x/p{i}.html" for i in range(4)]
    for i, u in enumerate(pages):
        a.put(u, f"page {i}".encode(), portal_id="p", kind="report_page", status=200, headers={"ETag": f'"e{i}"'})
        for j in range(i):  # page i has i attachments
            a.put(f"http://x/p{i}-{j}.pdf", f"pdf {i} {j}".encode(), portal_id="p", kind="attachment", status=200,
                  parent_url=u)
    rec = FetchRecord("p", pages[1], dt.datetime.now(dt.timezone.utc), "report_page", 304, None, 0, 1, None, 1.0)
    a.not_modified(rec, headers={"ETag": '"e1-new"'})  # deferred: the bulk read must see it
    damaged = a.latest(pages[2]).sha256
    path = a._blob_path(damaged)
    path.write_bytes(gzip.compress(b"tampered"))
    asked = pages + ["http://x/never.html"]

    latest, children = a.states(asked)
    assert latest == {u: a.latest(u) for u in asked if a.latest(u) is not None}
    assert latest[pages[1]].etag == '"e1-new"'
    assert children == {u: a.children(u) for u in asked if a.children(u)}
    assert [len(children.get(u, [])) for u in pages] == [0, 1, 2, 3]

    shas = [s.sha256 for s in latest.values()] + [c.sha256 for cs in children.values() for c in cs]
    fresh = Archive(tmp_path / "a")  # a new process: nothing verified in memory yet
    assert fresh.intact(shas) == {h for h in shas if Archive(tmp_path / "a").has(h)}
    assert damaged not in fresh.intact(shas) and len(fresh.intact(shas)) == len(set(shas)) - 1
