"""Span expansion: property tests (random grids rendered with random merges, expanded back) and hostile spans."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from extractors.grid import MAX_COLSPAN, clamp_span, expand
from extractors.htmldoc import read_html


@st.composite
def merged_grids(draw):
    """A grid of unique cell ids plus a random set of non-overlapping rectangular merges."""
    rows = draw(st.integers(1, 8))
    cols = draw(st.integers(1, 8))
    owner = [[None] * cols for _ in range(rows)]
    merges = []
    for r in range(rows):
        for c in range(cols):
            if owner[r][c] is not None:
                continue
            max_h = draw(st.integers(1, rows - r))
            max_w = 1
            while c + max_w < cols and owner[r][c + max_w] is None:
                max_w += 1
            w = draw(st.integers(1, max_w))
            h = 1
            while h < max_h and all(owner[r + h][c + k] is None for k in range(w)):
                h += 1
            for dr in range(h):
                for dc in range(w):
                    owner[r + dr][c + dc] = (r, c)
            merges.append((r, c, h, w))
    return rows, cols, merges


def _expected(rows: int, cols: int, merges) -> list[list[str]]:
    grid = [[""] * cols for _ in range(rows)]
    for r, c, h, w in merges:
        for dr in range(h):
            for dc in range(w):
                grid[r + dr][c + dc] = f"c{r}_{c}"
    return grid


def _html(rows: int, merges) -> str:
    by_row: dict[int, list] = {r: [] for r in range(rows)}
    for r, c, h, w in sorted(merges):
        by_row[r].append(f'<td rowspan="{h}" colspan="{w}">c{r}_{c}</td>')
    trs = "".join("<tr>" + "".join(cells) + "</tr>" for _, cells in sorted(by_row.items()))
    return f"<html><body><table border=1>{trs}</table></body></html>"


@settings(max_examples=150, deadline=None)
@given(merged_grids())
def test_expand_roundtrip_through_html(g) -> None:
    rows, cols, merges = g
    doc = read_html(_html(rows, merges))
    assert len(doc.tables) == 1
    got = doc.tables[0].grid
    assert len(got) == rows  # rows made only of rowspan continuations are still an (empty) <tr>
    assert got == _expected(rows, cols, merges)


@settings(max_examples=150, deadline=None)
@given(merged_grids())
def test_expand_direct(g) -> None:
    rows, cols, merges = g
    source = [[] for _ in range(rows)]
    for r, c, h, w in sorted(merges):
        source[r].append((f"c{r}_{c}", h, w))
    assert expand(source) == _expected(rows, cols, merges)


def test_missing_cells_are_none_and_rowspan_clipped() -> None:
    grid = expand([[("a", 99, 1), ("b", 1, 2)], [("c", 1, 1)]])
    assert grid == [["a", "b", "b"], ["a", "c", None]]


def test_hostile_spans_are_capped() -> None:
    assert clamp_span("65535", MAX_COLSPAN) == MAX_COLSPAN
    assert clamp_span("0", 10) == 1 and clamp_span("-3", 10) == 1 and clamp_span("2px", 10) == 2 and clamp_span(None, 10) == 1
    html = '<table><tr><td colspan="100000" rowspan="100000">x</td><td>y</td></tr><tr><td>z</td></tr></table>'
    grid = read_html(f"<html><body>{html}</body></html>").tables[0].grid
    assert len(grid) == 2 and len(grid[0]) == MAX_COLSPAN + 1
    big = [[("x", 1, MAX_COLSPAN)] for _ in range(5000)]
    out = expand(big)  # the cell budget stops expansion instead of allocating without bound
    assert len(out) == 5000 and sum(1 for row in out for c in row if c) <= 200_000
