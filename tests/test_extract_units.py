"""Unit tests of the extractor's pieces: decoding, cell values, sections, classification."""

from __future__ import annotations

import pytest

from extractors import UnreadableInput, extract
from extractors.decode import decode
from extractors.numbers import parse_cell, to_10k_yuan
from extractors.sections import match_section

PAGE = "<html><head><title>某县2020年政府信息公开工作年度报告</title>{meta}</head><body><h1>某县人民政府2020年政府信息公开工作年度报告</h1><p>一、总体情况</p><p>本年度公开信息若干。</p></body></html>"


@pytest.mark.parametrize(
    ("raw", "value", "kind"),
    [
        ("12", 12, "number"), ("１２", 12, "number"), ("1,234", 1234, "number"), ("１，２３４", 1234, "number"),
        ("", 0, "blank"), ("\u00a0", 0, "blank"), (" \u3000 ", 0, "blank"), ("/", None, "na"), ("—", None, "na"),
        ("-", None, "na"), ("－", None, "na"), ("无", 0, "none_word"), ("-3", -3, "number"), ("1.5", 1.5, "number"),
        ("3.0", 3, "number"), ("251000元", 251000, "number"), ("5件", 5, "number"), ("自然人", None, "text"),
        ("1.属于国家秘密", None, "text"),
    ],
)
def test_parse_cell(raw: str, value, kind: str) -> None:
    v, k, _ = parse_cell(raw)
    assert (v, k) == (value, kind)


def test_money_units() -> None:
    assert to_10k_yuan(251000, "元") == 25.1
    assert to_10k_yuan(3, "亿元") == 30000
    assert to_10k_yuan(7.5, None) == 7.5
    assert to_10k_yuan(75394432.52, "元") == pytest.approx(7539.443252)


def test_decode_header_meta_sniff_order() -> None:
    html = PAGE.format(meta='<meta charset="gbk">')
    gbk = html.encode("gbk")
    assert decode(gbk, "text/html")[1] == "gb18030"  # meta
    assert decode(gbk, "text/html; charset=GB2312")[1] == "gb18030"  # header, GBK family → GB18030
    assert decode(gbk, "text/html; charset=iso-8859-1")[0] == html  # wrong header: mojibake overridden
    utf = PAGE.format(meta="").encode("utf-8")
    assert decode(utf, "text/html; charset=gbk") == (PAGE.format(meta=""), "utf-8")  # UTF-8 bytes win over a wrong header
    nodecl = PAGE.format(meta="").encode("gb18030")
    assert decode(nodecl)[0] == PAGE.format(meta="")  # sniffed
    assert decode("\ufeff文本".encode("utf-8"))[0] == "文本"


def test_gb18030_only_characters() -> None:
    text = PAGE.format(meta='<meta charset="gb2312">').replace("若干", "若干𠀀")  # outside GBK, inside GB18030
    assert decode(text.encode("gb18030"))[0] == text


@pytest.mark.parametrize("data", [b"", b"  \n ", b"\x00\x01\x02\x03" * 100, b"PK\x03\x04" + b"\x00" * 100])
def test_unreadable(data: bytes) -> None:
    with pytest.raises(UnreadableInput):
        extract(data)


def test_size_cap() -> None:
    from extractors.engine import extract as engine_extract

    with pytest.raises(UnreadableInput, match="too large"):
        engine_extract(b"<html>" + b"x" * 2000, max_bytes=1000)


@pytest.mark.parametrize(
    ("heading", "after", "number"),
    [("一、总体情况", 0, 1), ("二、总体情况", 0, 1), ("三、主动公开政府信息情况", 1, 2), ("四、收到和处理政府信息公开申请情况", 2, 3),
     ("五、政府信息公开行政复议、行政诉讼情况", 3, 4), ("六、存在的主要问题及改进情况", 4, 5), ("七、其他需要报告的事项", 5, 6),
     ("一、前言", 0, None), ("二、主动公开政府信息情况", 3, None)],
)
def test_section_by_text(heading: str, after: int, number) -> None:
    assert match_section(heading, after) == number


def test_heading_glued_to_text() -> None:
    html = ("<html><body><h1>某局2021年政府信息公开工作年度报告</h1><p>一、总体情况。本年度我局公开信息。</p>"
            "<p>二、主动公开政府信息情况</p><p>三、收到和处理政府信息公开申请情况</p><p>四、政府信息公开行政复议、行政诉讼情况</p>"
            "<p>五、存在的主要问题及改进情况</p><p>六、其他需要报告的事项</p><p>无。</p></body></html>")
    r = extract(html.encode())
    assert r.is_report and [s.number for s in r.sections] == [1, 2, 3, 4, 5, 6]
    assert r.sections[0].heading == "一、总体情况" and r.sections[0].text.startswith("本年度我局")
    assert r.template == "unknown" and {f.rule for f in r.findings} == {"table.missing"}


def test_deep_nesting_and_garbage_markup_never_crash() -> None:
    for html in ("<div>" * 5000 + "一、总体情况", "<table><tr><td rowspan=x colspan=-1>1</td></table>" * 50,
                 "<html><body><p>&#0;&#xD800;<script>alert(1)</script>"):
        r = extract(html.encode())
        assert r.is_report in (True, False)


def test_content_hash_ignores_chrome() -> None:
    from pathlib import Path

    data = (Path(__file__).parent / "fixtures" / "reports" / "trs-county-2019.html").read_bytes()
    a = extract(data)
    b = extract(data.replace("网站标识码：4113000001".encode(), "网站标识码：9999".encode()).replace(b"<li><a href=\"/index/\">", b"<li><a href=\"/home/\">"))
    assert a.content_hash() == b.content_hash()
    c = extract(data.replace("本机关未收取信息处理费。".encode(), "本机关收取信息处理费。".encode()))
    assert c.content_hash() != a.content_hash()


def test_mutated_pages_never_crash() -> None:
    """Truncations and byte flips of real-looking pages: a Report or UnreadableInput, nothing else."""
    from pathlib import Path

    from hypothesis import given, settings
    from hypothesis import strategies as st

    pages = [p.read_bytes() for p in sorted((Path(__file__).parent / "fixtures" / "reports").glob("*.html"))
             if p.stat().st_size < 20000]

    @settings(max_examples=60, deadline=None)
    @given(st.integers(0, len(pages) - 1), st.floats(0, 1), st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=20))
    def run(i: int, cut: float, flips: list[tuple[float, int]]) -> None:
        data = bytearray(pages[i][: max(1, int(len(pages[i]) * cut))])
        for pos, byte in flips:
            data[int(pos * (len(data) - 1))] = byte
        try:
            r = extract(bytes(data))
        except UnreadableInput:
            return
        assert r.is_report in (True, False)
        assert r.is_report or r.reason

    run()


def test_table_four_transposed_layout() -> None:
    """Some portals print table 四 as three rows × five outcome columns."""
    from extractors.tables import read_tables

    grid = [["", "结果维持", "结果纠正", "其他结果", "尚未审结", "总计"],
            ["行政复议", "1", "0", "0", "1", "2"],
            ["行政诉讼（未经复议直接起诉）", "0", "1", "", "0", "1"],
            ["行政诉讼（复议后起诉）", "/", "0", "0", "0", "0"]]
    reading = read_tables([(0, grid)])
    assert reading.tables[0].kind == "t4"
    got = {(f.row, f.col): f.value for f in reading.facts}
    assert len(got) == 15
    assert got[("review", "total")] == 2 and got[("litigation_direct", "corrected")] == 1
    assert got[("litigation_direct", "other")] == 0 and got[("litigation_after_review", "upheld")] is None


def test_heading_printed_as_table_caption_and_head_meta() -> None:
    html = ("<html><head><meta name='PubDate' content='2022-01-28 10:00'><meta name='ContentSource' content='某县审计局'></head>"
            "<body><h1>某县审计局2021年政府信息公开工作年度报告</h1><p>一、总体情况</p><p>二、主动公开政府信息情况</p>"
            "<table><tr><td colspan=2>三、收到和处理政府信息公开申请情况</td></tr><tr><td>第二十条第（一）项</td><td>1</td></tr></table>"
            "<p>四、政府信息公开行政复议、行政诉讼情况</p></body></html>")
    r = extract(html.encode())
    assert [s.number for s in r.sections] == [1, 2, 3, 4]
    assert r.published.isoformat() == "2022-01-28" and r.agency == "某县审计局"


def test_attachment_only_page_is_not_malformed_and_never_ok() -> None:
    """The page carries no numbers: it is a report we did not read here (not_parsed, naming the attachment), not a
    malformed one and never an ``ok`` report with zero facts (the pipeline reads the attachment as the report)."""
    html = ("<html><body><h1>某县林业局2022年政府信息公开工作年度报告</h1><div class='content'><p>详见附件。</p>"
            "<p><a href='/files/2022nb.pdf'>某县林业局2022年政府信息公开工作年度报告.pdf</a></p></div></body></html>")
    r = extract(html.encode(), url="http://www.x.gov.cn/lyj/gknb/t1.html")
    assert r.is_report and r.status == "not_parsed" and "http://www.x.gov.cn/files/2022nb.pdf" in r.unread
    assert r.attachments == ["http://www.x.gov.cn/files/2022nb.pdf"]
    assert [f.rule for f in r.findings] == ["report.attachment_only"]


def test_sections_numbered_like_sub_items() -> None:
    heads = ["（一）总体情况", "（二）主动公开政府信息情况", "（三）收到和处理政府信息公开申请情况",
             "（四）政府信息公开行政复议、行政诉讼情况", "（五）存在的主要问题及改进情况", "（六）其他需要报告的事项"]
    body = "".join(f"<p>{h}</p><p>正文{n}。</p>" for n, h in enumerate(heads))
    r = extract(f"<html><body><h1>某县统计局2021年政府信息公开工作年度报告</h1>{body}</body></html>".encode())
    assert [s.number for s in r.sections] == [1, 2, 3, 4, 5, 6]
    assert r.sections[2].heading == heads[2] and r.sections[2].text == "正文2。"


@pytest.mark.parametrize("cut_at", ["</table>", "</p>"])
def test_truncated_after_a_tag(cut_at: str) -> None:
    from pathlib import Path

    data = (Path(__file__).parent / "fixtures" / "reports" / "trs-county-2019.html").read_bytes()
    pos = data.find(cut_at.encode(), len(data) // 2) + len(cut_at)
    r = extract(data[:pos])
    assert not r.is_report and "truncated" in r.reason


def test_other_annual_reports_are_not_disclosure_reports() -> None:
    heads = ["一、总体情况", "二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况", "五、存在的主要问题及改进情况"]
    body = "".join(f"<p>{h}</p><p>正文。</p>" for h in heads)
    other = extract(f"<html><body><h1>某县2021年法治政府建设年度报告</h1>{body}</body></html>".encode())
    assert not other.is_report and "another subject" in other.reason
    ours = extract(f"<html><body><h1>某县2021年政府信息公开工作年度报告</h1>{body}</body></html>".encode())
    assert ours.is_report
    untitled = extract(f"<html><body><p>根据《中华人民共和国政府信息公开条例》，现公布本年度报告。</p>{body}</body></html>".encode())
    assert untitled.is_report
