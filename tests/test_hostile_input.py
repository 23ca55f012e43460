"""Issue 11 item 3: hostile input gives a clear outcome (a finding or the reason it was refused), never a crash or
a silent truncation, within 5 s and 300 MB — each file in a child process under RLIMIT_AS (bench/chaos_hostile.py,
whose heavy variants run in ``python -m bench.chaos``), so a regression fails here instead of swapping."""

from __future__ import annotations

import pytest

from bench.chaos_hostile import CASES, LIMIT_MB, TIME_LIMIT_S, run_case


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_file_is_bounded(case):
    r = run_case(case, heavy=False)
    assert "CRASH" not in r["outcome"] and "EXPANDED" not in r["outcome"], r
    assert case.expect in r["outcome"], r
    assert r["seconds"] <= TIME_LIMIT_S and r["peak_rss_mb"] <= LIMIT_MB, r


def test_deep_nesting_keeps_the_text_after_the_nest():
    """lxml stops at depth 256 and drops everything after (measured: text after the nest closes too)."""
    from extractors.htmldoc import read_html

    for n in (100, 300, 5000):
        html = "<html><body><p>开头</p>" + "<div>" * n + "<p>深处文字</p>" + "</div>" * n + "<p>结尾文字</p></body></html>"
        doc = read_html(html)
        assert [b.text for b in doc.blocks if b.text][:3] == ["开头", "深处文字", "结尾文字"], n
        assert [r for r, _ in doc.notes] == ([] if n < 200 else ["html.deep_nesting"]), n


def test_big_page_is_refused_before_decoding_and_inline_images_do_not_count():
    from extractors.decode import MAX_MARKUP_BYTES, bound_markup
    from extractors.model import UnreadableInput

    img = b'<img src="data:image/png;base64,' + b"QUJD" * (MAX_MARKUP_BYTES // 3) + b'">'
    page = b"<html><body><p>text</p>" + img + b"</body></html>"
    assert len(bound_markup(page)) < 1000  # the base64 payload is dropped, the page read
    with pytest.raises(UnreadableInput, match="page too large to parse"):
        bound_markup(b"<p>x</p>" * (MAX_MARKUP_BYTES // 8 + 1))


def test_links_with_other_schemes_are_never_followed():
    from crawler.links import extract_links, parse_html

    html = ('<a href="javascript:alert(1)">a</a><a href="data:text/html,<b>x</b>">b</a><a href="file:///etc/passwd">c</a>'
            '<a href="ftp://x/y">d</a><a href="  JavaScript:void(0)">e</a><a href="/ok.html">ok</a>')
    assert [link.url for link in extract_links(parse_html(html), "http://127.0.0.1/list.html")] == [
        "http://127.0.0.1/ok.html"]


def test_attachment_names_never_become_paths(tmp_path):
    """Blobs are named by sha256 only; a hostile URL or file name goes into the index, never into a path."""
    from crawler.archive import Archive
    from extractors.engine import extract
    from bench.chaos_hostile import REPORT

    with Archive(tmp_path / "a") as a:
        for url in ("http://x/../../../../tmp/evil.pdf", "http://x/%2e%2e/%2e%2e/etc/passwd", "/etc/passwd"):
            sha = a.put(url, url.encode(), portal_id="p", kind="attachment", status=200)
            assert a.get(sha) == url.encode()
    files = [p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()]
    assert all(p.parts[:2] == ("a", "objects") or p.parts == ("a", p.name) for p in files), files
    for name in ("../../etc/passwd.html", "/etc/cron.d/report.html", "..\\..\\x.html"):
        assert extract(REPORT.read_bytes(), filename=name).is_report
