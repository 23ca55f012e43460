"""Text-laid and Word-export producers: one report, pasted the way CMS editors and other software paste it.

Each producer is a pure function ``ReportSpec -> bytes`` (same spec, same bytes): the report's paragraphs and
tables come from :func:`sample_portal.reportdoc.report_blocks` (the Word-export page the sample portal serves,
read back), so every value is known from :func:`sample_portal.reportgen.expected_facts`.  None of them is the
portal's own rendering:

=========================  ========================================================================================
``html_p_tabs``            a CMS page, every table row one ``<p>`` with its cells separated by tab characters
                           (a paste from Excel into an editor that keeps tabs); merged cells once, at their corner
``html_p_nbsp``            every row one ``<p>``, cells separated by ``&nbsp;&nbsp;&nbsp;&nbsp;`` (UEditor's paste)
``html_p_ideographic``     every row one ``<p>``, cells separated by full-width spaces (U+3000)
``html_br_spaces``         the whole article in one ``<div>``, one ``<br>`` line per row, cells separated by runs
                           of spaces (an old editor's plain-text mode)
``html_pre``               the tables as a ``<pre>`` block of fixed-width columns (a text file pasted as code)
``html_pipe``              every row one ``<p>`` of a markdown pipe table (``| 规章 | 0 | 0 | 0 |``, ``|---|`` rule)
``html_cell_per_p``        every table cell its own ``<p>``, in reading order, no separators at all (a table
                           copied out of Word into a plain editor)
``html_p_glued``           every row one ``<p>``, the label then the numbers copied from a PDF: single spaces
                           between some cells, others run together ("1.属于国家秘密 230 000023")
``text_glued``             the same as a .txt file (text copied out of a PDF viewer)
``text_glued_ambiguous``   a .txt in which some rows are printed so that two readings fit (decoded → null)
``text_spaced_blanks``     a .txt whose tables lost their tabs (runs of spaces): blank cells leave no trace
``text_tabs``              a .txt as Word's "save as plain text" writes it: one paragraph a line, each table row
                           one line of tab-separated cells (blank cells kept), merged cells once, at their corner
``word_t2_crooked``        a Word export whose table 二 has a misaligned grid (header and data cells of different
                           widths: Word's ``supportMisalignedColumns`` placeholder row, merged label cells, an
                           extra empty column), tables 三/四 as the portal prints them
``word_t2_blank``          a Word export whose table 二 prints zeros as blank / ``&nbsp;`` cells, one whole row blank
=========================  ========================================================================================

In the glued producers a random generator seeded by the spec decides which numbers touch (run together).
``python -m tests.producers.html_text`` rewrites ``tests/fixtures/fidelity/{html-text,t2,glued}/`` and their
``.json`` (:func:`fixtures`; the expected values are the spec's, cells that cannot be given back are listed with
two readings that print the same text).
"""

from __future__ import annotations

import html
import json
import random
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sample_portal import reportgen
from sample_portal.reportdoc import SpanTable, report_blocks
from sample_portal.reportgen import ReportSpec, expected_facts

Producer = Callable[[ReportSpec], bytes]
_HEADING = ("一、", "二、", "三、", "四、", "五、", "六、")


def _esc(s: str) -> str:
    return html.escape(s, quote=False)


def _is_heading(text: str) -> bool:
    return text.startswith(_HEADING) and len(text) <= 40


def _corner_rows(t: SpanTable) -> list[list[str]]:
    """Rows as a text copy of the table gives them: each merged cell's text once, at its top-left corner."""
    g = [[""] * t.n_cols for _ in range(t.n_rows)]
    for c in t.cells:
        g[c.row][c.col] = c.text
    return g


def _date(spec: ReportSpec) -> str:
    return f"{spec.year + 1}-01-{10 + spec.seed % 18:02d}"


def _page(spec: ReportSpec, body: str, *, cms: str = "trs") -> bytes:
    """A county portal's article page around ``body`` (navigation, article head, print links, footer)."""
    site = f"{spec.county}人民政府"
    content = {"trs": ('<div class="TRS_Editor">', "</div>"), "hanweb": ('<div id="zoom">', "</div>"),
               "plain": ('<div class="article-content">', "</div>")}[cms]
    page = f"""<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>{_esc(spec.title)}_{_esc(site)}</title>
<meta name="SiteName" content="{_esc(site)}">
<link rel="stylesheet" href="/css/style.css">
</head>
<body>
<div class="topnav"><ul><li><a href="/">首页</a></li><li><a href="/zwgk/">政务公开</a></li><li><a href="/bsfw/">办事服务</a></li><li><a href="/hdjl/">互动交流</a></li></ul></div>
<div class="position">当前位置：<a href="/">首页</a> &gt; <a href="/zwgk/">政府信息公开</a> &gt; <a href="/zwgk/ndbg/">政府信息公开年报</a></div>
<div class="article">
<h1 class="title">{_esc(spec.title)}</h1>
<div class="info">来源：{_esc(spec.agency)}\u3000发布时间：{_date(spec)}\u3000浏览次数：<span id="hits">128</span></div>
{content[0]}
{body}
{content[1]}
<div class="article-tools">【<a href="javascript:window.print()">打印本页</a>】【<a href="javascript:window.close()">关闭窗口</a>】</div>
</div>
<div class="footer"><p>版权所有：{_esc(site)}\u3000主办：{_esc(site)}办公室</p><p>网站标识码：{3400000000 + spec.seed}</p></div>
</body>
</html>
"""
    return page.encode("utf-8")


def _paras(spec: ReportSpec, table: Callable[[int, SpanTable], str]) -> str:
    """Paragraphs as ``<p>`` (headings bold), each table rendered by ``table(n, t)``."""
    out: list[str] = []
    n = 0
    for b in report_blocks(spec):
        if isinstance(b, SpanTable):
            out.append(table(n, b))
            n += 1
        elif _is_heading(b):
            out.append(f"<p><strong>{_esc(b)}</strong></p>")
        else:
            out.append(f'<p style="text-indent:2em">{_esc(b)}</p>')
    return "\n".join(out)


# ------------------------------------------------------------------------------------------- one row per line


def _row_lines(t: SpanTable, sep: str, *, keep_empty: bool) -> list[str]:
    rows = _corner_rows(t)
    if keep_empty:
        return [sep.join(r) for r in rows]
    return [sep.join(c for c in r if c) for r in rows if any(r)]


def html_p_tabs(spec: ReportSpec) -> bytes:
    def table(_: int, t: SpanTable) -> str:
        return "\n".join(f"<p>{_esc(line)}</p>" for line in _row_lines(t, "\t", keep_empty=True))
    return _page(spec, _paras(spec, table))


def html_p_nbsp(spec: ReportSpec) -> bytes:
    def table(_: int, t: SpanTable) -> str:
        return "\n".join("<p>" + "&nbsp;&nbsp;&nbsp;&nbsp;".join(_esc(c) for c in line.split("\x00")) + "</p>"
                         for line in _row_lines(t, "\x00", keep_empty=False))
    return _page(spec, _paras(spec, table), cms="hanweb")


def html_p_ideographic(spec: ReportSpec) -> bytes:
    def table(_: int, t: SpanTable) -> str:
        return "\n".join(f'<p style="text-align:left">{_esc(line)}</p>'
                         for line in _row_lines(t, "\u3000\u3000", keep_empty=False))
    return _page(spec, _paras(spec, table))


def html_br_spaces(spec: ReportSpec) -> bytes:
    lines: list[str] = []
    for b in report_blocks(spec):
        if isinstance(b, SpanTable):
            lines += [_esc(x) for x in _row_lines(b, "    ", keep_empty=False)]
        else:
            lines.append(("&#12288;&#12288;" if not _is_heading(b) else "") + _esc(b))
    body = '<div style="line-height:2">' + "<br>\n".join(lines) + "<br></div>"
    return _page(spec, body, cms="plain")


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _fixed(t: SpanTable) -> list[str]:
    """The table as fixed-width text: each column padded to its widest cell, two spaces between columns."""
    rows = _corner_rows(t)
    widths = [max(_width(r[c]) for r in rows) for c in range(t.n_cols)]
    out = []
    for r in rows:
        cells = [c + " " * (widths[k] - _width(c)) for k, c in enumerate(r)]
        out.append("  ".join(cells).rstrip())
    return out


def html_pre(spec: ReportSpec) -> bytes:
    def table(_: int, t: SpanTable) -> str:
        return '<pre style="font-family:SimSun">' + _esc("\n".join(_fixed(t))) + "</pre>"
    return _page(spec, _paras(spec, table))


def html_pipe(spec: ReportSpec) -> bytes:
    def table(_: int, t: SpanTable) -> str:
        rows = _corner_rows(t)
        lines = ["| " + " | ".join(r) + " |" for r in rows]
        lines.insert(1, "|" + "|".join(["---"] * t.n_cols) + "|")
        return "\n".join(f"<p>{_esc(x)}</p>" for x in lines)
    return _page(spec, _paras(spec, table), cms="plain")


def html_cell_per_p(spec: ReportSpec) -> bytes:
    def table(_: int, t: SpanTable) -> str:
        cells = sorted(t.cells, key=lambda c: (c.row, c.col))
        return "\n".join(f'<p align="center">{_esc(c.text)}</p>' if c.text else '<p align="center">&nbsp;</p>'
                         for c in cells)
    return _page(spec, _paras(spec, table))


# ------------------------------------------------------------------------------------------- glued (PDF copy)


def _is_number(c: str) -> bool:
    return c.lstrip("-").replace(".", "", 1).isdigit()


def _glued_line(cells: list[str], rng: random.Random, glue: float, block: int = 0) -> str:
    """A row as a PDF viewer copies it: the labels, a space, then the numbers; two numbers touch (no space
    between them) with probability ``glue`` — narrow columns (tables 三/四) glue, table 二's wide ones do not,
    and the wide gap between table 四's blocks (行政复议 | 未经复议 | 复议后) always gives a space (``block=5``)."""
    labels = [c for c in cells if c and not _is_number(c)]
    values = [c for c in cells if c and _is_number(c)]
    if not values:
        return " ".join(labels)
    out = values[0]
    for i, v in enumerate(values[1:], 1):
        out += ("" if rng.random() < glue and not (block and i % block == 0) else " ") + v
    return (" ".join(labels) + " " + out).strip() if labels else out


def _glued_lines(spec: ReportSpec, glue: float = 0.7) -> list[str]:
    rng = random.Random(spec.seed * 31 + 7)
    lines: list[str] = []
    n = 0
    for b in report_blocks(spec):
        if isinstance(b, SpanTable):
            for r in _corner_rows(b):
                if any(r):
                    lines.append(_glued_line(r, rng, 0.0 if n == 0 else glue, 5 if n == 2 else 0))
            n += 1
        else:
            lines.append(b)
    return lines


#: table 四's one row as the ambiguous producer prints it: pieces of 3, 4, 5 and 3 cells run together
_T4_PIECES = (3, 4, 5, 3)


def text_glued_ambiguous(spec: ReportSpec) -> bytes:
    """A PDF copy in which some rows cannot be cut back into cells in one way only.

    Every cell is separated by a space except: table 二's 规范性文件 row runs its numbers together (no identity
    can tell "2229" = 2·2·29 from 2·22·9); the （五）不予处理 rows print their zeros blank (a row with one
    application shows "1 1": in which column?); （一）予以公开 runs together (its totals decide it); table 四's
    row runs together in pieces of 3/4/5/3 cells ("000 0000 30300 000": 3·0·3 or 30·_·30?)."""
    rng = random.Random(spec.seed)
    lines: list[str] = []
    n = 0
    for b in report_blocks(spec)[1:]:
        if not isinstance(b, SpanTable):
            lines.append(b)
            continue
        group = ""
        for r in _corner_rows(b):
            if not any(r):
                continue
            labels = [c for c in r if c and not _is_number(c)]
            values = [c for c in r if c and _is_number(c)]
            label = " ".join(labels)
            group = next((g for g in ("不予公开", "无法提供", "不予处理", "其他处理", "总计") if g in label), group)
            if n == 0 and label.endswith("规范性文件"):
                lines.append(f"{label} {''.join(values)}")
            elif n == 1 and group == "不予处理":
                lines.append(" ".join([label, *(v for v in values if v != "0")]))
            elif n == 1 and label.endswith("予以公开"):
                lines.append(f"{label} {''.join(values)}")
            elif n == 2 and len(values) == 15:
                pieces, k = [], 0
                for size in _T4_PIECES:
                    pieces.append("".join(values[k:k + size]))
                    k += size
                lines.append(" ".join(pieces))
            else:
                lines.append(_glued_line(r, rng, 0.0))
        n += 1
    return ("\n".join([spec.title, "", *lines]) + "\n").encode("utf-8")


def html_p_glued(spec: ReportSpec) -> bytes:
    return _page(spec, "\n".join(f"<p>{_esc(x)}</p>" for x in _glued_lines(spec)))


def text_glued(spec: ReportSpec) -> bytes:
    return ("\n".join([spec.title, "", *_glued_lines(spec)[1:]]) + "\n").encode("utf-8")


def text_spaced_blanks(spec: ReportSpec) -> bytes:
    lines: list[str] = []
    for b in report_blocks(spec)[1:]:
        if isinstance(b, SpanTable):
            lines += _row_lines(b, "    ", keep_empty=False)
        else:
            lines.append(b)
        lines.append("")
    return ("\n".join([spec.title, "", *lines])).encode("utf-8")


def text_tabs(spec: ReportSpec) -> bytes:
    lines: list[str] = []
    for b in report_blocks(spec):
        lines += _row_lines(b, "\t", keep_empty=True) if isinstance(b, SpanTable) else [b]
    return ("\n".join(lines) + "\n").encode("utf-8")


# ------------------------------------------------------------------------------------------- Word exports of table 二


@dataclass(frozen=True)
class _WCell:
    text: str
    width: int  # drawn width in pixels (Word's ``width`` attribute)


def _word_td(c: _WCell, colspan: int) -> str:
    span = f' colspan="{colspan}"' if colspan > 1 else ""
    inner = (f'<span style="font-size:10.5pt;font-family:宋体">{_esc(c.text)}</span>' if c.text
             else '<span lang="EN-US" style="font-size:10.5pt"><o:p>&nbsp;</o:p></span>')
    return (f'<td width="{c.width}"{span} valign="center" style="width:{c.width * 0.75:.1f}pt;border:solid windowtext 1.0pt;'
            f'padding:0cm 5.4pt 0cm 5.4pt"><p class="MsoNormal" align="center" style="text-align:center">{inner}</p></td>')


def word_misaligned_table(rows: list[list[_WCell]], width: int = 568) -> str:
    """A Word table whose rows have their own cell boundaries: the grid is the union of all boundaries, each
    cell spans the grid columns it covers, and a ``height=0`` placeholder row gives every column's width (what
    Word writes under ``<![if !supportMisalignedColumns]>``).  Every row is made flush with ``width``."""
    rows = [r[:-1] + [_WCell(r[-1].text, r[-1].width + width - sum(c.width for c in r))] for r in rows]
    edges = sorted({x for r in rows for x in _edges(r)})
    trs = []
    for i, r in enumerate(rows):
        x = 0
        tds = []
        for c in r:
            a, b = edges.index(x), edges.index(x + c.width)
            tds.append(_word_td(c, b - a))
            x += c.width
        trs.append(f'<tr style="mso-yfti-irow:{i};height:20.0pt">{"".join(tds)}</tr>')
    placeholder = "".join(f'<td width="{b - a}" style="border:none"></td>' for a, b in zip(edges, edges[1:]))
    trs.append(f'<![if !supportMisalignedColumns]><tr height="0">{placeholder}</tr><![endif]>')
    return ('<div align="center"><table class="MsoNormalTable" border="1" cellspacing="0" cellpadding="0" '
            f'width="{edges[-1]}" style="border-collapse:collapse;border:none"><tbody>{"".join(trs)}</tbody></table></div>')


def _edges(r: list[_WCell]) -> list[int]:
    out, x = [0], 0
    for c in r:
        x += c.width
        out.append(x)
    return out


def _t2_spec_rows(spec: ReportSpec) -> list[tuple[str, list[str], list[tuple[str, str, list[str]]]]]:
    """Table 二 as (block title, header labels, [(row label, row key, col keys)])."""
    if spec.template == "2019":
        c1, c5 = ["new_made", "new_published", "total_published"], ["prev_year_items", "change", "decisions"]
        return [
            ("第二十条第（一）项", ["本年新制作数量", "本年新公开数量", "对外公开总数量"],
             [("规章", "regulations", c1), ("规范性文件", "normative_documents", c1)]),
            ("第二十条第（五）项", ["上一年项目数量", "本年增/减", "处理决定数量"],
             [("行政许可", "administrative_license", c5), ("其他对外管理服务事项", "other_management_services", c5)]),
            ("第二十条第（六）项", ["上一年项目数量", "本年增/减", "处理决定数量"],
             [("行政处罚", "administrative_penalty", c5), ("行政强制", "administrative_coercion", c5)]),
            ("第二十条第（八）项", ["上一年项目数量", "本年增/减"],
             [("行政事业性收费", "administrative_fees", ["prev_year_items", "change"])]),
            ("第二十条第（九）项", ["采购项目数量", "采购总金额"],
             [("政府集中采购", "centralized_procurement", ["projects", "amount_10k_yuan"])]),
        ]
    c1 = ["issued", "repealed", "in_force"]
    return [
        ("第二十条第（一）项", ["本年制发件数", "本年废止件数", "现行有效件数"],
         [("规章", "regulations", c1), ("行政规范性文件", "normative_documents", c1)]),
        ("第二十条第（五）项", ["本年处理决定数量"], [("行政许可", "administrative_license", ["decisions"])]),
        ("第二十条第（六）项", ["本年处理决定数量"],
         [("行政处罚", "administrative_penalty", ["decisions"]), ("行政强制", "administrative_coercion", ["decisions"])]),
        ("第二十条第（八）项", ["本年收费金额（单位：万元）"], [("行政事业性收费", "administrative_fees", ["amount_10k_yuan"])]),
    ]


def _fmt(v) -> str:
    return reportgen._fmt(v)


#: How the header and the data rows of a block are drawn in the crooked export, by number of value columns:
#: (header widths: label then values, data widths: label, [extra empty cell], values).  Every layout puts a
#: header cell's first grid column over another cell than the value it names.
_CROOKED = {
    3: [((100, 184, 142, 142), (142, None, 142, 142, 142)),  # 信息内容 narrower than the labels: 新制作数量 starts under 规章
        ((142, 142, 142, 142), (100, 42, 142, 142, 142)),  # an extra empty column between label and values
        ((142, 142, 142, 142), (142, None, 158, 126, 142))],  # a dragged border: the first value reaches under the second header
    2: [((100, 226, 242), (142, None, 184, 242)),
        ((142, 142, 284), (142, None, 142, 242, 42))],  # the last value cell followed by an empty sliver
    1: [((100, 468), (184, None, 384))],
}


def word_t2_crooked(spec: ReportSpec) -> bytes:
    f = expected_facts(spec)
    rows: list[list[_WCell]] = []
    for n, (title, heads, data) in enumerate(_t2_spec_rows(spec)):
        head_w, data_w = _CROOKED[len(heads)][n % len(_CROOKED[len(heads)])]
        rows.append([_WCell(title, 568)])
        rows.append([_WCell("信息内容", head_w[0])] + [_WCell(h, w) for h, w in zip(heads, head_w[1:])])
        for label, key, cols in data:
            cells = [_WCell(label, data_w[0])]
            if data_w[1] is not None:
                cells.append(_WCell("", data_w[1]))
            widths = list(data_w[2:])
            for col, w in zip(cols, widths):
                cells.append(_WCell(_fmt(f[("t2", key, col)]), w))
            cells += [_WCell("", w) for w in widths[len(cols):]]
            rows.append(cells)
    return _word_page(spec, word_misaligned_table(rows))


def word_t2_blank(spec: ReportSpec) -> bytes:
    """Zeros of table 二 printed blank (``&nbsp;`` or nothing), the whole 规章 row blank."""
    f = expected_facts(spec)
    rows: list[list[_WCell]] = []
    for title, heads, data in _t2_spec_rows(spec):
        rows.append([_WCell(title, 568)])
        w = 426 // len(heads)
        rows.append([_WCell("信息内容", 142)] + [_WCell(h, w) for h in heads])
        for label, key, cols in data:
            cells = [_WCell(label, 142)]
            for col in cols:
                v = f[("t2", key, col)]
                cells.append(_WCell("" if v == 0 else _fmt(v), w))
            rows.append(cells)
    return _word_page(spec, word_misaligned_table(rows))


def _word_page(spec: ReportSpec, t2_html: str) -> bytes:
    """The portal's Word-export body with table 二 replaced."""
    body = reportgen.render_body(spec)
    start = body.index('<div align="center"><table class="MsoNormalTable"')
    end = body.index("</table></div>", start) + len("</table></div>")
    return _page(spec, body[:start] + t2_html + body[end:], cms="hanweb")


# ------------------------------------------------------------------------------------------- the committed fixtures

ROOT = Path(__file__).resolve().parent.parent / "fixtures" / "fidelity"


@dataclass
class Fixture:
    """One committed fixture: where it goes, how it is made, and what differs from the spec's own values."""

    path: str  # relative to tests/fixtures/fidelity
    kind: str
    producer: Producer
    spec: ReportSpec
    findings: list[str] = field(default_factory=list)
    #: cells the page cannot give back (printed ambiguously): expected null
    unread: list[tuple[str, str, str]] = field(default_factory=list)
    implicit_zero: int | None = None
    raws: dict[str, str] = field(default_factory=dict)
    #: rows printed so that two readings fit: {"cells": [[table, row, col] …], "printed": …, "readings": [[…], […]]}
    #: (null = a blank that left no trace); the test proves each reading prints the same and satisfies the totals
    ambiguous: list[dict] = field(default_factory=list)

    @property
    def filename(self) -> str:
        return Path(self.path).name

    def data(self) -> bytes:
        return self.producer(self.spec)

    def expected(self) -> dict:
        spec = self.spec
        facts: dict[tuple[str, str, str], float | int | None] = dict(expected_facts(spec))
        for key in self.unread:
            facts[key] = None
        tables: dict[str, dict[str, dict[str, float | int | None]]] = {"t2": {}, "t3": {}, "t4": {}}
        for (t, row, col), v in facts.items():
            tables[t].setdefault(row, {})[col] = v
        errors = any(r in ("t3.balance", "t3.row_total", "t3.handled_sum", "t4.block_total", "table.missing")
                     for r in self.findings)
        return {
            "kind": self.kind,
            "is_report": True,
            "reason_contains": None,
            "content_type": None,
            "filename": self.filename if self.filename.endswith(".txt") else None,
            "title": spec.title,
            "year": spec.year,
            "template": spec.template,
            "sections": [1, 2, 3, 4, 5, 6],
            "status": "malformed" if errors else "ok",
            "t2": tables["t2"],
            "t3": tables["t3"],
            "t4": tables["t4"],
            "findings": sorted(set(self.findings)),
            "published": None if self.filename.endswith(".txt") else _date(spec),
            "agency": spec.agency,
            "encoding": "utf-8",
            "raws": self.raws,
            "implicit_zero": self.implicit_zero,
            "ambiguous": self.ambiguous,
        }


def _spec(county: str, issuer: str, year: int, template: str, seed: int, **kw) -> ReportSpec:
    return ReportSpec(county=county, issuer=issuer, year=year, template=template, seed=seed, **kw)  # type: ignore[arg-type]


def _zero_t2_row(spec: ReportSpec, row: str) -> ReportSpec:
    for key in list(spec.facts):
        if key[0] == "t2" and key[1] == row:
            spec.facts[key] = 0
    return spec


def _t2_zeros(spec: ReportSpec) -> int:
    return sum(1 for k, v in spec.facts.items() if k[0] == "t2" and v == 0)


_APPLICANTS = reportgen.APPLICANTS


def _set_t3_row(spec: ReportSpec, row: str, values: dict[str, int]) -> None:
    """Give a table 三 row new values and restore every identity (总计, （七）总计, 一 = （七） + 四 − 二)."""
    f = spec.facts
    for col in _APPLICANTS:
        f[("t3", row, col)] = values.get(col, 0)
    f[("t3", row, "total")] = sum(values.values())
    for col in (*_APPLICANTS, "total"):
        handled = sum(int(f[("t3", r, col)]) for r in reportgen.t3_outcome_rows(spec.template))
        f[("t3", "total_handled", col)] = handled
        f[("t3", "new_received", col)] = handled + int(f[("t3", "carried_forward", col)]) - int(f[("t3", "carried_over", col)])


def _ambiguous_fixture() -> Fixture:
    spec = _spec("柳河县", "县人力资源和社会保障局", 2020, "2019", 27)
    f = spec.facts
    f[("t2", "normative_documents", "new_made")] = f[("t2", "normative_documents", "new_published")] = 2
    f[("t2", "normative_documents", "total_published")] = 29
    for row in ("rejected_complaint", "rejected_massive", "rejected_confirmation"):
        _set_t3_row(spec, row, {})
    _set_t3_row(spec, "rejected_duplicate", {"natural_person": 1})
    _set_t3_row(spec, "rejected_publication", {"commercial": 1})
    for row in reportgen.T4_ROWS:
        for col in reportgen.T4_COLS:
            f[("t4", row, col)] = 0
    f[("t4", "litigation_direct", "other")] = f[("t4", "litigation_direct", "total")] = 3
    t2 = [("t2", "normative_documents", c) for c in ("new_made", "new_published", "total_published")]
    t3 = [("t3", r, c) for r in ("rejected_duplicate", "rejected_publication") for c in reportgen.T3_COLS]
    t4 = [("t4", r, c) for r in reportgen.T4_ROWS for c in reportgen.T4_COLS]
    one, none = [1, None, None, None, None, None, 1], [None, 1, None, None, None, None, 1]
    return Fixture(
        "glued/text-glued-ambiguous-2020.txt", "text-glued", text_glued_ambiguous, spec,
        findings=["cells.ambiguous", "cells.decoded", "value.implicit_zero", "value.unreadable"],
        unread=t2 + t3 + t4, implicit_zero=21,
        ambiguous=[
            {"cells": t2, "printed": "2229", "readings": [[2, 2, 29], [2, 22, 9]]},
            {"cells": t3, "printed": "1 1 1 1", "readings": [one + none, none + one]},
            {"cells": t4, "printed": "000 0000 30300 000",
             "readings": [[0, 0, 0, 0, 0, 0, 0, 3, 0, 3, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 30, None, 30, 0, 0, 0, 0, None]]},
        ])


def fixtures() -> list[Fixture]:
    out = [
        Fixture("html-text/p-tabs-2019.html", "html-p-tabs", html_p_tabs, _spec("青山县", "县人民政府办公室", 2019, "2019", 11)),
        Fixture("html-text/p-nbsp-2021.html", "html-p-nbsp", html_p_nbsp, _spec("白水县", "县教育局", 2021, "2021", 12)),
        Fixture("html-text/p-ideographic-2022.html", "html-p-ideographic", html_p_ideographic,
                _spec("石门县", "县自然资源局", 2022, "2021", 13)),
        Fixture("html-text/br-spaces-2020.html", "html-br-spaces", html_br_spaces, _spec("东山县", "县卫生健康委员会", 2020, "2019", 14)),
        Fixture("html-text/pre-2021.html", "html-pre", html_pre, _spec("南岭县", "县人民政府", 2021, "2021", 15)),
        Fixture("html-text/pipe-2020.html", "html-pipe", html_pipe, _spec("西河县", "县财政局", 2020, "2019", 16)),
        Fixture("html-text/cell-per-p-2019.html", "html-cell-per-p", html_cell_per_p, _spec("北川县", "县民政局", 2019, "2019", 17)),
        Fixture("html-text/cell-per-p-2022.html", "html-cell-per-p", html_cell_per_p, _spec("云溪县", "城关镇人民政府", 2022, "2021", 18)),
        Fixture("t2/word-t2-crooked-2019.html", "word-html-t2-crooked", word_t2_crooked, _spec("河口县", "县交通运输局", 2019, "2019", 19)),
        Fixture("t2/word-t2-crooked-2020.html", "word-html-t2-crooked", word_t2_crooked, _spec("清溪县", "县人民政府办公室", 2020, "2019", 20)),
        Fixture("t2/word-t2-crooked-2021.html", "word-html-t2-crooked", word_t2_crooked, _spec("长乐县", "县市场监督管理局", 2021, "2021", 21)),
    ]
    blank19 = _zero_t2_row(_spec("平安县", "县司法局", 2020, "2019", 22), "administrative_license")
    blank21 = _zero_t2_row(_spec("永和县", "县水利局", 2023, "2021", 23), "normative_documents")
    out += [
        Fixture("t2/t2-blank-2020.html", "t2-blank", word_t2_blank, blank19, findings=["value.implicit_zero"],
                implicit_zero=_t2_zeros(blank19), raws={"t2/administrative_license/decisions": ""}),
        Fixture("t2/t2-blank-2023.html", "t2-blank", word_t2_blank, blank21, findings=["value.implicit_zero"],
                implicit_zero=_t2_zeros(blank21), raws={"t2/normative_documents/in_force": ""}),
        Fixture("glued/text-glued-2019.txt", "text-glued", text_glued, _spec("金沙县", "县人民政府办公室", 2019, "2019", 24),
                findings=["cells.decoded"]),
        Fixture("glued/text-glued-2022.txt", "text-glued", text_glued, _spec("临江县", "县住房和城乡建设局", 2022, "2021", 25),
                findings=["cells.decoded"]),
        Fixture("glued/html-p-glued-2021.html", "html-p-glued", html_p_glued, _spec("松林县", "县农业农村局", 2021, "2021", 26),
                findings=["cells.decoded"]),
        _ambiguous_fixture(),
    ]
    return out


def write(root: Path = ROOT) -> list[Path]:
    written = []
    for fx in fixtures():
        path = root / fx.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(fx.data())
        path.with_suffix(".json").write_text(json.dumps(fx.expected(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for p in write():
        print(p.relative_to(ROOT.parent.parent.parent))
