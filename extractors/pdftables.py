"""Tables of a PDF page: ruled grids (pdfplumber's table finder) and tables laid out by word positions only.

**Ruled tables** come from ``page.find_tables()``.  A table needs several rows with two or more filled
cells (frames around prose are rejected), and prose lines drawn on shading rectangles (WPS/Word paragraph
shading, which pdfplumber takes for cell borders) are trimmed off a table's top and bottom.  Merged cells
come back as ``None`` continuation cells.

**Unruled tables** (no lines at all: LibreOffice/Word tables without borders, exports that draw text only)
are found in the page's text lines.  A line's *segments* are its runs of characters separated by a gap of
at least :data:`CELL_GAP` × the font size (a table cell boundary; words in prose are closer).  A run of
lines with several segments, holding two rows of two or more numbers or one row of five or more (the single
data row of table 四), is a table.  Its columns are the x-intervals of its numeric segments, clustered by
overlap; every segment is put in the column under its centre (a header or value centred over merged
columns lands where its peers land), the text left of the first value column is the row label.  A row is a
line holding values; a label-only line is a fragment of the wrapped label of the row it is tight against
(line spacing rather than row spacing), unless it is a row of the official form itself (a 第二十条 block
title, a group label such as （三）不予公开, a row label that matches :mod:`extractors.formats` while the
row it would join has its own).
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field

from extractors.formats import SECTIONS, TABLES, normalise_label
from extractors.numbers import parse_cell

Bbox = tuple[float, float, float, float]
Grid = list[list[str | None]]

# ------------------------------------------------------------------------------------------- ruled


def is_real_table(rows: Grid) -> bool:
    if len(rows) < 2:
        return False
    multi = sum(1 for r in rows if sum(1 for c in r if c not in (None, "")) >= 2)
    return multi >= max(2, len(rows) * 0.3)


def _is_shading(obj: dict) -> bool:
    """A filled, unstroked rectangle thicker than a rule: a background behind text (WPS/Word paragraph
    or line shading, cell fills) rather than a border."""
    return (obj.get("object_type") == "rect" and bool(obj.get("fill")) and not obj.get("stroke")
            and min(obj.get("width", 0), obj.get("height", 0)) > 2)


def _ruled(y: float, x0: float, x1: float, rules: list[dict]) -> bool:
    """Is there a real horizontal rule at height ``y`` under most of [x0, x1]?"""
    for e in rules:
        if abs(e["top"] - y) <= 3 and min(e["x1"], x1) - max(e["x0"], x0) >= 0.5 * (x1 - x0):
            return True
    return False


def _trim_shaded_rows(table, rows: Grid, rules: list[dict]) -> tuple[int, int]:  # noqa: ANN001 - pdfplumber Table
    """The range of rows left after dropping the leading and trailing rows that are prose lines sitting on
    shading rectangles.

    pdfplumber takes every rectangle edge for a rule, so lines of prose printed on stacked shading
    rectangles (WPS/Word paragraph shading) become single-cell "rows" glued to the real table below
    them: the heading 二、主动公开政府信息情况 and the paragraphs above table 二 end up inside it, or the
    whole frame fails the prose test and table 二 is lost.  Such a row has one cell across the table and
    no real (stroked or thin) rule on its outer side; a row of a real table keeps its cells."""
    prows = table.rows
    if len(prows) != len(rows):
        return 0, len(rows)
    first, last = 0, len(rows)

    def single(k: int) -> bool:
        return sum(1 for c in prows[k].cells if c is not None) == 1

    x0, _, x1, _ = table.bbox
    while first < last and single(first) and not _ruled(prows[first].bbox[1], x0, x1, rules):
        first += 1
    while last > first and single(last - 1) and not _ruled(prows[last - 1].bbox[3], x0, x1, rules):
        last -= 1
    return first, last


@dataclass(slots=True)
class RuledTable:
    bbox: Bbox
    rows: Grid
    row_tops: list[float]  # top of each row (for provenance: the page line it starts on)


def ruled_tables(page) -> list[RuledTable]:  # noqa: ANN001 - pdfplumber Page
    """The real ruled tables of a page, without prose rows made by shading rectangles."""
    tables = page.find_tables()
    if not tables:
        return []
    shading = any(_is_shading(r) for r in page.rects)
    rules = [e for e in page.filter(lambda o: not _is_shading(o)).horizontal_edges] if shading else []
    found: list[RuledTable] = []
    for t in tables:
        rows = t.extract()
        tops = [r.bbox[1] for r in t.rows] if len(t.rows) == len(rows) else [t.bbox[1]] * len(rows)
        bbox = t.bbox
        if shading:
            first, last = _trim_shaded_rows(t, rows, rules)
            if (first, last) != (0, len(rows)):
                if first >= last:
                    continue
                bbox = (bbox[0], t.rows[first].bbox[1], bbox[2], t.rows[last - 1].bbox[3])
                rows, tops = rows[first:last], tops[first:last]
        if is_real_table(rows):
            found.append(RuledTable(bbox, rows, tops))
    return found


# ------------------------------------------------------------------------------------------- unruled

#: a gap of this many font sizes between two characters of a line separates two cells
CELL_GAP = 0.9


@dataclass(slots=True)
class Segment:
    x0: float
    x1: float
    text: str

    @property
    def center(self) -> float:
        return (self.x0 + self.x1) / 2


@dataclass(slots=True)
class Line:
    """One text line of a page: its box, font size, cells (segments), cleaned text and line number."""

    top: float
    bottom: float
    size: float
    segments: list[Segment]
    text: str
    number: int  # 1-based, among the page's lines top to bottom
    page: int = 0
    values: int = field(default=0)  # how many segments read as values

    @property
    def loc(self) -> str:
        return f"p{self.page}:l{self.number}"

    def __post_init__(self) -> None:
        self.values = sum(1 for s in self.segments if _is_value(s.text))


def _is_value(text: str) -> bool:
    return parse_cell(text)[1] in ("number", "na", "none_word")


def segments_of(chars: list[dict], clean) -> list[Segment]:  # noqa: ANN001 - the text cleaner
    """Cells of one line: character runs split at gaps wider than CELL_GAP × the font size."""
    segs: list[Segment] = []
    run: list[dict] = []
    for ch in sorted(chars, key=lambda c: c["x0"]):
        if run:
            prev = run[-1]
            gap = ch["x0"] - prev["x1"]
            size = max(prev.get("size") or 0, ch.get("size") or 0, 1.0)
            if gap >= CELL_GAP * size:
                segs.append(_seg(run, clean))
                run = []
        run.append(ch)
    if run:
        segs.append(_seg(run, clean))
    return [s for s in segs if s.text]


def _seg(run: list[dict], clean) -> Segment:  # noqa: ANN001
    text = clean("".join(c["text"] for c in run))
    ink = [c for c in run if c["text"].strip()] or run
    return Segment(min(c["x0"] for c in ink), max(c["x1"] for c in ink), text)


_T2_TITLE = re.compile(r"第二十条第\(?[一二三四五六七八九十]+\)?项")
_GROUP = re.compile(r"^(?:三、本年度办理结果)?\((?:三|四|五|六)\)(?:不予公开|无法提供|不予处理|其他处理)$|^三、本年度办理结果$|^申请人情况$"
                    r"|^法人或其他组织$|^行政复议$|^行政诉讼$")
_SECTION_TOP = re.compile(r"^(?:[一二三四五六七八九十]{1,2}\s*[、.．,，]|第[一二三四五六七八九十]{1,2}部分)")


def _official_row_labels() -> tuple[re.Pattern[str], ...]:
    pats: list[str] = []
    for tables in TABLES.values():
        for spec in tables.values():
            for block in spec.blocks:
                for lab in block.rows:
                    pats.extend(lab.patterns)
    return tuple(re.compile(p) for p in dict.fromkeys(pats))


_ROW_LABELS = _official_row_labels()


def _is_row_label(norm: str) -> bool:
    return any(p.search(norm) for p in _ROW_LABELS)


def is_section_heading(text: str) -> bool:
    """A statutory section heading line ("三、收到和处理政府信息公开申请情况"): tables never continue across it."""
    if len(text) > 40 or not _SECTION_TOP.match(text):
        return False
    rest = normalise_label(_SECTION_TOP.sub("", text, count=1))
    return any(re.search(p, rest) for spec in SECTIONS for p in spec.patterns)


def _tableish(line: Line) -> bool:
    return len(line.segments) >= 2


def _caption(line: Line) -> bool:
    """A one-segment line that may sit inside or at the top of a table (a wrapped label, a block title)."""
    t = line.text
    return len(t) <= 40 and not t.endswith(("。", "；", ";", "：", ":")) and not is_section_heading(t)


@dataclass(slots=True)
class UnruledTable:
    first: int  # index of its first line in the page's line list
    last: int  # index after its last line
    grid: Grid
    row_lines: list[Line]  # the line each row starts on
    columns: list[tuple[float, float]]


def _regions(lines: list[Line]) -> list[tuple[int, int]]:
    """Index ranges of runs of table-like lines (see the module docstring)."""
    out: list[tuple[int, int]] = []
    n = len(lines)
    i = 0
    while i < n:
        if not _tableish(lines[i]):
            i += 1
            continue
        start = i
        # a caption line (第二十条第（一）项, a wrapped header) glued on top belongs to the run
        while start > 0 and _caption(lines[start - 1]) and lines[start].top - lines[start - 1].bottom < 2.5 * lines[start].size \
                and not (out and start - 1 < out[-1][1]):
            start -= 1
        j = i + 1
        while j < n:
            cur = lines[j]
            gap = cur.top - lines[j - 1].bottom
            if gap > 4 * max(cur.size, lines[j - 1].size):
                break
            if _tableish(cur):
                j += 1
                continue
            if _caption(cur):
                k = j + 1
                while k < n and not _tableish(lines[k]) and _caption(lines[k]) and k - j < 4:
                    k += 1
                if k < n and _tableish(lines[k]) and lines[k].top - lines[k - 1].bottom <= 4 * lines[k].size:
                    j = k
                    continue
                if k == j + 1 and _near_rows(lines, j):
                    j += 1  # a trailing wrapped label fragment right under the last row
                    continue
            break
        rows = lines[start:j]
        values = [ln.values for ln in rows]
        if sum(1 for v in values if v >= 2) >= 2 or max(values, default=0) >= 5:
            out.append((start, j))
        i = j
    return out


def _near_rows(lines: list[Line], j: int) -> bool:
    prev = lines[j - 1]
    return lines[j].top - prev.bottom < 0.6 * prev.size and prev.values > 0


def _columns(lines: list[Line]) -> list[tuple[float, float]]:
    """Value columns: x-intervals of the numeric segments, merged where they overlap."""
    spans = sorted((s.x0, s.x1) for ln in lines for s in ln.segments[1:] if _is_value(s.text))
    spans += sorted((s.x0, s.x1) for ln in lines for s in ln.segments[:1]
                    if _is_value(s.text) and len(ln.segments) > 1 and ln.values == len(ln.segments))
    spans.sort()
    cols: list[list[float]] = []
    for x0, x1 in spans:
        if cols and x0 <= cols[-1][1] + 0.5:
            cols[-1][1] = max(cols[-1][1], x1)
        else:
            cols.append([x0, x1])
    return [(a, b) for a, b in cols]


def _column_of(seg: Segment, cols: list[tuple[float, float]]) -> int:
    """Index of the value column under a segment's centre (nearest column when it falls in a gap);
    -1 for the label area left of the first value column."""
    c = seg.center
    if c < cols[0][0] - 0.5 and seg.x1 <= cols[0][0] + 0.5:
        return -1
    best, dist = 0, float("inf")
    for k, (a, b) in enumerate(cols):
        d = 0.0 if a - 0.5 <= c <= b + 0.5 else min(abs(c - a), abs(c - b))
        if d < dist:
            best, dist = k, d
    return best


def unruled_tables(lines: list[Line]) -> list[UnruledTable]:
    """Tables laid out by position only among a page's text lines (those outside ruled tables)."""
    found: list[UnruledTable] = []
    for start, end in _regions(lines):
        table = build_table(lines[start:end])
        if table is not None:
            found.append(UnruledTable(start, end, table[0], table[1], table[2]))
    return found


def build_table(lines: list[Line], cols: list[tuple[float, float]] | None = None) -> tuple[Grid, list[Line], list[tuple[float, float]]] | None:
    """(grid, line number of each row, columns) of a run of table lines; ``cols`` forces the columns (a table
    continued from the previous page keeps its columns even where this page has no value in one)."""
    own = _columns(lines)
    cols = _merge_columns(cols, own) if cols else own
    if not cols:
        return None
    width = len(cols) + 1
    placed: list[tuple[Line, list[str], list[str]]] = []  # line, label parts, value cells
    for ln in lines:
        label: list[str] = []
        cells = [""] * len(cols)
        for s in ln.segments:
            k = _column_of(s, cols)
            if k < 0:
                label.append(s.text)
            else:
                cells[k] = s.text if not cells[k] else cells[k] + s.text
        placed.append((ln, label, cells))
    rows = _group_rows(placed)
    grid: Grid = []
    row_lines: list[Line] = []
    for group in rows:
        label = "".join(p for _, lab, _ in group for p in lab)
        cells = [""] * len(cols)
        for _, _, c in group:
            for k, v in enumerate(c):
                if v:
                    cells[k] = v if not cells[k] else cells[k] + v
        grid.append([label] + cells)
        row_lines.append(group[0][0])
    if not grid or width < 2:
        return None
    return grid, row_lines, cols


def _merge_columns(prev: list[tuple[float, float]], own: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out = [list(c) for c in prev]
    for a, b in own:
        for c in out:
            if a <= c[1] + 0.5 and b >= c[0] - 0.5:
                c[0], c[1] = min(c[0], a), max(c[1], b)
                break
        else:
            out.append([a, b])
    out.sort()
    return [(a, b) for a, b in out]


def _structural(text: str) -> bool:
    n = normalise_label(text)
    return bool(_T2_TITLE.search(n) or _GROUP.match(n))


def _group_rows(placed: list[tuple[Line, list[str], list[str]]]) -> list[list[tuple[Line, list[str], list[str]]]]:
    """Rows of a table: a line with values (or a header line) starts a row; a label-only line that is tight
    against a neighbouring row (line spacing) is a fragment of that row's wrapped label."""
    n = len(placed)
    kind = []
    for ln, label, cells in placed:
        has_values = any(c and _is_value(c) for c in cells)
        only_label = not any(cells)
        kind.append("data" if has_values else ("label" if only_label else "head"))
    gaps = [placed[i + 1][0].top - placed[i][0].bottom for i in range(n - 1)]
    sizes = [ln.size for ln, _, _ in placed]
    tight_gap = min((g for g in gaps if g > -1), default=0.0)
    size = statistics.median(sizes) if sizes else 10.0
    tight = max(tight_gap, 0.0) + 0.35 * size

    owner = list(range(n))  # which line's row each line joins
    for i in range(n):
        ln, label, cells = placed[i]
        if kind[i] == "data":
            continue
        text = "".join(label) if kind[i] == "label" else "".join(cells)
        if kind[i] == "label" and _structural(text):
            continue
        up = i - 1 if i > 0 else None
        down = i + 1 if i + 1 < n else None
        d_up = gaps[i - 1] if up is not None else float("inf")
        d_down = gaps[i] if down is not None else float("inf")
        cands = []
        for j, d in ((up, d_up), (down, d_down)):
            if j is None or d > tight:
                continue
            if kind[i] == "label" and kind[j] == "head":
                continue
            if kind[i] == "head" and kind[j] != "head":
                continue
            if kind[j] == "label" and kind[i] == "label":
                # a label fragment next to another fragment: follow it to its row later
                cands.append((d, j))
                continue
            if kind[i] == "label" and _is_row_label(normalise_label(text)) and _is_row_label(normalise_label("".join(placed[j][1]))):
                continue  # both are complete rows of the form: a row printed with blank values
            cands.append((d, j))
        if cands:
            owner[i] = min(cands)[1]
    # resolve chains (fragment → fragment → row), never cycles
    def root(i: int) -> int:
        seen = set()
        while owner[i] != i and i not in seen:
            seen.add(i)
            i = owner[i]
        return i

    groups: dict[int, list[int]] = {}
    for i in range(n):
        r = root(i)
        if kind[r] == "label" and r != i and owner[r] != r:
            r = i
        groups.setdefault(r, []).append(i)
    order = sorted(groups.values(), key=lambda g: min(g))
    return [[placed[i] for i in sorted(g)] for g in order]
