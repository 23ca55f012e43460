"""Cells run together or blank cells lost (``extractors.glued``), through the table reader.

Property: a random *valid* table (every identity of the form holds), some of whose rows are printed the way a
PDF copy prints them (numbers of touching cells run together, blank cells leaving no trace), is read back either
exactly or with the unreadable rows null and reported ``cells.ambiguous`` — never with a wrong number.
"""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from extractors import extract
from extractors.document import RawTable
from extractors.formats import TABLES
from extractors.glued import Pending, Piece, row_candidates
from extractors.tables import read_tables

COLS = [c.key for c in TABLES["2019"]["t3"].blocks[0].cols]
ROWS = [(r.key, r.label) for r in TABLES["2019"]["t3"].blocks[0].rows]
HANDLING = [k for k, _ in ROWS if k not in ("new_received", "carried_over", "total_handled", "carried_forward")]
T4_ROWS = ["review", "litigation_direct", "litigation_after_review"]
T4_COLS = ["upheld", "corrected", "other", "pending", "total"]


@st.composite
def t3_tables(draw) -> dict[str, list[int]]:
    """A table 三 (2019 rows) whose identities hold; sparse like county tables, sometimes with big numbers."""
    big = draw(st.booleans())
    value = st.one_of(st.just(0), st.just(0), st.integers(1, 9), st.integers(10, 2000 if big else 40))
    t: dict[str, list[int]] = {}
    for row in HANDLING:
        t[row] = [draw(value) for _ in COLS[:-1]]
    handled = [sum(t[r][c] for r in HANDLING) for c in range(6)]
    forward = [draw(st.integers(0, 3)) for _ in range(6)]
    carried = [draw(st.integers(0, min(3, handled[c] + forward[c]))) for c in range(6)]
    t["total_handled"], t["carried_forward"], t["carried_over"] = handled, forward, carried
    t["new_received"] = [handled[c] + forward[c] - carried[c] for c in range(6)]
    return {k: v + [sum(v)] for k, v in t.items()}


def _print(values: list[int], glue: list[bool], blank: list[bool]) -> list[str]:
    """The printed pieces of a row: blanks dropped, touching numbers run together where ``glue`` says so."""
    pieces: list[str] = []
    joined = False
    for i, v in enumerate(values):
        if blank[i] and v == 0:
            continue
        if pieces and joined:
            pieces[-1] += str(v)
        else:
            pieces.append(str(v))
        joined = glue[i]
    return pieces


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(t3_tables(), st.data())
def test_glued_table_three_is_read_back_exactly_or_reported(t3, data) -> None:
    glued_rows = data.draw(st.sets(st.sampled_from([k for k, _ in ROWS]), min_size=1, max_size=8))
    blanks = data.draw(st.booleans())  # does this producer print zeros blank?
    grid: list[list[str | None]] = [["（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", "申请人情况"],
                                    ["自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计"]]
    loose = set()
    for key, label in ROWS:
        values = t3[key]
        if key in glued_rows:
            glue = data.draw(st.lists(st.booleans(), min_size=7, max_size=7))
            blank = data.draw(st.lists(st.booleans(), min_size=7, max_size=7)) if blanks else [False] * 7
            loose.add(len(grid))
            grid.append([label, *_print(values, glue, blank)])
        else:
            grid.append([label, *map(str, values)])
    width = max(map(len, grid))
    grid = [r + [None] * (width - len(r)) for r in grid]
    reading = read_tables([RawTable(0, grid, source="text", loose=frozenset(loose))])
    got = {(f.row, f.col): f.value for f in reading.facts if f.table == "t3"}
    assert set(got) == {(k, c) for k, _ in ROWS for c in COLS}
    ambiguous_rows = {m.split(" ")[0].split("/")[1] for rule, m in reading.notes if rule == "cells.ambiguous"}
    decoded_rows = {m.split(" ")[0].split("/")[1] for rule, m in reading.notes if rule == "cells.decoded"}
    short = {k for k, label in ROWS if len([c for c in next(r for r in grid if r[0] == label)[1:] if c is not None]) < 7}
    assert ambiguous_rows | decoded_rows == short and not ambiguous_rows & decoded_rows
    for key, _ in ROWS:
        truth = t3[key]
        row = [got[(key, c)] for c in COLS]
        if key in ambiguous_rows:
            assert row == [None] * 7
        else:
            assert row == truth, (key, row, truth, reading.notes)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.one_of(st.just(0), st.integers(0, 30)), min_size=4, max_size=4), min_size=3, max_size=3),
       st.lists(st.booleans(), min_size=15, max_size=15), st.lists(st.booleans(), min_size=15, max_size=15))
def test_glued_table_four_row_is_read_back_exactly_or_reported(blocks, glue, blank) -> None:
    values = [v for b in blocks for v in (*b, sum(b))]
    grid = [["行政复议", None, "行政诉讼"], ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计", "未经复议直接起诉", "复议后起诉"],
            _print(values, glue, blank)]
    width = max(map(len, grid))
    grid = [r + [None] * (width - len(r)) for r in grid]
    reading = read_tables([RawTable(0, grid, source="text", loose=frozenset({2}))])
    got = [next(f.value for f in reading.facts if (f.row, f.col) == (r, c)) for r in T4_ROWS for c in T4_COLS]
    rules = {rule for rule, _ in reading.notes}
    assert got == values or (got == [None] * 15 and rules == {"cells.ambiguous"}), (grid[2], got, reading.notes)


def test_the_issue_examples() -> None:
    """"230 000023" is one t3 row (23 · 0 · 0 · 0 · 0 · 0 · 23); "2212" in a 3-column table 二 row is not decidable."""
    t3 = Pending(tuple(("t3", "granted", c) for c in COLS), (((0, 1, 2, 3, 4, 5), 6),), (Piece("230", 1), Piece("000023", 2)),
                 0, 0, "l1")
    assert row_candidates(t3) == ([("23", "0", "0", "0", "0", "0", "23")], False)
    t2 = Pending(tuple(("t2", "normative_documents", c) for c in ("new_made", "new_published", "total_published")), (),
                 (Piece("2212", 1),), 0, 0, "l1")
    cands, capped = row_candidates(t2)
    assert not capped and {("2", "2", "12"), ("2", "21", "2"), ("22", "1", "2")} <= set(cands)


def test_long_digit_runs_are_bounded() -> None:
    """A row of 40 digits (or many pieces) is answered quickly: ambiguous/unreadable, never an explosion."""
    for pieces in (["1" * 40], ["1234567890" * 4], ["12", "34", "56", "78", "91", "23", "45"], ["9" * 7] * 3):
        p = Pending(tuple(("t3", "granted", c) for c in COLS), (((0, 1, 2, 3, 4, 5), 6),),
                    tuple(Piece(x, 1) for x in pieces), 0, 0, "l1")
        t0 = time.process_time()
        row_candidates(p)
        assert time.process_time() - t0 < 1.0, pieces
    grid = [["（本列数据的勾稽关系为）", "自然人", "总计"], ["一、本年新收政府信息公开申请数量", "1234567890" * 4],
            ["（一）予以公开", "1" * 40]]
    t0 = time.process_time()
    reading = read_tables([RawTable(0, [r + [None] * (3 - len(r)) for r in grid], source="text", loose=frozenset({1, 2}))])
    assert time.process_time() - t0 < 2.0
    assert {rule for rule, _ in reading.notes} == {"cells.ambiguous"}
    assert all(f.value is None for f in reading.facts if f.row in ("new_received", "granted"))


def test_tables_from_html_are_never_decoded() -> None:
    """Only line tables are loose: a <table> row with fewer cells keeps its header positions (no decoding)."""
    grid = [["", "自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计"],
            ["一、本年新收政府信息公开申请数量", "12", None, None, None, None, None, "12"],
            ["二、上年结转政府信息公开申请数量", "0", "0", "0", "0", "0", "0", "0"],
            ["（一）予以公开", "12", "0", "0", "0", "0", "0", "12"]]
    reading = read_tables([(0, grid)])
    assert reading.notes == []
    f = {(x.row, x.col): x.value for x in reading.facts}
    assert f[("new_received", "natural_person")] == 12 and f[("new_received", "total")] == 12


def test_spaced_text_with_lost_blanks_is_never_read_wrong() -> None:
    """A text report whose tables lost their tabs *and* printed zeros blank: every row that cannot be placed is
    null with a cells.ambiguous finding; no number is wrong (the reader used to shift such rows left)."""
    from sample_portal.reportgen import ReportSpec
    from tests.producers.html_text import text_spaced_blanks

    for seed in (30, 31):
        spec = ReportSpec("某某县", "县人民政府办公室", 2020, "2019" if seed % 2 else "2021", seed, blank_zeros=True)
        r = extract(text_spaced_blanks(spec), filename="report.txt")
        fm = r.fact_map()
        wrong = {k: (fm[k], v) for k, v in spec.facts.items() if fm.get(k) is not None and fm[k] != v}
        assert not wrong
        unread_rows = {k[1] for k, v in fm.items() if v is None}
        reported = {f.message.split(" ")[0].split("/")[1] for f in r.findings if f.rule == "cells.ambiguous"}
        assert unread_rows and unread_rows <= reported
        assert any(f.rule == "cells.decoded" for f in r.findings)
        assert r.status == "ok"
