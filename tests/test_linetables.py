"""The line grammar shared by the text and HTML readers (``extractors.linetables``) and table 二 geometry."""

from __future__ import annotations

import pytest

from extractors import extract
from extractors.grid import expand, geometry
from extractors.htmldoc import read_html
from extractors.linetables import BLANK, GLUED, PIPE, RULE, SPACED, TAB, TEXT, find_tables, line_kind
from extractors.tables import read_tables
from extractors.textdoc import read_text


@pytest.mark.parametrize("line, kind, cells", [
    ("规章\t0\t\t0", TAB, ["规章", "0", "", "0"]),
    ("| 规章 | 0 |  | 0 |", PIPE, ["规章", "0", "", "0"]),
    ("|---|:---:|---|", RULE, None),
    ("规章    0    0    0", SPACED, ["规章", "0", "0", "0"]),
    ("规章\u3000\u30000\u3000\u30001", SPACED, ["规章", "0", "1"]),
    ("一、本年新收政府信息公开申请数量    18 13 11 12 10 6 70", SPACED,
     ["一、本年新收政府信息公开申请数量", "18", "13", "11", "12", "10", "6", "70"]),
    ("（三）不予公开 1.属于国家秘密 230 000023", GLUED, ["（三）不予公开 1.属于国家秘密", "230", "000023"]),
    ("行政许可 120-3 35", GLUED, ["行政许可", "120", "-3", "35"]),
    ("0 0 2 0 2 2 3 2 1 8 0 0 1 0 1", GLUED, list("002022321800101")),
    ("10203120001200000", GLUED, ["10203120001200000"]),
    ("某某县人民政府办公室        2021年1月20日", SPACED, ["某某县人民政府办公室", "2021年1月20日"]),
    ("电话：0371-12345678", TEXT, None),
    ("全年共收到申请18件。", TEXT, None),
    ("2021", TEXT, None),
    ("   ", BLANK, None),
])
def test_line_kinds(line: str, kind: int, cells) -> None:
    assert line_kind(line) == (kind, cells)


def test_prose_and_signatures_stay_text() -> None:
    lines = ["本机关坚持以公开为常态    不公开为例外。", "某某县人民政府办公室        2021年1月20日", "联系电话：0371-12345678",
             "共公开信息 1234 条", "", "二〇二一年一月二十日"]
    assert find_tables(lines) == []
    assert find_tables(lines, official_only=True) == []


def test_text_table_two_blank_cells_and_rows_are_zero_facts() -> None:
    text = ("某县2020年政府信息公开工作年度报告\n二、主动公开政府信息情况\n第二十条第（一）项\t\t\t\n"
            "信息内容\t本年新制作数量\t本年新公开数量\t对外公开总数量\n规章\t\t\t\n规范性文件\t2\t\t9\n")
    reading = read_tables(read_text(text).tables)
    got = {(f.row, f.col): (f.value, f.raw, f.implicit_zero) for f in reading.facts}
    assert got[("regulations", "new_made")] == (0, "", True)
    assert len([k for k in got if k[0] == "regulations"]) == 3
    assert got[("normative_documents", "new_published")] == (0, "", True)
    assert got[("normative_documents", "total_published")] == (9, "9", False)


def test_spaced_blank_row_is_read_as_blanks() -> None:
    """A row label alone between spaced rows: the whole row was blank (its cells left no trace)."""
    text = ("第二十条第（五）项\n信息内容    上一年项目数量    本年增/减    处理决定数量\n行政许可\n"
            "其他对外管理服务事项    3    1    20\n")
    doc = read_text(text)
    reading = read_tables(doc.tables)
    got = {(f.row, f.col): f.value for f in reading.facts}
    assert got == {("administrative_license", "prev_year_items"): 0, ("administrative_license", "change"): 0,
                   ("administrative_license", "decisions"): 0, ("other_management_services", "prev_year_items"): 3,
                   ("other_management_services", "change"): 1, ("other_management_services", "decisions"): 20}
    assert [rule for rule, _ in reading.notes] == ["cells.decoded"]
    assert doc.tables[0].row_locs == ["l1", "l2", "l3", "l4"]


def test_pipe_rule_line_is_dropped_and_pre_lines_are_blocks() -> None:
    html = ("<html><body><pre>第二十条第（一）项\n信息内容    本年新制作数量    本年新公开数量    对外公开总数量\n"
            "规章          0               0               0\n规范性文件    2               2               9\n</pre>"
            "<p>| 第二十条第（五）项 | | | |</p><p>|---|---|---|---|</p><p>| 信息内容 | 上一年项目数量 | 本年增/减 | 处理决定数量 |</p>"
            "<p>| 行政许可 | 5 | -1 | 30 |</p></body></html>")
    doc = read_html(html)
    assert [t.source for t in doc.tables] == ["html-text"]  # consecutive lines: one table 二 of two blocks
    assert all("---" not in (c or "") for t in doc.tables for r in t.grid for c in r)
    got = {(f.row, f.col): f.value for f in read_tables(doc.tables).facts}
    assert got[("normative_documents", "total_published")] == 9 and got[("administrative_license", "change")] == -1
    assert doc.tables[0].row_locs[:4] == ["l1", "l2", "l3", "l4"]
    assert len(doc.tables[0].grid) == 7


def test_word_paragraphs_with_nbsp_are_not_tables() -> None:
    """Word exports indent with &nbsp; / full-width spaces and break lines in the source: never a text table."""
    html = ("<html><body><p class=MsoNormal>&nbsp;&nbsp;&nbsp;&nbsp;一、总体情况</p>"
            "<p class=MsoNormal>\u3000\u30002021年，本机关认真贯彻落实《条例》，\r\n    坚持以公开为常态。</p>"
            "<p>发布日期：2022-01-20&nbsp;&nbsp;&nbsp;&nbsp;浏览次数：12</p><p>12</p><p>2022年1月20日</p></body></html>")
    doc = read_html(html)
    assert doc.tables == [] and len(doc.blocks) == 5


def test_links_after_a_text_table_keep_their_blocks() -> None:
    rows = "".join(f"<p>{label}\t{v}\t{v}\t{v}</p>" for label, v in (("规章", 0), ("规范性文件", 3)))
    html = (f"<html><body><h1>某县2021年政府信息公开工作年度报告</h1><p>二、主动公开政府信息情况</p><p>第二十条第（一）项</p>"
            f"<p>信息内容\t本年制发件数\t本年废止件数\t现行有效件数</p>{rows}"
            "<p>附件：<a href='/files/report.pdf'>年度报告.pdf</a></p><p><img src='/img/t3.png'></p></body></html>")
    doc = read_html(html)
    kinds = [(b.table is not None, b.text) for b in doc.blocks]
    assert kinds[2][0] and len(doc.tables) == 1
    assert doc.blocks[doc.links[0].block].text.startswith("附件")
    assert doc.images[0].block == len(doc.blocks) - 1 or doc.blocks[doc.images[0].block - 1].text.startswith("附件")


def test_geometry_places_cells_by_drawn_width() -> None:
    # header: 信息内容 100 | 新制作 184 | 新公开 142 | 总数 142; data: 规章 142 | v 142 | v 142 | v 142 (+ placeholder row)
    spans = [[1, 2, 1, 1], [2, 1, 1, 1], [1, 1, 1, 1, 1]]
    widths = [100.0, 184.0, 142.0, 142.0, 142.0, 142.0, 142.0, 142.0, 100.0, 42.0, 142.0, 142.0, 142.0]
    anchors: list = []
    expand([[("", 1, cs) for cs in row] for row in spans], anchors)
    g = geometry(anchors, widths, 3)
    assert g[0][1] == (1, 3, 100.0, 284.0) and g[1][1] == (2, 3, 142.0, 284.0)
    assert g[1][0] == (0, 2, 0.0, 142.0)
    # a rowspan cell covers the rows below it; without widths every column is 1 wide
    anchors = []
    expand([[("a", 2, 1), ("b", 1, 1)], [("c", 1, 1)]], anchors)
    assert geometry(anchors, [None] * 3, 2) == [[(0, 1, 0.0, 1.0), (1, 2, 1.0, 2.0)], [(0, 1, 0.0, 1.0), (1, 2, 1.0, 2.0)]]


def test_word_table_two_with_crooked_header_reads_each_column() -> None:
    """The header cell 本年新制作数量 starts under the label cell (its first grid column holds 规章): by position it
    got no value; by geometry it gets the value drawn under it."""
    td = '<td width="{w}"{span}><p>{t}</p></td>'

    def tr(cells):
        return "<tr>" + "".join(td.format(w=w, span=f' colspan="{s}"' if s > 1 else "", t=t) for t, w, s in cells) + "</tr>"
    table = ("<table>" + tr([("第二十条第（一）项", 568, 5)])
             + tr([("信息内容", 100, 1), ("本年新制作数量", 184, 2), ("本年新公开数量", 142, 1), ("对外公开总数量", 142, 1)])
             + tr([("规章", 142, 2), ("1", 142, 1), ("2", 142, 1), ("3", 142, 1)])
             + tr([("规范性文件", 142, 2), ("4", 142, 1), ("&nbsp;", 142, 1), ("6", 142, 1)]) + "</table>")
    doc = read_html(f"<html><body>{table}</body></html>")
    assert doc.tables[0].geometry is not None
    got = {(f.row, f.col): (f.value, f.implicit_zero) for f in read_tables(doc.tables).facts}
    assert got == {("regulations", "new_made"): (1, False), ("regulations", "new_published"): (2, False),
                   ("regulations", "total_published"): (3, False), ("normative_documents", "new_made"): (4, False),
                   ("normative_documents", "new_published"): (0, True), ("normative_documents", "total_published"): (6, False)}


def test_glued_text_report_end_to_end() -> None:
    from pathlib import Path

    text = Path("tests/fixtures/fidelity/glued/text-glued-2019.txt").read_text(encoding="utf-8")
    r = extract(text.encode("utf-8"), filename="r.txt")
    decoded = [f for f in r.findings if f.rule == "cells.decoded"]
    assert decoded and all(f.severity == "warning" and "read as" in f.message for f in decoded)
    assert r.status == "ok"


def test_hostile_line_tables_stay_fast() -> None:
    """Thousands of row-like lines, lone row labels and value paragraphs: linear, no recursion, no explosion."""
    import time

    from extractors.linetables import find_tables

    lines = (["二、主动公开政府信息情况", "第二十条第（一）项", "信息内容    本年新制作数量    本年新公开数量    对外公开总数量"]
             + ["规章"] * 5000 + ["规范性文件    1    2    3"] + ["1.属于国家秘密 " + "0" * 150] * 2000 + ["7"] * 5000
             + ["\t".join(["0"] * 50)] * 2000)
    t0 = time.process_time()
    tables = find_tables(lines)
    assert time.process_time() - t0 < 5.0
    assert tables and all(t.start < t.end for t in tables)
    html = "<html><body>" + "<p>0</p>" * 20000 + "".join(f"<p>规章\t{i}\t{i}\t{i}</p>" for i in range(3000)) + "</body></html>"
    t0 = time.process_time()
    r = extract(html.encode("utf-8"))
    assert time.process_time() - t0 < 10.0
    assert "extractor error" not in (r.reason or "")
