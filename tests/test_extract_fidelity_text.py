"""Text-laid tables, table 二 quirks and glued cells (issue 9, classes 2, 3 and 8), on the committed fixtures of
``tests/fixtures/fidelity/{html-text,t2,glued}/``.

Each fixture is one report (``sample_portal.reportgen.ReportSpec``) rendered by a producer of
``tests/producers/html_text.py`` the way another producer lays it out (tabs / &nbsp; / ideographic spaces /
``<br>`` lines / ``<pre>`` / pipe tables / one cell per paragraph in a CMS page, Word exports with a misaligned
table 二 grid or blank table 二 cells, text copied from a PDF with its numbers run together).  The ``.json`` holds
the spec's values (never the extractor's output): every cell of tables 二, 三 and 四 is asserted, cells printed so
that they cannot be given back are ``null`` and the fixture proves it by listing two readings that print the same
text and satisfy every identity.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from extractors import extract
from tests.producers import html_text as producers

ROOT = Path(__file__).parent / "fixtures" / "fidelity"
DIRS = ("html-text", "t2", "glued")
CASES = sorted(p for d in DIRS for p in (ROOT / d).iterdir() if p.suffix in (".html", ".txt"))


def _load(path: Path):
    exp = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    return exp, extract(path.read_bytes(), content_type=exp["content_type"], filename=exp["filename"])


def test_every_layout_has_a_fixture() -> None:
    kinds = {json.loads(p.with_suffix(".json").read_text(encoding="utf-8"))["kind"] for p in CASES}
    assert {"html-p-tabs", "html-p-nbsp", "html-p-ideographic", "html-br-spaces", "html-pre", "html-pipe", "html-cell-per-p",
            "word-html-t2-crooked", "t2-blank", "text-glued", "html-p-glued"} <= kinds
    assert len(CASES) == len(producers.fixtures())


@pytest.mark.parametrize("fx", producers.fixtures(), ids=lambda f: f.path)
def test_fixture_is_what_its_producer_makes(fx: producers.Fixture) -> None:
    """Producers are pure (same spec, same bytes) and the committed files are theirs: regenerate with
    ``.venv/bin/python -m tests.producers.html_text``."""
    path = ROOT / fx.path
    assert path.read_bytes() == fx.data() == fx.data()
    assert json.loads(path.with_suffix(".json").read_text(encoding="utf-8")) == json.loads(json.dumps(fx.expected()))


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_fidelity_fixture(path: Path) -> None:
    exp, r = _load(path)
    assert r.is_report and r.reason is None
    assert r.status == exp["status"]
    assert (r.title, r.year, r.template) == (exp["title"], exp["year"], exp["template"])
    assert [s.number for s in r.sections] == exp["sections"]
    assert r.agency == exp["agency"]
    if exp["published"]:
        assert r.published is not None and r.published.isoformat() == exp["published"]
    fm = r.fact_map()
    for table in ("t2", "t3", "t4"):
        want = {(table, row, col): v for row, cols in exp[table].items() for col, v in cols.items()}
        got = {k: v for k, v in fm.items() if k[0] == table}
        diff = sorted(set(got.items()) ^ set(want.items()), key=str)
        assert got == pytest.approx(want), f"{table} differs ({len(diff)}): {diff[:8]}"
    assert sorted({f.rule for f in r.findings}) == exp["findings"], [f.message for f in r.findings]
    for key, raw in exp["raws"].items():
        f = r.fact(*key.split("/"))
        assert f is not None and f.raw == raw, key
    if exp["implicit_zero"] is not None:
        assert sum(1 for f in r.facts if f.implicit_zero) == exp["implicit_zero"]
    assert [t.kind for t in r.tables if t.kind in ("t2", "t3", "t4")] == ["t2", "t3", "t4"]


@pytest.mark.parametrize("path", [p for p in CASES if p.parent.name in ("html-text", "glued")], ids=lambda p: p.name)
def test_text_laid_tables_carry_their_lines(path: Path) -> None:
    """A table laid out as text is a grid of source ``html-text`` (``text`` for a .txt) whose rows point at their
    source lines: the line of every fact's row holds the fact's label."""
    exp, r = _load(path)
    source = "text" if path.suffix == ".txt" else "html-text"
    lines = path.read_text(encoding="utf-8").split("\n")
    tables = {t.index: t for t in r.tables}
    for t in r.tables:
        if t.kind in ("t2", "t3", "t4"):
            assert t.source == source and t.row_locs and len(t.row_locs) == len(t.grid)
            assert all(re.fullmatch(r"l\d+", loc) for loc in t.row_locs)
    for f in r.facts:
        if f.table == "t4":
            continue  # table 四's values sit on a line of numbers only
        t = tables[f.table_index]
        line = lines[int(t.row_locs[f.grid_row][1:]) - 1]
        label = next(c for c in t.grid[f.grid_row] if c and not c.replace(" ", "").isdigit())
        assert label.split(" ")[-1] in line.replace("&nbsp;", " "), (f, line)


def test_word_tables_keep_cell_provenance() -> None:
    """In a Word export every table 二 value is read from the grid cell that prints it."""
    for path in sorted((ROOT / "t2").glob("*.html")):
        _, r = _load(path)
        tables = {t.index: t for t in r.tables}
        for f in r.facts:
            assert tables[f.table_index].source == "html"
            assert tables[f.table_index].grid[f.grid_row][f.grid_col] == f.raw, (path.name, f)


def _identities_hold(facts: dict[tuple[str, str, str], float | int | None], template: str) -> bool:
    from sample_portal.reportgen import APPLICANTS, T3_COLS, T4_ROWS, t3_outcome_rows

    v = {k: (0 if x is None else x) for k, x in facts.items()}
    rows = ["new_received", "carried_over", *t3_outcome_rows(template), "total_handled", "carried_forward"]
    ok = all(v[("t3", r, "total")] == sum(v[("t3", r, c)] for c in APPLICANTS) for r in rows)
    for c in T3_COLS:
        ok &= v[("t3", "total_handled", c)] == sum(v[("t3", r, c)] for r in t3_outcome_rows(template))
        ok &= v[("t3", "new_received", c)] + v[("t3", "carried_over", c)] == v[("t3", "total_handled", c)] + v[("t3", "carried_forward", c)]
    for r in T4_ROWS:
        ok &= v[("t4", r, "total")] == sum(v[("t4", r, c)] for c in ("upheld", "corrected", "other", "pending"))
    return bool(ok)


def _prints(reading: list[int | None], printed: str) -> bool:
    """Does this reading of the cells print ``printed`` (pieces split by spaces at cell boundaries)?"""
    cells = [str(x) for x in reading if x is not None]
    pieces = printed.split(" ")
    out, cur = [], ""
    for c in cells:
        cur += c
        if pieces and cur == pieces[0]:
            out.append(cur)
            pieces.pop(0)
            cur = ""
    return not pieces and not cur


def test_null_cells_are_truly_ambiguous() -> None:
    """Every cell a fixture expects unread belongs to a row with two readings that print the same text and satisfy
    every identity of the form: reading it either way would be a guess."""
    from sample_portal.reportgen import expected_facts

    checked = 0
    for fx in producers.fixtures():
        unread = set(fx.unread)
        covered: set[tuple[str, str, str]] = set()
        for amb in fx.ambiguous:
            cells = [tuple(c) for c in amb["cells"]]
            first, second = amb["readings"]
            assert first != second and _prints(first, amb["printed"]) and _prints(second, amb["printed"])
            assert [expected_facts(fx.spec)[c] for c in cells] == [0 if x is None else x for x in first]
            for reading in (first, second):
                facts = dict(expected_facts(fx.spec))
                facts.update(zip(cells, reading))
                assert _identities_hold(facts, fx.spec.template), amb["printed"]
            covered |= set(cells)
            checked += 1
        assert covered == unread, fx.path
    assert checked >= 3


def test_a_text_laid_page_is_not_missing_its_tables() -> None:
    """Before this reader a page of text-laid tables was `malformed` with table.missing and no facts."""
    for path in sorted((ROOT / "html-text").glob("*.html")):
        _, r = _load(path)
        assert not {"table.missing", "table.cells_missing"} & {f.rule for f in r.findings}
        assert len([f for f in r.facts if f.table == "t3"]) >= 161
