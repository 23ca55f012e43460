"""A report as a neutral document: paragraphs and tables with merged cells.

The attachment writers (PDF, DOCX) must carry *the same* report as the HTML page, tables included,
so instead of writing the report a second time this module reads it back from
:func:`sample_portal.reportgen.render_body`: every top-level paragraph becomes a text block and
every ``MsoNormalTable`` a :class:`SpanTable` whose cells keep their ``rowspan``/``colspan`` — the
group labels of the official form ("三、本年度办理结果", "（三）不予公开", "行政复议"…) stay merged
cells in the files, as in real Word/PDF reports.
"""

from __future__ import annotations

from dataclasses import dataclass

import lxml.html

from sample_portal import reportgen


@dataclass(frozen=True)
class Cell:
    """One (possibly merged) table cell anchored at grid position (row, col)."""

    text: str
    row: int
    col: int
    rowspan: int = 1
    colspan: int = 1


@dataclass(frozen=True)
class SpanTable:
    """A rectangular table grid of ``n_rows`` × ``n_cols`` covered by :class:`Cell` s."""

    n_rows: int
    n_cols: int
    cells: tuple[Cell, ...]

    def grid(self) -> list[list[str]]:
        """Span-expanded texts (each merged cell repeated over its area), for tests and checks."""
        g = [[""] * self.n_cols for _ in range(self.n_rows)]
        for c in self.cells:
            for r in range(c.row, c.row + c.rowspan):
                for k in range(c.col, c.col + c.colspan):
                    g[r][k] = c.text
        return g


Block = str | SpanTable


def _text(el) -> str:
    """Cell/paragraph text without Word's layout whitespace (``&nbsp;`` placeholders, run breaks)."""
    return "".join(el.text_content().replace("\xa0", " ").split())


def _span_table(table) -> SpanTable:
    """Lay out an HTML table (rowspan/colspan) on a grid, like a browser does."""
    taken: set[tuple[int, int]] = set()
    cells: list[Cell] = []
    n_rows = n_cols = 0
    for r, tr in enumerate(table.xpath("./tbody/tr | ./tr")):
        c = 0
        for td in tr.xpath("./td | ./th"):
            while (r, c) in taken:
                c += 1
            rs, cs = int(td.get("rowspan", 1)), int(td.get("colspan", 1))
            cells.append(Cell(_text(td), r, c, rs, cs))
            for dr in range(rs):
                for dc in range(cs):
                    taken.add((r + dr, c + dc))
            c += cs
        n_rows = r + 1
    n_cols = max((c + 1 for _, c in taken), default=0)
    n_rows = max([n_rows] + [r + 1 for r, _ in taken])
    return SpanTable(n_rows, n_cols, tuple(cells))


def report_blocks(spec: reportgen.ReportSpec) -> list[Block]:
    """The report body in reading order: paragraph texts and tables (image-only reports: the title only)."""
    root = lxml.html.fromstring(f"<div>{reportgen.render_body(spec)}</div>")
    blocks: list[Block] = []
    for el in root.iter("p", "table"):
        if el.tag == "table":
            if "MsoNormalTable" in (el.get("class") or ""):
                blocks.append(_span_table(el))
        elif not el.xpath("ancestor::table"):
            text = " ".join(el.text_content().replace("\xa0", " ").split())
            if text:
                blocks.append(text)
    return blocks
