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

import math
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
    #: the x extent of each cell (None where a merged cell continues), to line up a table continued overleaf
    spans: list[list[tuple[float, float] | None]] = field(default_factory=list)


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
        aligned = len(t.rows) == len(rows)
        tops = [r.bbox[1] for r in t.rows] if aligned else [t.bbox[1]] * len(rows)
        spans = [[None if c is None else (c[0], c[2]) for c in r.cells] for r in t.rows] if aligned else []
        bbox = t.bbox
        if shading:
            first, last = _trim_shaded_rows(t, rows, rules)
            if (first, last) != (0, len(rows)):
                if first >= last:
                    continue
                bbox = (bbox[0], t.rows[first].bbox[1], bbox[2], t.rows[last - 1].bbox[3])
                rows, tops, spans = rows[first:last], tops[first:last], spans[first:last]
        if is_real_table(rows):
            found.append(RuledTable(bbox, rows, tops, spans))
    return found


def join_ruled(first: RuledTable, second: RuledTable) -> tuple[RuledTable, int] | None:
    """A ruled table continued on the next page (same left and right edges) as one table: both parts laid
    on the union of their column boundaries (a merged cell keeps ``None`` continuations), and a row broken
    by the page (the tail of its label, no values, at the top of the second part, under the label cells of
    the first part's last row) put back together.  Also
    the number of rows of the second part merged into the first part's last row (0 or 1)."""
    if abs(first.bbox[0] - second.bbox[0]) > 3 or abs(first.bbox[2] - second.bbox[2]) > 3 or not first.spans or not second.spans:
        return None
    edges = sorted(x for t in (first, second) for row in t.spans for c in row if c for x in c)
    bounds: list[float] = []
    for x in edges:
        if not bounds or x - bounds[-1] > 2:
            bounds.append(x)
    width = len(bounds) - 1

    def col(x: float) -> int:
        return min(range(len(bounds)), key=lambda k: abs(bounds[k] - x))

    def regrid(t: RuledTable) -> tuple[Grid, list[list[tuple[float, float] | None]]]:
        rows: Grid = []
        spans: list[list[tuple[float, float] | None]] = []
        for row, row_spans in zip(t.rows, t.spans):
            new: list[str | None] = [None] * width
            new_spans: list[tuple[float, float] | None] = [None] * width
            for text, span in zip(row, row_spans):
                if span is None:
                    continue
                c0 = col(span[0])
                if c0 < width:
                    new[c0] = text if text is not None else ""
                    new_spans[c0] = span
            rows.append(new)
            spans.append(new_spans)
        return rows, spans

    top, top_spans = regrid(first)
    bottom, bottom_spans = regrid(second)
    tops = list(first.row_tops) + list(second.row_tops)
    merged = 0
    if top and bottom:
        head, tail = top[-1], bottom[0]
        label_cols = [k for k, c in enumerate(head) if c and not _is_value(c)]
        tail_cols = [k for k, c in enumerate(tail) if c]
        if (tail_cols and set(tail_cols) <= set(label_cols) and any(c and _is_value(c) for c in head)
                and not _structural("".join(c for c in tail if c))):
            label_head = normalise_label("".join(c for c in head if c and not _is_value(c)))
            label_tail = normalise_label("".join(c for c in tail if c))
            if not (is_row_label(label_head) and is_row_label(label_tail)):
                top[-1] = [(a or "") + b if b else a for a, b in zip(head, tail)]
                bottom, bottom_spans, merged = bottom[1:], bottom_spans[1:], 1
                del tops[len(first.row_tops)]
    bbox = (min(first.bbox[0], second.bbox[0]), first.bbox[1], max(first.bbox[2], second.bbox[2]), second.bbox[3])
    return RuledTable(bbox, top + bottom, tops, top_spans + bottom_spans), merged


# ------------------------------------------------------------------------------------------- unruled

#: a gap of this many font sizes between two inked characters of a line separates two cells (a space in
#: prose is 0.25–0.35 em; LibreOffice's default cell margins leave 0.6–0.7 em between neighbouring cells)
CELL_GAP = 0.5


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

    @property
    def x1(self) -> float:
        return max((sg.x1 for sg in self.segments), default=0.0)

    def __post_init__(self) -> None:
        self.values = sum(1 for s in self.segments if _is_value(s.text))


def _is_value(text: str) -> bool:
    return parse_cell(text)[1] in ("number", "na", "none_word")


def segments_of(chars: list[dict], clean) -> list[Segment]:  # noqa: ANN001 - the text cleaner
    """Cells of one line: runs of inked characters split where the gap to the previous inked character is
    at least CELL_GAP × the font size (spaces between them do not bridge the gap)."""
    segs: list[Segment] = []
    run: list[dict] = []
    last_ink: dict | None = None
    for ch in sorted(chars, key=lambda c: c["x0"]):
        inked = bool(ch["text"].strip())
        if inked and last_ink is not None:
            gap = ch["x0"] - last_ink["x1"]
            size = max(last_ink.get("size") or 0, ch.get("size") or 0, 1.0)
            if gap >= CELL_GAP * size:
                segs.append(_seg(run, clean))
                run = []
        run.append(ch)
        if inked:
            last_ink = ch
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


def is_row_label(norm: str) -> bool:
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


def _first_value_x(line: Line) -> float:
    return min((sg.x0 for sg in line.segments[1:] if _is_value(sg.text)), default=float("inf"))


def _regions(lines: list[Line], continuing: bool = False) -> list[tuple[int, int]]:
    """Index ranges of runs of table-like lines (see the module docstring).

    A one-segment line continues a run when it is a wrapped label (left of the first value column and
    as close to the line above as line spacing), or when a table-like line follows within a few lines
    (a block title, a header cell on a line of its own).  A section heading ends a run."""
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
        label_edge = _first_value_x(lines[i])
        j = i + 1
        while j < n:
            cur, prev = lines[j], lines[j - 1]
            gap = cur.top - prev.bottom
            if gap > 4 * max(cur.size, prev.size):
                break
            if _tableish(cur):
                label_edge = min(label_edge, _first_value_x(cur))
                j += 1
                continue
            if not _caption(cur):
                break
            if _structural(cur.text):
                j += 1  # a block title of the form (第二十条第（八）项) ending the page: the block continues overleaf
                continue
            if cur.x1 <= label_edge + 1 and gap <= 1.0 * max(cur.size, prev.size):
                j += 1  # a wrapped label, line-spaced under the line above
                continue
            k = j + 1
            while k < n and not _tableish(lines[k]) and _caption(lines[k]) and k - j < 4:
                k += 1
            if k < n and _tableish(lines[k]) and lines[k].top - lines[k - 1].bottom <= 4 * lines[k].size:
                j = k
                continue
            break
        rows = lines[start:j]
        values = [ln.values for ln in rows]
        if sum(1 for v in values if v >= 2) >= 2 or max(values, default=0) >= 5 or (continuing and start == 0 and any(values)):
            out.append((start, j))  # (the rest of a table that began on the previous page may be a row or two)
        i = j
    return out


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


def _header_columns(lines: list[Line], cols: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Value columns plus header cells over columns that hold no printed value at all (a report that
    prints zeros as blanks: the five 法人或其他组织 columns can be empty from top to bottom).  Narrow header
    cells first, and none that overlaps a column already there, so that a header spanning several columns
    (法人或其他组织, 行政复议) adds nothing."""
    left = cols[0][0] - 0.5
    heads = sorted((sg for ln in lines if ln.values == 0 for sg in ln.segments if sg.x0 >= left and not _is_value(sg.text)),
                   key=lambda sg: sg.x1 - sg.x0)
    out = list(cols)
    for sg in heads:
        if all(sg.x1 < a - 0.5 or sg.x0 > b + 0.5 for a, b in out):
            out.append((sg.x0, sg.x1))
    return sorted(out)


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


def unruled_tables(lines: list[Line], continuing: bool = False) -> list[UnruledTable]:
    """Tables laid out by position only among a page's text lines (those outside ruled tables)."""
    found: list[UnruledTable] = []
    for start, end in _regions(lines, continuing):
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
    cols = _header_columns(lines, cols)
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
    bounds = _label_bounds(lines, cols)
    grid: Grid = []
    row_lines: list[Line] = []
    for group in rows:
        label = _row_label(group, bounds, cols)
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


def _label_bounds(lines: list[Line], cols: list[tuple[float, float]]) -> list[float]:
    """x positions between label columns (group | item), from lines that show two labels side by side."""
    found: list[float] = []
    for ln in lines:
        labels = [sg for sg in ln.segments if _column_of(sg, cols) < 0]
        for a, b in zip(labels, labels[1:]):
            found.append((a.x1 + b.x0) / 2)
    found.sort()
    merged: list[list[float]] = []
    for x in found:
        if merged and x - merged[-1][-1] <= 3:
            merged[-1].append(x)
        else:
            merged.append([x])
    return [statistics.median(g) for g in merged]


def _row_label(group: list[tuple[Line, list[str], list[str]]], bounds: list[float], cols: list[tuple[float, float]]) -> str:
    """A row's label: its label columns left to right, each column's wrapped lines top to bottom (as the
    cells of a grid would be read), not line by line across columns."""
    parts: list[tuple[int, int, str]] = []
    for order, (ln, _, _) in enumerate(group):
        for sg in ln.segments:
            if _column_of(sg, cols) < 0:
                parts.append((sum(1 for b in bounds if b <= sg.x0), order, sg.text))
    parts.sort(key=lambda p: (p[0], p[1]))
    return "".join(p[2] for p in parts)


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


def line_gap_limit(gaps: list[float], size: float) -> float:
    """The largest gap between two lines of one wrapped cell.

    Gaps inside a cell (line spacing) and between rows (line spacing plus the cell padding) form two
    clusters: the limit lies between them, at the split of the sorted gaps that best separates their
    logarithms (Otsu's criterion, so that a few odd gaps — two columns' lines interleaved — do not make a
    cluster), provided the two sides are apart by a ratio of 1.6 or more.  Without such a split (cells
    without padding) it is 0.75 font sizes."""
    pos = sorted(g for g in gaps if g > 0.05 * size)
    logs = [math.log(g) for g in pos]
    m = len(logs)
    best, split = 0.0, -1
    total = sum(logs)
    left = 0.0
    for k in range(1, m):
        left += logs[k - 1]
        w0, w1 = k / m, (m - k) / m
        between = w0 * w1 * (left / k - (total - left) / (m - k)) ** 2
        if between > best:
            best, split = between, k
    if split > 0 and pos[split] / pos[split - 1] >= 1.6 and pos[split - 1] <= 1.5 * size:
        return (pos[split - 1] * pos[split]) ** 0.5
    return 0.75 * size


def _overlaps(a: Line, b: Line) -> bool:
    return any(x.x0 < y.x1 + 0.5 and y.x0 < x.x1 + 0.5 for x in a.segments for y in b.segments)


def _group_rows(placed: list[tuple[Line, list[str], list[str]]]) -> list[list[tuple[Line, list[str], list[str]]]]:
    """Rows of a table: a line with values (or a header line) starts a row; a label-only line that is as
    close to the line above or below it *in the same column* as line spacing is a fragment of that line's
    wrapped cell (above wins a tie: cells are top-aligned more often than not).  Header lines wrapped the
    same way are merged column by column."""
    n = len(placed)
    kind = []
    for ln, label, cells in placed:
        has_values = any(c and _is_value(c) for c in cells)
        kind.append("data" if has_values else ("label" if not any(cells) else "head"))
    lines = [ln for ln, _, _ in placed]

    def neighbour(i: int, step: int) -> tuple[int | None, float]:
        j = i + step
        while 0 <= j < n and abs(j - i) <= 12:
            if _overlaps(lines[i], lines[j]):
                gap = lines[i].top - lines[j].bottom if step < 0 else lines[j].top - lines[i].bottom
                return j, gap
            j += step
        return None, float("inf")

    up = [neighbour(i, -1) for i in range(n)]
    down = [neighbour(i, 1) for i in range(n)]
    size = statistics.median(ln.size for ln in lines) if lines else 10.0
    tight = line_gap_limit([g for _, g in up if g != float("inf")], size)

    # fragments linked to a neighbour in the same column by line spacing form chains; a chain joins the
    # row (data line, or header line for header fragments) it touches — the nearer one when it touches two
    def joinable(i: int) -> bool:
        if kind[i] == "data":
            return False
        _, label, cells = placed[i]
        return not _structural("".join(label) + "".join(cells))

    def compatible(i: int, j: int) -> bool:
        return (kind[i] == "head") == (kind[j] == "head")

    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(n):
        j, d = down[i]
        if j is not None and d <= tight and joinable(i) and joinable(j) and compatible(i, j):
            parent[find(j)] = find(i)
    chains: dict[int, list[int]] = {}
    for i in range(n):
        if joinable(i):
            chains.setdefault(find(i), []).append(i)
    owner = list(range(n))
    # a value line without a label of its own (numbers centred against a label wrapped above and below
    # them) takes the label chain whose lines enclose it
    for d in range(n):
        if kind[d] != "data" or placed[d][1]:
            continue
        top, bottom = lines[d].top - tight, lines[d].bottom + tight
        around = [(key, members) for key, members in chains.items() if kind[members[0]] == "label"
                  and lines[members[0]].top <= bottom and lines[members[-1]].bottom >= top]
        if around:
            key, members = min(around, key=lambda km: abs((lines[km[1][0]].top + lines[km[1][-1]].bottom) / 2
                                                        - (lines[d].top + lines[d].bottom) / 2))
            for i in members:
                owner[i] = d
            del chains[key]
    for members in chains.values():
        best: tuple[float, int, int] | None = None
        for i in members:
            for j, d, side in (up[i] + (0,), down[i] + (1,)):
                if j is None or d > tight or j in members or joinable(j) or not compatible(i, j):
                    continue
                if kind[i] == "label" and is_row_label(normalise_label("".join(placed[i][1]))) \
                        and is_row_label(normalise_label("".join(placed[j][1]))):
                    continue  # both are complete rows of the form: a row printed with blank values
                cand = (d, side, j)
                if best is None or cand < best:
                    best = cand
        if best is not None:
            for i in members:
                owner[i] = best[2]
        else:
            for i in members:
                owner[i] = members[0]
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(owner[i], []).append(i)
    return [[placed[i] for i in sorted(g)] for g in sorted(groups.values(), key=min)]
