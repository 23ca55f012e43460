"""Tables laid out as lines of text: one grammar for every reader (.txt files, ``<p>``/``<br>`` lines and
``<pre>`` blocks in HTML), so a table pasted as text reaches :func:`extractors.tables.read_tables` as a
grid whatever carried it.

A line is a table row when its cells are separated by

* tabs (explicit: an empty cell between two tabs is a printed blank);
* markdown pipes ``| a | b |`` (the ``|---|`` rule line is dropped; ``|  |`` is a printed blank);
* runs of two or more spaces / ``&nbsp;``, or ideographic spaces (U+3000) — blank cells leave no trace;
* nothing, or single spaces, after an official row label: "1.属于国家秘密 230 000023" (copied from a PDF,
  the numbers of touching cells may have run together; :mod:`extractors.glued` decodes them).

Consecutive row lines form a table, with the short caption and header lines around them
(第二十条第（一）项, "信息内容 本年新制作数量 …", 申请人情况 …) and blank lines inside; a statutory section
heading always ends it.  A run of spaced lines must hold two rows of three or more numbers, or one of five or
more, so an indented paragraph or a signature line "某某局        2021年1月20日" stays text.  Pages that paste
each cell as its own paragraph (no separators at all) are rebuilt by the official row labels and column
counts: a row is an official row label and the values after it (:func:`_cell_flow`).

Rows whose cells may not map one to one onto the form's columns (spaced, glued, cell flow) are listed in
:attr:`LineTable.loose` (``RawTable.loose``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from extractors.formats import all_specs, normalise_label
from extractors.numbers import parse_cell
from extractors.sections import heading_of, match_section
from extractors.tables import classify, is_row_label, is_t2_column_label

_SPACED = re.compile(r"[ \u00a0]{2,}|\u3000+")
_MAX_CELL = 80
_MAX_CELLS = 60  # no row of the form has more than 17 cells; a longer "row" is not one (and keeps grids small)
_MAX_VALUES = 15  # the longest row of values (table 四's one row)
_NUM = r"[-+]?\d+(?:\.\d+)?"
_NUMS = rf"{_NUM}(?:(?: |(?=[-+])){_NUM})*"  # single spaces, or a sign that starts the next number ("120-3")
#: an official row label followed by numbers separated by single spaces or by nothing
_TAIL = re.compile(rf"^(?P<label>.*?[^\d\s.,，、．+-])\s?(?P<tail>{_NUMS})$")
_NUMBERS = re.compile(rf"^{_NUMS}$")
_TOKEN = re.compile(_NUM)
_RULE_CELL = re.compile(r"^:?-{2,}:?$")

TAB, PIPE, RULE, SPACED, GLUED, TEXT, BLANK, BARRIER = range(8)
_ROWS = (TAB, PIPE, SPACED, GLUED)
_LOOSE = (SPACED, GLUED)
#: kinds of grid a line table must be to be taken out of an HTML page's text
OFFICIAL = frozenset({"t2", "t3", "t3_part", "t4", "t4_part"})
_VALUE_KINDS = frozenset({"number", "na", "none_word"})


def _header_words() -> re.Pattern[str]:
    words = {"第二十条", "信息内容", "申请人情况", "法人或其他组织", "勾稽关系", "本年度办理结果", "行政复议", "行政诉讼",
             "直接起诉", "复议后起诉", "单位"}
    for spec in all_specs():
        for b in spec.blocks:
            for c in b.cols:
                n = normalise_label(c.label)
                if len(n) >= 3:
                    words.add(re.sub(r"\(.*", "", n))
    return re.compile("|".join(sorted(map(re.escape, words), key=len, reverse=True)))


_HEADERISH = _header_words()


@dataclass(slots=True)
class LineTable:
    start: int  # first line taken
    end: int  # the line after the last one taken
    rows: list[list[str]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # the line each row was read from
    loose: set[int] = field(default_factory=set)  # rows whose cells need not map one to one onto columns

    def grid(self) -> list[list[str | None]]:
        width = max(len(r) for r in self.rows)
        return [list(r) + [None] * (width - len(r)) for r in self.rows]


def _spaced_cells(s: str) -> list[str] | None:
    """Cells of a line whose columns are separated by runs of spaces; None when it is not such a line."""
    if s.endswith(("。", "；", ";")):
        return None
    cells = [c for c in _SPACED.split(s) if c]
    if len(cells) < 2 or len(cells) > _MAX_CELLS or any(len(c) > _MAX_CELL for c in cells):
        return None
    out: list[str] = []
    for c in cells:  # "18 13 11" inside one spaced cell: single-spaced numbers are cells too
        if " " in c and _NUMBERS.match(c):
            out.extend(_TOKEN.findall(c))
        elif " " in c and c[-1].isdigit() and (m := _TAIL.match(c)) and is_row_label(m.group("label")):
            out.append(m.group("label").strip())
            out.extend(_TOKEN.findall(m.group("tail")))
        else:
            out.append(c)
    return out


def line_kind(line: str | None) -> tuple[int, list[str] | None]:
    """What one line is, and its cells when it is a row."""
    if line is None:
        return BARRIER, None
    s = line.strip()
    if not s:
        return BLANK, None
    if "\t" in line:
        cells = [c.strip() for c in line.strip("\r\n").split("\t")]
        return (TAB, cells) if len(cells) <= _MAX_CELLS else (TEXT, None)
    if s[0] == "|" and s.count("|") >= 3:
        cells = [c.strip() for c in s.strip("|").split("|")]
        if len(cells) > _MAX_CELLS:
            return TEXT, None
        if all(_RULE_CELL.match(c) for c in cells):
            return RULE, None
        return PIPE, cells
    if " " in s or "\u3000" in s or "\u00a0" in s:
        cells = _spaced_cells(s)
        if cells is not None:
            return SPACED, cells
    if s[-1].isdigit() and len(s) <= 160:
        if _NUMBERS.match(s):
            tokens = _TOKEN.findall(s)
            if (len(tokens) >= 2 or len(s) >= 5) and len(tokens) <= _MAX_CELLS:
                return GLUED, tokens
        else:
            m = _TAIL.match(s)
            if m and is_row_label(m.group("label")):
                return GLUED, [m.group("label").strip(), *_TOKEN.findall(m.group("tail"))]
    return TEXT, None


def _section_heading(s: str) -> bool:
    h = heading_of(s)
    return bool(h) and match_section(h[0], 0) is not None


def _caption(s: str) -> bool:
    """A short line that may sit inside or just above a table (block title, header line)."""
    s = s.strip()
    if not s or len(s) > 50 or "。" in s or s.endswith(("；", ";", "：", ":")):
        return False
    if len(s) > 30 and not _HEADERISH.search(normalise_label(s)):
        return False
    return not _section_heading(s)


_NOT_A_ROW = re.compile(r"^(?:总计|合计|小计|行政复议|行政诉讼)$")


def _blank_row(ls: _Lines, j: int) -> bool:
    """An official row label alone on its line inside a table whose blanks leave no trace: a row printed all
    blank.  Only when the next row starts with a row label too (a wrapped label continues on the next line)."""
    for _ in range(40):  # a few blank rows in a row, then a row with its values
        s = ls.text(j)
        if len(s) > 60 or _NOT_A_ROW.match(normalise_label(s)) or not (is_row_label(s, "t3") or is_row_label(s, "t2")):
            return False
        m = j + 1
        while m < len(ls) and ls.kind(m) == BLANK:
            m += 1
        if m >= len(ls):
            return False
        k = ls.kind(m)
        if k in (SPACED, GLUED):
            first = ls.cells(m)[0]
            return not _is_value(first) and is_row_label(first)
        if k != TEXT:
            return False
        j = m
    return False


def _numbers(cells: list[str]) -> int:
    return sum(1 for c in cells if parse_cell(c)[1] in _VALUE_KINDS)


class _Lines:
    """The lines with their kinds, computed once and only when looked at."""

    def __init__(self, lines: Sequence[str | None]) -> None:
        self.lines = lines
        self._kinds: list[tuple[int, list[str] | None] | None] = [None] * len(lines)

    def __len__(self) -> int:
        return len(self.lines)

    def kind(self, i: int) -> int:
        k = self._kinds[i]
        if k is None:
            k = self._kinds[i] = line_kind(self.lines[i])
        return k[0]

    def cells(self, i: int) -> list[str]:
        self.kind(i)
        return self._kinds[i][1] or []  # type: ignore[index]

    def text(self, i: int) -> str:
        return (self.lines[i] or "").strip()

    def next_row(self, i: int, within: int = 3) -> bool:
        """Is there a row line within ``within`` non-blank lines after line ``i``?"""
        j, seen = i + 1, 0
        while j < len(self) and seen < within:
            k = self.kind(j)
            if k in _ROWS or k == RULE:
                return True
            if k == BARRIER or (k == TEXT and not _caption(self.text(j))):
                return False
            if k != BLANK:
                seen += 1
            j += 1
        return False


def _grow(ls: _Lines, i: int, floor: int, official_only: bool) -> tuple[LineTable | None, int]:
    """The table whose first row line is line ``i`` (lines before ``floor`` belong to an earlier table), or None
    when those lines are no table; and the line after the last one looked at (a refused run is not retried
    from each of its lines: that would be quadratic)."""
    t = LineTable(i, i)
    j = i - 1
    pre: list[int] = []
    while j >= floor and len(pre) < 4 and ls.kind(j) == TEXT and _caption(ls.text(j)):
        pre.insert(0, j)
        j -= 1
    if pre and len(pre) > 1:  # several header lines above the first row: only those that name table columns
        while pre and not _HEADERISH.search(normalise_label(ls.text(pre[0]))):
            pre.pop(0)
    for p in pre:
        t.rows.append([ls.text(p)])
        t.lines.append(p)
    if pre:
        t.start = pre[0]
    j = i
    exact = glued = rows = lone = 0
    n = len(ls)
    while j < n:
        k = ls.kind(j)
        if k in _ROWS:
            if k in _LOOSE:
                t.loose.add(len(t.rows))
            exact += k in (TAB, PIPE)
            glued += k == GLUED
            rows += 1
            lone += k == GLUED and len(ls.cells(j)) == 1 and _is_value(ls.cells(j)[0])
            t.rows.append(ls.cells(j))
            t.lines.append(j)
            j += 1
            continue
        if k == RULE:
            j += 1
            continue
        if k == BLANK:
            m = j
            while m < n and ls.kind(m) == BLANK:
                m += 1
            if m < n and (ls.kind(m) in _ROWS or (ls.kind(m) == TEXT and _caption(ls.text(m)) and ls.next_row(m))):
                j = m
                continue
            break
        if k == TEXT and _blank_row(ls, j):
            t.loose.add(len(t.rows))  # a row label alone: every cell of the row was blank
            t.rows.append([ls.text(j)])
            t.lines.append(j)
            j += 1
            continue
        if k == TEXT and _caption(ls.text(j)) and ls.next_row(j):
            t.rows.append([ls.text(j)])
            t.lines.append(j)
            j += 1
            continue
        break
    t.end = t.lines[-1] + 1
    return (t if _accept(t, exact, glued, rows, lone, official_only) else None), t.end


def _accept(t: LineTable, exact: int, glued: int, rows: int, lone: int, official_only: bool) -> bool:
    counts = [_numbers(r) for r in t.rows]
    ok = (exact and not official_only) or sum(1 for c in counts if c >= 3) >= 2 or max(counts) >= 5
    if not ok and not glued and not (t.loose and max(counts) >= 1):
        return False
    kind = classify(t.grid()) if (official_only or not ok or lone == rows) else None
    if (official_only or not ok) and kind not in OFFICIAL:
        return False  # (a few loose rows are a table only when they are one of the form's: 四's one row, a 二 block)
    if lone == rows and kind not in ("t4", "t4_part"):
        return False  # one long number under captions: a value pasted as its own paragraph (cell flow), not a row
    return True


def _is_value(s: str) -> bool:
    return len(s) <= 20 and parse_cell(s)[1] in _VALUE_KINDS


_OPENERS = ((re.compile(r"^第二十条"), "t2"), (re.compile(r"勾稽关系|^申请人情况$|^申请人$"), "t3"), (re.compile(r"^行政复议$"), "t4"))


def _cell_flow(ls: _Lines, taken: list[bool], official_only: bool) -> list[LineTable]:
    """Tables pasted one cell per paragraph, in reading order, rebuilt by official row labels."""
    out: list[LineTable] = []
    n = len(ls)
    i = 0
    while i < n:
        # a region: short lines (labels and values), blank lines allowed, up to a heading, prose or a table
        region: list[int] = []
        j = i
        while j < n and not taken[j]:
            k = ls.kind(j)
            if k == BLANK:
                j += 1
                continue
            s = ls.text(j)
            if k not in (TEXT, GLUED) or not (_is_value(s) or _caption(s) or (len(s) <= 80 and is_row_label(s))):
                break
            region.append(j)
            j += 1
        if sum(1 for r in region if _is_value(ls.text(r))) >= 5:
            out.extend(_rebuild(ls, region, official_only))
        i = j if j > i else i + 1
    return out


def _rebuild(ls: _Lines, region: list[int], official_only: bool) -> list[LineTable]:
    # split the region where a table starts (第二十条… / 勾稽关系 / 行政复议 after table 三)
    pieces: list[tuple[str | None, list[int]]] = [(None, [])]
    for r in region:
        norm = normalise_label(ls.text(r))
        opener = next((kind for rx, kind in _OPENERS if rx.search(norm)), None)
        if opener and opener != pieces[-1][0] and (opener != "t4" or pieces[-1][0] == "t3" or not pieces[-1][1]):
            pieces.append((opener, [r]))
        else:
            pieces[-1][1].append(r)
    out: list[LineTable] = []
    for kind, idx in pieces:
        if not idx:
            continue
        t = _flow_table(ls, idx, kind)
        if t is None:
            continue
        got = classify(t.grid())
        if got in OFFICIAL or (not official_only and got is not None):
            out.append(t)
    return out


def _flow_table(ls: _Lines, idx: list[int], kind: str | None) -> LineTable | None:
    tokens = [(ls.text(r), r) for r in idx]
    if kind is None:
        kind = classify([[s] for s, _ in tokens])
        kind = {"t3_part": "t3", "t4_part": "t4"}.get(kind or "", kind)
    if kind not in ("t2", "t3", "t4"):
        return None
    t = LineTable(idx[0], idx[-1] + 1)
    started = False
    i = 0
    while i < len(tokens):
        s, li = tokens[i]
        j = i + 1
        while j < len(tokens) and _is_value(tokens[j][0]):
            j += 1
        values = [v for v, _ in tokens[i + 1:j]]
        if j - i > _MAX_VALUES + 1:
            return None  # a run of values longer than any row of the form: not one of its tables
        if _is_value(s):  # values after a label that is not a row (table 四's one row of fifteen)
            t.loose.add(len(t.rows))
            t.rows.append([s, *values])
            t.lines.append(li)
            i = j
            continue
        if kind == "t2" and "信息内容" in s:
            head = [s]
            k = i + 1
            while k < len(tokens) and not _is_value(tokens[k][0]) and is_t2_column_label(tokens[k][0]):
                head.append(tokens[k][0])
                k += 1
            t.rows.append(head)
            t.lines.append(li)
            started = True
            i = k
            continue
        if kind == "t2" and s.startswith("第二十条"):
            started = False
        if is_row_label(s, kind) and (values or started):
            t.loose.add(len(t.rows))
            t.rows.append([s, *values])
            t.lines.append(li)
            started = True
            i = j
            continue
        t.rows.append([s])
        t.lines.append(li)
        if values:
            t.loose.add(len(t.rows))
            t.rows.append(values)
            t.lines.append(tokens[i + 1][1])
        i = j
    return t if t.rows else None


def find_tables(lines: Sequence[str | None], *, official_only: bool = False,
                candidates: Sequence[int] | None = None) -> list[LineTable]:
    """The tables laid out in ``lines`` (None = a barrier no table crosses: a real table, page chrome).

    ``official_only`` keeps only tables 二/三/四 (and their parts): for HTML, whose text is prose unless it is
    one of the form's tables.  ``candidates`` (ascending) are the only lines that can be rows or values (the
    HTML reader knows which paragraphs have separators or end in a digit; the others are never classified,
    which keeps Word-export pages fast).  Tables are returned in line order and never overlap."""
    ls = _Lines(lines)
    out: list[LineTable] = []
    taken = [False] * len(lines)
    floor = tried = 0
    for i in (range(len(lines)) if candidates is None else candidates):
        if i < floor or i < tried or ls.kind(i) not in _ROWS:
            continue
        t, tried = _grow(ls, i, floor, official_only)
        if t is not None:
            out.append(t)
            for r in range(t.start, t.end):
                taken[r] = True
            floor = t.end
    values = sum(1 for i in (range(len(lines)) if candidates is None else candidates)
                 if not taken[i] and ls.kind(i) in (TEXT, GLUED) and _is_value(ls.text(i)))
    if values >= 5:
        out.extend(_cell_flow(ls, taken, official_only))
        out.sort(key=lambda t: t.start)
    return out
