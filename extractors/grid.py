"""Span expansion: one shared function turns rows of (text, rowspan, colspan) into a grid.

Every cell covered by a span receives a copy of the spanning cell's text, so a rowspan group cell
(（三）不予公开) is present on each of its rows and a colspan header is present over each of its
columns.  Positions no source cell covers are ``None`` (a row that lost cells), which lets the
table reader tell "printed blank" ("") from "not there" (None).

Spans are capped: hostile or broken pages declare ``rowspan=65535``; browsers clip rowspans at the
end of the table section and so do we.
"""

from __future__ import annotations

from collections.abc import Sequence

MAX_ROWSPAN = 1000
MAX_COLSPAN = 100
MAX_CELLS = 200_000

Cell = tuple[str, int, int]  # text, rowspan, colspan


def clamp_span(value: object, cap: int) -> int:
    """Parse a span attribute the way browsers do (leading digits), clamped to [1, cap]."""
    if value is None:
        return 1
    s = str(value).strip()
    if s.isdigit():
        n = int(s)
        return 1 if n < 1 else min(n, cap)
    digits = ""
    for ch in s:
        if ch.isdigit() and ch.isascii():
            digits += ch
        else:
            break
    n = int(digits) if digits else 1
    if n < 1:
        return 1
    return min(n, cap)


def expand(rows: Sequence[Sequence[Cell]], anchors: list[tuple[int, int, int, int]] | None = None) -> list[list[str | None]]:
    """Expand spans into a rectangular grid (``None`` = no source cell there).  ``anchors``, when given, receives
    ``(row, column, rowspan, colspan)`` of every cell placed, in source order (for :func:`geometry`)."""
    n_rows = len(rows)
    placed: dict[tuple[int, int], str] = {}
    width = 0
    budget = MAX_CELLS
    for r, row in enumerate(rows):
        c = 0
        for text, rowspan, colspan in row:
            while (r, c) in placed:
                c += 1
            rs = max(1, min(rowspan, MAX_ROWSPAN, n_rows - r))
            cs = max(1, min(colspan, MAX_COLSPAN))
            budget -= rs * cs
            if budget < 0:
                break
            for dr in range(rs):
                for dc in range(cs):
                    placed.setdefault((r + dr, c + dc), text)
            if anchors is not None:
                anchors.append((r, c, rs, cs))
            c += cs
            if c > width:
                width = c
        if budget < 0:
            break
    for (_, c) in placed:
        if c + 1 > width:
            width = c + 1
    return [[placed.get((r, c)) for c in range(width)] for r in range(n_rows)]


def geometry(anchors: Sequence[tuple[int, int, int, int]], widths: Sequence[float | None], n_rows: int
             ) -> list[list[tuple[int, int, float, float]]]:
    """Where each cell lies, per grid row: ``(first column, end column, x0, x1)`` of every cell covering the row.

    ``anchors`` are the cells as :func:`expand` placed them, ``widths`` their drawn widths in the same order
    (None = unknown).  A column's width is the width of a one-column cell drawn in it (Word's placeholder row of
    a misaligned table has one for every column); a column no such cell gives is as wide as the mean of the
    others (1 when no width is known), so x is the real drawing position whenever the producer wrote widths."""
    col_w: dict[int, float] = {}
    for (_, c, _, cs), w in zip(anchors, widths):
        if cs == 1 and w and c not in col_w:
            col_w[c] = w
    n_cols = max((c + cs for _, c, _, cs in anchors), default=0)
    default = sum(col_w.values()) / len(col_w) if col_w else 1.0
    x = [0.0]
    for c in range(n_cols):
        x.append(x[-1] + col_w.get(c, default))
    out: list[list[tuple[int, int, float, float]]] = [[] for _ in range(n_rows)]
    for r, c, rs, cs in anchors:
        cell = (c, c + cs, x[c], x[c + cs])
        for dr in range(rs):
            out[r + dr].append(cell)
    for cells in out:
        cells.sort()
    return out
