"""Plain text → :class:`Document` (reports saved as text, like the project's seed).

Tables in text reports are runs of tab-separated lines; a blank line inside a run does not end it
(the seed has one after its first data row).  Each line becomes a grid row, cells stripped.

Copies that went through a text editor or a web form often lost the tabs: cells are then separated
by runs of two or more spaces (or ideographic spaces).  Such lines are read as a table too when the
run holds two rows of three or more numbers, or one row of five or more (so an indented paragraph or a signature line
"某某局        2021年1月20日" stays text).  Empty cells cannot be seen in that form; the table reader
copes (table 三 takes the values after the last label, table 四 a row of fifteen in official order).
A short unnumbered line glued to the run ("第二十条第（一）项") belongs to it.
"""

from __future__ import annotations

import re

from extractors.document import Block, Document, RawTable
from extractors.numbers import parse_cell
from extractors.sections import heading_of

_SPACED = re.compile(r"(?: {2,}|\u3000+|\u00a0{2,})")
_MAX_CELL = 80


def _cells(line: str) -> list[str | None]:
    if "\t" in line:
        return [c.strip() for c in line.split("\t")]
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _is_table_line(line: str) -> bool:
    return line.count("\t") >= 1 or (line.count("|") >= 3 and line.strip().startswith("|"))


def _spaced_cells(line: str) -> list[str] | None:
    """Cells of a line whose columns are separated by runs of spaces; None when it is not such a line."""
    s = line.strip()
    if not s or s.endswith(("。", "；", ";")):
        return None
    cells = [c for c in _SPACED.split(s) if c]
    if len(cells) < 2 or any(len(c) > _MAX_CELL for c in cells):
        return None
    return cells


def _numbers(cells: list[str]) -> int:
    return sum(1 for c in cells if parse_cell(c)[1] in ("number", "na", "none_word"))


def _spaced_run(lines: list[str], i: int) -> tuple[list[list[str]], int] | None:
    """Rows of a space-separated table starting at line ``i`` (and the index after it), or None."""
    n = len(lines)
    rows: list[list[str]] = []
    j = i
    while j < n:
        cur = lines[j]
        cells = _spaced_cells(cur) if "\t" not in cur else None
        if cells is not None:
            rows.append(cells)
            j += 1
            continue
        s = cur.strip()
        nxt = lines[j + 1] if j + 1 < n else ""
        if s and len(s) <= 30 and not s.endswith("。") and not heading_of(s) and _spaced_cells(nxt) is not None:
            rows.append([s])  # a block caption glued to the run ("第二十条第（一）项")
            j += 1
            continue
        if not s and rows:
            k = j
            while k < n and not lines[k].strip():
                k += 1
            if k < n and _spaced_cells(lines[k]) is not None and "\t" not in lines[k]:
                j = k
                continue
        break
    counts = [_numbers(r) for r in rows]
    if sum(1 for c in counts if c >= 3) < 2 and max(counts, default=0) < 5:
        return None
    return rows, j


def _add_table(doc: Document, rows: list[list[str | None]]) -> None:
    width = max(len(r) for r in rows)
    grid = [r + [None] * (width - len(r)) for r in rows]
    idx = len(doc.tables)
    doc.tables.append(RawTable(idx, grid))
    doc.blocks.append(Block("", table=idx))


def read_text(text: str) -> Document:
    doc = Document(is_html=False)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        if _is_table_line(line) and line.strip():
            rows: list[list[str | None]] = []
            while i < n:
                cur = lines[i]
                if _is_table_line(cur) and cur.strip():
                    rows.append(_cells(cur))
                    i += 1
                elif not cur.strip():
                    j = i
                    while j < n and not lines[j].strip():
                        j += 1
                    if j < n and _is_table_line(lines[j]) and lines[j].strip():
                        i = j
                    else:
                        break
                else:
                    break
            _add_table(doc, rows)
            continue
        if line.strip() and (_spaced_cells(line) is not None or _spaced_cells(lines[i + 1] if i + 1 < n else "") is not None):
            run = _spaced_run(lines, i)
            if run is not None:
                spaced_rows, i = run
                _add_table(doc, list(spaced_rows))
                continue
        s = " ".join(line.split())
        if s:
            doc.blocks.append(Block(s))
        i += 1
    for b in doc.blocks:
        if b.table is None:
            doc.title_candidates.append(b.text)
            break
    return doc
